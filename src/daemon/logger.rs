//! The logger for the `log` facade. Under systemd, when stderr is the journal's
//! stream, each record goes to the journal as a structured entry (`journal.rs`:
//! `PRIORITY`, `MESSAGE`, `CALLBOX_ROOM`, `CALL_ID`, `AGENT_ID`), so
//! `journalctl -u callbox CALL_ID=12` finds one call's lines; otherwise one line per
//! record on stderr, with the time, level and room.
//!
//! The level is `log::set_max_level`, changed at run time by the API
//! (`POST /api/v1/log-level`); the logger itself lets every level through.

use std::io::Write;

use log::{LevelFilter, Log, Metadata, Record};

use super::journal::{self, Entry, Journal};

struct Logger {
    /// `Some` when stderr is the journal and its socket could be opened.
    journal: Option<Journal>,
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let target = record.target().trim_start_matches("callbox::");
        if let Some(journal) = &self.journal {
            let message = record.args().to_string();
            let entry = Entry {
                level: record.level(),
                room: target.split("::").next().unwrap_or(target),
                target,
                message: &message,
                file: record.file(),
                line: record.line(),
            };
            if journal.send(&entry.encode()).is_ok() {
                return;
            }
            // A full or missing journal socket: the line still reaches the journal
            // through stderr, without its fields.
        }
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
        // A failed write to stderr has nowhere better to be reported.
        let _ = writeln!(
            std::io::stderr().lock(),
            "{now} {:<5} {target}: {}",
            record.level(),
            record.args()
        );
    }

    fn flush(&self) {}
}

/// Install the logger once; later calls only change the level.
pub fn init(level: LevelFilter) {
    let journal = if journal::stderr_is_journal() {
        Journal::connect().ok()
    } else {
        None
    };
    let to_journal = journal.is_some();
    let installed = log::set_boxed_logger(Box::new(Logger { journal }));
    log::set_max_level(level);
    match installed {
        Ok(()) if to_journal => log::debug!("logging to the journal"),
        Ok(()) => {}
        Err(_) => log::debug!("logger already installed"),
    }
}
