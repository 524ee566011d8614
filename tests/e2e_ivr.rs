//! The IVRs end to end, keyed with sipp's RFC 2833 recordings
//! (`/usr/share/sip-tester/dtmf_2833_*.pcap`):
//! - a customer presses 1 in the service number's menu, waits in 售前's queue and
//!   reaches the longest-idle agent's desk phone (baresip), with audio;
//! - an agent signs in by calling the hotline from their mobile (seed S4, S13), and
//!   the next queue call goes out through the trunk to that mobile (a sipp UAS as
//!   the carrier's far end), which takes it by pressing 1;
//! - a desk phone dials 0000 and binds itself to an agent (S7), and that agent's next
//!   queue call rings that phone.

mod common;

use std::time::Duration;

use callbox::core::ivr::{Choice, Node, NodeId, NodeKind};
use callbox::core::{GroupId, Language};
use callbox::store::{NewFlow, NewGroup};
use common::TestDir;
use common::audio::{has_tone, read_channel};
use common::callbox::{Callbox, Prepared};
use common::center::{CARRIER_IP, agent, agent_view, carrier, desk, desk_phone};
use common::ports;
use common::sipp::Sipp;
use common::wait::{secs, wait_until};

const SERVICE: &str = "4008001234";

struct Site {
    callbox: Callbox,
    carrier_port: u16,
}

/// Phones 1001-1003 (1003 belongs to nobody); agents 8101 (phone 1001, mobile
/// 13800138001) and 8102 (phone 1002) in 售前; the service number queues for 售前,
/// through the menu flow when `menu`.
fn site(t: &TestDir, menu: bool) -> Site {
    let mut p = Prepared::new(t.path()).unwrap();
    let phones: Vec<_> = ["1001", "1002", "1003"]
        .iter()
        .map(|u| desk(&mut p.store, u))
        .collect();
    let carrier_port = ports::free_port();
    let trunk = carrier(&mut p.store, carrier_port);
    p.store.add_service_number(SERVICE, trunk, None).unwrap();
    let mut group = NewGroup::new("售前");
    group.wrap_up = Duration::ZERO;
    let sales = p.store.add_group(&group).unwrap();
    p.store
        .set_service_number_queue(SERVICE, Some(sales), 0, Language::ZhCn)
        .unwrap();
    // Agent numbers without a digit twice in a row: see tests/sipp/trunk_sign_in.xml.
    for (i, number) in ["8101", "8102"].iter().enumerate() {
        let direct = format!("1380013800{}", i + 1);
        let id = agent(&mut p.store, number, Some(phones[i]), Some(&direct));
        p.store.add_member(sales, id, 1).unwrap();
    }
    if menu {
        let flow = p.store.add_flow(&menu_flow(sales)).unwrap();
        p.store
            .set_service_number_flow(SERVICE, Some(flow))
            .unwrap();
    }
    Site {
        callbox: p.start().unwrap(),
        carrier_port,
    }
}

/// "业务咨询请按1": 1 → 售前's queue.
fn menu_flow(sales: GroupId) -> NewFlow {
    NewFlow {
        name: "菜单".into(),
        start: NodeId(1),
        nodes: vec![
            Node {
                id: NodeId(1),
                kind: NodeKind::Menu {
                    prompts: vec!["welcome_menu".into()],
                    choices: vec![Choice {
                        key: '1',
                        next: NodeId(2),
                    }],
                    timeout_secs: 10,
                    retries: 1,
                    fail: None,
                },
            },
            Node {
                id: NodeId(2),
                kind: NodeKind::Queue { group: sales },
            },
        ],
    }
}

fn login(callbox: &Callbox, number: &str) {
    common::center::login(callbox, number, None);
}

#[test]
fn a_menu_key_leads_to_the_queue_and_the_longest_idle_agent_answers() {
    let t = TestDir::new("e2e-ivr-menu").unwrap();
    let Site { callbox, .. } = site(&t, true);
    let mut desk1 = desk_phone(&t, &callbox, "1001", 700);
    let mut desk2 = desk_phone(&t, &callbox, "1002", 1300);
    login(&callbox, "8102");
    login(&callbox, "8101");

    let customer = Sipp::scenario("customer", "trunk_menu.xml", t.path())
        .remote(callbox.sip)
        .local_ip(CARRIER_IP)
        .service(SERVICE)
        .duration_ms(3000)
        .timeout(Duration::from_secs(30))
        .spawn()
        .unwrap();
    desk2
        .wait_event("CALL_ESTABLISHED", secs(10))
        .unwrap_or_else(|e| {
            panic!(
                "after the key, 8102's phone rings: {e}\n{}",
                callbox.log_tail()
            )
        });
    let outcome = customer.finish(secs(30));
    assert!(
        outcome.all_ok(),
        "{}\n{}",
        outcome.describe(),
        callbox.log_tail()
    );
    desk2.wait_event("CALL_CLOSED", secs(5)).unwrap();
    assert!(
        desk1.wait_event("CALL_INCOMING", secs(0)).is_err(),
        "8101 was not rung"
    );

    let heard = desk2.wait_recording(secs(5)).unwrap();
    let speech = read_channel(&heard, 0).unwrap();
    let loud = speech.data.iter().filter(|s| s.abs() > 0.05).count();
    assert!(loud > 1600, "8102 heard the customer ({loud} loud samples)");
    assert!(!has_tone(&heard, 0, 1300.0).unwrap());

    let call = callbox.ended_call(1, Duration::from_secs(5));
    assert_eq!(call.group.map(|g| g.0), Some(1));
    let trail: Vec<String> = callbox
        .trail(1)
        .iter()
        .map(|e| format!("{}: {}", e.kind.as_str(), e.detail))
        .collect();
    assert!(
        trail
            .iter()
            .any(|l| l == "overflowed: IVR 菜单 (1) → queue 售前"),
        "the trail shows the menu choice: {trail:#?}"
    );
}

