-- Contacts (連絡: 今月利用なし, 区分支給限度額超過の連絡, 計画変更の連絡) as structured data: the
-- JSON of renkei_protocol::Contact, NULL for an ordinary message or draft.
ALTER TABLE messages ADD COLUMN contact TEXT;
ALTER TABLE drafts ADD COLUMN contact TEXT;
