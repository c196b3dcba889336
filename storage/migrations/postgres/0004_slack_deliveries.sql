-- As ../0004: the Slack deliveries already handled. Keys are compared
-- exactly (TEXT, not citext). rowid is SQLite's implicit one made explicit:
-- FirstDelivery prunes on every pruneEvery-th insert by it.
CREATE TABLE slack_deliveries (
    key   TEXT   COLLATE "C" NOT NULL PRIMARY KEY,
    at    TEXT   COLLATE "C" NOT NULL,
    rowid BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX slack_deliveries_at ON slack_deliveries (at);
