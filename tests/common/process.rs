//! Child processes of a test: spawn with output to files, kill by pid on drop.
//!
//! Owns each peer process it starts (sipp, baresip, the daemon): stdin is null,
//! stdout/stderr go to `<dir>/<name>.stdout|.stderr` so a failing assertion can
//! quote them. Must never leave a process behind: `Drop` sends SIGKILL to the
//! pid it spawned (std's `Child::kill`) and reaps it; it never kills by name.
//! The tricky part is readiness of UDP-only peers, which cannot be probed with a
//! connect: `wait_udp_bound` asks the kernel whether the port is taken, and
//! `wait_log_line` waits for a peer's own "ready" line.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::HarnessError;
use super::wait::wait_until;

pub struct ChildGuard {
    name: String,
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
    status: Option<ExitStatus>,
}

impl ChildGuard {
    /// Spawns `cmd` with stdin null and stdout/stderr to files named after `name` in `dir`.
    pub fn spawn(mut cmd: Command, name: &str, dir: &Path) -> Result<ChildGuard, HarnessError> {
        let stdout = dir.join(format!("{name}.stdout"));
        let stderr = dir.join(format!("{name}.stderr"));
        let out = File::create(&stdout).map_err(|e| HarnessError::io("create stdout file", e))?;
        let err = File::create(&stderr).map_err(|e| HarnessError::io("create stderr file", e))?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        let child = cmd
            .spawn()
            .map_err(|e| HarnessError::io(&format!("spawn {name} ({cmd:?})"), e))?;
        Ok(ChildGuard {
            name: name.to_string(),
            child,
            stdout,
            stderr,
            status: None,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stdout_path(&self) -> &Path {
        &self.stdout
    }

    pub fn stderr_path(&self) -> &Path {
        &self.stderr
    }

    /// The exit status if the child has exited (reaps it), without blocking.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    pub fn is_running(&mut self) -> bool {
        self.try_status().is_none()
    }

    /// Waits for the child to exit on its own until `deadline`; `None` if it is
    /// still running then (it is left running: drop or `kill` it).
    pub fn wait_exit(&mut self, deadline: Instant) -> Option<ExitStatus> {
        wait_until(deadline, || self.try_status().is_some());
        self.status
    }

    /// SIGKILL by pid, then reap. Idempotent.
    pub fn kill(&mut self) {
        if self.try_status().is_none() {
            // An error here means the child already exited between the two calls.
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
    }

    /// The last `lines` lines of stdout and stderr, for assertion messages.
    pub fn output_tail(&self, lines: usize) -> String {
        format!(
            "[{} pid {} stdout {}]\n{}\n[{} stderr {}]\n{}",
            self.name,
            self.child.id(),
            self.stdout.display(),
            file_tail(&self.stdout, lines),
            self.name,
            self.stderr.display(),
            file_tail(&self.stderr, lines)
        )
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The last `lines` lines of a text file (lossy UTF-8); empty if unreadable.
pub fn file_tail(path: &Path, lines: usize) -> String {
    let Ok(bytes) = std::fs::read(path) else {
        return String::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// True once something accepts TCP connections on `addr`, before `deadline`.
/// Each probe connection is closed at once; peers that serve a single control
/// connection (baresip's ctrl_tcp) simply see it replaced by the next one.
pub fn wait_tcp_listening(addr: SocketAddr, deadline: Instant) -> bool {
    wait_until(deadline, || {
        TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok()
    })
}

/// True once some process holds UDP `addr` (our own bind on it fails), before
/// `deadline`. Says the peer bound its socket, not that it reads from it yet;
/// SIP over UDP retransmits, which covers the gap.
pub fn wait_udp_bound(addr: SocketAddr, deadline: Instant) -> bool {
    wait_until(deadline, || UdpSocket::bind(addr).is_err())
}

/// True once a line containing `needle` appears in the text file at `path`.
pub fn wait_log_line(path: &Path, needle: &str, deadline: Instant) -> bool {
    wait_until(deadline, || {
        let Ok(f) = File::open(path) else {
            return false;
        };
        BufReader::new(f)
            .lines()
            .map_while(Result::ok)
            .any(|l| l.contains(needle))
    })
}
