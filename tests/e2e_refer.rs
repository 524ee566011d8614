//! Two ways a customer leaves their agent end to end: the call bar's menu button
//! sends the customer into a node of a stored IVR flow (a menu whose 1 leads to
//! another group's queue), and a desk phone's attended transfer (a REFER whose
//! Refer-To carries the Replaces of the phone's second call) joins the customer to
//! the colleague the phone called.
//!
//! The customer is a baresip (400 Hz) the carrier takes calls from; agent 8001 is
//! the only member of 售后服务, whose queue the service number leads to; agent 8002
//! (desk phone 1002, a baresip answering by itself with 1700 Hz) is the only member
//! of 售前. For the menu, 8001's phone is a baresip (1000 Hz); for the attended
//! transfer it is sipp (`tests/sipp/phone_attended_transfer.xml`), which runs both
//! of the phone's dialogs in one scenario.
//!
//! The tricky part: a baresip recording's header is written only when the call
//! closes, so what a party hears while the call goes on is read from the raw file
//! by byte offset (see `common::live`).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use callbox::core::ivr::{Choice, Node, NodeId, NodeKind};
use callbox::core::{CallId, GroupId, Language};
use callbox::store::{NewFlow, NewGroup};
use common::TestDir;
use common::audio::Samples;
use common::baresip::{AnswerMode, Baresip, BaresipOpts};
use common::callbox::{Callbox, Prepared};
use common::center::{self, agent, agent_state, agent_view, desk};
use common::http::json;
use common::live::{BYTES_PER_SEC, has, heard_between, live_recording, pcm_len, rms};
use common::ports;
use common::sipp::Sipp;
use common::wait::{secs, wait_until};

const SERVICE: &str = "4008001234";
const CUSTOMER_TONE: u32 = 400;
const TONE_8001: u32 = 1000;
const TONE_8002: u32 = 1700;
/// After-call work of 售后服务, long enough to be seen.
const WRAP_UP_SECS: u64 = 5;
const FLOW: &str = "转接菜单";
/// The node the menu button names: not the flow's start.
const MENU_NODE: u32 = 5;

struct Center {
    callbox: Callbox,
    after_sales: GroupId,
    pre_sales: GroupId,
}

/// 售后服务 {8001 on phone 1001} behind the service number, 售前 {8002 on phone
/// 1002}, and the flow 转接菜单: node 1 is 售后服务's queue, node 5 the menu
/// "业务咨询请按1" whose 1 leads to node 6, 售前's queue.
fn center(t: &TestDir) -> Center {
    let mut p = Prepared::new(t.path()).unwrap();
    let phone1 = desk(&mut p.store, "1001");
    let phone2 = desk(&mut p.store, "1002");
    let trunk = center::carrier_for_softphones(&mut p.store, ports::free_port());
    p.store.add_service_number(SERVICE, trunk, None).unwrap();
    let mut group = NewGroup::new("售后服务");
    group.wrap_up = Duration::from_secs(WRAP_UP_SECS);
    let after_sales = p.store.add_group(&group).unwrap();
    let mut group = NewGroup::new("售前");
    group.wrap_up = Duration::from_secs(WRAP_UP_SECS);
    let pre_sales = p.store.add_group(&group).unwrap();
    p.store
        .set_service_number_queue(SERVICE, Some(after_sales), 0, Language::ZhCn)
        .unwrap();
    let id = agent(&mut p.store, "8001", Some(phone1), None);
    p.store.add_member(after_sales, id, 1).unwrap();
    let id = agent(&mut p.store, "8002", Some(phone2), None);
    p.store.add_member(pre_sales, id, 1).unwrap();
    p.store
        .add_flow(&transfer_flow(after_sales, pre_sales))
        .unwrap();
    Center {
        callbox: p.start().unwrap(),
        after_sales,
        pre_sales,
    }
}

