-- Drafts (下書き), shared by every terminal of an office.
CREATE TABLE drafts (
    id          INTEGER PRIMARY KEY,
    public_id   TEXT NOT NULL UNIQUE,
    office      TEXT NOT NULL REFERENCES offices(number),
    recipient   TEXT NOT NULL,
    note        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_by  INTEGER NOT NULL,
    updated_by  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX drafts_office ON drafts (office, id);

CREATE TABLE draft_files (
    draft_id  INTEGER NOT NULL REFERENCES drafts(id) ON DELETE CASCADE,
    idx       INTEGER NOT NULL,
    name      TEXT NOT NULL,
    size      INTEGER NOT NULL,
    sha256    TEXT NOT NULL,
    PRIMARY KEY (draft_id, idx)
);
