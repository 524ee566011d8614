//! G.711 µ-law and A-law: decode, encode and direct transcoding.
//!
//! The companding itself comes from `audio-codec-algorithms` (already pulled in by
//! rubato), whose µ-law↔A-law tables are ITU-T G.711 tables 3 and 4: a direct
//! 256-entry byte map, so relaying between a PCMU and a PCMA leg costs one lookup per
//! sample and never goes through linear PCM (and keeps the standard's bit
//! transparency for µ-A-µ double conversions). This file only maps our [`Codec`] onto
//! those functions; it must stay free of I/O and allocation on the relay path.

use audio_codec_algorithms::{
    convert_alaw_to_ulaw, convert_ulaw_to_alaw, decode_alaw, decode_ulaw, encode_alaw, encode_ulaw,
};

use crate::core::Codec;

/// Rewrites `payload` in place from `from` to `to` (a no-op when they match).
pub fn transcode_in_place(from: Codec, to: Codec, payload: &mut [u8]) {
    match (from, to) {
        (Codec::Pcmu, Codec::Pcma) => payload
            .iter_mut()
            .for_each(|b| *b = convert_ulaw_to_alaw(*b)),
        (Codec::Pcma, Codec::Pcmu) => payload
            .iter_mut()
            .for_each(|b| *b = convert_alaw_to_ulaw(*b)),
        _ => {}
    }
}

/// One encoded sample to linear 16-bit PCM.
pub fn decode(codec: Codec, byte: u8) -> i16 {
    match codec {
        Codec::Pcmu => decode_ulaw(byte),
        Codec::Pcma => decode_alaw(byte),
    }
}

/// One linear sample to its encoded byte.
pub fn encode(codec: Codec, sample: i16) -> u8 {
    match codec {
        Codec::Pcmu => encode_ulaw(sample),
        Codec::Pcma => encode_alaw(sample),
    }
}

/// The encoded byte of digital silence in `codec`.
pub fn silence(codec: Codec) -> u8 {
    encode(codec, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_round_trip_stays_within_quantisation_error() {
        for codec in [Codec::Pcmu, Codec::Pcma] {
            for x in (-32000i32..32000).step_by(37) {
                let x = x as i16;
                let back = decode(codec, encode(codec, x));
                // Both laws keep about 3% relative error above the small-signal steps.
                let tolerance = (i32::from(x).abs() / 16).max(16);
                assert!(
                    (i32::from(back) - i32::from(x)).abs() <= tolerance,
                    "{codec:?}: {x} came back as {back}"
                );
            }
        }
    }

    #[test]
    fn every_code_survives_its_own_round_trip() {
        for codec in [Codec::Pcmu, Codec::Pcma] {
            for b in 0..=255u8 {
                let y = decode(codec, b);
                assert_eq!(decode(codec, encode(codec, y)), y, "{codec:?} code {b}");
            }
        }
    }

    #[test]
    fn transcoding_tables_keep_sign_and_level_symmetric() {
        for b in 0..=255u8 {
            let mut one = [b];
            transcode_in_place(Codec::Pcmu, Codec::Pcma, &mut one);
            let (u, a) = (decode(Codec::Pcmu, b), decode(Codec::Pcma, one[0]));
            // Same sign (µ-law has a negative zero, which may become -8 in A-law),
            // and the same level within one A-law step.
            assert!(
                u.signum() * a.signum() >= 0,
                "sign of µ-law {b}: {u} vs {a}"
            );
            let step = (i32::from(u).abs() / 8).max(16);
            assert!(
                (i32::from(u) - i32::from(a)).abs() <= step,
                "µ {b}: {u} vs {a}"
            );
            // The map is odd-symmetric: flipping the sign bit flips the sign bit.
            let mut neg = [b ^ 0x80];
            transcode_in_place(Codec::Pcmu, Codec::Pcma, &mut neg);
            assert_eq!(neg[0], one[0] ^ 0x80);
            // G.711 promises µ→A→µ is transparent up to one step.
            let mut back = one;
            transcode_in_place(Codec::Pcma, Codec::Pcmu, &mut back);
            let diff = (i32::from(decode(Codec::Pcmu, back[0])) - i32::from(u)).abs();
            assert!(diff <= step, "µ {b} came back as {}", back[0]);
        }
    }

    #[test]
    fn same_codec_is_untouched() {
        let mut p = [1u8, 2, 3, 250];
        transcode_in_place(Codec::Pcma, Codec::Pcma, &mut p);
        assert_eq!(p, [1, 2, 3, 250]);
    }
}
