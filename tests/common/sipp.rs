//! sipp as a test peer: a builder for its command line, a guard for its process,
//! and its verdict (exit code, successful/failed call counts, error log).
//!
//! Owns the sipp processes a test starts and their files in the test dir
//! (`<name>.stat.csv`, `<name>.errors.log`, `<name>.screen.log`, stdout/stderr).
//! Must never run sipp with `-bg` (the guard would lose the pid) or on an address
//! outside 127.0.0.0/8; it always passes `-nostdin`, explicit `-p`, `-mp`, `-cp`
//! so no two sipps fight over sipp's default ports (5060, 6000, 8888).
//! The tricky parts: sipp binds media ports `-mp` and `-mp`+2 (and echoes +2 too),
//! so media ports come as a block of 4; sipp checks status codes at load time,
//! before `-key` substitution, so a varying status line is done by writing a
//! substituted copy of the scenario (`substitute`); sipp's exit code is 0 only
//! when every call succeeded, 1 when some failed, other values for fatal errors.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::HarnessError;
use super::ports;
use super::process::{ChildGuard, file_tail, wait_udp_bound};

enum Scenario {
    File(PathBuf),
    Builtin(String),
}

/// Builder for one sipp run. Defaults: `-i 127.0.0.1 -mi 127.0.0.1`, a free SIP
/// port, a free media block, `-m 1`, a 30 s self-timeout (`-timeout_error`).
pub struct Sipp {
    name: String,
    dir: PathBuf,
    scenario: Scenario,
    substitutions: Vec<(String, String)>,
    remote: Option<SocketAddr>,
    local_ip: String,
    local_port: Option<u16>,
    media_port: Option<u16>,
    calls: u32,
    rate: Option<f64>,
    service: Option<String>,
    auth: Option<(String, String)>,
    keys: Vec<(String, String)>,
    rtp_echo: bool,
    duration_ms: Option<u64>,
    timeout: Duration,
    extra: Vec<String>,
}

impl Sipp {
    /// A scenario file: a bare name is looked up in `tests/sipp/`, a path is used as is.
    /// `name` labels the process and its files in `dir`.
    pub fn scenario(name: &str, scenario: impl AsRef<Path>, dir: &Path) -> Sipp {
        let s = scenario.as_ref();
        let path = if s.components().count() == 1 {
            super::sipp_scenario(&s.to_string_lossy())
        } else {
            s.to_path_buf()
        };
        Sipp::with(name, Scenario::File(path), dir)
    }

    /// One of sipp's embedded scenarios (`-sn uac`, `-sn uas`, ...).
    pub fn builtin(name: &str, builtin: &str, dir: &Path) -> Sipp {
        Sipp::with(name, Scenario::Builtin(builtin.to_string()), dir)
    }

    fn with(name: &str, scenario: Scenario, dir: &Path) -> Sipp {
        Sipp {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            scenario,
            substitutions: Vec::new(),
            remote: None,
            local_ip: "127.0.0.1".to_string(),
            local_port: None,
            media_port: None,
            calls: 1,
            rate: None,
            service: None,
            auth: None,
            keys: Vec::new(),
            rtp_echo: false,
            duration_ms: None,
            timeout: Duration::from_secs(30),
            extra: Vec::new(),
        }
    }

    /// The peer to send to (UAC scenarios).
    pub fn remote(mut self, addr: SocketAddr) -> Self {
        self.remote = Some(addr);
        self
    }

    /// `-i`: must be a loopback address.
    pub fn local_ip(mut self, ip: &str) -> Self {
        self.local_ip = ip.to_string();
        self
    }

    /// `-p`: the SIP port (default: a free one).
    pub fn local_port(mut self, port: u16) -> Self {
        self.local_port = Some(port);
        self
    }

    /// `-mp`: the media port; `port`..`port+3` should be free (default: a free block).
    pub fn media_port(mut self, port: u16) -> Self {
        self.media_port = Some(port);
        self
    }

    /// `-m`: stop after this many calls.
    pub fn calls(mut self, calls: u32) -> Self {
        self.calls = calls;
        self
    }

    /// `-r`: calls per second.
    pub fn rate(mut self, per_second: f64) -> Self {
        self.rate = Some(per_second);
        self
    }

    /// `-s`: the `[service]` (user part of the request URI).
    pub fn service(mut self, service: &str) -> Self {
        self.service = Some(service.to_string());
        self
    }

