-- Failed logins without a terminal certificate (portal, terminal enrolment) are counted apart:
-- they lock those doors only, never the office's enrolled terminals.
ALTER TABLE users ADD COLUMN web_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN web_locked_until BIGINT;
