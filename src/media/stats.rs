//! Counters of the media room: what came in, what went out, and why anything was
//! dropped, so a benchmark or the health page can compute loss.
//!
//! The media thread bumps relaxed atomics; readers take a [`MediaStats`] snapshot at
//! any time without locking. Accounting rule, for loss computations: every datagram
//! received is counted once in `packets_in` and ends in exactly one of `forwarded`,
//! `mixed_in` or a `dropped_*` counter (DTMF packets that were only reported end in
//! `dropped_no_dtmf_pt` when the partner has no telephone-event type, and in
//! `dropped_not_relayed` when they came from a leg in a mix). Mixes send on the tick,
//! not per packet received, so their frames are counted apart (`mix_frames`).

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of the counters since the room started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaStats {
    /// Legs with an open socket now.
    pub legs_open: u64,
    /// Datagrams read from leg sockets.
    pub packets_in: u64,
    /// Packets relayed to a bridged partner (sent successfully).
    pub forwarded: u64,
    /// Audio packets taken into a mix (decoded into the sender's mix buffer).
    pub mixed_in: u64,
    /// Not RTP: too short, wrong version, lengths past the datagram.
    pub dropped_malformed: u64,
    /// RTP with a payload type that is neither the leg's codec nor its DTMF type.
    pub dropped_unknown_pt: u64,
    /// Arrived on a leg that has had no `Configure`.
    pub dropped_unconfigured: u64,
    /// From an address other than the one the leg latched onto.
    pub dropped_foreign_source: u64,
    /// Arrived on a leg on hold.
    pub dropped_held: u64,
    /// Valid, but nobody to hear it: no partner, or the partner is unconfigured, on
    /// hold or hearing a prompt; or a telephone-event from a leg in a mix (reported,
    /// never mixed).
    pub dropped_not_relayed: u64,
    /// A telephone-event for a partner that has no telephone-event payload type.
    pub dropped_no_dtmf_pt: u64,
    /// The relay send failed (socket buffer full, unreachable).
    pub dropped_send_failed: u64,
    /// Prompt frames sent.
    pub prompt_frames: u64,
    /// Prompt frames whose send failed.
    pub prompt_send_failed: u64,
    /// 20 ms mix frames sent to listeners.
    pub mix_frames: u64,
    /// Mix frames whose send failed.
    pub mix_send_failed: u64,
    /// DTMF digits reported.
    pub dtmf_digits: u64,
    /// 20 ms recording frames lost because the disk writer fell behind.
    pub record_frames_dropped: u64,
    /// Commands refused because the queue was full.
    pub commands_refused: u64,
    /// Ticks that came more than 100 ms late (the media thread was starved).
    pub ticks_late: u64,
}

impl MediaStats {
    /// Every datagram received but not forwarded.
    pub fn dropped(&self) -> u64 {
        self.dropped_malformed
            + self.dropped_unknown_pt
            + self.dropped_unconfigured
            + self.dropped_foreign_source
            + self.dropped_held
            + self.dropped_not_relayed
            + self.dropped_no_dtmf_pt
            + self.dropped_send_failed
    }

    /// Packets sent on any leg (relayed, prompt and mix frames).
    pub fn packets_out(&self) -> u64 {
        self.forwarded + self.prompt_frames + self.mix_frames
    }
}

macro_rules! counters {
    ($($field:ident),* $(,)?) => {
        /// The live atomics behind [`MediaStats`].
        #[derive(Debug, Default)]
        pub struct Counters {
            $(pub $field: AtomicU64,)*
        }

        impl Counters {
            pub fn snapshot(&self) -> MediaStats {
                MediaStats { $($field: self.$field.load(Ordering::Relaxed),)* }
            }
        }
    };
}

counters!(
    legs_open,
    packets_in,
    forwarded,
    mixed_in,
    dropped_malformed,
    dropped_unknown_pt,
    dropped_unconfigured,
    dropped_foreign_source,
    dropped_held,
    dropped_not_relayed,
    dropped_no_dtmf_pt,
    dropped_send_failed,
    prompt_frames,
    prompt_send_failed,
    mix_frames,
    mix_send_failed,
    dtmf_digits,
    record_frames_dropped,
    commands_refused,
    ticks_late,
);

/// Adds one to a counter.
pub fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}
