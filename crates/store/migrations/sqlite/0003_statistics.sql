-- Statistical monitoring (统计监测): aggregate tables kept current as declarations are released.
-- Every measure is additive (a commit adds its deltas to the cells), so a month is the sum of its
-- day cells; `day` is the Beijing date as YYYYMMDD. Keys are NOT NULL ('' = none, e.g. no park).
-- Small rows looked up by their key: WITHOUT ROWID.
CREATE TABLE stat_lists (
    day                 INTEGER NOT NULL,
    direction           TEXT    NOT NULL,
    mode                TEXT    NOT NULL,
    country             TEXT    NOT NULL,
    ebc                 TEXT    NOT NULL,
    ebp                 TEXT    NOT NULL,
    payment             TEXT    NOT NULL,
    logistics           TEXT    NOT NULL,
    park                TEXT    NOT NULL,
    declarations        INTEGER NOT NULL,
    lines               INTEGER NOT NULL,
    value_fen           INTEGER NOT NULL,
    customs_tax_fen     INTEGER NOT NULL,
    vat_fen             INTEGER NOT NULL,
    consumption_tax_fen INTEGER NOT NULL,
    paid_fen            INTEGER NOT NULL,
    first_pass          INTEGER NOT NULL,
    risk_hit            INTEGER NOT NULL,
    reviewed            INTEGER NOT NULL,
    inspected           INTEGER NOT NULL,
    refused             INTEGER NOT NULL,
    inspection_failed   INTEGER NOT NULL,
    clearance_ms        INTEGER NOT NULL,
    returns             INTEGER NOT NULL,
    returned_value_fen  INTEGER NOT NULL,
    returned_tax_fen    INTEGER NOT NULL,
    PRIMARY KEY (day, direction, mode, country, ebc, ebp, payment, logistics, park)
) WITHOUT ROWID;

CREATE TABLE stat_goods (
    day                 INTEGER NOT NULL,
    direction           TEXT    NOT NULL,
    mode                TEXT    NOT NULL,
    origin              TEXT    NOT NULL,
    class               TEXT    NOT NULL,
    unit                TEXT    NOT NULL,
    ebc                 TEXT    NOT NULL,
    park                TEXT    NOT NULL,
    declarations        INTEGER NOT NULL,
    lines               INTEGER NOT NULL,
    qty_milli           INTEGER NOT NULL,
    value_fen           INTEGER NOT NULL,
    customs_tax_fen     INTEGER NOT NULL,
    vat_fen             INTEGER NOT NULL,
    consumption_tax_fen INTEGER NOT NULL,
    returned_qty_milli  INTEGER NOT NULL,
    returned_value_fen  INTEGER NOT NULL,
    PRIMARY KEY (day, direction, mode, origin, class, unit, ebc, park)
) WITHOUT ROWID;

CREATE TABLE stat_clearance (
    day          INTEGER NOT NULL,
    direction    TEXT    NOT NULL,
    mode         TEXT    NOT NULL,
    ebc          TEXT    NOT NULL,
    park         TEXT    NOT NULL,
    bucket       TEXT    NOT NULL,
    declarations INTEGER NOT NULL,
    PRIMARY KEY (day, direction, mode, ebc, park, bucket)
) WITHOUT ROWID;

CREATE TABLE stat_rejections (
    day          INTEGER NOT NULL,
    message_type TEXT    NOT NULL,
    code         TEXT    NOT NULL,
    enterprise   TEXT    NOT NULL,
    rejections   INTEGER NOT NULL,
    PRIMARY KEY (day, message_type, code, enterprise)
) WITHOUT ROWID;

-- 一区多园: the park an enterprise belongs to.
ALTER TABLE enterprises ADD COLUMN park TEXT;
