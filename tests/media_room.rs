//! The media room through its public API, with plain UDP peers on loopback.
//!
//! Each test starts its own room on a port range probed at run time, plays the
//! phones with `std::net::UdpSocket`s, and checks what a person would: the tone sent
//! by one side is heard by the other (and, in a mix, only by those meant to hear
//! it), the stream stays one stream, digits arrive, prompts play at 8 kHz pace,
//! recordings hold both sides, follow the customer, pause, and survive a kill -9.
//! Every wait has a deadline; sleeps only pace the RTP we send.

#[path = "media_room/harness.rs"]
mod harness;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use callbox::core::{Codec, MediaCommand, MediaEvent};
use harness::*;

// ------------------------------------------------------------------ relay

#[test]
fn bridge_relays_both_ways_transcoding_pcmu_and_pcma() {
    let mut room = Room::start(LONG);
    let (mut pa, mut pb) = (Peer::new(), Peer::new());
    let (la, lb) = (room.open(A), room.open(B));
    room.configure(A, &pa, Codec::Pcmu, None);
    room.configure(B, &pb, Codec::Pcma, None);
    room.send(MediaCommand::Bridge { a: A, b: B });

    // A's phone sends a 1 kHz tone in µ-law; B's phone must get it in A-law.
    for i in 0..50 {
        pa.send_rtp(
            la,
            0,
            i == 0,
            &encode(Codec::Pcmu, &tone(1000.0, 160, i * 160)),
            160,
        );
    }
    let got = pb.recv_n(50, 2 * SECOND);
    assert_eq!(got.len(), 50, "B heard {} of 50 packets", got.len());
    assert!(got.iter().all(|p| p.pt == 8 && p.payload.len() == 160));
    assert_one_continuous_stream(&got);
    let heard: Vec<i16> = got
        .iter()
        .flat_map(|p| decode(Codec::Pcma, &p.payload))
        .collect();
    assert_tone(&heard, 1000.0, &[400.0, 1500.0, 2500.0], 8000.0);

    // And back: 400 Hz in A-law from B arrives at A in µ-law.
    for i in 0..50 {
        pb.send_rtp(
            lb,
            8,
            i == 0,
            &encode(Codec::Pcma, &tone(400.0, 160, i * 160)),
            160,
        );
    }
    let back = pa.recv_n(50, 2 * SECOND);
    assert_eq!(back.len(), 50);
    assert!(back.iter().all(|p| p.pt == 0));
    let heard: Vec<i16> = back
        .iter()
        .flat_map(|p| decode(Codec::Pcmu, &p.payload))
        .collect();
    assert_tone(&heard, 400.0, &[1000.0, 1500.0], 8000.0);

    let s = room.handle().stats();
    assert_eq!(
        (s.packets_in, s.forwarded, s.dropped()),
        (100, 100, 0),
        "{s:?}"
    );
    assert_eq!(s.legs_open, 2);
    room.shutdown();
}

#[test]
fn receiver_sees_one_stream_when_the_bridge_changes() {
    let mut room = Room::start(LONG);
    let (mut pa, pb, mut pc) = (Peer::new(), Peer::new(), Peer::new());
    let (la, _, lc) = (room.open(A), room.open(B), room.open(C));
    room.configure(A, &pa, Codec::Pcmu, None);
    room.configure(B, &pb, Codec::Pcmu, None);
    room.configure(C, &pc, Codec::Pcmu, None);

    room.send(MediaCommand::Bridge { a: A, b: B });
    for i in 0..10 {
        pa.send_rtp(la, 0, i == 0, &[0xff; 160], 160);
    }
    let mut got = pb.recv_n(10, 2 * SECOND);
    assert_eq!(got.len(), 10);

    // B now hears C: another SSRC, sequence space and clock at the source.
    room.send(MediaCommand::Bridge { a: B, b: C });
    pc.seq = pa.seq.wrapping_add(30_000);
    for i in 0..10 {
        pc.send_rtp(lc, 0, i == 0, &[0x7f; 160], 160);
    }
    // A is no longer bridged: what its phone sends reaches nobody.
    pa.send_rtp(la, 0, false, &[0xff; 160], 160);
    got.extend(pb.recv_n(11, SECOND));
    assert_eq!(got.len(), 20, "B got {} packets", got.len());
    assert_one_continuous_stream(&got);
    assert!(got[10].marker, "the switch is marked");
    assert_eq!(got[10].payload[0], 0x7f);
    assert_eq!(room.handle().stats().dropped_not_relayed, 1);
    room.shutdown();
}

#[test]
fn symmetric_rtp_answers_where_packets_come_from() {
    let mut room = Room::start(LONG);
    let (mut pa, mut pb) = (Peer::new(), Peer::new());
    let (la, lb) = (room.open(A), room.open(B));
    room.configure(A, &pa, Codec::Pcmu, None);
    // B's SDP names an address nobody listens on (a NAT'd phone's private address).
    let stale = Peer::new();
    room.configure(B, &stale, Codec::Pcmu, None);
    room.send(MediaCommand::Bridge { a: A, b: B });
    drop(stale);

    pb.send_rtp(lb, 0, true, &[1; 160], 160);
    assert_eq!(pa.recv_n(1, SECOND).len(), 1);
    pa.send_rtp(la, 0, true, &[2; 160], 160);
    let got = pb.recv_n(1, SECOND);
    assert_eq!(
        got.len(),
        1,
        "B's phone must get audio at the address it sends from"
    );

    // A stranger spraying B's port is ignored while B's phone is talking.
    let mut stranger = Peer::new();
    stranger.send_rtp(lb, 0, false, &[3; 160], 160);
    pb.send_rtp(lb, 0, false, &[1; 160], 160);
    let at_a = pa.recv_n(2, Duration::from_millis(300));
    assert!(
        at_a.iter().all(|p| p.payload[0] == 1),
        "stranger's audio relayed"
    );
    assert_eq!(room.handle().stats().dropped_foreign_source, 1);
    room.shutdown();
}

