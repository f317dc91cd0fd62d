-- Office names as people search for them (renkei_hub::search::fold: width, kana and case
-- folded, spaces removed), kept beside the name. Existing rows are filled in when the hub opens
-- its store.
ALTER TABLE offices ADD COLUMN search_key TEXT NOT NULL DEFAULT '';
