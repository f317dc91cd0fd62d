-- When the password was last set (its expiry counts from here).
ALTER TABLE users ADD COLUMN password_changed_at INTEGER;
