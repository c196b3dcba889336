-- The Slack messages that show alerted subscriptions, and which subscription
-- is a line of which message. A scan that alerts several subscriptions posts
-- one batch: a top-level message and, for what does not fit Slack's limits,
-- follow-ups in its thread; a subscription alerted alone gets the single
-- alert. A later change (a plan, a migration's end, a threshold crossed, a
-- new day) re-renders the message that shows the subscription, in place.
CREATE TABLE alert_messages (
    channel    TEXT    NOT NULL,
    ts         TEXT    NOT NULL,
    thread_ts  TEXT    NOT NULL DEFAULT '', -- the batch's top-level message, for a follow-up in its thread
    kind       TEXT    NOT NULL,            -- 'batch' or 'single'
    posted_at  TEXT    NOT NULL,
    rendered   TEXT    NOT NULL DEFAULT '', -- digest of what was last sent, so an unchanged message is not sent again
    settled    INTEGER NOT NULL DEFAULT 0,  -- 1: nothing on it changes by itself any more; scans stop re-rendering it
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (channel, ts)
);
CREATE INDEX alert_messages_thread ON alert_messages (channel, thread_ts);
CREATE INDEX alert_messages_settled ON alert_messages (settled);

CREATE TABLE alert_lines (
    channel         TEXT    NOT NULL,
    ts              TEXT    NOT NULL,
    subscription_id TEXT    NOT NULL COLLATE NOCASE,
    customer_id     TEXT    NOT NULL COLLATE NOCASE,
    threshold       INTEGER NOT NULL,            -- the last threshold it crossed (0: ended)
    users           INTEGER NOT NULL DEFAULT -1, -- users holding the licence when last read; -1 unknown
    added_at        TEXT    NOT NULL,
    PRIMARY KEY (channel, ts, subscription_id),
    FOREIGN KEY (channel, ts) REFERENCES alert_messages (channel, ts) ON DELETE CASCADE
);
CREATE INDEX alert_lines_subscription ON alert_lines (subscription_id);

-- Alerts posted before batches were one message per subscription and
-- threshold: each becomes a single message of one line, so it is kept up to
-- date as the new ones are.
INSERT INTO alert_messages (channel, ts, kind, posted_at, updated_at)
    SELECT channel, ts, 'single', min(sent_at), max(updated_at) FROM alerts WHERE ts != '' GROUP BY channel, ts;
INSERT OR IGNORE INTO alert_lines (channel, ts, subscription_id, customer_id, threshold, added_at)
    SELECT channel, ts, subscription_id, customer_id, threshold, sent_at FROM alerts WHERE ts != '';