    /// `-au` / `-ap`: digest credentials for `[authentication]`.
    pub fn auth(mut self, user: &str, password: &str) -> Self {
        self.auth = Some((user.to_string(), password.to_string()));
        self
    }

    /// `-key name value`: `[name]` in message text (not in status codes or attributes).
    pub fn key(mut self, name: &str, value: &str) -> Self {
        self.keys.push((name.to_string(), value.to_string()));
        self
    }

    /// `-rtp_echo`: echo RTP received on the media port back to its sender.
    pub fn rtp_echo(mut self, on: bool) -> Self {
        self.rtp_echo = on;
        self
    }

    /// `-d`: what a bare `<pause/>` waits, in ms (talk time in our scenarios).
    pub fn duration_ms(mut self, ms: u64) -> Self {
        self.duration_ms = Some(ms);
        self
    }

    /// sipp's own `-timeout` (it exits with an error after it); a backstop, tests
    /// should still pass their own deadline to `run`/`finish`.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// Run a copy of the scenario file with every `from` replaced by `to`, e.g.
    /// `("503 Service Unavailable", "480 Temporarily Unavailable")`.
    pub fn substitute(mut self, from: &str, to: &str) -> Self {
        self.substitutions.push((from.to_string(), to.to_string()));
        self
    }

    /// Any other sipp argument.
    pub fn arg(mut self, arg: &str) -> Self {
        self.extra.push(arg.to_string());
        self
    }

    /// Starts sipp and returns once its SIP port is bound (or it already exited).
    pub fn spawn(self) -> Result<SippRun, HarnessError> {
        let port = self.local_port.unwrap_or_else(ports::free_port);
        let media = self.media_port.unwrap_or_else(|| ports::free_udp_block(4));
        let control = ports::free_port();
        let stat = self.dir.join(format!("{}.stat.csv", self.name));
        let errors = self.dir.join(format!("{}.errors.log", self.name));
        let screen = self.dir.join(format!("{}.screen.log", self.name));

        let mut cmd = Command::new("sipp");
        match &self.scenario {
            Scenario::Builtin(b) => {
                cmd.args(["-sn", b]);
            }
            Scenario::File(path) => {
                let path = self.scenario_copy(path)?;
                cmd.arg("-sf").arg(path);
            }
        }
        if let Some(remote) = self.remote {
            cmd.arg(remote.to_string());
        }
        cmd.args(["-i", &self.local_ip, "-mi", &self.local_ip])
            .args(["-p", &port.to_string(), "-mp", &media.to_string()])
            .args(["-cp", &control.to_string()])
            .args(["-m", &self.calls.to_string()])
            .args(["-timeout", &format!("{}s", self.timeout.as_secs().max(1))])
            .arg("-timeout_error")
            .arg("-nostdin")
            .arg("-trace_err")
            .arg("-error_file")
            .arg(&errors)
            .arg("-trace_stat")
            .arg("-stf")
            .arg(&stat)
            .args(["-fd", "1"])
            .arg("-trace_screen")
            .arg("-screen_file")
            .arg(&screen);
        if let Some(r) = self.rate {
            cmd.args(["-r", &r.to_string()]);
        }
        if let Some(s) = &self.service {
            cmd.args(["-s", s]);
        }
        if let Some((u, p)) = &self.auth {
            cmd.args(["-au", u, "-ap", p]);
        }
        for (k, v) in &self.keys {
            cmd.args(["-key", k, v]);
        }
        if self.rtp_echo {
            cmd.arg("-rtp_echo");
        }
        if let Some(d) = self.duration_ms {
            cmd.args(["-d", &d.to_string()]);
        }
        cmd.args(&self.extra).current_dir(&self.dir);

        let mut guard = ChildGuard::spawn(cmd, &self.name, &self.dir)?;
        let ip: std::net::IpAddr = self.local_ip.parse().unwrap_or([127, 0, 0, 1].into());
        let addr = SocketAddr::new(ip, port);
        let deadline = Instant::now() + Duration::from_secs(5);
        // Ready when the SIP socket is bound; a sipp that exits first (bad
        // scenario, port taken) is reported by `finish` with its own words.
        super::wait::wait_until(deadline, || {
            !guard.is_running() || std::net::UdpSocket::bind(addr).is_err()
        });
        Ok(SippRun {
            guard,
            addr,
            media_port: media,
            stat,
            errors,
            screen,
        })
    }

