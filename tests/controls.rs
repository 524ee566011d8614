//! The call bar in simulated time (S10, S11, supervision): what each leg hears after
//! every button, who the agents are afterwards, and what the row, the trail and the
//! audit log say; with the edges: a customer hanging up mid-transfer, a consulted
//! party who never answers, an agent hanging up during verification.

mod world;

use std::time::Duration;

use callbox::core::acd::{AgentState, StatusCause};
use callbox::core::*;
use world::*;

const SALES: GroupId = GroupId(1);
const PCMA: &[Codec] = &[Codec::Pcma];
const CUSTOMER: &str = "13911112222";

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn office() -> World {
    office_with(office_dir())
}

fn office_with(dir: Directory) -> World {
    let mut w = World::with(dir, true);
    w.register(1..=4);
    for n in ["8001", "8002", "8003", "8004"] {
        w.login(n);
    }
    w
}

fn office_dir() -> Directory {
    let mut dir = demo_directory();
    dir.devices = (1..=4).map(desk).collect();
    dir.agents = (1..=4).map(|n| agent(n, SALES, n as u32)).collect();
    dir.agents[3].supervisor = true;
    dir.groups = vec![SkillGroup {
        id: SALES,
        name: "售前".into(),
        strategy: Strategy::TopDown,
        ring_timeout: secs(15),
        max_no_answer: 0,
        wrap_up: secs(10),
        max_wait: None,
        overflow: Overflow::Hangup,
        join_empty: true,
        leave_empty: false,
        announce_every: None,
        exit: None,
    }];
    dir.service_numbers[0].device = None;
    dir.service_numbers[0].group = Some(SALES);
    let params = argon2::Params::new(4096, 1, 1, None).expect("valid parameters");
    let hash = argon2::password_hash::PasswordHasher::hash_password(
        &argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params),
        b"90817263",
    )
    .expect("hashing works")
    .to_string();
    dir.customer_pins = vec![CustomerPin {
        number: CUSTOMER.into(),
        pin_hash: hash,
    }];
    dir
}

fn invites(sent: &[SipCommand]) -> Vec<(LegId, Target)> {
    sent.iter()
        .filter_map(|c| match c {
            SipCommand::Invite { leg, target, .. } => Some((*leg, target.clone())),
            _ => None,
        })
        .collect()
}

fn answer(w: &mut World, leg: LegId) -> Vec<SipCommand> {
    w.sip(SipEvent::Answered {
        leg,
        answer: audio(6000 + (leg.0 as u16 % 1000), PCMA),
    })
}

fn hang_up(w: &mut World, leg: LegId) -> Vec<SipCommand> {
    w.sip(SipEvent::HungUp {
        leg,
        cancelled: false,
    })
}

fn state(w: &World, number: &str) -> AgentState {
    w.board.agent_state(number).expect("a known agent")
}

fn bar(w: &mut World, agent: &str, control: Control) -> Result<Reply, CommandError> {
    w.command(Command::Control {
        agent: agent.into(),
        control,
    })
}

fn view(w: &mut World, agent: &str) -> CallView {
    match w.command(Command::CallOf {
        agent: agent.into(),
    }) {
        Ok(Reply::Call(v)) => *v,
        other => panic!("agent {agent} has a call: {other:?}"),
    }
}