#[test]
fn hostile_and_unexpected_packets_are_counted_not_relayed() {
    let mut room = Room::start(LONG);
    let (mut pa, pb) = (Peer::new(), Peer::new());
    let (la, lb) = (room.open(A), room.open(B));
    // Before Configure, nothing is taken.
    pa.send_rtp(la, 0, false, &[0; 160], 160);
    room.wait_stats(|s| s.packets_in == 1);
    room.configure(A, &pa, Codec::Pcmu, None);
    room.configure(B, &pb, Codec::Pcmu, None);
    room.send(MediaCommand::Bridge { a: A, b: B });

    let s = &pa.socket;
    s.send_to(&[], la).unwrap();
    s.send_to(&[0x80; 5], la).unwrap();
    s.send_to(&[0x40; 40], la).unwrap(); // version 1
    s.send_to(&[0x8f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2], la)
        .unwrap(); // 15 CSRCs in 2 bytes
    s.send_to(
        &[
            0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0xff, 0xff,
        ],
        la,
    )
    .unwrap(); // huge extension
    s.send_to(&[0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 200], la)
        .unwrap(); // padding past the payload
    pa.send_rtp(la, 8, false, &[0; 160], 160); // A-law on a µ-law leg
    pa.send_rtp(la, 101, false, &[1, 0x80, 0, 160], 0); // events on a leg without a DTMF type
    pa.send_rtp(la, 0, false, &[0x55; 160], 160); // and then a good one
    let got = pb.recv_n(2, Duration::from_millis(500));
    assert_eq!(got.len(), 1, "{:?}", room.handle().stats());
    assert_eq!(got[0].payload[0], 0x55);
    // Text on B's port is not RTP either.
    pb.socket.send_to(b"hello", lb).unwrap();
    let st = room.wait_stats(|s| s.packets_in == 11);
    assert_eq!(st.packets_in, 11, "{st:?}");
    assert_eq!(
        (
            st.dropped_unconfigured,
            st.dropped_malformed,
            st.dropped_unknown_pt
        ),
        (1, 7, 2),
        "{st:?}"
    );
    assert_eq!(st.forwarded, 1);
    assert_eq!(st.packets_in, st.forwarded + st.dropped());
    room.shutdown();
}

#[test]
fn a_held_leg_neither_hears_nor_is_heard() {
    let mut room = Room::start(LONG);
    let (mut pa, mut pb) = (Peer::new(), Peer::new());
    let (la, lb) = (room.open(A), room.open(B));
    room.configure(A, &pa, Codec::Pcmu, None);
    room.configure(B, &pb, Codec::Pcmu, None);
    room.send(MediaCommand::Bridge { a: A, b: B });
    room.send(MediaCommand::Hold { leg: B, on: true });
    pa.send_rtp(la, 0, false, &[1; 160], 160);
    pb.send_rtp(lb, 0, false, &[2; 160], 160);
    let st = room.wait_stats(|s| s.packets_in == 2);
    assert_eq!((st.dropped_not_relayed, st.dropped_held), (1, 1), "{st:?}");
    assert!(pb.recv_n(1, Duration::from_millis(100)).is_empty());
    assert!(pa.recv_n(1, Duration::from_millis(100)).is_empty());

    room.send(MediaCommand::Hold { leg: B, on: false });
    pa.send_rtp(la, 0, false, &[1; 160], 160);
    pb.send_rtp(lb, 0, false, &[2; 160], 160);
    assert_eq!(pb.recv_n(1, SECOND).len(), 1);
    assert_eq!(pa.recv_n(1, SECOND).len(), 1);
    room.shutdown();
}

#[test]
fn random_datagrams_never_stop_the_relay() {
    let mut room = Room::start(LONG);
    let (mut pa, pb) = (Peer::new(), Peer::new());
    let (la, _) = (room.open(A), room.open(B));
    room.configure(A, &pa, Codec::Pcmu, Some(101));
    room.configure(B, &pb, Codec::Pcma, Some(101));
    room.send(MediaCommand::Bridge { a: A, b: B });
    // Version-2 headers with random flags, counts, payload types and lengths, plus
    // plain noise: whatever the room makes of them, it must keep going and account
    // for each one.
    let mut sent = 0;
    for i in 0..3000u32 {
        let len = (rand::random::<u16>() % 200) as usize;
        let mut d: Vec<u8> = (0..len).map(|_| rand::random()).collect();
        if i % 2 == 0 && !d.is_empty() {
            d[0] = 0x80 | (d[0] & 0x3f);
        }
        if i % 10 == 0 && d.len() > 1 {
            d[1] = if i % 20 == 0 { 0 } else { 101 };
        }
        pa.socket.send_to(&d, la).unwrap();
        sent += 1;
        if i % 100 == 0 {
            // Let the room drain so the socket buffer never overflows.
            room.wait_stats(|s| s.packets_in >= sent);
        }
    }
    let st = room.wait_stats(|s| s.packets_in >= sent);
    assert_eq!(st.packets_in, sent, "{st:?}");
    assert_eq!(st.packets_in, st.forwarded + st.dropped(), "{st:?}");
    // Still relaying.
    pa.send_rtp(la, 0, false, &[0x55; 160], 160);
    let got = pb.recv_n(10_000, Duration::from_millis(500));
    assert!(
        got.last()
            .is_some_and(|p| p.pt == 8 && p.payload.len() == 160),
        "relay dead after noise"
    );
    room.shutdown();
}

