//! sipp as the carrier and as the phones: starting it, feeding its answers to the
//! RTP rig, and reading what it measured.
//!
//! It owns the sipp processes (each behind a guard that kills it by pid) and the
//! files they write in a run's directory: the `<log>` lines of bench_trunk.xml, the
//! per-call set-up times of `-trace_rtt`, and the counters of `-trace_stat`. It must
//! never wait without a deadline: a box that stops answering ends the run as failed
//! calls, not as a hung bench.
//!
//! The tricky part is the hand-over of each call's media address: sipp writes
//! "A <call> <ip> <port>" when the 200 arrives (flushed per line), a reader thread
//! follows the file and starts that call's RTP stream at once. Calls through the
//! ACD hand the answer to their own handler instead (a menu key first), and their
//! agents' sipp writes lines of its own (see `acd.rs`).

use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::rig::{PortPlan, RigHandle};

pub type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// A child process killed by its pid and reaped when dropped.
pub struct Guard {
    pub name: &'static str,
    child: Child,
}

impl Guard {
    pub fn spawn(name: &'static str, cmd: &mut Command) -> BenchResult<Guard> {
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        Ok(Guard { name, child })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if it has exited by `deadline`; polled every 20 ms.
    pub fn wait_until(&mut self, deadline: Instant) -> Option<ExitStatus> {
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => return None,
            }
        }
    }

    /// Asks the process to stop (SIGTERM) and waits up to `grace` before killing it.
    pub fn terminate(&mut self, grace: Duration) -> Option<ExitStatus> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        self.wait_until(Instant::now() + grace)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

pub fn scenario(name: &str) -> PathBuf {
    let dir = std::env::var_os("BENCH_SCENARIOS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sipp"));
    dir.join(name)
}

/// A UDP port free on `ip` right now.
pub fn free_udp_port(ip: IpAddr) -> BenchResult<u16> {
    Ok(std::net::UdpSocket::bind(SocketAddr::new(ip, 0))?
        .local_addr()?
        .port())
}

/// A TCP port free on `ip` right now.
pub fn free_tcp_port(ip: IpAddr) -> BenchResult<u16> {
    Ok(std::net::TcpListener::bind(SocketAddr::new(ip, 0))?
        .local_addr()?
        .port())
}

/// The phones: one sipp UAS answering every call on `sip`, media per `plan`.
pub fn spawn_phones(dir: &Path, sip: SocketAddr, plan: &PortPlan) -> BenchResult<Guard> {
    std::fs::create_dir_all(dir)?;
    let out = std::fs::File::create(dir.join("sipp_phones.out"))?;
    Guard::spawn(
        "sipp (phones)",
        Command::new("sipp")
            .current_dir(dir)
            .arg("-sf")
            .arg(scenario("bench_phone.xml"))
            .args(["-i", &sip.ip().to_string(), "-p", &sip.port().to_string()])
            .args(["-mi", &plan.ip.to_string(), "-mp", &plan.base.to_string()])
            .args([
                "-aa",
                "-nostdin",
                "-trace_err",
                "-error_file",
                "phones_errors.log",
            ])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(Stdio::null()),
    )
}

/// The agents of the ACD phases: one sipp UAS answering every call on `sip` with
/// bench_agent.xml, media per `plan`, logging who called to `log`.
pub fn spawn_agents(
    dir: &Path,
    sip: SocketAddr,
    plan: &PortPlan,
    log: &Path,
) -> BenchResult<Guard> {
    std::fs::create_dir_all(dir)?;
    std::fs::File::create(log)?;
    let out = std::fs::File::create(dir.join("sipp_agents.out"))?;
    Guard::spawn(
        "sipp (agents)",
        Command::new("sipp")
            .current_dir(dir)
            .arg("-sf")
            .arg(scenario("bench_agent.xml"))
            .args(["-i", &sip.ip().to_string(), "-p", &sip.port().to_string()])
            .args(["-mi", &plan.ip.to_string(), "-mp", &plan.base.to_string()])
            .args(["-trace_logs", "-log_file"])
            .arg(log)
            .args([
                "-aa",
                "-nostdin",
                "-trace_err",
                "-error_file",
                "agents_errors.log",
            ])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(Stdio::null()),
    )
}

