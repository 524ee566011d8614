-- 0008: web users may be agents too, and any user may be linked to an agent.
--
-- Agents log in with their number (agents.web_password); a user row is a named login
-- (admin, supervisor or agent) that may also act as one agent (agent_id): an agent's
-- named login, or a supervisor who takes calls. An agent-role user whose agent was
-- removed (SET NULL) cannot log in; the store refuses to make one without an agent.
--
-- SQLite cannot change a CHECK in place, so the table is rebuilt; nothing refers to
-- users by foreign key (the audit log names actors by text), so the swap is safe.
-- Accounts are still not routing data: no trigger bumps settings.directory_version.
CREATE TABLE users_new (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64
                AND name GLOB '*[^0-9]*'),
    role        TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent')),
    password    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    disabled    INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    agent_id    INTEGER REFERENCES agents(id) ON DELETE SET NULL
) STRICT;

INSERT INTO users_new (id, name, role, password, created_at, disabled)
    SELECT id, name, role, password, created_at, disabled FROM users;

DROP TABLE users;
ALTER TABLE users_new RENAME TO users;

CREATE INDEX users_by_agent ON users(agent_id) WHERE agent_id IS NOT NULL;
