//! A bounded queue of decoded 8 kHz samples between the packet path and the tick.
//!
//! Packets come when the network delivers them and frames leave once per 20 ms tick;
//! the queue takes up the difference (jitter, 10 ms or 30 ms packets). It is bounded
//! because a sender faster than the tick (clock drift, a burst after a stall) would
//! otherwise add delay without end: past the bound the oldest audio goes. Its memory
//! is reserved up front and never exceeded, so pushing from the packet path never
//! allocates. Recordings and mixes both use it.

use std::collections::VecDeque;

use super::g711;
use crate::core::Codec;

#[derive(Debug)]
pub struct Backlog {
    samples: VecDeque<i16>,
    max: usize,
}

impl Backlog {
    /// An empty queue that keeps at most `max` samples.
    pub fn new(max: usize) -> Backlog {
        Backlog {
            samples: VecDeque::with_capacity(max),
            max,
        }
    }

    /// Decodes a G.711 payload onto the end, dropping the oldest audio past the bound.
    pub fn push(&mut self, codec: Codec, payload: &[u8]) {
        let payload = &payload[payload.len().saturating_sub(self.max)..];
        let over = (self.samples.len() + payload.len()).saturating_sub(self.max);
        self.samples.drain(..over);
        self.samples
            .extend(payload.iter().map(|&b| g711::decode(codec, b)));
    }

    /// Fills `out` from the front, silence where nothing came.
    pub fn take(&mut self, out: &mut [i16]) {
        for s in out {
            *s = self.samples.pop_front().unwrap_or(0);
        }
    }

    pub fn clear(&mut self) {
        self.samples.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_audio_within_its_bound() {
        let mut b = Backlog::new(4);
        let one = g711::encode(Codec::Pcmu, 1000);
        let two = g711::encode(Codec::Pcmu, -1000);
        b.push(Codec::Pcmu, &[one; 3]);
        b.push(Codec::Pcmu, &[two; 3]);
        let mut out = [7; 6];
        b.take(&mut out);
        let (x, y) = (
            g711::decode(Codec::Pcmu, one),
            g711::decode(Codec::Pcmu, two),
        );
        assert_eq!(out, [x, y, y, y, 0, 0]);
        // A payload longer than the bound keeps only its end.
        b.push(Codec::Pcmu, &[one, one, two, two, two, two]);
        b.take(&mut out);
        assert_eq!(out, [y, y, y, y, 0, 0]);
        assert!(b.samples.capacity() >= 4);
    }
}
