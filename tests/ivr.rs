//! IVR flows in simulated time: menus, retries, business hours, collecting digits,
//! transfers, and the seed's own menus (the hotline sign-in from an agent's direct
//! number, the 0000 phone menu). Checked by what the caller hears and where the
//! call goes, and by what changed for the agents.

mod world;

use std::path::Path;
use std::time::Duration;

use callbox::core::acd::{AgentState, StatusCause};
use callbox::core::ivr::{Choice, Flow, FlowId, Node, NodeId, NodeKind, OpenHours};
use callbox::core::*;
use chrono::{NaiveDate, Weekday};
use world::*;

const SALES: GroupId = GroupId(1);
const SUPPORT: GroupId = GroupId(2);
const MAIN: FlowId = FlowId(1);
const PCMA: &[Codec] = &[Codec::Pcma];

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn group(id: GroupId, name: &str) -> SkillGroup {
    SkillGroup {
        id,
        name: name.into(),
        strategy: Strategy::LongestIdle,
        ring_timeout: secs(15),
        max_no_answer: 3,
        wrap_up: Duration::ZERO,
        max_wait: None,
        overflow: Overflow::Hangup,
        join_empty: true,
        leave_empty: false,
        announce_every: None,
        exit: None,
    }
}

fn node(id: u32, kind: NodeKind) -> Node {
    Node {
        id: NodeId(id),
        kind,
    }
}

fn names(n: &[&str]) -> Vec<String> {
    n.iter().map(|s| s.to_string()).collect()
}

/// Node 1: the welcome menu, 1 → 售前, 2 → 售后, 0 → collect an extension and
/// transfer to it; two retries, then 售前.
fn main_flow() -> Flow {
    Flow {
        id: MAIN,
        name: "默认流程".into(),
        start: NodeId(1),
        nodes: vec![
            node(
                1,
                NodeKind::Menu {
                    prompts: names(&["welcome_menu"]),
                    choices: vec![
                        Choice {
                            key: '1',
                            next: NodeId(2),
                        },
                        Choice {
                            key: '2',
                            next: NodeId(3),
                        },
                        Choice {
                            key: '0',
                            next: NodeId(4),
                        },
                    ],
                    timeout_secs: 5,
                    retries: 2,
                    fail: Some(NodeId(2)),
                },
            ),
            node(2, NodeKind::Queue { group: SALES }),
            node(3, NodeKind::Queue { group: SUPPORT }),
            node(
                4,
                NodeKind::Collect {
                    prompts: names(&["enter_agent_id"]),
                    max_digits: 4,
                    timeout_secs: 5,
                    retries: 1,
                    next: NodeId(5),
                    fail: None,
                },
            ),
            node(5, NodeKind::TransferNumber { number: None }),
        ],
    }
}

/// Phones 1001-1003; agents 8001 (phone 1001, direct 13800138001) in 售前 and 8002
/// (phone 1002) in 售后; the service number starts `main_flow`.
fn office() -> Directory {
    let mut dir = demo_directory();
    dir.devices = (1..=3).map(desk).collect();
    dir.agents = vec![agent(1, SALES, 1), agent(2, SUPPORT, 1)];
    dir.groups = vec![group(SALES, "售前"), group(SUPPORT, "售后")];
    dir.flows = vec![main_flow()];
    dir.service_numbers[0].device = None;
    dir.service_numbers[0].flow = Some(MAIN);
    dir
}

fn world(dir: Directory) -> World {
    let mut w = World::with(dir, false);
    w.register(1..=3);
    w
}

fn login(w: &mut World, number: &str) {
    w.login(number);
}

fn customer(w: &mut World, from: &str) -> LegId {
    let (a, sent) = w.invite(
        CallSource::Trunk(CARRIER),
        from,
        SERVICE_NUMBER,
        Some(audio(4000, PCMA)),
    );
    assert_eq!(responses_to(&sent, a), vec![200], "the box answers");
    a
}

