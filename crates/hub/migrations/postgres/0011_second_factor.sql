-- A second factor (TOTP, RFC 6238) for users and operators: the confirmed secret, a secret
-- being set up, and the last time step used (a code is accepted once). Recovery codes are
-- stored hashed, each usable once. A browser session records when it passed the second factor.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_pending TEXT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;
ALTER TABLE operators ADD COLUMN totp_secret TEXT;
ALTER TABLE operators ADD COLUMN totp_pending TEXT;
ALTER TABLE operators ADD COLUMN totp_last_step BIGINT;
CREATE TABLE recovery_codes (
    account   TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    used_at   BIGINT,
    PRIMARY KEY (account, code_hash)
);
ALTER TABLE portal_sessions ADD COLUMN second_factor_at BIGINT;
ALTER TABLE operator_sessions ADD COLUMN second_factor_at BIGINT;