#[test]
fn open_is_idempotent_and_fails_when_the_range_is_used_up() {
    // A range with one even port.
    let (min, _) = free_range(4);
    let mut room = Room::start_with_range((min, min + 1), LONG);
    let first = room.open(A);
    assert_eq!(first.port(), min);
    assert_eq!(
        room.open(A),
        first,
        "a second Open of the same leg answers the same port"
    );
    room.send(MediaCommand::Open { leg: B });
    let ev = room.wait_for(
        2 * SECOND,
        |e| matches!(e, MediaEvent::OpenFailed { leg, .. } if *leg == B),
    );
    assert!(ev.is_some(), "no OpenFailed");
    // Closing A frees the port for B.
    room.send(MediaCommand::Close { leg: A });
    assert_eq!(room.open(B).port(), min);
    room.shutdown();
}

// ------------------------------------------------------------------ mixing

/// What a mixed leg is sent within a tick's time: what is queued, nothing more.
const QUEUED: Duration = Duration::from_millis(8);

#[test]
fn a_three_way_mix_lets_each_leg_hear_the_other_two() {
    let mut room = Room::start(LONG);
    let (mut pa, mut pb, mut pc) = (Peer::new(), Peer::new(), Peer::new());
    let (la, lb, lc) = (room.open(A), room.open(B), room.open(C));
    room.configure(A, &pa, Codec::Pcmu, None);
    room.configure(B, &pb, Codec::Pcma, None);
    room.configure(C, &pc, Codec::Pcmu, None);
    room.send(MediaCommand::Mix {
        room: 1,
        hears: vec![(A, vec![B, C]), (B, vec![A, C]), (C, vec![A, B])],
    });
    // A says 400 Hz, B 1000 Hz, C keeps quiet (digital silence).
    send_tones(
        &mut [
            (&mut pa, la, Codec::Pcmu, 400.0),
            (&mut pb, lb, Codec::Pcma, 1000.0),
            (&mut pc, lc, Codec::Pcmu, 0.0),
        ],
        50,
    );
    let st = room.wait_stats(|s| s.packets_in == 150);
    let (at_a, at_b, at_c) = (pa.drain(QUEUED), pb.drain(QUEUED), pc.drain(QUEUED));
    for (who, got, pt) in [("A", &at_a, 0), ("B", &at_b, 8), ("C", &at_c, 0)] {
        assert!(got.len() >= 45, "{who} was sent {} frames", got.len());
        assert!(got.iter().all(|p| p.pt == pt && p.payload.len() == 160));
        assert_one_continuous_stream(got);
    }
    assert_hears("A", &audio(&at_a, Codec::Pcmu), &[1000.0], &[400.0, 1500.0]);
    assert_hears("B", &audio(&at_b, Codec::Pcma), &[400.0], &[1000.0, 1500.0]);
    assert_hears(
        "C",
        &audio(&at_c, Codec::Pcmu),
        &[400.0, 1000.0],
        &[1500.0, 2500.0],
    );
    assert_eq!(
        (st.mixed_in, st.forwarded, st.dropped()),
        (150, 0, 0),
        "{st:?}"
    );
    assert!(st.mix_frames >= 135, "{st:?}");

    // After Unmix nobody hears anybody. The packet after the command shows when the
    // room has taken it; frames sent before that are drained first.
    room.send(MediaCommand::Unmix { room: 1 });
    pa.send_rtp(
        la,
        0,
        false,
        &encode(Codec::Pcmu, &tone(400.0, 160, 0)),
        160,
    );
    let st = room.wait_stats(|s| s.packets_in == 151);
    assert_eq!(st.dropped_not_relayed, 1, "{st:?}");
    for p in [&pa, &pb, &pc] {
        p.drain(Duration::from_millis(60));
        assert!(p.recv_n(1, Duration::from_millis(100)).is_empty());
    }
    room.shutdown();
}

