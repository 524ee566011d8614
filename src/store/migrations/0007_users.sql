-- Web accounts that are not agents: admins and supervisors (agents log in with their
-- agent number and agents.web_password). `password` is an argon2id PHC string, never
-- the password itself. A name is not all digits, so it never shadows an agent
-- number at login. `disabled` keeps the row (the audit log names its actor) while
-- refusing its logins and ending its sessions.
--
-- Accounts are not routing data: no trigger bumps settings.directory_version.
CREATE TABLE users (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64
                AND name GLOB '*[^0-9]*'),
    role        TEXT NOT NULL CHECK (role IN ('admin', 'supervisor')),
    password    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    disabled    INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
) STRICT;
