//! The per-packet path: validate what a leg received, report DTMF, feed recordings,
//! and relay to the bridged partner rewritten into the partner's own stream (or, for
//! a leg in a mix, hand the audio to the mix, which sends on the tick); plus the
//! per-tick prompt frame.
//!
//! This is the hot path. It allocates nothing, takes no lock and reads each packet
//! once. Every packet ends in exactly one counter (see `stats`), so loss can be
//! accounted for. It must never send to a leg that has not been configured, is on
//! hold or is hearing a prompt, and never relay a payload type the partner did not
//! negotiate: audio is transcoded to the partner's codec and telephone-events are
//! renumbered to the partner's event type, or dropped if it has none.

use std::net::SocketAddr;
use std::time::Instant;

use super::dtmf;
use super::engine::Engine;
use super::g711;
use super::leg::{Latch, Leg, Play};
use super::prompt::FRAME;
use super::rtp::{self, Header};
use super::stats::{Counters, bump};
use super::stream::{Body, Incoming, Source};
use crate::core::{LegId, MediaEvent};

impl Engine {
    pub(super) fn on_datagram(&mut self, id: LegId, data: &[u8], from: SocketAddr, now: Instant) {
        let c = &*self.counters;
        bump(&c.packets_in);
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let Some(cfg) = leg.config else {
            bump(&c.dropped_unconfigured);
            return;
        };
        let pkt = match rtp::parse(data) {
            Ok(p) => p,
            Err(why) => {
                bump(&c.dropped_malformed);
                log::trace!("{id}: malformed RTP from {from}: {why:?}");
                return;
            }
        };
        let is_event = if pkt.pt == cfg.codec.payload_type() {
            false
        } else if Some(pkt.pt) == cfg.dtmf_pt {
            true
        } else {
            bump(&c.dropped_unknown_pt);
            return;
        };
        let event = if is_event {
            let Some(ev) = dtmf::Event::parse(pkt.payload) else {
                bump(&c.dropped_malformed);
                return;
            };
            Some(ev)
        } else {
            None
        };
        match leg.latch.check(from, now) {
            Latch::Accept => {}
            Latch::First => {
                if from != cfg.remote {
                    log::info!(
                        "{id}: RTP comes from {from}, not {} as signalled; sending there",
                        cfg.remote
                    );
                }
            }
            Latch::Moved { from: old } => log::info!("{id}: RTP source moved from {old} to {from}"),
            Latch::Reject => {
                bump(&c.dropped_foreign_source);
                return;
            }
        }
        leg.last_rx = now;
        leg.timed_out = false;
        if leg.held {
            bump(&c.dropped_held);
            return;
        }
        if let Some(ev) = event {
            let events = &self.events;
            leg.dtmf.on_packet(pkt.ts, ev, |d| {
                bump(&c.dtmf_digits);
                let _ = events.send(MediaEvent::Dtmf {
                    leg: id,
                    digit: d.digit,
                    duration_ms: d.duration_ms,
                });
            });
        } else {
            for rec in &leg.recordings {
                if let Some(r) = self.recordings.get_mut(rec) {
                    r.push(id, cfg.codec, pkt.payload);
                }
            }
        }
        if let Some(room) = leg.mix {
            // A mixed leg's audio waits for the tick; its digits were reported above
            // and go no further.
            let mixed = event.is_none()
                && self
                    .mixes
                    .get_mut(&room)
                    .is_some_and(|mix| mix.push(id, cfg.codec, pkt.payload));
            bump(if mixed {
                &c.mixed_in
            } else {
                &c.dropped_not_relayed
            });
            return;
        }

        let Some(partner) = leg.partner.and_then(|p| self.legs.get_mut(&p)) else {
            bump(&c.dropped_not_relayed);
            return;
        };
        let Some(pcfg) = partner
            .config
            .filter(|_| !partner.held && !partner.hears_prompt())
        else {
            bump(&c.dropped_not_relayed);
            return;
        };
        let pt = if is_event {
            let Some(pt) = pcfg.dtmf_pt else {
                bump(&c.dropped_no_dtmf_pt);
                return;
            };
            pt
        } else {
            pcfg.codec.payload_type()
        };
        let body = match event {
            Some(ev) => Body::Event {
                duration: u32::from(ev.duration),
            },
            None => Body::Audio {
                samples: pkt.payload.len() as u32,
            },
        };
        let rw = partner.out.rewrite(
            now,
            Source::Relay {
                from: id,
                ssrc: pkt.ssrc,
            },
            Incoming {
                seq: pkt.seq,
                ts: pkt.ts,
                marker: pkt.marker,
                body,
            },
        );
        let header = Header {
            marker: rw.marker,
            pt,
            seq: rw.seq,
            ts: rw.ts,
            ssrc: rw.ssrc,
        };
        let n = header.write(&mut self.tx_buf);
        // Our header is never longer than the one parsed and both buffers are BUF
        // long, so the payload always fits; `get_mut` keeps that a drop, not a panic.
        let Some(body) = self.tx_buf.get_mut(n..n + pkt.payload.len()) else {
            bump(&c.dropped_malformed);
            return;
        };
        body.copy_from_slice(pkt.payload);
        if !is_event {
            g711::transcode_in_place(cfg.codec, pcfg.codec, body);
        }
        let Some(dest) = partner.destination() else {
            return;
        };
        match partner
            .socket
            .send_to(&self.tx_buf[..n + pkt.payload.len()], dest)
        {
            Ok(_) => bump(&c.forwarded),
            Err(e) => {
                bump(&c.dropped_send_failed);
                log::debug!("{}: send to {dest} failed: {e}", partner.id);
            }
        }
    }
}

/// Sends the leg's next prompt frame, if it is playing one. Returns true when a
/// non-looped prompt has just ended. A leg that cannot be sent to (unconfigured, on
/// hold) still advances, so prompts keep wall-clock time and `PlayDone` comes on time.
pub(super) fn play_frame(leg: &mut Leg, buf: &mut [u8], c: &Counters, now: Instant) -> bool {
    let target = leg.config.filter(|_| !leg.held).zip(leg.destination());
    let Play::Playing(pb) = &mut leg.play else {
        return false;
    };
    let Some((frame, count)) = pb.advance() else {
        return true;
    };
    let Some((cfg, dest)) = target else {
        return false;
    };
    let Some(payload) = pb.prompt.frame(cfg.codec, frame) else {
        return false;
    };
    // The play's own clock: frame `count` starts at `count` × 160 samples; the stream
    // maps it onto the leg's continuous timeline.
    let incoming = Incoming {
        seq: count as u16,
        ts: (count as u32).wrapping_mul(FRAME as u32),
        marker: false,
        body: Body::Audio {
            samples: FRAME as u32,
        },
    };
    let rw = leg.out.rewrite(now, Source::Prompt(pb.id), incoming);
    let header = Header {
        marker: rw.marker,
        pt: cfg.codec.payload_type(),
        seq: rw.seq,
        ts: rw.ts,
        ssrc: rw.ssrc,
    };
    let n = header.write(buf);
    buf[n..n + FRAME].copy_from_slice(payload);
    match leg.socket.send_to(&buf[..n + FRAME], dest) {
        Ok(_) => bump(&c.prompt_frames),
        Err(e) => {
            bump(&c.prompt_send_failed);
            log::debug!("{}: prompt send to {dest} failed: {e}", leg.id);
        }
    }
    false
}
