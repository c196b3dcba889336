-- As ../0002: at most one migration that is not rejected per subscription
-- (subscription_id is citext, so ids differing in case are the same).
CREATE UNIQUE INDEX migrations_one_per_subscription ON migrations (subscription_id) WHERE state <> 'rejected';
