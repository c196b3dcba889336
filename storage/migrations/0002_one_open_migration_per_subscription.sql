-- A subscription has at most one migration that is not rejected: two people
-- asking for a plan at the same moment must not both get one.
CREATE UNIQUE INDEX migrations_one_per_subscription ON migrations (subscription_id) WHERE state <> 'rejected';
