-- An idempotency key answers only the request it was first used with: a digest of that request.
ALTER TABLE messages ADD COLUMN idempotency_digest TEXT;
-- Keys are forgotten after a configured number of days (retention pass).
CREATE INDEX messages_idempotency_age ON messages (sent_at) WHERE idempotency_key IS NOT NULL;
-- The readiness probe writes here (one row per hub node) to prove the database takes writes.
CREATE TABLE health_probe (
    node      TEXT PRIMARY KEY,
    probed_at BIGINT NOT NULL
);
