//! systemd's notify protocol against the real binary: the test plays systemd with a
//! datagram socket of its own in `NOTIFY_SOCKET` and `WATCHDOG_USEC=2000000`, and
//! checks that `READY=1` comes only once SIP and HTTP answer, that `WATCHDOG=1`
//! keeps coming about once a second, that `STATUS=` speaks of calls, and that a loop
//! made to stall (`CALLBOX_TEST_STALL`, a debug-build hook) stops the pings and is
//! named in the log.
//!
//! Timing bounds are loose on purpose (±50 % and more): the pings are counted over
//! windows of several seconds, never timed one by one.

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::Command;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use common::TestDir;
use common::http::request;
use common::ports::{free_port, free_tcp_port, free_udp_block};
use common::process::ChildGuard;
use common::wait::{options_ping, secs, wait_until};

/// One notify datagram and when it came.
struct Note {
    at: Instant,
    text: String,
}

struct Daemon {
    child: ChildGuard,
    sip: std::net::SocketAddr,
    http: std::net::SocketAddr,
    notes: Receiver<Note>,
    _socket: PathBuf,
}

impl Daemon {
    /// `callbox serve` on free ports with `NOTIFY_SOCKET` at a socket of ours.
    fn start(t: &TestDir, env: &[(&str, &str)]) -> Daemon {
        let sip_port = free_tcp_port();
        let http_port = free_port();
        let rtp_min = free_udp_block(16);
        let data_dir = t.path().join("var");
        let config = format!(
            "data_dir = {data_dir:?}\nlog_level = \"info\"\n\
             [sip]\nlisten = \"127.0.0.1:{sip_port}\"\n\
             [rtp]\nbind = \"127.0.0.1\"\nadvertise = \"127.0.0.1\"\nport_min = {rtp_min}\nport_max = {}\n\
             [http]\nlisten = \"127.0.0.1:{http_port}\"\n",
            rtp_min + 15
        );
        let config_path = t.path().join("callbox.toml");
        std::fs::write(&config_path, config).unwrap();
        let socket = t.path().join("notify.sock");
        let listener = UnixDatagram::bind(&socket).unwrap();
        let (tx, notes) = channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = listener.recv(&mut buf) {
                let note = Note {
                    at: Instant::now(),
                    text: String::from_utf8_lossy(&buf[..n]).into_owned(),
                };
                if tx.send(note).is_err() {
                    return;
                }
            }
        });
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_callbox"));
        cmd.arg("serve")
            .arg("--config")
            .arg(&config_path)
            .env("NOTIFY_SOCKET", &socket)
            .env("WATCHDOG_USEC", "2000000")
            .env_remove("WATCHDOG_PID")
            .env_remove("JOURNAL_STREAM")
            .env_remove("CALLBOX_TEST_STALL");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = ChildGuard::spawn(cmd, "callbox", t.path()).unwrap();
        Daemon {
            child,
            sip: ([127, 0, 0, 1], sip_port).into(),
            http: ([127, 0, 0, 1], http_port).into(),
            notes,
            _socket: socket,
        }
    }

    /// The next datagram holding `what`, and every datagram before it.
    fn wait_note(&self, what: &str, within: Duration) -> (Note, Vec<Note>) {
        let deadline = Instant::now() + within;
        let mut before = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.notes.recv_timeout(left) {
                Ok(note) if note.text.lines().any(|l| l == what) => return (note, before),
                Ok(note) => before.push(note),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => panic!(
                    "no {what} within {within:?}; got {:?}\n{}",
                    before.iter().map(|n| &n.text).collect::<Vec<_>>(),
                    self.log()
                ),
            }
        }
    }

    /// Every datagram until `until`.
    fn notes_until(&self, until: Instant) -> Vec<Note> {
        let mut out = Vec::new();
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            match self.notes.recv_timeout(left) {
                Ok(note) => out.push(note),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => panic!("the notify socket closed"),
            }
        }
        out
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.child.stderr_path()).unwrap_or_default()
    }

    fn sigterm(&self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }
}

