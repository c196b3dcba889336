-- As ../0008: bulk plans, their members and their Slack messages.

CREATE TABLE batches (
    id               citext COLLATE "C" NOT NULL PRIMARY KEY,
    target           TEXT   COLLATE "C" NOT NULL,
    target_name      TEXT   COLLATE "C" NOT NULL DEFAULT '',
    within_days      BIGINT NOT NULL,
    owner            TEXT   COLLATE "C" NOT NULL DEFAULT '',
    requester_id     TEXT   COLLATE "C" NOT NULL,
    requester_name   TEXT   COLLATE "C" NOT NULL,
    hash             TEXT   COLLATE "C" NOT NULL,
    state            TEXT   COLLATE "C" NOT NULL,
    unplanned        TEXT   COLLATE "C" NOT NULL DEFAULT '[]',
    rejected_by_id   TEXT   COLLATE "C" NOT NULL DEFAULT '',
    rejected_by_name TEXT   COLLATE "C" NOT NULL DEFAULT '',
    reject_reason    TEXT   COLLATE "C" NOT NULL DEFAULT '',
    created_at       TEXT   COLLATE "C" NOT NULL,
    updated_at       TEXT   COLLATE "C" NOT NULL,
    version          BIGINT NOT NULL
);

CREATE TABLE batch_members (
    batch_id     citext COLLATE "C" NOT NULL REFERENCES batches (id),
    migration_id citext COLLATE "C" NOT NULL REFERENCES migrations (id),
    position     BIGINT NOT NULL,
    plan_hash    TEXT   COLLATE "C" NOT NULL,
    PRIMARY KEY (batch_id, migration_id),
    UNIQUE (batch_id, position)
);
CREATE UNIQUE INDEX batch_members_migration ON batch_members (migration_id);

CREATE TABLE batch_messages (
    batch_id    citext COLLATE "C" NOT NULL PRIMARY KEY REFERENCES batches (id),
    channel     TEXT   COLLATE "C" NOT NULL,
    ts          TEXT   COLLATE "C" NOT NULL,
    progress_ts TEXT   COLLATE "C" NOT NULL DEFAULT '',
    announced   TEXT   COLLATE "C" NOT NULL DEFAULT '',
    updated_at  TEXT   COLLATE "C" NOT NULL
);
