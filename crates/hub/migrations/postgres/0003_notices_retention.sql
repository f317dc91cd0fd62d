-- Notices (お知らせ): to every office (office IS NULL) or to one (non-delivery notices).
CREATE TABLE notices (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id    TEXT NOT NULL UNIQUE,
    office       TEXT,
    kind         TEXT NOT NULL,            -- 'operator' or 'non_delivery'
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    expires_at   BIGINT
);
CREATE INDEX notices_office ON notices (office, id);

-- Retention: an unfetched message expires; content is purged later; rows and hashes stay.
ALTER TABLE messages ADD COLUMN expired_at BIGINT;
ALTER TABLE messages ADD COLUMN purged_at BIGINT;
CREATE INDEX messages_unfetched_age ON messages (fetched_at, expired_at, sent_at);
CREATE INDEX messages_purge_age ON messages (purged_at, sent_at);
CREATE INDEX files_sha ON files (sha256);
CREATE INDEX draft_files_sha ON draft_files (sha256);
