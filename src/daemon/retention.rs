//! Recording retention: a thread that removes recordings older than
//! `recording.keep_days`, and keeps the disk above `recording.min_free_mb` by
//! removing the oldest recordings first. When nothing is left to remove and the disk
//! is still below the floor, recording stops: `Status::recording_paused` is set, an
//! error is logged once and `/health` lists the alarm `recording_stopped` until space
//! is back.
//!
//! It runs once at start and then every minute, on its own connection; a pass is a
//! few queries and `unlink`s, so it never holds the writer up. Only finished
//! recordings are touched (see `Store::finished_recordings`). A removed recording
//! loses its file and its `recordings` row; the call row keeps its `recording` path,
//! so the history still says the call was recorded.
//!
//! The floor applies only while recording is enabled: with recording off, recordings
//! are not what fills the disk, and removing them would not be ours to decide.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{DateTime, Utc};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded};

use super::DaemonError;
use crate::api::Status;
use crate::config::Config;
use crate::store::Store;

/// How often a pass runs after the first.
const INTERVAL: Duration = Duration::from_secs(60);

/// The alarm `/health` lists while recording is stopped for want of disk space.
pub const ALARM: &str = "recording_stopped";

const MIB: u64 = 1024 * 1024;

/// The running retention thread; `shutdown` stops and joins it.
pub struct Retention {
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

impl Retention {
    pub fn shutdown(self) {
        drop(self.stop);
        if self.thread.join().is_err() {
            log::error!("the recording retention thread panicked");
        }
    }
}

/// What one pass works with.
struct Policy {
    keep_days: u32,
    /// The floor in bytes; 0 = none.
    min_free: u64,
    recordings_dir: PathBuf,
}

/// What a pass did and found.
#[derive(Debug, Default, PartialEq, Eq)]
struct Pass {
    expired: usize,
    for_space: usize,
    /// Free bytes when the pass ended below the floor with nothing left to remove.
    short: Option<u64>,
}

/// Starts the thread: a pass now, then one every minute until `shutdown`.
pub fn spawn(
    config: &Config,
    db_path: &Path,
    status: Arc<Status>,
) -> Result<Retention, DaemonError> {
    let policy = Policy {
        keep_days: config.recording.keep_days,
        min_free: if config.recording.enabled {
            config.recording.min_free_mb.saturating_mul(MIB)
        } else {
            0
        },
        recordings_dir: config.recordings_dir(),
    };
    let db_path = db_path.to_owned();
    let (stop, stopped) = bounded::<()>(1);
    let thread = std::thread::Builder::new()
        .name("retention".into())
        .spawn(move || run(&policy, &db_path, &status, &stopped))
        .map_err(|e| DaemonError::Thread("retention", e))?;
    Ok(Retention { stop, thread })
}

fn run(policy: &Policy, db_path: &Path, status: &Status, stopped: &Receiver<()>) {
    if policy.keep_days == 0 && policy.min_free == 0 {
        log::debug!("retention: recordings are kept forever and no disk floor is set");
        let _ = stopped.recv();
        return;
    }
    let mut store = None;
    loop {
        if store.is_none() {
            match Store::open(db_path) {
                Ok(s) => store = Some(s),
                Err(e) => log::error!("retention: {e}"),
            }
        }
        if let Some(s) = &store {
            match pass(s, policy, Utc::now(), &crate::store::free_space) {
                Ok(done) => report(&done, policy, status),
                Err(e) => log::error!("retention: {e}"),
            }
        }
        match stopped.recv_timeout(interval()) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
    }
}

/// Logs what a pass removed and raises or clears the alarm.
fn report(done: &Pass, policy: &Policy, status: &Status) {
    if done.expired > 0 {
        log::info!(
            "retention: removed {} recording(s) older than {} days",
            done.expired,
            policy.keep_days
        );
    }
    if done.for_space > 0 {
        log::warn!(
            "retention: removed the {} oldest recording(s) to keep {} MiB free",
            done.for_space,
            policy.min_free / MIB
        );
    }
    match done.short {
        Some(free) => {
            let message = format!(
                "recording stopped: {} MiB free under {}, below recording.min_free_mb = {}, \
                 and no recording is left to remove; free disk space (or lower the floor) \
                 and recording resumes within a minute",
                free / MIB,
                policy.recordings_dir.display(),
                policy.min_free / MIB
            );
            if !status.recording_paused() {
                log::error!("{message}");
            }
            status.set_recording_paused(true);
            status.raise_alarm(ALARM, message);
        }
        None => {
            if status.clear_alarm(ALARM) || status.recording_paused() {
                log::warn!("disk space is back above recording.min_free_mb: recording resumes");
            }
            status.set_recording_paused(false);
        }
    }
}

/// One pass: expired recordings first, then the oldest until the floor holds.
fn pass(
    store: &Store,
    policy: &Policy,
    now: DateTime<Utc>,
    free_bytes: &dyn Fn(&Path) -> io::Result<u64>,
) -> Result<Pass, crate::store::StoreError> {
    let mut done = Pass::default();
    if policy.keep_days > 0 {
        let before = now - chrono::Duration::days(i64::from(policy.keep_days));
        for rec in store.finished_recordings(Some(before))? {
            if remove(store, &rec.path, &rec.stored)? {
                done.expired += 1;
                remove_empty_parents(&rec.path, &policy.recordings_dir);
            }
        }
    }
    if policy.min_free == 0 {
        return Ok(done);
    }
    let probe = |dir: &Path| match free_bytes(dir) {
        Ok(free) => Some(free),
        Err(e) => {
            log::warn!(
                "retention: cannot read the free space of {}: {e}",
                dir.display()
            );
            None
        }
    };
    let Some(mut free) = probe(&policy.recordings_dir) else {
        return Ok(done);
    };
    if free >= policy.min_free {
        return Ok(done);
    }
    for rec in store.finished_recordings(None)? {
        if remove(store, &rec.path, &rec.stored)? {
            done.for_space += 1;
        }
        match probe(&policy.recordings_dir) {
            Some(now_free) => free = now_free,
            None => return Ok(done),
        }
        if free >= policy.min_free {
            return Ok(done);
        }
    }
    done.short = Some(free);
    Ok(done)
}

/// Removes the file and its row; false if the file could not be removed (logged, and
/// the row kept so the next pass tries again).
fn remove(store: &Store, path: &Path, stored: &str) -> Result<bool, crate::store::StoreError> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        // Removed by hand, or never written: the row goes all the same.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => {
            log::warn!("retention: cannot remove {}: {e}", path.display());
            return Ok(false);
        }
    }
    store.forget_recording(stored)?;
    log::debug!("retention: removed {}", path.display());
    Ok(true)
}

