//! A plain logger for the `log` facade: one line per record on stderr, with the time,
//! level and room. Under systemd, stderr goes to the journal.

use std::io::Write;

use log::{LevelFilter, Log, Metadata, Record};

struct StderrLogger {
    level: LevelFilter,
}

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let room = record.target().trim_start_matches("callbox::");
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
        // A failed write to stderr has nowhere better to be reported.
        let _ = writeln!(
            std::io::stderr().lock(),
            "{now} {:<5} {room}: {}",
            record.level(),
            record.args()
        );
    }

    fn flush(&self) {}
}

/// Install the logger once; later calls only change the level.
pub fn init(level: LevelFilter) {
    let installed = log::set_boxed_logger(Box::new(StderrLogger {
        level: LevelFilter::Trace,
    }));
    if installed.is_err() {
        log::debug!("logger already installed");
    }
    log::set_max_level(level);
}
