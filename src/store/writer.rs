//! The writer thread: applies the switchboard's writes in order, many per commit.
//!
//! It owns its own connection. Whatever is queued when it wakes goes into one
//! transaction (up to `MAX_BATCH` rows), so under load the cost of a commit is shared
//! by many rows, and when idle each write commits at once.
//!
//! It never drops a write on purpose. The queue is bounded and `send` blocks when it
//! is full: if the disk falls `QUEUE_BOUND` rows behind (minutes of a busy office's
//! calls), slowing the switchboard is better than losing call history silently, and
//! an unbounded queue would only turn a stalled disk into a memory leak. A batch that
//! fails is retried row by row, so one bad row (logged with its call, its agent for a
//! status row, or its agent and device for a hot-desking binding) does not take the
//! rest of the batch down with it. Agent status rows and bindings ride the same queue
//! as call rows, so their order against each other is kept.

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::write::{apply_op, apply_recording, op_subject};
use super::{Store, StoreError};
use crate::core::StoreOp;

/// How many writes may wait for the disk before `send` blocks.
const QUEUE_BOUND: usize = 4096;
/// The most rows in one transaction, so a long backlog still commits in steps.
const MAX_BATCH: usize = 512;
/// The longest an idle writer waits before its heartbeat ticks again.
const HEARTBEAT_WAKE: std::time::Duration = std::time::Duration::from_millis(250);

enum Msg {
    Op(StoreOp),
    Recording {
        path: PathBuf,
        seconds: f64,
    },
    /// Answered once everything queued before it is committed.
    Flush(Sender<()>),
}

/// The handle to the writer thread. Dropping it (or `shutdown`) commits what is queued
/// and joins the thread.
pub struct StoreWriter {
    tx: Option<Sender<Msg>>,
    thread: Option<JoinHandle<()>>,
}

/// Opens (and migrates) the database at `path` on a new thread that applies writes.
/// Fails if the database cannot be opened; after that, failures are logged per row.
pub fn spawn_writer(path: &Path) -> Result<StoreWriter, StoreError> {
    let store = Store::open(path)?;
    let (tx, rx) = crossbeam_channel::bounded(QUEUE_BOUND);
    let thread = std::thread::Builder::new()
        .name("store-writer".into())
        .spawn(move || run(store, rx))
        .map_err(StoreError::Spawn)?;
    Ok(StoreWriter {
        tx: Some(tx),
        thread: Some(thread),
    })
}

impl StoreWriter {
    /// Queues a write; blocks while the queue is full.
    pub fn send(&self, op: StoreOp) {
        let subject = op_subject(&op);
        if self.queue(Msg::Op(op)).is_err() {
            log::error!("store: writer is gone, write for {subject} lost");
        }
    }

    /// Queues the completion of a recording (see [`Store::record_recording`]).
    pub fn send_recording(&self, path: PathBuf, seconds: f64) {
        let shown = path.display().to_string();
        if self.queue(Msg::Recording { path, seconds }).is_err() {
            log::error!("store: writer is gone, recording {shown} not recorded");
        }
    }

    /// Blocks until everything sent so far is committed (or has failed and been
    /// logged). Returns at once if the writer thread is gone.
    pub fn flush(&self) {
        let (done_tx, done_rx) = crossbeam_channel::bounded(1);
        if self.queue(Msg::Flush(done_tx)).is_ok() {
            // An Err here means the thread died before answering: nothing to wait for.
            let _ = done_rx.recv();
        }
    }

    /// Commits what is queued and stops the thread.
    pub fn shutdown(self) {
        drop(self);
    }

    fn queue(&self, msg: Msg) -> Result<(), StoreError> {
        let tx = self.tx.as_ref().ok_or(StoreError::WriterGone)?;
        tx.send(msg).map_err(|_| StoreError::WriterGone)
    }
}

impl std::fmt::Debug for StoreWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let queued = self.tx.as_ref().map_or(0, Sender::len);
        f.debug_struct("StoreWriter")
            .field("queued", &queued)
            .finish_non_exhaustive()
    }
}

impl Drop for StoreWriter {
    fn drop(&mut self) {
        // Closing the channel is the stop signal: the thread drains what is left first.
        self.tx.take();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            log::error!("store: writer thread panicked");
        }
    }
}

fn run(mut store: Store, rx: Receiver<Msg>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        crate::heartbeat::tick(crate::heartbeat::Loop::Store);
        // Disconnected only when every sender is gone and the queue is empty; the
        // timeout wakes an idle writer so its heartbeat still moves.
        let first = match rx.recv_timeout(HEARTBEAT_WAKE) {
            Ok(msg) => msg,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(msg) => batch.push(msg),
                Err(_) => break,
            }
        }
        commit(&mut store, &mut batch);
    }
    log::debug!("store: writer stopped");
}

/// Writes `batch` in one transaction, falling back to one transaction per row when
/// that fails, then answers the flushes in it.
fn commit(store: &mut Store, batch: &mut Vec<Msg>) {
    if let Err(e) = write_all(store, batch) {
        log::warn!(
            "store: batch of {} writes failed ({e}), retrying one by one",
            batch.len()
        );
        for msg in batch.iter() {
            if let Err(e) = write_all(store, std::slice::from_ref(msg)) {
                match msg {
                    Msg::Op(op) => log::error!("store: write for {} failed: {e}", op_subject(op)),
                    Msg::Recording { path, .. } => {
                        log::error!("store: recording {} not recorded: {e}", path.display())
                    }
                    Msg::Flush(_) => {}
                }
            }
        }
    }
    for msg in batch.drain(..) {
        if let Msg::Flush(done) = msg {
            // The flusher may have given up waiting; nothing to do then.
            let _ = done.send(());
        }
    }
}

fn write_all(store: &mut Store, msgs: &[Msg]) -> Result<(), StoreError> {
    let tx = store.conn.transaction()?;
    for msg in msgs {
        match msg {
            Msg::Op(op) => apply_op(&tx, &store.data_dir, op)?,
            Msg::Recording { path, seconds } => {
                apply_recording(&tx, &store.data_dir, path, *seconds)?
            }
            Msg::Flush(_) => {}
        }
    }
    tx.commit()?;
    Ok(())
}