/// Removes the day, month and year directories a removal left empty.
fn remove_empty_parents(file: &Path, root: &Path) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d == root || !d.starts_with(root) || std::fs::remove_dir(d).is_err() {
            return;
        }
        dir = d.parent();
    }
}

fn interval() -> Duration {
    #[cfg(debug_assertions)]
    if let Some(secs) = std::env::var("CALLBOX_TEST_RETENTION_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
    {
        return Duration::from_secs_f64(secs);
    }
    INTERVAL
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{CallDirection, CallId, CallRecord, HangupBy, StoreOp};

    fn call(store: &mut Store, id: i64, recording: &Path, at: DateTime<Utc>) {
        let record = CallRecord {
            id: CallId(id),
            direction: CallDirection::Inbound,
            from_number: "13800138000".into(),
            to_number: "4008001234".into(),
            service_number: None,
            device: None,
            trunk: None,
            sip_call_id: format!("c{id}@x"),
            started_at: at,
            answered_at: Some(at),
            ended_at: Some(at),
            hangup_by: Some(HangupBy::Caller),
            end_cause: Some("caller hung up".into()),
            sip_code: Some(200),
            recording: Some(recording.to_owned()),
            agent: None,
            group: None,
            wait_secs: None,
            hold_secs: 0,
            survey_score: None,
        };
        store.apply(&StoreOp::Call(Box::new(record))).unwrap();
        std::fs::create_dir_all(recording.parent().unwrap()).unwrap();
        std::fs::write(recording, vec![0u8; 1000]).unwrap();
    }

    /// Three finished recordings (created now: the row's time is the write's).
    fn three(dir: &Path) -> (Store, Vec<PathBuf>) {
        let mut store = Store::open(&dir.join("callbox.db")).unwrap();
        let files: Vec<PathBuf> = (1..=3)
            .map(|i| dir.join(format!("recordings/2025/01/0{i}/x-{i}.wav")))
            .collect();
        for (i, f) in files.iter().enumerate() {
            call(&mut store, i as i64 + 1, f, Utc::now());
        }
        (store, files)
    }

    fn policy(dir: &Path, keep_days: u32, min_free: u64) -> Policy {
        Policy {
            keep_days,
            min_free,
            recordings_dir: dir.join("recordings"),
        }
    }

    #[test]
    fn expired_recordings_go_and_call_rows_keep_their_path() {
        let dir = tempfile::tempdir().unwrap();
        let (store, files) = three(dir.path());
        let roomy = |_: &Path| Ok(u64::MAX);
        let p = policy(dir.path(), 30, 0);
        let soon = pass(&store, &p, Utc::now(), &roomy).unwrap();
        assert_eq!(soon, Pass::default(), "nothing is 30 days old yet");
        let later = Utc::now() + chrono::Duration::days(31);
        let done = pass(&store, &p, later, &roomy).unwrap();
        assert_eq!(done.expired, 3);
        assert!(files.iter().all(|f| !f.exists()));
        assert!(
            !dir.path().join("recordings/2025").exists(),
            "empty days go too"
        );
        assert!(dir.path().join("recordings").exists());
        let row = store.call(CallId(1)).unwrap().unwrap();
        assert!(row.recording.is_some(), "the call row keeps its path");
        assert!(store.finished_recordings(None).unwrap().is_empty());
    }

    #[test]
    fn the_floor_removes_the_oldest_first_and_says_when_nothing_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let (store, files) = three(dir.path());
        // A disk of 4000 bytes holding the three 1000-byte files: 4000 - used free.
        let used = |files: &[PathBuf]| files.iter().filter(|f| f.exists()).count() as u64 * 1000;
        let disk = |_: &Path| Ok(4000u64.saturating_sub(used(&files)));
        let done = pass(&store, &policy(dir.path(), 0, 1400), Utc::now(), &disk).unwrap();
        assert_eq!(done.for_space, 1);
        assert_eq!(done.short, None);
        assert!(!files[0].exists() && files[1].exists() && files[2].exists());

        let done = pass(&store, &policy(dir.path(), 0, 5000), Utc::now(), &disk).unwrap();
        assert_eq!(done.for_space, 2);
        assert_eq!(done.short, Some(4000));

        let status = Status::new();
        report(&done, &policy(dir.path(), 0, 5000), &status);
        assert!(status.recording_paused());
        assert_eq!(status.alarms()[0].name, ALARM);
        report(&Pass::default(), &policy(dir.path(), 0, 5000), &status);
        assert!(!status.recording_paused());
        assert!(status.alarms().is_empty());
    }

    #[test]
    fn a_recording_still_being_written_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("callbox.db")).unwrap();
        let file = dir.path().join("recordings/live.wav");
        call(&mut store, 1, &file, Utc::now());
        let mut open = store.call(CallId(1)).unwrap().unwrap();
        open.ended_at = None;
        store.apply(&StoreOp::Call(Box::new(open))).unwrap();
        let full = |_: &Path| Ok(0);
        let done = pass(&store, &policy(dir.path(), 0, 1), Utc::now(), &full).unwrap();
        assert_eq!(done.for_space, 0);
        assert_eq!(done.short, Some(0));
        assert!(file.exists());
    }
}
