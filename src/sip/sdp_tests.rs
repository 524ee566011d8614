//! Unit tests of the SDP parser and renderer, including hostile bodies.
//!
//! They own no state; they must never depend on a socket or the Sofia stack. The
//! tricky part is the garble loop: it only proves "never panics", so the named tests
//! above it check the values.

use super::*;

const SIPP_OFFER: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n\
c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n";

#[test]
fn reads_session_level_connection_and_codec_order() {
    let m = parse(SIPP_OFFER.as_bytes()).unwrap();
    assert_eq!(m.addr, "127.0.0.1:6000".parse().unwrap());
    assert_eq!(m.codecs, vec![Codec::Pcma, Codec::Pcmu]);
    assert_eq!(m.dtmf_pt, Some(101));
    assert_eq!(m.direction, Direction::SendRecv);
}

#[test]
fn media_level_connection_and_direction_win() {
    let body = "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\na=recvonly\n\
m=video 5000 RTP/AVP 96\nc=IN IP4 10.0.0.9\nm=audio 4000 RTP/AVP 0\nc=IN IP4 10.0.0.2\na=sendonly\n";
    let m = parse(body.as_bytes()).unwrap();
    assert_eq!(m.addr, "10.0.0.2:4000".parse().unwrap());
    assert_eq!(m.direction, Direction::SendOnly);
    assert_eq!(m.codecs, vec![Codec::Pcmu]);
    assert_eq!(m.dtmf_pt, None);
}

#[test]
fn session_direction_applies_when_media_has_none() {
    let body = "v=0\nc=IN IP4 10.0.0.1\na=inactive\nm=audio 4000 RTP/AVP 8\n";
    assert_eq!(
        parse(body.as_bytes()).unwrap().direction,
        Direction::Inactive
    );
}

#[test]
fn zero_address_means_hold() {
    let body = "v=0\nc=IN IP4 0.0.0.0\nm=audio 4000 RTP/AVP 0\n";
    let m = parse(body.as_bytes()).unwrap();
    assert!(m.direction.is_hold());
}

#[test]
fn unknown_and_remapped_codecs_are_left_out() {
    // PT 0 remapped to a 16 kHz codec is not PCMU; 18 (G.729) is not ours.
    let body = "v=0\nc=IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 18 0 8 96\na=rtpmap:0 L16/16000\n\
a=rtpmap:96 telephone-event/8000\n";
    let m = parse(body.as_bytes()).unwrap();
    assert_eq!(m.codecs, vec![Codec::Pcma]);
    assert_eq!(m.dtmf_pt, Some(96));
}

#[test]
fn no_codec_of_ours_parses_to_an_empty_list() {
    let body = "v=0\nc=IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 18\n";
    assert!(parse(body.as_bytes()).unwrap().codecs.is_empty());
}

#[test]
fn ipv6_connection() {
    let body = "v=0\nc=IN IP6 ::1\nm=audio 4000 RTP/AVP 0\n";
    assert_eq!(
        parse(body.as_bytes()).unwrap().addr,
        "[::1]:4000".parse().unwrap()
    );
}

#[test]
fn errors_say_what_is_missing() {
    assert_eq!(parse(b"v=0\nc=IN IP4 1.2.3.4\n"), Err(PeerError::NoAudio));
    assert!(matches!(
        parse(b"v=0\nm=audio 4000 RTP/AVP 0\n"),
        Err(PeerError::BadSdp(_))
    ));
    assert!(matches!(
        parse(b"c=IN IP4 1.2.3.4\nm=audio 99999 RTP/AVP 0\n"),
        Err(PeerError::BadSdp(_))
    ));
    assert!(matches!(
        parse(b"c=IN IP4 999.2.3.4\nm=audio 4 RTP/AVP 0\n"),
        Err(PeerError::BadSdp(_))
    ));
    assert!(matches!(
        parse(b"c=IN IP4 1.2.3.4\nm=audio 4 UDP/TLS 0\n"),
        Err(PeerError::BadSdp(_))
    ));
}

#[test]
fn render_then_parse_round_trips() {
    for direction in [
        Direction::SendRecv,
        Direction::SendOnly,
        Direction::RecvOnly,
        Direction::Inactive,
    ] {
        let m = MediaDesc {
            addr: "192.0.2.7:20000".parse().unwrap(),
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            dtmf_pt: Some(101),
            direction,
        };
        let text = render(
            &m,
            Origin {
                session_id: 42,
                version: 3,
            },
        );
        assert!(
            text.contains("o=callbox 42 3 IN IP4 192.0.2.7\r\n"),
            "{text}"
        );
        assert!(text.contains("m=audio 20000 RTP/AVP 0 8 101\r\n"), "{text}");
        assert!(text.contains("a=fmtp:101 0-16\r\n"), "{text}");
        assert!(text.contains("a=ptime:20\r\n"), "{text}");
        assert_eq!(parse(text.as_bytes()).unwrap(), m);
    }
}

/// A tiny deterministic generator, so the loop needs no crate and repeats exactly.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn truncated_and_garbled_bodies_never_panic() {
    let seed = SIPP_OFFER.as_bytes();
    for cut in 0..=seed.len() {
        let _ = parse(&seed[..cut]);
    }
    let alphabet = b"=\r\n /:0123456789amcvIPN4.-\xff\x00";
    let mut rng = Lcg(7);
    for _ in 0..20_000 {
        let mut body = seed.to_vec();
        for _ in 0..(rng.next() % 8 + 1) {
            let i = (rng.next() as usize) % body.len();
            match rng.next() % 3 {
                0 => body[i] = alphabet[(rng.next() as usize) % alphabet.len()],
                1 => {
                    body.remove(i);
                }
                _ => body.insert(i, alphabet[(rng.next() as usize) % alphabet.len()]),
            }
        }
        let _ = parse(&body);
    }
}
