//! The ceiling: a bare loopback UDP relay, the least a media relay can do.
//!
//! It owns one pair of sockets per call on one thread and one mio poll loop, like
//! callbox's media room: what comes to the trunk-facing socket goes out of the
//! phone-facing one to the phone, and what comes back goes out of the trunk-facing
//! one to wherever the trunk last sent from (latching, as callbox does). No header
//! rewriting, no recording, no timers. It must never do more than that, or it stops
//! being a ceiling.
//!
//! The tricky part is measuring its CPU apart from the rest of the bench process:
//! the loop reads its own `/proc/thread-self/stat` when asked, so the figure is the
//! relay thread's alone.

use std::io::{self, ErrorKind};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded};
use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token, Waker};

use crate::procstat;

const WAKER: Token = Token(usize::MAX);

/// A running relay of `calls` socket pairs; stopped and joined on drop.
pub struct BareRelay {
    trunk_facing: Vec<SocketAddr>,
    relayed: Arc<AtomicU64>,
    cpu_asks: Sender<Sender<Duration>>,
    waker: Arc<Waker>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl BareRelay {
    /// Binds a pair per call on `ip` and relays call `i`'s phone leg to `phones[i]`.
    pub fn start(ip: IpAddr, phones: Vec<SocketAddr>) -> io::Result<BareRelay> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let mut socks = Vec::with_capacity(phones.len() * 2);
        let mut trunk_facing = Vec::with_capacity(phones.len());
        for i in 0..phones.len() {
            let mut a = UdpSocket::bind(SocketAddr::new(ip, 0))?;
            let mut b = UdpSocket::bind(SocketAddr::new(ip, 0))?;
            poll.registry()
                .register(&mut a, Token(2 * i), Interest::READABLE)?;
            poll.registry()
                .register(&mut b, Token(2 * i + 1), Interest::READABLE)?;
            trunk_facing.push(a.local_addr()?);
            socks.push(a);
            socks.push(b);
        }
        let relayed = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (cpu_asks, asks) = bounded(1);
        let looped = Loop {
            poll,
            socks,
            phones,
            relayed: relayed.clone(),
            stop: stop.clone(),
            asks,
        };
        let thread = std::thread::Builder::new()
            .name("bare-relay".into())
            .spawn(move || looped.run())?;
        Ok(BareRelay {
            trunk_facing,
            relayed,
            cpu_asks,
            waker,
            stop,
            thread: Some(thread),
        })
    }

    /// Where the trunk sends call `i`'s RTP.
    pub fn trunk_facing(&self, i: usize) -> SocketAddr {
        self.trunk_facing[i]
    }

    pub fn relayed(&self) -> u64 {
        self.relayed.load(Ordering::Relaxed)
    }

    /// The relay thread's CPU time so far (user + system).
    pub fn cpu(&self) -> Option<Duration> {
        let (tx, rx) = bounded(1);
        self.cpu_asks.send(tx).ok()?;
        self.waker.wake().ok()?;
        rx.recv_timeout(Duration::from_secs(5)).ok()
    }
}

impl Drop for BareRelay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.waker.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Loop {
    poll: Poll,
    socks: Vec<UdpSocket>,
    phones: Vec<SocketAddr>,
    relayed: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    asks: Receiver<Sender<Duration>>,
}

impl Loop {
    fn run(mut self) {
        let mut trunks: Vec<Option<SocketAddr>> = vec![None; self.phones.len()];
        let mut events = Events::with_capacity(1024);
        let mut buf = [0u8; 2048];
        while !self.stop.load(Ordering::Relaxed) {
            if let Err(e) = self
                .poll
                .poll(&mut events, Some(Duration::from_millis(100)))
                && e.kind() != ErrorKind::Interrupted
            {
                eprintln!("bare relay: poll failed: {e}");
                return;
            }
            // Asked every turn, not only on the waker's event: under full load the
            // waker's edge can sit behind a thousand sockets' worth of events.
            while let Ok(reply) = self.asks.try_recv() {
                let _ = reply.send(procstat::thread_cpu().unwrap_or_default());
            }
            for ev in events.iter() {
                if ev.token() == WAKER {
                    continue;
                }
                let (call, from_trunk) = (ev.token().0 / 2, ev.token().0 % 2 == 0);
                let (inbound, outbound) = if from_trunk {
                    (&self.socks[2 * call], &self.socks[2 * call + 1])
                } else {
                    (&self.socks[2 * call + 1], &self.socks[2 * call])
                };
                while let Ok((n, from)) = inbound.recv_from(&mut buf) {
                    let to = if from_trunk {
                        trunks[call] = Some(from);
                        Some(self.phones[call])
                    } else {
                        trunks[call]
                    };
                    if let Some(to) = to
                        && outbound.send_to(&buf[..n], to).is_ok()
                    {
                        self.relayed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }
}