/// The media commands sent since `from` (an index into the world's log).
fn media_since(w: &World, from: usize) -> Vec<MediaCommand> {
    w.log[from..]
        .iter()
        .filter_map(|o| match o {
            Output::Media(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

/// The SIP commands sent since `from`.
fn sip_since(w: &World, from: usize) -> Vec<SipCommand> {
    w.log[from..]
        .iter()
        .filter_map(|o| match o {
            Output::Sip(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

fn looped_to(cmds: &[MediaCommand], leg: LegId) -> Option<String> {
    cmds.iter().rev().find_map(|m| match m {
        MediaCommand::Play {
            leg: l,
            file,
            looped: true,
            ..
        } if *l == leg => Some(file.display().to_string()),
        _ => None,
    })
}

fn played_to(cmds: &[MediaCommand], leg: LegId) -> Vec<String> {
    cmds.iter()
        .filter_map(|m| match m {
            MediaCommand::Play { leg: l, file, .. } if *l == leg => {
                Some(file.display().to_string())
            }
            _ => None,
        })
        .collect()
}

/// A customer's queue call answered by 8001 (top-down: level 1). Returns the
/// customer's leg and 8001's.
fn connected(w: &mut World) -> (LegId, LegId) {
    let (customer, sent) = w.invite(
        CallSource::Trunk(CARRIER),
        CUSTOMER,
        SERVICE_NUMBER,
        Some(audio(4000, PCMA)),
    );
    let (agent_leg, target) = invites(&sent)[0].clone();
    assert_eq!(target, Target::Device(DeviceId(1)), "8001's phone rings");
    answer(w, agent_leg);
    assert_eq!(state(w, "8001"), AgentState::Talking);
    (customer, agent_leg)
}

#[test]
fn hold_plays_music_to_both_and_counts_the_time() {
    let mut w = office();
    let (c, a) = connected(&mut w);
    let mark = w.log.len();
    bar(&mut w, "8001", Control::Hold).expect("hold");
    let cmds = media_since(&w, mark);
    assert!(looped_to(&cmds, c).is_some_and(|f| f.ends_with("moh/default.wav")));
    assert!(looped_to(&cmds, a).is_some_and(|f| f.ends_with("moh/default.wav")));
    assert!(
        cmds.contains(&MediaCommand::Unbridge { leg: c }),
        "{cmds:?}"
    );
    assert!(
        cmds.contains(&MediaCommand::RecordOthers {
            a: c,
            others: vec![]
        }),
        "the recording keeps the customer only"
    );
    assert_eq!(view(&mut w, "8001").state, "held");
    assert!(matches!(
        bar(&mut w, "8001", Control::Hold),
        Err(CommandError::NotNow(_))
    ));
    w.advance(secs(7));
    let mark = w.log.len();
    bar(&mut w, "8001", Control::Resume).expect("resume");
    let cmds = media_since(&w, mark);
    assert!(cmds.contains(&MediaCommand::StopPlay { leg: c }));
    assert!(cmds.contains(&MediaCommand::StopPlay { leg: a }));
    assert!(cmds.contains(&MediaCommand::Bridge { a: c, b: a }));
    assert_eq!(view(&mut w, "8001").hold_secs, 7);
    hang_up(&mut w, c);
    assert_eq!(w.row(1).hold_secs, 7);
    let kinds = w.trail_kinds(1);
    assert!(
        kinds.contains(&"held") && kinds.contains(&"resumed"),
        "{kinds:?}"
    );
    w.advance(secs(10));
    w.assert_idle();
}

#[test]
fn the_agents_hold_button_gives_the_customer_music() {
    let mut w = office();
    let (c, a) = connected(&mut w);
    let mut hold = audio(6001, PCMA);
    hold.direction = Direction::SendOnly;
    let mark = w.log.len();
    w.sip(SipEvent::Reoffer {
        leg: a,
        offer: hold,
    });
    let cmds = media_since(&w, mark);
    assert!(cmds.contains(&MediaCommand::Hold { leg: a, on: true }));
    assert!(looped_to(&cmds, c).is_some_and(|f| f.ends_with("moh/default.wav")));
    w.advance(secs(5));
    let mark = w.log.len();
    w.sip(SipEvent::Reoffer {
        leg: a,
        offer: audio(6001, PCMA),
    });
    assert!(media_since(&w, mark).contains(&MediaCommand::StopPlay { leg: c }));
    hang_up(&mut w, a);
    assert_eq!(w.row(1).hold_secs, 5);
    w.advance(secs(10));
    w.assert_idle();
}

#[test]
fn a_blind_transfer_rings_the_other_agent_and_keeps_one_row_and_recording() {
    let mut w = office();
    let (c, a) = connected(&mut w);
    let mark = w.log.len();
    let sent = {
        bar(
            &mut w,
            "8001",
            Control::Transfer(Party::Agent("8002".into())),
        )
        .expect("transfer");
        sip_since(&w, mark)
    };
    assert!(hangups(&sent).contains(&a), "8001's phone gets a BYE");
    assert_eq!(state(&w, "8001"), AgentState::WrapUp);
    let (b, target) = invites(&sent)[0].clone();
    assert_eq!(target, Target::Device(DeviceId(2)));
    assert_eq!(state(&w, "8002"), AgentState::Ringing);
    let mark = w.log.len();
    answer(&mut w, b);
    let cmds = media_since(&w, mark);
    assert!(cmds.contains(&MediaCommand::Bridge { a: c, b }));
    assert!(
        cmds.contains(&MediaCommand::RecordOthers {
            a: c,
            others: vec![b]
        }),
        "the customer's recording goes on with the new agent: {cmds:?}"
    );
    assert!(
        !cmds
            .iter()
            .any(|m| matches!(m, MediaCommand::Record { .. }))
    );
    assert_eq!(state(&w, "8002"), AgentState::Talking);
    hang_up(&mut w, c);
    assert_eq!(w.row(1).agent, Some(AgentId(2)));
    assert_eq!(
        state(&w, "8002"),
        AgentState::WrapUp,
        "a queue call's wrap-up"
    );
    let trail = &w.trails[&1];
    assert!(
        trail.iter().any(|l| l.kind == CallEventKind::Control
            && l.detail
                .contains("agent 8001 transferred the call to agent 8002")),
        "{trail:#?}"
    );
    w.advance(secs(20));
    w.assert_idle();
}

#[test]
fn a_transfer_to_an_agent_who_is_not_free_is_refused_and_the_call_stays() {
    let mut w = office();
    let (c, a) = connected(&mut w);
    w.command(Command::SetState {
        agent: "8002".into(),
        state: Availability::Rest,
        by: StatusCause::Agent,
    })
    .expect("rest");
    let mark = w.log.len();
    let r = bar(
        &mut w,
        "8001",
        Control::Transfer(Party::Agent("8002".into())),
    );
    assert!(matches!(r, Err(CommandError::NotFree { .. })), "{r:?}");
    assert!(media_since(&w, mark).is_empty(), "nothing changed");
    assert_eq!(view(&mut w, "8001").state, "talking");
    hang_up(&mut w, c);
    assert!(w.row(1).ended_at.is_some());
    let _ = a;
    w.advance(secs(20));
    w.assert_idle();
}

#[test]
fn a_customer_hanging_up_mid_transfer_frees_the_ringing_agent() {
    let mut w = office();
    let (c, _a) = connected(&mut w);
    bar(
        &mut w,
        "8001",
        Control::Transfer(Party::Agent("8003".into())),
    )
    .expect("transfer");
    assert_eq!(state(&w, "8003"), AgentState::Ringing);
    let sent = hang_up(&mut w, c);
    assert_eq!(hangups(&sent).len(), 1, "the ringing phone is cancelled");
    assert_eq!(state(&w, "8003"), AgentState::Idle);
    assert_eq!(w.row(1).hangup_by, Some(HangupBy::Caller));
    w.advance(secs(20));
    w.assert_idle();
}

#[test]
fn an_unanswered_transfer_brings_the_customer_back_to_the_queue_first() {
    let mut w = office();
    let (c, _a) = connected(&mut w);
    for n in ["8003", "8004"] {
        w.command(Command::SetState {
            agent: n.into(),
            state: Availability::Rest,
            by: StatusCause::Agent,
        })
        .expect("rest");
    }
    bar(
        &mut w,
        "8001",
        Control::Transfer(Party::Agent("8002".into())),
    )
    .expect("transfer");
    // A new caller waits (8002 is ringing); the transferred customer goes ahead.
    let (newcomer, _) = w.invite(
        CallSource::Trunk(CARRIER),
        "13700000000",
        SERVICE_NUMBER,
        Some(audio(4100, PCMA)),
    );
    // 8002 never answers. (The newcomer, who 8002 has not missed, may get them next.)
    w.advance(secs(61));
    assert!(w.trail_kinds(1).contains(&"agent_no_answer"));
    assert!(w.trail_kinds(1).last() == Some(&"queued") || w.trail_kinds(1).contains(&"queued"));
    // 8003 comes back from rest: the transferred customer is first in line.
    w.command(Command::SetState {
        agent: "8003".into(),
        state: Availability::Idle,
        by: StatusCause::Agent,
    })
    .expect("idle");
    let to_8003: Vec<LegId> = w
        .log
        .iter()
        .filter_map(|o| match o {
            Output::Sip(SipCommand::Invite { leg, target, .. })
                if *target == Target::Device(DeviceId(3)) =>
            {
                Some(*leg)
            }
            _ => None,
        })
        .collect();
    assert_eq!(to_8003.len(), 1, "8003 rings");
    answer(&mut w, to_8003[0]);
    assert_eq!(
        w.row(1).agent,
        Some(AgentId(3)),
        "the transferred customer went ahead of the newcomer"
    );
    hang_up(&mut w, c);
    hang_up(&mut w, newcomer);
    w.advance(secs(30));
    w.assert_idle();
}

#[test]
fn consult_then_conference_then_the_agent_leaves_the_other_two() {
    let mut w = office();
    let (c, a) = connected(&mut w);
    let mark = w.log.len();
    bar(
        &mut w,
        "8001",
        Control::Consult(Party::Agent("8002".into())),
    )
    .expect("consult");
    let cmds = media_since(&w, mark);
    assert!(looped_to(&cmds, c).is_some_and(|f| f.ends_with("moh/default.wav")));
    assert!(looped_to(&cmds, a).is_some_and(|f| f.ends_with("moh/ringback.wav")));
    let t = w
        .log
        .iter()
        .rev()
        .find_map(|o| match o {
            Output::Sip(SipCommand::Invite { leg, .. }) => Some(*leg),
            _ => None,
        })
        .expect("8002 is rung");
    assert_eq!(view(&mut w, "8001").state, "consulting");
    let mark = w.log.len();
    answer(&mut w, t);
    let cmds = media_since(&w, mark);
    assert!(cmds.contains(&MediaCommand::Bridge { a, b: t }), "{cmds:?}");
    assert!(cmds.contains(&MediaCommand::StopPlay { leg: a }));
    assert!(
        looped_to(&cmds, c).is_none(),
        "the customer keeps hearing music"
    );
    assert_eq!(state(&w, "8002"), AgentState::Talking);

    let mark = w.log.len();
    bar(&mut w, "8001", Control::Conference).expect("conference");
    let cmds = media_since(&w, mark);
    let mix = cmds
        .iter()
        .find_map(|m| match m {
            MediaCommand::Mix { hears, .. } => Some(hears.clone()),
            _ => None,
        })
        .expect("a three-way mix");
    let hears = |leg: LegId| {
        let mut h = mix
            .iter()
            .find(|(l, _)| *l == leg)
            .expect("in the mix")
            .1
            .clone();
        h.sort();
        h
    };
    let two = |x: LegId, y: LegId| {
        let mut v = vec![x, y];
        v.sort();
        v
    };
    assert_eq!(hears(c), two(a, t));
    assert_eq!(hears(a), two(c, t));
    assert_eq!(hears(t), two(c, a));
    assert!(cmds.contains(&MediaCommand::StopPlay { leg: c }));
    assert_eq!(view(&mut w, "8001").state, "conference");

    let mark = w.log.len();
    bar(&mut w, "8001", Control::CompleteTransfer).expect("leave");
    let cmds = media_since(&w, mark);
    assert!(
        cmds.contains(&MediaCommand::Bridge { a: c, b: t }),
        "{cmds:?}"
    );
    assert_eq!(state(&w, "8001"), AgentState::WrapUp);
    assert_eq!(state(&w, "8002"), AgentState::Talking);
    assert_eq!(view(&mut w, "8002").customer, CUSTOMER);
    hang_up(&mut w, c);
    assert_eq!(state(&w, "8002"), AgentState::WrapUp);
    assert_eq!(w.row(1).agent, Some(AgentId(2)));
    w.advance(secs(20));
    w.assert_idle();
}

#[test]
fn a_consulted_party_who_never_answers_gives_the_customer_back() {
    let mut w = office();
    let (c, a) = connected(&mut w);
    bar(
        &mut w,
        "8001",
        Control::Consult(Party::Number("1003".into())),
    )
    .expect("consult");
    let mark = w.log.len();
    w.advance(secs(61));
    let cmds = media_since(&w, mark);
    assert!(
        cmds.contains(&MediaCommand::Bridge { a: c, b: a }),
        "{cmds:?}"
    );
    assert!(cmds.contains(&MediaCommand::StopPlay { leg: c }));
    assert_eq!(view(&mut w, "8001").state, "talking");
    assert!(w.trail_kinds(1).contains(&"agent_no_answer"));
    hang_up(&mut w, a);
    w.advance(secs(20));
    w.assert_idle();
}

#[test]
fn the_survey_stores_the_customers_key() {
    let mut w = office();
    let (c, a) = connected(&mut w);
    let mark = w.log.len();
    bar(&mut w, "8001", Control::Survey).expect("survey");
    let sent: Vec<SipCommand> = sip_since(&w, mark);
    assert!(hangups(&sent).contains(&a), "the agent's leg ends");
    assert_eq!(state(&w, "8001"), AgentState::WrapUp);
    assert!(
        played_to(&media_since(&w, mark), c)
            .last()
            .is_some_and(|f| f.ends_with("zh-CN/survey.wav"))
    );
    w.feed(Input::Media(MediaEvent::Dtmf {
        leg: c,
        digit: '7',
        duration_ms: 100,
    }));
    assert!(w.row(1).survey_score.is_none(), "7 is not on the scale");
    w.play_done(c);
    w.feed(Input::Media(MediaEvent::Dtmf {
        leg: c,
        digit: '2',
        duration_ms: 100,
    }));
    assert_eq!(w.row(1).survey_score, Some(2));
    assert!(
        played_to(
            &w.media_commands().into_iter().cloned().collect::<Vec<_>>(),
            c
        )
        .last()
        .is_some_and(|f| f.ends_with("survey_thanks.wav"))
    );
    let sent = w.play_done(c);
    assert!(hangups(&sent).contains(&c), "thanks, then goodbye");
    w.advance(secs(20));
    w.assert_idle();
}

fn key(w: &mut World, leg: LegId, digits: &str) {
    for digit in digits.chars() {
        w.feed(Input::Media(MediaEvent::Dtmf {
            leg,
            digit,
            duration_ms: 100,
        }));
    }
}

#[test]
fn verification_tells_the_agent_only_the_result_and_gives_the_call_back() {
    let mut w = office();
    let (c, a) = connected(&mut w);
    let mark = w.log.len();
    bar(&mut w, "8001", Control::Verify).expect("verify");
    let cmds = media_since(&w, mark);
    assert!(cmds.contains(&MediaCommand::PauseRecording { a: c, paused: true }));
    assert!(looped_to(&cmds, a).is_some_and(|f| f.ends_with("moh/hold_tone.wav")));
    assert!(
        played_to(&cmds, c)
            .last()
            .is_some_and(|f| f.ends_with("verify_enter.wav"))
    );
    assert!(cmds.contains(&MediaCommand::Unbridge { leg: c }));
    assert_eq!(view(&mut w, "8001").state, "verifying");
    assert!(matches!(
        bar(&mut w, "8001", Control::Hold),
        Err(CommandError::NotNow(_))
    ));
    // A wrong PIN first, then the right one.
    key(&mut w, c, "7531#");
    assert!(
        played_to(
            &w.media_commands().into_iter().cloned().collect::<Vec<_>>(),
            c
        )
        .last()
        .is_some_and(|f| f.ends_with("verify_wrong.wav"))
    );
    let mark = w.log.len();
    key(&mut w, c, "90817263#");
    let cmds = media_since(&w, mark);
    assert!(
        played_to(&cmds, a)
            .last()
            .is_some_and(|f| f.ends_with("verify_passed.wav"))
    );
    w.play_done(a);
    let cmds = media_since(&w, mark);
    assert!(
        cmds.contains(&MediaCommand::Bridge { a: c, b: a }),
        "{cmds:?}"
    );
    assert!(cmds.contains(&MediaCommand::PauseRecording {
        a: c,
        paused: false
    }));
    let v = view(&mut w, "8001");
    assert_eq!((v.state, v.verified), ("talking", Some(true)));
    hang_up(&mut w, c);
    let everything = format!("{:?} {:?} {:?}", w.trails, w.rows, w.log);
    assert!(
        !everything.contains("90817263") && !everything.contains("7531"),
        "no digits anywhere"
    );
    w.advance(secs(20));
    w.assert_idle();
}

#[test]
fn three_wrong_pins_fail_and_an_agent_hanging_up_meanwhile_ends_the_call() {
    let mut w = office();
    let (c, a) = connected(&mut w);
    bar(&mut w, "8001", Control::Verify).expect("verify");
    key(&mut w, c, "1111#");
    key(&mut w, c, "2222#");
    let mark = w.log.len();
    key(&mut w, c, "3333#");
    assert!(
        played_to(&media_since(&w, mark), a)
            .last()
            .is_some_and(|f| f.ends_with("verify_failed.wav"))
    );
    w.play_done(a);
    assert_eq!(view(&mut w, "8001").verified, Some(false));

    // Again, and the agent hangs up while the customer keys.
    bar(&mut w, "8001", Control::Verify).expect("verify again");
    key(&mut w, c, "908");
    let sent = hang_up(&mut w, a);
    assert!(hangups(&sent).contains(&c), "the customer is hung up too");
    assert!(w.row(1).ended_at.is_some());
    assert!(!format!("{:?}", w.log).contains("\"908\""));
    w.advance(secs(20));
    w.assert_idle();
}

#[test]
fn click_to_call_rings_the_agent_first_then_the_customer() {
    let mut w = office();
    let mark = w.log.len();
    let r = w.command(Command::Dial {
        agent: "8001".into(),
        number: "13800138000".into(),
    });
    assert!(
        matches!(&r, Ok(Reply::Call(v)) if v.state == "calling"),
        "{r:?}"
    );
    assert_eq!(state(&w, "8001"), AgentState::Calling);
    let sip: Vec<SipCommand> = sip_since(&w, mark);
    let first = invites(&sip);
    assert_eq!(first.len(), 1, "only the agent's phone rings: {first:?}");
    assert_eq!(first[0].1, Target::Device(DeviceId(1)));
    let mark = w.log.len();
    let sent = answer(&mut w, first[0].0);
    let second = invites(&sent);
    assert_eq!(
        second.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>(),
        vec![Target::Trunk {
            trunk: CARRIER,
            number: "13800138000".into()
        }]
    );
    let (_, _, _, from) = invite_of(&sent);
    assert_eq!(
        from, SERVICE_NUMBER,
        "the customer sees the company's number"
    );
    assert!(
        looped_to(&media_since(&w, mark), first[0].0).is_some_and(|f| f.ends_with("ringback.wav"))
    );
    answer(&mut w, second[0].0);
    assert_eq!(state(&w, "8001"), AgentState::Talking);
    assert!(w.media_commands().contains(&&MediaCommand::Bridge {
        a: first[0].0,
        b: second[0].0
    }));
    assert_eq!(view(&mut w, "8001").state, "talking");
    hang_up(&mut w, second[0].0);
    let row = w.row(1);
    assert_eq!(row.direction, CallDirection::Outbound);
    assert_eq!(row.agent, Some(AgentId(1)));
    assert!(row.recording.is_some());
    assert_eq!(
        state(&w, "8001"),
        AgentState::Idle,
        "back to where they were"
    );
    w.assert_idle();
}

#[test]
fn a_click_to_call_the_trunk_refuses_says_why() {
    let mut w = office();
    w.command(Command::Dial {
        agent: "8001".into(),
        number: "13800138000".into(),
    })
    .expect("dial");
    let agent_leg = invites(&sip_since(&w, 0))[0].0;
    let sent = answer(&mut w, agent_leg);
    let customer_leg = invites(&sent)[0].0;
    let sent = w.sip(SipEvent::Rejected {
        leg: customer_leg,
        code: 402,
        reason: "Payment Required".into(),
    });
    assert!(hangups(&sent).contains(&agent_leg), "the agent is hung up");
    let row = w.row(1);
    assert_eq!(row.sip_code, Some(402));
    assert!(
        row.end_cause
            .as_deref()
            .is_some_and(|c| c.contains("customer could not be reached")),
        "{row:?}"
    );
    assert_eq!(state(&w, "8001"), AgentState::Idle);
    assert!(matches!(
        w.command(Command::Dial {
            agent: "8001".into(),
            number: "12; DROP".into()
        }),
        Err(CommandError::BadNumber(_))
    ));
    w.assert_idle();
}

#[test]
fn a_supervisor_listens_then_whispers_then_barges_in_and_each_is_audited() {
    let mut w = office();
    let (c, a) = connected(&mut w);
    assert!(matches!(
        w.command(Command::Supervise {
            supervisor: "8002".into(),
            agent: "8001".into(),
            mode: Watch::Listen
        }),
        Err(CommandError::NotSupervisor(_))
    ));
    let mark = w.log.len();
    w.command(Command::Supervise {
        supervisor: "8004".into(),
        agent: "8001".into(),
        mode: Watch::Listen,
    })
    .expect("listen");
    let s = invites(&sip_since(&w, mark))[0].clone();
    assert_eq!(
        s.1,
        Target::Device(DeviceId(4)),
        "the supervisor's own phone rings"
    );
    let s = s.0;
    let mark = w.log.len();
    answer(&mut w, s);
    let mix = |cmds: &[MediaCommand]| {
        cmds.iter()
            .rev()
            .find_map(|m| match m {
                MediaCommand::Mix { hears, .. } => Some(hears.clone()),
                _ => None,
            })
            .expect("a mix")
    };
    let heard_by = |mix: &[(LegId, Vec<LegId>)], leg: LegId| {
        let mut h = mix
            .iter()
            .find(|(l, _)| *l == leg)
            .expect("in the mix")
            .1
            .clone();
        h.sort();
        h
    };
    let m = mix(&media_since(&w, mark));
    assert_eq!(
        heard_by(&m, c),
        vec![a],
        "listen: the customer hears the agent only"
    );
    assert_eq!(heard_by(&m, a), vec![c]);
    let mut both = vec![c, a];
    both.sort();
    assert_eq!(heard_by(&m, s), both);

    let mark = w.log.len();
    w.command(Command::Supervise {
        supervisor: "8004".into(),
        agent: "8001".into(),
        mode: Watch::Whisper,
    })
    .expect("whisper");
    let m = mix(&media_since(&w, mark));
    assert_eq!(
        heard_by(&m, c),
        vec![a],
        "whisper: the customer does not hear it"
    );
    let mut agent_hears = vec![c, s];
    agent_hears.sort();
    assert_eq!(heard_by(&m, a), agent_hears);

    let mark = w.log.len();
    w.command(Command::Supervise {
        supervisor: "8004".into(),
        agent: "8001".into(),
        mode: Watch::Barge,
    })
    .expect("barge");
    let m = mix(&media_since(&w, mark));
    let mut customer_hears = vec![a, s];
    customer_hears.sort();
    assert_eq!(heard_by(&m, c), customer_hears);
    assert_eq!(
        state(&w, "8004"),
        AgentState::Talking,
        "no queue call meanwhile"
    );

    w.command(Command::StopSupervising {
        supervisor: "8004".into(),
    })
    .expect("stop");
    assert!(
        w.media_commands()
            .contains(&&MediaCommand::Bridge { a: c, b: a })
    );
    assert_eq!(state(&w, "8004"), AgentState::Idle);
    let actions: Vec<&str> = w.audit.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["listen", "whisper", "barge", "stop"]);
    assert!(
        w.audit
            .iter()
            .all(|r| r.actor == "8004" && r.call == Some(CallId(1)))
    );
    hang_up(&mut w, c);
    w.advance(secs(20));
    w.assert_idle();
}

#[test]
fn a_phones_blind_refer_transfers_and_an_attended_one_joins_the_other_call() {
    let mut w = office();
    let (c, a) = connected(&mut w);
    let sent = w.sip(SipEvent::Refer {
        leg: a,
        to_user: "8002".into(),
        replaces: None,
    });
    assert!(sent.contains(&SipCommand::ReferOutcome { leg: a, code: 200 }));
    assert!(hangups(&sent).contains(&a));
    let b = invites(&sent)[0].0;
    answer(&mut w, b);
    assert_eq!(w.row(1).agent, Some(AgentId(2)));

    // 8002 calls 8003 from their phone, then transfers the customer there.
    let (p, sent) = w.invite(
        CallSource::Device(DeviceId(2)),
        "1002",
        "1003",
        Some(audio(4200, PCMA)),
    );
    let (far, _) = invites(&sent)[0].clone();
    answer(&mut w, far);
    assert_eq!(state(&w, "8003"), AgentState::Talking);
    let mark = w.log.len();
    let sent = w.sip(SipEvent::Refer {
        leg: b,
        to_user: "1003".into(),
        replaces: Some(p),
    });
    assert!(sent.contains(&SipCommand::ReferOutcome { leg: b, code: 200 }));
    let gone = hangups(&sent);
    assert!(
        gone.contains(&b) && gone.contains(&p),
        "the phone leaves both calls: {gone:?}"
    );
    assert!(media_since(&w, mark).contains(&MediaCommand::Bridge { a: c, b: far }));
    assert_eq!(w.row(1).agent, Some(AgentId(3)));
    assert!(w.row(2).ended_at.is_some(), "the consult call is closed");
    assert_eq!(
        state(&w, "8002"),
        AgentState::WrapUp,
        "{:#?}",
        w.agent_rows(AgentId(2))
    );
    assert_eq!(state(&w, "8003"), AgentState::Talking);
    hang_up(&mut w, c);
    assert_eq!(state(&w, "8003"), AgentState::WrapUp);
    w.advance(secs(20));
    w.assert_idle();
}

#[test]
fn transfer_to_a_menu_node_starts_the_flow_there() {
    let mut dir = office_dir();
    dir.flows = vec![callbox::core::ivr::Flow {
        id: callbox::core::ivr::FlowId(1),
        name: "主菜单".into(),
        start: callbox::core::ivr::NodeId(1),
        nodes: vec![
            callbox::core::ivr::Node {
                id: callbox::core::ivr::NodeId(1),
                kind: callbox::core::ivr::NodeKind::Hangup {
                    prompts: vec!["welcome_menu".into()],
                },
            },
            callbox::core::ivr::Node {
                id: callbox::core::ivr::NodeId(2),
                kind: callbox::core::ivr::NodeKind::Hangup {
                    prompts: vec!["goodbye".into()],
                },
            },
        ],
    }];
    let mut w = office_with(dir);
    let (c, a) = connected(&mut w);
    assert!(matches!(
        bar(
            &mut w,
            "8001",
            Control::Menu {
                flow: "主菜单".into(),
                node: Some(9)
            }
        ),
        Err(CommandError::UnknownFlow(..))
    ));
    let mark = w.log.len();
    bar(
        &mut w,
        "8001",
        Control::Menu {
            flow: "主菜单".into(),
            node: Some(2),
        },
    )
    .expect("menu");
    let cmds = media_since(&w, mark);
    assert!(
        played_to(&cmds, c)
            .last()
            .is_some_and(|f| f.ends_with("goodbye.wav"))
    );
    let _ = a;
    let sent = w.play_done(c);
    assert!(hangups(&sent).contains(&c));
    w.advance(secs(20));
    w.assert_idle();
}

#[test]
fn a_desk_phone_call_out_is_the_agents_call_with_the_customer_on_the_left() {
    let mut w = office();
    let (phone, sent) = w.invite(
        CallSource::Device(DeviceId(1)),
        "1001",
        "913800138000",
        Some(audio(4300, PCMA)),
    );
    let (far, target) = invites(&sent)[0].clone();
    assert_eq!(
        target,
        Target::Trunk {
            trunk: CARRIER,
            number: "13800138000".into()
        }
    );
    assert_eq!(state(&w, "8001"), AgentState::Calling);
    answer(&mut w, far);
    assert_eq!(state(&w, "8001"), AgentState::Talking);
    assert!(
        w.media_commands()
            .iter()
            .any(|m| matches!(m, MediaCommand::Record { a, b, .. } if *a == far && *b == phone)),
        "the customer is the recording's left channel"
    );
    assert_eq!(view(&mut w, "8001").customer, "13800138000");
    bar(&mut w, "8001", Control::Hold).expect("the call bar works on it");
    w.advance(secs(3));
    bar(&mut w, "8001", Control::Resume).expect("resume");
    hang_up(&mut w, phone);
    let row = w.row(1);
    assert_eq!(
        (row.to_number.as_str(), row.agent, row.hold_secs),
        ("13800138000", Some(AgentId(1)), 3)
    );
    assert_eq!(state(&w, "8001"), AgentState::Idle);
    w.assert_idle();
}

// ---------------------------------------------------------------- edges found in review

/// The newest INVITE the switchboard sent: its leg and target.
fn last_invite(w: &World) -> (LegId, Target) {
    w.log
        .iter()
        .rev()
        .find_map(|o| match o {
            Output::Sip(SipCommand::Invite { leg, target, .. }) => Some((*leg, target.clone())),
            _ => None,
        })
        .expect("an INVITE was sent")
}

/// 8001 consults agent `number`, who answers; the consulted leg.
fn consulted(w: &mut World, number: &str) -> LegId {
    bar(w, "8001", Control::Consult(Party::Agent(number.into()))).expect("consult");
    let (t, _) = last_invite(w);
    answer(w, t);
    t
}

/// 8001 clicks to call 13800138000; both answer. Returns (customer leg, agent leg).
fn click_to_call(w: &mut World) -> (LegId, LegId) {
    w.command(Command::Dial {
        agent: "8001".into(),
        number: "13800138000".into(),
    })
    .expect("dial");
    let (agent_leg, _) = last_invite(w);
    answer(w, agent_leg);
    let (customer_leg, _) = last_invite(w);
    answer(w, customer_leg);
    (customer_leg, agent_leg)
}

#[test]
fn an_attended_transfer_of_a_click_to_call_frees_the_new_agent_when_it_ends() {
    let mut w = office();
    let (c, _) = click_to_call(&mut w);
    consulted(&mut w, "8002");
    bar(&mut w, "8001", Control::CompleteTransfer).expect("complete");
    assert_eq!(
        state(&w, "8001"),
        AgentState::Idle,
        "a personal call returns"
    );
    assert_eq!(state(&w, "8002"), AgentState::Talking);
    hang_up(&mut w, c);
    assert_eq!(
        state(&w, "8002"),
        AgentState::Idle,
        "the call ended (no queue, so no after-call work)"
    );
    w.advance(secs(20));
    w.assert_idle();
}

#[test]
fn a_consulted_extension_is_its_agent_and_gets_no_queue_call_meanwhile() {
    let mut w = office();
    let (c, _) = connected(&mut w);
    bar(
        &mut w,
        "8001",
        Control::Consult(Party::Number("1002".into())),
    )
    .expect("consult");
    let (t, _) = last_invite(&w);
    answer(&mut w, t);
    assert_eq!(state(&w, "8002"), AgentState::Talking);
    let (newcomer, sent) = w.invite(
        CallSource::Trunk(CARRIER),
        "13700000000",
        SERVICE_NUMBER,
        Some(audio(4100, PCMA)),
    );
    assert!(
        !invites(&sent)
            .iter()
            .any(|(_, t)| *t == Target::Device(DeviceId(2))),
        "8002 is on the consult"
    );
    hang_up(&mut w, newcomer);
    hang_up(&mut w, c);
    w.advance(secs(30));
    w.assert_idle();
}

#[test]
fn a_refer_to_an_agents_extension_makes_them_the_calls_agent() {
    let mut w = office();
    let (c, a) = connected(&mut w);
    let sent = w.sip(SipEvent::Refer {
        leg: a,
        to_user: "1002".into(),
        replaces: None,
    });
    answer(&mut w, invites(&sent)[0].0);
    assert_eq!(state(&w, "8002"), AgentState::Talking);
    hang_up(&mut w, c);
    assert_eq!(w.row(1).agent, Some(AgentId(2)));
    assert_eq!(state(&w, "8002"), AgentState::WrapUp);
    w.advance(secs(30));
    w.assert_idle();
}

#[test]
fn a_refer_from_the_caller_of_an_internal_call_frees_only_the_caller() {
    let mut w = office();
    let (p, sent) = w.invite(
        CallSource::Device(DeviceId(2)),
        "1002",
        "1003",
        Some(audio(4200, PCMA)),
    );
    let far = invites(&sent)[0].0;
    answer(&mut w, far);
    let sent = w.sip(SipEvent::Refer {
        leg: p,
        to_user: "8001".into(),
        replaces: None,
    });
    assert_eq!(state(&w, "8002"), AgentState::Idle, "the caller left");
    assert_eq!(state(&w, "8003"), AgentState::Talking, "the callee stays");
    answer(&mut w, invites(&sent)[0].0);
    hang_up(&mut w, far);
    w.advance(secs(30));
    assert_eq!(state(&w, "8003"), AgentState::Idle);
    w.assert_idle();
}

#[test]
fn an_attended_refer_takes_a_supervisor_off_the_other_call() {
    let mut w = office();
    let (c, a) = connected(&mut w);
    let (p, sent) = w.invite(
        CallSource::Device(DeviceId(1)),
        "1001",
        "1003",
        Some(audio(4200, PCMA)),
    );
    answer(&mut w, invites(&sent)[0].0);
    w.command(Command::Supervise {
        supervisor: "8004".into(),
        agent: "8003".into(),
        mode: Watch::Listen,
    })
    .expect("listen");
    let (sv, _) = last_invite(&w);
    answer(&mut w, sv);
    let sent = w.sip(SipEvent::Refer {
        leg: a,
        to_user: "1003".into(),
        replaces: Some(p),
    });
    assert!(
        hangups(&sent).contains(&sv),
        "the supervisor's phone gets a BYE"
    );
    assert_eq!(state(&w, "8004"), AgentState::Idle);
    hang_up(&mut w, c);
    w.advance(secs(30));
    w.assert_idle();
}

#[test]
fn a_transfer_while_a_supervisor_rings_leaves_no_timer_behind() {
    let mut w = office();
    let (c, _) = connected(&mut w);
    w.command(Command::Supervise {
        supervisor: "8004".into(),
        agent: "8001".into(),
        mode: Watch::Listen,
    })
    .expect("listen");
    bar(
        &mut w,
        "8001",
        Control::Transfer(Party::Agent("8002".into())),
    )
    .expect("transfer");
    assert_eq!(
        state(&w, "8004"),
        AgentState::Idle,
        "the supervisor's ring ends"
    );
    let (b, _) = last_invite(&w);
    answer(&mut w, b);
    hang_up(&mut w, c);
    w.advance(secs(20));
    w.assert_idle();
}

#[test]
fn leaving_a_conference_ends_the_mix_and_the_others_hear_each_other() {
    let mut w = office();
    let (c, a) = connected(&mut w);
    let t = consulted(&mut w, "8002");
    bar(&mut w, "8001", Control::Conference).expect("conference");
    let mark = w.log.len();
    bar(&mut w, "8001", Control::CompleteTransfer).expect("leave");
    let cmds = media_since(&w, mark);
    assert!(cmds.contains(&MediaCommand::Unmix { room: 1 }), "{cmds:?}");
    assert!(cmds.contains(&MediaCommand::Bridge { a: c, b: t }));
    let _ = a;
    hang_up(&mut w, c);
    w.advance(secs(20));
    w.assert_idle();
}

#[test]
fn the_third_partys_hold_button_in_a_conference_leaves_the_other_two_talking() {
    let mut w = office();
    let (c, a) = connected(&mut w);
    let t = consulted(&mut w, "8002");
    bar(&mut w, "8001", Control::Conference).expect("conference");
    let mut hold = audio(6002, PCMA);
    hold.direction = Direction::SendOnly;
    let mark = w.log.len();
    w.sip(SipEvent::Reoffer {
        leg: t,
        offer: hold,
    });
    let cmds = media_since(&w, mark);
    assert!(
        cmds.contains(&MediaCommand::Bridge { a: c, b: a }),
        "{cmds:?}"
    );
    hang_up(&mut w, c);
    w.advance(secs(20));
    w.assert_idle();
}

#[test]
fn at_the_disk_floor_new_calls_are_not_recorded_and_running_ones_go_on() {
    let mut w = office();
    let (c, _) = connected(&mut w);
    assert!(w.row(1).recording.is_some());
    w.board.pause_recording(true);
    bar(
        &mut w,
        "8001",
        Control::Transfer(Party::Agent("8002".into())),
    )
    .expect("transfer");
    let (b, _) = last_invite(&w);
    let mark = w.log.len();
    answer(&mut w, b);
    assert!(
        media_since(&w, mark).contains(&MediaCommand::RecordOthers {
            a: c,
            others: vec![b]
        }),
        "the running recording follows the customer"
    );
    let (other, sent) = w.invite(
        CallSource::Trunk(CARRIER),
        "13700000000",
        SERVICE_NUMBER,
        Some(audio(4100, PCMA)),
    );
    answer(&mut w, invites(&sent)[0].0);
    assert!(w.row(2).recording.is_none(), "a new call is not recorded");
    w.board.pause_recording(false);
    hang_up(&mut w, other);
    hang_up(&mut w, c);
    w.advance(secs(30));
    w.assert_idle();
}
