-- The audit head's MAC: with an audit key, HMAC-SHA256 over the head's seq and
-- hash (see storage/audit.go), so moving the head back to an earlier row after
-- deleting the last rows needs the key. Empty: no key, or a head written before
-- this column existed (keyed on the next append; until then `audit --verify`
-- with the key says the head is not yet keyed).
ALTER TABLE audit_head ADD COLUMN mac TEXT NOT NULL DEFAULT '';
