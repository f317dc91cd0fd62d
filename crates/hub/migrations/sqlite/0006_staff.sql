-- Staff can be disabled (their sessions end; the login ID stays for the audit trail).
ALTER TABLE users ADD COLUMN disabled_at INTEGER;
