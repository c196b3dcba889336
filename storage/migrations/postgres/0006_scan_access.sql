-- As ../0006: the customers whose licences Partner Center refused.
ALTER TABLE scans ADD COLUMN access TEXT COLLATE "C" NOT NULL DEFAULT '[]'; -- JSON array of {customerId, customer, code, fix}
