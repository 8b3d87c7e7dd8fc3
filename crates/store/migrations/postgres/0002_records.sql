-- Supervision records of the credit and risk system (credit records, alerts, inspection tasks,
-- negative-list entries, recalls, goods-control entries): the domain's JSON, indexed by who and
-- what state so that queues and self-service views are single index ranges.
-- The body stays TEXT, not JSONB: it is returned byte for byte as the domain wrote it, so the
-- digest agrees with SQLite's.
CREATE TABLE records (
    kind          TEXT COLLATE "C" NOT NULL,
    key           TEXT COLLATE "C" NOT NULL,
    party         TEXT COLLATE "C",
    status        TEXT COLLATE "C" NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    body          TEXT   NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX records_status ON records (kind, status, key);
CREATE INDEX records_party ON records (kind, party, key);
