-- 0010: the customer side of the agent workspace (S12): the rest of the customer
-- card, tickets (工单) and the types an admin defines for them.
--
-- The card lives on `customers` (0005), keyed by the number as the carrier sends it,
-- so a VIP mark and a card are one row. Card edits are not routing data: the 0005
-- triggers bumped the directory version on every change to the table, which would
-- make the daemon reload its whole directory each time an agent saved a note; they
-- are replaced by triggers that fire only when what routing reads (vip, pin_hash)
-- changes.

ALTER TABLE customers ADD COLUMN company TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN email TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN notes TEXT NOT NULL DEFAULT '';
-- A JSON array of short strings ("老客户", "投诉").
ALTER TABLE customers ADD COLUMN tags TEXT NOT NULL DEFAULT '[]'
    CHECK (json_valid(tags) AND json_type(tags) = 'array');
ALTER TABLE customers ADD COLUMN updated_at TEXT;
-- The login name of whoever saved the card last ('' for the command line).
ALTER TABLE customers ADD COLUMN updated_by TEXT NOT NULL DEFAULT '';

DROP TRIGGER customers_insert_bumps_directory;
DROP TRIGGER customers_update_bumps_directory;
DROP TRIGGER customers_delete_bumps_directory;

CREATE TRIGGER customers_insert_bumps_directory AFTER INSERT ON customers
WHEN NEW.vip = 1 OR NEW.pin_hash IS NOT NULL
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER customers_update_bumps_directory AFTER UPDATE OF vip, pin_hash ON customers
WHEN OLD.vip IS NOT NEW.vip OR OLD.pin_hash IS NOT NEW.pin_hash
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

CREATE TRIGGER customers_delete_bumps_directory AFTER DELETE ON customers
WHEN OLD.vip = 1 OR OLD.pin_hash IS NOT NULL
BEGIN
    UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
     WHERE key = 'directory_version';
END;

-- A customer's history is read by number: the calls from and to it.
CREATE INDEX calls_by_from_number ON calls(from_number, started_at);
CREATE INDEX calls_by_to_number ON calls(to_number, started_at);

-- A kind of ticket (咨询, 投诉, 报修...). `fields` is the JSON array of the extra
-- fields a ticket of this type carries, as the store writes it:
-- [{"name": "订单号", "required": true, "options": []}] (options: a choice list).
-- A disabled type is kept for the tickets that have it but offered for no new one.
CREATE TABLE ticket_types (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE CHECK (name <> ''),
    fields     TEXT NOT NULL DEFAULT '[]'
               CHECK (json_valid(fields) AND json_type(fields) = 'array'),
    enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- A ticket. `customer` is a number (no foreign key: a ticket may name a caller who
-- has no card yet), `call_id` the call it was opened from and `agent` the agent
-- number who opened it; neither has a foreign key, so the history outlives removed
-- calls and agents. A type in use cannot be removed (disable it instead).
-- `fields` holds the type's extra fields as a JSON object of strings.
CREATE TABLE tickets (
    id          INTEGER PRIMARY KEY,
    type_id     INTEGER NOT NULL REFERENCES ticket_types(id),
    title       TEXT NOT NULL CHECK (title <> ''),
    description TEXT NOT NULL DEFAULT '',
    priority    TEXT NOT NULL DEFAULT 'normal'
                CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    status      TEXT NOT NULL DEFAULT 'open'
                CHECK (status IN ('open', 'processing', 'resolved', 'closed')),
    customer    TEXT,
    call_id     INTEGER,
    agent       TEXT,
    created_by  TEXT NOT NULL DEFAULT '',
    fields      TEXT NOT NULL DEFAULT '{}'
                CHECK (json_valid(fields) AND json_type(fields) = 'object'),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;

CREATE INDEX tickets_by_customer ON tickets(customer, id);
CREATE INDEX tickets_by_agent ON tickets(agent, id);
CREATE INDEX tickets_by_status ON tickets(status, id);
CREATE INDEX tickets_by_type ON tickets(type_id);
