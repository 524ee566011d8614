//! The store room's one error type.
//!
//! Variants say whose fault it was: the environment (cannot open or create the file),
//! an operator (a database from a newer callbox, a hand-edited row we cannot read), the
//! caller (a duplicate name, a value that fails validation), or us (a migration that
//! does not apply). Anything else SQLite reports is `Sqlite`, kept whole for the log.

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    /// The data directory could not be created (permissions, read-only disk).
    #[error("cannot create directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The database file could not be opened or set up.
    #[error("cannot open database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    /// The database was written by a newer callbox; running an older binary on it
    /// would misread it, so we refuse (restore a backup or install the newer version).
    #[error(
        "database {path} has schema version {found}, this callbox knows up to {supported}: \
         it was written by a newer callbox; install that version or restore a backup"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    /// One of our own migrations failed: a bug, or a database altered by hand.
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        version: i64,
        name: &'static str,
        #[source]
        source: rusqlite::Error,
    },

    /// A row holds a value we never write (edited by hand, or damaged).
    #[error("bad value in {table} {key}: {what}")]
    BadRow {
        table: &'static str,
        key: String,
        what: String,
    },

    /// The caller tried to add something that already exists.
    #[error("{what} {value:?} already exists")]
    Duplicate { what: &'static str, value: String },

    /// The caller referred to a row that does not exist.
    #[error("{what} {value} does not exist")]
    NotFound { what: &'static str, value: String },

    /// The caller gave a value that fails validation; `field` names it as the admin
    /// knows it (`number`, `direct_number`, `ring_timeout`...), `message` says what was
    /// expected and what came.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },

    /// A password could not be hashed (the system's random source failed).
    #[error("cannot hash the password: {0}")]
    PasswordHash(#[source] argon2::password_hash::Error),

    /// The writer thread is gone (it panicked or was shut down).
    #[error("the store writer thread has stopped")]
    WriterGone,

    #[error("could not start the store writer thread: {0}")]
    Spawn(#[source] std::io::Error),

    /// A backup to restore is not one we can use (unreadable, damaged, too new).
    #[error("{path} is not a usable backup: {why}")]
    BadBackup { path: PathBuf, why: String },

    /// A file operation of a backup, restore or recording removal failed.
    #[error("cannot {what} {path}: {source}")]
    File {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

impl StoreError {
    /// True when SQLite refused a write for a UNIQUE or PRIMARY KEY clash.
    pub(crate) fn is_unique_violation(err: &rusqlite::Error) -> bool {
        matches!(
            err,
            rusqlite::Error::SqliteFailure(e, _)
                if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        )
    }

    /// True when SQLite refused a write for a missing parent row.
    pub(crate) fn is_foreign_key_violation(err: &rusqlite::Error) -> bool {
        matches!(
            err,
            rusqlite::Error::SqliteFailure(e, _)
                if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY
        )
    }
}
