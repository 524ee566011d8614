//! The RTP load of the bench: the trunk's streams and the phones' echoes, on
//! loopback, counted exactly.
//!
//! It owns every RTP socket of the fake carrier (one per call slot on the trunk's
//! address) and of the fake phones (one per slot on the phones' address), each side
//! on its own thread with one mio poll loop. A trunk stream sends 172-byte PCMA
//! packets (12-byte header, 160 bytes of speech from sipp's g711a.pcap) every 20 ms;
//! a phone socket sends back every packet it gets to where it came from. It must
//! never block on a socket nor slow down to match the box: a late packet is counted
//! as late, not skipped, so the box sees the offered rate.
//!
//! The tricky part is the ports: sipp advertises `[auto_media_port+4]`, i.e.
//! `base + 4 * (call_number - 1) mod 10000 + 4`, so the sockets are bound before sipp
//! starts at exactly those ports, and a call's stream starts when sipp logs its
//! answer with the box's RTP address (see `sipp.rs`).
//!
//! Calls through the ACD (`acd.rs`) add two things. A caller first presses a menu
//! key: three RFC 4733 end packets for '1' (payload type 101, one timestamp, a new
//! one per call), counted apart from the speech; the speech starts only once an
//! agent is bridged. And the box talks to the caller itself before that (menu
//! prompt, queue greeting), so with screening on a packet counts as relayed only if
//! its payload is one of the frames the rig sends (the box rewrites headers, never
//! an A-law payload it relays A-law to A-law); anything else is counted as the box's
//! own audio and not echoed. Screened streams send only frames with enough distinct
//! bytes that no prompt's silence can pass for them.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::io::{self, ErrorKind};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};
use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token, Waker};

/// Call slots per side: sipp's `[auto_media_port]` wraps after 10000 / 4 calls.
pub const SLOTS: usize = 2500;
/// One packet every 20 ms, as a G.711 phone sends.
pub const PTIME: Duration = Duration::from_millis(20);
pub const PACKET_LEN: usize = 172;
pub const PAYLOAD_LEN: usize = PACKET_LEN - 12;
const WAKER: Token = Token(usize::MAX);
/// A send this late (behind its 20 ms slot) means the generator, not the box, was short of CPU.
const LATE: Duration = Duration::from_millis(20);
/// The telephone-event payload type the ACD caller's SDP offers (bench_caller.xml).
pub const DTMF_PT: u8 = 101;
/// RFC 4733 event code of the menu key '1'.
const KEY_ONE: u8 = 1;
/// How many end packets a key sends, as RFC 4733 §2.5.1.4 asks, one packet time apart.
const KEY_END_PACKETS: u8 = 3;
/// The key's duration in timestamp units (100 ms at 8 kHz).
const KEY_DURATION: u16 = 800;
/// A frame with fewer distinct byte values is too near silence to tell from a prompt.
const MIN_DISTINCT_BYTES: usize = 16;

/// Where sipp's `[auto_media_port+4]` puts a call's media.
#[derive(Debug, Clone, Copy)]
pub struct PortPlan {
    pub ip: IpAddr,
    /// What sipp gets as `-mp`.
    pub base: u16,
}

impl PortPlan {
    pub fn slot_port(&self, slot: usize) -> u16 {
        // Slots are below SLOTS and base is at most 50000 (see bind_plan), so this fits.
        self.base + 4 * slot as u16 + 4
    }

    /// The slot sipp used for its call number `n` (1-based).
    pub fn slot_of_call(n: u64) -> usize {
        (n.saturating_sub(1) % SLOTS as u64) as usize
    }

    pub fn slot_addr(&self, slot: usize) -> SocketAddr {
        SocketAddr::new(self.ip, self.slot_port(slot))
    }
}

/// Packet counters, shared with the threads; read them as a [`Counts`] snapshot.
#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    send_failed: AtomicU64,
    late: AtomicU64,
    phone_rx: AtomicU64,
    phone_tx: AtomicU64,
    trunk_rx: AtomicU64,
    streams_started: AtomicU64,
    key_packets: AtomicU64,
    box_audio_trunk: AtomicU64,
    box_audio_phone: AtomicU64,
    cut: AtomicU64,
}

