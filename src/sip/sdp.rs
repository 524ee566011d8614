//! SDP text to [`MediaDesc`] and back: the only place that knows SDP syntax.
//!
//! Pure functions, no I/O. [`parse`] reads the first audio stream of an offer or
//! answer; [`render`] writes our side. It must never panic on peer bytes: every line
//! is split with checked accessors and any oddity is an error or is skipped. The tricky
//! parts: `c=` may be at session or media level (media wins), the direction attribute
//! likewise, static payload types need no `a=rtpmap`, and the old hold style
//! (`c=IN IP4 0.0.0.0`, RFC 2543) must read as hold.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::error::PeerError;
use crate::core::{Codec, Direction, MediaDesc};

/// Reads the first `m=audio` stream. Streams of other kinds are ignored; unknown
/// codecs are left out. An error when there is no usable audio stream.
pub fn parse(body: &[u8]) -> Result<MediaDesc, PeerError> {
    let text = String::from_utf8_lossy(body);
    let mut session_addr: Option<IpAddr> = None;
    let mut session_dir: Option<Direction> = None;
    // The audio stream being read, once its m= line was seen.
    let mut audio: Option<Audio> = None;
    let mut in_audio = false;
    let mut seen_audio = false;

    for raw in text.split('\n') {
        let line = raw.trim_end_matches('\r');
        let Some((kind, value)) = line.split_once('=') else {
            continue;
        };
        match kind {
            "m" => {
                in_audio = false;
                if seen_audio {
                    continue;
                }
                if value.starts_with("audio ") {
                    seen_audio = true;
                    in_audio = true;
                    audio = Some(Audio::from_m_line(value)?);
                }
            }
            "c" => {
                let addr = parse_c_line(value)?;
                if in_audio {
                    if let Some(a) = audio.as_mut() {
                        a.addr = Some(addr);
                    }
                } else if !seen_audio {
                    session_addr = Some(addr);
                }
            }
            "a" => {
                if let Some(dir) = parse_direction(value) {
                    if in_audio {
                        if let Some(a) = audio.as_mut() {
                            a.direction = Some(dir);
                        }
                    } else if !seen_audio {
                        session_dir = Some(dir);
                    }
                } else if in_audio
                    && let Some(rest) = value.strip_prefix("rtpmap:")
                    && let Some(a) = audio.as_mut()
                {
                    a.add_rtpmap(rest);
                }
            }
            _ => {}
        }
    }

    let audio = audio.ok_or(PeerError::NoAudio)?;
    let ip = audio
        .addr
        .or(session_addr)
        .ok_or(PeerError::BadSdp("no c= line"))?;
    let mut direction = audio.direction.or(session_dir).unwrap_or_default();
    if ip.is_unspecified() {
        // RFC 2543 hold: "do not send to me".
        direction = match direction {
            Direction::SendRecv | Direction::SendOnly => Direction::SendOnly,
            Direction::RecvOnly | Direction::Inactive => Direction::Inactive,
        };
    }
    let mut codecs = Vec::new();
    let mut dtmf_pt = None;
    for &pt in &audio.formats {
        match audio.rtpmap.get(&pt).map(String::as_str) {
            Some(name) if name.eq_ignore_ascii_case("telephone-event") => {
                if dtmf_pt.is_none() {
                    dtmf_pt = Some(pt);
                }
            }
            // A static payload type keeps its meaning unless rtpmap says otherwise.
            Some(name) => {
                let codec =
                    Codec::from_payload_type(pt).filter(|c| c.name().eq_ignore_ascii_case(name));
                if let Some(c) = codec.filter(|c| !codecs.contains(c)) {
                    codecs.push(c);
                }
            }
            None => {
                if let Some(c) = Codec::from_payload_type(pt).filter(|c| !codecs.contains(c)) {
                    codecs.push(c);
                }
            }
        }
    }
    Ok(MediaDesc {
        addr: SocketAddr::new(ip, audio.port),
        codecs,
        dtmf_pt,
        direction,
    })
}

/// Identity of our SDP for one leg: `o=` session id and version (RFC 3264 §8 wants the
/// version raised on every new SDP of the session).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    pub session_id: u64,
    pub version: u64,
}

