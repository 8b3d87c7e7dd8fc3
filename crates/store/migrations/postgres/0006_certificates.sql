-- Certificates filed for enterprises (证书备案): the X.509 certificates whose keys may sign an
-- enterprise's messages. Several per enterprise (rotation); a revoked one stays, with the time
-- of its revocation. Written from CERTIFICATE journal entries, so a rebuild reproduces it.
CREATE TABLE certificates (
    enterprise    TEXT COLLATE "C" NOT NULL,
    fingerprint   TEXT COLLATE "C" NOT NULL,
    serial        TEXT COLLATE "C" NOT NULL,
    subject       TEXT   NOT NULL,
    algorithm     TEXT COLLATE "C" NOT NULL,
    not_before_ms BIGINT NOT NULL,
    not_after_ms  BIGINT NOT NULL,
    der           BYTEA  NOT NULL,
    filed_at_ms   BIGINT NOT NULL,
    revoked_at_ms BIGINT,
    PRIMARY KEY (enterprise, fingerprint)
);
CREATE INDEX certificates_fingerprint ON certificates (fingerprint);