fn transfer_flow(after_sales: GroupId, pre_sales: GroupId) -> NewFlow {
    NewFlow {
        name: FLOW.into(),
        start: NodeId(1),
        nodes: vec![
            Node {
                id: NodeId(1),
                kind: NodeKind::Queue { group: after_sales },
            },
            Node {
                id: NodeId(MENU_NODE),
                kind: NodeKind::Menu {
                    prompts: vec!["welcome_menu".into()],
                    choices: vec![Choice {
                        key: '1',
                        next: NodeId(MENU_NODE + 1),
                    }],
                    timeout_secs: 10,
                    retries: 1,
                    fail: None,
                },
            },
            Node {
                id: NodeId(MENU_NODE + 1),
                kind: NodeKind::Queue { group: pre_sales },
            },
        ],
    }
}

fn desk_phone(t: &TestDir, callbox: &Callbox, user: &str, tone: u32) -> Baresip {
    let mut phone = Baresip::start(
        BaresipOpts::new(&format!("desk{user}"))
            .user(user)
            .register(callbox.sip, &format!("pw-{user}"))
            .tone(tone)
            .answer(AnswerMode::Auto),
        t.path(),
    )
    .expect("baresip starts");
    phone.wait_registered(secs(5)).expect("the phone registers");
    phone
}

fn customer_phone(t: &TestDir) -> Baresip {
    Baresip::start(
        BaresipOpts::new("customer")
            .user("13900001111")
            .tone(CUSTOMER_TONE),
        t.path(),
    )
    .expect("the customer's baresip starts")
}

/// The second of audio that starts half a second from now in `path`.
fn next_second(path: &Path) -> Samples {
    let from = pcm_len(path);
    heard_between(path, from + BYTES_PER_SEC / 2, BYTES_PER_SEC)
}

fn agent_id(callbox: &Callbox, number: &str) -> callbox::core::AgentId {
    callbox.store().agent_by_number(number).unwrap().unwrap().0
}

fn trail_lines(callbox: &Callbox, id: i64) -> Vec<String> {
    callbox
        .trail(id)
        .iter()
        .map(|e| format!("{} [{}]: {}", e.kind.as_str(), e.party, e.detail))
        .collect()
}

/// Waits until `number` is in `state`, naming what they are in otherwise.
fn expect_state(callbox: &Callbox, number: &str, state: &str, within: u64) {
    assert!(
        wait_until(secs(within), || agent_state(callbox, number) == state),
        "{number} is {state}: {}\n{}",
        agent_view(callbox, number),
        callbox.log_tail()
    );
}

