//! systemd's notify protocol, without libsystemd: datagrams of `KEY=VALUE` lines to
//! the socket named by `$NOTIFY_SOCKET` (a path, or an abstract name after `@`), and
//! the watchdog thread that pings every `$WATCHDOG_USEC / 2`.
//!
//! It owns the messages (`READY=1` once every room is up and the switchboard has
//! turned once, `STATUS=` with calls and agents every few seconds, `STOPPING=1` on
//! the first signal) and the decision to ping: `WATCHDOG=1` goes out only when every
//! loop's heartbeat (`heartbeat.rs`) has moved since the last ping. A loop that has
//! not is named in the log and the ping is withheld, so systemd restarts us. Without
//! `$NOTIFY_SOCKET` everything here does nothing. The tricky part is timing: a ping
//! is due every half interval, and one loop that ticked a little late must not cost
//! a ping, so a failed check is retried until a quarter interval past due.

use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use crate::api::Status;
use crate::heartbeat::{self, Loop};

/// How often `STATUS=` is refreshed (sent when it changed).
const STATUS_EVERY: Duration = Duration::from_secs(2);
/// The watchdog thread's own step: how often it looks at the clock and the stop.
const STEP: Duration = Duration::from_millis(50);

/// One assignment of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State<'a> {
    Ready,
    Stopping,
    Watchdog,
    Status(&'a str),
}

/// The datagram for `states`: one `KEY=VALUE` line each. A status is one line, so
/// line breaks in it become spaces.
pub fn message(states: &[State<'_>]) -> String {
    let mut out = String::new();
    for state in states {
        match state {
            State::Ready => out.push_str("READY=1\n"),
            State::Stopping => out.push_str("STOPPING=1\n"),
            State::Watchdog => out.push_str("WATCHDOG=1\n"),
            State::Status(text) => {
                out.push_str("STATUS=");
                out.extend(text.chars().map(|c| if c == '\n' { ' ' } else { c }));
                out.push('\n');
            }
        }
    }
    out
}

/// The socket address `$NOTIFY_SOCKET` names: `/path` or `@abstract`.
pub fn socket_addr(value: &str) -> io::Result<SocketAddr> {
    if let Some(name) = value.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        SocketAddr::from_abstract_name(name.as_bytes())
    } else if value.starts_with('/') {
        SocketAddr::from_pathname(value)
    } else {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("NOTIFY_SOCKET={value:?} is neither a path nor an abstract name"),
        ))
    }
}

/// The ping interval for `$WATCHDOG_USEC` (half of it), if the watchdog is meant for
/// this process (`$WATCHDOG_PID` unset or ours).
pub fn watchdog_interval(usec: Option<&str>, pid: Option<&str>, me: u32) -> Option<Duration> {
    if let Some(pid) = pid
        && pid.trim().parse::<u32>().ok() != Some(me)
    {
        return None;
    }
    let usec: u64 = usec?.trim().parse().ok().filter(|&u| u > 0)?;
    Some(Duration::from_micros(usec / 2))
}

/// What `STATUS=` says.
pub fn status_text(calls: usize, agents: usize, draining: bool) -> String {
    let calls = match calls {
        1 => "1 call in progress".to_string(),
        n => format!("{n} calls in progress"),
    };
    let agents = match agents {
        1 => "1 agent logged in".to_string(),
        n => format!("{n} agents logged in"),
    };
    if draining {
        format!("stopping, waiting for calls to end: {calls}, {agents}")
    } else {
        format!("{calls}, {agents}")
    }
}

/// The way to systemd, if we were started with one.
#[derive(Debug)]
pub struct Notifier {
    target: Option<(UnixDatagram, SocketAddr)>,
}

impl Notifier {
    /// From `$NOTIFY_SOCKET`; a socket that cannot be used is logged and ignored.
    pub fn from_env() -> Notifier {
        let Some(value) = std::env::var_os("NOTIFY_SOCKET") else {
            return Notifier { target: None };
        };
        let value = value.to_string_lossy();
        let target = socket_addr(&value).and_then(|addr| Ok((UnixDatagram::unbound()?, addr)));
        match target {
            Ok(target) => Notifier {
                target: Some(target),
            },
            Err(e) => {
                log::warn!("systemd: cannot use NOTIFY_SOCKET={value}: {e}");
                Notifier { target: None }
            }
        }
    }

    pub fn enabled(&self) -> bool {
        self.target.is_some()
    }

