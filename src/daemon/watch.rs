//! The directory watcher: notices admin changes in the database (from the command
//! line, the API, or the sqlite3 shell) and hands the new directory to the
//! switchboard's loop, which passes it on to the SIP room.
//!
//! It polls one small row (`directory_version`, kept by triggers) once a second on
//! its own connection, so a change takes effect within about a second and nothing
//! else waits on it.

use std::path::Path;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, select, tick};

use crate::core::Directory;
use crate::store::Store;

use super::DaemonError;

const POLL: Duration = Duration::from_secs(1);

/// Start watching the database at `db`; stops when `stop` fires or closes, or when
/// nobody takes the directories any more.
pub fn spawn(
    db: &Path,
    outbound_prefix: String,
    reloads: Sender<Directory>,
    stop: Receiver<()>,
) -> Result<JoinHandle<()>, DaemonError> {
    let store = Store::open(db)?;
    let mut seen = store.directory_version()?;
    std::thread::Builder::new()
        .name("watch".into())
        .spawn(move || {
            let ticks = tick(POLL);
            loop {
                select! {
                    recv(stop) -> _ => return,
                    recv(ticks) -> _ => {}
                }
                let version = match store.directory_version() {
                    Ok(v) => v,
                    Err(e) => {
                        log::warn!("watch: cannot read the directory version: {e}");
                        continue;
                    }
                };
                if version == seen {
                    continue;
                }
                match store.load_directory(&outbound_prefix) {
                    Ok(directory) => {
                        seen = version;
                        log::info!(
                            "the configuration changed: reloading devices, trunks and agents"
                        );
                        if reloads.send(directory).is_err() {
                            return;
                        }
                    }
                    Err(e) => log::warn!("watch: cannot reload the directory: {e}"),
                }
            }
        })
        .map_err(|e| DaemonError::Thread("watch", e))
}
