//! The switchboard in simulated time: whole calls as scripts, checked the way a user
//! would check them (who was rung, what the caller heard, the call row and trail).

mod world;

use std::time::Duration;

use callbox::core::*;
use world::*;

const PCMU: &[Codec] = &[Codec::Pcmu, Codec::Pcma];

#[test]
fn phone_calls_phone_and_caller_hangs_up() {
    let mut w = World::new();
    let (a, sent) = w.invite(
        CallSource::Device(PHONE_1001),
        "1001",
        "1002",
        Some(audio(4000, PCMU)),
    );
    let (b, target, offer, from) = invite_of(&sent);
    assert_eq!(
        target,
        Target::Device(PHONE_1002),
        "1002's phone is the one rung"
    );
    assert_eq!(from, "1001", "the callee sees the caller's extension");
    assert_eq!(
        offer.codecs[0],
        Codec::Pcmu,
        "the caller's codec is offered first"
    );
    assert_ne!(offer.addr.port(), 4000, "media is anchored on the box");

    let sent = w.sip(SipEvent::Progress {
        leg: b,
        code: 180,
        early: None,
    });
    assert_eq!(
        responses_to(&sent, a),
        vec![180],
        "the caller hears ringing"
    );

    w.advance(Duration::from_secs(5));
    let sent = w.sip(SipEvent::Answered {
        leg: b,
        answer: audio(5000, &[Codec::Pcma]),
    });
    assert_eq!(responses_to(&sent, a), vec![200]);
    let answer = sent.iter().find_map(|c| match c {
        SipCommand::Respond { media: Some(m), .. } => Some(m.clone()),
        _ => None,
    });
    let answer = answer.expect("200 carries SDP");
    assert_eq!(
        answer.codecs,
        vec![Codec::Pcmu],
        "the caller keeps its own codec"
    );
    assert_eq!(answer.dtmf_pt, Some(101));
    let cmds = w.media_commands();
    assert!(
        cmds.contains(&&MediaCommand::Bridge { a, b }),
        "the legs are bridged"
    );
    assert!(
        cmds.iter().any(
            |m| matches!(m, MediaCommand::Record { a: ra, b: rb, .. } if *ra == a && *rb == b)
        )
    );

    w.advance(Duration::from_secs(30));
    let sent = w.sip(SipEvent::HungUp {
        leg: a,
        cancelled: false,
    });
    assert_eq!(hangups(&sent), vec![b], "the callee gets a BYE");

    let row = w.row(1);
    assert_eq!(row.direction, CallDirection::Internal);
    assert_eq!(row.hangup_by, Some(HangupBy::Caller));
    assert_eq!(row.end_cause.as_deref(), Some("the caller hung up"));
    assert_eq!(row.sip_code, Some(200));
    assert_eq!(
        (row.ended_at.unwrap() - row.answered_at.unwrap()).num_seconds(),
        30
    );
    assert!(
        row.recording
            .as_ref()
            .unwrap()
            .starts_with("recordings/2026/11/24")
    );
    assert_eq!(
        w.trail_kinds(1),
        [
            "offered",
            "ringing",
            "answered",
            "recording_started",
            "hung_up"
        ]
    );
    w.assert_idle();
}

#[test]
fn callee_hangs_up() {
    let mut w = World::new();
    let (a, sent) = w.invite(
        CallSource::Device(PHONE_1002),
        "1002",
        "1001",
        Some(audio(4000, PCMU)),
    );
    let (b, ..) = invite_of(&sent);
    w.sip(SipEvent::Answered {
        leg: b,
        answer: audio(5000, PCMU),
    });
    let sent = w.sip(SipEvent::HungUp {
        leg: b,
        cancelled: false,
    });
    assert_eq!(hangups(&sent), vec![a]);
    assert_eq!(w.row(1).hangup_by, Some(HangupBy::Callee));
    assert_eq!(w.row(1).end_cause.as_deref(), Some("the callee hung up"));
    w.assert_idle();
}

