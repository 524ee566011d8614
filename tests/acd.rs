//! The ACD in simulated time: callers to a service number wait in a skill group's
//! queue and reach agents chosen by the group's strategy; agent states and the status
//! log follow every step. Checked as a supervisor would: whose phone rang, what the
//! caller heard, the call row and trail, the status log.

mod world;

use std::path::PathBuf;
use std::time::Duration;

use callbox::core::acd::{AgentSnapshot, AgentState, StatusCause};
use callbox::core::*;
use world::*;

const SALES: GroupId = GroupId(1);
const SUPPORT: GroupId = GroupId(2);
const PHONES: [(i64, &str); 3] = [(1, "1001"), (2, "1002"), (3, "1003")];
const A1: AgentId = AgentId(1);
const A2: AgentId = AgentId(2);
const A3: AgentId = AgentId(3);
const PCMA: &[Codec] = &[Codec::Pcma];

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn group(id: GroupId, name: &str, strategy: Strategy) -> SkillGroup {
    SkillGroup {
        id,
        name: name.into(),
        strategy,
        ring_timeout: secs(15),
        max_no_answer: 3,
        wrap_up: secs(10),
        max_wait: None,
        overflow: Overflow::Hangup,
        join_empty: true,
        leave_empty: false,
        announce_every: None,
        exit: None,
    }
}

/// Three desk phones and agents 8001-8003 bound to them, all in 售前 (levels 1-3);
/// the service number queues for 售前.
fn office(strategy: Strategy) -> Directory {
    let mut dir = demo_directory();
    dir.devices = PHONES.iter().map(|(id, _)| desk(*id)).collect();
    dir.agents = (1..=3).map(|n| agent(n, SALES, n as u32)).collect();
    dir.groups = vec![
        group(SALES, "售前", strategy),
        group(SUPPORT, "售后", strategy),
    ];
    dir.busy_reasons = vec!["午餐".into(), "会议".into()];
    dir.service_numbers[0].device = None;
    dir.service_numbers[0].group = Some(SALES);
    dir
}

/// A world over `dir` with every phone registered.
fn world(dir: Directory) -> World {
    let mut w = World::with(dir, true);
    w.register(PHONES.iter().map(|(id, _)| *id));
    w
}

fn login(w: &mut World, number: &str) {
    w.login(number);
}

fn set_state(w: &mut World, number: &str, state: Availability) -> Result<Reply, CommandError> {
    w.command(Command::SetState {
        agent: number.into(),
        state,
        by: StatusCause::Agent,
    })
}

/// A customer calls the service number from `from`; returns their leg.
fn customer(w: &mut World, from: &str) -> (LegId, Vec<SipCommand>) {
    w.invite(
        CallSource::Trunk(CARRIER),
        from,
        SERVICE_NUMBER,
        Some(audio(4000, PCMA)),
    )
}

/// The INVITEs among `sent`: (leg, target).
fn rung(sent: &[SipCommand]) -> Vec<(LegId, Target)> {
    sent.iter()
        .filter_map(|c| match c {
            SipCommand::Invite { leg, target, .. } => Some((*leg, target.clone())),
            _ => None,
        })
        .collect()
}

