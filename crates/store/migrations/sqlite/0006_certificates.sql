-- Certificates filed for enterprises (证书备案): the X.509 certificates whose keys may sign an
-- enterprise's messages. Several per enterprise (rotation); a revoked one stays, with the time
-- of its revocation. Written from CERTIFICATE journal entries, so a rebuild reproduces it.
CREATE TABLE certificates (
    enterprise    TEXT    NOT NULL,
    fingerprint   TEXT    NOT NULL,
    serial        TEXT    NOT NULL,
    subject       TEXT    NOT NULL,
    algorithm     TEXT    NOT NULL,
    not_before_ms INTEGER NOT NULL,
    not_after_ms  INTEGER NOT NULL,
    der           BLOB    NOT NULL,
    filed_at_ms   INTEGER NOT NULL,
    revoked_at_ms INTEGER,
    PRIMARY KEY (enterprise, fingerprint)
);
CREATE INDEX certificates_fingerprint ON certificates (fingerprint);
