-- 0005: customers the ACD must know (VIP callers go first), and prompts an admin
-- replaced with recordings of their own.

-- A customer, keyed by their number as the carrier sends it. More of the customer
-- card (name, notes, tickets) comes with the agent workspace.
CREATE TABLE customers (
    number     TEXT PRIMARY KEY CHECK (number <> ''),
    name       TEXT NOT NULL DEFAULT '',
    vip        INTEGER NOT NULL DEFAULT 0 CHECK (vip IN (0, 1)),
    created_at TEXT NOT NULL
) STRICT;

-- A prompt replaced by an upload: the file (relative to the data directory) plays
-- wherever the built-in sounds/<language>/<name>.wav would.
CREATE TABLE prompts (
    language    TEXT NOT NULL CHECK (language IN ('zh-CN', 'en')),
    name        TEXT NOT NULL CHECK (name <> ''),
    file        TEXT NOT NULL,
    seconds     REAL NOT NULL,
    uploaded_at TEXT NOT NULL,
    PRIMARY KEY (language, name)
) STRICT;

CREATE TRIGGER customers_insert_bumps_directory AFTER INSERT ON customers
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER customers_update_bumps_directory AFTER UPDATE ON customers
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER customers_delete_bumps_directory AFTER DELETE ON customers
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER prompts_insert_bumps_directory AFTER INSERT ON prompts
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER prompts_update_bumps_directory AFTER UPDATE ON prompts
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER prompts_delete_bumps_directory AFTER DELETE ON prompts
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;