/// Every INVITE the switchboard ever sent.
fn all_rung(w: &World) -> Vec<(LegId, Target)> {
    let sent: Vec<SipCommand> = w
        .log
        .iter()
        .filter_map(|o| match o {
            Output::Sip(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    rung(&sent)
}

fn phone(n: i64) -> Target {
    Target::Device(DeviceId(n))
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

/// The files played to `leg`, in order.
fn played(w: &World, to: LegId) -> Vec<String> {
    w.media_commands()
        .iter()
        .filter_map(|m| match m {
            MediaCommand::Play { leg, file, .. } if *leg == to => Some(file.display().to_string()),
            _ => None,
        })
        .collect()
}

fn trail_details(w: &World, call: i64) -> Vec<String> {
    w.trails[&call]
        .iter()
        .map(|l| format!("{}: {}", l.kind.as_str(), l.detail))
        .collect()
}

#[test]
fn a_queue_call_rings_the_longest_idle_agent_then_wrap_up_then_idle() {
    let mut w = world(office(Strategy::LongestIdle));
    login(&mut w, "8002");
    w.advance(secs(10));
    login(&mut w, "8001");
    w.advance(secs(5));

    let (a, sent) = customer(&mut w, "13911112222");
    assert_eq!(
        responses_to(&sent, a),
        vec![200],
        "the box answers the caller"
    );
    let heard = played(&w, a);
    assert_eq!(
        heard[0], "/sounds/zh-CN/transferring.wav",
        "an agent is free: 正在为您转接, not 坐席正忙"
    );
    assert_eq!(
        rung(&sent),
        vec![(rung(&sent)[0].0, phone(2))],
        "8002 has been idle longest: their phone rings, and only theirs"
    );
    let agent_leg = rung(&sent)[0].0;
    assert_eq!(state(&w, "8002"), AgentState::Ringing);
    assert_eq!(state(&w, "8001"), AgentState::Idle);

    w.play_done(a);
    assert!(
        played(&w, a).last().unwrap().ends_with("moh/default.wav"),
        "after the greeting the caller hears music on hold"
    );
    w.advance(secs(4));
    answer(&mut w, agent_leg);
    let cmds = w.media_commands();
    assert!(cmds.contains(&&MediaCommand::StopPlay { leg: a }));
    assert!(cmds.contains(&&MediaCommand::Bridge { a, b: agent_leg }));
    assert!(
        cmds.iter()
            .any(|m| matches!(m, MediaCommand::Record { a: ra, b: rb, .. } if *ra == a && *rb == agent_leg)),
        "the call is recorded from the moment the agent answers"
    );
    assert_eq!(state(&w, "8002"), AgentState::Talking);

    w.advance(secs(60));
    let sent = hang_up(&mut w, a);
    assert_eq!(hangups(&sent), vec![agent_leg], "the agent gets a BYE");
    assert_eq!(state(&w, "8002"), AgentState::WrapUp);
    let row = w.row(1);
    assert_eq!(row.agent, Some(A2));
    assert_eq!(row.group, Some(SALES));
    assert_eq!(row.wait_secs, Some(4));
    assert_eq!(row.hangup_by, Some(HangupBy::Caller));
    assert_eq!(
        w.trail_kinds(1),
        [
            "offered",
            "queued",
            "agent_offered",
            "answered",
            "recording_started",
            "hung_up"
        ]
    );

    // A second caller during 8002's wrap-up goes to 8001, not to 8002.
    w.advance(secs(3));
    let (a2, sent) = customer(&mut w, "13933334444");
    assert_eq!(
        rung(&sent)[0].1,
        phone(1),
        "no call is offered during wrap-up"
    );
    w.sip(SipEvent::Rejected {
        leg: rung(&sent)[0].0,
        code: 486,
        reason: "Busy Here".into(),
    });
    assert_eq!(
        state(&w, "8001"),
        AgentState::Idle,
        "a refusal frees 8001, who is not rung again at once"
    );
    let sent = w.advance(secs(5));
    assert_eq!(
        rung(&sent)[0].1,
        phone(1),
        "5 s later the caller tries 8001 again"
    );
    let sent = w.advance(secs(2));
    assert_eq!(
        state(&w, "8002"),
        AgentState::Idle,
        "10 s of wrap-up are over"
    );
    assert!(rung(&sent).is_empty(), "a caller rings one agent at a time");
    hang_up(&mut w, a2);
    assert_eq!(
        state(&w, "8001"),
        AgentState::Idle,
        "the offer is withdrawn; 8001 is not blamed"
    );

    let rows = w.agent_rows(A2);
    let states: Vec<AgentState> = rows.iter().map(|r| r.1).collect();
    assert_eq!(
        states,
        [
            AgentState::Idle,
            AgentState::Ringing,
            AgentState::Talking,
            AgentState::WrapUp,
            AgentState::Idle
        ]
    );
    w.assert_idle();
}

#[test]
fn an_unanswered_agent_is_passed_over_and_set_busy_after_three_misses() {
    let mut dir = office(Strategy::TopDown);
    dir.agents.truncate(2);
    let mut w = world(dir);
    login(&mut w, "8001");
    login(&mut w, "8002");

    let (a, sent) = customer(&mut w, "13911112222");
    assert_eq!(rung(&sent)[0].1, phone(1), "top-down: level 1 first");
    let sent = w.advance(secs(15));
    let next = rung(&sent);
    assert_eq!(next.len(), 1);
    assert_eq!(
        next[0].1,
        phone(2),
        "after 15 s of ringing the next agent rings"
    );
    assert_eq!(state(&w, "8001"), AgentState::Idle);
    assert!(trail_details(&w, 1).iter().any(|d| {
        d.starts_with("agent_no_answer: agent 8001 did not answer: no answer within 15 s")
    }));

    // 8002 does not answer either: after a pause the caller goes round again.
    let sent = w.advance(secs(15));
    assert!(
        rung(&sent).is_empty(),
        "both missed: a 5 s pause before the next round"
    );
    let sent = w.advance(secs(5));
    assert_eq!(rung(&sent)[0].1, phone(1));
    let sent = w.advance(secs(15));
    assert_eq!(rung(&sent)[0].1, phone(2));
    w.advance(secs(15));
    let sent = w.advance(secs(5));
    assert_eq!(rung(&sent)[0].1, phone(1), "8001's third offer");
    let sent = w.advance(secs(15));
    assert_eq!(state(&w, "8001"), AgentState::Busy);
    let (_, _, detail) = w.agent_rows(A1).last().cloned().unwrap();
    assert_eq!(detail, "3 unanswered offers in a row → busy");
    assert_eq!(rung(&sent)[0].1, phone(2), "8001 is busy now: 8002 rings");
    hang_up(&mut w, a);
    w.assert_idle();
}

#[test]
fn each_strategy_chooses_as_named() {
    // Round-robin: 8001, 8002, 8003, 8001 over four calls answered in turn.
    let mut w = world(office(Strategy::RoundRobin));
    for n in ["8001", "8002", "8003"] {
        login(&mut w, n);
    }
    let mut order = Vec::new();
    for i in 0..4 {
        let (a, sent) = customer(&mut w, &format!("1390000000{i}"));
        let (leg, target) = rung(&sent)[0].clone();
        order.push(target);
        answer(&mut w, leg);
        hang_up(&mut w, a);
        w.advance(secs(10));
    }
    assert_eq!(order, [phone(1), phone(2), phone(3), phone(1)]);
    w.advance(secs(10));
    w.assert_idle();

    // Fewest calls: after 8001 took one, 8002 is next; least talk time likewise.
    for strategy in [Strategy::FewestCalls, Strategy::LeastTalkTime] {
        let mut w = world(office(strategy));
        login(&mut w, "8001");
        login(&mut w, "8002");
        let (a, sent) = customer(&mut w, "13900000001");
        let (leg, target) = rung(&sent)[0].clone();
        assert_eq!(
            target,
            phone(1),
            "{strategy:?}: a tie goes to the first member"
        );
        answer(&mut w, leg);
        w.advance(secs(30));
        hang_up(&mut w, a);
        w.advance(secs(10));
        let (a, sent) = customer(&mut w, "13900000002");
        assert_eq!(rung(&sent)[0].1, phone(2), "{strategy:?}");
        hang_up(&mut w, a);
        w.advance(secs(10));
        w.assert_idle();
    }

    // Ring-all: every idle member rings; the first to answer takes the call and the
    // others stop ringing.
    let mut w = world(office(Strategy::RingAll));
    for n in ["8001", "8002", "8003"] {
        login(&mut w, n);
    }
    set_state(&mut w, "8003", Availability::Rest).unwrap();
    let (a, sent) = customer(&mut w, "13900000001");
    let legs = rung(&sent);
    assert_eq!(
        legs.iter().map(|l| l.1.clone()).collect::<Vec<_>>(),
        [phone(1), phone(2)],
        "8003 is resting: not rung"
    );
    let sent = answer(&mut w, legs[1].0);
    assert_eq!(
        hangups(&sent),
        vec![legs[0].0],
        "8001's phone stops ringing"
    );
    assert_eq!(state(&w, "8001"), AgentState::Idle);
    assert_eq!(state(&w, "8002"), AgentState::Talking);
    hang_up(&mut w, a);
    w.advance(secs(10));
    w.assert_idle();

    // Random: over many calls every member is chosen.
    let mut w = world(office(Strategy::Random));
    for n in ["8001", "8002", "8003"] {
        login(&mut w, n);
    }
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..30 {
        let (a, sent) = customer(&mut w, &format!("139{i:08}"));
        seen.insert(format!("{:?}", rung(&sent)[0].1));
        hang_up(&mut w, a);
    }
    assert_eq!(seen.len(), 3, "random reaches every member: {seen:?}");
    w.assert_idle();
}

#[test]
fn only_idle_agents_are_offered_calls() {
    let mut w = world(office(Strategy::LongestIdle));
    for n in ["8001", "8002", "8003"] {
        login(&mut w, n);
    }
    set_state(&mut w, "8001", Availability::Busy(Some("午餐".into()))).unwrap();
    set_state(&mut w, "8002", Availability::Rest).unwrap();
    // 8003 is on a call of their own: phone 1003 dials 1001.
    let (own, sent) = w.invite(
        CallSource::Device(DeviceId(3)),
        "1003",
        "1001",
        Some(audio(4100, PCMA)),
    );
    assert_eq!(state(&w, "8003"), AgentState::Calling);
    let own_b = rung(&sent)[0].0;
    answer(&mut w, own_b);
    assert_eq!(state(&w, "8003"), AgentState::Talking);

    let (a, sent) = customer(&mut w, "13911112222");
    assert!(rung(&sent).is_empty(), "nobody is idle: nobody rings");
    assert_eq!(
        played(&w, a)[0],
        "/sounds/zh-CN/please_wait.wav",
        "坐席正忙,请您耐心等待"
    );
    assert_eq!(
        set_state(&mut w, "8001", Availability::Busy(Some("打游戏".into()))),
        Err(CommandError::UnknownBusyReason("打游戏".into()))
    );
    // 8003's own call ends: back to idle, and at once offered the waiting caller.
    hang_up(&mut w, own);
    assert_eq!(state(&w, "8003"), AgentState::Ringing);
    assert_eq!(all_rung(&w).last().unwrap().1, phone(3));
    hang_up(&mut w, a);
    w.assert_idle();
}

#[test]
fn a_phone_calling_the_hotline_queues_like_a_customer_but_never_rings_itself() {
    let mut w = world(office(Strategy::TopDown));
    login(&mut w, "8001");
    login(&mut w, "8002");
    // 8001 (level 1, first for top-down) calls the hotline from their desk phone.
    let (a, sent) = w.invite(
        CallSource::Device(DeviceId(1)),
        "1001",
        SERVICE_NUMBER,
        Some(audio(4300, PCMA)),
    );
    assert_eq!(responses_to(&sent, a), vec![200]);
    assert_eq!(
        rung(&sent)[0].1,
        phone(2),
        "8001 is not offered their own call"
    );
    assert_eq!(state(&w, "8001"), AgentState::Calling);
    answer(&mut w, rung(&sent)[0].0);
    assert_eq!(state(&w, "8001"), AgentState::Talking);
    assert_eq!(w.row(1).direction, CallDirection::Internal);
    hang_up(&mut w, a);
    assert_eq!(state(&w, "8001"), AgentState::Idle);
    assert_eq!(state(&w, "8002"), AgentState::WrapUp);
    w.advance(secs(10));
    w.assert_idle();
}

#[test]
fn a_change_asked_for_during_a_call_is_made_when_it_ends() {
    let mut w = world(office(Strategy::LongestIdle));
    login(&mut w, "8001");
    let (a, sent) = customer(&mut w, "13911112222");
    answer(&mut w, rung(&sent)[0].0);
    set_state(&mut w, "8001", Availability::Busy(Some("会议".into()))).unwrap();
    assert_eq!(state(&w, "8001"), AgentState::Talking, "the call goes on");
    hang_up(&mut w, a);
    assert_eq!(
        state(&w, "8001"),
        AgentState::WrapUp,
        "after-call work still comes first"
    );
    w.advance(secs(10));
    assert_eq!(
        state(&w, "8001"),
        AgentState::Busy,
        "then busy as asked, not idle"
    );
    w.command(Command::Logout {
        agent: "8001".into(),
        by: StatusCause::Agent,
    })
    .unwrap();
    assert_eq!(state(&w, "8001"), AgentState::Offline);
    w.assert_idle();
}

#[test]
fn a_caller_who_waits_too_long_overflows() {
    // To another group.
    let mut dir = office(Strategy::LongestIdle);
    dir.groups[0].max_wait = Some(secs(60));
    dir.groups[0].overflow = Overflow::Group(SUPPORT);
    dir.agents[2].groups = vec![Membership {
        group: SUPPORT,
        level: 1,
    }];
    let mut w = world(dir);
    login(&mut w, "8003");
    let (a, sent) = customer(&mut w, "13911112222");
    assert!(rung(&sent).is_empty(), "nobody of 售前 is logged in");
    let sent = w.advance(secs(60));
    assert_eq!(
        rung(&sent)[0].1,
        phone(3),
        "after 60 s the caller is in 售后's queue"
    );
    assert!(
        trail_details(&w, 1)
            .iter()
            .any(|d| d == "overflowed: waited 60 s, the longest this queue allows → queue 售后")
    );
    hang_up(&mut w, a);
    assert_eq!(w.row(1).group, Some(SUPPORT));
    w.assert_idle();

    // To a number: the reception phone 1002.
    let mut dir = office(Strategy::LongestIdle);
    dir.groups[0].max_wait = Some(secs(30));
    dir.groups[0].overflow = Overflow::Number("1002".into());
    let mut w = world(dir);
    let (a, _) = customer(&mut w, "13911112222");
    let sent = w.advance(secs(30));
    let (leg, target) = rung(&sent)[0].clone();
    assert_eq!(target, phone(2));
    answer(&mut w, leg);
    assert!(
        w.media_commands()
            .contains(&&MediaCommand::Bridge { a, b: leg })
    );
    hang_up(&mut w, a);
    w.assert_idle();

    // To "no one is available", then hang up.
    let mut dir = office(Strategy::LongestIdle);
    dir.groups[0].max_wait = Some(secs(30));
    let mut w = world(dir);
    login(&mut w, "8001");
    set_state(&mut w, "8001", Availability::Rest).unwrap();
    let (a, _) = customer(&mut w, "13911112222");
    w.advance(secs(30));
    assert_eq!(played(&w, a).last().unwrap(), "/sounds/zh-CN/no_agents.wav");
    let sent = w.play_done(a);
    assert_eq!(
        hangups(&sent),
        vec![a],
        "the box hangs up once it has said so"
    );
    let row = w.row(1);
    assert_eq!(row.hangup_by, Some(HangupBy::System));
    assert_eq!(
        row.end_cause.as_deref(),
        Some("waited 30 s, the longest this queue allows")
    );
    assert_eq!(row.wait_secs, Some(30));
    w.assert_idle();
}

#[test]
fn queues_that_take_no_callers_without_agents_send_them_on() {
    let mut dir = office(Strategy::LongestIdle);
    dir.groups[0].join_empty = false;
    dir.groups[0].leave_empty = true;
    let mut w = world(dir);
    let (a, _) = customer(&mut w, "13911112222");
    assert_eq!(played(&w, a).last().unwrap(), "/sounds/zh-CN/no_agents.wav");
    assert!(
        trail_details(&w, 1)
            .iter()
            .any(|d| d == "overflowed: nobody is logged in to 售前 → goodbye")
    );
    w.play_done(a);

    // Leave when empty: the last agent logs out while a caller waits.
    login(&mut w, "8001");
    set_state(&mut w, "8001", Availability::Busy(None)).unwrap();
    let (a, _) = customer(&mut w, "13911113333");
    assert!(!played(&w, a).last().unwrap().ends_with("no_agents.wav"));
    w.command(Command::Logout {
        agent: "8001".into(),
        by: StatusCause::Agent,
    })
    .unwrap();
    assert_eq!(played(&w, a).last().unwrap(), "/sounds/zh-CN/no_agents.wav");
    w.play_done(a);
    w.assert_idle();
}

#[test]
fn an_abandoned_call_keeps_its_position_and_wait() {
    let mut w = world(office(Strategy::LongestIdle));
    let (first, _) = customer(&mut w, "13900000001");
    w.advance(secs(5));
    let (second, _) = customer(&mut w, "13900000002");
    w.advance(secs(20));
    hang_up(&mut w, second);
    let row = w.row(2);
    assert_eq!(row.hangup_by, Some(HangupBy::Caller));
    assert_eq!(
        row.end_cause.as_deref(),
        Some("abandoned: the caller hung up after waiting 20 s in queue 售前 at position 2")
    );
    assert_eq!(row.wait_secs, Some(20));
    assert_eq!(row.answered_at, None, "no agent answered it");
    assert_eq!(w.trail_kinds(2).last(), Some(&"abandoned"));
    hang_up(&mut w, first);
    w.assert_idle();
}

#[test]
fn higher_priority_callers_are_served_first() {
    let mut dir = office(Strategy::LongestIdle);
    dir.service_numbers.push(ServiceNumber {
        number: "4008009999".into(),
        trunk: CARRIER,
        device: None,
        flow: None,
        group: Some(SALES),
        priority: 5,
        language: Language::En,
    });
    let mut w = world(dir);
    let (plain, _) = customer(&mut w, "13900000001");
    w.advance(secs(10));
    let (vip, _) = w.invite(
        CallSource::Trunk(CARRIER),
        "13900000002",
        "4008009999",
        Some(audio(4200, PCMA)),
    );
    assert_eq!(
        played(&w, vip)[0],
        "/sounds/en/please_wait.wav",
        "the VIP line speaks English"
    );
    let sent = w.feed(Input::Command {
        id: 9,
        command: Command::Login {
            agent: "8001".into(),
            mode: None,
            by: StatusCause::Agent,
        },
    });
    assert_eq!(rung(&sent).len(), 1);
    assert_eq!(state(&w, "8001"), AgentState::Ringing);
    assert_eq!(w.board.callers_waiting(), 2);
    let offered_to: Vec<i64> = w
        .trails
        .iter()
        .filter(|(_, t)| t.iter().any(|l| l.kind == CallEventKind::AgentOffered))
        .map(|(c, _)| *c)
        .collect();
    assert_eq!(
        offered_to,
        vec![2],
        "the VIP caller, though later, is offered first"
    );
    hang_up(&mut w, plain);
    hang_up(&mut w, vip);
    w.assert_idle();

    // A VIP customer, calling the plain line, goes ahead of a priority-5 line.
    let mut dir = office(Strategy::LongestIdle);
    dir.service_numbers.push(ServiceNumber {
        number: "4008009999".into(),
        trunk: CARRIER,
        device: None,
        flow: None,
        group: Some(SALES),
        priority: 5,
        language: Language::ZhCn,
    });
    dir.vip_numbers = vec!["13812345678".into()];
    let mut w = world(dir);
    let (line5, _) = w.invite(
        CallSource::Trunk(CARRIER),
        "13900000002",
        "4008009999",
        Some(audio(4200, PCMA)),
    );
    let (vip, _) = customer(&mut w, "+8613812345678");
    login(&mut w, "8001");
    assert!(
        w.trails[&2]
            .iter()
            .any(|l| l.kind == CallEventKind::AgentOffered),
        "the VIP is offered first"
    );
    assert!(
        !w.trails[&1]
            .iter()
            .any(|l| l.kind == CallEventKind::AgentOffered)
    );
    hang_up(&mut w, line5);
    hang_up(&mut w, vip);
    w.assert_idle();
}

#[test]
fn offline_answering_rings_the_direct_number_and_says_so() {
    let mut dir = office(Strategy::LongestIdle);
    dir.agents[0].offline_answering = true;
    let mut w = world(dir);
    let (a, sent) = customer(&mut w, "13911112222");
    let (leg, target) = rung(&sent)[0].clone();
    assert_eq!(
        target,
        Target::Trunk {
            trunk: CARRIER,
            number: "13800138001".into()
        },
        "8001 is logged out but answers offline: their direct number rings through the trunk"
    );
    let from = sent.iter().find_map(|c| match c {
        SipCommand::Invite { from_user, .. } => Some(from_user.clone()),
        _ => None,
    });
    assert_eq!(
        from.as_deref(),
        Some(SERVICE_NUMBER),
        "the carrier sees our service number"
    );
    answer(&mut w, leg);
    hang_up(&mut w, a);
    let rows = w.agent_rows(A1);
    assert_eq!(rows[0].0, AgentState::Offline);
    assert_eq!(rows[0].1, AgentState::Ringing);
    assert!(rows[0].2.starts_with("offline answering"), "{rows:?}");
    assert_eq!(
        rows.last().unwrap().1,
        AgentState::Offline,
        "after the call 8001 is logged out again"
    );
    assert!(
        w.status_log[0].offline_answering,
        "the log says offline answering"
    );
    assert_eq!(w.status_log[0].mode, None, "8001 chose no mode: logged out");
    w.assert_idle();
}

#[test]
fn a_direct_line_is_put_through_only_once_the_agent_presses_1() {
    let mut dir = office(Strategy::LongestIdle);
    dir.agents[0].confirm_direct = true;
    let mut w = world(dir);
    w.command(Command::Login {
        agent: "8001".into(),
        mode: Some(AnswerMode::Direct),
        by: StatusCause::Agent,
    })
    .unwrap();
    let (a, sent) = customer(&mut w, "13911112222");
    let (b, target) = rung(&sent)[0].clone();
    assert_eq!(
        target,
        Target::Trunk {
            trunk: CARRIER,
            number: "13800138001".into()
        }
    );
    answer(&mut w, b);
    assert_eq!(
        played(&w, b),
        ["/sounds/zh-CN/accept_call.wav"],
        "有客户来电,接听请按1"
    );
    assert!(
        !w.media_commands().contains(&&MediaCommand::Bridge { a, b }),
        "not yet put through"
    );
    assert_eq!(state(&w, "8001"), AgentState::Ringing);
    w.feed(Input::Media(MediaEvent::Dtmf {
        leg: b,
        digit: '5',
        duration_ms: 100,
    }));
    assert!(!w.media_commands().contains(&&MediaCommand::Bridge { a, b }));
    w.feed(Input::Media(MediaEvent::Dtmf {
        leg: b,
        digit: '1',
        duration_ms: 100,
    }));
    assert!(
        w.media_commands()
            .contains(&&MediaCommand::StopPlay { leg: b })
    );
    assert!(
        w.media_commands().contains(&&MediaCommand::Bridge { a, b }),
        "1: put through"
    );
    assert_eq!(state(&w, "8001"), AgentState::Talking);
    hang_up(&mut w, a);
    w.advance(secs(10));
    w.assert_idle();

    // A voicemail answers and presses nothing: after 10 s it is an unanswered offer.
    let mut dir = office(Strategy::LongestIdle);
    dir.agents[0].confirm_direct = true;
    let mut w = world(dir);
    w.command(Command::Login {
        agent: "8001".into(),
        mode: Some(AnswerMode::Direct),
        by: StatusCause::Agent,
    })
    .unwrap();
    let (a, sent) = customer(&mut w, "13911112222");
    let b = rung(&sent)[0].0;
    answer(&mut w, b);
    let sent = w.advance(secs(10));
    assert_eq!(hangups(&sent), vec![b], "the voicemail gets a BYE");
    assert_eq!(state(&w, "8001"), AgentState::Idle);
    assert!(
        trail_details(&w, 1)
            .iter()
            .any(|d| d.contains("the direct line answered but nobody pressed 1")),
        "{:?}",
        trail_details(&w, 1)
    );
    assert_eq!(
        w.row(1).answered_at,
        None,
        "the customer was never put through"
    );
    hang_up(&mut w, a);
    w.assert_idle();
}

#[test]
fn a_gone_phone_falls_back_to_the_direct_line_and_comes_back() {
    let mut dir = office(Strategy::LongestIdle);
    dir.agents[0].allow_fallback = true;
    let mut w = world(dir);
    login(&mut w, "8001");
    w.sip(SipEvent::DeviceStatus {
        device: DeviceId(1),
        contacts: 0,
        reachable: false,
    });
    let (_, _, detail) = w.agent_rows(A1).last().cloned().unwrap();
    assert_eq!(detail, "phone 1001 unregistered → direct line");
    let row = w.status_log.last().unwrap();
    assert_eq!((row.mode, row.fallback), (Some(AnswerMode::Device), true));
    let (a, sent) = customer(&mut w, "13911112222");
    assert_eq!(
        rung(&sent)[0].1,
        Target::Trunk {
            trunk: CARRIER,
            number: "13800138001".into()
        }
    );
    hang_up(&mut w, a);
    w.sip(SipEvent::DeviceStatus {
        device: DeviceId(1),
        contacts: 1,
        reachable: true,
    });
    let (_, _, detail) = w.agent_rows(A1).last().cloned().unwrap();
    assert_eq!(detail, "phone 1001 registered again → back to the phone");
    let (a, sent) = customer(&mut w, "13911113333");
    assert_eq!(rung(&sent)[0].1, phone(1));
    hang_up(&mut w, a);

    // Without the admin's leave, a gone phone just stops the calls, and why says so.
    let mut w = world(office(Strategy::LongestIdle));
    login(&mut w, "8002");
    w.sip(SipEvent::DeviceStatus {
        device: DeviceId(2),
        contacts: 0,
        reachable: false,
    });
    let (a, sent) = customer(&mut w, "13911112222");
    assert!(rung(&sent).is_empty());
    let Ok(Reply::Why(v)) = w.command(Command::Why {
        agent: "8002".into(),
    }) else {
        panic!("why answers")
    };
    assert!(!v[0].gets_next_call);
    assert_eq!(v[0].reasons, ["phone 1002 is not registered"]);
    hang_up(&mut w, a);
    w.assert_idle();
}

#[test]
fn why_names_every_reason() {
    let mut dir = office(Strategy::LongestIdle);
    dir.agents[2].groups.clear();
    let mut w = world(dir);
    let why = |w: &mut World, n: &str| match w.command(Command::Why { agent: n.into() }) {
        Ok(Reply::Why(v)) => v,
        other => panic!("{other:?}"),
    };
    let v = why(&mut w, "8003");
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].group, None);
    assert_eq!(v[0].reasons[0], "not a member of any skill group");
    assert_eq!(v[0].reasons[1], "logged out");

    login(&mut w, "8001");
    let v = why(&mut w, "8001");
    assert!(v[0].gets_next_call, "{v:?}");
    assert_eq!(v[0].group_name, "售前");
    set_state(&mut w, "8001", Availability::Busy(Some("午餐".into()))).unwrap();
    w.advance(secs(90));
    let v = why(&mut w, "8001");
    assert!(!v[0].gets_next_call);
    assert_eq!(
        v[0].reasons,
        ["busy (午餐) since 2026-11-24 09:00:00 UTC (90 s ago)"]
    );
    assert_eq!(
        w.command(Command::Why {
            agent: "9999".into()
        }),
        Err(CommandError::UnknownAgent("9999".into()))
    );
    let e = w.command(Command::Login {
        agent: "8003".into(),
        mode: Some(AnswerMode::Softphone),
        by: StatusCause::Agent,
    });
    assert!(matches!(e, Err(CommandError::CannotRing { .. })), "{e:?}");
    w.assert_idle();
}

#[test]
fn waiting_callers_hear_their_position_and_the_expected_wait() {
    let mut dir = office(Strategy::LongestIdle);
    dir.groups[0].announce_every = Some(secs(30));
    let mut w = world(dir);
    let (first, _) = customer(&mut w, "13900000001");
    let (second, _) = customer(&mut w, "13900000002");
    w.advance(secs(30));
    for _ in 0..5 {
        w.play_done(second);
    }
    let heard: Vec<String> = played(&w, second)
        .iter()
        .map(|p| {
            PathBuf::from(p)
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    // please_wait, then the announcement: position 2, about 6 minutes (2 × 3 min / 1).
    assert_eq!(
        &heard[1..],
        [
            "position_before",
            "num_2",
            "position_after",
            "wait_before",
            "num_6",
            "wait_after"
        ]
        .map(String::from)
    );
    w.play_done(second);
    assert!(
        played(&w, second)
            .last()
            .unwrap()
            .ends_with("moh/default.wav"),
        "then the music again"
    );
    hang_up(&mut w, first);
    hang_up(&mut w, second);
    w.assert_idle();
}

#[test]
fn a_restart_keeps_agents_logged_in_and_closes_cut_calls_in_the_log() {
    let mut w = world(office(Strategy::LongestIdle));
    let since = w.now().wall;
    let snap = |agent, state| AgentSnapshot {
        agent,
        state,
        reason: None,
        mode: Some(AnswerMode::Device),
        fallback: false,
        offline_answering: false,
        since,
    };
    let now = w.now();
    w.board.restore_agents(
        now,
        &[
            snap(A1, AgentState::Talking),
            snap(A2, AgentState::Idle),
            snap(A3, AgentState::Offline),
        ],
    );
    w.feed(Input::Timeout);
    assert_eq!(state(&w, "8001"), AgentState::Idle);
    assert_eq!(state(&w, "8002"), AgentState::Idle);
    assert_eq!(state(&w, "8003"), AgentState::Offline);
    assert_eq!(w.status_log.len(), 1, "only the cut call needs a row");
    assert_eq!(w.status_log[0].from, AgentState::Talking);
    assert_eq!(
        w.status_log[0].detail,
        "callbox restarted; the call in progress was cut"
    );
    let (a, sent) = customer(&mut w, "13911112222");
    assert_eq!(rung(&sent).len(), 1, "restored agents take calls at once");
    hang_up(&mut w, a);
}

/// 1 → 售前, 2 → 售后, no key within 5 s (twice) → 售前.
fn menu_flow() -> callbox::core::ivr::Flow {
    use callbox::core::ivr::{Choice, Flow, FlowId, Node, NodeId, NodeKind};
    let queue = |id, group| Node {
        id: NodeId(id),
        kind: NodeKind::Queue { group },
    };
    Flow {
        id: FlowId(1),
        name: "menu".into(),
        start: NodeId(1),
        nodes: vec![
            Node {
                id: NodeId(1),
                kind: NodeKind::Menu {
                    prompts: vec!["welcome_menu".into()],
                    choices: vec![
                        Choice {
                            key: '1',
                            next: NodeId(2),
                        },
                        Choice {
                            key: '2',
                            next: NodeId(3),
                        },
                    ],
                    timeout_secs: 5,
                    retries: 1,
                    fail: Some(NodeId(2)),
                },
            },
            queue(2, SALES),
            queue(3, SUPPORT),
        ],
    }
}

/// A tiny deterministic generator for the random scenarios below.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn thousands_of_random_events_never_break_the_rules() {
    let numbers = ["8001", "8002", "8003"];
    for seed in 1..=1000u64 {
        let strategy = Strategy::ALL[(seed % 7) as usize];
        let mut dir = office(strategy);
        dir.groups[0].max_wait = Some(secs(120));
        dir.groups[0].wrap_up = secs(5);
        dir.agents[0].offline_answering = seed % 3 == 0;
        dir.agents[1].allow_fallback = true;
        // Half the runs go through a menu first: 1 → 售前, 2 → 售后, silence → 售前,
        // and * in 售前's queue goes back to the menu.
        if seed % 2 == 0 {
            dir.flows = vec![menu_flow()];
            dir.service_numbers[0].flow = Some(callbox::core::ivr::FlowId(1));
            dir.groups[0].exit = Some(QueueExit {
                key: '*',
                flow: callbox::core::ivr::FlowId(1),
            });
        }
        let mut w = world(dir);
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut customers: Vec<LegId> = Vec::new();
        for step in 0..150 {
            let before = w.log.len();
            match rng.next(11) {
                0 => login(&mut w, numbers[rng.next(3) as usize]),
                1 => {
                    let _ = w.command(Command::Logout {
                        agent: numbers[rng.next(3) as usize].into(),
                        by: StatusCause::Agent,
                    });
                }
                2 => {
                    let s = [
                        Availability::Idle,
                        Availability::Busy(None),
                        Availability::Rest,
                    ][rng.next(3) as usize]
                        .clone();
                    let _ = set_state(&mut w, numbers[rng.next(3) as usize], s);
                }
                3 => {
                    let (a, _) = customer(&mut w, &format!("139{seed:04}{step:04}"));
                    customers.push(a);
                }
                4 if !customers.is_empty() => {
                    let a = customers.swap_remove(rng.next(customers.len() as u64) as usize);
                    hang_up(&mut w, a);
                }
                5 => {
                    // Some ringing agent answers, or refuses.
                    let open: Vec<LegId> = all_rung(&w).into_iter().map(|(l, _)| l).collect();
                    if let Some(leg) = open.get(rng.next(open.len().max(1) as u64) as usize) {
                        if rng.next(2) == 0 {
                            answer(&mut w, *leg);
                        } else {
                            w.sip(SipEvent::Rejected {
                                leg: *leg,
                                code: [486, 503, 408][rng.next(3) as usize],
                                reason: String::new(),
                            });
                        }
                    }
                }
                6 if !customers.is_empty() => {
                    let a = customers[rng.next(customers.len() as u64) as usize];
                    if rng.next(2) == 0 {
                        let digit = ['1', '2', '*', '9'][rng.next(4) as usize];
                        w.feed(Input::Media(MediaEvent::Dtmf {
                            leg: a,
                            digit,
                            duration_ms: 100,
                        }));
                    } else if w
                        .media_commands()
                        .iter()
                        .any(|m| matches!(m, MediaCommand::Play { leg, .. } if *leg == a))
                    {
                        w.play_done(a);
                    }
                }
                7 => {
                    let d = DeviceId(1 + rng.next(3) as i64);
                    let up = rng.next(2) == 0;
                    w.sip(SipEvent::DeviceStatus {
                        device: d,
                        contacts: up as usize,
                        reachable: up,
                    });
                }
                _ => {
                    w.advance(secs(1 + rng.next(20)));
                }
            }
            // Rule: every agent rung was idle (or offline answering) just before.
            for out in &w.log[before..] {
                if let Output::Store(StoreOp::AgentStatus(row)) = out
                    && row.to == AgentState::Ringing
                    && row.call.is_some()
                {
                    assert!(
                        matches!(row.from, AgentState::Idle | AgentState::Offline),
                        "seed {seed} step {step}: agent #{} offered a call from {:?}",
                        row.agent.0,
                        row.from
                    );
                }
            }
            w.assert_status_log_chains();
        }
        // Everyone hangs up; every call ends with one closed row.
        for a in customers.drain(..) {
            hang_up(&mut w, a);
        }
        let live: Vec<LegId> = w
            .log
            .iter()
            .filter_map(|o| match o {
                Output::Sip(SipCommand::Invite { leg, .. }) => Some(*leg),
                _ => None,
            })
            .collect();
        for leg in live {
            hang_up(&mut w, leg);
        }
        w.advance(secs(600));
        assert_eq!(w.board.active_calls(), 0, "seed {seed}: calls left");
        for n in numbers {
            assert!(
                !state(&w, n).on_a_call(),
                "seed {seed}: {n} left {:?} with no call",
                state(&w, n)
            );
        }
        let ids: Vec<i64> = w.rows.keys().copied().collect();
        assert_eq!(
            ids,
            (1..=ids.len() as i64).collect::<Vec<_>>(),
            "one row per call"
        );
        w.assert_idle();
    }
}

// ------------------------------------------------------------ edges found in review

fn open_media(w: &World) -> Vec<LegId> {
    let mut open = std::collections::BTreeSet::new();
    for m in w.media_commands() {
        match m {
            MediaCommand::Open { leg } => {
                open.insert(*leg);
            }
            MediaCommand::Close { leg } => {
                open.remove(leg);
            }
            _ => {}
        }
    }
    open.into_iter().collect()
}

#[test]
fn an_agent_phone_that_hangs_up_while_ringing_leaves_no_media_open() {
    let mut w = world(office(Strategy::LongestIdle));
    login(&mut w, "8001");
    let (a, sent) = customer(&mut w, "13911112222");
    let leg = rung(&sent)[0].0;
    hang_up(&mut w, leg);
    assert!(
        !open_media(&w).contains(&leg),
        "the offer's RTP port is closed"
    );
    hang_up(&mut w, a);
    w.assert_idle();
}

#[test]
fn a_second_call_to_a_talking_agent_does_not_free_them() {
    let mut w = world(office(Strategy::LongestIdle));
    login(&mut w, "8001");
    let (x, sent) = w.invite(
        CallSource::Device(DeviceId(2)),
        "1002",
        "1001",
        Some(audio(4000, PCMA)),
    );
    answer(&mut w, rung(&sent)[0].0);
    assert_eq!(state(&w, "8001"), AgentState::Talking);
    let (_y, sent) = w.invite(
        CallSource::Device(DeviceId(3)),
        "1003",
        "1001",
        Some(audio(4100, PCMA)),
    );
    w.sip(SipEvent::Rejected {
        leg: rung(&sent)[0].0,
        code: 486,
        reason: "Busy Here".into(),
    });
    assert_eq!(
        state(&w, "8001"),
        AgentState::Talking,
        "still on the first call"
    );
    let (c, sent) = customer(&mut w, "13911112222");
    assert!(
        rung(&sent).is_empty(),
        "a talking agent is not offered a queue call"
    );
    hang_up(&mut w, x);
    assert_eq!(
        state(&w, "8001"),
        AgentState::Ringing,
        "free at last, and offered the caller"
    );
    hang_up(&mut w, c);
    w.assert_idle();
}

#[test]
fn an_earlier_wrap_up_timer_does_not_cut_a_later_wrap_up_short() {
    let mut dir = office(Strategy::LongestIdle);
    dir.groups[0].wrap_up = secs(30);
    let mut w = world(dir);
    login(&mut w, "8001");
    let (a, sent) = customer(&mut w, "13911112222");
    answer(&mut w, rung(&sent)[0].0);
    hang_up(&mut w, a);
    w.advance(secs(5));
    let (own, sent) = w.invite(
        CallSource::Device(DeviceId(1)),
        "1001",
        "1002",
        Some(audio(4000, PCMA)),
    );
    assert_eq!(rung(&sent).len(), 1);
    hang_up(&mut w, own);
    w.advance(secs(5));
    let (a2, sent) = customer(&mut w, "13911113333");
    answer(&mut w, rung(&sent)[0].0);
    w.advance(secs(2));
    hang_up(&mut w, a2);
    w.advance(secs(19));
    assert_eq!(
        state(&w, "8001"),
        AgentState::WrapUp,
        "the first wrap-up's timer changes nothing"
    );
    w.advance(secs(11));
    assert_eq!(
        state(&w, "8001"),
        AgentState::Idle,
        "30 s after the second call"
    );
    w.assert_idle();
}

#[test]
fn a_caller_sent_to_a_number_when_the_queue_empties_is_sent_once() {
    let mut dir = office(Strategy::LongestIdle);
    dir.groups[0].leave_empty = true;
    dir.groups[0].overflow = Overflow::Number("13700000000".into());
    let mut w = world(dir);
    login(&mut w, "8001");
    set_state(&mut w, "8001", Availability::Busy(None)).unwrap();
    let (a, _) = customer(&mut w, "13911112222");
    w.command(Command::Logout {
        agent: "8001".into(),
        by: StatusCause::Agent,
    })
    .unwrap();
    let out: Vec<Target> = all_rung(&w).into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        out,
        [Target::Trunk {
            trunk: CARRIER,
            number: "13700000000".into()
        }]
    );
    let overflowed = w
        .trail_kinds(1)
        .iter()
        .filter(|k| **k == "overflowed")
        .count();
    assert_eq!(overflowed, 1);
    hang_up(&mut w, a);
    w.assert_idle();
}

#[test]
fn an_agent_an_ivr_put_through_is_free_again_after_the_call() {
    use callbox::core::ivr::{Flow, FlowId, Node, NodeId, NodeKind};
    let mut dir = office(Strategy::LongestIdle);
    let to_8001 = NodeKind::TransferAgent {
        agent: Some("8001".into()),
    };
    dir.flows = vec![Flow {
        id: FlowId(1),
        name: "direct to 8001".into(),
        start: NodeId(1),
        nodes: vec![Node {
            id: NodeId(1),
            kind: to_8001,
        }],
    }];
    dir.service_numbers[0].flow = Some(FlowId(1));
    let mut w = world(dir);
    login(&mut w, "8001");
    let (a, sent) = customer(&mut w, "13911112222");
    answer(&mut w, rung(&sent)[0].0);
    assert_eq!(state(&w, "8001"), AgentState::Talking);
    hang_up(&mut w, a);
    assert_eq!(
        state(&w, "8001"),
        AgentState::Idle,
        "no queue, no wrap-up: idle"
    );
    w.assert_idle();
}

#[test]
fn an_agent_phone_answering_with_no_usable_codec_is_hung_up() {
    let mut w = world(office(Strategy::LongestIdle));
    login(&mut w, "8001");
    let (a, sent) = customer(&mut w, "13911112222");
    let leg = rung(&sent)[0].0;
    let sent = w.sip(SipEvent::Answered {
        leg,
        answer: audio(7000, &[]),
    });
    assert_eq!(hangups(&sent), vec![leg], "the phone's dialog gets a BYE");
    hang_up(&mut w, a);
    w.assert_idle();
}

#[test]
fn offline_answering_survives_a_restart_as_logged_out_and_a_login_during_it_counts() {
    let mut dir = office(Strategy::LongestIdle);
    dir.agents[0].offline_answering = true;
    let mut w = world(dir.clone());
    let (a, sent) = customer(&mut w, "13911112222");
    let leg = rung(&sent)[0].0;
    answer(&mut w, leg);
    let last = w.status_log.last().cloned().unwrap();
    assert!(last.offline_answering);

    // The box dies mid-call: 8001 stays logged out.
    let mut again = world(dir);
    let now = again.now();
    let snapshot = AgentSnapshot {
        agent: A1,
        state: last.to,
        reason: None,
        mode: last.mode,
        fallback: last.fallback,
        offline_answering: last.offline_answering,
        since: now.wall,
    };
    again.board.restore_agents(now, &[snapshot]);
    again.feed(Input::Timeout);
    assert_eq!(state(&again, "8001"), AgentState::Offline);

    // Logging in during the offline-answering call takes effect when it ends.
    let r = w.command(Command::Login {
        agent: "8001".into(),
        mode: None,
        by: StatusCause::Agent,
    });
    assert!(r.is_ok());
    assert_eq!(
        set_state(&mut w, "8001", Availability::Rest),
        Err(CommandError::NotLoggedIn("8001".into())),
        "not logged in yet"
    );
    hang_up(&mut w, a);
    assert_eq!(state(&w, "8001"), AgentState::Idle, "logged in as asked");
    w.assert_idle();
}

#[test]
fn callers_of_a_group_that_was_removed_are_told_and_let_go() {
    let mut w = world(office(Strategy::LongestIdle));
    let (a, _) = customer(&mut w, "13911112222");
    let mut dir = office(Strategy::LongestIdle);
    dir.groups.retain(|g| g.id != SALES);
    for agent in &mut dir.agents {
        agent.groups.clear();
    }
    dir.agents.truncate(2);
    dir.service_numbers[0].group = None;
    login(&mut w, "8003");
    w.feed(Input::Reload(Box::new(dir)));
    assert_eq!(played(&w, a).last().unwrap(), "/sounds/zh-CN/no_agents.wav");
    let sent = w.play_done(a);
    assert_eq!(hangups(&sent), vec![a]);
    let (_, to, detail) = w.agent_rows(A3).last().cloned().unwrap();
    assert_eq!(to, AgentState::Offline, "a removed agent is logged out");
    assert_eq!(detail, "the agent was removed by an admin");
    w.assert_idle();
}