fn pings(notes: &[Note]) -> usize {
    notes
        .iter()
        .filter(|n| n.text.lines().any(|l| l == "WATCHDOG=1"))
        .count()
}

#[test]
fn ready_comes_once_sip_and_http_answer_then_the_watchdog_is_fed() {
    let t = TestDir::new("watchdog-ready").unwrap();
    let mut daemon = Daemon::start(&t, &[]);
    let (ready, before) = daemon.wait_note("READY=1", Duration::from_secs(20));
    // Both ports answer the moment READY=1 is read: it was sent after they were up.
    assert!(
        options_ping(daemon.sip).is_some(),
        "SIP does not answer at READY=1\n{}",
        daemon.log()
    );
    let (code, body) = request(daemon.http, "GET", "/health", "");
    assert_eq!(code, 200, "{body}");
    assert!(
        !before.iter().any(|n| n.text.contains("STOPPING")),
        "nothing odd before READY"
    );
    assert!(
        ready.text.contains("STATUS=") && ready.text.contains("calls in progress"),
        "READY carries a status: {:?}",
        ready.text
    );
    assert!(ready.text.contains("agents logged in"), "{:?}", ready.text);

    // Pinged every WATCHDOG_USEC / 2 = 1 s: about 6 in 6 s.
    let window = Duration::from_secs(6);
    let notes = daemon.notes_until(Instant::now() + window);
    let n = pings(&notes);
    assert!(
        (3..=9).contains(&n),
        "{n} pings in {window:?}: {:?}\n{}",
        notes
            .iter()
            .map(|n| (n.at - ready.at, &n.text))
            .collect::<Vec<_>>(),
        daemon.log()
    );

    daemon.sigterm();
    let (stopping, _) = daemon.wait_note("STOPPING=1", Duration::from_secs(5));
    assert!(
        stopping.text.contains("STATUS=stopping"),
        "{:?}",
        stopping.text
    );
    let exit = daemon.child.wait_exit(secs(15));
    assert!(
        exit.is_some_and(|s| s.success()),
        "{exit:?}\n{}",
        daemon.log()
    );
}

/// With `CALLBOX_TEST_STALL=<name>:2` the loop stops ticking 2 s after READY: pings
/// come before, then stop, and the log names the loop.
fn a_stalled_loop_starves_the_watchdog(name: &str) {
    let t = TestDir::new(&format!("watchdog-stall-{name}")).unwrap();
    let stall = format!("{name}:2");
    let daemon = Daemon::start(&t, &[("CALLBOX_TEST_STALL", &stall)]);
    let (ready, _) = daemon.wait_note("READY=1", Duration::from_secs(20));
    let stalls_at = ready.at + Duration::from_secs(2);
    let early = daemon.notes_until(stalls_at);
    assert!(
        pings(&early) >= 1,
        "pings come while every loop moves\n{}",
        daemon.log()
    );
    // A ping due just after the stall still sees the ticks made before it; from 2 s
    // after the stall on there must be none.
    let _ = daemon.notes_until(stalls_at + Duration::from_secs(2));
    let late = daemon.notes_until(stalls_at + Duration::from_secs(5));
    assert_eq!(
        pings(&late),
        0,
        "the {name} loop is stalled, yet systemd was pinged\n{}",
        daemon.log()
    );
    let named = format!("watchdog: the {name} loop made no progress");
    assert!(
        wait_until(secs(3), || daemon.log().contains(&named)),
        "the log names the {name} loop\n{}",
        daemon.log()
    );
}

#[test]
fn a_stalled_media_loop_stops_the_pings() {
    a_stalled_loop_starves_the_watchdog("media");
}

#[test]
fn a_stalled_switchboard_loop_stops_the_pings() {
    a_stalled_loop_starves_the_watchdog("board");
}

#[test]
fn a_stalled_sip_loop_stops_the_pings() {
    a_stalled_loop_starves_the_watchdog("sip");
}

#[test]
fn a_stalled_store_writer_stops_the_pings() {
    a_stalled_loop_starves_the_watchdog("store");
}

#[test]
fn a_stalled_http_loop_stops_the_pings() {
    a_stalled_loop_starves_the_watchdog("http");
}
