-- Drafts (下書き), shared by every terminal of an office.
CREATE TABLE drafts (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id   TEXT NOT NULL UNIQUE,
    office      TEXT NOT NULL REFERENCES offices(number),
    recipient   TEXT NOT NULL,
    note        TEXT NOT NULL,
    version     BIGINT NOT NULL,
    created_by  BIGINT NOT NULL,
    updated_by  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX drafts_office ON drafts (office, id);

CREATE TABLE draft_files (
    draft_id  BIGINT NOT NULL REFERENCES drafts(id) ON DELETE CASCADE,
    idx       BIGINT NOT NULL,
    name      TEXT NOT NULL,
    size      BIGINT NOT NULL,
    sha256    TEXT NOT NULL,
    PRIMARY KEY (draft_id, idx)
);
