-- 参加のご案内: the partners not on the system an office sent the invitation to, with its
-- printed forms (一括送信 in the web mailbox), so that it knows whom it already asked.
CREATE TABLE invitations (
    office     TEXT NOT NULL,
    partner    TEXT NOT NULL,
    invited_at BIGINT NOT NULL,
    invited_by TEXT NOT NULL,
    PRIMARY KEY (office, partner)
);