/// A snapshot of the counters; subtract two to get one run's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Packets the trunk side sent towards the box.
    pub sent: u64,
    pub send_failed: u64,
    /// Sends more than 20 ms behind their slot.
    pub late: u64,
    /// Packets the phones received (the box's trunk-to-phone relay).
    pub phone_rx: u64,
    /// Packets the phones sent back.
    pub phone_tx: u64,
    /// Echoes back at the trunk (the box's phone-to-trunk relay).
    pub trunk_rx: u64,
    pub streams_started: u64,
    /// Telephone-event packets sent (menu keys); not part of `sent`.
    pub key_packets: u64,
    /// With screening: packets at the trunk side that are not relayed frames (the
    /// box's prompts and music to the caller).
    pub box_audio_trunk: u64,
    /// With screening: packets at the phones that are not relayed frames.
    pub box_audio_phone: u64,
    /// Packets a stream did not send because its call was about to hang up.
    pub cut: u64,
}

impl Counts {
    pub fn since(&self, earlier: &Counts) -> Counts {
        Counts {
            sent: self.sent - earlier.sent,
            send_failed: self.send_failed - earlier.send_failed,
            late: self.late - earlier.late,
            phone_rx: self.phone_rx - earlier.phone_rx,
            phone_tx: self.phone_tx - earlier.phone_tx,
            trunk_rx: self.trunk_rx - earlier.trunk_rx,
            streams_started: self.streams_started - earlier.streams_started,
            key_packets: self.key_packets - earlier.key_packets,
            box_audio_trunk: self.box_audio_trunk - earlier.box_audio_trunk,
            box_audio_phone: self.box_audio_phone - earlier.box_audio_phone,
            cut: self.cut - earlier.cut,
        }
    }

    /// Packets offered to the relay in both directions, and those that came out.
    pub fn offered_and_delivered(&self) -> (u64, u64) {
        (self.sent + self.phone_tx, self.phone_rx + self.trunk_rx)
    }

    /// Lost fraction over both directions (0 when nothing was offered).
    pub fn loss(&self) -> f64 {
        let (offered, delivered) = self.offered_and_delivered();
        if offered == 0 {
            return 0.0;
        }
        offered.saturating_sub(delivered) as f64 / offered as f64
    }
}

impl Counters {
    fn snapshot(&self) -> Counts {
        Counts {
            sent: self.sent.load(Ordering::Relaxed),
            send_failed: self.send_failed.load(Ordering::Relaxed),
            late: self.late.load(Ordering::Relaxed),
            phone_rx: self.phone_rx.load(Ordering::Relaxed),
            phone_tx: self.phone_tx.load(Ordering::Relaxed),
            trunk_rx: self.trunk_rx.load(Ordering::Relaxed),
            streams_started: self.streams_started.load(Ordering::Relaxed),
            key_packets: self.key_packets.load(Ordering::Relaxed),
            box_audio_trunk: self.box_audio_trunk.load(Ordering::Relaxed),
            box_audio_phone: self.box_audio_phone.load(Ordering::Relaxed),
            cut: self.cut.load(Ordering::Relaxed),
        }
    }
}

enum Cmd {
    Start {
        slot: usize,
        to: SocketAddr,
        packets: u32,
        after: Duration,
    },
    /// A new call on `slot`: its menu key '1', `after` from now.
    Key {
        slot: usize,
        to: SocketAddr,
        after: Duration,
    },
    /// Speech on `slot` `after` from now, screened, continuing the key's stream;
    /// packets not sent by `until` are counted as cut.
    Speech {
        slot: usize,
        to: SocketAddr,
        packets: u32,
        after: Duration,
        until: Instant,
    },
}

/// A cheap, cloneable way to start streams from another thread (the sipp log reader).
#[derive(Clone)]
pub struct RigHandle {
    cmds: Sender<Cmd>,
    waker: Arc<Waker>,
    keys: Arc<KeyTimes>,
}

impl RigHandle {
    /// Sends `packets` packets from `slot`'s socket to `to`, one every 20 ms from
    /// `after` from now on.
    pub fn start_stream(&self, slot: usize, to: SocketAddr, packets: u32, after: Duration) {
        // The rig outlives every handle's user in main; a send after it stopped is moot.
        let _ = self.cmds.send(Cmd::Start {
            slot,
            to,
            packets,
            after,
        });
        let _ = self.waker.wake();
    }