#[test]
fn whisper_reaches_the_agent_not_the_customer_and_barge_reaches_both() {
    let mut room = Room::start(LONG);
    let (mut cust, mut agent, mut sup) = (Peer::new(), Peer::new(), Peer::new());
    let (lc, la, ls) = (room.open(A), room.open(B), room.open(C));
    room.configure(A, &cust, Codec::Pcmu, None);
    room.configure(B, &agent, Codec::Pcmu, None);
    room.configure(C, &sup, Codec::Pcma, None);
    room.send(MediaCommand::Bridge { a: A, b: B });
    // Whisper: the agent hears the customer and the supervisor, the customer only
    // the agent, the supervisor both.
    room.send(MediaCommand::Mix {
        room: 9,
        hears: vec![(B, vec![A, C]), (A, vec![B]), (C, vec![A, B])],
    });
    // Each round is 40 frames from each of the three, all taken into the mix.
    let talk = |round: u64, cust: &mut Peer, agent: &mut Peer, sup: &mut Peer| {
        send_tones(
            &mut [
                (cust, lc, Codec::Pcmu, 400.0),
                (agent, la, Codec::Pcmu, 1000.0),
                (sup, ls, Codec::Pcma, 1700.0),
            ],
            40,
        );
        let st = room.wait_stats(|s| s.mixed_in == 120 * round);
        assert_eq!((st.mixed_in, st.forwarded), (120 * round, 0), "{st:?}");
        (cust.drain(QUEUED), agent.drain(QUEUED), sup.drain(QUEUED))
    };
    let (at_cust, at_agent, at_sup) = talk(1, &mut cust, &mut agent, &mut sup);
    assert_hears(
        "customer",
        &audio(&at_cust, Codec::Pcmu),
        &[1000.0],
        &[1700.0, 400.0],
    );
    assert_hears(
        "agent",
        &audio(&at_agent, Codec::Pcmu),
        &[400.0, 1700.0],
        &[1000.0],
    );
    assert_hears(
        "supervisor",
        &audio(&at_sup, Codec::Pcma),
        &[400.0, 1000.0],
        &[1700.0],
    );

    // Barge, sent again for the same room: now the customer hears the supervisor too,
    // in the same stream.
    room.send(MediaCommand::Mix {
        room: 9,
        hears: vec![(A, vec![B, C]), (B, vec![A, C]), (C, vec![A, B])],
    });
    let (barged, _, _) = talk(2, &mut cust, &mut agent, &mut sup);
    assert_hears(
        "customer",
        &audio(&barged, Codec::Pcmu),
        &[1000.0, 1700.0],
        &[400.0],
    );
    let all: Vec<Rtp> = at_cust.into_iter().chain(barged).collect();
    assert_one_continuous_stream(&all);
    assert!(
        !all.iter().skip(1).any(|p| p.marker),
        "one source throughout"
    );
    room.shutdown();
}

#[test]
fn bridge_then_mix_then_bridge_keeps_one_stream_per_leg() {
    let mut room = Room::start(LONG);
    let (mut pa, mut pb, pc) = (Peer::new(), Peer::new(), Peer::new());
    let (la, lb, _) = (room.open(A), room.open(B), room.open(C));
    for (leg, peer) in [(A, &pa), (B, &pb), (C, &pc)] {
        room.configure(leg, peer, Codec::Pcmu, None);
    }
    let bridged = |pa: &mut Peer, pb: &mut Peer| {
        for i in 0..10 {
            pa.send_rtp(la, 0, i == 0, &[0x11; 160], 160);
            pb.send_rtp(lb, 0, i == 0, &[0x22; 160], 160);
        }
    };
    room.send(MediaCommand::Bridge { a: A, b: B });
    bridged(&mut pa, &mut pb);
    let (mut at_a, mut at_b) = (pa.recv_n(10, 2 * SECOND), pb.recv_n(10, 2 * SECOND));
    room.send(MediaCommand::Mix {
        room: 3,
        hears: vec![(A, vec![B, C]), (B, vec![A, C]), (C, vec![A, B])],
    });
    send_tones(
        &mut [
            (&mut pa, la, Codec::Pcmu, 400.0),
            (&mut pb, lb, Codec::Pcmu, 1000.0),
        ],
        20,
    );
    room.send(MediaCommand::Bridge { a: A, b: B });
    bridged(&mut pa, &mut pb);
    at_a.extend(pa.drain(Duration::from_millis(200)));
    at_b.extend(pb.drain(Duration::from_millis(200)));
    for (who, got, other) in [("A", &at_a, 0x22), ("B", &at_b, 0x11)] {
        assert!(got.len() >= 35, "{who} got {} packets", got.len());
        assert_one_continuous_stream(got);
        let n = got.len();
        assert!(
            got[10].marker && got[n - 10].marker,
            "{who}: switches marked"
        );
        assert!(
            got[..10]
                .iter()
                .chain(&got[n - 10..])
                .all(|p| p.payload[0] == other)
        );
        // In between, the mix: what the other said, re-encoded.
        assert!(got[11..n - 10].iter().all(|p| p.payload[0] != other));
    }
    assert_eq!(room.handle().stats().forwarded, 40);
    room.shutdown();
}

