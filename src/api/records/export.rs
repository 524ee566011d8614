//! The export thread (S18): runs queued export tasks one at a time, off the API's
//! workers, streaming rows from SQLite into the file as it reads them.
//!
//! A task is claimed (queued → running), its rows are read with
//! [`Store::each_call`] on the thread's read connection and written by [`Sheet`]
//! into `exports/<id>.<format>.part` under the data directory, renamed to
//! `<id>.<format>` when complete, and the task marked done with its row count and
//! size. Progress is written every few thousand rows on a second connection; a task
//! deleted meanwhile is abandoned there and its file removed.
//!
//! Old exports go after [`KEEP`] (a day): at start and every [`CLEAN_EVERY`] the
//! thread deletes older tasks with their files, and files no task names. A daemon
//! stopped mid-export leaves the task running; the next start queues it again.
//!
//! The API's workers only queue a task and wake this thread; it also looks for
//! queued tasks on its own every [`WAKE`], so a wake-up lost changes nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::Utc;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::store::{ExportTask, Store, StoreError};

use super::query::{self, Lang, Use};
use super::rows::cells;
use super::sheet::Sheet;
use super::words;

/// How long an export's file is kept.
pub const KEEP: Duration = Duration::from_secs(24 * 3600);
/// How often old exports are looked for.
pub const CLEAN_EVERY: Duration = Duration::from_secs(600);
/// The longest the thread sleeps before it looks at the queue (and the stop) again.
const WAKE: Duration = Duration::from_millis(250);
/// Rows between progress writes (and looks at the stop flag).
const PROGRESS_EVERY: u64 = 2000;

/// The directory exports are written to, under the data directory.
pub fn exports_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("exports")
}

/// Starts the thread on the database at `db`; the sender wakes it when a task is
/// queued. It ends within [`WAKE`] once `stopping` is set (mid-export: within
/// [`PROGRESS_EVERY`] rows).
pub fn spawn(
    db: PathBuf,
    stopping: Arc<AtomicBool>,
) -> std::io::Result<(Sender<()>, JoinHandle<()>)> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    // Its own sender, so the channel never disconnects while it runs.
    let keep = tx.clone();
    let thread = std::thread::Builder::new()
        .name("exports".into())
        .spawn(move || {
            run(&db, &rx, &stopping);
            drop(keep);
        })?;
    Ok((tx, thread))
}

/// Opens a connection, retrying (a locked or missing file at start) until stopped.
fn open(db: &Path, stopping: &AtomicBool) -> Option<Store> {
    let mut logged = false;
    while !stopping.load(Ordering::SeqCst) {
        match Store::open(db) {
            Ok(store) => return Some(store),
            Err(e) if !logged => {
                log::error!("exports: cannot open the database: {e}");
                logged = true;
            }
            Err(_) => {}
        }
        std::thread::sleep(WAKE);
    }
    None
}

fn run(db: &Path, wake: &Receiver<()>, stopping: &AtomicBool) {
    let (Some(reader), Some(mut writer)) = (open(db, stopping), open(db, stopping)) else {
        return;
    };
    let data_dir = db.parent().map(Path::to_path_buf).unwrap_or_default();
    let dir = exports_dir(&data_dir);
    match writer.requeue_exports() {
        Ok(0) => {}
        Ok(n) => log::info!("exports: {n} export(s) cut short by the last stop queued again"),
        Err(e) => log::error!("exports: cannot queue unfinished exports again: {e}"),
    }
    remove_partial_files(&dir);
    clean(&mut writer, &dir);
    let mut cleaned = Instant::now();
    while !stopping.load(Ordering::SeqCst) {
        if cleaned.elapsed() >= CLEAN_EVERY {
            clean(&mut writer, &dir);
            cleaned = Instant::now();
        }
        loop {
            if stopping.load(Ordering::SeqCst) {
                return;
            }
            match writer.claim_export(Utc::now()) {
                Ok(Some(task)) => run_task(&reader, &mut writer, &dir, &task, stopping),
                Ok(None) => break,
                Err(e) => {
                    log::error!("exports: cannot read the queue: {e}");
                    break;
                }
            }
        }
        match wake.recv_timeout(WAKE) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(WAKE),
        }
    }
}

/// How a task's run ended.
enum Outcome {
    Done {
        rows: u64,
        bytes: u64,
    },
    /// The daemon is stopping: the task stays running, to be queued again.
    Stopped,
    /// The task was deleted meanwhile.
    Removed,
}

