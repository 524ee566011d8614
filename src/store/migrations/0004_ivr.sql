-- 0004: IVR flows; service numbers may send callers through one first, and a queue may
-- have a key that takes a waiting caller out into one (back to the main menu).
--
-- A flow's nodes are one JSON array, exactly as serde_json writes core's `Vec<Node>`
-- (`[{"id": 1, "type": "menu", ...}]`): a flow is read and replaced whole, never
-- queried by node, and the JSON reads like what the flow does in the sqlite3 shell.
-- The store checks a flow before writing it (the graph is whole, queues name existing
-- groups, prompt names are file names); the CHECKs here only keep out text that is
-- not a JSON array at all.

CREATE TABLE ivr_flows (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE CHECK (name <> ''),
    start_node INTEGER NOT NULL CHECK (start_node >= 0),
    nodes      TEXT NOT NULL CHECK (json_valid(nodes) AND json_type(nodes) = 'array'),
    created_at TEXT NOT NULL
) STRICT;

-- The flow callers of this number go through first; wins over group_id and device_id.
ALTER TABLE service_numbers ADD COLUMN
    flow_id INTEGER REFERENCES ivr_flows(id) ON DELETE SET NULL;

-- A key (0-9, * or #) that takes a caller waiting in this queue into exit_flow_id:
-- both set, or neither. A column CHECK may name another column in SQLite; ALTER TABLE
-- cannot add a table CHECK.
ALTER TABLE skill_groups ADD COLUMN
    exit_key TEXT CHECK (exit_key IN ('0', '1', '2', '3', '4', '5', '6', '7', '8', '9',
                                      '*', '#'));
ALTER TABLE skill_groups ADD COLUMN
    exit_flow_id INTEGER REFERENCES ivr_flows(id) ON DELETE SET NULL
    CHECK ((exit_key IS NULL) = (exit_flow_id IS NULL));

-- ON DELETE SET NULL alone would clear exit_flow_id and leave exit_key, which the
-- CHECK above refuses, so removing a flow would fail. Clearing both first keeps the
-- pair whole: the queue simply loses its exit key.
CREATE TRIGGER ivr_flows_delete_clears_queue_exits BEFORE DELETE ON ivr_flows
BEGIN
    UPDATE skill_groups SET exit_key = NULL, exit_flow_id = NULL
     WHERE exit_flow_id = OLD.id;
END;

-- Flows are routing data: the daemon reloads its directory when they change (0003).
CREATE TRIGGER ivr_flows_insert_bumps_directory AFTER INSERT ON ivr_flows
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER ivr_flows_update_bumps_directory AFTER UPDATE ON ivr_flows
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER ivr_flows_delete_bumps_directory AFTER DELETE ON ivr_flows
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;
