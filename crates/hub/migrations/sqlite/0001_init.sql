-- renkei hub, initial schema (SQLite). Never edit once merged; add a new migration.
CREATE TABLE offices (
    number        TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    kinds         TEXT NOT NULL,            -- comma-separated サービス種類コード
    license_until TEXT,                     -- YYYY-MM-DD, inclusive; NULL = no license
    created_at    INTEGER NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    login         TEXT NOT NULL UNIQUE,
    office        TEXT NOT NULL REFERENCES offices(number),
    role          TEXT NOT NULL CHECK (role IN ('admin', 'staff')),
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    must_change   INTEGER NOT NULL,
    failures      INTEGER NOT NULL DEFAULT 0,
    locked_until  INTEGER,
    created_at    INTEGER NOT NULL
);

CREATE TABLE terminals (
    id           TEXT PRIMARY KEY,
    office       TEXT NOT NULL REFERENCES offices(number),
    label        TEXT NOT NULL,
    serial       TEXT NOT NULL UNIQUE,       -- certificate serial (hex)
    fingerprint  TEXT NOT NULL UNIQUE,       -- SHA-256 of the certificate DER (hex)
    not_after    INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);

CREATE TABLE enrolment_codes (
    code_hash   TEXT PRIMARY KEY,
    office      TEXT NOT NULL REFERENCES offices(number),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    terminal_id TEXT NOT NULL REFERENCES terminals(id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

CREATE TABLE messages (
    id               INTEGER PRIMARY KEY,
    public_id        TEXT NOT NULL UNIQUE,
    sender           TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    note             TEXT NOT NULL,
    sent_by          INTEGER NOT NULL,
    sent_terminal    TEXT NOT NULL,
    sent_at          INTEGER NOT NULL,
    idempotency_key  TEXT,
    fetched_at       INTEGER,
    fetched_by       INTEGER,
    fetched_terminal TEXT,
    opened_at        INTEGER,
    opened_by        INTEGER,
    UNIQUE (sender, idempotency_key)
);
CREATE INDEX messages_inbox ON messages (recipient, id);
CREATE INDEX messages_inbox_unfetched ON messages (recipient, fetched_at, id);
CREATE INDEX messages_sent ON messages (sender, id);

CREATE TABLE files (
    message_id    INTEGER NOT NULL REFERENCES messages(id),
    idx           INTEGER NOT NULL,
    name          TEXT NOT NULL,
    kind          TEXT,
    service_month TEXT,
    size          INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    PRIMARY KEY (message_id, idx)
);
CREATE INDEX files_kind ON files (kind, message_id);

CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    action      TEXT NOT NULL,
    office      TEXT,
    user_id     INTEGER,
    terminal_id TEXT,
    ip          TEXT,
    detail      TEXT NOT NULL
);