fn run_task(reader: &Store, writer: &mut Store, dir: &Path, task: &ExportTask, stop: &AtomicBool) {
    let started = Instant::now();
    let part = dir.join(format!("{}.{}.part", task.id, task.format));
    let done = dir.join(format!("{}.{}", task.id, task.format));
    let outcome = write_task(reader, writer, dir, &part, task, stop).and_then(|o| match o {
        Outcome::Done { .. } => std::fs::rename(&part, &done)
            .map(|()| o)
            .map_err(|e| format!("cannot move the file into place: {e}")),
        other => Ok(other),
    });
    let id = task.id;
    match outcome {
        Ok(Outcome::Done { rows, bytes }) => {
            match writer.finish_export(id, rows, bytes, &done, Utc::now()) {
                Ok(true) => log::info!(
                    "exports: export {id} done: {rows} rows, {bytes} bytes ({} ms)",
                    started.elapsed().as_millis()
                ),
                Ok(false) => remove(&done),
                Err(e) => log::error!("exports: export {id} done but not recorded: {e}"),
            }
        }
        Ok(Outcome::Stopped) => remove(&part),
        Ok(Outcome::Removed) => {
            log::info!("exports: export {id} was deleted while it ran");
            remove(&part);
        }
        Err(why) => {
            log::warn!("exports: export {id} failed: {why}");
            remove(&part);
            if let Err(e) = writer.fail_export(id, &why, Utc::now()) {
                log::error!("exports: cannot record that export {id} failed: {e}");
            }
        }
    }
}

fn write_task(
    reader: &Store,
    writer: &mut Store,
    dir: &Path,
    part: &Path,
    task: &ExportTask,
    stop: &AtomicBool,
) -> Result<Outcome, String> {
    let lang = Lang::parse(&task.language).unwrap_or(Lang::ZhCn);
    let filters: serde_json::Value = serde_json::from_str(&task.filters)
        .map_err(|e| format!("the stored query is not JSON: {e}"))?;
    let pairs = filters
        .as_object()
        .map(|o| query::pairs_of_json(o, &[]))
        .transpose()
        .map_err(|a| format!("the stored query is refused: {}", a.body))?
        .unwrap_or_default();
    let group_id = |name: &str| {
        reader
            .group_id_by_name(name)
            .map_err(|e| super::super::routes::error_owned(500, &e.to_string(), None))
    };
    let q = query::parse(&pairs, Use::Export, &group_id)
        .map_err(|a| format!("the stored query is refused: {}", a.body))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let title = match lang {
        Lang::ZhCn => "通话记录",
        Lang::En => "Calls",
    };
    let mut sheet = Sheet::create(&task.format, part, dir, title)?;
    sheet.header(words::header(lang))?;
    let mut failed: Option<String> = None;
    let mut outcome: Option<Outcome> = None;
    let mut rows = 0u64;
    let read = reader.each_call(&q.filter, |row| {
        if let Err(e) = sheet.row(&cells(&row, lang)) {
            failed = Some(e);
            return false;
        }
        rows += 1;
        if rows.is_multiple_of(PROGRESS_EVERY) {
            if stop.load(Ordering::SeqCst) {
                outcome = Some(Outcome::Stopped);
                return false;
            }
            match writer.export_progress(task.id, rows) {
                Ok(true) => {}
                Ok(false) => {
                    outcome = Some(Outcome::Removed);
                    return false;
                }
                Err(e) => log::warn!("exports: progress of export {}: {e}", task.id),
            }
        }
        true
    });
    if let Err(e) = read {
        return Err(read_error(&e));
    }
    if let Some(why) = failed {
        return Err(why);
    }
    if let Some(o) = outcome {
        return Ok(o);
    }
    let bytes = sheet.finish(part)?;
    Ok(Outcome::Done { rows, bytes })
}

fn read_error(e: &StoreError) -> String {
    format!("the calls could not be read: {e}")
}

fn remove(path: &Path) {
    if let Err(e) = std::fs::remove_file(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        log::warn!("exports: cannot remove {}: {e}", path.display());
    }
}

/// Files a stopped run left half-written (nothing is running at start).
fn remove_partial_files(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // rust_xlsxwriter's temporary files are unnamed (unlinked at once).
        if name.ends_with(".part") {
            remove(&path);
        }
    }
}

/// Deletes tasks older than [`KEEP`] with their files, and files no task names.
fn clean(writer: &mut Store, dir: &Path) {
    let before = Utc::now() - chrono::Duration::from_std(KEEP).unwrap_or_default();
    match writer.exports_before(before) {
        Ok(old) => {
            for task in old {
                if let Err(e) = writer.delete_export(task.id) {
                    log::warn!("exports: cannot delete old export {}: {e}", task.id);
                    continue;
                }
                if let Some(file) = &task.file {
                    remove(file);
                }
                log::info!("exports: removed export {} (older than a day)", task.id);
            }
        }
        Err(e) => log::warn!("exports: cannot look for old exports: {e}"),
    }
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Some(id) = name.split('.').next().and_then(|s| s.parse::<i64>().ok()) else {
            continue;
        };
        if matches!(writer.export_task(id), Ok(None)) {
            remove(&path);
        }
    }
}