/// One run of the carrier: `calls` calls at `rate` per second, each held `hold`.
#[derive(Debug, Clone)]
pub struct TrunkRun {
    pub target: SocketAddr,
    pub service: String,
    pub local_ip: IpAddr,
    pub calls: u32,
    pub rate: u32,
    pub hold: Duration,
    /// RTP packets each call sends once answered.
    pub packets: u32,
}

/// What to do with each answer sipp logs: its call number and the box's RTP address.
pub type OnAnswer = Box<dyn FnMut(u64, SocketAddr) + Send>;

/// What sipp saw of a run.
#[derive(Debug, Clone, Default)]
pub struct TrunkResult {
    /// sipp's exit code: 0 when every call succeeded.
    pub exit: Option<i32>,
    pub successful: u64,
    pub failed: u64,
    pub answered: usize,
    /// Per call, INVITE sent to 200 received, in milliseconds.
    pub setup_ms: Vec<f64>,
    /// When each 200 arrived (sipp's clock, ms), to tell the rate achieved.
    pub answered_at_ms: Vec<f64>,
}

impl TrunkResult {
    pub fn all_ok(&self, calls: u32) -> bool {
        self.exit == Some(0) && self.failed == 0 && self.successful == calls as u64
    }

    /// Calls answered per second, from the first 200 to the last.
    pub fn achieved_rate(&self) -> Option<f64> {
        let first = self.answered_at_ms.iter().cloned().reduce(f64::min)?;
        let last = self.answered_at_ms.iter().cloned().reduce(f64::max)?;
        let n = self.answered_at_ms.len();
        (n > 1 && last > first).then(|| (n - 1) as f64 * 1000.0 / (last - first))
    }
}

/// A run in progress.
pub struct RunningTrunk {
    guard: Guard,
    dir: PathBuf,
    answered: Arc<AtomicUsize>,
    stop_tail: Arc<AtomicBool>,
    tail: Option<JoinHandle<()>>,
}

impl TrunkRun {
    pub fn spawn(&self, dir: &Path, plan: &PortPlan, rig: RigHandle) -> BenchResult<RunningTrunk> {
        let packets = self.packets;
        let start: OnAnswer = Box::new(move |call, to| {
            rig.start_stream(PortPlan::slot_of_call(call), to, packets, Duration::ZERO);
        });
        self.spawn_with(dir, plan, "bench_trunk.xml", &[], start)
    }

    /// Runs `scenario` with extra `-key NAME VALUE` pairs, handing each answer to
    /// `on_answer`.
    pub fn spawn_with(
        &self,
        dir: &Path,
        plan: &PortPlan,
        scenario_file: &str,
        keys: &[(&str, String)],
        mut on_answer: OnAnswer,
    ) -> BenchResult<RunningTrunk> {
        std::fs::create_dir_all(dir)?;
        let log = dir.join("answers.log");
        std::fs::File::create(&log)?;
        let out = std::fs::File::create(dir.join("sipp_trunk.out"))?;
        let port = free_udp_port(self.local_ip)?;
        // A run that overstays this is killed; the box failed it.
        let budget = self.calls as u64 / self.rate.max(1) as u64 + self.hold.as_secs() + 40;
        let mut cmd = Command::new("sipp");
        for (name, value) in keys {
            cmd.args(["-key", name, value]);
        }
        let guard = Guard::spawn(
            "sipp (carrier)",
            cmd.current_dir(dir)
                .arg(self.target.to_string())
                .arg("-sf")
                .arg(scenario(scenario_file))
                .args(["-s", &self.service])
                .args(["-i", &self.local_ip.to_string(), "-p", &port.to_string()])
                .args(["-mi", &plan.ip.to_string(), "-mp", &plan.base.to_string()])
                .args(["-r", &self.rate.to_string(), "-rp", "1000"])
                .args(["-l", &self.calls.to_string(), "-m", &self.calls.to_string()])
                .args(["-d", &self.hold.as_millis().to_string()])
                .args(["-trace_logs", "-log_file"])
                .arg(&log)
                .args([
                    "-trace_rtt",
                    "-rtt_freq",
                    "1",
                    "-trace_stat",
                    "-stf",
                    "stats.csv",
                    "-fd",
                    "1",
                ])
                .args(["-trace_err", "-error_file", "errors.log"])
                .args(["-timeout", &format!("{budget}s"), "-aa", "-nostdin"])
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(Stdio::null()),
        )?;
        let answered = Arc::new(AtomicUsize::new(0));
        let stop_tail = Arc::new(AtomicBool::new(false));
        let (a, s) = (answered.clone(), stop_tail.clone());
        let tail = std::thread::Builder::new()
            .name("sipp-answers".into())
            .spawn(move || {
                follow_lines(&log, &s, |line| {
                    if let Some((call, to)) = parse_answer(line) {
                        a.fetch_add(1, Ordering::Relaxed);
                        on_answer(call, to);
                    }
                })
            })?;
        Ok(RunningTrunk {
            guard,
            dir: dir.to_path_buf(),
            answered,
            stop_tail,
            tail: Some(tail),
        })
    }
}

