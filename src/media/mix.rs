//! Mixes: each listed leg hears the sum of what the legs it lists send (three-way
//! calls, supervisor listen, whisper, barge).
//!
//! A bridge forwards each packet as it comes because one leg feeds one. A mix has
//! several sources with unrelated clocks and jitter, so it runs on the tick instead:
//! the packet path decodes each member's audio into its [`Backlog`], and once per
//! 20 ms tick every member gives one frame (silence when nothing came) and every
//! listener is sent the sum of the frames it hears, encoded in its own codec, as one
//! packet of its own outgoing stream (`Source::Mix`), so a leg going from bridge to
//! mix and back stays one stream. A leg never hears itself. A leg that cannot be sent
//! to (unconfigured, on hold, hearing a prompt) gets nothing, as with a bridge.
//!
//! Telephone-events never enter a mix: the packet path reports them as digits and
//! drops them, because summed they would be noise and relayed they would reach people
//! the digits are not for. Buffers are reserved when the arrangement is set, so
//! neither the packet path nor the tick allocates. The switchboard decides who hears
//! whom; this file only keeps the arrangement it was given.

use std::collections::HashMap;
use std::time::Instant;

use super::backlog::Backlog;
use super::g711;
use super::leg::Leg;
use super::prompt::FRAME;
use super::rtp::Header;
use super::stats::{Counters, bump};
use super::stream::{Body, Incoming, Source};
use crate::core::{Codec, LegId};

/// Most audio a member may buffer ahead of the tick: what it adds to the delay at
/// worst, so shorter than a recording's.
const MAX_BACKLOG: usize = 4 * FRAME;

/// One mixing room.
#[derive(Debug)]
pub struct Mix {
    /// Names this mix's frames in outgoing streams (see `Source::Mix`).
    pub id: u64,
    members: Vec<Member>,
    /// Ticks since the mix began: its own media clock.
    frames: u64,
}

#[derive(Debug)]
struct Member {
    leg: LegId,
    /// Whom it hears, never itself.
    hears: Vec<LegId>,
    backlog: Backlog,
    /// What it sent for the current tick.
    frame: [i16; FRAME],
}

impl Mix {
    pub fn new(id: u64) -> Mix {
        Mix {
            id,
            members: Vec::new(),
            frames: 0,
        }
    }

    /// Sets who hears whom. Every leg named, as listener or as heard, is a member;
    /// those that stay keep what they had buffered. Returns the members that left.
    pub fn arrange(&mut self, hears: &[(LegId, Vec<LegId>)]) -> Vec<LegId> {
        let mut old = std::mem::take(&mut self.members);
        let named = hears
            .iter()
            .flat_map(|(l, hs)| std::iter::once(l).chain(hs))
            .copied();
        for leg in named {
            if self.members.iter().any(|m| m.leg == leg) {
                continue;
            }
            let mut member = match old.iter().position(|m| m.leg == leg) {
                Some(i) => old.swap_remove(i),
                None => Member {
                    leg,
                    hears: Vec::new(),
                    backlog: Backlog::new(MAX_BACKLOG),
                    frame: [0; FRAME],
                },
            };
            member.hears.clear();
            for (_, hs) in hears.iter().filter(|(l, _)| *l == leg) {
                for &h in hs {
                    if h != leg && !member.hears.contains(&h) {
                        member.hears.push(h);
                    }
                }
            }
            self.members.push(member);
        }
        old.into_iter().map(|m| m.leg).collect()
    }