#[test]
fn an_agent_signs_in_from_their_mobile_and_the_next_queue_call_reaches_it() {
    let t = TestDir::new("e2e-ivr-hotline").unwrap();
    let Site {
        callbox,
        carrier_port,
    } = site(&t, false);
    assert_eq!(agent_view(&callbox, "8101")["state"], "offline");

    let mobile = Sipp::scenario("mobile", "trunk_sign_in.xml", t.path())
        .remote(callbox.sip)
        .local_ip(CARRIER_IP)
        .service(SERVICE)
        .key("caller", "+8613800138001")
        .timeout(Duration::from_secs(40))
        .spawn()
        .unwrap();
    let outcome = mobile.finish(secs(40));
    assert!(
        outcome.all_ok(),
        "the box hangs up after 签入成功: {}\n{}",
        outcome.describe(),
        callbox.log_tail()
    );
    let a = agent_view(&callbox, "8101");
    assert_eq!(a["state"], "idle", "{a}");
    assert_eq!(a["mode"], "direct", "{a}");

    // The carrier's far end answers for the mobile and presses 1 to take the call;
    // a customer calls in.
    let far_end = Sipp::scenario("far-end", "mobile_answer.xml", t.path())
        .local_ip(CARRIER_IP)
        .local_port(carrier_port)
        .timeout(Duration::from_secs(30))
        .spawn()
        .unwrap();
    assert!(far_end.wait_ready(secs(5)));
    let customer = Sipp::scenario("customer", "trunk_call.xml", t.path())
        .remote(callbox.sip)
        .local_ip(CARRIER_IP)
        .service(SERVICE)
        .duration_ms(2000)
        .timeout(Duration::from_secs(30))
        .spawn()
        .unwrap();
    let outcome = customer.finish(secs(30));
    assert!(
        outcome.all_ok(),
        "{}\n{}",
        outcome.describe(),
        callbox.log_tail()
    );
    let answered = far_end.finish(secs(10));
    assert!(
        answered.all_ok(),
        "the mobile was called through the trunk and answered: {}\n{}",
        answered.describe(),
        callbox.log_tail()
    );
    let call = callbox.ended_call(2, Duration::from_secs(5));
    let id = callbox.store().agent_by_number("8101").unwrap().unwrap().0;
    assert_eq!(call.agent, Some(id));
    let offered = callbox
        .trail(2)
        .into_iter()
        .find(|e| e.kind.as_str() == "agent_offered")
        .expect("an offer in the trail");
    assert!(
        offered.detail.contains("13800138001 via trunk carrier"),
        "{}",
        offered.detail
    );
    let log = callbox.store().agent_status_log(id, 10).unwrap();
    assert_eq!(
        log[0].detail,
        "signed in by calling the hotline from +8613800138001"
    );
}

#[test]
fn a_phone_bound_with_0000_rings_for_that_agent() {
    let t = TestDir::new("e2e-ivr-0000").unwrap();
    let Site { callbox, .. } = site(&t, false);
    let mut desk3 = desk_phone(&t, &callbox, "1003", 900);

    // Phone 1003 dials 0000, presses 1, keys 8102#.
    let keys = Sipp::scenario("desk1003-keys", "phone_feature.xml", t.path())
        .remote(callbox.sip)
        .local_ip("127.0.0.1")
        .service("1003")
        .auth("1003", "pw-1003")
        .timeout(Duration::from_secs(40))
        .spawn()
        .unwrap();
    let outcome = keys.finish(secs(40));
    assert!(
        outcome.all_ok(),
        "the box hangs up after 您的工号已绑定成功: {}\n{}",
        outcome.describe(),
        callbox.log_tail()
    );
    assert!(
        wait_until(secs(5), || {
            let dir = callbox.store().load_directory("9").unwrap();
            let a = dir.agent_by_number("8102").unwrap();
            a.bound_device
                .and_then(|d| dir.device(d))
                .map(|d| d.user.as_str())
                == Some("1003")
        }),
        "the binding is stored"
    );

    login(&callbox, "8102");
    let customer = Sipp::scenario("customer", "trunk_call.xml", t.path())
        .remote(callbox.sip)
        .local_ip(CARRIER_IP)
        .service(SERVICE)
        .duration_ms(1500)
        .timeout(Duration::from_secs(30))
        .spawn()
        .unwrap();
    desk3
        .wait_event("CALL_ESTABLISHED", secs(10))
        .unwrap_or_else(|e| panic!("8102's call rings phone 1003: {e}\n{}", callbox.log_tail()));
    let outcome = customer.finish(secs(30));
    assert!(outcome.all_ok(), "{}", outcome.describe());
}
