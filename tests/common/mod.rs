//! The real-peer test harness: sipp, baresip, tones, ports, processes, waiting.
//!
//! Integration tests include it with `mod common;` and drive real peers on
//! 127.0.0.1 against the daemon. It owns every process it starts (a guard per
//! child, killed by pid on drop) and every port it hands out (picked free at run
//! time, never twice in one test binary). It must never sleep to synchronise:
//! every wait is a poll with a deadline, on a file, a socket or an event.
//! The tricky part is that not every test binary uses every helper (or
//! re-export), hence the `dead_code`/`unused_imports` allowance below; the
//! self-test (`tests/harness_selftest.rs`) exercises each of them against the
//! peers themselves.
#![allow(dead_code, unused_imports)]

pub mod audio;
pub mod baresip;
pub mod baresip_config;
pub mod baresip_ctrl;
pub mod browser;
pub mod callbox;
pub mod center;
pub mod error;
pub mod http;
pub mod live;
pub mod office;
pub mod ports;
pub mod process;
pub mod session;
pub mod sipp;
pub mod wait;

pub use error::HarnessError;

use std::path::PathBuf;

/// A fresh temp dir for one test: config dirs, recordings, logs. Kept on disk
/// when `CALLBOX_KEEP_TEST_DIRS` is set, so a failure can be read afterwards.
pub struct TestDir {
    dir: tempfile::TempDir,
}

impl TestDir {
    pub fn new(test_name: &str) -> Result<TestDir, HarnessError> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("callbox-{test_name}-"))
            .tempdir()
            .map_err(|e| HarnessError::io("create the test temp dir", e))?;
        Ok(TestDir { dir })
    }

    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// A sub-directory, created if missing.
    pub fn sub(&self, name: &str) -> Result<PathBuf, HarnessError> {
        let p = self.dir.path().join(name);
        std::fs::create_dir_all(&p).map_err(|e| HarnessError::io("create a test sub-dir", e))?;
        Ok(p)
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::env::var_os("CALLBOX_KEEP_TEST_DIRS").is_some() {
            self.dir.disable_cleanup(true);
            eprintln!("test dir kept: {}", self.dir.path().display());
        }
    }
}

/// Path of a file in `tests/sipp/`.
pub fn sipp_scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("sipp")
        .join(name)
}
