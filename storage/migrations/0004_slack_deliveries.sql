-- The Slack deliveries already handled (a command's or a click's trigger_id,
-- an event's event_id), so a request Slack sends again is answered without
-- running twice, by whichever replica it reaches. Keys are compared exactly:
-- Slack's identifiers are case-sensitive. Rows older than an hour are pruned.
CREATE TABLE slack_deliveries (
    key TEXT NOT NULL PRIMARY KEY,
    at  TEXT NOT NULL
);
CREATE INDEX slack_deliveries_at ON slack_deliveries (at);