/// The prompt names played to `leg`, in order.
fn heard(w: &World, to: LegId) -> Vec<String> {
    w.media_commands()
        .iter()
        .filter_map(|m| match m {
            MediaCommand::Play { leg, file, .. } if *leg == to => Some(
                Path::new(file)
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
            _ => None,
        })
        .collect()
}

fn last_heard(w: &World, to: LegId) -> String {
    heard(w, to).last().cloned().unwrap_or_default()
}

fn done(w: &mut World, leg: LegId) -> Vec<SipCommand> {
    w.play_done(leg)
}

fn key(w: &mut World, leg: LegId, digit: char) -> Vec<SipCommand> {
    w.feed(Input::Media(MediaEvent::Dtmf {
        leg,
        digit,
        duration_ms: 120,
    }))
}

fn keys(w: &mut World, leg: LegId, digits: &str) -> Vec<SipCommand> {
    let mut sent = Vec::new();
    for d in digits.chars() {
        sent.extend(key(w, leg, d));
    }
    sent
}

fn rung(sent: &[SipCommand]) -> Vec<Target> {
    sent.iter()
        .filter_map(|c| match c {
            SipCommand::Invite { target, .. } => Some(target.clone()),
            _ => None,
        })
        .collect()
}

fn state(w: &World, number: &str) -> AgentState {
    w.board.agent_state(number).unwrap()
}

fn trail(w: &World, call: i64) -> Vec<String> {
    w.trails[&call]
        .iter()
        .map(|l| format!("{}: {}", l.kind.as_str(), l.detail))
        .collect()
}

#[test]
fn a_menu_key_takes_the_caller_to_the_queue_chosen() {
    let mut w = world(office());
    login(&mut w, "8002");
    let a = customer(&mut w, "13911112222");
    assert_eq!(heard(&w, a), ["welcome_menu"]);
    let sent = key(&mut w, a, '2');
    assert!(
        w.media_commands()
            .contains(&&MediaCommand::StopPlay { leg: a }),
        "a key stops the menu prompt"
    );
    assert_eq!(
        last_heard(&w, a),
        "transferring",
        "8002 is free: 正在为您转接"
    );
    assert_eq!(
        rung(&sent),
        [Target::Device(DeviceId(2))],
        "售后's agent 8002 rings"
    );
    assert!(
        trail(&w, 1).contains(&"overflowed: IVR 默认流程 (2) → queue 售后".to_string()),
        "{:?}",
        trail(&w, 1)
    );
    let _ = w.sip(SipEvent::HungUp {
        leg: a,
        cancelled: false,
    });
    w.assert_idle();
}

#[test]
fn a_wrong_key_and_silence_are_asked_again_then_the_fallback_applies() {
    let mut w = world(office());
    let a = customer(&mut w, "13911112222");
    done(&mut w, a);
    key(&mut w, a, '7');
    assert_eq!(&heard(&w, a)[1..], ["invalid_key"], "7 is no choice");
    done(&mut w, a);
    done(&mut w, a);
    assert_eq!(&heard(&w, a)[1..], ["invalid_key", "welcome_menu"]);
    w.advance(secs(5));
    assert_eq!(last_heard(&w, a), "no_input", "5 s without a key");
    done(&mut w, a);
    done(&mut w, a);
    w.advance(secs(5));
    assert_eq!(
        last_heard(&w, a),
        "please_wait",
        "after the retries the caller goes to the menu's fallback, 售前's queue"
    );
    assert_eq!(w.board.callers_waiting(), 1);
    w.sip(SipEvent::HungUp {
        leg: a,
        cancelled: false,
    });
    assert_eq!(
        w.row(1).end_cause.as_deref(),
        Some("abandoned: the caller hung up after waiting 0 s in queue 售前 at position 1")
    );
    w.assert_idle();
}

#[test]
fn business_hours_send_callers_to_the_open_or_the_closed_branch() {
    let mut dir = office();
    dir.flows[0].start = NodeId(10);
    dir.flows[0].nodes.push(node(
        10,
        NodeKind::Hours {
            // Simulated time starts Tuesday 2026-11-24 09:00 UTC = 17:00 in UTC+8.
            schedule: vec![OpenHours {
                day: Weekday::Tue,
                from: 9 * 60,
                to: 18 * 60,
            }],
            holidays: vec![NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()],
            open: NodeId(1),
            closed: NodeId(11),
        },
    ));
    dir.flows[0].nodes.push(node(
        11,
        NodeKind::Hangup {
            prompts: names(&["closed"]),
        },
    ));
    assert_eq!(dir.flows[0].check(), Ok(()));
    let mut w = world(dir);
    let open = customer(&mut w, "13900000001");
    assert_eq!(
        heard(&w, open),
        ["welcome_menu"],
        "17:00 on a Tuesday: open"
    );
    w.sip(SipEvent::HungUp {
        leg: open,
        cancelled: false,
    });

    w.advance(secs(3600));
    let closed = customer(&mut w, "13900000002");
    assert_eq!(heard(&w, closed), ["closed"], "18:00: closed");
    let sent = done(&mut w, closed);
    assert_eq!(
        hangups(&sent),
        vec![closed],
        "the box hangs up after saying so"
    );
    assert_eq!(w.row(2).hangup_by, Some(HangupBy::System));

    w.advance(secs(24 * 3600 - 3600 - 60));
    let holiday = customer(&mut w, "13900000003");
    assert_eq!(
        heard(&w, holiday),
        ["closed"],
        "Wednesday 16:59 is a holiday"
    );
    done(&mut w, holiday);
    w.assert_idle();
}

#[test]
fn collected_digits_are_dialled_and_never_written_down() {
    let mut w = world(office());
    let a = customer(&mut w, "13911112222");
    key(&mut w, a, '0');
    assert_eq!(last_heard(&w, a), "enter_agent_id");
    let sent = keys(&mut w, a, "1003#");
    assert_eq!(
        rung(&sent),
        [Target::Device(DeviceId(3))],
        "the extension keyed in rings"
    );
    let lines = trail(&w, 1).join("\n");
    assert!(lines.contains("IVR 默认流程 (0) → 1003"), "{lines}");
    w.sip(SipEvent::HungUp {
        leg: a,
        cancelled: false,
    });
    w.assert_idle();

    // Silence at the collect node: asked once more, then goodbye.
    let mut w = world(office());
    let a = customer(&mut w, "13911112222");
    key(&mut w, a, '0');
    done(&mut w, a);
    w.advance(secs(5));
    assert_eq!(last_heard(&w, a), "no_input");
    done(&mut w, a);
    done(&mut w, a);
    w.advance(secs(5));
    assert_eq!(last_heard(&w, a), "goodbye");
    let sent = done(&mut w, a);
    assert_eq!(hangups(&sent), vec![a]);
    w.assert_idle();
}

#[test]
fn an_agent_signs_in_by_calling_the_hotline_from_their_direct_number() {
    let mut w = world(office());
    // 8001's saved direct number is 13800138001; the carrier sends it with +86.
    let a = customer(&mut w, "+8613800138001");
    assert_eq!(
        heard(&w, a),
        ["hotline_menu"],
        "您拨打的号码是坐席接听号码…"
    );
    key(&mut w, a, '1');
    assert_eq!(last_heard(&w, a), "enter_agent_id", "请输入工号,以#结束");
    keys(&mut w, a, "8002#");
    assert_eq!(
        last_heard(&w, a),
        "unknown_agent",
        "8002's direct line is not this number: refused, and asked again"
    );
    assert_eq!(state(&w, "8002"), AgentState::Offline);
    done(&mut w, a);
    assert_eq!(last_heard(&w, a), "enter_agent_id");
    keys(&mut w, a, "8001#");
    assert_eq!(last_heard(&w, a), "sign_in_ok", "签入成功,再见");
    let sent = done(&mut w, a);
    assert_eq!(hangups(&sent), vec![a]);
    assert_eq!(state(&w, "8001"), AgentState::Idle);
    let row = w.status_log.last().unwrap();
    assert_eq!(row.mode, Some(AnswerMode::Direct));
    assert_eq!(row.cause, StatusCause::Agent);
    assert_eq!(
        row.detail,
        "signed in by calling the hotline from +8613800138001"
    );
    assert!(
        !trail(&w, 1).join(" ").contains("8002"),
        "the digits keyed in (8002#, refused) are not in the trail: {:?}",
        trail(&w, 1)
    );

    // A customer's call now reaches 8001's direct number through the trunk.
    let c = customer(&mut w, "13911112222");
    let sent = key(&mut w, c, '1');
    assert_eq!(
        rung(&sent),
        [Target::Trunk {
            trunk: CARRIER,
            number: "13800138001".into()
        }]
    );
    w.sip(SipEvent::HungUp {
        leg: c,
        cancelled: false,
    });

    // 2 signs out; 3 goes on to the normal flow.
    let a = customer(&mut w, "13800138001");
    keys(&mut w, a, "2");
    keys(&mut w, a, "8001#");
    assert_eq!(last_heard(&w, a), "sign_out_ok");
    done(&mut w, a);
    assert_eq!(state(&w, "8001"), AgentState::Offline);
    let a = customer(&mut w, "13800138001");
    key(&mut w, a, '3');
    assert_eq!(last_heard(&w, a), "welcome_menu", "3: the normal IVR");
    w.sip(SipEvent::HungUp {
        leg: a,
        cancelled: false,
    });
    w.assert_idle();
}

#[test]
fn the_0000_menu_binds_the_phone_reads_it_back_and_signs_in_and_out() {
    let mut w = world(office());
    let from_1003 = |w: &mut World| {
        let (a, sent) = w.invite(
            CallSource::Device(DeviceId(3)),
            "1003",
            "0000",
            Some(audio(4100, PCMA)),
        );
        assert_eq!(responses_to(&sent, a), vec![200]);
        a
    };
    // 2 on an unbound phone: "not bound".
    let a = from_1003(&mut w);
    assert_eq!(heard(&w, a), ["feature_menu"], "绑定当前设备请按1…");
    key(&mut w, a, '2');
    assert_eq!(last_heard(&w, a), "not_bound");
    done(&mut w, a);

    // 1: bind to 8002.
    let a = from_1003(&mut w);
    key(&mut w, a, '1');
    assert_eq!(
        last_heard(&w, a),
        "enter_bind_id",
        "请输入要绑定的工号以#号键结束"
    );
    keys(&mut w, a, "8002#");
    assert_eq!(last_heard(&w, a), "bind_ok", "您的工号已绑定成功");
    assert!(w.log.contains(&Output::Store(StoreOp::BindDevice {
        agent: AgentId(2),
        device: DeviceId(3)
    })));
    done(&mut w, a);

    // 2 now reads the agent number back digit by digit.
    let a = from_1003(&mut w);
    key(&mut w, a, '2');
    assert_eq!(&heard(&w, a)[1..], ["bound_agent_is"]);
    for _ in 0..5 {
        done(&mut w, a);
    }
    assert_eq!(
        &heard(&w, a)[1..],
        [
            "bound_agent_is",
            "num_8",
            "num_0",
            "num_0",
            "num_2",
            "goodbye"
        ]
    );
    done(&mut w, a);

    // 3 signs 8002 in on this phone; a 售后 caller rings phone 1003.
    let a = from_1003(&mut w);
    keys(&mut w, a, "38002#");
    assert_eq!(last_heard(&w, a), "sign_in_ok");
    done(&mut w, a);
    assert_eq!(state(&w, "8002"), AgentState::Idle);
    let c = customer(&mut w, "13911112222");
    let sent = key(&mut w, c, '2');
    assert_eq!(
        rung(&sent),
        [Target::Device(DeviceId(3))],
        "hot-desking: 8002's calls ring 1003"
    );
    w.sip(SipEvent::HungUp {
        leg: c,
        cancelled: false,
    });

    // 4 signs out.
    let a = from_1003(&mut w);
    keys(&mut w, a, "48002#");
    assert_eq!(last_heard(&w, a), "sign_out_ok");
    done(&mut w, a);
    assert_eq!(state(&w, "8002"), AgentState::Offline);
    w.assert_idle();
}

#[test]
fn a_waiting_caller_leaves_the_queue_for_the_menu_with_the_exit_key() {
    let mut dir = office();
    dir.groups[0].exit = Some(QueueExit {
        key: '*',
        flow: MAIN,
    });
    let mut w = world(dir);
    let a = customer(&mut w, "13911112222");
    key(&mut w, a, '1');
    assert_eq!(last_heard(&w, a), "please_wait");
    key(&mut w, a, '5');
    assert_eq!(
        last_heard(&w, a),
        "please_wait",
        "other keys do nothing in a queue"
    );
    key(&mut w, a, '*');
    assert_eq!(last_heard(&w, a), "welcome_menu", "* goes back to the menu");
    assert_eq!(
        w.board.callers_waiting(),
        1,
        "still one caller, now in the IVR"
    );
    key(&mut w, a, '2');
    assert_eq!(w.row(1).group, Some(SUPPORT));
    w.sip(SipEvent::HungUp {
        leg: a,
        cancelled: false,
    });
    w.assert_idle();
}

#[test]
fn a_caller_who_hangs_up_in_the_menu_leaves_a_row_saying_so() {
    let mut w = world(office());
    let a = customer(&mut w, "13911112222");
    w.advance(secs(2));
    w.sip(SipEvent::HungUp {
        leg: a,
        cancelled: false,
    });
    let row = w.row(1);
    assert_eq!(
        row.end_cause.as_deref(),
        Some("the caller hung up in the IVR (默认流程)")
    );
    assert_eq!(row.hangup_by, Some(HangupBy::Caller));
    assert_eq!(row.wait_secs, Some(0), "no time in a queue");
    w.assert_idle();
}

#[test]
fn a_flow_that_loops_without_playing_ends_the_call_instead_of_the_box() {
    let mut dir = office();
    dir.flows[0].start = NodeId(20);
    dir.flows[0].nodes.push(node(
        20,
        NodeKind::Play {
            prompts: vec![],
            next: Some(NodeId(20)),
        },
    ));
    let mut w = world(dir);
    let a = customer(&mut w, "13911112222");
    assert!(
        hangups(
            &w.log
                .iter()
                .filter_map(|o| match o {
                    Output::Sip(c) => Some(c.clone()),
                    _ => None,
                })
                .collect::<Vec<_>>()
        )
        .contains(&a)
    );
    w.assert_idle();
}

#[test]
fn a_late_end_of_a_prompt_the_caller_cut_short_changes_nothing() {
    let mut w = world(office());
    let a = customer(&mut w, "13911112222");
    let menu_tag = play_tag(&w, a);
    key(&mut w, a, '0');
    assert_eq!(last_heard(&w, a), "enter_agent_id");
    // The menu prompt's end crossed the key press.
    w.feed(Input::Media(MediaEvent::PlayDone {
        leg: a,
        tag: menu_tag,
    }));
    assert_eq!(
        w.board.poll_timeout(),
        None,
        "no wait for a key yet: the prompt still plays"
    );
    done(&mut w, a);
    assert!(
        w.board.poll_timeout().is_some(),
        "now the wait for keys runs"
    );
    w.sip(SipEvent::HungUp {
        leg: a,
        cancelled: false,
    });
    w.assert_idle();
}

fn play_tag(w: &World, to: LegId) -> u64 {
    w.media_commands()
        .iter()
        .rev()
        .find_map(|m| match m {
            MediaCommand::Play { leg, tag, .. } if *leg == to => Some(*tag),
            _ => None,
        })
        .unwrap()
}

#[test]
fn an_uploaded_recording_plays_instead_of_the_built_in_prompt() {
    let mut dir = office();
    let upload = std::path::PathBuf::from("/var/lib/callbox/prompts/zh-CN/welcome_menu-1.mp3");
    dir.prompt_files = vec![PromptFile {
        language: Language::ZhCn,
        name: "welcome_menu".into(),
        file: upload.clone(),
    }];
    let mut w = world(dir);
    let a = customer(&mut w, "13911112222");
    let first = w.media_commands().iter().find_map(|m| match m {
        MediaCommand::Play { leg, file, .. } if *leg == a => Some(file.clone()),
        _ => None,
    });
    assert_eq!(
        first,
        Some(upload),
        "the admin's recording greets the caller"
    );
    key(&mut w, a, '1');
    assert!(
        w.media_commands().iter().any(|m| matches!(m, MediaCommand::Play { file, .. } if file.ends_with("sounds/zh-CN/please_wait.wav"))),
        "prompts not replaced stay built in"
    );
    w.sip(SipEvent::HungUp {
        leg: a,
        cancelled: false,
    });
    w.assert_idle();
}

#[test]
fn a_keyed_number_that_is_no_extension_is_not_dialled_out() {
    let mut w = world(office());
    let a = customer(&mut w, "13911112222");
    key(&mut w, a, '0');
    let sent = keys(&mut w, a, "5678");
    assert!(rung(&sent).is_empty(), "no call out on the company's bill");
    assert_eq!(last_heard(&w, a), "invalid_key");
    assert!(
        !trail(&w, 1).join(" ").contains("5678"),
        "what was keyed is not written down"
    );
    let sent = done(&mut w, a);
    assert_eq!(hangups(&sent), vec![a]);
    w.assert_idle();
}
