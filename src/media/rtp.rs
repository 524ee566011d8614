//! RTP packet parsing and building (RFC 3550 §5.1), pure and allocation-free.
//!
//! It owns the wire format only: no sockets, no per-stream state. Every byte it reads
//! comes from a peer, so parsing never panics and never trusts a length field: the
//! fixed header, the CSRC list, the header extension and the padding must all fit in
//! the datagram, or the packet is refused with the reason (counted by the engine).
//! Outgoing packets are always written with a bare 12-byte header: we drop CSRCs,
//! extensions and padding because the rewritten stream is ours, not the source's.

/// Length of the fixed RTP header.
pub const HEADER_LEN: usize = 12;

/// Why a datagram was refused as RTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// Shorter than the fixed header.
    TooShort,
    /// Version field is not 2.
    BadVersion,
    /// The CSRC list runs past the end of the datagram.
    CsrcOverflow,
    /// The header extension runs past the end of the datagram.
    ExtensionOverflow,
    /// The padding count is zero or larger than what follows the header.
    BadPadding,
}

/// A parsed RTP packet borrowing its payload from the receive buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    pub marker: bool,
    pub pt: u8,
    pub seq: u16,
    pub ts: u32,
    pub ssrc: u32,
    /// The payload, without CSRCs, extension or padding.
    pub payload: &'a [u8],
}

/// Parses one datagram as RTP.
pub fn parse(buf: &[u8]) -> Result<Packet<'_>, Malformed> {
    if buf.len() < HEADER_LEN {
        return Err(Malformed::TooShort);
    }
    let b0 = buf[0];
    if b0 >> 6 != 2 {
        return Err(Malformed::BadVersion);
    }
    let padding = b0 & 0x20 != 0;
    let extension = b0 & 0x10 != 0;
    let csrc_count = usize::from(b0 & 0x0f);
    let b1 = buf[1];
    let mut start = HEADER_LEN + 4 * csrc_count;
    if start > buf.len() {
        return Err(Malformed::CsrcOverflow);
    }
    if extension {
        // The extension header is 4 bytes (profile, length in 32-bit words), then the words.
        let Some(ext) = buf.get(start..start + 4) else {
            return Err(Malformed::ExtensionOverflow);
        };
        let words = usize::from(u16::from_be_bytes([ext[2], ext[3]]));
        start += 4 + 4 * words;
        if start > buf.len() {
            return Err(Malformed::ExtensionOverflow);
        }
    }
    let mut end = buf.len();
    if padding {
        // The last byte counts the padding bytes, itself included (RFC 3550 §5.1).
        let count = usize::from(buf[end - 1]);
        if count == 0 || count > end - start {
            return Err(Malformed::BadPadding);
        }
        end -= count;
    }
    Ok(Packet {
        marker: b1 & 0x80 != 0,
        pt: b1 & 0x7f,
        seq: u16::from_be_bytes([buf[2], buf[3]]),
        ts: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
        ssrc: u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]),
        payload: &buf[start..end],
    })
}

/// The header fields we write on every outgoing packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub marker: bool,
    pub pt: u8,
    pub seq: u16,
    pub ts: u32,
    pub ssrc: u32,
}

impl Header {
    /// Writes the 12-byte header at the start of `out` and returns its length.
    /// `out` must hold at least [`HEADER_LEN`] bytes (the engine's buffers are fixed
    /// and larger, so a shorter one is a bug in the caller).
    pub fn write(&self, out: &mut [u8]) -> usize {
        out[0] = 0x80;
        out[1] = (u8::from(self.marker) << 7) | (self.pt & 0x7f);
        out[2..4].copy_from_slice(&self.seq.to_be_bytes());
        out[4..8].copy_from_slice(&self.ts.to_be_bytes());
        out[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        HEADER_LEN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(first: u8, extra: &[u8]) -> Vec<u8> {
        let mut p = vec![
            first, 0x80, 0x12, 0x34, 0, 0, 0x01, 0x40, 0xde, 0xad, 0xbe, 0xef,
        ];
        p.extend_from_slice(extra);
        p
    }

    #[test]
    fn parses_plain_packet() {
        let p = packet(0x80, &[1, 2, 3]);
        let got = parse(&p).unwrap();
        assert!(got.marker);
        assert_eq!(got.pt, 0);
        assert_eq!(got.seq, 0x1234);
        assert_eq!(got.ts, 320);
        assert_eq!(got.ssrc, 0xdead_beef);
        assert_eq!(got.payload, &[1, 2, 3]);
    }

    #[test]
    fn skips_csrcs_extension_and_padding() {
        // Two CSRCs, an extension of one word, payload [9, 9], padding of 3.
        let mut extra = vec![0u8; 8];
        extra.extend_from_slice(&[0xbe, 0xde, 0, 1, 7, 7, 7, 7]);
        extra.extend_from_slice(&[9, 9, 0, 0, 3]);
        let p = packet(0x80 | 0x20 | 0x10 | 2, &extra);
        assert_eq!(parse(&p).unwrap().payload, &[9, 9]);
    }

    #[test]
    fn refuses_hostile_lengths() {
        assert_eq!(parse(&[]), Err(Malformed::TooShort));
        assert_eq!(parse(&[0x80; 11]), Err(Malformed::TooShort));
        assert_eq!(parse(&packet(0x40, &[])), Err(Malformed::BadVersion));
        assert_eq!(parse(&packet(0x8f, &[0; 59])), Err(Malformed::CsrcOverflow));
        assert_eq!(
            parse(&packet(0x90, &[0xbe, 0xde])),
            Err(Malformed::ExtensionOverflow)
        );
        assert_eq!(
            parse(&packet(0x90, &[0xbe, 0xde, 0xff, 0xff, 0])),
            Err(Malformed::ExtensionOverflow)
        );
        assert_eq!(parse(&packet(0xa0, &[1, 0])), Err(Malformed::BadPadding));
        assert_eq!(parse(&packet(0xa0, &[1, 9])), Err(Malformed::BadPadding));
        // Padding that eats the whole payload is legal: an empty payload.
        assert_eq!(parse(&packet(0xa0, &[0, 2])).unwrap().payload, &[] as &[u8]);
    }

    #[test]
    fn never_panics_on_any_short_datagram() {
        // Every first byte over every length up to 40, with length bytes set to 0xff:
        // the parser must answer, not panic or slice out of range.
        for first in 0..=255u8 {
            for len in 0..40 {
                let mut p = vec![0xffu8; len];
                if let Some(b) = p.first_mut() {
                    *b = first;
                }
                if let Ok(got) = parse(&p) {
                    assert!(got.payload.len() <= len);
                }
            }
        }
    }

    #[test]
    fn header_round_trips() {
        let h = Header {
            marker: true,
            pt: 101,
            seq: 65535,
            ts: 0xffff_fff0,
            ssrc: 7,
        };
        let mut buf = [0u8; 16];
        let n = h.write(&mut buf);
        buf[12..16].copy_from_slice(&[1, 2, 3, 4]);
        let p = parse(&buf[..n + 4]).unwrap();
        assert_eq!(
            (p.marker, p.pt, p.seq, p.ts, p.ssrc),
            (true, 101, 65535, 0xffff_fff0, 7)
        );
        assert_eq!(p.payload, &[1, 2, 3, 4]);
    }
}
