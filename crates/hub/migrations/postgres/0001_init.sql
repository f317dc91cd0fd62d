-- renkei hub, initial schema (PostgreSQL). Never edit once merged; add a new migration.
CREATE TABLE offices (
    number        TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    kinds         TEXT NOT NULL,            -- comma-separated サービス種類コード
    license_until TEXT,                     -- YYYY-MM-DD, inclusive; NULL = no license
    created_at    BIGINT NOT NULL
);

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login         TEXT NOT NULL UNIQUE,
    office        TEXT NOT NULL REFERENCES offices(number),
    role          TEXT NOT NULL CHECK (role IN ('admin', 'staff')),
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    must_change   BIGINT NOT NULL,
    failures      BIGINT NOT NULL DEFAULT 0,
    locked_until  BIGINT,
    created_at    BIGINT NOT NULL
);

CREATE TABLE terminals (
    id           TEXT PRIMARY KEY,
    office       TEXT NOT NULL REFERENCES offices(number),
    label        TEXT NOT NULL,
    serial       TEXT NOT NULL UNIQUE,       -- certificate serial (hex)
    fingerprint  TEXT NOT NULL UNIQUE,       -- SHA-256 of the certificate DER (hex)
    not_after    BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);

CREATE TABLE enrolment_codes (
    code_hash   TEXT PRIMARY KEY,
    office      TEXT NOT NULL REFERENCES offices(number),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users(id),
    terminal_id TEXT NOT NULL REFERENCES terminals(id),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE TABLE messages (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id        TEXT NOT NULL UNIQUE,
    sender           TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    note             TEXT NOT NULL,
    sent_by          BIGINT NOT NULL,
    sent_terminal    TEXT NOT NULL,
    sent_at          BIGINT NOT NULL,
    idempotency_key  TEXT,
    fetched_at       BIGINT,
    fetched_by       BIGINT,
    fetched_terminal TEXT,
    opened_at        BIGINT,
    opened_by        BIGINT,
    UNIQUE (sender, idempotency_key)
);
CREATE INDEX messages_inbox ON messages (recipient, id);
CREATE INDEX messages_inbox_unfetched ON messages (recipient, fetched_at, id);
CREATE INDEX messages_sent ON messages (sender, id);

CREATE TABLE files (
    message_id    BIGINT NOT NULL REFERENCES messages(id),
    idx           BIGINT NOT NULL,
    name          TEXT NOT NULL,
    kind          TEXT,
    service_month TEXT,
    size          BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    PRIMARY KEY (message_id, idx)
);
CREATE INDEX files_kind ON files (kind, message_id);

CREATE TABLE audit (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT NOT NULL,
    action      TEXT NOT NULL,
    office      TEXT,
    user_id     BIGINT,
    terminal_id TEXT,
    ip          TEXT,
    detail      TEXT NOT NULL
);
