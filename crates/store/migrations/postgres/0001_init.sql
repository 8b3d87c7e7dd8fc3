-- Text keys use the "C" collation so that ordering and paging compare bytes, exactly as SQLite
-- does: the same cursor means the same page on both backends, and the digest order agrees.

-- The journal: every accepted message, unchanged, in the order the single writer assigned.
CREATE TABLE journal (
    seq            BIGINT PRIMARY KEY,
    received_at_ms BIGINT NOT NULL,
    sender         TEXT   NOT NULL,
    kind           TEXT   NOT NULL,
    guid           TEXT   NOT NULL,
    body           BYTEA  NOT NULL
);

-- The journal position the projections reflect (one row).
CREATE TABLE store_position (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    applied BIGINT  NOT NULL
);
INSERT INTO store_position (id, applied) VALUES (1, 0);

-- Opaque engine state, rebuilt from the journal if lost.
CREATE TABLE state (
    namespace TEXT COLLATE "C" NOT NULL,
    key       TEXT COLLATE "C" NOT NULL,
    value     BYTEA NOT NULL,
    PRIMARY KEY (namespace, key)
);

CREATE TABLE declarations (
    id             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    ebp_code       TEXT COLLATE "C" NOT NULL,
    ebc_code       TEXT COLLATE "C" NOT NULL,
    order_no       TEXT    NOT NULL,
    agent_code     TEXT COLLATE "C",
    logistics_code TEXT COLLATE "C",
    logistics_no   TEXT,
    pay_code       TEXT COLLATE "C",
    cop_no         TEXT,
    pre_no         TEXT,
    invt_no        TEXT,
    documents      TEXT    NOT NULL,
    status         INTEGER NOT NULL,
    status_info    TEXT    NOT NULL,
    buyer_key      TEXT,
    value_minor    BIGINT  NOT NULL,
    tax_minor      BIGINT  NOT NULL,
    created_at_ms  BIGINT  NOT NULL,
    updated_at_ms  BIGINT  NOT NULL,
    released_at_ms BIGINT
);
CREATE INDEX declarations_ebp ON declarations (ebp_code, id);
CREATE INDEX declarations_ebc ON declarations (ebc_code, id);
CREATE INDEX declarations_agent ON declarations (agent_code, id);
CREATE INDEX declarations_logistics ON declarations (logistics_code, id);
CREATE INDEX declarations_pay ON declarations (pay_code, id);

CREATE TABLE quotas (
    buyer_key  TEXT COLLATE "C" NOT NULL,
    year       INTEGER NOT NULL,
    used_minor BIGINT  NOT NULL,
    PRIMARY KEY (buyer_key, year)
);

CREATE TABLE receipts (
    seq            BIGINT PRIMARY KEY,
    recipient      TEXT COLLATE "C" NOT NULL,
    message_type   TEXT   NOT NULL,
    declaration_id TEXT COLLATE "C",
    business_key   TEXT   NOT NULL,
    return_status  TEXT   NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    xml            TEXT   NOT NULL,
    json           TEXT   NOT NULL
);
CREATE INDEX receipts_recipient ON receipts (recipient, seq);
CREATE INDEX receipts_declaration ON receipts (declaration_id, seq);

CREATE TABLE tax_bills (
    invt_no               TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    tax_no                TEXT    NOT NULL,
    declaration_id        TEXT    NOT NULL,
    ebc_code              TEXT COLLATE "C" NOT NULL,
    agent_code            TEXT COLLATE "C" NOT NULL,
    customs_tax_minor     BIGINT  NOT NULL,
    vat_minor             BIGINT  NOT NULL,
    consumption_tax_minor BIGINT  NOT NULL,
    status                INTEGER NOT NULL,
    levy_state            TEXT    NOT NULL,
    released_at_ms        BIGINT  NOT NULL,
    due_from              TEXT    NOT NULL,
    due_until             TEXT    NOT NULL
);
CREATE INDEX tax_bills_ebc ON tax_bills (ebc_code, invt_no);
CREATE INDEX tax_bills_agent ON tax_bills (agent_code, invt_no);

CREATE TABLE enterprises (
    code        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,
    roles       TEXT    NOT NULL,
    dxp_id      TEXT,
    filed_at_ms BIGINT  NOT NULL,
    active      BOOLEAN NOT NULL
);

-- API credentials: only the SHA-256 of the secret is kept.
CREATE TABLE credentials (
    key_id        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    subject       TEXT COLLATE "C" NOT NULL,
    token_hash    TEXT   NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT
);
CREATE INDEX credentials_subject ON credentials (subject, created_at_ms, key_id);
