-- One worker per database: the lease the worker holds (bot.Worker), the
-- signals other processes raise to wake it, the plans being worked out (so a
-- subscription is not planned twice at once), the steps' versions (claiming
-- a step's write is a compare-and-set) and what kind of failure stopped a
-- migration.

CREATE TABLE leases (
    name       TEXT    NOT NULL PRIMARY KEY,
    holder     TEXT    NOT NULL,
    epoch      INTEGER NOT NULL, -- increases with every takeover; writes carry it (fencing)
    expires_at TEXT    NOT NULL,
    renewed_at TEXT    NOT NULL
);

CREATE TABLE signals (
    name TEXT    NOT NULL PRIMARY KEY,
    seq  INTEGER NOT NULL,
    at   TEXT    NOT NULL
);

CREATE TABLE planning (
    subscription_id TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
    requester_id    TEXT NOT NULL,
    until           TEXT NOT NULL -- a claim past this is abandoned (its process died)
);
CREATE INDEX planning_requester ON planning (requester_id);

ALTER TABLE steps ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE migrations ADD COLUMN failure_kind TEXT NOT NULL DEFAULT '';
