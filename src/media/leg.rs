//! One leg's state on the media thread: its socket, what the peer negotiated, where
//! its packets really come from, and what it hears.
//!
//! The tricky part is symmetric RTP. Behind NAT, the address in the SDP is often not
//! where packets come from, so the leg latches onto the source of the first valid
//! packet and sends there. After that, packets from any other address are dropped
//! (an attacker spraying the port range must not hijack a call), unless the latched
//! address has gone quiet for [`LATCH_MOVE_AFTER`], which is what a NAT rebinding or
//! a phone changing network looks like; the move is logged.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use mio::Token;
use mio::net::UdpSocket;

use super::dtmf::DtmfReceiver;
use super::prompt::Playback;
use super::stream::OutStream;
use crate::core::{Codec, LegId};

/// Silence from the latched address after which another source may take over.
pub const LATCH_MOVE_AFTER: Duration = Duration::from_millis(500);

/// What the peer negotiated (`MediaCommand::Configure`).
#[derive(Debug, Clone, Copy)]
pub struct PeerConfig {
    pub remote: SocketAddr,
    pub codec: Codec,
    pub dtmf_pt: Option<u8>,
}

/// What the leg hears from a prompt.
#[derive(Debug)]
pub enum Play {
    Idle,
    /// Waiting for the loader to decode `file`.
    Pending {
        file: PathBuf,
        looped: bool,
        id: u64,
        tag: u64,
    },
    Playing(Playback),
}

/// Whether a packet from some address may be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latch {
    /// The first packet: the leg latched onto its source now.
    First,
    /// From the latched address.
    Accept,
    /// The address moved after the old one went quiet.
    Moved { from: SocketAddr },
    /// From a stranger while the latched address is alive.
    Reject,
}

/// The address packets come from, and when the last one came.
#[derive(Debug, Default)]
pub struct SourceLatch(Option<(SocketAddr, Instant)>);

impl SourceLatch {
    pub fn addr(&self) -> Option<SocketAddr> {
        self.0.map(|(addr, _)| addr)
    }

    /// Decides on a valid packet from `from`, latching or moving as needed.
    pub fn check(&mut self, from: SocketAddr, now: Instant) -> Latch {
        match self.0 {
            None => {
                self.0 = Some((from, now));
                Latch::First
            }
            Some((addr, _)) if addr == from => {
                self.0 = Some((from, now));
                Latch::Accept
            }
            Some((addr, last)) if now.saturating_duration_since(last) >= LATCH_MOVE_AFTER => {
                self.0 = Some((from, now));
                Latch::Moved { from: addr }
            }
            Some(_) => Latch::Reject,
        }
    }
}

pub struct Leg {
    pub id: LegId,
    pub socket: UdpSocket,
    pub token: Token,
    pub local_port: u16,
    pub config: Option<PeerConfig>,
    pub latch: SourceLatch,
    pub held: bool,
    pub partner: Option<LegId>,
    /// The mix (the switchboard's room number) it is in; never with a `partner`.
    pub mix: Option<u64>,
    pub out: OutStream,
    pub dtmf: DtmfReceiver,
    /// Last valid RTP received, or the moment the timer was (re)started.
    pub last_rx: Instant,
    pub timed_out: bool,
    pub play: Play,
    /// Recordings this leg feeds, as their `a` or as one of their others.
    pub recordings: Vec<u64>,
}

impl Leg {
    pub fn new(
        id: LegId,
        socket: UdpSocket,
        token: Token,
        local_port: u16,
        out: OutStream,
        now: Instant,
    ) -> Leg {
        Leg {
            id,
            socket,
            token,
            local_port,
            config: None,
            latch: SourceLatch::default(),
            held: false,
            partner: None,
            mix: None,
            out,
            dtmf: DtmfReceiver::default(),
            last_rx: now,
            timed_out: false,
            play: Play::Idle,
            recordings: Vec::new(),
        }
    }

    /// Applies a `Configure`. A new remote address forgets the latch: the peer moved
    /// by re-INVITE and the new SDP is the best guess until packets say otherwise.
    pub fn configure(&mut self, config: PeerConfig, now: Instant) {
        if self.config.map(|c| c.remote) != Some(config.remote) {
            self.latch = SourceLatch::default();
        }
        self.config = Some(config);
        self.restart_timer(now);
    }

    pub fn restart_timer(&mut self, now: Instant) {
        self.last_rx = now;
        self.timed_out = false;
    }

    /// Where to send: the latched source, else the address from the SDP.
    pub fn destination(&self) -> Option<SocketAddr> {
        let config = self.config?;
        Some(self.latch.addr().unwrap_or(config.remote))
    }

    /// True while a prompt (playing or being decoded) replaces what the leg hears.
    pub fn hears_prompt(&self) -> bool {
        !matches!(self.play, Play::Idle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latches_first_source_and_moves_only_after_silence() {
        let t0 = Instant::now();
        let (a, b): (SocketAddr, SocketAddr) = (
            "127.0.0.1:4000".parse().unwrap(),
            "127.0.0.1:5000".parse().unwrap(),
        );
        let mut l = SourceLatch::default();
        assert_eq!(l.check(a, t0), Latch::First);
        assert_eq!(l.check(b, t0 + Duration::from_millis(20)), Latch::Reject);
        assert_eq!(l.check(a, t0 + Duration::from_millis(40)), Latch::Accept);
        assert_eq!(
            l.check(b, t0 + Duration::from_millis(540)),
            Latch::Moved { from: a }
        );
        assert_eq!(l.addr(), Some(b));
        assert_eq!(l.check(a, t0 + Duration::from_millis(560)), Latch::Reject);
    }
}
