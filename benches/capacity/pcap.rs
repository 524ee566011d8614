//! The speech the bench's carrier sends: sipp's A-law recording, read from its pcap.
//!
//! It only reads the file once at start; it must never be on the packet path. The
//! tricky part is that the capture's packets carry 30 ms (240 bytes) each while the
//! bench sends 20 ms packets, so the payloads are joined and re-cut into 160-byte
//! frames; records that are not Ethernet/IPv4/UDP/RTP of that shape add nothing.

use std::io::{self, ErrorKind};

/// The speech of a pcap of RTP packets (sipp's g711a.pcap: Ethernet, IPv4 without
/// options, UDP, 12-byte RTP header, 240 bytes of A-law every 30 ms), joined and cut
/// into 160-byte frames for 20 ms packets.
pub fn frames(path: &std::path::Path) -> io::Result<Vec<[u8; crate::rig::PAYLOAD_LEN]>> {
    let data = std::fs::read(path)?;
    let bad = |what: &str| {
        io::Error::new(
            ErrorKind::InvalidData,
            format!("{}: {what}", path.display()),
        )
    };
    let little = match data.get(..4) {
        Some([0xd4, 0xc3, 0xb2, 0xa1]) => true,
        Some([0xa1, 0xb2, 0xc3, 0xd4]) => false,
        _ => return Err(bad("not a pcap file")),
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
        Some(if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    let mut speech = Vec::new();
    let mut at = 24;
    while let Some(caplen) = u32_at(at + 8) {
        let start = at + 16;
        let end = start + caplen as usize;
        let Some(record) = data.get(start..end) else {
            break;
        };
        // Ethernet 14 + IPv4 20 + UDP 8 + RTP 12 = 54 bytes before the speech.
        if let Some(payload) = record.get(54..) {
            speech.extend_from_slice(payload);
        }
        at = end;
    }
    let frames: Vec<[u8; crate::rig::PAYLOAD_LEN]> = speech
        .chunks_exact(crate::rig::PAYLOAD_LEN)
        .filter_map(|c| c.try_into().ok())
        .collect();
    if frames.is_empty() {
        return Err(bad("no RTP payload"));
    }
    Ok(frames)
}
