-- 0003: a counter of admin changes, so the running daemon notices them.
--
-- Every change to the tables routing reads (whoever makes it: the API, the command
-- line, the sqlite3 shell) bumps settings.directory_version; the daemon polls that
-- one row and reloads its directory when it moves. Call history is not counted: the
-- writer thread changes it all the time and routing never reads it.

INSERT INTO settings (key, value) VALUES ('directory_version', '0');

CREATE TRIGGER devices_insert_bumps_directory AFTER INSERT ON devices
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER devices_update_bumps_directory AFTER UPDATE ON devices
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER devices_delete_bumps_directory AFTER DELETE ON devices
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER trunks_insert_bumps_directory AFTER INSERT ON trunks
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER trunks_update_bumps_directory AFTER UPDATE ON trunks
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER trunks_delete_bumps_directory AFTER DELETE ON trunks
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER service_numbers_insert_bumps_directory AFTER INSERT ON service_numbers
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER service_numbers_update_bumps_directory AFTER UPDATE ON service_numbers
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER service_numbers_delete_bumps_directory AFTER DELETE ON service_numbers
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER agents_insert_bumps_directory AFTER INSERT ON agents
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER agents_update_bumps_directory AFTER UPDATE ON agents
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER agents_delete_bumps_directory AFTER DELETE ON agents
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER skill_groups_insert_bumps_directory AFTER INSERT ON skill_groups
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER skill_groups_update_bumps_directory AFTER UPDATE ON skill_groups
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER skill_groups_delete_bumps_directory AFTER DELETE ON skill_groups
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER group_members_insert_bumps_directory AFTER INSERT ON group_members
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER group_members_update_bumps_directory AFTER UPDATE ON group_members
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER group_members_delete_bumps_directory AFTER DELETE ON group_members
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER busy_reasons_insert_bumps_directory AFTER INSERT ON busy_reasons
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER busy_reasons_update_bumps_directory AFTER UPDATE ON busy_reasons
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER busy_reasons_delete_bumps_directory AFTER DELETE ON busy_reasons
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;
