-- 0001: devices, trunks, service numbers, calls and their trail, recordings, settings.
--
-- Times are ISO-8601 UTC text with nine fractional digits and a Z
-- ("2025-03-01T09:30:00.123456789Z"): fixed width, so text order is time order,
-- readable in the sqlite3 shell, understood by SQLite's date functions, and a
-- round trip through chrono loses nothing.
--
-- Tables are STRICT so a wrong type is an error at write time, not a surprise later.

CREATE TABLE devices (
    id             INTEGER PRIMARY KEY,
    user           TEXT NOT NULL UNIQUE,
    -- Plaintext on purpose: SIP digest auth (RFC 7616) needs the password or
    -- HA1 per realm; keeping the password lets the realm change.
    password       TEXT NOT NULL,
    name           TEXT NOT NULL DEFAULT '',
    static_contact TEXT,
    created_at     TEXT NOT NULL
) STRICT;

CREATE TABLE trunks (
    id                INTEGER PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    host              TEXT NOT NULL,
    -- Comma-separated IP addresses allowed to send INVITEs as this trunk.
    inbound_peers     TEXT NOT NULL DEFAULT '',
    outbound_proxy    TEXT,
    -- Registration to the carrier: all three set, or none.
    register_user     TEXT,
    register_password TEXT,
    register_expires  INTEGER,
    caller_id         TEXT NOT NULL DEFAULT '',
    -- Comma-separated codec names in order of preference ("PCMU,PCMA").
    codecs            TEXT NOT NULL DEFAULT 'PCMU,PCMA',
    created_at        TEXT NOT NULL,
    CHECK ((register_user IS NULL) = (register_password IS NULL)
       AND (register_user IS NULL) = (register_expires IS NULL))
) STRICT;

CREATE TABLE service_numbers (
    number    TEXT PRIMARY KEY,
    trunk_id  INTEGER NOT NULL REFERENCES trunks(id),
    device_id INTEGER REFERENCES devices(id) ON DELETE SET NULL
) STRICT;

-- One row per call, rewritten whole as the call progresses. device_id, trunk_id and
-- service_number carry no foreign key: the history must outlive a removed device.
CREATE TABLE calls (
    id             INTEGER PRIMARY KEY,
    direction      TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound', 'internal')),
    from_number    TEXT NOT NULL,
    to_number      TEXT NOT NULL,
    service_number TEXT,
    device_id      INTEGER,
    trunk_id       INTEGER,
    sip_call_id    TEXT NOT NULL,
    started_at     TEXT NOT NULL,
    answered_at    TEXT,
    ended_at       TEXT,
    hangup_by      TEXT CHECK (hangup_by IN ('caller', 'callee', 'system')),
    end_cause      TEXT,
    sip_code       INTEGER,
    -- Relative to the data directory.
    recording      TEXT
) STRICT;

CREATE INDEX calls_by_start ON calls(started_at);

-- The call trail. A call's row must exist before its first event.
CREATE TABLE call_events (
    call_id  INTEGER NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    seq      INTEGER NOT NULL,
    at       TEXT NOT NULL,
    kind     TEXT NOT NULL,
    party    TEXT NOT NULL,
    sip_code INTEGER,
    detail   TEXT NOT NULL,
    PRIMARY KEY (call_id, seq)
) STRICT, WITHOUT ROWID;

-- A recording file: created when a call row first names it, completed (seconds)
-- when the media room closes it.
CREATE TABLE recordings (
    path       TEXT PRIMARY KEY,
    call_id    INTEGER REFERENCES calls(id) ON DELETE SET NULL,
    seconds    REAL,
    created_at TEXT NOT NULL
) STRICT;

CREATE INDEX recordings_by_call ON recordings(call_id);

-- Small facts about the database itself ("demo_seeded").
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
