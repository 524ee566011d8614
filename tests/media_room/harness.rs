//! Test harness for `tests/media_room.rs`: a room on a probed port range, UDP
//! "phones" that speak RTP, G.711 helpers and a Goertzel tone check.
//!
//! It never reaches into the room's internals: everything goes through the public
//! API and real sockets on 127.0.0.1. Waits have deadlines; the only sleeps pace the
//! RTP the phones send.

use std::collections::VecDeque;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use audio_codec_algorithms::{decode_alaw, decode_ulaw, encode_alaw, encode_ulaw};
use callbox::core::{Codec, LegId, MediaCommand, MediaEvent};
use callbox::media::{self, MediaConfig, MediaHandle, MediaStats};
use crossbeam_channel::Receiver;

/// An even-aligned range of `len` ports on 127.0.0.1 that were all free just now.
pub fn free_range(len: u16) -> (u16, u16) {
    for _ in 0..100 {
        let base = (20_000 + rand::random::<u16>() % 30_000) & !1;
        let all_free = (base..base + len).all(|p| UdpSocket::bind(("127.0.0.1", p)).is_ok());
        if all_free {
            return (base, base + len - 1);
        }
    }
    panic!("no free port range on 127.0.0.1");
}

pub struct Room {
    pub handle: Option<MediaHandle>,
    pub events: Receiver<MediaEvent>,
    /// Events received while waiting for another one.
    pub seen: VecDeque<MediaEvent>,
}

impl Room {
    pub fn start(rtp_timeout: Duration) -> Room {
        Room::start_with_range(free_range(40), rtp_timeout)
    }

    pub fn start_with_range((port_min, port_max): (u16, u16), rtp_timeout: Duration) -> Room {
        let (tx, events) = crossbeam_channel::bounded(1000);
        let localhost = "127.0.0.1".parse().unwrap();
        let config = MediaConfig {
            bind: localhost,
            advertise: localhost,
            port_min,
            port_max,
            rtp_timeout,
        };
        let handle = media::spawn(config, tx).expect("media room starts");
        Room {
            handle: Some(handle),
            events,
            seen: VecDeque::new(),
        }
    }

    pub fn handle(&self) -> &MediaHandle {
        self.handle.as_ref().unwrap()
    }

    pub fn send(&self, cmd: MediaCommand) {
        self.handle().send(cmd).expect("command queued");
    }

    /// The first event matching `want` within `within`, or `None`.
    pub fn wait_for(
        &mut self,
        within: Duration,
        want: impl Fn(&MediaEvent) -> bool,
    ) -> Option<MediaEvent> {
        if let Some(i) = self.seen.iter().position(&want) {
            return self.seen.remove(i);
        }
        let deadline = Instant::now() + within;
        while let Ok(ev) = self.events.recv_deadline(deadline) {
            if want(&ev) {
                return Some(ev);
            }
            self.seen.push_back(ev);
        }
        None
    }

    pub fn open(&mut self, leg: LegId) -> SocketAddr {
        self.send(MediaCommand::Open { leg });
        match self.wait_for(Duration::from_secs(2), |e| matches!(e, MediaEvent::Opened { leg: l, .. } | MediaEvent::OpenFailed { leg: l, .. } if *l == leg)) {
            Some(MediaEvent::Opened { local, .. }) => local,
            other => panic!("{leg} did not open: {other:?}"),
        }
    }

    pub fn configure(&self, leg: LegId, peer: &Peer, codec: Codec, dtmf_pt: Option<u8>) {
        self.send(MediaCommand::Configure {
            leg,
            remote: peer.addr(),
            codec,
            dtmf_pt,
        });
    }

