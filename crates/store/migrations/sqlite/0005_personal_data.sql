-- Personal data protection and the audit log (docs/security.md).

-- Credentials may expire (rotation with a grace period): refused after this time.
ALTER TABLE credentials ADD COLUMN expires_at_ms INTEGER;

-- Journal bodies, state values and record bodies are sealed (AES-256-GCM) by the store before
-- they are written; SQLite keeps a BLOB in the TEXT column of records.body as it is.

-- The audit log: append-only and hash-chained (each hash covers the previous one).
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at_ms     INTEGER NOT NULL,
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    target    TEXT    NOT NULL,
    outcome   TEXT    NOT NULL,
    source    TEXT    NOT NULL,
    detail    TEXT    NOT NULL,
    prev_hash TEXT    NOT NULL,
    hash      TEXT    NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE INDEX audit_log_at ON audit_log (at_ms, seq);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
