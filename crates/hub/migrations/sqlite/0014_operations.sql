-- The operator's day. Notices get a target (every office, one prefecture, one office), a period
-- (shown from starts_at until expires_at) and can be edited and withdrawn.
ALTER TABLE notices ADD COLUMN prefecture INTEGER;
ALTER TABLE notices ADD COLUMN starts_at INTEGER;
ALTER TABLE notices ADD COLUMN updated_at INTEGER;
ALTER TABLE notices ADD COLUMN withdrawn_at INTEGER;
-- 稼働状況: one row, set in the console (正常稼働中 / メンテナンス予定 with a window / 障害発生中).
CREATE TABLE operating_status (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    state      TEXT NOT NULL,              -- 'normal', 'maintenance' or 'incident'
    message    TEXT NOT NULL,
    starts_at  INTEGER,
    ends_at    INTEGER,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);