#[test]
fn transfer_to_menu_sends_the_customer_to_the_ivr_node() {
    let t = TestDir::new("e2e-refer-menu").unwrap();
    let Center {
        callbox,
        after_sales,
        pre_sales,
    } = center(&t);
    let mut desk1 = desk_phone(&t, &callbox, "1001", TONE_8001);
    let mut desk2 = desk_phone(&t, &callbox, "1002", TONE_8002);
    center::login(&callbox, "8001", Some("device"));
    center::login(&callbox, "8002", Some("device"));

    let mut customer = customer_phone(&t);
    customer
        .dial(&format!("sip:{SERVICE}@{}", callbox.sip))
        .unwrap();
    desk1
        .wait_event("CALL_ESTABLISHED", secs(15))
        .unwrap_or_else(|e| panic!("8001's phone answers: {e}\n{}", callbox.log_tail()));
    expect_state(&callbox, "8001", "talking", 3);
    let heard = live_recording(&customer);
    let talk = next_second(&heard);
    assert!(
        has(&talk, TONE_8001),
        "the customer hears 8001's 1000 Hz (rms {})",
        rms(&talk)
    );

    let (code, body) = json(
        callbox.http,
        "POST",
        "/api/v1/agents/8001/call/menu",
        &format!(r#"{{"flow":"{FLOW}","node":{MENU_NODE}}}"#),
    );
    assert_eq!(code, 200, "the menu button: {body}\n{}", callbox.log_tail());
    desk1
        .wait_event("CALL_CLOSED", secs(5))
        .unwrap_or_else(|e| panic!("8001's phone gets a BYE: {e}\n{}", callbox.log_tail()));
    expect_state(&callbox, "8001", "wrap_up", 2);
    assert!(
        desk2.wait_event("CALL_INCOMING", secs(0)).is_err(),
        "nobody rings before the customer chooses"
    );

    // The menu's prompt plays: the customer hears the box, no longer 8001.
    let prompt = next_second(&heard);
    assert!(
        rms(&prompt) > 0.01 && !has(&prompt, TONE_8001),
        "the customer hears the menu's prompt, not 8001 (rms {})",
        rms(&prompt)
    );
    customer.send_dtmf('1').unwrap();

    desk2
        .wait_event("CALL_ESTABLISHED", secs(10))
        .unwrap_or_else(|e| {
            panic!(
                "after the key, 售前's queue rings 8002: {e}\n{}",
                callbox.log_tail()
            )
        });
    expect_state(&callbox, "8002", "talking", 3);
    let talk = next_second(&heard);
    assert!(
        has(&talk, TONE_8002) && !has(&talk, TONE_8001),
        "the customer hears 8002's 1700 Hz (rms {})",
        rms(&talk)
    );
    let heard_1002 = live_recording(&desk2);
    let talk = next_second(&heard_1002);
    assert!(
        has(&talk, CUSTOMER_TONE),
        "8002 hears the customer's 400 Hz (rms {})",
        rms(&talk)
    );

    customer.hangup().unwrap();
    customer.wait_event("CALL_CLOSED", secs(5)).unwrap();
    desk2
        .wait_event("CALL_CLOSED", secs(5))
        .unwrap_or_else(|e| panic!("8002's phone gets a BYE: {e}\n{}", callbox.log_tail()));
    let call = callbox.ended_call(1, Duration::from_secs(5));
    assert_eq!(
        call.group,
        Some(pre_sales),
        "the row's group is 售前: {call:?}"
    );
    assert_ne!(call.group, Some(after_sales));
    assert_eq!(call.agent, Some(agent_id(&callbox, "8002")), "{call:?}");
    assert!(
        callbox.store().call(CallId(2)).unwrap().is_none(),
        "one row for the customer's call"
    );
    let trail = trail_lines(&callbox, 1);
    assert!(
        trail.iter().any(|l| l.contains(&format!(
            "agent 8001 transferred the customer to the IVR {FLOW}, node {MENU_NODE}"
        ))),
        "the trail names the menu transfer: {trail:#?}"
    );
    customer.quit();
    desk1.quit();
    desk2.quit();
    assert!(callbox.stop().is_some(), "the daemon stops on SIGTERM");
}

/// Where sipp plays desk phone 1001: not 127.0.0.1, whose calls the carrier takes
/// (the customer's baresip is there), nor the carrier's 127.0.0.2, so its INVITE is
/// a device's and gets the digest challenge.
const PHONE_IP: &str = "127.0.0.3";

/// Desk phone 1001 played by sipp: registered from `PHONE_IP:port`, so the box rings
/// it there.
fn register_sipp_phone(t: &TestDir, callbox: &Callbox, port: u16) {
    let outcome = Sipp::scenario("register1001", "phone_register.xml", t.path())
        .remote(callbox.sip)
        .local_ip(PHONE_IP)
        .local_port(port)
        .service("1001")
        .auth("1001", "pw-1001")
        .timeout(Duration::from_secs(10))
        .run(secs(10))
        .unwrap();
    assert!(
        outcome.all_ok(),
        "phone 1001 registers: {}\n{}",
        outcome.describe(),
        callbox.log_tail()
    );
}

fn messages(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

#[test]
fn an_attended_transfer_from_the_phone_joins_the_customer_and_the_colleague() {
    let t = TestDir::new("e2e-refer-attended").unwrap();
    let Center { callbox, .. } = center(&t);
    let port = ports::free_port();
    register_sipp_phone(&t, &callbox, port);
    let mut desk2 = desk_phone(&t, &callbox, "1002", TONE_8002);
    center::login(&callbox, "8001", Some("device"));
    center::login(&callbox, "8002", Some("device"));

    let log: PathBuf = t.path().join("phone1001.messages.log");
    let phone = Sipp::scenario("phone1001", "phone_attended_transfer.xml", t.path())
        .local_ip(PHONE_IP)
        .local_port(port)
        .key("box", &callbox.sip.to_string())
        .key("user", "1001")
        .key("target", "1002")
        .auth("1001", "pw-1001")
        .duration_ms(2500)
        .rtp_echo(true)
        .timeout(Duration::from_secs(40))
        .arg("-trace_msg")
        .arg("-message_file")
        .arg(&log.to_string_lossy())
        .spawn()
        .unwrap();
    assert!(phone.wait_ready(secs(5)), "phone 1001 listens");

    let mut customer = customer_phone(&t);
    customer
        .dial(&format!("sip:{SERVICE}@{}", callbox.sip))
        .unwrap();
    customer
        .wait_event("CALL_ESTABLISHED", secs(15))
        .unwrap_or_else(|e| panic!("8001's phone answers: {e}\n{}", callbox.log_tail()));
    expect_state(&callbox, "8001", "talking", 3);
    let heard = live_recording(&customer);

    // The phone calls 1002 on its second line; 8002's phone answers by itself.
    desk2
        .wait_event("CALL_ESTABLISHED", secs(10))
        .unwrap_or_else(|e| {
            panic!(
                "phone 1001's second call reaches 8002: {e}\n{}\n{}",
                callbox.log_tail(),
                messages(&log)
            )
        });
    let heard_1002 = live_recording(&desk2);
    // Until the transfer button (the phone talks to 8002 for 2.5 s first), each
    // hears only the phone, which echoes what it gets: their own tone.
    let before = next_second(&heard);
    assert!(
        has(&before, CUSTOMER_TONE) && !has(&before, TONE_8002),
        "before the transfer the customer hears the phone, not 8002 (rms {})",
        rms(&before)
    );
    let before = next_second(&heard_1002);
    assert!(
        has(&before, TONE_8002) && !has(&before, CUSTOMER_TONE),
        "before the transfer 8002 hears the phone, not the customer (rms {})",
        rms(&before)
    );

    let outcome = phone.finish(secs(30));
    assert!(
        outcome.all_ok(),
        "the REFER gets 202, a NOTIFY with SIP/2.0 200 and both dialogs a BYE: {}\n{}\n{}",
        outcome.describe(),
        callbox.log_tail(),
        messages(&log)
    );
    let talk = next_second(&heard);
    assert!(
        has(&talk, TONE_8002) && !has(&talk, CUSTOMER_TONE),
        "the customer hears 8002's 1700 Hz, no longer the phone (rms {})\n{}",
        rms(&talk),
        callbox.log_tail()
    );
    let talk = next_second(&heard_1002);
    assert!(
        has(&talk, CUSTOMER_TONE) && !has(&talk, TONE_8002),
        "8002 hears the customer's 400 Hz, no longer the phone (rms {})",
        rms(&talk)
    );
    expect_state(&callbox, "8001", "wrap_up", 2);
    expect_state(&callbox, "8002", "talking", 2);

    let second = callbox.ended_call(2, Duration::from_secs(5));
    assert!(second.ended_at.is_some(), "call B is closed: {second:?}");
    let row = callbox.store().call(CallId(1)).unwrap().expect("a row");
    assert!(
        row.ended_at.is_none(),
        "the customer's call goes on: {row:?}"
    );
    assert_eq!(
        row.agent,
        Some(agent_id(&callbox, "8002")),
        "the customer's call is 8002's: {row:?}"
    );
    let trail = trail_lines(&callbox, 1);
    assert!(
        trail
            .iter()
            .any(|l| l.contains("transferred the call to agent 8002 (attended)")),
        "the trail names the attended transfer: {trail:#?}"
    );

    customer.hangup().unwrap();
    customer.wait_event("CALL_CLOSED", secs(5)).unwrap();
    desk2
        .wait_event("CALL_CLOSED", secs(5))
        .unwrap_or_else(|e| panic!("8002's phone gets a BYE: {e}\n{}", callbox.log_tail()));
    let call = callbox.ended_call(1, Duration::from_secs(5));
    assert_eq!(call.agent, Some(agent_id(&callbox, "8002")), "{call:?}");
    customer.quit();
    desk2.quit();
    assert!(callbox.stop().is_some(), "the daemon stops on SIGTERM");
}
