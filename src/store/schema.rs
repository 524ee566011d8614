//! Connection set-up and schema migrations.
//!
//! The schema changes only through the numbered files in `migrations/`, embedded in
//! the binary and applied in order at open; `PRAGMA user_version` records how far a
//! database has come. Never edit a migration that has shipped: add the next one.
//!
//! The tricky part is concurrency and downgrades: two processes may open the same
//! file at once (the daemon and an admin command), so the version is read again
//! inside an IMMEDIATE transaction before migrating; and a database newer than this
//! binary is refused rather than misread.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// A schema step: its number (the file's prefix), a name for errors, and its SQL.
struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

/// Every migration, in order. Versions run 1, 2, 3... without gaps (checked by a test).
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("migrations/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "agents",
        sql: include_str!("migrations/0002_agents.sql"),
    },
    Migration {
        version: 3,
        name: "directory version",
        sql: include_str!("migrations/0003_directory_version.sql"),
    },
    Migration {
        version: 4,
        name: "ivr",
        sql: include_str!("migrations/0004_ivr.sql"),
    },
    Migration {
        version: 5,
        name: "customers and prompts",
        sql: include_str!("migrations/0005_customers_prompts.sql"),
    },
    Migration {
        version: 6,
        name: "call controls",
        sql: include_str!("migrations/0006_call_controls.sql"),
    },
    Migration {
        version: 7,
        name: "users",
        sql: include_str!("migrations/0007_users.sql"),
    },
    Migration {
        version: 8,
        name: "staff",
        sql: include_str!("migrations/0008_staff.sql"),
    },
    Migration {
        version: 9,
        name: "lines",
        sql: include_str!("migrations/0009_lines.sql"),
    },
    Migration {
        version: 10,
        name: "crm",
        sql: include_str!("migrations/0010_crm.sql"),
    },
    Migration {
        version: 11,
        name: "records",
        sql: include_str!("migrations/0011_records.sql"),
    },
    Migration {
        version: 12,
        name: "live",
        sql: include_str!("migrations/0012_live.sql"),
    },
];

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How long a connection waits for another's lock before failing with SQLITE_BUSY.
/// The writer's transactions are short; a few seconds only matter when the disk stalls.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens `path`, sets the pragmas every connection needs, and brings the schema up to
/// date.
pub fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let open_err = |source| StoreError::Open {
        path: path.to_owned(),
        source,
    };
    let mut conn = Connection::open(path).map_err(open_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
    // WAL lets the API read while the writer writes, and makes a commit one sequential
    // append instead of a rollback-journal dance.
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))
        .map_err(open_err)?;
    // In WAL mode, NORMAL syncs only at checkpoints, not at every commit: a power cut
    // can lose the last few commits but never corrupts the file. For a call log that
    // trade is right; FULL would put an fsync on every batch of call rows.
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(open_err)?;
    // SQLite leaves foreign keys off per connection unless asked.
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(open_err)?;
    migrate(&mut conn, path)?;
    Ok(conn)
}

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let too_new = |found| StoreError::TooNew {
        path: path.to_owned(),
        found,
        supported: SCHEMA_VERSION,
    };
    // Cheap check first, so an up-to-date database never takes the write lock at open.
    let found = user_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(too_new(found));
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Another process may have migrated between our read and the lock.
    let found = user_version(&tx)?;
    if found > SCHEMA_VERSION {
        return Err(too_new(found));
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > found) {
        tx.execute_batch(m.sql)
            .map_err(|source| StoreError::Migration {
                version: m.version,
                name: m.name,
                source,
            })?;
        // user_version is part of the database header, so it commits or rolls back
        // with the migration it records.
        tx.pragma_update(None, "user_version", m.version)?;
        log::info!("store: applied migration {:04}_{}", m.version, m.name);
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_consecutive_from_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(
                m.version,
                i as i64 + 1,
                "migration {} is out of order",
                m.name
            );
        }
    }
}
