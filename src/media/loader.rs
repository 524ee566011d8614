//! The prompt loader thread: decodes files the media thread asked for and wakes it
//! with the result.
//!
//! It exists so that decoding a long MP3 (hundreds of milliseconds in a debug build)
//! never stalls the relay. It owns no cache: the media thread keeps the decoded
//! prompts and asks for each path at most once at a time. It must never touch a
//! socket or a leg.

use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::SystemTime;

use crossbeam_channel::{Receiver, Sender};
use mio::Waker;

use super::prompt::{self, Prompt};

/// A finished decode.
pub struct Loaded {
    pub path: PathBuf,
    /// The file's modification time before decoding, for the cache.
    pub modified: Option<SystemTime>,
    pub result: Result<Arc<Prompt>, String>,
}

/// Dropping it lets the thread finish its current file and joins it.
pub struct Loader {
    tx: Option<Sender<PathBuf>>,
    pub done: Receiver<Loaded>,
    thread: Option<JoinHandle<()>>,
}

impl Loader {
    pub fn spawn(waker: Arc<Waker>) -> std::io::Result<Loader> {
        let (tx, rx) = crossbeam_channel::unbounded::<PathBuf>();
        let (done_tx, done) = crossbeam_channel::unbounded();
        let thread = std::thread::Builder::new()
            .name("media-prompts".into())
            .spawn(move || {
                for path in rx.iter() {
                    let modified = prompt::modified_time(&path);
                    let result = prompt::load(&path).map(Arc::new);
                    if done_tx
                        .send(Loaded {
                            path,
                            modified,
                            result,
                        })
                        .is_err()
                    {
                        return;
                    }
                    if let Err(e) = waker.wake() {
                        log::error!("cannot wake the media thread: {e}");
                    }
                }
            })?;
        Ok(Loader {
            tx: Some(tx),
            done,
            thread: Some(thread),
        })
    }

    pub fn request(&self, path: PathBuf) {
        if let Some(tx) = &self.tx
            && tx.send(path).is_err()
        {
            log::error!("prompt loader thread is gone");
        }
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            log::error!("prompt loader thread panicked");
        }
    }
}
