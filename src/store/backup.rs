//! Backups and restores of the database file, and its integrity check.
//!
//! A backup is taken online, with SQLite's backup API on one read transaction: in WAL
//! mode that is a consistent snapshot while the daemon's writer goes on committing,
//! and the copy is a single self-contained file (rollback-journal mode, no `-wal`
//! beside it). A restore validates the file first (it opens, its schema is not newer
//! than ours, `PRAGMA integrity_check` says ok), keeps the database it replaces as
//! `callbox.db.before-restore` (with its `-wal`, so no commit is lost), and migrates
//! the restored file to this binary's schema.
//!
//! Neither knows whether a daemon is running: the command line checks that before a
//! restore (a running daemon would keep writing to the file it has open).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::schema::SCHEMA_VERSION;
use super::{Store, StoreError};

/// How long a backup waits for a busy database, and between tries.
const BUSY_WAIT: Duration = Duration::from_secs(10);
const RETRY: Duration = Duration::from_millis(50);

/// What a checked backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupCheck {
    pub schema_version: i64,
    pub calls: i64,
    pub agents: i64,
}

impl Store {
    /// Copies the database to the file `dest` (replaced if it exists) while others
    /// keep writing. The copy is written beside `dest` first and renamed into place,
    /// so `dest` is never half a database.
    pub fn backup_to(&self, dest: &Path) -> Result<(), StoreError> {
        let partial = with_suffix(dest, ".partial");
        remove_if_present(&partial)?;
        let open_err = |source| StoreError::Open {
            path: partial.clone(),
            source,
        };
        {
            let mut copy = Connection::open(&partial).map_err(open_err)?;
            let backup = Backup::new(&self.conn, &mut copy)?;
            // -1: every page in one step, so one read transaction sees one state. A
            // busy or locked source (a checkpoint, a migration) is waited for.
            let deadline = Instant::now() + BUSY_WAIT;
            loop {
                match backup.step(-1)? {
                    StepResult::Done => break,
                    StepResult::More => {}
                    _ if Instant::now() < deadline => std::thread::sleep(RETRY),
                    _ => {
                        return Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(
                            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                            Some("the database stayed busy during the backup".into()),
                        )));
                    }
                }
            }
            drop(backup);
            copy.pragma_update_and_check(None, "journal_mode", "DELETE", |_| Ok(()))?;
        }
        std::fs::rename(&partial, dest).map_err(|source| StoreError::File {
            what: "rename the backup to",
            path: dest.to_owned(),
            source,
        })
    }

    /// What `PRAGMA integrity_check` finds wrong with the database; empty when sound.
    pub fn integrity_problems(&self) -> Result<Vec<String>, StoreError> {
        integrity(&self.conn)
    }
}

/// Opens the backup at `path` read-only and checks that this callbox can restore it.
pub fn check_backup(path: &Path) -> Result<BackupCheck, StoreError> {
    let bad = |why: String| StoreError::BadBackup {
        path: path.to_owned(),
        why,
    };
    if !path.is_file() {
        return Err(bad("no such file".into()));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| bad(e.to_string()))?;
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|e| bad(e.to_string()))?;
    if version == 0 {
        return Err(bad("it is not a callbox database (schema version 0)".into()));
    }
    if version > SCHEMA_VERSION {
        return Err(bad(format!(
            "it has schema version {version}, this callbox knows up to {SCHEMA_VERSION}: \
             restore it with the newer callbox that wrote it"
        )));
    }
    let problems = integrity(&conn).map_err(|e| bad(e.to_string()))?;
    if !problems.is_empty() {
        return Err(bad(format!("integrity check: {}", problems.join("; "))));
    }
    let count = |table: &str| -> Result<i64, StoreError> {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .map_err(|e| bad(e.to_string()))
    };
    Ok(BackupCheck {
        schema_version: version,
        calls: count("calls")?,
        agents: if version >= 2 { count("agents")? } else { 0 },
    })
}

/// Replaces the database at `db_path` with the backup at `backup` (checked first),
/// then migrates it to this binary's schema. The replaced database is kept as
/// `<db_path>.before-restore`, whose path is returned (None when there was none).
/// No daemon may have `db_path` open.
pub fn restore_database(backup: &Path, db_path: &Path) -> Result<Option<PathBuf>, StoreError> {
    check_backup(backup)?;
    let file_err = |what, path: &Path| {
        let path = path.to_owned();
        move |source| StoreError::File { what, path, source }
    };
    if let Some(dir) = db_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
    }
    let restoring = with_suffix(db_path, ".restoring");
    std::fs::copy(backup, &restoring).map_err(file_err("copy the backup to", &restoring))?;

    let kept = with_suffix(db_path, ".before-restore");
    let had_one = db_path.exists();
    if had_one {
        // A WAL left from an earlier restore must not be replayed into this one.
        for stale in ["-wal", "-shm"] {
            remove_if_present(&with_suffix(&kept, stale))?;
        }
        std::fs::rename(db_path, &kept).map_err(file_err("keep the old database as", &kept))?;
        // SQLite finds a database's WAL by its name + "-wal": moved along, the kept
        // copy still holds every commit. The shared-memory index is rebuilt at open.
        let wal = with_suffix(db_path, "-wal");
        if wal.exists() {
            let kept_wal = with_suffix(&kept, "-wal");
            std::fs::rename(&wal, &kept_wal).map_err(file_err("move the WAL to", &kept_wal))?;
        }
    }
    remove_if_present(&with_suffix(db_path, "-wal"))?;
    remove_if_present(&with_suffix(db_path, "-shm"))?;
    std::fs::rename(&restoring, db_path)
        .map_err(file_err("move the restored database to", db_path))?;
    // Brings an older backup up to this schema, and puts the file back in WAL mode.
    Store::open(db_path)?;
    Ok(had_one.then_some(kept))
}

fn integrity(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare("PRAGMA integrity_check")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut problems = Vec::new();
    for row in rows {
        let line = row?;
        if line != "ok" {
            problems.push(line);
        }
    }
    Ok(problems)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_if_present(path: &Path) -> Result<(), StoreError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::File {
            what: "remove",
            path: path.to_owned(),
            source: e,
        }),
        _ => Ok(()),
    }
}
