-- As ../0005: the worker lease, signals, plans being worked out, the steps'
-- versions and the kind of failure that stopped a migration.

CREATE TABLE leases (
    name       TEXT   COLLATE "C" NOT NULL PRIMARY KEY,
    holder     TEXT   COLLATE "C" NOT NULL,
    epoch      BIGINT NOT NULL, -- increases with every takeover; writes carry it (fencing)
    expires_at TEXT   COLLATE "C" NOT NULL,
    renewed_at TEXT   COLLATE "C" NOT NULL
);

CREATE TABLE signals (
    name TEXT   COLLATE "C" NOT NULL PRIMARY KEY,
    seq  BIGINT NOT NULL,
    at   TEXT   COLLATE "C" NOT NULL
);

CREATE TABLE planning (
    subscription_id citext COLLATE "C" NOT NULL PRIMARY KEY,
    requester_id    TEXT   COLLATE "C" NOT NULL,
    until           TEXT   COLLATE "C" NOT NULL
);
CREATE INDEX planning_requester ON planning (requester_id);

ALTER TABLE steps ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE migrations ADD COLUMN failure_kind TEXT COLLATE "C" NOT NULL DEFAULT '';
