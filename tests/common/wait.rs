//! Waiting on events with a deadline, and knowing a SIP server is up.
//!
//! Owns the one accepted form of waiting in tests: poll a condition every few
//! milliseconds until it holds or a deadline passes. Must never be used with a
//! condition that is always true to stand in for a sleep. The tricky part of
//! `options_ping` is that the server may answer anything (200, 404, 405, 501):
//! any final status proves it is up; matching the Call-ID keeps a stray packet
//! from counting.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How often `wait_until` re-checks: short enough not to slow tests down,
/// long enough not to burn a core of the two we have.
const STEP: Duration = Duration::from_millis(10);

/// `Instant::now() + d`.
pub fn deadline_in(d: Duration) -> Instant {
    Instant::now() + d
}

/// A deadline `secs` seconds from now.
pub fn secs(secs: u64) -> Instant {
    Instant::now() + Duration::from_secs(secs)
}

/// Polls `cond` until it returns true (-> true) or `deadline` passes (-> false).
/// `cond` runs at least once, even with a deadline already past.
pub fn wait_until(deadline: Instant, mut cond: impl FnMut() -> bool) -> bool {
    loop {
        if cond() {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        std::thread::sleep(STEP.min(deadline - now));
    }
}

/// Polls `f` until it yields a value or `deadline` passes.
pub fn wait_for<T>(deadline: Instant, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let mut out = None;
    wait_until(deadline, || {
        out = f();
        out.is_some()
    });
    out
}

/// Sends one SIP OPTIONS over UDP from 127.0.0.1 to `addr` and returns the status
/// code of the first final response to it within 500 ms, or `None`.
pub fn options_ping(addr: SocketAddr) -> Option<u16> {
    options_ping_within(addr, Duration::from_millis(500))
}

/// `options_ping` with an explicit wait for the answer.
pub fn options_ping_within(addr: SocketAddr, wait: Duration) -> Option<u16> {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let sock = UdpSocket::bind(("127.0.0.1", 0)).ok()?;
    let local = sock.local_addr().ok()?;
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let call_id = format!("ping-{}-{n}@127.0.0.1", std::process::id());
    let msg = format!(
        "OPTIONS sip:ping@{addr} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK-ping-{pid}-{n};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:harness@{local}>;tag=h{pid}{n}\r\n\
         To: <sip:ping@{addr}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Contact: <sip:harness@{local}>\r\n\
         Accept: application/sdp\r\n\
         Content-Length: 0\r\n\r\n",
        pid = std::process::id()
    );
    sock.send_to(msg.as_bytes(), addr).ok()?;
    let deadline = Instant::now() + wait;
    // Retransmit like any UA does over UDP (RFC 3261 timer E: 500 ms, doubling up
    // to 4 s), so one datagram dropped by a full socket buffer is not taken for a
    // dead server.
    let mut interval = Duration::from_millis(500);
    let mut resend_at = Instant::now() + interval;
    let mut buf = [0u8; 4096];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let until_resend = resend_at.saturating_duration_since(Instant::now());
        let nap = left.min(until_resend).max(Duration::from_millis(1));
        if left.is_zero() || sock.set_read_timeout(Some(nap)).is_err() {
            return None;
        }
        let Ok((len, _)) = sock.recv_from(&mut buf) else {
            if Instant::now() >= resend_at {
                sock.send_to(msg.as_bytes(), addr).ok()?;
                interval = (interval * 2).min(Duration::from_secs(4));
                resend_at = Instant::now() + interval;
            }
            continue;
        };
        let text = String::from_utf8_lossy(&buf[..len]);
        if !text.contains(&call_id) {
            continue;
        }
        match parse_status(&text) {
            Some(code) if code >= 200 => return Some(code),
            _ => continue,
        }
    }
    None
}

/// Pings until any final answer arrives or `deadline` passes.
pub fn wait_sip_up(addr: SocketAddr, deadline: Instant) -> Option<u16> {
    wait_for(deadline, || {
        options_ping_within(addr, Duration::from_millis(200))
    })
}

/// The status code of a SIP response's first line ("SIP/2.0 200 OK").
pub fn parse_status(msg: &str) -> Option<u16> {
    let line = msg.lines().next()?;
    let mut parts = line.split_whitespace();
    if parts.next()? != "SIP/2.0" {
        return None;
    }
    parts.next()?.parse().ok()
}
