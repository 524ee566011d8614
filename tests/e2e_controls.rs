//! In-call controls end to end: an agent on a real desk phone (baresip) and a
//! customer through the carrier trunk (sipp at 127.0.0.2, or a baresip the
//! carrier also takes calls from on 127.0.0.1), driven by
//! the call bar's HTTP buttons: hold and resume (music both ways, `hold_secs`),
//! click-to-call (the agent rings first, then the customer with the service
//! number as caller id), the satisfaction survey (the customer's key is stored)
//! and PIN verification (the agent learns only the result).
//!
//! The tricky part: a baresip recording's header is written only when the call
//! closes, so audio heard while the call goes on is read from the raw file by
//! byte offset (8 kHz mono 16-bit: 16000 bytes a second) between two moments.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use callbox::core::{CallDirection, CallEventKind, Language};
use callbox::store::NewGroup;
use common::TestDir;
use common::audio::samples_have_tone;
use common::baresip::{AnswerMode, Baresip, BaresipOpts};
use common::callbox::{Callbox, Prepared};
use common::center::{self, CARRIER_IP, agent, agent_state, carrier, desk};
use common::http::json;
use common::live::{BYTES_PER_SEC, heard_between, live_recording, pcm_len, rms};
use common::ports;
use common::process::wait_log_line;
use common::sipp::{Sipp, SippRun};
use common::wait::{secs, wait_for, wait_until};

const SERVICE: &str = "4008001234";
const AGENT_TONE: u32 = 1000;
const CUSTOMER_TONE: u32 = 400;

/// Agent 8001 on desk phone 1001, the only member of 售后服务, whose queue the
/// service number leads to; the carrier listens for outbound calls on
/// `carrier_port` at `CARRIER_IP`.
struct Center {
    callbox: Callbox,
    carrier_port: u16,
}

fn center(t: &TestDir, softphone_customer: bool) -> Center {
    let mut p = Prepared::new(t.path()).unwrap();
    let phone = desk(&mut p.store, "1001");
    let carrier_port = ports::free_port();
    let trunk = if softphone_customer {
        // baresip binds 127.0.0.1 only (its harness config comes first and
        // wins), so the carrier also takes calls from there.
        center::carrier_for_softphones(&mut p.store, carrier_port)
    } else {
        carrier(&mut p.store, carrier_port)
    };
    p.store.add_service_number(SERVICE, trunk, None).unwrap();
    let mut group = NewGroup::new("售后服务");
    group.wrap_up = Duration::from_secs(1);
    let group = p.store.add_group(&group).unwrap();
    p.store
        .set_service_number_queue(SERVICE, Some(group), 0, Language::ZhCn)
        .unwrap();
    let id = agent(&mut p.store, "8001", Some(phone), None);
    p.store.add_member(group, id, 1).unwrap();
    let callbox = p.start().unwrap();
    Center {
        callbox,
        carrier_port,
    }
}

fn agent_phone(t: &TestDir, callbox: &Callbox, answer: AnswerMode) -> Baresip {
    let mut phone = Baresip::start(
        BaresipOpts::new("desk1001")
            .user("1001")
            .register(callbox.sip, "pw-1001")
            .tone(AGENT_TONE)
            .answer(answer),
        t.path(),
    )
    .expect("baresip starts");
    phone.wait_registered(secs(5)).expect("the phone registers");
    phone
}

/// A customer's softphone; the carrier takes its calls (see `center`).
fn customer_phone(t: &TestDir, tone: u32) -> Baresip {
    Baresip::start(
        BaresipOpts::new("customer").user("13900001111").tone(tone),
        t.path(),
    )
    .expect("the customer's baresip starts")
}

fn button(callbox: &Callbox, name: &str, body: &str) -> serde_json::Value {
    let (code, answer) = json(
        callbox.http,
        "POST",
        &format!("/api/v1/agents/8001/call/{name}"),
        body,
    );
    assert_eq!(code, 200, "{name}: {answer}\n{}", callbox.log_tail());
    answer
}

fn call_bar(callbox: &Callbox) -> serde_json::Value {
    let (code, answer) = json(callbox.http, "GET", "/api/v1/agents/8001/call", "");
    assert_eq!(code, 200, "{answer}\n{}", callbox.log_tail());
    answer
}

