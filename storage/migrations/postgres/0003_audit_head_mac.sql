-- As ../0003: the audit head's MAC.
ALTER TABLE audit_head ADD COLUMN mac TEXT COLLATE "C" NOT NULL DEFAULT '';