    /// A call on `slot` was answered: press '1' towards `to` in `after`.
    pub fn press_key(&self, slot: usize, to: SocketAddr, after: Duration) {
        let _ = self.cmds.send(Cmd::Key { slot, to, after });
        let _ = self.waker.wake();
    }

    /// The call on `slot` is bridged: send `packets` screened speech packets to `to`
    /// from `after` on, none after `until`.
    pub fn start_speech(
        &self,
        slot: usize,
        to: SocketAddr,
        packets: u32,
        after: Duration,
        until: Instant,
    ) {
        let _ = self.cmds.send(Cmd::Speech {
            slot,
            to,
            packets,
            after,
            until,
        });
        let _ = self.waker.wake();
    }

    /// When the rig sent the first end packet of the last key on `slot`.
    pub fn key_sent(&self, slot: usize) -> Option<Instant> {
        let nanos = self.keys.sent.get(slot)?.load(Ordering::Relaxed);
        (nanos > 0).then(|| self.keys.epoch + Duration::from_nanos(nanos))
    }
}

/// When each slot's last key went out, as nanoseconds after `epoch` (0 = never).
struct KeyTimes {
    epoch: Instant,
    sent: Vec<AtomicU64>,
}

impl KeyTimes {
    fn mark(&self, slot: usize, at: Instant) {
        if let Some(t) = self.sent.get(slot) {
            let nanos = at.saturating_duration_since(self.epoch).as_nanos();
            t.store(
                u64::try_from(nanos).unwrap_or(u64::MAX).max(1),
                Ordering::Relaxed,
            );
        }
    }
}

/// The payloads a screened stream sends; a received packet is relayed speech if its
/// payload is one of them.
struct Screen {
    on: AtomicBool,
    frames: HashSet<[u8; PAYLOAD_LEN]>,
}

impl Screen {
    fn new(frames: &[[u8; PAYLOAD_LEN]]) -> Screen {
        Screen {
            on: AtomicBool::new(false),
            frames: frames.iter().filter(|f| distinct(f)).copied().collect(),
        }
    }

    /// False only when screening is on and `packet` carries none of our frames.
    fn passes(&self, packet: &[u8]) -> bool {
        if !self.on.load(Ordering::Relaxed) {
            return true;
        }
        rtp_payload(packet)
            .and_then(|p| <&[u8; PAYLOAD_LEN]>::try_from(p).ok())
            .is_some_and(|p| self.frames.contains(p))
    }
}

fn distinct(frame: &[u8; PAYLOAD_LEN]) -> bool {
    let mut seen = [false; 256];
    frame.iter().for_each(|&b| seen[b as usize] = true);
    seen.iter().filter(|&&s| s).count() >= MIN_DISTINCT_BYTES
}

/// The payload of an RTP packet, past its CSRCs and header extension.
fn rtp_payload(packet: &[u8]) -> Option<&[u8]> {
    let first = *packet.first()?;
    let mut at = 12 + 4 * usize::from(first & 0x0f);
    if first & 0x10 != 0 {
        let words = packet.get(at + 2..at + 4)?;
        at += 4 + 4 * usize::from(u16::from_be_bytes([words[0], words[1]]));
    }
    packet.get(at..)
}

/// The running rig: two threads, stopped and joined on drop.
pub struct Rig {
    pub trunk: PortPlan,
    pub phone: PortPlan,
    handle: RigHandle,
    counters: Arc<Counters>,
    screen: Arc<Screen>,
    stop: Arc<AtomicBool>,
    phone_waker: Arc<Waker>,
    threads: Vec<JoinHandle<()>>,
}