#[test]
fn hold_gives_both_sides_music_and_resume_reconnects() {
    let t = TestDir::new("e2e-hold").unwrap();
    let Center { callbox, .. } = center(&t, true);
    let mut desk = agent_phone(&t, &callbox, AnswerMode::Auto);
    center::login(&callbox, "8001", Some("device"));
    let mut customer = customer_phone(&t, CUSTOMER_TONE);
    customer
        .dial(&format!("sip:{SERVICE}@{}", callbox.sip))
        .unwrap();
    desk.wait_event("CALL_ESTABLISHED", secs(15))
        .unwrap_or_else(|e| panic!("8001's phone answers: {e}\n{}", callbox.log_tail()));
    assert!(
        wait_until(secs(3), || agent_state(&callbox, "8001") == "talking"),
        "8001 is talking\n{}",
        callbox.log_tail()
    );
    let heard = live_recording(&customer);
    let agent_heard = live_recording(&desk);

    // Talking: the customer hears the agent's tone.
    let from = pcm_len(&heard);
    let talk = heard_between(&heard, from + BYTES_PER_SEC / 2, BYTES_PER_SEC);
    assert!(
        samples_have_tone(&talk, f64::from(AGENT_TONE), 0.5),
        "before hold the customer hears 1000 Hz (rms {})",
        rms(&talk)
    );

    button(&callbox, "hold", "{}");
    assert_eq!(call_bar(&callbox)["state"], "held");
    let (from, agent_from) = (pcm_len(&heard), pcm_len(&agent_heard));
    let held = heard_between(&heard, from + BYTES_PER_SEC / 2, 3 * BYTES_PER_SEC / 2);
    let agent_held = heard_between(
        &agent_heard,
        agent_from + BYTES_PER_SEC / 2,
        3 * BYTES_PER_SEC / 2,
    );
    assert!(
        !samples_have_tone(&held, f64::from(AGENT_TONE), 0.1),
        "on hold the customer does not hear the agent"
    );
    assert!(
        rms(&held) > 0.01,
        "on hold the customer hears music, not silence (rms {})",
        rms(&held)
    );
    assert!(
        !samples_have_tone(&agent_held, f64::from(CUSTOMER_TONE), 0.1),
        "on hold the agent does not hear the customer"
    );
    assert!(
        rms(&agent_held) > 0.01,
        "on hold the agent hears music too (rms {})",
        rms(&agent_held)
    );

    button(&callbox, "resume", "{}");
    assert_eq!(call_bar(&callbox)["state"], "talking");
    let from = pcm_len(&heard);
    let back = heard_between(&heard, from + BYTES_PER_SEC / 2, BYTES_PER_SEC);
    assert!(
        samples_have_tone(&back, f64::from(AGENT_TONE), 0.5),
        "after resume the customer hears 1000 Hz again (rms {})",
        rms(&back)
    );

    customer.hangup().unwrap();
    customer.wait_event("CALL_CLOSED", secs(5)).unwrap();
    desk.wait_event("CALL_CLOSED", secs(5)).unwrap();
    let call = callbox.ended_call(1, Duration::from_secs(5));
    assert!(call.hold_secs >= 1, "hold time counted: {call:?}");
    let trail = callbox.trail(1);
    let names_agent = |kind: CallEventKind| {
        trail
            .iter()
            .any(|e| e.kind == kind && (e.detail.contains("8001") || e.party.contains("8001")))
    };
    assert!(
        names_agent(CallEventKind::Held) && names_agent(CallEventKind::Resumed),
        "held and resumed lines name the agent: {trail:#?}"
    );
    customer.quit();
    desk.quit();
    assert!(callbox.stop().is_some(), "the daemon stops on SIGTERM");
}

/// The carrier as the far end of an outbound call: `scenario` at
/// `CARRIER_IP:port`, every message it sees or sends traced to `<name>.messages.log`.
fn carrier_uas(t: &TestDir, name: &str, port: u16, busy: bool) -> (SippRun, PathBuf) {
    let log = t.path().join(format!("{name}.messages.log"));
    let sipp = if busy {
        Sipp::scenario(name, "carrier_reject.xml", t.path())
            .substitute("503 Service Unavailable", "486 Busy Here")
    } else {
        Sipp::scenario(name, "carrier_answer.xml", t.path())
    };
    let run = sipp
        .local_ip(CARRIER_IP)
        .local_port(port)
        .timeout(Duration::from_secs(40))
        .arg("-trace_msg")
        .arg("-message_file")
        .arg(&log.to_string_lossy())
        .spawn()
        .unwrap();
    assert!(run.wait_ready(secs(5)), "the carrier listens");
    (run, log)
}

fn invites_seen(log: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.split("message received")
        .skip(1)
        .filter(|m| m.contains("INVITE sip:"))
        .map(str::to_string)
        .collect()
}

