-- Portal sessions (browser, cookie; no terminal certificate), with a CSRF token each.
CREATE TABLE portal_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX portal_sessions_user ON portal_sessions (user_id);

-- 利用申請 and the license's money side.
ALTER TABLE offices ADD COLUMN terms_agreed_at INTEGER;
ALTER TABLE offices ADD COLUMN license_fee INTEGER;
ALTER TABLE offices ADD COLUMN license_paid_at INTEGER;
ALTER TABLE offices ADD COLUMN auto_renew INTEGER NOT NULL DEFAULT 0;
