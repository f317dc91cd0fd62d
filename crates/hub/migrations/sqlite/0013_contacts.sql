-- Contacts (連絡: 今月利用なし, 区分支給限度額超過の連絡, 計画変更の連絡) as structured data: the
-- JSON of renkei_protocol::Contact, NULL for an ordinary message or draft.
ALTER TABLE messages ADD COLUMN contact TEXT;
ALTER TABLE drafts ADD COLUMN contact TEXT;
-- The CSVバージョン (record field 1) of a standard CSV file as sent, for 受信一覧's column of that
-- name (the receiver imports 202208 and 202407 layouts differently); NULL for other files.
ALTER TABLE files ADD COLUMN csv_version TEXT;
