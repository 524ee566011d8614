//! One leg's outgoing RTP stream: a fixed SSRC with continuous sequence numbers and
//! timestamps, whatever feeds it.
//!
//! A leg hears a prompt, then a bridged partner, then a mix of several: three sources
//! with unrelated SSRCs, sequence numbers and clocks. The receiving phone must see one
//! stream, or its jitter buffer resets or drops audio. So each source gets an offset,
//! computed when it takes over: the sequence number goes on from the last one sent,
//! and the timestamp from the last one plus the wall time elapsed (never less than
//! the last packet's length, so audio never overlaps). Within a source the offsets are
//! fixed, which keeps its own gaps, reordering and DTMF timestamps intact.
//!
//! Pure: the caller passes the time; no sockets, no clock reads.

use std::time::Instant;

use crate::core::LegId;

/// G.711 clock rate: RTP timestamp units per second.
pub const CLOCK_RATE: u32 = 8000;

/// What is feeding the stream. A change of source re-anchors the offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Packets relayed from a bridged leg, as sent by that leg's peer with `ssrc`.
    Relay { from: LegId, ssrc: u32 },
    /// A prompt playback, numbered by the engine so that two plays differ.
    Prompt(u64),
    /// The frames of a mix, numbered by the engine per mix (not by the switchboard's
    /// room number, which may come back with a fresh frame count).
    Mix(u64),
}

/// The rewritten header fields for one outgoing packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewritten {
    pub ssrc: u32,
    pub seq: u16,
    pub ts: u32,
    pub marker: bool,
}

/// One incoming packet as the stream sees it.
#[derive(Debug, Clone, Copy)]
pub struct Incoming {
    pub seq: u16,
    pub ts: u32,
    pub marker: bool,
    pub body: Body,
}

/// What a packet covers on the media clock, which decides where the next source
/// may start after it.
#[derive(Debug, Clone, Copy)]
pub enum Body {
    /// `samples` of audio from `ts` on; sent once captured, so the clock stood at
    /// about `ts` when it was sent, and the next audio starts no earlier than
    /// `ts + samples`.
    Audio { samples: u32 },
    /// A telephone-event that started at `ts` and has lasted `duration` so far: every
    /// packet of the event carries the start timestamp, so the clock stood at
    /// `ts + duration` when it was sent.
    Event { duration: u32 },
}

#[derive(Debug)]
pub struct OutStream {
    ssrc: u32,
    source: Option<Source>,
    seq_offset: u16,
    ts_offset: u32,
    /// Newest packet sent: its sequence number, where the media clock stood, and when.
    last: Option<Last>,
    /// Where the very first packet starts (random per RFC 3550).
    first_seq: u16,
    first_ts: u32,
}

#[derive(Debug, Clone, Copy)]
struct Last {
    seq: u16,
    /// The media clock when the packet was sent (in our timestamps).
    clock: u32,
    /// How far past `clock` its media reaches (audio length; 0 for events).
    reach: u32,
    at: Instant,
}

impl OutStream {
    pub fn new(ssrc: u32, first_seq: u16, first_ts: u32) -> OutStream {
        OutStream {
            ssrc,
            source: None,
            seq_offset: 0,
            ts_offset: 0,
            last: None,
            first_seq,
            first_ts,
        }
    }

