-- Supervision records of the credit and risk system (credit records, alerts, inspection tasks,
-- negative-list entries, recalls, goods-control entries): the domain's JSON, indexed by who and
-- what state so that queues and self-service views are single index ranges.
-- A rowid table (not WITHOUT ROWID): bodies such as a credit record with its history are
-- kilobytes, and WITHOUT ROWID B-trees degrade with large rows.
CREATE TABLE records (
    kind          TEXT    NOT NULL,
    key           TEXT    NOT NULL,
    party         TEXT,
    status        TEXT    NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    body          TEXT    NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX records_status ON records (kind, status, key);
CREATE INDEX records_party ON records (kind, party, key);
