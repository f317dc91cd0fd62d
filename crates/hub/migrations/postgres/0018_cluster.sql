-- What several hub nodes on one database share.
-- Login attempts per client address, in a window of 60 s that opens at an address's first
-- attempt: every node counts into the same row. Rows older than two windows are removed by the
-- retention pass.
CREATE TABLE login_attempts (
    address      TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    attempts     BIGINT NOT NULL
);
-- Leases: a background pass (retention, licence renewal) runs on the node that holds its lease;
-- a lease not renewed by `until` (unix seconds) may be taken by another node.
CREATE TABLE leases (
    name   TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until  BIGINT NOT NULL
);
