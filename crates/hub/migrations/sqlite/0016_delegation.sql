-- 代行: an office authorises a 代行業者 (an agent, registered by the operator with its own users
-- and terminals) to send and/or receive in its name, for a period, revocable at once.
ALTER TABLE offices ADD COLUMN agent INTEGER NOT NULL DEFAULT 0;
CREATE TABLE delegations (
    id          INTEGER PRIMARY KEY,
    office      TEXT NOT NULL,
    agent       TEXT NOT NULL,
    may_send    INTEGER NOT NULL,
    may_receive INTEGER NOT NULL,
    starts_on   TEXT NOT NULL,
    ends_on     TEXT,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX delegations_office ON delegations (office, agent);
CREATE INDEX delegations_agent ON delegations (agent);
-- The agent that sent a message in the office's name (「代行: 名前（番号）」), NULL otherwise.
ALTER TABLE messages ADD COLUMN agent TEXT;
ALTER TABLE messages ADD COLUMN agent_name TEXT;
-- The office's own audit trail (代行による操作の記録, the console's search by office).
CREATE INDEX audit_office ON audit (office, id);
