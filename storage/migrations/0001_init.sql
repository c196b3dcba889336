-- The first schema: migrations and their journal, scans, Slack bookkeeping,
-- settings, and the hash-chained audit history.
--
-- Times are RFC 3339 text in UTC with a fixed nine-digit fraction, so they
-- sort as text; NULL where a time is not known yet. Identifiers are
-- COLLATE NOCASE: Partner Center sends the same GUID in either case, and
-- people type migration ids as they like. Every lookup, index and foreign key
-- on these columns is therefore case-insensitive while the id is stored as given.

CREATE TABLE migrations (
    id                  TEXT    NOT NULL PRIMARY KEY COLLATE NOCASE,
    customer_id         TEXT    NOT NULL COLLATE NOCASE,
    customer_domain     TEXT    NOT NULL DEFAULT '' COLLATE NOCASE,
    customer_name       TEXT    NOT NULL DEFAULT '',
    subscription_id     TEXT    NOT NULL COLLATE NOCASE,
    plan                TEXT    NOT NULL, -- bot.Plan as JSON
    plan_hash           TEXT    NOT NULL,
    requester_id        TEXT    NOT NULL,
    requester_name      TEXT    NOT NULL,
    state               TEXT    NOT NULL,
    failed_step         TEXT    NOT NULL DEFAULT '',
    error               TEXT    NOT NULL DEFAULT '',
    override            INTEGER NOT NULL DEFAULT 0,
    new_subscription_id TEXT    NOT NULL DEFAULT '' COLLATE NOCASE,
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL,
    version             INTEGER NOT NULL -- optimistic lock: UPDATE ... WHERE version = ?
);
CREATE INDEX migrations_state ON migrations (state);
CREATE INDEX migrations_customer ON migrations (customer_id);
CREATE INDEX migrations_customer_domain ON migrations (customer_domain);
CREATE INDEX migrations_subscription ON migrations (subscription_id);

CREATE TABLE decisions (
    id           INTEGER PRIMARY KEY,
    migration_id TEXT    NOT NULL COLLATE NOCASE REFERENCES migrations (id),
    actor_id     TEXT    NOT NULL,
    actor_name   TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    reason       TEXT    NOT NULL DEFAULT '',
    plan_hash    TEXT    NOT NULL,
    at           TEXT    NOT NULL,
    -- A second click on the same button for the same plan is the same decision.
    UNIQUE (migration_id, actor_id, kind, plan_hash)
);

CREATE TABLE steps (
    migration_id  TEXT    NOT NULL COLLATE NOCASE REFERENCES migrations (id),
    name          TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    ms_request_id TEXT    NOT NULL DEFAULT '',
    result        TEXT    NOT NULL DEFAULT 'null', -- map of strings as JSON
    error         TEXT    NOT NULL DEFAULT '',
    attempts      INTEGER NOT NULL DEFAULT 0,
    started_at    TEXT,
    finished_at   TEXT,
    PRIMARY KEY (migration_id, name)
);

CREATE TABLE user_moves (
    migration_id      TEXT NOT NULL COLLATE NOCASE REFERENCES migrations (id),
    user_id           TEXT NOT NULL COLLATE NOCASE,
    upn               TEXT NOT NULL,
    display_name      TEXT NOT NULL DEFAULT '',
    state             TEXT NOT NULL,
    ms_request_id     TEXT NOT NULL DEFAULT '',
    ms_correlation_id TEXT NOT NULL DEFAULT '',
    error             TEXT NOT NULL DEFAULT '',
    updated_at        TEXT NOT NULL,
    PRIMARY KEY (migration_id, user_id)
);