    /// Maps one packet from `source` into this stream.
    pub fn rewrite(&mut self, now: Instant, source: Source, pkt: Incoming) -> Rewritten {
        let switched = self.source != Some(source);
        if switched {
            let (seq, ts) = match self.last {
                None => (self.first_seq, self.first_ts),
                Some(last) => {
                    let elapsed = now.saturating_duration_since(last.at);
                    let elapsed_samples =
                        (elapsed.as_micros() * u128::from(CLOCK_RATE) / 1_000_000) as u64;
                    // At least the last packet's reach, so the new audio never starts
                    // inside the old; at most a day, so the cast cannot wrap twice.
                    let advance = elapsed_samples.clamp(u64::from(last.reach), 86_400 * 8000);
                    (
                        last.seq.wrapping_add(1),
                        last.clock.wrapping_add(advance as u32),
                    )
                }
            };
            self.seq_offset = seq.wrapping_sub(pkt.seq);
            self.ts_offset = ts.wrapping_sub(pkt.ts);
            self.source = Some(source);
        }
        let seq = pkt.seq.wrapping_add(self.seq_offset);
        let ts = pkt.ts.wrapping_add(self.ts_offset);
        let newer = match self.last {
            None => true,
            // Serial-number arithmetic (RFC 1982): ahead by less than half the space.
            Some(last) => seq != last.seq && seq.wrapping_sub(last.seq) < 0x8000,
        };
        if newer {
            let (clock, reach) = match pkt.body {
                Body::Audio { samples } => (ts, samples),
                Body::Event { duration } => (ts.wrapping_add(duration), 0),
            };
            self.last = Some(Last {
                seq,
                clock,
                reach,
                at: now,
            });
        }
        Rewritten {
            ssrc: self.ssrc,
            seq,
            ts,
            marker: pkt.marker || switched,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn audio(seq: u16, ts: u32) -> Incoming {
        Incoming {
            seq,
            ts,
            marker: false,
            body: Body::Audio { samples: 160 },
        }
    }

    /// Feeds `n` packets 20 ms apart from `source`, starting at `t`, and returns what
    /// came out plus the time after the last one.
    fn run(
        s: &mut OutStream,
        t: Instant,
        source: Source,
        seq0: u16,
        ts0: u32,
        n: u16,
    ) -> (Vec<Rewritten>, Instant) {
        let mut out = Vec::new();
        let mut now = t;
        for i in 0..n {
            out.push(s.rewrite(
                now,
                source,
                audio(seq0.wrapping_add(i), ts0.wrapping_add(160 * u32::from(i))),
            ));
            now += Duration::from_millis(20);
        }
        (out, now)
    }

    fn assert_continuous(all: &[Rewritten]) {
        for w in all.windows(2) {
            assert_eq!(w[1].ssrc, w[0].ssrc);
            assert_eq!(w[1].seq, w[0].seq.wrapping_add(1), "{w:?}");
            assert_eq!(w[1].ts.wrapping_sub(w[0].ts), 160, "{w:?}");
        }
    }

    #[test]
    fn stays_continuous_across_prompt_then_two_bridges() {
        let t0 = Instant::now();
        let mut s = OutStream::new(0x1111, 65530, 0xffff_ff00);
        let (a, t) = run(&mut s, t0, Source::Prompt(1), 0, 0, 10);
        let (b, t) = run(
            &mut s,
            t,
            Source::Relay {
                from: LegId(7),
                ssrc: 42,
            },
            30000,
            123_456,
            10,
        );
        let (c, _) = run(
            &mut s,
            t,
            Source::Relay {
                from: LegId(9),
                ssrc: 99,
            },
            5,
            4_000_000_000,
            10,
        );
        assert_eq!(a[0].seq, 65530);
        assert!(a[0].marker && b[0].marker && c[0].marker);
        assert!(!a[1].marker && !b[1].marker);
        let all: Vec<_> = a.into_iter().chain(b).chain(c).collect();
        assert_continuous(&all);
    }

    #[test]
    fn silence_between_sources_advances_the_timestamp_by_wall_time() {
        let t0 = Instant::now();
        let mut s = OutStream::new(1, 0, 0);
        let (a, t) = run(&mut s, t0, Source::Prompt(1), 0, 0, 3);
        // Last prompt frame went at t0+40 ms; the partner starts 1 s after that.
        let later = t + Duration::from_millis(980);
        let b = s.rewrite(
            later,
            Source::Relay {
                from: LegId(2),
                ssrc: 5,
            },
            audio(100, 7),
        );
        assert_eq!(b.seq, a[2].seq + 1);
        assert_eq!(b.ts - a[2].ts, 8000);
    }

    #[test]
    fn a_quick_switch_never_overlaps_the_last_packet() {
        let t0 = Instant::now();
        let mut s = OutStream::new(1, 0, 0);
        let a = s.rewrite(t0, Source::Prompt(1), audio(0, 0));
        let b = s.rewrite(
            t0 + Duration::from_millis(1),
            Source::Prompt(2),
            audio(0, 0),
        );
        assert_eq!(b.ts - a.ts, 160);
    }

    #[test]
    fn keeps_the_source_gaps_and_reordering() {
        let t0 = Instant::now();
        let mut s = OutStream::new(1, 1000, 0);
        let src = Source::Relay {
            from: LegId(1),
            ssrc: 3,
        };
        let first = s.rewrite(t0, src, audio(10, 1600));
        // Packet 12 arrives before 11: both keep their place relative to the first.
        let late = t0 + Duration::from_millis(40);
        let twelve = s.rewrite(late, src, audio(12, 1920));
        let eleven = s.rewrite(late, src, audio(11, 1760));
        assert_eq!((twelve.seq, twelve.ts), (first.seq + 2, first.ts + 320));
        assert_eq!((eleven.seq, eleven.ts), (first.seq + 1, first.ts + 160));
        // The late one did not become "the last": the next switch follows packet 12.
        let next = s.rewrite(
            late + Duration::from_millis(20),
            Source::Prompt(1),
            audio(0, 0),
        );
        assert_eq!(next.seq, twelve.seq + 1);
    }

    #[test]
    fn a_new_ssrc_from_the_same_leg_is_a_new_source() {
        let t0 = Instant::now();
        let mut s = OutStream::new(1, 0, 0);
        let (a, t) = run(
            &mut s,
            t0,
            Source::Relay {
                from: LegId(1),
                ssrc: 3,
            },
            500,
            9,
            2,
        );
        let b = s.rewrite(
            t,
            Source::Relay {
                from: LegId(1),
                ssrc: 4,
            },
            audio(7, 70_000),
        );
        assert_eq!(b.seq, a[1].seq + 1);
        assert_eq!(b.ts - a[1].ts, 160);
    }

    #[test]
    fn audio_after_a_relayed_digit_starts_where_the_digit_ended() {
        let t0 = Instant::now();
        let mut s = OutStream::new(1, 0, 0);
        let from_a = Source::Relay {
            from: LegId(1),
            ssrc: 3,
        };
        let first = s.rewrite(t0, from_a, audio(1, 1000));
        // A 500 ms digit starting right after: its packets all carry ts 1160.
        let ev = |seq, duration| Incoming {
            seq,
            ts: 1160,
            marker: false,
            body: Body::Event { duration },
        };
        let mut t = t0;
        for (i, d) in [800, 1600, 2400, 3200, 4000, 4000, 4000]
            .into_iter()
            .enumerate()
        {
            t = t0 + Duration::from_millis(20 + 100 * i.min(4) as u64);
            let out = s.rewrite(t, from_a, ev(2 + i as u16, d));
            assert_eq!(out.ts, first.ts + 160, "one event, one timestamp");
        }
        // Another leg takes over 20 ms after the last end packet: its audio starts
        // after the digit's 4000 samples, not inside them.
        let b = s.rewrite(
            t + Duration::from_millis(20),
            Source::Prompt(1),
            audio(0, 0),
        );
        assert_eq!(b.ts - (first.ts + 160), 4000 + 160);
    }
}
