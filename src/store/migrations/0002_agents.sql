-- 0002: agents, skill groups and their members, busy reasons, the agent status log;
-- service numbers gain a queue (group, priority, language), calls their agent, group
-- and wait.
--
-- The words in CHECKs are core's `as_str` words (AnswerMode, Strategy, AgentState,
-- StatusCause, Language); a new word needs a new migration, not an edit here.

-- An agent (坐席). web_password is an argon2 PHC string ("$argon2id$v=19$..."), never
-- the password itself: unlike SIP digest, a web login can check a hash.
-- softphone_device_id is the agent's own SIP login (devices.user = number).
CREATE TABLE agents (
    id                  INTEGER PRIMARY KEY,
    number              TEXT NOT NULL UNIQUE CHECK (length(number) BETWEEN 1 AND 16
                        AND number NOT GLOB '*[^0-9]*'),
    name                TEXT NOT NULL CHECK (name <> ''),
    web_password        TEXT NOT NULL,
    direct_number       TEXT,
    bound_device_id     INTEGER REFERENCES devices(id) ON DELETE SET NULL,
    softphone_device_id INTEGER REFERENCES devices(id) ON DELETE SET NULL,
    answer_mode         TEXT NOT NULL DEFAULT 'device'
                        CHECK (answer_mode IN ('device', 'softphone', 'direct')),
    offline_answering   INTEGER NOT NULL DEFAULT 0 CHECK (offline_answering IN (0, 1)),
    allow_fallback      INTEGER NOT NULL DEFAULT 0 CHECK (allow_fallback IN (0, 1)),
    -- A call to the direct number waits for "press 1" (voicemail never takes it).
    confirm_direct      INTEGER NOT NULL DEFAULT 1 CHECK (confirm_direct IN (0, 1)),
    created_at          TEXT NOT NULL
) STRICT;

-- A desk phone serves one agent at a time; a softphone login belongs to one agent.
CREATE UNIQUE INDEX agents_by_bound_device ON agents(bound_device_id)
    WHERE bound_device_id IS NOT NULL;
CREATE UNIQUE INDEX agents_by_softphone ON agents(softphone_device_id)
    WHERE softphone_device_id IS NOT NULL;

-- A skill group (技能组), one queue. Durations are whole seconds. overflow_group_id is
-- set exactly when overflow = 'group', except after that group was removed (SET NULL):
-- such a row reads back as 'hangup'. overflow_number is set exactly for 'number'.
CREATE TABLE skill_groups (
    id                  INTEGER PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE CHECK (name <> ''),
    strategy            TEXT NOT NULL DEFAULT 'longest-idle'
                        CHECK (strategy IN ('ring-all', 'longest-idle', 'round-robin',
                            'fewest-calls', 'least-talk-time', 'top-down', 'random')),
    ring_timeout_secs   INTEGER NOT NULL DEFAULT 20 CHECK (ring_timeout_secs > 0),
    max_no_answer       INTEGER NOT NULL DEFAULT 3 CHECK (max_no_answer >= 0),
    wrap_up_secs        INTEGER NOT NULL DEFAULT 10 CHECK (wrap_up_secs >= 0),
    max_wait_secs       INTEGER CHECK (max_wait_secs > 0),
    overflow            TEXT NOT NULL DEFAULT 'hangup'
                        CHECK (overflow IN ('hangup', 'group', 'number')),
    overflow_group_id   INTEGER REFERENCES skill_groups(id) ON DELETE SET NULL,
    overflow_number     TEXT,
    join_empty          INTEGER NOT NULL DEFAULT 1 CHECK (join_empty IN (0, 1)),
    leave_empty         INTEGER NOT NULL DEFAULT 0 CHECK (leave_empty IN (0, 1)),
    announce_every_secs INTEGER CHECK (announce_every_secs > 0),
    created_at          TEXT NOT NULL,
    CHECK (overflow = 'group' OR overflow_group_id IS NULL),
    CHECK ((overflow = 'number') = (overflow_number IS NOT NULL))
) STRICT;

CREATE TABLE group_members (
    group_id INTEGER NOT NULL REFERENCES skill_groups(id) ON DELETE CASCADE,
    agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    -- 1 is offered first by the top-down strategy.
    level    INTEGER NOT NULL DEFAULT 1 CHECK (level >= 1),
    PRIMARY KEY (group_id, agent_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX group_members_by_agent ON group_members(agent_id, group_id);

-- The busy reasons (忙碌原因) agents choose from, in the order shown.
CREATE TABLE busy_reasons (
    reason   TEXT PRIMARY KEY CHECK (reason <> ''),
    position INTEGER NOT NULL UNIQUE
) STRICT;

-- Every change of an agent's state, in order (id). agent_id and call_id carry no
-- foreign key: the history must outlive a removed agent and its calls.
CREATE TABLE agent_status_log (
    id         INTEGER PRIMARY KEY,
    agent_id   INTEGER NOT NULL,
    at         TEXT NOT NULL,
    from_state TEXT NOT NULL CHECK (from_state IN ('offline', 'idle', 'busy', 'rest',
                   'wrap_up', 'ringing', 'calling', 'talking')),
    to_state   TEXT NOT NULL CHECK (to_state IN ('offline', 'idle', 'busy', 'rest',
                   'wrap_up', 'ringing', 'calling', 'talking')),
    reason     TEXT,
    cause      TEXT NOT NULL CHECK (cause IN ('agent', 'admin', 'system')),
    detail     TEXT NOT NULL DEFAULT '',
    -- The mode the agent chose (NULL when logged out); calls ring the direct line
    -- instead while `fallback` (phone gone) or `offline_answering` is set.
    mode       TEXT CHECK (mode IN ('device', 'softphone', 'direct')),
    fallback   INTEGER NOT NULL DEFAULT 0 CHECK (fallback IN (0, 1)),
    offline_answering INTEGER NOT NULL DEFAULT 0 CHECK (offline_answering IN (0, 1)),
    call_id    INTEGER
) STRICT;

CREATE INDEX agent_status_log_by_agent ON agent_status_log(agent_id, id);

-- A service number's queue. group_id wins over device_id when both are set.
ALTER TABLE service_numbers ADD COLUMN
    group_id INTEGER REFERENCES skill_groups(id) ON DELETE SET NULL;
ALTER TABLE service_numbers ADD COLUMN
    priority INTEGER NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 9);
ALTER TABLE service_numbers ADD COLUMN
    language TEXT NOT NULL DEFAULT 'zh-CN' CHECK (language IN ('zh-CN', 'en'));

-- Who took the call, from which queue, after how long a wait. No foreign keys, like
-- device_id: the history must outlive a removed agent or group.
ALTER TABLE calls ADD COLUMN agent_id INTEGER;
ALTER TABLE calls ADD COLUMN group_id INTEGER;
ALTER TABLE calls ADD COLUMN wait_secs INTEGER CHECK (wait_secs >= 0);

CREATE INDEX calls_by_agent ON calls(agent_id);