impl Rig {
    /// Binds SLOTS sockets on each address (trying a few bases until all bind) and
    /// starts both loops. `frames` are the 160-byte payloads to cycle through.
    pub fn start(
        trunk_ip: IpAddr,
        phone_ip: IpAddr,
        frames: Vec<[u8; PAYLOAD_LEN]>,
    ) -> io::Result<Rig> {
        let (trunk, trunk_socks) = bind_plan(trunk_ip)?;
        let (phone, phone_socks) = bind_plan(phone_ip)?;
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let screen = Arc::new(Screen::new(&frames));
        let speech: Vec<usize> = (0..frames.len())
            .filter(|&i| distinct(&frames[i]))
            .collect();
        if speech.is_empty() {
            return Err(io::Error::new(
                ErrorKind::InvalidData,
                "no speech frame is distinct enough to screen",
            ));
        }
        let keys = Arc::new(KeyTimes {
            epoch: Instant::now(),
            sent: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
        });

        let trunk_poll = Poll::new()?;
        let waker = Arc::new(Waker::new(trunk_poll.registry(), WAKER)?);
        let (cmds, cmd_rx) = unbounded();
        let phone_poll = Poll::new()?;
        let phone_waker = Arc::new(Waker::new(phone_poll.registry(), WAKER)?);

        let mut threads = Vec::new();
        let trunk_loop = TrunkLoop {
            poll: trunk_poll,
            socks: trunk_socks,
            cmds: cmd_rx,
            counters: counters.clone(),
            stop: stop.clone(),
            frames,
            speech,
            screen: screen.clone(),
            keys: keys.clone(),
        };
        threads.push(
            std::thread::Builder::new()
                .name("rig-trunk".into())
                .spawn(move || trunk_loop.run())?,
        );
        let (c, s, sc) = (counters.clone(), stop.clone(), screen.clone());
        threads.push(
            std::thread::Builder::new()
                .name("rig-phones".into())
                .spawn(move || echo_loop(phone_poll, phone_socks, c, s, sc))?,
        );
        Ok(Rig {
            trunk,
            phone,
            handle: RigHandle { cmds, waker, keys },
            counters,
            screen,
            stop,
            phone_waker,
            threads,
        })
    }

    pub fn handle(&self) -> RigHandle {
        self.handle.clone()
    }

    pub fn counts(&self) -> Counts {
        self.counters.snapshot()
    }

