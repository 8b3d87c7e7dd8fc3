-- Portal accounts of people (enterprise staff, regulators, the administrator) and their login
-- sessions. Kept like the API credentials: not journalled, not in the projection digest, and
-- kept by `reset_projections`. Passwords only as argon2id PHC strings; session tokens only as
-- their SHA-256.
CREATE TABLE portal_users (
    username       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    subject        TEXT COLLATE "C" NOT NULL,
    password_hash  TEXT   NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    disabled_at_ms BIGINT
);

CREATE TABLE portal_sessions (
    token_hash    TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    username      TEXT COLLATE "C" NOT NULL,
    csrf_token    TEXT   NOT NULL,
    created_at_ms BIGINT NOT NULL,
    last_seen_ms  BIGINT NOT NULL
);
CREATE INDEX portal_sessions_user ON portal_sessions (username);
CREATE INDEX portal_sessions_seen ON portal_sessions (last_seen_ms);
