-- Statistical monitoring (统计监测): aggregate tables kept current as declarations are released.
-- Every measure is additive (a commit adds its deltas to the cells), so a month is the sum of its
-- day cells; `day` is the Beijing date as YYYYMMDD. Keys are NOT NULL ('' = none, e.g. no park).
-- Text keys compare as bytes (COLLATE "C"), as on SQLite, so orders and the digest agree.
CREATE TABLE stat_lists (
    day                 INTEGER NOT NULL,
    direction           TEXT COLLATE "C" NOT NULL,
    mode                TEXT COLLATE "C" NOT NULL,
    country             TEXT COLLATE "C" NOT NULL,
    ebc                 TEXT COLLATE "C" NOT NULL,
    ebp                 TEXT COLLATE "C" NOT NULL,
    payment             TEXT COLLATE "C" NOT NULL,
    logistics           TEXT COLLATE "C" NOT NULL,
    park                TEXT COLLATE "C" NOT NULL,
    declarations        BIGINT NOT NULL,
    lines               BIGINT NOT NULL,
    value_fen           BIGINT NOT NULL,
    customs_tax_fen     BIGINT NOT NULL,
    vat_fen             BIGINT NOT NULL,
    consumption_tax_fen BIGINT NOT NULL,
    paid_fen            BIGINT NOT NULL,
    first_pass          BIGINT NOT NULL,
    risk_hit            BIGINT NOT NULL,
    reviewed            BIGINT NOT NULL,
    inspected           BIGINT NOT NULL,
    refused             BIGINT NOT NULL,
    inspection_failed   BIGINT NOT NULL,
    clearance_ms        BIGINT NOT NULL,
    returns             BIGINT NOT NULL,
    returned_value_fen  BIGINT NOT NULL,
    returned_tax_fen    BIGINT NOT NULL,
    PRIMARY KEY (day, direction, mode, country, ebc, ebp, payment, logistics, park)
);

CREATE TABLE stat_goods (
    day                 INTEGER NOT NULL,
    direction           TEXT COLLATE "C" NOT NULL,
    mode                TEXT COLLATE "C" NOT NULL,
    origin              TEXT COLLATE "C" NOT NULL,
    class               TEXT COLLATE "C" NOT NULL,
    unit                TEXT COLLATE "C" NOT NULL,
    ebc                 TEXT COLLATE "C" NOT NULL,
    park                TEXT COLLATE "C" NOT NULL,
    declarations        BIGINT NOT NULL,
    lines               BIGINT NOT NULL,
    qty_milli           BIGINT NOT NULL,
    value_fen           BIGINT NOT NULL,
    customs_tax_fen     BIGINT NOT NULL,
    vat_fen             BIGINT NOT NULL,
    consumption_tax_fen BIGINT NOT NULL,
    returned_qty_milli  BIGINT NOT NULL,
    returned_value_fen  BIGINT NOT NULL,
    PRIMARY KEY (day, direction, mode, origin, class, unit, ebc, park)
);

CREATE TABLE stat_clearance (
    day          INTEGER NOT NULL,
    direction    TEXT COLLATE "C" NOT NULL,
    mode         TEXT COLLATE "C" NOT NULL,
    ebc          TEXT COLLATE "C" NOT NULL,
    park         TEXT COLLATE "C" NOT NULL,
    bucket       TEXT COLLATE "C" NOT NULL,
    declarations BIGINT NOT NULL,
    PRIMARY KEY (day, direction, mode, ebc, park, bucket)
);

CREATE TABLE stat_rejections (
    day          INTEGER NOT NULL,
    message_type TEXT COLLATE "C" NOT NULL,
    code         TEXT COLLATE "C" NOT NULL,
    enterprise   TEXT COLLATE "C" NOT NULL,
    rejections   BIGINT NOT NULL,
    PRIMARY KEY (day, message_type, code, enterprise)
);

-- 一区多园: the park an enterprise belongs to.
ALTER TABLE enterprises ADD COLUMN park TEXT COLLATE "C";
