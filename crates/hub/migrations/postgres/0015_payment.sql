-- Licences as the national system runs them. The fee is deducted from the office's 給付費 by the
-- 国保連 (default) or paid on an invoice (請求書). A licence year starts when it is paid or its
-- deduction is scheduled; until then the application waits (license_applied_at).
ALTER TABLE offices ADD COLUMN payment_method TEXT NOT NULL DEFAULT 'deduction';
ALTER TABLE offices ADD COLUMN license_applied_at BIGINT;
ALTER TABLE offices ADD COLUMN deduction_month TEXT;
-- Campaigns (フリーパス): a name and a date window; licence years starting within it are free.
CREATE TABLE campaigns (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT NOT NULL,
    starts_on  TEXT NOT NULL,
    ends_on    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