/// Writes our SDP for `media`.
pub fn render(media: &MediaDesc, origin: Origin) -> String {
    let ip = media.addr.ip();
    let family = if ip.is_ipv4() { "IP4" } else { "IP6" };
    let mut pts: Vec<String> = media
        .codecs
        .iter()
        .map(|c| c.payload_type().to_string())
        .collect();
    if let Some(pt) = media.dtmf_pt {
        pts.push(pt.to_string());
    }
    let mut s = String::with_capacity(256);
    s.push_str("v=0\r\n");
    s.push_str(&format!(
        "o=callbox {} {} IN {family} {ip}\r\n",
        origin.session_id, origin.version
    ));
    s.push_str("s=callbox\r\n");
    s.push_str(&format!("c=IN {family} {ip}\r\n"));
    s.push_str("t=0 0\r\n");
    s.push_str(&format!(
        "m=audio {} RTP/AVP {}\r\n",
        media.addr.port(),
        pts.join(" ")
    ));
    for c in &media.codecs {
        s.push_str(&format!(
            "a=rtpmap:{} {}/8000\r\n",
            c.payload_type(),
            c.name()
        ));
    }
    if let Some(pt) = media.dtmf_pt {
        s.push_str(&format!("a=rtpmap:{pt} telephone-event/8000\r\n"));
        s.push_str(&format!("a=fmtp:{pt} 0-16\r\n"));
    }
    s.push_str("a=ptime:20\r\n");
    s.push_str(match media.direction {
        Direction::SendRecv => "a=sendrecv\r\n",
        Direction::SendOnly => "a=sendonly\r\n",
        Direction::RecvOnly => "a=recvonly\r\n",
        Direction::Inactive => "a=inactive\r\n",
    });
    s
}

struct Audio {
    port: u16,
    formats: Vec<u8>,
    rtpmap: HashMap<u8, String>,
    addr: Option<IpAddr>,
    direction: Option<Direction>,
}

impl Audio {
    /// `audio <port>[/<n>] <proto> <fmt> ...`
    fn from_m_line(value: &str) -> Result<Audio, PeerError> {
        let mut it = value.split_ascii_whitespace();
        let _media = it.next();
        let port = it.next().ok_or(PeerError::BadSdp("m= without port"))?;
        let port = port.split('/').next().unwrap_or(port);
        let port: u16 = port.parse().map_err(|_| PeerError::BadSdp("m= port"))?;
        let proto = it.next().ok_or(PeerError::BadSdp("m= without proto"))?;
        if !proto.starts_with("RTP/") {
            return Err(PeerError::BadSdp("m= proto is not RTP"));
        }
        // Formats that are not payload type numbers cannot be ours; skip them.
        let formats = it
            .filter_map(|f| f.parse::<u8>().ok())
            .filter(|&pt| pt < 128)
            .take(32)
            .collect();
        Ok(Audio {
            port,
            formats,
            rtpmap: HashMap::new(),
            addr: None,
            direction: None,
        })
    }

    /// `<pt> <name>/<rate>[/<channels>]`; only 8 kHz entries are usable.
    fn add_rtpmap(&mut self, rest: &str) {
        let mut it = rest.split_ascii_whitespace();
        let (Some(pt), Some(enc)) = (it.next(), it.next()) else {
            return;
        };
        let Ok(pt) = pt.parse::<u8>() else { return };
        let mut enc = enc.split('/');
        let name = enc.next().unwrap_or_default();
        let rate = enc.next().unwrap_or_default();
        if rate == "8000" && self.rtpmap.len() < 64 {
            self.rtpmap.insert(pt, name.to_owned());
        } else {
            // A payload type mapped to another rate is not the static codec.
            self.rtpmap.insert(pt, String::new());
        }
    }
}

/// `IN IP4 <addr>` (a multicast `/ttl` suffix is tolerated).
fn parse_c_line(value: &str) -> Result<IpAddr, PeerError> {
    let mut it = value.split_ascii_whitespace();
    if it.next() != Some("IN") {
        return Err(PeerError::BadSdp("c= network type"));
    }
    let family = it.next().ok_or(PeerError::BadSdp("c= address type"))?;
    let addr = it.next().ok_or(PeerError::BadSdp("c= without address"))?;
    let addr = addr.split('/').next().unwrap_or(addr);
    match family {
        "IP4" => addr
            .parse::<Ipv4Addr>()
            .map(IpAddr::V4)
            .map_err(|_| PeerError::BadSdp("c= IPv4 address")),
        "IP6" => addr
            .parse::<IpAddr>()
            .map_err(|_| PeerError::BadSdp("c= IPv6 address")),
        _ => Err(PeerError::BadSdp("c= address type")),
    }
}

fn parse_direction(value: &str) -> Option<Direction> {
    match value.trim() {
        "sendrecv" => Some(Direction::SendRecv),
        "sendonly" => Some(Direction::SendOnly),
        "recvonly" => Some(Direction::RecvOnly),
        "inactive" => Some(Direction::Inactive),
        _ => None,
    }
}

#[cfg(test)]
#[path = "sdp_tests.rs"]
mod tests;
