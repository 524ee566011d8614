//! The recordings the daemon's retention may remove, and forgetting one.
//!
//! Only finished recordings are offered: a file whose call is still going (its row
//! has no `ended_at` and the media room has not closed it) is being written. A removed
//! recording loses its `recordings` row (that table lists files that exist) but the
//! call row keeps its `recording` path, so the history still says the call was
//! recorded.

use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::rows::{time_from_sql, time_to_sql};
use super::{Store, StoreError};

/// A finished recording, as retention sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecording {
    /// The file (absolute when the store's data directory is).
    pub path: PathBuf,
    /// As stored, relative to the data directory: the key for [`Store::forget_recording`].
    pub stored: String,
    pub created_at: DateTime<Utc>,
}

impl Store {
    /// Finished recordings, oldest first; only those created before `before` if given.
    pub fn finished_recordings(
        &self,
        before: Option<DateTime<Utc>>,
    ) -> Result<Vec<StoredRecording>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.path, r.created_at FROM recordings r
             LEFT JOIN calls c ON c.id = r.call_id
             WHERE (r.seconds IS NOT NULL OR c.ended_at IS NOT NULL)
               AND (?1 IS NULL OR r.created_at < ?1)
             ORDER BY r.created_at, r.path",
        )?;
        let before = before.as_ref().map(time_to_sql);
        let mut rows = stmt.query(params![before])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let stored: String = r.get(0)?;
            let created_at = time_from_sql(&r.get::<_, String>(1)?, "recordings", &stored)?;
            out.push(StoredRecording {
                path: self.data_dir.join(Path::new(&stored)),
                stored,
                created_at,
            });
        }
        Ok(out)
    }

    /// Drops the `recordings` row of a removed file (the call row keeps its path).
    pub fn forget_recording(&self, stored: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("DELETE FROM recordings WHERE path = ?1")?
            .execute(params![stored])?;
        Ok(())
    }
}

/// Free bytes for an unprivileged writer on the file system holding `dir` (or its
/// nearest existing ancestor: the recordings directory appears with the first one).
pub fn free_space(dir: &Path) -> io::Result<u64> {
    #[cfg(debug_assertions)]
    if let Some(free) = test_disk::free_bytes(dir) {
        return Ok(free);
    }
    let mut at = dir;
    while !at.exists() {
        at = at
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
    }
    let st = rustix::fs::statvfs(at)?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// Debug builds only: a stand-in for a small or full disk, so tests can drive the
/// disk floor without root or a really full file system. `CALLBOX_TEST_DISK_MB=N`
/// makes every directory asked about a disk of N MiB holding only what is under it:
/// free space is N MiB minus the bytes of the files there. Release builds never read
/// it.
#[cfg(debug_assertions)]
mod test_disk {
    use std::path::Path;

    pub fn free_bytes(dir: &Path) -> Option<u64> {
        let mb: u64 = std::env::var("CALLBOX_TEST_DISK_MB").ok()?.parse().ok()?;
        Some((mb * 1024 * 1024).saturating_sub(used(dir)))
    }

    fn used(dir: &Path) -> u64 {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        entries
            .flatten()
            .map(|e| match e.file_type() {
                Ok(t) if t.is_dir() => used(&e.path()),
                Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
                _ => 0,
            })
            .sum()
    }
}