impl RunningTrunk {
    pub fn answered(&self) -> usize {
        self.answered.load(Ordering::Relaxed)
    }

    /// True once sipp has exited (the run is over).
    pub fn exited(&mut self) -> bool {
        self.guard.wait_until(Instant::now()).is_some()
    }

    /// Waits for sipp to finish (killing it at `deadline`) and reads its files.
    pub fn finish(mut self, deadline: Instant) -> TrunkResult {
        let status = self.guard.wait_until(deadline);
        if status.is_none() {
            eprintln!("  {} overran its deadline; killed", self.guard.name);
        }
        self.stop_tail.store(true, Ordering::Relaxed);
        if let Some(t) = self.tail.take() {
            let _ = t.join();
        }
        let (successful, failed) = read_stats(&self.dir.join("stats.csv")).unwrap_or((0, 0));
        let (setup_ms, answered_at_ms) = read_rtt(&self.dir).unwrap_or_default();
        TrunkResult {
            exit: status.and_then(|s| s.code()),
            successful,
            failed,
            answered: self.answered(),
            setup_ms,
            answered_at_ms,
        }
    }
}

/// Follows a log file sipp appends to and hands every complete line to `on_line`,
/// until `stop` (then once more, for the tail).
pub fn follow_lines(log: &Path, stop: &AtomicBool, mut on_line: impl FnMut(&str)) {
    let Ok(mut file) = std::fs::File::open(log) else {
        return;
    };
    let mut pending = String::new();
    let mut chunk = Vec::new();
    loop {
        // Read whatever sipp flushed; the final pass after `stop` catches the tail.
        let stopping = stop.load(Ordering::Relaxed);
        chunk.clear();
        if file.read_to_end(&mut chunk).is_err() {
            return;
        }
        pending.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = pending.find('\n') {
            let line: String = pending.drain(..=end).collect();
            on_line(&line);
        }
        if stopping {
            return;
        }
        if chunk.is_empty() {
            // sipp appends with no way to be woken; 2 ms is well under one packet time.
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

fn parse_answer(line: &str) -> Option<(u64, SocketAddr)> {
    let mut words = line.split_whitespace();
    if words.next()? != "A" {
        return None;
    }
    let call = words.next()?.parse().ok()?;
    let ip: IpAddr = words.next()?.parse().ok()?;
    let port: u16 = words.next()?.parse().ok()?;
    Some((call, SocketAddr::new(ip, port)))
}

/// Successful and failed calls from the last line of sipp's `-trace_stat` file.
fn read_stats(path: &Path) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next()?.split(';').collect();
    let last: Vec<&str> = lines.next_back()?.split(';').collect();
    let column = |name: &str| -> Option<u64> {
        let i = header.iter().position(|h| *h == name)?;
        last.get(i)?.trim().parse().ok()
    };
    Some((column("SuccessfulCall(C)")?, column("FailedCall(C)")?))
}

/// The "setup" response times and their dates from the `*_rtt.csv` file.
fn read_rtt(dir: &Path) -> Option<(Vec<f64>, Vec<f64>)> {
    let path = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("_rtt.csv"))?;
    let file = std::fs::File::open(path).ok()?;
    let (mut setup, mut at) = (Vec::new(), Vec::new());
    for line in BufReader::new(file).lines().map_while(Result::ok) {
        let f: Vec<&str> = line.split(';').collect();
        if let (Some(date), Some(rtt)) = (
            f.first().and_then(|d| d.parse::<f64>().ok()),
            f.get(1).and_then(|r| r.parse::<f64>().ok()),
        ) {
            at.push(date);
            setup.push(rtt);
        }
    }
    Some((setup, at))
}