#[test]
fn caller_cancels_before_answer() {
    let mut w = World::new();
    let (a, sent) = w.invite(
        CallSource::Device(PHONE_1001),
        "1001",
        "1002",
        Some(audio(4000, PCMU)),
    );
    let (b, ..) = invite_of(&sent);
    w.sip(SipEvent::Progress {
        leg: b,
        code: 180,
        early: None,
    });
    let sent = w.sip(SipEvent::HungUp {
        leg: a,
        cancelled: true,
    });
    assert_eq!(hangups(&sent), vec![b], "the ringing phone is cancelled");
    assert!(
        responses_to(&sent, a).is_empty(),
        "the SIP room answers the CANCELled INVITE itself"
    );
    let row = w.row(1);
    assert_eq!(row.hangup_by, Some(HangupBy::Caller));
    assert_eq!(row.sip_code, Some(487));
    assert_eq!(row.answered_at, None);
    assert_eq!(w.trail_kinds(1), ["offered", "ringing", "cancelled"]);

    // The callee's 200 crossed the CANCEL: it gets a BYE, nothing else changes.
    let sent = w.sip(SipEvent::Answered {
        leg: b,
        answer: audio(5000, PCMU),
    });
    assert_eq!(hangups(&sent), vec![b]);
    assert_eq!(w.rows.len(), 1);
    w.assert_idle();
}

#[test]
fn busy_callee_is_passed_to_the_caller_with_the_cause() {
    let mut w = World::new();
    let (a, sent) = w.invite(
        CallSource::Device(PHONE_1001),
        "1001",
        "1002",
        Some(audio(4000, PCMU)),
    );
    let (b, ..) = invite_of(&sent);
    let sent = w.sip(SipEvent::Rejected {
        leg: b,
        code: 486,
        reason: "Busy Here".into(),
    });
    assert_eq!(responses_to(&sent, a), vec![486]);
    assert!(
        hangups(&sent).is_empty(),
        "nothing is sent to a leg that is already gone"
    );
    let row = w.row(1);
    assert_eq!(row.hangup_by, Some(HangupBy::Callee));
    assert_eq!(
        row.end_cause.as_deref(),
        Some("the callee is busy (486 Busy Here)")
    );
    w.assert_idle();
}

#[test]
fn device_dials_out_with_the_service_number_as_caller_id() {
    let mut w = World::new();
    let (a, sent) = w.invite(
        CallSource::Device(PHONE_1001),
        "1001",
        "913800138000",
        Some(audio(4000, PCMU)),
    );
    let (b, target, offer, from) = invite_of(&sent);
    assert_eq!(
        target,
        Target::Trunk {
            trunk: CARRIER,
            number: "13800138000".into()
        }
    );
    assert_eq!(
        from, SERVICE_NUMBER,
        "the customer sees the company's service number"
    );
    assert!(
        offer
            .codecs
            .iter()
            .all(|c| [Codec::Pcma, Codec::Pcmu].contains(c))
    );
    w.sip(SipEvent::Progress {
        leg: b,
        code: 183,
        early: Some(audio(6000, &[Codec::Pcma])),
    });
    assert!(
        w.media_commands().contains(&&MediaCommand::Bridge { a, b }),
        "early media is bridged"
    );
    w.sip(SipEvent::Answered {
        leg: b,
        answer: audio(6000, &[Codec::Pcma]),
    });
    w.sip(SipEvent::HungUp {
        leg: b,
        cancelled: false,
    });
    let row = w.row(1);
    assert_eq!(row.direction, CallDirection::Outbound);
    assert_eq!(
        row.to_number, "13800138000",
        "without the outside-line prefix"
    );
    assert_eq!(row.service_number.as_deref(), Some(SERVICE_NUMBER));
    assert_eq!(row.device, Some(PHONE_1001));
    assert_eq!(
        w.trail_kinds(1),
        [
            "offered",
            "early_media",
            "answered",
            "recording_started",
            "hung_up"
        ]
    );
    w.assert_idle();
}