    /// Polls the counters until `want` holds (or 2 s pass) and returns them.
    pub fn wait_stats(&self, want: impl Fn(&MediaStats) -> bool) -> MediaStats {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let s = self.handle().stats();
            if want(&s) || Instant::now() > deadline {
                return s;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    pub fn shutdown(&mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown();
        }
    }
}

/// A phone's RTP socket.
pub struct Peer {
    pub socket: UdpSocket,
    pub ssrc: u32,
    pub seq: u16,
    pub ts: u32,
}

impl Peer {
    pub fn new() -> Peer {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        Peer {
            socket,
            ssrc: rand::random(),
            seq: rand::random(),
            ts: rand::random(),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    pub fn send_rtp(&mut self, to: SocketAddr, pt: u8, marker: bool, payload: &[u8], samples: u32) {
        let mut p = rtp(pt, marker, self.seq, self.ts, self.ssrc);
        p.extend_from_slice(payload);
        self.socket.send_to(&p, to).unwrap();
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(samples);
    }

    /// What has come, up to a pause of `quiet` (shorter than 20 ms for a leg that
    /// is sent a frame every tick).
    pub fn drain(&self, quiet: Duration) -> Vec<Rtp> {
        self.socket.set_read_timeout(Some(quiet)).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 2048];
        while out.len() < 10_000 {
            let Ok((len, _)) = self.socket.recv_from(&mut buf) else {
                break;
            };
            out.push(Rtp::parse(&buf[..len]));
        }
        self.socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        out
    }

    /// Receives RTP until `n` packets came or `within` passed.
    pub fn recv_n(&self, n: usize, within: Duration) -> Vec<Rtp> {
        let deadline = Instant::now() + within;
        let mut out = Vec::new();
        let mut buf = [0u8; 2048];
        while out.len() < n && Instant::now() < deadline {
            if let Ok((len, _)) = self.socket.recv_from(&mut buf) {
                out.push(Rtp::parse(&buf[..len]));
            }
        }
        out
    }
}

pub fn rtp(pt: u8, marker: bool, seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, (u8::from(marker) << 7) | pt];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p
}

/// A received packet; the room always sends a bare 12-byte header.
#[derive(Debug, Clone)]
pub struct Rtp {
    pub marker: bool,
    pub pt: u8,
    pub seq: u16,
    pub ts: u32,
    pub ssrc: u32,
    pub payload: Vec<u8>,
}

impl Rtp {
    pub fn parse(b: &[u8]) -> Rtp {
        assert!(
            b.len() >= 12 && b[0] == 0x80,
            "not a plain RTP packet: {b:?}"
        );
        Rtp {
            marker: b[1] & 0x80 != 0,
            pt: b[1] & 0x7f,
            seq: u16::from_be_bytes([b[2], b[3]]),
            ts: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            ssrc: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
            payload: b[12..].to_vec(),
        }
    }
}

pub fn tone(freq: f64, n: usize, start: usize) -> Vec<i16> {
    (start..start + n)
        .map(|i| ((2.0 * std::f64::consts::PI * freq * i as f64 / 8000.0).sin() * 10_000.0) as i16)
        .collect()
}

pub fn encode(codec: Codec, pcm: &[i16]) -> Vec<u8> {
    pcm.iter()
        .map(|&s| {
            if codec == Codec::Pcmu {
                encode_ulaw(s)
            } else {
                encode_alaw(s)
            }
        })
        .collect()
}

pub fn decode(codec: Codec, bytes: &[u8]) -> Vec<i16> {
    bytes
        .iter()
        .map(|&b| {
            if codec == Codec::Pcmu {
                decode_ulaw(b)
            } else {
                decode_alaw(b)
            }
        })
        .collect()
}

/// Relative power of `freq` in 8 kHz samples (Goertzel), normalised by length.
pub fn power(samples: &[i16], freq: f64, rate: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / rate;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in samples {
        let s = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (samples.len() as f64).powi(2)
}

/// `freq` clearly dominates `others` in `samples`.
pub fn assert_tone(samples: &[i16], freq: f64, others: &[f64], rate: f64) {
    assert!(!samples.is_empty(), "no audio");
    let p = power(samples, freq, rate);
    for &o in others {
        let q = power(samples, o, rate);
        assert!(
            p > 100.0 * q,
            "{freq} Hz not dominant: {p} vs {q} at {o} Hz"
        );
    }
    assert!(p > 1e5, "{freq} Hz too weak: {p}");
}

/// Each of `present` is clearly heard in `samples`, and each of `absent` is not (every
/// present tone is 100 times stronger than any absent one).
pub fn assert_hears(who: &str, samples: &[i16], present: &[f64], absent: &[f64]) {
    assert!(!samples.is_empty(), "{who} heard no audio");
    for &f in present {
        let p = power(samples, f, 8000.0);
        assert!(p > 1e5, "{who}: {f} Hz too weak: {p}");
        for &o in absent {
            let q = power(samples, o, 8000.0);
            assert!(
                p > 100.0 * q,
                "{who} hears {o} Hz ({q}) next to {f} Hz ({p})"
            );
        }
    }
}

/// The audio of `pkts`, decoded from `codec`.
pub fn audio(pkts: &[Rtp], codec: Codec) -> Vec<i16> {
    pkts.iter()
        .flat_map(|p| decode(codec, &p.payload))
        .collect()
}

pub fn assert_one_continuous_stream(pkts: &[Rtp]) {
    for w in pkts.windows(2) {
        assert_eq!(w[1].ssrc, w[0].ssrc, "SSRC changed");
        assert_eq!(
            w[1].seq,
            w[0].seq.wrapping_add(1),
            "sequence broke between {:?} and {:?}",
            w[0].seq,
            w[1].seq
        );
        let step = w[1].ts.wrapping_sub(w[0].ts);
        assert!((160..8000 * 5).contains(&step), "timestamp step {step}");
    }
}

pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "callbox-media-{name}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Sends 20 ms frames of `freq` from each (peer, to, codec) at real-time pace.
pub fn send_tones(senders: &mut [(&mut Peer, SocketAddr, Codec, f64)], frames: usize) {
    let start = Instant::now();
    for i in 0..frames {
        for (peer, to, codec, freq) in senders.iter_mut() {
            let payload = encode(*codec, &tone(*freq, 160, i * 160));
            peer.send_rtp(*to, codec.payload_type(), i == 0, &payload, 160);
        }
        // Pacing the traffic we generate, not waiting for the room.
        let next = start + Duration::from_millis(20 * (i as u64 + 1));
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
}

pub const A: LegId = LegId(1);
pub const B: LegId = LegId(2);
pub const C: LegId = LegId(3);
pub const SECOND: Duration = Duration::from_secs(1);
pub const LONG: Duration = Duration::from_secs(60);
