-- Strategies and undo: what a finished migration left behind that undo
-- needs (bot.Outcome as JSON: until when the new subscription can be
-- cancelled, what became of the old one), and an undone migration frees its
-- subscription for a new plan, as a rejected one does.

ALTER TABLE migrations ADD COLUMN outcome TEXT NOT NULL DEFAULT '{}';

DROP INDEX migrations_one_per_subscription;
CREATE UNIQUE INDEX migrations_one_per_subscription ON migrations (subscription_id) WHERE state NOT IN ('rejected', 'undone');
