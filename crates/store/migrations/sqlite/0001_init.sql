-- The journal: every accepted message, unchanged, in the order the single writer assigned.
CREATE TABLE journal (
    seq            INTEGER PRIMARY KEY,
    received_at_ms INTEGER NOT NULL,
    sender         TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    guid           TEXT    NOT NULL,
    body           BLOB    NOT NULL
);

-- The journal position the projections reflect (one row).
CREATE TABLE store_position (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    applied INTEGER NOT NULL
);
INSERT INTO store_position (id, applied) VALUES (1, 0);

-- Opaque engine state, rebuilt from the journal if lost.
-- A rowid table (not WITHOUT ROWID): its values are kilobytes (serialized aggregates), and
-- WITHOUT ROWID B-trees degrade with large rows.
CREATE TABLE state (
    namespace TEXT NOT NULL,
    key       TEXT NOT NULL,
    value     BLOB NOT NULL,
    PRIMARY KEY (namespace, key)
);

CREATE TABLE declarations (
    id             TEXT    NOT NULL PRIMARY KEY,
    ebp_code       TEXT    NOT NULL,
    ebc_code       TEXT    NOT NULL,
    order_no       TEXT    NOT NULL,
    agent_code     TEXT,
    logistics_code TEXT,
    logistics_no   TEXT,
    pay_code       TEXT,
    cop_no         TEXT,
    pre_no         TEXT,
    invt_no        TEXT,
    documents      TEXT    NOT NULL,
    status         INTEGER NOT NULL,
    status_info    TEXT    NOT NULL,
    buyer_key      TEXT,
    value_minor    INTEGER NOT NULL,
    tax_minor      INTEGER NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    updated_at_ms  INTEGER NOT NULL,
    released_at_ms INTEGER
) WITHOUT ROWID;
CREATE INDEX declarations_ebp ON declarations (ebp_code, id);
CREATE INDEX declarations_ebc ON declarations (ebc_code, id);
CREATE INDEX declarations_agent ON declarations (agent_code, id);
CREATE INDEX declarations_logistics ON declarations (logistics_code, id);
CREATE INDEX declarations_pay ON declarations (pay_code, id);

CREATE TABLE quotas (
    buyer_key  TEXT    NOT NULL,
    year       INTEGER NOT NULL,
    used_minor INTEGER NOT NULL,
    PRIMARY KEY (buyer_key, year)
) WITHOUT ROWID;

CREATE TABLE receipts (
    seq            INTEGER PRIMARY KEY,
    recipient      TEXT    NOT NULL,
    message_type   TEXT    NOT NULL,
    declaration_id TEXT,
    business_key   TEXT    NOT NULL,
    return_status  TEXT    NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    xml            TEXT    NOT NULL,
    json           TEXT    NOT NULL
);
CREATE INDEX receipts_recipient ON receipts (recipient, seq);
CREATE INDEX receipts_declaration ON receipts (declaration_id, seq);

CREATE TABLE tax_bills (
    invt_no               TEXT    NOT NULL PRIMARY KEY,
    tax_no                TEXT    NOT NULL,
    declaration_id        TEXT    NOT NULL,
    ebc_code              TEXT    NOT NULL,
    agent_code            TEXT    NOT NULL,
    customs_tax_minor     INTEGER NOT NULL,
    vat_minor             INTEGER NOT NULL,
    consumption_tax_minor INTEGER NOT NULL,
    status                INTEGER NOT NULL,
    levy_state            TEXT    NOT NULL,
    released_at_ms        INTEGER NOT NULL,
    due_from              TEXT    NOT NULL,
    due_until             TEXT    NOT NULL
) WITHOUT ROWID;
CREATE INDEX tax_bills_ebc ON tax_bills (ebc_code, invt_no);
CREATE INDEX tax_bills_agent ON tax_bills (agent_code, invt_no);

CREATE TABLE enterprises (
    code        TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,
    roles       TEXT    NOT NULL,
    dxp_id      TEXT,
    filed_at_ms INTEGER NOT NULL,
    active      INTEGER NOT NULL
) WITHOUT ROWID;

-- API credentials: only the SHA-256 of the secret is kept.
CREATE TABLE credentials (
    key_id        TEXT    NOT NULL PRIMARY KEY,
    subject       TEXT    NOT NULL,
    token_hash    TEXT    NOT NULL UNIQUE,
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
) WITHOUT ROWID;
CREATE INDEX credentials_subject ON credentials (subject, created_at_ms, key_id);