    /// Spawns sipp and waits for it to finish (see `SippRun::finish`).
    pub fn run(self, deadline: Instant) -> Result<SippOutcome, HarnessError> {
        Ok(self.spawn()?.finish(deadline))
    }

    fn scenario_copy(&self, path: &Path) -> Result<PathBuf, HarnessError> {
        if self.substitutions.is_empty() {
            return Ok(path.to_path_buf());
        }
        let mut text = std::fs::read_to_string(path)
            .map_err(|e| HarnessError::io(&format!("read {}", path.display()), e))?;
        for (from, to) in &self.substitutions {
            if !text.contains(from.as_str()) {
                return Err(HarnessError::peer(
                    "sipp",
                    format!("{} has no {from:?} to substitute", path.display()),
                ));
            }
            text = text.replace(from.as_str(), to);
        }
        let copy = self.dir.join(format!("{}.scenario.xml", self.name));
        std::fs::write(&copy, text).map_err(|e| HarnessError::io("write scenario copy", e))?;
        Ok(copy)
    }
}

/// A running sipp.
pub struct SippRun {
    guard: ChildGuard,
    addr: SocketAddr,
    media_port: u16,
    stat: PathBuf,
    errors: PathBuf,
    screen: PathBuf,
}

impl SippRun {
    /// Where its SIP socket listens (127.0.0.1:`-p`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its `-mp`.
    pub fn media_port(&self) -> u16 {
        self.media_port
    }

    pub fn pid(&self) -> u32 {
        self.guard.pid()
    }

    /// True while its SIP port is bound (ready or still running).
    pub fn wait_ready(&self, deadline: Instant) -> bool {
        wait_udp_bound(self.addr, deadline)
    }

    /// Waits for sipp to exit by `deadline` (killing it if it has not) and reads
    /// its verdict.
    pub fn finish(mut self, deadline: Instant) -> SippOutcome {
        let status = self.guard.wait_exit(deadline);
        let timed_out = status.is_none();
        if timed_out {
            self.guard.kill();
        }
        let (successful, failed) = read_counts(&self.stat).unwrap_or((0, 0));
        SippOutcome {
            name: self.guard.name().to_string(),
            exit_code: status.and_then(|s| s.code()),
            timed_out,
            successful,
            failed,
            errors: file_tail(&self.errors, 40),
            screen: file_tail(&self.screen, 60),
            output: self.guard.output_tail(10),
        }
    }
}

/// What one sipp run ended with.
#[derive(Debug, Clone)]
pub struct SippOutcome {
    pub name: String,
    /// sipp's exit code: 0 all calls succeeded, 1 some failed, 254/255 other
    /// endings (see `sipp -h`); `None` if killed at the deadline.
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    /// `SuccessfulCall(C)` / `FailedCall(C)` from the last row of the stat CSV.
    pub successful: u64,
    pub failed: u64,
    /// Tail of the `-trace_err` log: the unexpected messages, verbatim.
    pub errors: String,
    pub screen: String,
    pub output: String,
}

impl SippOutcome {
    /// Exit 0 and every counted call successful.
    pub fn all_ok(&self) -> bool {
        self.exit_code == Some(0) && self.failed == 0 && self.successful > 0
    }

    /// A report for `assert!` messages.
    pub fn describe(&self) -> String {
        format!(
            "sipp {}: exit {:?}{}, {} successful, {} failed\n--- errors ---\n{}\n--- screen ---\n{}\n--- output ---\n{}",
            self.name,
            self.exit_code,
            if self.timed_out {
                " (killed at deadline)"
            } else {
                ""
            },
            self.successful,
            self.failed,
            self.errors,
            self.screen,
            self.output
        )
    }
}

/// `(SuccessfulCall(C), FailedCall(C))` from the last data row of a sipp stat CSV.
fn read_counts(stat: &Path) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(stat).ok()?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next()?.split(';').collect();
    let last: Vec<&str> = lines.next_back()?.split(';').collect();
    let col = |name: &str| -> Option<u64> {
        let i = header.iter().position(|h| *h == name)?;
        last.get(i)?.trim().parse().ok()
    };
    Some((col("SuccessfulCall(C)")?, col("FailedCall(C)")?))
}