#[test]
fn carrier_refusals_name_their_cause() {
    for (code, reason, words) in [
        (402, "Payment Required", "payment required"),
        (480, "Temporarily Unavailable", "unavailable"),
        (503, "Service Unavailable", "service is unavailable"),
    ] {
        let mut w = World::new();
        let (a, sent) = w.invite(
            CallSource::Device(PHONE_1001),
            "1001",
            "913800138000",
            Some(audio(4000, PCMU)),
        );
        let (b, ..) = invite_of(&sent);
        let sent = w.sip(SipEvent::Rejected {
            leg: b,
            code,
            reason: reason.into(),
        });
        assert_eq!(responses_to(&sent, a), vec![code]);
        let row = w.row(1);
        let cause = row.end_cause.clone().unwrap();
        assert!(
            cause.contains(words) && cause.contains(&code.to_string()),
            "{code}: {cause}"
        );
        assert_eq!(row.sip_code, Some(code));
        let last = w.trails[&1].last().unwrap();
        assert_eq!(
            (last.kind.as_str(), last.sip_code),
            ("rejected", Some(code))
        );
        w.assert_idle();
    }
}

#[test]
fn trunk_call_to_the_service_number_rings_its_device() {
    let mut w = World::new();
    let (a, sent) = w.invite(
        CallSource::Trunk(CARRIER),
        "13900139000",
        SERVICE_NUMBER,
        Some(audio(4000, &[Codec::Pcma])),
    );
    let (b, target, offer, from) = invite_of(&sent);
    assert_eq!(target, Target::Device(PHONE_1001));
    assert_eq!(from, "13900139000", "the agent sees the customer's number");
    assert_eq!(offer.codecs[0], Codec::Pcma);
    w.sip(SipEvent::Answered {
        leg: b,
        answer: audio(5000, &[Codec::Pcmu]),
    });
    let configured: Vec<_> = w
        .media_commands()
        .into_iter()
        .filter_map(|m| match m {
            MediaCommand::Configure { leg, codec, .. } => Some((*leg, *codec)),
            _ => None,
        })
        .collect();
    assert!(
        configured.contains(&(a, Codec::Pcma)) && configured.contains(&(b, Codec::Pcmu)),
        "each leg speaks its own codec: {configured:?}"
    );
    w.sip(SipEvent::HungUp {
        leg: a,
        cancelled: false,
    });
    let row = w.row(1);
    assert_eq!(row.direction, CallDirection::Inbound);
    assert_eq!(row.service_number.as_deref(), Some(SERVICE_NUMBER));
    assert_eq!(row.trunk, Some(CARRIER));
    assert_eq!(row.device, Some(PHONE_1001));
    w.assert_idle();
}

#[test]
fn unknown_numbers_and_bad_offers_are_refused_with_a_row() {
    let mut w = World::new();
    let (a, sent) = w.invite(
        CallSource::Trunk(CARRIER),
        "13900139000",
        "4000000000",
        Some(audio(4000, PCMU)),
    );
    assert_eq!(responses_to(&sent, a), vec![404]);
    let (a2, sent) = w.invite(
        CallSource::Device(PHONE_1001),
        "1001",
        "1002",
        Some(audio(4000, &[])),
    );
    assert_eq!(responses_to(&sent, a2), vec![488]);
    let (a3, sent) = w.invite(CallSource::Device(PHONE_1001), "1001", "1002", None);
    assert_eq!(responses_to(&sent, a3), vec![488]);
    assert_eq!(w.rows.len(), 3, "refused calls are logged too");
    assert_eq!(w.row(1).end_cause.as_deref(), Some("no such number"));
    assert_eq!(w.trail_kinds(1), ["offered", "failed"]);
    assert!(
        w.media_commands().is_empty(),
        "no RTP port is spent on a refused call"
    );
    w.assert_idle();
}

