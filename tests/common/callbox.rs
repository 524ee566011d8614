//! The daemon under test: the real `callbox` binary on a temp data dir and free
//! loopback ports, provisioned through the library on the same SQLite file.
//!
//! A test prepares the store (devices, trunks, service numbers), starts the daemon,
//! drives peers at `sip`, then reads the rows back the way an admin would. The
//! daemon is stopped by pid when the `Callbox` drops; `stop()` sends SIGTERM first
//! so shutdown paths run too.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use callbox::core::{CallEventRecord, CallId, CallRecord};
use callbox::store::Store;

use super::HarnessError;
use super::ports::{free_port, free_tcp_port, free_udp_block};
use super::process::ChildGuard;
use super::wait::{wait_for, wait_sip_up};

/// Settings a test may change before start.
pub struct Prepared {
    pub data_dir: PathBuf,
    pub store: Store,
    pub rtp_timeout_secs: u64,
    pub record: bool,
    work: PathBuf,
}

pub struct Callbox {
    pub data_dir: PathBuf,
    pub sip: SocketAddr,
    pub http: SocketAddr,
    child: ChildGuard,
}

impl Prepared {
    /// A fresh data dir under `work` with the schema applied, ready to provision.
    pub fn new(work: &Path) -> Result<Prepared, HarnessError> {
        let data_dir = work.join("var");
        let store = Store::open(&data_dir.join("callbox.db")).map_err(|e| HarnessError::Peer {
            peer: "store".into(),
            detail: e.to_string(),
        })?;
        Ok(Prepared {
            data_dir,
            store,
            rtp_timeout_secs: 60,
            record: true,
            work: work.to_path_buf(),
        })
    }

    /// Write the config and start `callbox serve`; returns once SIP answers OPTIONS.
    pub fn start(self) -> Result<Callbox, HarnessError> {
        let Prepared {
            data_dir,
            store,
            rtp_timeout_secs,
            record,
            work,
        } = self;
        drop(store);
        let sip_port = free_tcp_port();
        let http_port = free_port();
        let rtp_min = free_udp_block(64);
        let config = format!(
            "data_dir = {data_dir:?}\nlog_level = \"info\"\n\
             [sip]\nlisten = \"127.0.0.1:{sip_port}\"\nuser_agent = \"callbox-test\"\n\
             [rtp]\nbind = \"127.0.0.1\"\nadvertise = \"127.0.0.1\"\nport_min = {rtp_min}\nport_max = {}\ntimeout = {rtp_timeout_secs}\n\
             [http]\nlisten = \"127.0.0.1:{http_port}\"\n\
             [recording]\nenabled = {record}\n",
            rtp_min + 63,
        );
        let config_path = work.join("callbox.toml");
        std::fs::write(&config_path, config)
            .map_err(|e| HarnessError::io("write callbox.toml", e))?;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_callbox"));
        cmd.arg("serve").arg("--config").arg(&config_path);
        let child = ChildGuard::spawn(cmd, "callbox", &work)?;
        let sip = SocketAddr::from(([127, 0, 0, 1], sip_port));
        let http = SocketAddr::from(([127, 0, 0, 1], http_port));
        let mut callbox = Callbox {
            data_dir,
            sip,
            http,
            child,
        };
        if wait_sip_up(sip, Instant::now() + Duration::from_secs(20)).is_none() {
            return Err(HarnessError::Timeout {
                what: "callbox to answer OPTIONS".into(),
                context: callbox.log_tail(),
            });
        }
        if !callbox.child.is_running() {
            return Err(HarnessError::Peer {
                peer: "callbox".into(),
                detail: callbox.log_tail(),
            });
        }
        Ok(callbox)
    }
}

impl Callbox {
    /// A reader on the daemon's database, as the web panel would open one.
    pub fn store(&self) -> Store {
        Store::open(&self.data_dir.join("callbox.db")).expect("the daemon's database opens")
    }

    /// The call row once it is closed (the daemon writes asynchronously).
    pub fn ended_call(&self, id: i64, within: Duration) -> CallRecord {
        let store = self.store();
        wait_for(Instant::now() + within, || {
            store
                .call(CallId(id))
                .ok()
                .flatten()
                .filter(|c| c.ended_at.is_some())
        })
        .unwrap_or_else(|| {
            panic!(
                "call {id} was not closed within {within:?}; row: {:?}\n{}",
                store.call(CallId(id)),
                self.log_tail()
            )
        })
    }

    pub fn trail(&self, id: i64) -> Vec<CallEventRecord> {
        self.store()
            .call_events(CallId(id))
            .expect("the trail reads")
    }

    pub fn trail_kinds(&self, id: i64) -> Vec<String> {
        self.trail(id)
            .iter()
            .map(|e| e.kind.as_str().to_string())
            .collect()
    }

    /// The last lines of the daemon's log, for assertion messages.
    pub fn log_tail(&self) -> String {
        self.child.output_tail(40)
    }

    pub fn is_running(&mut self) -> bool {
        self.child.is_running()
    }

    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(mut self) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.pid().to_string())
            .status();
        self.child
            .wait_exit(Instant::now() + Duration::from_secs(10))
    }
}

/// Runs `callbox ARGS --config CONFIG` (an admin command) to the end; its exit code
/// and what it printed, stdout then stderr.
pub fn cli(config: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_callbox"))
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .expect("callbox runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}
