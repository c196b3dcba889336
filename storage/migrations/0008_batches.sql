-- Bulk plans (/kaizala plan all): a batch of migrations approved as one.
-- Each member is an ordinary row of migrations; a batch only groups them,
-- with the plan hash each had when the batch was made (an approval of the
-- batch binds to them all), and remembers what could not be planned.

CREATE TABLE batches (
    id               TEXT    NOT NULL PRIMARY KEY COLLATE NOCASE,
    target           TEXT    NOT NULL, -- skuPartNumber
    target_name      TEXT    NOT NULL DEFAULT '',
    within_days      INTEGER NOT NULL,
    owner            TEXT    NOT NULL DEFAULT '', -- Slack user id; '' for every customer
    requester_id     TEXT    NOT NULL,
    requester_name   TEXT    NOT NULL,
    hash             TEXT    NOT NULL, -- bot.BatchHash of the members' plan hashes
    state            TEXT    NOT NULL,
    unplanned        TEXT    NOT NULL DEFAULT '[]', -- JSON array of {subscriptionId, customer…, seats, endDate, reason}
    rejected_by_id   TEXT    NOT NULL DEFAULT '',
    rejected_by_name TEXT    NOT NULL DEFAULT '',
    reject_reason    TEXT    NOT NULL DEFAULT '',
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    version          INTEGER NOT NULL -- optimistic lock, as migrations.version
);

CREATE TABLE batch_members (
    batch_id     TEXT    NOT NULL COLLATE NOCASE REFERENCES batches (id),
    migration_id TEXT    NOT NULL COLLATE NOCASE REFERENCES migrations (id),
    position     INTEGER NOT NULL, -- the batch's order: most urgent first
    plan_hash    TEXT    NOT NULL, -- the member's plan when the batch was made
    PRIMARY KEY (batch_id, migration_id),
    UNIQUE (batch_id, position)
);
-- A migration belongs to at most one batch.
CREATE UNIQUE INDEX batch_members_migration ON batch_members (migration_id);

-- Where a batch's message is in Slack (the Slack side's bookkeeping, as
-- migration_messages): the message, its progress reply in the thread, and
-- the last outcome announced there, so a restart announces nothing twice.
CREATE TABLE batch_messages (
    batch_id    TEXT NOT NULL PRIMARY KEY COLLATE NOCASE REFERENCES batches (id),
    channel     TEXT NOT NULL,
    ts          TEXT NOT NULL,
    progress_ts TEXT NOT NULL DEFAULT '',
    announced   TEXT NOT NULL DEFAULT '',
    updated_at  TEXT NOT NULL
);