#[test]
fn unanswered_callee_is_given_up_after_the_ring_timeout() {
    let mut w = World::new();
    let (a, sent) = w.invite(
        CallSource::Device(PHONE_1001),
        "1001",
        "1002",
        Some(audio(4000, PCMU)),
    );
    let (b, ..) = invite_of(&sent);
    w.sip(SipEvent::Progress {
        leg: b,
        code: 180,
        early: None,
    });
    assert!(
        w.advance(Duration::from_secs(59)).is_empty(),
        "still ringing at 59 s"
    );
    let sent = w.advance(Duration::from_secs(2));
    assert_eq!(responses_to(&sent, a), vec![480]);
    assert_eq!(hangups(&sent), vec![b]);
    let row = w.row(1);
    assert_eq!(row.hangup_by, Some(HangupBy::System));
    assert_eq!(row.end_cause.as_deref(), Some("no answer within 60 s"));
    assert_eq!((row.ended_at.unwrap() - row.started_at).num_seconds(), 60);
    w.assert_idle();
}

#[test]
fn dead_media_ends_the_call() {
    let mut w = World::new();
    let (a, sent) = w.invite(
        CallSource::Device(PHONE_1001),
        "1001",
        "1002",
        Some(audio(4000, PCMU)),
    );
    let (b, ..) = invite_of(&sent);
    w.sip(SipEvent::Answered {
        leg: b,
        answer: audio(5000, PCMU),
    });
    let sent = w.feed(Input::Media(MediaEvent::RtpTimeout { leg: a }));
    let mut ended = hangups(&sent);
    ended.sort();
    let mut both = vec![a, b];
    both.sort();
    assert_eq!(ended, both, "both phones get a BYE");
    let row = w.row(1);
    assert_eq!(row.hangup_by, Some(HangupBy::System));
    assert!(
        row.end_cause
            .as_deref()
            .unwrap()
            .contains("no audio from the caller for 60 s")
    );
    w.assert_idle();
}

#[test]
fn hold_and_resume_by_reinvite() {
    let mut w = World::new();
    let (a, sent) = w.invite(
        CallSource::Device(PHONE_1001),
        "1001",
        "1002",
        Some(audio(4000, PCMU)),
    );
    let (b, ..) = invite_of(&sent);
    w.sip(SipEvent::Answered {
        leg: b,
        answer: audio(5000, PCMU),
    });

    let mut hold = audio(4000, PCMU);
    hold.direction = Direction::SendOnly;
    let sent = w.sip(SipEvent::Reoffer {
        leg: a,
        offer: hold,
    });
    let answer = sent.iter().find_map(|c| match c {
        SipCommand::AnswerReoffer { leg, media } if *leg == a => Some(media.clone()),
        _ => None,
    });
    assert_eq!(
        answer.expect("the re-INVITE is answered").direction,
        Direction::RecvOnly
    );
    assert!(
        w.media_commands()
            .contains(&&MediaCommand::Hold { leg: a, on: true })
    );

    let sent = w.sip(SipEvent::Reoffer {
        leg: a,
        offer: audio(4000, PCMU),
    });
    assert!(
        matches!(&sent[..], [SipCommand::AnswerReoffer { media, .. }] if media.direction == Direction::SendRecv)
    );
    assert!(
        w.media_commands()
            .contains(&&MediaCommand::Hold { leg: a, on: false })
    );
    // A refresh that changes nothing writes nothing.
    w.sip(SipEvent::Reoffer {
        leg: a,
        offer: audio(4000, PCMU),
    });

    w.sip(SipEvent::HungUp {
        leg: b,
        cancelled: false,
    });
    assert_eq!(
        w.trail_kinds(1),
        [
            "offered",
            "answered",
            "recording_started",
            "held",
            "resumed",
            "hung_up"
        ]
    );
    w.assert_idle();
}

