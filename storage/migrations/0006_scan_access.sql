-- The customers a scan could read the subscriptions of but whose licences
-- Partner Center refused (a GDAP role missing, the customer's Conditional
-- Access, …), for the digest's scan health.

ALTER TABLE scans ADD COLUMN access TEXT NOT NULL DEFAULT '[]'; -- JSON array of {customerId, customer, code, fix}