    /// Screening on: only packets carrying our frames count (and are echoed) as
    /// relayed; the ACD phases turn it on, the others leave it off.
    pub fn set_screening(&self, on: bool) {
        self.screen.on.store(on, Ordering::Relaxed);
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.handle.waker.wake();
        let _ = self.phone_waker.wake();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Binds every slot of a plan, moving the base when a port is taken (another test
/// may hold one); registering them for reading is left to the loop.
fn bind_plan(ip: IpAddr) -> io::Result<(PortPlan, Vec<UdpSocket>)> {
    let mut last_err = None;
    for base in (10_000u16..=50_000).step_by(10_010) {
        let plan = PortPlan { ip, base };
        let bound: io::Result<Vec<UdpSocket>> = (0..SLOTS)
            .map(|slot| UdpSocket::bind(plan.slot_addr(slot)))
            .collect();
        match bound {
            Ok(socks) => return Ok((plan, socks)),
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| io::Error::other("no port base")))
}

struct Stream {
    to: SocketAddr,
    left: u32,
    seq: u16,
    ts: u32,
    ssrc: u32,
    /// Bumped on each start so a stale timer entry of an earlier call is ignored.
    epoch: u32,
    /// Speech of a call through the ACD: distinct frames only, and a deadline.
    screened: Option<Instant>,
    /// The timestamp of this call's key.
    key_ts: u32,
}

/// What a timer entry sends: the next speech packet, or end packet n of the key.
const AUDIO: u8 = 0;

struct TrunkLoop {
    poll: Poll,
    socks: Vec<UdpSocket>,
    cmds: Receiver<Cmd>,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    frames: Vec<[u8; PAYLOAD_LEN]>,
    /// Indices of the frames a screened stream sends.
    speech: Vec<usize>,
    screen: Arc<Screen>,
    keys: Arc<KeyTimes>,
}

impl TrunkLoop {
    fn run(mut self) {
        for (slot, sock) in self.socks.iter_mut().enumerate() {
            if let Err(e) = self
                .poll
                .registry()
                .register(sock, Token(slot), Interest::READABLE)
            {
                eprintln!("rig: cannot register trunk socket {slot}: {e}");
                return;
            }
        }
        let mut streams: Vec<Option<Stream>> = (0..self.socks.len()).map(|_| None).collect();
        let mut epochs = vec![0u32; self.socks.len()];
        let mut due: BinaryHeap<Reverse<(Instant, usize, u32, u8)>> = BinaryHeap::new();
        let mut events = Events::with_capacity(1024);
        let mut buf = [0u8; 2048];
        let mut packet = [0u8; PACKET_LEN];
        while !self.stop.load(Ordering::Relaxed) {
            let timeout = due
                .peek()
                .map_or(Duration::from_millis(100), |Reverse((at, ..))| {
                    at.saturating_duration_since(Instant::now())
                });
            if let Err(e) = self.poll.poll(&mut events, Some(timeout))
                && e.kind() != ErrorKind::Interrupted
            {
                eprintln!("rig: trunk poll failed: {e}");
                return;
            }
            for ev in events.iter() {
                if ev.token() == WAKER {
                    continue;
                }
                let sock = &self.socks[ev.token().0];
                while let Ok((n, _)) = sock.recv_from(&mut buf) {
                    if self.screen.passes(&buf[..n]) {
                        self.counters.trunk_rx.fetch_add(1, Ordering::Relaxed);
                    } else {
                        self.counters
                            .box_audio_trunk
                            .fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            while let Ok(cmd) = self.cmds.try_recv() {
                let now = Instant::now();
                match cmd {
                    Cmd::Start {
                        slot,
                        to,
                        packets,
                        after,
                    } => {
                        if slot >= streams.len() || packets == 0 {
                            continue;
                        }
                        let epoch = new_stream(&mut streams, &mut epochs, slot, to, packets);
                        self.counters
                            .streams_started
                            .fetch_add(1, Ordering::Relaxed);
                        due.push(Reverse((now + after, slot, epoch, AUDIO)));
                    }
                    Cmd::Key { slot, to, after } => {
                        if slot >= streams.len() {
                            continue;
                        }
                        let epoch = new_stream(&mut streams, &mut epochs, slot, to, 0);
                        for n in 1..=KEY_END_PACKETS {
                            let at = now + after + PTIME * u32::from(n - 1);
                            due.push(Reverse((at, slot, epoch, n)));
                        }
                    }
                    Cmd::Speech {
                        slot,
                        to,
                        packets,
                        after,
                        until,
                    } => {
                        if slot >= streams.len() || packets == 0 {
                            continue;
                        }
                        let same = streams[slot].as_ref().is_some_and(|s| s.to == to);
                        if !same {
                            new_stream(&mut streams, &mut epochs, slot, to, 0);
                        }
                        let Some(stream) = streams[slot].as_mut() else {
                            continue;
                        };
                        stream.left = packets;
                        stream.screened = Some(until);
                        // After the key's 100 ms, as a phone's audio would go on.
                        stream.ts = stream.key_ts.wrapping_add(u32::from(KEY_DURATION));
                        self.counters
                            .streams_started
                            .fetch_add(1, Ordering::Relaxed);
                        due.push(Reverse((now + after, slot, stream.epoch, AUDIO)));
                    }
                }
            }
            let now = Instant::now();
            while let Some(&Reverse((at, slot, epoch, what))) = due.peek() {
                if at > now {
                    break;
                }
                due.pop();
                let Some(stream) = streams[slot].as_mut().filter(|s| s.epoch == epoch) else {
                    continue;
                };
                if what != AUDIO {
                    if what == 1 {
                        self.keys.mark(slot, now);
                    }
                    let n = write_key(&mut packet, stream, what == 1);
                    if self.socks[slot].send_to(&packet[..n], stream.to).is_ok() {
                        self.counters.key_packets.fetch_add(1, Ordering::Relaxed);
                    }
                    stream.seq = stream.seq.wrapping_add(1);
                    continue;
                }
                if stream.left == 0 {
                    continue;
                }
                if stream.screened.is_some_and(|until| now >= until) {
                    self.counters
                        .cut
                        .fetch_add(u64::from(stream.left), Ordering::Relaxed);
                    streams[slot] = None;
                    continue;
                }
                if now.duration_since(at) > LATE {
                    self.counters.late.fetch_add(1, Ordering::Relaxed);
                }
                let frame = if stream.screened.is_some() {
                    &self.frames[self.speech[stream.seq as usize % self.speech.len()]]
                } else {
                    &self.frames[stream.seq as usize % self.frames.len()]
                };
                write_rtp(&mut packet, stream, frame);
                match self.socks[slot].send_to(&packet, stream.to) {
                    Ok(_) => self.counters.sent.fetch_add(1, Ordering::Relaxed),
                    Err(_) => self.counters.send_failed.fetch_add(1, Ordering::Relaxed),
                };
                stream.seq = stream.seq.wrapping_add(1);
                stream.ts = stream.ts.wrapping_add(PAYLOAD_LEN as u32);
                stream.left -= 1;
                if stream.left == 0 {
                    streams[slot] = None;
                } else {
                    // Paced from the slot, not from now: a late loop catches up, so the
                    // box is offered the full rate.
                    due.push(Reverse((at + PTIME, slot, epoch, AUDIO)));
                }
            }
        }
    }
}

/// A fresh stream on `slot` (a new call there): new epoch, SSRC and key timestamp.
fn new_stream(
    streams: &mut [Option<Stream>],
    epochs: &mut [u32],
    slot: usize,
    to: SocketAddr,
    packets: u32,
) -> u32 {
    epochs[slot] = epochs[slot].wrapping_add(1);
    let epoch = epochs[slot];
    streams[slot] = Some(Stream {
        to,
        left: packets,
        seq: 0,
        ts: 0,
        ssrc: 0x5eed_0000 ^ slot as u32 ^ (epoch << 12),
        epoch,
        screened: None,
        // Any value will do as long as each call's differs.
        key_ts: (slot as u32).wrapping_mul(7919) ^ epoch.wrapping_mul(0x9e37_79b9),
    });
    epoch
}

/// One RFC 4733 end packet of the key '1'; returns its length.
fn write_key(packet: &mut [u8; PACKET_LEN], s: &Stream, first: bool) -> usize {
    packet[0] = 0x80;
    packet[1] = if first { 0x80 | DTMF_PT } else { DTMF_PT };
    packet[2..4].copy_from_slice(&s.seq.to_be_bytes());
    packet[4..8].copy_from_slice(&s.key_ts.to_be_bytes());
    packet[8..12].copy_from_slice(&s.ssrc.to_be_bytes());
    // Event, end bit and volume 10, duration.
    packet[12] = KEY_ONE;
    packet[13] = 0x80 | 10;
    packet[14..16].copy_from_slice(&KEY_DURATION.to_be_bytes());
    16
}

fn write_rtp(packet: &mut [u8; PACKET_LEN], s: &Stream, frame: &[u8; PAYLOAD_LEN]) {
    packet[0] = 0x80;
    packet[1] = if s.seq == 0 { 0x80 | 8 } else { 8 };
    packet[2..4].copy_from_slice(&s.seq.to_be_bytes());
    packet[4..8].copy_from_slice(&s.ts.to_be_bytes());
    packet[8..12].copy_from_slice(&s.ssrc.to_be_bytes());
    packet[12..].copy_from_slice(frame);
}

/// The phones: every packet goes back to its sender from the socket it came to.
fn echo_loop(
    mut poll: Poll,
    mut socks: Vec<UdpSocket>,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    screen: Arc<Screen>,
) {
    for (slot, sock) in socks.iter_mut().enumerate() {
        if let Err(e) = poll
            .registry()
            .register(sock, Token(slot), Interest::READABLE)
        {
            eprintln!("rig: cannot register phone socket {slot}: {e}");
            return;
        }
    }
    let mut events = Events::with_capacity(1024);
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        if let Err(e) = poll.poll(&mut events, Some(Duration::from_millis(100)))
            && e.kind() != ErrorKind::Interrupted
        {
            eprintln!("rig: phone poll failed: {e}");
            return;
        }
        for ev in events.iter() {
            if ev.token() == WAKER {
                continue;
            }
            let sock = &socks[ev.token().0];
            while let Ok((n, from)) = sock.recv_from(&mut buf) {
                if !screen.passes(&buf[..n]) {
                    counters.box_audio_phone.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                counters.phone_rx.fetch_add(1, Ordering::Relaxed);
                if sock.send_to(&buf[..n], from).is_ok() {
                    counters.phone_tx.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}
