-- 0011: calls after the fact (S16-S18): missed calls marked handled, export tasks, and
-- the indexes the advanced query leans on.
--
-- Both tables are history, like calls: routing never reads them, so they bump no
-- directory version. call_id carries no foreign key, like the other history tables'.

-- A missed inbound call someone has dealt with (called back, noted): who, when, and
-- a note. One mark per call; marking again replaces it.
CREATE TABLE missed_handled (
    call_id INTEGER PRIMARY KEY,
    by_user TEXT NOT NULL,
    at      TEXT NOT NULL,
    note    TEXT NOT NULL DEFAULT ''
) STRICT;

-- An export of the calls matching a query (S18), run by the export thread in id
-- order. `filters` is the query as JSON (the parameters of GET /api/v1/calls, an
-- agent's own number included when an agent asked). `file` is relative to the data
-- directory, set once the file is complete. `owner` is the user name of whoever
-- asked ('' for this machine's command line).
CREATE TABLE exports (
    id          INTEGER PRIMARY KEY,
    owner       TEXT NOT NULL,
    format      TEXT NOT NULL CHECK (format IN ('csv', 'xlsx')),
    language    TEXT NOT NULL CHECK (language IN ('zh-CN', 'en')),
    filters     TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'queued'
                CHECK (state IN ('queued', 'running', 'done', 'failed')),
    rows        INTEGER NOT NULL DEFAULT 0 CHECK (rows >= 0),
    bytes       INTEGER CHECK (bytes >= 0),
    file        TEXT,
    error       TEXT,
    created_at  TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT
) STRICT;

CREATE INDEX exports_by_owner ON exports(owner, id);
CREATE INDEX exports_by_state ON exports(state, id);

-- The advanced query filters by direction (missed calls: inbound) and by queue within
-- a time range, newest first; calls_by_start and calls_by_agent_start serve the rest.
CREATE INDEX calls_by_direction_start ON calls(direction, started_at);
CREATE INDEX calls_by_group_start ON calls(group_id, started_at);
