//! Free ports on 127.0.0.1, picked at run time.
//!
//! Owns the process-wide set of ports already handed out, so two tests of one
//! binary running in parallel never get the same port even before either binds it.
//! Must never hand out a port it has not just seen bindable on 127.0.0.1.
//! The tricky part: "free" is a snapshot. Between our probe and the peer's bind,
//! another process may take the port; the guard covers this binary only, and
//! the remaining window is small because peers bind within milliseconds.

use std::collections::HashSet;
use std::net::{TcpListener, UdpSocket};
use std::sync::{Mutex, OnceLock};

const TRIES: usize = 200;

fn issued() -> &'static Mutex<HashSet<u16>> {
    static ISSUED: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    ISSUED.get_or_init(|| Mutex::new(HashSet::new()))
}

fn udp_free(port: u16) -> bool {
    UdpSocket::bind(("127.0.0.1", port)).is_ok()
}

fn tcp_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// Claims all of `ports` if none was handed out before.
fn claim(ports: &[u16]) -> bool {
    // A poisoned lock only means another test panicked while holding it; the set
    // itself is still a valid set of numbers.
    let mut set = issued().lock().unwrap_or_else(|p| p.into_inner());
    if ports.iter().any(|p| set.contains(p)) {
        return false;
    }
    set.extend(ports.iter().copied());
    true
}

/// A port the kernel just gave us for UDP on 127.0.0.1.
fn kernel_pick() -> Option<u16> {
    let sock = UdpSocket::bind(("127.0.0.1", 0)).ok()?;
    sock.local_addr().ok().map(|a| a.port())
}

/// A port free for both UDP and TCP on 127.0.0.1 (SIP peers such as baresip
/// listen on both with one number).
pub fn free_port() -> u16 {
    for _ in 0..TRIES {
        let Some(port) = kernel_pick() else { continue };
        if tcp_free(port) && claim(&[port]) {
            return port;
        }
    }
    panic!("no free UDP+TCP port on 127.0.0.1 after {TRIES} tries");
}

/// Two consecutive ports, both free for UDP and TCP. baresip 1.0 listens for
/// SIP/TLS on its SIP port + 1 and cannot be told not to; a test elsewhere in
/// the binary taking that second port made baresip exit at start (CI, stop 9).
pub fn free_port_pair() -> u16 {
    for _ in 0..TRIES {
        let Some(port) = kernel_pick() else { continue };
        let Some(next) = port.checked_add(1) else {
            continue;
        };
        if tcp_free(port) && udp_free(next) && tcp_free(next) && claim(&[port, next]) {
            return port;
        }
    }
    panic!("no two free UDP+TCP ports on 127.0.0.1 after {TRIES} tries");
}

/// A port free for TCP on 127.0.0.1 (control sockets).
pub fn free_tcp_port() -> u16 {
    for _ in 0..TRIES {
        let Ok(l) = TcpListener::bind(("127.0.0.1", 0)) else {
            continue;
        };
        let Ok(addr) = l.local_addr() else { continue };
        drop(l);
        if claim(&[addr.port()]) {
            return addr.port();
        }
    }
    panic!("no free TCP port on 127.0.0.1 after {TRIES} tries");
}

/// The first of `n` consecutive UDP ports, all free, the first one even (RTP
/// wants RTP on even, RTCP on the next odd; sipp binds media port and +2).
pub fn free_udp_block(n: u16) -> u16 {
    assert!(n > 0, "an empty port block is a test bug");
    for _ in 0..TRIES {
        let Some(picked) = kernel_pick() else {
            continue;
        };
        let base = picked & !1;
        if base < 1024 || u32::from(base) + u32::from(n) > 65535 {
            continue;
        }
        let ports: Vec<u16> = (base..base + n).collect();
        if ports.iter().all(|&p| udp_free(p)) && claim(&ports) {
            return base;
        }
    }
    panic!("no block of {n} free UDP ports on 127.0.0.1 after {TRIES} tries");
}
