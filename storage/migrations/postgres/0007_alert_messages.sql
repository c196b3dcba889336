-- As ../0007: the Slack messages that show alerted subscriptions, and which
-- subscription is a line of which message. alert_lines.rowid is SQLite's
-- implicit one made explicit: lines added at the same time keep the order
-- they were inserted in.
CREATE TABLE alert_messages (
    channel    TEXT   COLLATE "C" NOT NULL,
    ts         TEXT   COLLATE "C" NOT NULL,
    thread_ts  TEXT   COLLATE "C" NOT NULL DEFAULT '',
    kind       TEXT   COLLATE "C" NOT NULL,
    posted_at  TEXT   COLLATE "C" NOT NULL,
    rendered   TEXT   COLLATE "C" NOT NULL DEFAULT '',
    settled    BIGINT NOT NULL DEFAULT 0,
    updated_at TEXT   COLLATE "C" NOT NULL,
    PRIMARY KEY (channel, ts)
);
CREATE INDEX alert_messages_thread ON alert_messages (channel, thread_ts);
CREATE INDEX alert_messages_settled ON alert_messages (settled);

CREATE TABLE alert_lines (
    channel         TEXT   COLLATE "C" NOT NULL,
    ts              TEXT   COLLATE "C" NOT NULL,
    subscription_id citext COLLATE "C" NOT NULL,
    customer_id     citext COLLATE "C" NOT NULL,
    threshold       BIGINT NOT NULL,
    users           BIGINT NOT NULL DEFAULT -1,
    added_at        TEXT   COLLATE "C" NOT NULL,
    rowid           BIGINT GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (channel, ts, subscription_id),
    FOREIGN KEY (channel, ts) REFERENCES alert_messages (channel, ts) ON DELETE CASCADE
);
CREATE INDEX alert_lines_subscription ON alert_lines (subscription_id);

INSERT INTO alert_messages (channel, ts, kind, posted_at, updated_at)
    SELECT channel, ts, 'single', min(sent_at), max(updated_at) FROM alerts WHERE ts != '' GROUP BY channel, ts;
INSERT INTO alert_lines (channel, ts, subscription_id, customer_id, threshold, added_at)
    SELECT channel, ts, subscription_id, customer_id, threshold, sent_at FROM alerts WHERE ts != ''
    ON CONFLICT DO NOTHING;
