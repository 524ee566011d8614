//! What one side of a leg says about its media, without SDP's syntax.
//!
//! The SIP room parses SDP into a `MediaDesc` and renders one back; the switchboard
//! decides codecs and hold state on these values only, and the media room is told the
//! outcome. Nothing here parses text.

use std::net::SocketAddr;

/// The audio codecs callbox relays and transcodes between.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 µ-law, RTP payload type 0.
    Pcmu,
    /// G.711 A-law, RTP payload type 8.
    Pcma,
}

impl Codec {
    /// The static RTP payload type (RFC 3551).
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// The codec for a static payload type, if we support it.
    pub fn from_payload_type(pt: u8) -> Option<Codec> {
        match pt {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            _ => None,
        }
    }

    /// The SDP `a=rtpmap` encoding name.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }
}

/// The SDP direction attribute of the audio stream (RFC 3264 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    /// True when the peer that wrote this direction is putting the other side on hold.
    pub fn is_hold(self) -> bool {
        matches!(self, Direction::SendOnly | Direction::Inactive)
    }

    /// The direction to answer with (RFC 3264 §6.1).
    pub fn answer(self) -> Direction {
        match self {
            Direction::SendRecv => Direction::SendRecv,
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            Direction::Inactive => Direction::Inactive,
        }
    }
}

/// One audio stream as offered or answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDesc {
    /// Where RTP is to be sent (connection address and media port). Port 0 means the
    /// stream was refused.
    pub addr: SocketAddr,
    /// Supported codecs in the order of preference given; unknown ones are left out.
    pub codecs: Vec<Codec>,
    /// The RFC 4733 telephone-event payload type, when offered.
    pub dtmf_pt: Option<u8>,
    pub direction: Direction,
}

impl MediaDesc {
    /// The codec both sides can use: our first preference that the peer listed.
    pub fn common_codec(&self, ours: &[Codec]) -> Option<Codec> {
        self.codecs.iter().copied().find(|c| ours.contains(c))
    }
}