#[test]
fn digits_from_a_mixed_leg_are_reported_and_never_mixed() {
    let mut room = Room::start(LONG);
    let (mut pa, pb, pc) = (Peer::new(), Peer::new(), Peer::new());
    let (la, _, _) = (room.open(A), room.open(B), room.open(C));
    for (leg, peer) in [(A, &pa), (B, &pb), (C, &pc)] {
        room.configure(leg, peer, Codec::Pcmu, Some(101));
    }
    room.send(MediaCommand::Mix {
        room: 1,
        hears: vec![(A, vec![B, C]), (B, vec![A, C]), (C, vec![A, B])],
    });
    let start_ts = pa.ts;
    for (i, d) in [160u16, 320, 480, 800, 800, 800].iter().enumerate() {
        let end = if i >= 3 { 0x80 } else { 0 };
        pa.ts = start_ts;
        pa.send_rtp(la, 101, i == 0, &[5, end | 10, (d >> 8) as u8, *d as u8], 0);
    }
    let ev = room.wait_for(2 * SECOND, |e| matches!(e, MediaEvent::Dtmf { .. }));
    assert_eq!(
        ev,
        Some(MediaEvent::Dtmf {
            leg: A,
            digit: '5',
            duration_ms: 100
        })
    );
    let st = room.wait_stats(|s| s.packets_in == 6);
    assert_eq!(
        (st.dtmf_digits, st.mixed_in, st.dropped_not_relayed),
        (1, 0, 6),
        "{st:?}"
    );
    // The others hear the mix, and it is silent: no event packets, no event noise.
    for (who, p) in [("B", &pb), ("C", &pc)] {
        let got = p.recv_n(10, 2 * SECOND);
        assert_eq!(got.len(), 10, "{who}");
        assert!(got.iter().all(|p| p.pt == 0), "{who} got an event");
        assert!(audio(&got, Codec::Pcmu).iter().all(|&s| s == 0), "{who}");
    }
    room.shutdown();
}

// ------------------------------------------------------------------ DTMF

#[test]
fn telephone_event_is_reported_once_and_passed_on_with_the_partners_type() {
    let mut room = Room::start(LONG);
    let (mut pa, pb) = (Peer::new(), Peer::new());
    let (la, _) = (room.open(A), room.open(B));
    room.configure(A, &pa, Codec::Pcmu, Some(101));
    room.configure(B, &pb, Codec::Pcma, Some(96));
    room.send(MediaCommand::Bridge { a: A, b: B });

    // Digit 5 for 100 ms: three updates, then the end packet three times, all with
    // the event's start timestamp (RFC 4733 §2.5).
    let start_ts = pa.ts;
    let durations = [160u16, 320, 480, 800, 800, 800];
    for (i, d) in durations.iter().enumerate() {
        let end = if i >= 3 { 0x80 } else { 0 };
        let payload = [5, end | 10, (d >> 8) as u8, *d as u8];
        pa.ts = start_ts;
        pa.send_rtp(la, 101, i == 0, &payload, 0);
    }
    let ev = room.wait_for(2 * SECOND, |e| matches!(e, MediaEvent::Dtmf { .. }));
    assert_eq!(
        ev,
        Some(MediaEvent::Dtmf {
            leg: A,
            digit: '5',
            duration_ms: 100
        })
    );
    let passed = pb.recv_n(6, 2 * SECOND);
    assert_eq!(passed.len(), 6);
    assert!(passed.iter().all(|p| p.pt == 96 && p.payload[0] == 5));
    assert!(
        passed.iter().all(|p| p.ts == passed[0].ts),
        "one event, one timestamp"
    );
    assert_eq!(passed[5].payload[1] & 0x80, 0x80);
    // The retransmitted end packets did not make more digits.
    assert_eq!(
        room.wait_for(Duration::from_millis(200), |e| matches!(
            e,
            MediaEvent::Dtmf { .. }
        )),
        None
    );

    // A partner without telephone-event gets no events, but the digit is still reported.
    room.configure(B, &pb, Codec::Pcma, None);
    pa.ts = pa.ts.wrapping_add(8000);
    pa.send_rtp(la, 101, true, &[11, 0x80 | 10, 0x03, 0x20], 0);
    let ev = room.wait_for(2 * SECOND, |e| matches!(e, MediaEvent::Dtmf { .. }));
    assert_eq!(
        ev,
        Some(MediaEvent::Dtmf {
            leg: A,
            digit: '#',
            duration_ms: 100
        })
    );
    let leaked = pb.recv_n(1, Duration::from_millis(200));
    assert!(leaked.is_empty(), "{leaked:?}");
    assert_eq!(room.handle().stats().dropped_no_dtmf_pt, 1);
    room.shutdown();
}

// ------------------------------------------------------------------ prompts

fn sox_tone(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let status = Command::new("sox")
        .arg("-n")
        .args(args)
        .arg(&path)
        .args(["synth", "1", "sine", "440"])
        .status();
    assert!(
        status.is_ok_and(|s| s.success()),
        "sox failed to make {name}"
    );
    path
}

