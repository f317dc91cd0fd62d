-- Operators of the exchange (運営者): their own accounts and browser sessions, apart from offices.
CREATE TABLE operators (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    failures      BIGINT NOT NULL DEFAULT 0,
    locked_until  BIGINT,
    created_at    BIGINT NOT NULL
);
CREATE TABLE operator_sessions (
    token_hash  TEXT PRIMARY KEY,
    operator_id BIGINT NOT NULL REFERENCES operators(id),
    csrf        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