fn dial(callbox: &Callbox, number: &str) -> serde_json::Value {
    let (code, answer) = json(
        callbox.http,
        "POST",
        "/api/v1/calls",
        &format!(r#"{{"agent":"8001","number":"{number}"}}"#),
    );
    assert_eq!(code, 200, "click-to-call: {answer}\n{}", callbox.log_tail());
    answer
}

#[test]
fn click_to_call_rings_the_agent_first_then_the_customer() {
    let t = TestDir::new("e2e-click-to-call").unwrap();
    let Center {
        callbox,
        carrier_port,
    } = center(&t, false);
    let mut desk = agent_phone(&t, &callbox, AnswerMode::Manual);
    center::login(&callbox, "8001", Some("device"));
    let (carrier, log) = carrier_uas(&t, "carrier", carrier_port, false);

    dial(&callbox, "13900001111");
    desk.wait_event("CALL_INCOMING", secs(10))
        .unwrap_or_else(|e| panic!("8001's phone rings: {e}\n{}", callbox.log_tail()));
    let bar = call_bar(&callbox);
    assert!(
        bar["state"] == "calling" || bar["state"] == "ringing",
        "while the agent's phone rings: {bar}"
    );
    assert!(
        invites_seen(&log).is_empty(),
        "the customer is not called before the agent answers"
    );

    desk.answer().unwrap();
    desk.wait_event("CALL_ESTABLISHED", secs(5)).unwrap();
    let invite = wait_for(secs(10), || invites_seen(&log).into_iter().next())
        .unwrap_or_else(|| panic!("the carrier gets an INVITE\n{}", callbox.log_tail()));
    let from = invite
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("from:"))
        .unwrap_or_default();
    assert!(
        from.contains(&format!("sip:{SERVICE}@")),
        "the customer sees the service number: {from}"
    );
    assert!(
        invite.contains("INVITE sip:13900001111@"),
        "the customer's number is called: {invite}"
    );
    assert!(
        wait_until(secs(5), || call_bar(&callbox)["state"] == "talking"),
        "the call bar says talking: {}",
        call_bar(&callbox)
    );
    assert_eq!(call_bar(&callbox)["customer"], "13900001111");
    // A second of talk, then the agent hangs up.
    let heard = live_recording(&desk);
    let from = pcm_len(&heard);
    let _ = heard_between(&heard, from, BYTES_PER_SEC);
    desk.hangup().unwrap();
    desk.wait_event("CALL_CLOSED", secs(5)).unwrap();
    let outcome = carrier.finish(secs(10));
    assert!(outcome.all_ok(), "{}", outcome.describe());

    let call = callbox.ended_call(1, Duration::from_secs(5));
    let id = callbox.store().agent_by_number("8001").unwrap().unwrap().0;
    assert_eq!(call.direction, CallDirection::Outbound, "{call:?}");
    assert_eq!(call.agent, Some(id), "{call:?}");
    assert_eq!(call.to_number, "13900001111", "{call:?}");
    assert!(call.recording.is_some(), "recorded: {call:?}");

    // A busy customer: the agent answers, the carrier says 486.
    assert!(
        wait_until(secs(10), || agent_state(&callbox, "8001") == "idle"),
        "8001 is free again: {}",
        agent_state(&callbox, "8001")
    );
    let (busy, _) = carrier_uas(&t, "busy-carrier", carrier_port, true);
    dial(&callbox, "13900002222");
    desk.wait_event("CALL_INCOMING", secs(10)).unwrap();
    desk.answer().unwrap();
    desk.wait_event("CALL_CLOSED", secs(10))
        .unwrap_or_else(|e| panic!("the agent's leg ends: {e}\n{}", callbox.log_tail()));
    let outcome = busy.finish(secs(10));
    assert!(outcome.all_ok(), "{}", outcome.describe());
    callbox.ended_call(2, Duration::from_secs(5));
    let trail = callbox.trail(2);
    assert!(
        trail.iter().any(|e| e.detail.contains("busy")),
        "the trail says the customer was busy: {trail:#?}"
    );
    desk.quit();
    assert!(callbox.stop().is_some(), "the daemon stops on SIGTERM");
}

/// A customer through the carrier running `scenario` from 13900001111; returns
/// once the agent's phone has answered.
fn customer_sipp(t: &TestDir, callbox: &Callbox, scenario: &str, delay_ms: u64) -> SippRun {
    Sipp::scenario("customer", scenario, t.path())
        .remote(callbox.sip)
        .local_ip(CARRIER_IP)
        .service(SERVICE)
        .key("caller", "13900001111")
        .duration_ms(delay_ms)
        .timeout(Duration::from_secs(40))
        .spawn()
        .unwrap()
}