#[test]
fn a_prompt_plays_at_8khz_pace_then_the_bridge_resumes_in_the_same_stream() {
    let dir = temp_dir("prompt");
    let wav = sox_tone(&dir, "tone.wav", &["-r", "16000", "-c", "1"]);
    let mut room = Room::start(LONG);
    let (mut pa, pb) = (Peer::new(), Peer::new());
    let (la, _) = (room.open(A), room.open(B));
    room.configure(A, &pa, Codec::Pcmu, None);
    room.configure(B, &pb, Codec::Pcma, None);
    room.send(MediaCommand::Bridge { a: A, b: B });
    room.send(MediaCommand::Play {
        leg: B,
        file: wav.clone(),
        looped: false,
        tag: 1,
    });
    // While the prompt plays, B hears it and not A.
    for _ in 0..5 {
        pa.send_rtp(la, 0, false, &[0x00; 160], 160);
    }

    let started = Instant::now();
    let mut got = pb.recv_n(50, 3 * SECOND);
    let first_at = started.elapsed();
    assert!(
        room.wait_for(2 * SECOND, |e| *e
            == MediaEvent::PlayDone { leg: B, tag: 1 })
            .is_some(),
        "no PlayDone, with the play's tag"
    );
    let played = started.elapsed();
    assert_eq!(got.len(), 50, "a 1 s prompt is 50 frames");
    assert!(got.iter().all(|p| p.pt == 8 && p.payload.len() == 160));
    // 50 frames 20 ms apart: about one second from first to last (loose for CI).
    assert!(
        played >= Duration::from_millis(900) && played < Duration::from_millis(2500),
        "{played:?} ({first_at:?})"
    );
    let heard: Vec<i16> = got
        .iter()
        .flat_map(|p| decode(Codec::Pcma, &p.payload))
        .collect();
    assert_tone(&heard, 440.0, &[1000.0, 220.0, 880.0], 8000.0);
    assert!(
        pb.recv_n(1, Duration::from_millis(100)).is_empty(),
        "frames after the end"
    );
    assert_eq!(room.handle().stats().dropped_not_relayed, 5);

    // The bridge is heard again, continuing the prompt's stream.
    for i in 0..5 {
        pa.send_rtp(la, 0, i == 0, &[0xff; 160], 160);
    }
    got.extend(pb.recv_n(5, SECOND));
    assert_eq!(got.len(), 55);
    assert_one_continuous_stream(&got);

    // A second play of the same file comes from the cache: immediately.
    room.send(MediaCommand::Play {
        leg: B,
        file: wav,
        looped: true,
        tag: 2,
    });
    assert_eq!(pb.recv_n(3, SECOND).len(), 3);
    room.send(MediaCommand::StopPlay { leg: B });
    assert_eq!(
        room.wait_for(Duration::from_millis(300), |e| matches!(
            e,
            MediaEvent::PlayDone { .. }
        )),
        None
    );
    room.shutdown();
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn stereo_44k_mp3_ogg_and_flac_prompts_decode_too() {
    let dir = temp_dir("formats");
    let files = [
        sox_tone(&dir, "tone.mp3", &["-r", "44100", "-c", "2"]),
        sox_tone(&dir, "tone.ogg", &["-r", "48000", "-c", "2"]),
        sox_tone(&dir, "tone.flac", &["-r", "16000", "-c", "1"]),
        sox_tone(&dir, "tone44.wav", &["-r", "44100", "-c", "2"]),
    ];
    let mut room = Room::start(LONG);
    let pb = Peer::new();
    room.open(B);
    room.configure(B, &pb, Codec::Pcmu, None);
    for file in files {
        room.send(MediaCommand::Play {
            leg: B,
            file: file.clone(),
            looped: false,
            tag: 3,
        });
        let got = pb.recv_n(45, 3 * SECOND);
        assert_eq!(got.len(), 45, "{}", file.display());
        let heard: Vec<i16> = got
            .iter()
            .flat_map(|p| decode(Codec::Pcmu, &p.payload))
            .collect();
        assert_tone(&heard, 440.0, &[1000.0, 220.0], 8000.0);
        assert!(
            room.wait_for(2 * SECOND, |e| matches!(
                e,
                MediaEvent::PlayDone { leg: B, .. }
            ))
            .is_some()
        );
    }
    room.shutdown();
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_prompt_that_cannot_be_decoded_ends_at_once() {
    let dir = temp_dir("badprompt");
    let junk = dir.join("junk.mp3");
    std::fs::write(&junk, b"this is not audio").unwrap();
    let mut room = Room::start(LONG);
    room.open(A);
    for file in [junk, dir.join("missing.wav")] {
        room.send(MediaCommand::Play {
            leg: A,
            file,
            looped: true,
            tag: 7,
        });
        assert!(
            room.wait_for(2 * SECOND, |e| *e
                == MediaEvent::PlayDone { leg: A, tag: 7 })
                .is_some()
        );
    }
    room.shutdown();
    std::fs::remove_dir_all(dir).unwrap();
}

// ------------------------------------------------------------------ recording

#[test]
fn a_recording_holds_each_side_in_its_own_channel() {
    let dir = temp_dir("rec");
    let path = dir.join("2024/05/call-1.wav");
    let mut room = Room::start(LONG);
    let (mut pa, mut pb) = (Peer::new(), Peer::new());
    let (la, lb) = (room.open(A), room.open(B));
    room.configure(A, &pa, Codec::Pcmu, None);
    room.configure(B, &pb, Codec::Pcma, None);
    room.send(MediaCommand::Bridge { a: A, b: B });
    room.send(MediaCommand::Record {
        a: A,
        b: B,
        path: path.clone(),
    });

    send_tones(
        &mut [
            (&mut pa, la, Codec::Pcmu, 1000.0),
            (&mut pb, lb, Codec::Pcma, 400.0),
        ],
        100,
    );
    room.send(MediaCommand::Close { leg: A });
    let done = room.wait_for(2 * SECOND, |e| {
        matches!(e, MediaEvent::RecordingDone { .. })
    });
    let Some(MediaEvent::RecordingDone { path: p, seconds }) = done else {
        panic!("no RecordingDone")
    };
    assert_eq!(p, path);
    assert!(
        (1.8..3.0).contains(&seconds),
        "{seconds} s recorded for 2 s of call"
    );

    let mut wav = hound::WavReader::open(&path).unwrap();
    let spec = wav.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (2, 8000, 16)
    );
    let samples: Vec<i16> = wav.samples::<i16>().map(Result::unwrap).collect();
    let left: Vec<i16> = samples.iter().step_by(2).copied().collect();
    let right: Vec<i16> = samples.iter().skip(1).step_by(2).copied().collect();
    assert_tone(&left, 1000.0, &[400.0, 1500.0], 8000.0);
    assert_tone(&right, 400.0, &[1000.0, 1500.0], 8000.0);
    room.shutdown();
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn shutdown_finalises_open_recordings() {
    let dir = temp_dir("recshut");
    let path = dir.join("call.wav");
    let mut room = Room::start(LONG);
    room.open(A);
    room.open(B);
    room.send(MediaCommand::Record {
        a: A,
        b: B,
        path: path.clone(),
    });
    let events = room.events.clone();
    room.shutdown();
    let done = events.recv_timeout(2 * SECOND);
    assert!(
        matches!(done, Ok(MediaEvent::RecordingDone { path: ref p, .. }) if *p == path),
        "{done:?}"
    );
    assert_eq!(hound::WavReader::open(&path).unwrap().spec().channels, 2);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_recording_follows_its_customer_until_they_hang_up() {
    let dir = temp_dir("follow");
    let path = dir.join("call.wav");
    let mut room = Room::start(LONG);
    let (mut cust, mut first, mut second) = (Peer::new(), Peer::new(), Peer::new());
    let (lc, l1, l2) = (room.open(A), room.open(B), room.open(C));
    room.configure(A, &cust, Codec::Pcmu, None);
    room.configure(B, &first, Codec::Pcma, None);
    room.configure(C, &second, Codec::Pcmu, None);
    room.send(MediaCommand::Bridge { a: A, b: B });
    room.send(MediaCommand::Record {
        a: A,
        b: B,
        path: path.clone(),
    });
    send_tones(
        &mut [
            (&mut cust, lc, Codec::Pcmu, 1000.0),
            (&mut first, l1, Codec::Pcma, 400.0),
        ],
        50,
    );
    // The first agent hangs up: the recording goes on.
    room.send(MediaCommand::Close { leg: B });
    let early = room.wait_for(Duration::from_millis(200), |e| {
        matches!(e, MediaEvent::RecordingDone { .. })
    });
    assert_eq!(early, None, "closing b ended the customer's recording");
    room.send(MediaCommand::Bridge { a: A, b: C });
    room.send(MediaCommand::RecordOthers {
        a: A,
        others: vec![C],
    });
    send_tones(
        &mut [
            (&mut cust, lc, Codec::Pcmu, 1000.0),
            (&mut second, l2, Codec::Pcmu, 1700.0),
        ],
        50,
    );
    room.send(MediaCommand::Close { leg: A });
    let done = room.wait_for(2 * SECOND, |e| {
        matches!(e, MediaEvent::RecordingDone { .. })
    });
    let Some(MediaEvent::RecordingDone { path: p, seconds }) = done else {
        panic!("no RecordingDone")
    };
    assert_eq!(p, path);
    assert!(
        (1.9..3.5).contains(&seconds),
        "{seconds} s for 2.2 s of call"
    );

    let mut wav = hound::WavReader::open(&path).unwrap();
    let samples: Vec<i16> = wav.samples::<i16>().map(Result::unwrap).collect();
    let left: Vec<i16> = samples.iter().step_by(2).copied().collect();
    let right: Vec<i16> = samples.iter().skip(1).step_by(2).copied().collect();
    assert_hears("left", &left, &[1000.0], &[400.0, 1700.0]);
    let n = right.len();
    assert_hears(
        "right, first",
        &right[800..7200],
        &[400.0],
        &[1700.0, 1000.0],
    );
    assert_hears(
        "right, then",
        &right[n - 7200..n - 800],
        &[1700.0],
        &[400.0, 1000.0],
    );
    room.shutdown();
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_paused_recording_is_shorter_by_the_pause_and_keeps_nothing_of_it() {
    let dir = temp_dir("pause");
    let path = dir.join("call.wav");
    let mut room = Room::start(LONG);
    let (mut pa, mut pb) = (Peer::new(), Peer::new());
    let (la, lb) = (room.open(A), room.open(B));
    room.configure(A, &pa, Codec::Pcmu, None);
    room.configure(B, &pb, Codec::Pcmu, None);
    room.send(MediaCommand::Bridge { a: A, b: B });
    let started = Instant::now();
    room.send(MediaCommand::Record {
        a: A,
        b: B,
        path: path.clone(),
    });
    let talk = |pa: &mut Peer, pb: &mut Peer, freq: f64| {
        send_tones(
            &mut [(pa, la, Codec::Pcmu, freq), (pb, lb, Codec::Pcmu, 400.0)],
            40,
        )
    };
    talk(&mut pa, &mut pb, 1000.0);
    // The customer types a PIN (1700 Hz here) while the recording is paused.
    let paused = Instant::now();
    room.send(MediaCommand::PauseRecording { a: A, paused: true });
    talk(&mut pa, &mut pb, 1700.0);
    room.send(MediaCommand::PauseRecording {
        a: A,
        paused: false,
    });
    let pause = paused.elapsed();
    talk(&mut pa, &mut pb, 1000.0);
    room.send(MediaCommand::Close { leg: A });
    let call = started.elapsed();
    let done = room.wait_for(2 * SECOND, |e| {
        matches!(e, MediaEvent::RecordingDone { .. })
    });
    let Some(MediaEvent::RecordingDone { seconds, .. }) = done else {
        panic!("no RecordingDone")
    };
    let expected = (call - pause).as_secs_f64();
    assert!(
        (seconds - expected).abs() < 0.3,
        "{seconds} s recorded, {expected:.2} s expected ({call:?} call, {pause:?} paused)"
    );
    let mut wav = hound::WavReader::open(&path).unwrap();
    let samples: Vec<i16> = wav.samples::<i16>().map(Result::unwrap).collect();
    let left: Vec<i16> = samples.iter().step_by(2).copied().collect();
    assert_hears("left", &left, &[1000.0], &[1700.0]);
    room.shutdown();
    std::fs::remove_dir_all(dir).unwrap();
}

/// Kills its child process by pid when dropped, whatever happened in the test.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const KILL_CHILD_ENV: &str = "CALLBOX_MEDIA_RECORD_CHILD";

/// The child half of `a_recording_survives_a_kill_9`: records a tone until killed.
fn record_until_killed(path: PathBuf) {
    let mut room = Room::start(LONG);
    let mut pa = Peer::new();
    let la = room.open(A);
    room.open(B);
    room.configure(A, &pa, Codec::Pcmu, None);
    room.send(MediaCommand::Record { a: A, b: B, path });
    let start = Instant::now();
    // Bounded so that a parent that died cannot leave us running for long.
    for i in 0..1500usize {
        pa.send_rtp(
            la,
            0,
            i == 0,
            &encode(Codec::Pcmu, &tone(1000.0, 160, i * 160)),
            160,
        );
        if i == 125 {
            println!("RECORDING 2.5 s");
        }
        std::thread::sleep(
            (start + Duration::from_millis(20 * (i as u64 + 1)))
                .saturating_duration_since(Instant::now()),
        );
    }
}

#[test]
fn a_recording_survives_a_kill_9() {
    if let Some(path) = std::env::var_os(KILL_CHILD_ENV) {
        return record_until_killed(PathBuf::from(path));
    }
    let dir = temp_dir("kill");
    let path = dir.join("call.wav");
    let exe = std::env::current_exe().unwrap();
    let child = Command::new(exe)
        .args([
            "a_recording_survives_a_kill_9",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(KILL_CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = ChildGuard(child);
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("RECORDING") {
                let _ = tx.send(());
                return;
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("child started recording");
    let killed_after = Instant::now();
    child.0.kill().unwrap(); // SIGKILL: no destructor, no finalize
    child.0.wait().unwrap();
    assert!(killed_after.elapsed() < SECOND);

    let out = Command::new("sox")
        .arg("--i")
        .arg("-D")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sox cannot read the file: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sox_seconds: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    // 2.5 s were sent; header rewrites every second lose at most the last one.
    assert!(
        (1.4..=3.0).contains(&sox_seconds),
        "sox says {sox_seconds} s"
    );

    let mut wav = hound::WavReader::open(&path).unwrap();
    let samples: Vec<i16> = wav.samples::<i16>().map(Result::unwrap).collect();
    let left: Vec<i16> = samples.iter().step_by(2).copied().collect();
    assert_tone(&left[4000..], 1000.0, &[400.0, 1500.0], 8000.0);
    std::fs::remove_dir_all(dir).unwrap();
}

// ------------------------------------------------------------------ timeouts

#[test]
fn rtp_timeout_fires_on_a_silent_leg_but_not_on_a_held_one() {
    let mut room = Room::start(Duration::from_millis(300));
    let (pa, pb, mut pc) = (Peer::new(), Peer::new(), Peer::new());
    room.open(A);
    room.open(B);
    let lc = room.open(C);
    room.configure(A, &pa, Codec::Pcmu, None);
    room.configure(B, &pb, Codec::Pcmu, None);
    room.configure(C, &pc, Codec::Pcmu, None);
    room.send(MediaCommand::Hold { leg: B, on: true });
    let started = Instant::now();

    // C's phone keeps talking through the whole test; A is silent, B is on hold.
    let talk_until = started + Duration::from_millis(1300);
    let mut timeouts = Vec::new();
    while Instant::now() < talk_until {
        pc.send_rtp(lc, 0, false, &[0xff; 160], 160);
        if let Some(ev) = room.wait_for(Duration::from_millis(20), |e| {
            matches!(e, MediaEvent::RtpTimeout { .. })
        }) {
            timeouts.push((ev, started.elapsed()));
        }
    }
    // Exactly once, for the silent leg, after about 300 ms.
    assert_eq!(timeouts.len(), 1, "{timeouts:?}");
    let (ev, at) = &timeouts[0];
    assert_eq!(*ev, MediaEvent::RtpTimeout { leg: A });
    assert!(
        *at >= Duration::from_millis(280) && *at < Duration::from_millis(800),
        "after {at:?}"
    );

    // Off hold, B's timer starts again and fires.
    room.send(MediaCommand::Hold { leg: B, on: false });
    let ev = room.wait_for(2 * SECOND, |e| *e == MediaEvent::RtpTimeout { leg: B });
    assert!(ev.is_some(), "no RtpTimeout for B once off hold");
    room.shutdown();
}