-- The latest state of every retired-SKU subscription a scan found.
CREATE TABLE tracked_subscriptions (
    subscription_id TEXT    NOT NULL PRIMARY KEY COLLATE NOCASE,
    customer_id     TEXT    NOT NULL COLLATE NOCASE,
    customer_domain TEXT    NOT NULL DEFAULT '' COLLATE NOCASE,
    customer_name   TEXT    NOT NULL DEFAULT '',
    offer_id        TEXT    NOT NULL DEFAULT '',
    offer_name      TEXT    NOT NULL DEFAULT '',
    friendly_name   TEXT    NOT NULL DEFAULT '',
    quantity        INTEGER NOT NULL DEFAULT 0,
    status          TEXT    NOT NULL DEFAULT '',
    auto_renew      INTEGER NOT NULL DEFAULT 0,
    billing_cycle   TEXT    NOT NULL DEFAULT '',
    end_date        TEXT, -- NULL: the subscription has no end
    retired         TEXT    NOT NULL,
    days_left       INTEGER NOT NULL, -- as of last_seen
    first_seen      TEXT    NOT NULL, -- kept when a later scan updates the row
    last_seen       TEXT    NOT NULL
);
CREATE INDEX tracked_subscriptions_customer ON tracked_subscriptions (customer_id);
CREATE INDEX tracked_subscriptions_customer_domain ON tracked_subscriptions (customer_domain);
CREATE INDEX tracked_subscriptions_end_date ON tracked_subscriptions (end_date);

CREATE TABLE scans (
    id          INTEGER PRIMARY KEY,
    started_at  TEXT    NOT NULL,
    finished_at TEXT    NOT NULL,
    customers   INTEGER NOT NULL,
    findings    INTEGER NOT NULL,
    failures    TEXT    NOT NULL DEFAULT '[]' -- JSON array of "customer (id): why"
);

-- One alert per (subscription, threshold) ever, so a restart never alerts twice.
CREATE TABLE alerts (
    subscription_id TEXT    NOT NULL COLLATE NOCASE,
    threshold       INTEGER NOT NULL,
    customer_id     TEXT    NOT NULL COLLATE NOCASE,
    channel         TEXT    NOT NULL DEFAULT '',
    ts              TEXT    NOT NULL DEFAULT '', -- the Slack message, to update it in place
    state           TEXT    NOT NULL DEFAULT '',
    sent_at         TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    PRIMARY KEY (subscription_id, threshold)
);

CREATE TABLE migration_messages (
    migration_id TEXT NOT NULL PRIMARY KEY COLLATE NOCASE REFERENCES migrations (id),
    channel      TEXT NOT NULL,
    ts           TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE digests (
    id      INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    ts      TEXT NOT NULL,
    at      TEXT NOT NULL
);
CREATE INDEX digests_at ON digests (at);

CREATE TABLE settings (
    key        TEXT NOT NULL PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- The audit history: append-only, each row's hash covering its fields and the
-- previous row's hash. There are deliberately no triggers forbidding UPDATE or
-- DELETE: whoever can edit the file can drop a trigger too, so the chain (and
-- the head below) is the protection, and `kaizalabot audit --verify` the check.
CREATE TABLE audit_log (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    at                TEXT NOT NULL,
    actor_id          TEXT NOT NULL,
    actor_name        TEXT NOT NULL,
    action            TEXT NOT NULL,
    customer_id       TEXT NOT NULL DEFAULT '' COLLATE NOCASE,
    subscription_id   TEXT NOT NULL DEFAULT '' COLLATE NOCASE,
    migration_id      TEXT NOT NULL DEFAULT '' COLLATE NOCASE,
    detail            TEXT NOT NULL DEFAULT '{}', -- JSON object
    ms_request_id     TEXT NOT NULL DEFAULT '',
    ms_correlation_id TEXT NOT NULL DEFAULT '',
    prev_hash         TEXT NOT NULL,
    hash              TEXT NOT NULL
);
CREATE INDEX audit_log_customer ON audit_log (customer_id);
CREATE INDEX audit_log_subscription ON audit_log (subscription_id);
CREATE INDEX audit_log_migration ON audit_log (migration_id);
CREATE INDEX audit_log_at ON audit_log (at);

-- The last appended row, updated in the same transaction as each append, so
-- deleting the last rows is detected too.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