#[test]
fn media_port_exhaustion_refuses_the_call() {
    let mut w = World::new();
    let leg = LegId(LegId::INCOMING | 99);
    let now = w.now();
    w.board.handle(
        now,
        Input::Sip(SipEvent::IncomingCall(Box::new(IncomingCall {
            leg,
            source: CallSource::Device(PHONE_1001),
            from_user: "1001".into(),
            from_display: None,
            to_user: "1002".into(),
            offer: Some(audio(4000, PCMU)),
            sip_call_id: "x".into(),
        }))),
    );
    let mut opened = Vec::new();
    while let Some(out) = w.board.poll_output() {
        if let Output::Media(MediaCommand::Open { leg }) = out {
            opened.push(leg);
        }
    }
    assert_eq!(opened.len(), 2);
    w.board.handle(
        now,
        Input::Media(MediaEvent::OpenFailed {
            leg: opened[0],
            reason: "range exhausted".into(),
        }),
    );
    let mut answered = None;
    while let Some(out) = w.board.poll_output() {
        if let Output::Sip(SipCommand::Respond { code, .. }) = out {
            answered = Some(code);
        }
    }
    assert_eq!(answered, Some(503));
    // The other endpoint opens late and is closed at once.
    w.board.handle(
        now,
        Input::Media(MediaEvent::Opened {
            leg: opened[1],
            local: "10.0.0.1:30000".parse().unwrap(),
        }),
    );
    assert_eq!(w.board.active_calls(), 0);
}

#[test]
fn thousands_of_calls_leave_nothing_behind() {
    let mut w = World::with(demo_directory(), false);
    for i in 0..2000u32 {
        let (a, sent) = w.invite(
            CallSource::Device(PHONE_1001),
            "1001",
            "1002",
            Some(audio(4000, PCMU)),
        );
        let (b, ..) = invite_of(&sent);
        match i % 4 {
            0 => {
                w.sip(SipEvent::Answered {
                    leg: b,
                    answer: audio(5000, PCMU),
                });
                w.sip(SipEvent::HungUp {
                    leg: b,
                    cancelled: false,
                });
            }
            1 => {
                w.sip(SipEvent::HungUp {
                    leg: a,
                    cancelled: true,
                });
            }
            2 => {
                w.sip(SipEvent::Rejected {
                    leg: b,
                    code: 486,
                    reason: "Busy Here".into(),
                });
            }
            _ => {
                w.advance(Duration::from_secs(61));
            }
        }
    }
    assert_eq!(w.rows.len(), 2000);
    w.assert_idle();
}

#[test]
fn stopping_the_box_closes_every_call() {
    let mut w = World::new();
    let (a1, sent) = w.invite(
        CallSource::Device(PHONE_1001),
        "1001",
        "1002",
        Some(audio(4000, PCMU)),
    );
    let (b1, ..) = invite_of(&sent);
    w.sip(SipEvent::Answered {
        leg: b1,
        answer: audio(5000, PCMU),
    });
    let (a2, _) = w.invite(
        CallSource::Trunk(CARRIER),
        "13900139000",
        SERVICE_NUMBER,
        Some(audio(4002, PCMU)),
    );
    let now = w.now();
    w.board.handle(now, Input::Timeout);
    w.board.shutdown(now);
    let mut sent = Vec::new();
    while let Some(out) = w.board.poll_output() {
        if let Output::Sip(cmd) = &out {
            sent.push(cmd.clone());
        }
        if let Output::Store(StoreOp::Call(row)) = &out {
            w.rows.insert(row.id.0, (**row).clone());
        }
    }
    assert!(
        hangups(&sent).contains(&a1) && hangups(&sent).contains(&b1),
        "the answered call gets BYEs"
    );
    assert_eq!(
        responses_to(&sent, a2),
        vec![503],
        "the ringing caller is told 503"
    );
    assert!(
        w.rows
            .values()
            .all(|r| r.end_cause.as_deref() == Some("callbox was stopped during the call"))
    );
    assert_eq!(w.board.active_calls(), 0);
}
