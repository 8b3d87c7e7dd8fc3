-- Personal data protection and the audit log (docs/security.md).

-- Credentials may expire (rotation with a grace period): refused after this time.
ALTER TABLE credentials ADD COLUMN expires_at_ms BIGINT;

-- Record bodies are sealed (AES-256-GCM) by the store like journal bodies and state values, so
-- the column holds bytes; bodies written before stay readable (they carry no seal header).
ALTER TABLE records ALTER COLUMN body TYPE BYTEA USING convert_to(body, 'UTF8');

-- The audit log: append-only and hash-chained (each hash covers the previous one).
CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    at_ms     BIGINT NOT NULL,
    actor     TEXT COLLATE "C" NOT NULL,
    action    TEXT COLLATE "C" NOT NULL,
    target    TEXT   NOT NULL,
    outcome   TEXT   NOT NULL,
    source    TEXT   NOT NULL,
    detail    TEXT   NOT NULL,
    prev_hash TEXT   NOT NULL,
    hash      TEXT   NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE INDEX audit_log_at ON audit_log (at_ms, seq);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