#[test]
fn survey_stores_the_customers_key() {
    let t = TestDir::new("e2e-survey").unwrap();
    let Center { callbox, .. } = center(&t, false);
    let mut desk = agent_phone(&t, &callbox, AnswerMode::Auto);
    center::login(&callbox, "8001", Some("device"));
    let customer = customer_sipp(&t, &callbox, "trunk_survey.xml", 3000);
    desk.wait_event("CALL_ESTABLISHED", secs(10))
        .unwrap_or_else(|e| panic!("8001's phone answers: {e}\n{}", callbox.log_tail()));
    assert!(
        wait_until(secs(3), || call_bar(&callbox)["state"] == "talking"),
        "{}",
        call_bar(&callbox)
    );
    button(&callbox, "survey", "{}");
    desk.wait_event("CALL_CLOSED", secs(5))
        .unwrap_or_else(|e| panic!("the agent's leg gets a BYE: {e}\n{}", callbox.log_tail()));
    let outcome = customer.finish(secs(30));
    assert!(
        outcome.all_ok(),
        "the customer keyed 2 and the box hung up: {}\n{}",
        outcome.describe(),
        callbox.log_tail()
    );
    let store = callbox.store();
    let call = wait_for(secs(5), || {
        store
            .call(callbox::core::CallId(1))
            .ok()
            .flatten()
            .filter(|c| c.ended_at.is_some() && c.survey_score.is_some())
    })
    .unwrap_or_else(|| {
        panic!(
            "no survey score: {:?}\n{}",
            store.call(callbox::core::CallId(1)),
            callbox.log_tail()
        )
    });
    assert_eq!(call.survey_score, Some(2), "{call:?}");
    desk.quit();
    assert!(callbox.stop().is_some(), "the daemon stops on SIGTERM");
}

const PIN: &str = "25803614";

#[test]
fn verification_tells_the_agent_only_the_result() {
    let t = TestDir::new("e2e-verify").unwrap();
    let Center { callbox, .. } = center(&t, false);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_callbox"))
        .args(["customer", "pin", "13900001111", PIN, "--config"])
        .arg(t.path().join("callbox.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the PIN is set: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The daemon takes the new PIN on its next look at the store (once a second).
    assert!(
        wait_log_line(
            &t.path().join("callbox.stderr"),
            "the configuration changed",
            secs(5)
        ),
        "the daemon reloads after the CLI: {}",
        callbox.log_tail()
    );
    let mut desk = agent_phone(&t, &callbox, AnswerMode::Auto);
    center::login(&callbox, "8001", Some("device"));
    let customer = customer_sipp(&t, &callbox, "trunk_verify.xml", 4500);
    desk.wait_event("CALL_ESTABLISHED", secs(10))
        .unwrap_or_else(|e| panic!("8001's phone answers: {e}\n{}", callbox.log_tail()));
    assert!(
        wait_until(secs(3), || call_bar(&callbox)["state"] == "talking"),
        "{}",
        call_bar(&callbox)
    );
    assert_ne!(call_bar(&callbox)["verified"], true, "not verified yet");
    button(&callbox, "verify", "{}");
    assert_eq!(call_bar(&callbox)["state"], "verifying");
    assert!(
        wait_until(secs(15), || {
            let bar = call_bar(&callbox);
            bar["verified"] == true && bar["state"] == "talking"
        }),
        "after the PIN the call bar says verified and talking: {}\n{}",
        call_bar(&callbox),
        callbox.log_tail()
    );
    let outcome = customer.finish(secs(30));
    assert!(outcome.all_ok(), "{}", outcome.describe());
    desk.wait_event("CALL_CLOSED", secs(5)).unwrap();
    callbox.ended_call(1, Duration::from_secs(5));

    let trail = callbox.trail(1);
    assert!(
        trail
            .iter()
            .all(|e| !e.detail.contains(PIN) && !e.party.contains(PIN)),
        "the PIN is in the trail: {trail:#?}"
    );
    assert!(
        trail.iter().all(|e| e.kind != CallEventKind::Dtmf),
        "no key of the PIN is in the trail: {trail:#?}"
    );
    assert!(callbox.stop().is_some(), "the daemon stops on SIGTERM");
    for name in ["callbox.stdout", "callbox.stderr"] {
        let log = std::fs::read_to_string(t.path().join(name)).unwrap_or_default();
        assert!(!log.is_empty() || name == "callbox.stdout", "{name} read");
        assert!(!log.contains(PIN), "the PIN is in the daemon's {name}");
    }
    for entry in std::fs::read_dir(t.path().join("var")).unwrap() {
        let path = entry.unwrap().path();
        if !path.to_string_lossy().contains("callbox.db") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(PIN.len()).any(|w| w == PIN.as_bytes()),
            "the PIN is in {}",
            path.display()
        );
    }
    desk.quit();
}