    /// Sends `states`; a failure is logged at debug level (systemd may be gone).
    pub fn send(&self, states: &[State<'_>]) {
        let Some((socket, addr)) = &self.target else {
            return;
        };
        if let Err(e) = socket.send_to_addr(message(states).as_bytes(), addr) {
            log::debug!("systemd: notify failed: {e}");
        }
    }
}

/// The watchdog and status thread; stops when `stop` is dropped.
pub struct Watchdog {
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Starts the thread if there is a notify socket. `draining` says that a stop was
    /// asked and calls are left to end.
    pub fn spawn(
        notifier: Arc<Notifier>,
        status: Arc<Status>,
        draining: Arc<AtomicBool>,
        stop: Receiver<()>,
    ) -> io::Result<Watchdog> {
        if !notifier.enabled() {
            return Ok(Watchdog { thread: None });
        }
        let interval = watchdog_interval(
            std::env::var("WATCHDOG_USEC").ok().as_deref(),
            std::env::var("WATCHDOG_PID").ok().as_deref(),
            std::process::id(),
        );
        if let Some(i) = interval {
            log::info!("systemd: watchdog ping every {} ms", i.as_millis());
        }
        let thread = std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(move || run(&notifier, interval, &status, &draining, &stop))?;
        Ok(Watchdog {
            thread: Some(thread),
        })
    }

    pub fn join(mut self) {
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            log::error!("systemd: the watchdog thread panicked");
        }
    }
}

fn run(
    notifier: &Notifier,
    interval: Option<Duration>,
    status: &Status,
    draining: &AtomicBool,
    stop: &Receiver<()>,
) {
    let mut last_status = String::new();
    let mut next_status = Instant::now();
    let mut baseline = heartbeat::snapshot();
    let mut due = interval.map(|i| Instant::now() + i);
    let mut reported: Vec<Loop> = Vec::new();
    loop {
        match stop.recv_timeout(STEP) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        let now = Instant::now();
        if now >= next_status {
            next_status = now + STATUS_EVERY;
            let text = status_text(
                status.calls_active.load(Ordering::Relaxed),
                status.agents_logged_in.load(Ordering::Relaxed),
                draining.load(Ordering::Relaxed),
            );
            if text != last_status {
                notifier.send(&[State::Status(&text)]);
                last_status = text;
            }
        }
        let (Some(interval), Some(at)) = (interval, due) else {
            continue;
        };
        if now < at {
            continue;
        }
        let beats = heartbeat::snapshot();
        let stalled = heartbeat::stalled_since(&baseline, &beats);
        if stalled.is_empty() {
            notifier.send(&[State::Watchdog]);
            if !reported.is_empty() {
                log::warn!("watchdog: every loop moves again; pinging systemd");
                reported.clear();
            }
            baseline = beats;
            due = Some(now + interval);
        } else if now >= at + interval / 2 {
            if stalled != reported {
                let names: Vec<&str> = stalled.iter().map(|l| l.name()).collect();
                log::error!(
                    "watchdog: the {} loop made no progress in {} ms; no ping to systemd",
                    names.join(", "),
                    (now - at + interval).as_millis()
                );
                reported = stalled;
            }
            // Progress is still counted from the last ping: a loop that recovers
            // earns the next one.
            due = Some(now + interval);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_key_value_lines() {
        assert_eq!(message(&[State::Ready]), "READY=1\n");
        assert_eq!(
            message(&[State::Ready, State::Status("2 calls in progress")]),
            "READY=1\nSTATUS=2 calls in progress\n"
        );
        assert_eq!(
            message(&[State::Stopping, State::Status("a\nb")]),
            "STOPPING=1\nSTATUS=a b\n"
        );
        assert_eq!(message(&[State::Watchdog]), "WATCHDOG=1\n");
    }

    #[test]
    fn the_watchdog_interval_is_half_of_watchdog_usec_for_this_pid_only() {
        let half = Some(Duration::from_secs(1));
        assert_eq!(watchdog_interval(Some("2000000"), None, 7), half);
        assert_eq!(watchdog_interval(Some("2000000"), Some("7"), 7), half);
        assert_eq!(watchdog_interval(Some("2000000"), Some("8"), 7), None);
        assert_eq!(watchdog_interval(Some("0"), None, 7), None);
        assert_eq!(watchdog_interval(Some("soon"), None, 7), None);
        assert_eq!(watchdog_interval(None, None, 7), None);
    }

    #[test]
    fn status_names_calls_and_agents() {
        assert_eq!(
            status_text(1, 2, false),
            "1 call in progress, 2 agents logged in"
        );
        assert_eq!(
            status_text(0, 1, true),
            "stopping, waiting for calls to end: 0 calls in progress, 1 agent logged in"
        );
    }

    #[test]
    fn notify_socket_names_a_path_or_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let abs = socket_addr("@callbox/notify").unwrap();
        assert_eq!(abs.as_abstract_name(), Some(&b"callbox/notify"[..]));
        let path = socket_addr("/run/systemd/notify").unwrap();
        assert_eq!(
            path.as_pathname(),
            Some(std::path::Path::new("/run/systemd/notify"))
        );
        assert!(socket_addr("vsock:2:1234").is_err());
    }

    #[test]
    fn a_datagram_reaches_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        let notifier = Notifier {
            target: Some((
                UnixDatagram::unbound().unwrap(),
                socket_addr(path.to_str().unwrap()).unwrap(),
            )),
        };
        notifier.send(&[State::Ready, State::Status("up")]);
        let mut buf = [0u8; 256];
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=up\n");
    }
}
