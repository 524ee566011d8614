-- 0006: in-call controls. Calls gain their time on hold and the customer's survey
-- score, agents a supervisor flag (listen, whisper, barge), customers a verification
-- PIN (hashed), and an audit log records who supervised which call.
--
-- Customers and agents are routing data, so their new columns ride the 0003/0005
-- triggers (any UPDATE bumps settings.directory_version). The audit log is history,
-- like calls: the writer thread appends to it and routing never reads it, so it bumps
-- nothing.

-- Whole seconds the customer spent on hold; 0 for a call never held and for calls
-- stored before this migration.
ALTER TABLE calls ADD COLUMN
    hold_secs INTEGER NOT NULL DEFAULT 0 CHECK (hold_secs >= 0);
-- The key (0-9) the customer rated the call with; NULL when they were not asked or
-- did not answer.
ALTER TABLE calls ADD COLUMN
    survey_score INTEGER CHECK (survey_score BETWEEN 0 AND 9);

-- "My calls" reads one agent's calls newest first within a time range; this index
-- serves that and every lookup calls_by_agent served.
CREATE INDEX calls_by_agent_start ON calls(agent_id, started_at);
DROP INDEX calls_by_agent;

ALTER TABLE agents ADD COLUMN
    supervisor INTEGER NOT NULL DEFAULT 0 CHECK (supervisor IN (0, 1));

-- An argon2id PHC string of the customer's PIN ("$argon2id$v=19$m=4096,t=1,p=1$..."),
-- never the digits: the CHECK keeps out a PIN typed in by hand in the sqlite3 shell.
-- NULL: the customer has no PIN and cannot be verified.
ALTER TABLE customers ADD COLUMN
    pin_hash TEXT CHECK (pin_hash GLOB '$argon2id$*');

-- Who did what, to which call: supervision (listen, whisper, barge) and other actions
-- someone may have to account for. call_id carries no foreign key: the log must
-- outlive the calls it names. The words in `action` are core's. No CHECKs on actor or
-- action: a line the writer refused would be lost, and an audit log with a gap is
-- worse than one with an odd word; a new action needs no migration either.
CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    call_id INTEGER,
    detail  TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX audit_log_by_at ON audit_log(at);