    pub fn legs(&self) -> impl Iterator<Item = LegId> + '_ {
        self.members.iter().map(|m| m.leg)
    }

    /// Takes `leg` out: it neither hears nor is heard.
    pub fn remove(&mut self, leg: LegId) {
        self.members.retain(|m| m.leg != leg);
        for m in &mut self.members {
            m.hears.retain(|&h| h != leg);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Audio received from `leg`; false if it is not a member.
    pub fn push(&mut self, leg: LegId, codec: Codec, payload: &[u8]) -> bool {
        match self.members.iter_mut().find(|m| m.leg == leg) {
            Some(m) => {
                m.backlog.push(codec, payload);
                true
            }
            None => false,
        }
    }

    /// Takes this tick's frame from every member.
    fn take_frames(&mut self) {
        for m in &mut self.members {
            m.backlog.take(&mut m.frame);
        }
        self.frames += 1;
    }

    /// What member `i` hears this tick, summed into `out`; false if it hears nobody.
    fn heard_by(&self, i: usize, out: &mut [i16; FRAME]) -> bool {
        let mut sum = [0i32; FRAME];
        let mut any = false;
        for h in &self.members[i].hears {
            let Some(src) = self.members.iter().find(|m| m.leg == *h) else {
                continue;
            };
            any = true;
            for (acc, &s) in sum.iter_mut().zip(&src.frame) {
                *acc += i32::from(s);
            }
        }
        for (o, s) in out.iter_mut().zip(sum) {
            *o = s.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
        }
        any
    }
}

/// One tick of `mix`: takes every member's frame and sends each listener its sum.
pub(super) fn send_frames(
    mix: &mut Mix,
    legs: &mut HashMap<LegId, Leg>,
    buf: &mut [u8],
    c: &Counters,
    now: Instant,
) {
    mix.take_frames();
    // The mix's own clock: tick `frames` starts at `frames` × 160 samples; each
    // listener's stream maps it onto its continuous timeline.
    let incoming = Incoming {
        seq: mix.frames as u16,
        ts: (mix.frames as u32).wrapping_mul(FRAME as u32),
        marker: false,
        body: Body::Audio {
            samples: FRAME as u32,
        },
    };
    let mut heard = [0i16; FRAME];
    for i in 0..mix.members.len() {
        let Some(leg) = legs.get_mut(&mix.members[i].leg) else {
            continue;
        };
        let Some((cfg, dest)) = leg
            .config
            .filter(|_| !leg.held && !leg.hears_prompt())
            .zip(leg.destination())
        else {
            continue;
        };
        if !mix.heard_by(i, &mut heard) {
            continue;
        }
        let rw = leg.out.rewrite(now, Source::Mix(mix.id), incoming);
        let header = Header {
            marker: rw.marker,
            pt: cfg.codec.payload_type(),
            seq: rw.seq,
            ts: rw.ts,
            ssrc: rw.ssrc,
        };
        let n = header.write(buf);
        for (b, &s) in buf[n..n + FRAME].iter_mut().zip(&heard) {
            *b = g711::encode(cfg.codec, s);
        }
        match leg.socket.send_to(&buf[..n + FRAME], dest) {
            Ok(_) => bump(&c.mix_frames),
            Err(e) => {
                bump(&c.mix_send_failed);
                log::debug!("{}: mix send to {dest} failed: {e}", leg.id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(m: &mut Mix, leg: u64, sample: i16) {
        m.push(
            LegId(leg),
            Codec::Pcmu,
            &[g711::encode(Codec::Pcmu, sample); FRAME],
        );
    }

    fn level(sample: i16) -> i16 {
        g711::decode(Codec::Pcmu, g711::encode(Codec::Pcmu, sample))
    }

    fn heard(m: &Mix, leg: u64) -> Option<i16> {
        let i = m.members.iter().position(|x| x.leg == LegId(leg))?;
        let mut out = [0; FRAME];
        m.heard_by(i, &mut out).then_some(out[0])
    }

    #[test]
    fn whisper_hears_as_arranged() {
        // 1 customer, 2 agent, 3 supervisor.
        let mut m = Mix::new(9);
        let gone = m.arrange(&[
            (LegId(1), vec![LegId(2)]),
            (LegId(2), vec![LegId(1), LegId(3), LegId(2)]),
            (LegId(3), vec![LegId(1), LegId(2)]),
        ]);
        assert!(gone.is_empty());
        send(&mut m, 1, 1000);
        send(&mut m, 2, 2000);
        send(&mut m, 3, 4000);
        m.take_frames();
        assert_eq!(heard(&m, 1), Some(level(2000)));
        assert_eq!(heard(&m, 2), Some(level(1000) + level(4000)), "not itself");
        assert_eq!(heard(&m, 3), Some(level(1000) + level(2000)));
        // Nothing came this tick: silence, still sent.
        m.take_frames();
        assert_eq!(heard(&m, 1), Some(0));
    }

    #[test]
    fn rearranging_and_removing_keep_the_rest() {
        let mut m = Mix::new(1);
        m.arrange(&[(LegId(1), vec![LegId(2), LegId(3)])]);
        assert_eq!(m.legs().collect::<Vec<_>>(), [LegId(1), LegId(2), LegId(3)]);
        send(&mut m, 2, 30_000);
        send(&mut m, 3, 30_000);
        let gone = m.arrange(&[(LegId(1), vec![LegId(2)]), (LegId(2), vec![])]);
        assert_eq!(gone, [LegId(3)]);
        m.take_frames();
        assert_eq!(heard(&m, 1), Some(level(30_000)), "2 kept its audio");
        assert_eq!(heard(&m, 2), None, "hears nobody");
        send(&mut m, 1, 30_000);
        send(&mut m, 2, 30_000);
        m.arrange(&[(LegId(1), vec![LegId(2)]), (LegId(2), vec![LegId(1)])]);
        m.take_frames();
        m.remove(LegId(2));
        assert_eq!(heard(&m, 1), None);
        m.remove(LegId(1));
        assert!(m.is_empty());
    }

    #[test]
    fn sums_saturate() {
        let mut m = Mix::new(1);
        m.arrange(&[(LegId(1), vec![LegId(2), LegId(3)])]);
        send(&mut m, 2, -30_000);
        send(&mut m, 3, -30_000);
        m.take_frames();
        assert_eq!(heard(&m, 1), Some(i16::MIN));
    }
}
