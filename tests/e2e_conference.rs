//! The third leg end to end: a consult (咨询) that becomes a three-way call, an
//! attended transfer, and a supervisor who whispers and then barges in, each
//! checked by what every party actually hears.
//!
//! Every party sends its own tone: the customer 400 Hz (a baresip the carrier
//! takes calls from on 127.0.0.1), agent 8001 on desk 1001 1000 Hz, agent 8002 on
//! desk 1002 1700 Hz, supervisor 8004 on desk 1004 2300 Hz; all desks answer by
//! themselves. 8001 is the only member of 售后服务, whose queue the service
//! number leads to, so the customer always reaches 8001 first.
//!
//! The tricky part: a baresip recording's header is written only when the call
//! closes, so audio heard while the call goes on is read from the raw file by
//! byte offset (8 kHz mono 16-bit: 16000 bytes a second), starting half a second
//! after each button so the media room has rearranged by then.

mod common;

use std::path::Path;
use std::time::Duration;

use callbox::core::Language;
use callbox::store::NewGroup;
use common::TestDir;
use common::audio::{Samples, read_channel, samples_have_tone};
use common::baresip::{Baresip, BaresipOpts};
use common::callbox::{Callbox, Prepared};
use common::center::{self, agent, agent_state, desk, desk_phone};
use common::http::json;
use common::live::{BYTES_PER_SEC, has, heard_between, live_recording, pcm_len, rms};
use common::ports;
use common::process::wait_log_line;
use common::wait::{secs, wait_for, wait_until};

const SERVICE: &str = "4008001234";
const CUSTOMER_TONE: u32 = 400;
const AGENT_TONE: u32 = 1000;
const THIRD_TONE: u32 = 1700;
const SUPERVISOR_TONE: u32 = 2300;

/// The daemon with agents 8001 (desk 1001, in 售后服务), 8002 (desk 1002) and
/// 8004 (desk 1004), none of them logged in yet.
fn center(t: &TestDir) -> Callbox {
    let mut p = Prepared::new(t.path()).unwrap();
    let carrier_port = ports::free_port();
    // baresip binds 127.0.0.1 only, so the carrier also takes calls from there.
    let trunk = center::carrier_for_softphones(&mut p.store, carrier_port);
    p.store.add_service_number(SERVICE, trunk, None).unwrap();
    let mut group = NewGroup::new("售后服务");
    group.wrap_up = Duration::from_secs(1);
    let group = p.store.add_group(&group).unwrap();
    p.store
        .set_service_number_queue(SERVICE, Some(group), 0, Language::ZhCn)
        .unwrap();
    for (number, user) in [("8001", "1001"), ("8002", "1002"), ("8004", "1004")] {
        let phone = desk(&mut p.store, user);
        let id = agent(&mut p.store, number, Some(phone), None);
        if number == "8001" {
            p.store.add_member(group, id, 1).unwrap();
        }
    }
    p.start().unwrap()
}

/// A desk phone for `number`'s agent, registered, then the agent logged in.
fn agent_on_desk(t: &TestDir, callbox: &Callbox, number: &str, tone: u32) -> Baresip {
    let user = format!("1{}", &number[1..]);
    let phone = desk_phone(t, callbox, &user, tone);
    center::login(callbox, number, Some("device"));
    assert!(
        wait_until(secs(3), || agent_state(callbox, number) == "idle"),
        "{number} is idle after login: {}\n{}",
        agent_state(callbox, number),
        callbox.log_tail()
    );
    phone
}

/// The customer calls the service number and 8001's phone answers.
fn customer_reaches_8001(t: &TestDir, callbox: &Callbox, desk1001: &mut Baresip) -> Baresip {
    let mut customer = Baresip::start(
        BaresipOpts::new("customer")
            .user("13900001111")
            .tone(CUSTOMER_TONE),
        t.path(),
    )
    .expect("the customer's baresip starts");
    customer
        .dial(&format!("sip:{SERVICE}@{}", callbox.sip))
        .unwrap();
    desk1001
        .wait_event("CALL_ESTABLISHED", secs(15))
        .unwrap_or_else(|e| panic!("8001's phone answers: {e}\n{}", callbox.log_tail()));
    assert!(
        wait_until(secs(5), || call_bar(callbox, "8001")["state"] == "talking"),
        "8001 is talking: {}\n{}",
        call_bar(callbox, "8001"),
        callbox.log_tail()
    );
    customer
}

fn post(callbox: &Callbox, path: &str, body: &str) -> serde_json::Value {
    let (code, answer) = json(callbox.http, "POST", path, body);
    assert_eq!(
        code,
        200,
        "POST {path} {body}: {answer}\n{}",
        callbox.log_tail()
    );
    answer
}

fn button(callbox: &Callbox, name: &str, body: &str) -> serde_json::Value {
    post(callbox, &format!("/api/v1/agents/8001/call/{name}"), body)
}

fn call_bar(callbox: &Callbox, agent: &str) -> serde_json::Value {
    let (code, answer) = json(
        callbox.http,
        "GET",
        &format!("/api/v1/agents/{agent}/call"),
        "",
    );
    if code != 200 {
        return serde_json::json!({ "code": code, "answer": answer });
    }
    answer
}

/// What each of `phones` hears over the next 1.5 s, from half a second on (so a
/// button pressed just before has taken effect). Read from all of them over the
/// same stretch of time.
fn hear_now(phones: &[&Path]) -> Vec<Samples> {
    let from: Vec<u64> = phones.iter().map(|p| pcm_len(p)).collect();
    phones
        .iter()
        .zip(from)
        .map(|(p, f)| heard_between(p, f + BYTES_PER_SEC / 2, 3 * BYTES_PER_SEC / 2))
        .collect()
}

/// The tones among `tones` that `s` holds, for assertion messages.
fn tones_in(s: &Samples, tones: &[u32]) -> String {
    let found: Vec<String> = tones
        .iter()
        .filter(|&&hz| samples_have_tone(s, f64::from(hz), 0.1))
        .map(|hz| format!("{hz} Hz"))
        .collect();
    format!("[{}] (rms {:.3})", found.join(", "), rms(s))
}

const ALL: [u32; 4] = [CUSTOMER_TONE, AGENT_TONE, THIRD_TONE, SUPERVISOR_TONE];

/// Hears `want` (each of them) and none of `not`.
fn assert_hears(who: &str, s: &Samples, want: &[u32], not: &[u32], when: &str) {
    for &hz in want {
        assert!(
            has(s, hz),
            "{when}: {who} should hear {hz} Hz; hears {}",
            tones_in(s, &ALL)
        );
    }
    for &hz in not {
        assert!(
            !samples_have_tone(s, f64::from(hz), 0.1),
            "{when}: {who} should not hear {hz} Hz; hears {}",
            tones_in(s, &ALL)
        );
    }
}

/// The customer hangs up; every phone still on the call closes.
fn customer_hangs_up(customer: &mut Baresip, others: &mut [&mut Baresip], callbox: &Callbox) {
    customer.hangup().unwrap();
    customer.wait_event("CALL_CLOSED", secs(5)).unwrap();
    for phone in others.iter_mut() {
        phone
            .wait_event("CALL_CLOSED", secs(5))
            .unwrap_or_else(|e| {
                panic!(
                    "a phone on the call gets a BYE when the customer hangs up: {e}\n{}",
                    callbox.log_tail()
                )
            });
    }
}

#[test]
fn a_consult_then_a_conference_lets_each_hear_the_other_two() {
    let t = TestDir::new("e2e-conference").unwrap();
    let callbox = center(&t);
    let mut desk1001 = agent_on_desk(&t, &callbox, "8001", AGENT_TONE);
    let mut desk1002 = agent_on_desk(&t, &callbox, "8002", THIRD_TONE);
    let mut customer = customer_reaches_8001(&t, &callbox, &mut desk1001);
    let (c, a) = (live_recording(&customer), live_recording(&desk1001));

    let heard = hear_now(&[&c, &a]);
    assert_hears("the customer", &heard[0], &[AGENT_TONE], &[], "talking");
    assert_hears("8001", &heard[1], &[CUSTOMER_TONE], &[], "talking");

    let bar = button(&callbox, "consult", r#"{"agent":"8002"}"#);
    assert_eq!(bar["state"], "consulting", "{bar}");
    desk1002
        .wait_event("CALL_ESTABLISHED", secs(10))
        .unwrap_or_else(|e| {
            panic!(
                "8002's phone answers the consult: {e}\n{}",
                callbox.log_tail()
            )
        });
    assert!(
        wait_until(secs(3), || agent_state(&callbox, "8002") == "talking"),
        "8002 is talking: {}",
        agent_state(&callbox, "8002")
    );
    let bar = call_bar(&callbox, "8001");
    assert_eq!(bar["state"], "consulting", "{bar}");
    assert!(
        bar["third"].to_string().contains("8002"),
        "the call bar names the third party: {bar}"
    );
    let third = live_recording(&desk1002);
    let heard = hear_now(&[&c, &a, &third]);
    let when = "consulting, 8002 answered";
    assert_hears(
        "the customer",
        &heard[0],
        &[],
        &[AGENT_TONE, THIRD_TONE],
        when,
    );
    assert!(
        rms(&heard[0]) > 0.01,
        "{when}: the customer hears music, not silence (rms {})",
        rms(&heard[0])
    );
    assert_hears("8001", &heard[1], &[THIRD_TONE], &[CUSTOMER_TONE], when);
    assert_hears("8002", &heard[2], &[AGENT_TONE], &[CUSTOMER_TONE], when);

    let bar = button(&callbox, "conference", "{}");
    assert_eq!(bar["state"], "conference", "{bar}");
    assert_eq!(call_bar(&callbox, "8001")["state"], "conference");
    let heard = hear_now(&[&c, &a, &third]);
    let when = "in conference";
    assert_hears(
        "the customer",
        &heard[0],
        &[AGENT_TONE, THIRD_TONE],
        &[CUSTOMER_TONE],
        when,
    );
    assert_hears(
        "8001",
        &heard[1],
        &[CUSTOMER_TONE, THIRD_TONE],
        &[AGENT_TONE],
        when,
    );
    assert_hears(
        "8002",
        &heard[2],
        &[CUSTOMER_TONE, AGENT_TONE],
        &[THIRD_TONE],
        when,
    );

    customer_hangs_up(&mut customer, &mut [&mut desk1001, &mut desk1002], &callbox);
    callbox.ended_call(1, Duration::from_secs(5));
    customer.quit();
    desk1001.quit();
    desk1002.quit();
    assert!(callbox.stop().is_some(), "the daemon stops on SIGTERM");
}

/// Half-second windows of `s`: (has `a`, has `b`) each.
fn windows(s: &Samples, a: u32, b: u32) -> Vec<(bool, bool)> {
    let len = (s.rate / 2) as usize;
    s.data
        .chunks_exact(len)
        .map(|w| {
            let w = Samples {
                rate: s.rate,
                data: w.to_vec(),
            };
            (
                samples_have_tone(&w, f64::from(a), 0.3),
                samples_have_tone(&w, f64::from(b), 0.3),
            )
        })
        .collect()
}

#[test]
fn completing_the_transfer_leaves_customer_and_third_party_talking() {
    let t = TestDir::new("e2e-attended-transfer").unwrap();
    let callbox = center(&t);
    let mut desk1001 = agent_on_desk(&t, &callbox, "8001", AGENT_TONE);
    let mut desk1002 = agent_on_desk(&t, &callbox, "8002", THIRD_TONE);
    let mut customer = customer_reaches_8001(&t, &callbox, &mut desk1001);
    let c = live_recording(&customer);
    // Two seconds of talk with 8001, for the recording's early part.
    let talk = heard_between(&c, pcm_len(&c) + BYTES_PER_SEC / 2, 2 * BYTES_PER_SEC);
    assert_hears("the customer", &talk, &[AGENT_TONE], &[], "talking");

    button(&callbox, "consult", r#"{"agent":"8002"}"#);
    desk1002
        .wait_event("CALL_ESTABLISHED", secs(10))
        .unwrap_or_else(|e| {
            panic!(
                "8002's phone answers the consult: {e}\n{}",
                callbox.log_tail()
            )
        });
    assert!(
        wait_until(secs(3), || agent_state(&callbox, "8002") == "talking"),
        "8002 is talking: {}",
        agent_state(&callbox, "8002")
    );
    let third = live_recording(&desk1002);
    let heard = hear_now(&[&third]);
    assert_hears(
        "8002",
        &heard[0],
        &[AGENT_TONE],
        &[CUSTOMER_TONE],
        "consulting",
    );

    button(&callbox, "complete-transfer", "{}");
    desk1001
        .wait_event("CALL_CLOSED", secs(5))
        .unwrap_or_else(|e| {
            panic!(
                "8001's phone gets a BYE on complete-transfer: {e}\n{}",
                callbox.log_tail()
            )
        });
    let bar = call_bar(&callbox, "8002");
    assert_eq!(bar["state"], "talking", "8002's call bar: {bar}");
    let heard = hear_now(&[&c, &third]);
    let when = "after complete-transfer";
    assert_hears(
        "the customer",
        &heard[0],
        &[THIRD_TONE],
        &[AGENT_TONE],
        when,
    );
    assert_hears("8002", &heard[1], &[CUSTOMER_TONE], &[AGENT_TONE], when);
    // A little more talk, for the recording's late part.
    let _ = heard_between(&c, pcm_len(&c), BYTES_PER_SEC);

    customer_hangs_up(&mut customer, &mut [&mut desk1002], &callbox);
    let call = callbox.ended_call(1, Duration::from_secs(5));
    let id8002 = callbox.store().agent_by_number("8002").unwrap().unwrap().0;
    assert_eq!(call.agent, Some(id8002), "the row names 8002: {call:?}");

    let recording = callbox
        .data_dir
        .join(call.recording.clone().expect("recorded"));
    assert!(
        wait_until(secs(5), || callbox
            .store()
            .recording_seconds(&recording)
            .ok()
            .flatten()
            .is_some()),
        "the recording is closed: {call:?}\n{}",
        callbox.log_tail()
    );
    let right = read_channel(&recording, 1).unwrap();
    let w = windows(&right, AGENT_TONE, THIRD_TONE);
    let first_agent = w.iter().position(|x| x.0);
    let last_agent = w.iter().rposition(|x| x.0);
    let first_third = w.iter().position(|x| x.1);
    let tail = &w[w.len().saturating_sub(3)..w.len().saturating_sub(1)];
    assert!(
        first_agent.is_some() && first_third.is_some() && last_agent < first_third,
        "the right channel has 1000 Hz early and 1700 Hz late (0.5 s windows, \
         (1000, 1700)): {w:?}"
    );
    assert!(
        tail.iter().all(|x| x.1 && !x.0),
        "the recording ends on 8002 alone: {w:?}"
    );
    customer.quit();
    desk1001.quit();
    desk1002.quit();
    assert!(callbox.stop().is_some(), "the daemon stops on SIGTERM");
}

#[test]
fn a_whisper_reaches_the_agent_and_not_the_customer() {
    let t = TestDir::new("e2e-whisper").unwrap();
    let callbox = center(&t);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_callbox"))
        .args(["agent", "supervisor", "8004", "on", "--config"])
        .arg(t.path().join("callbox.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "8004 becomes a supervisor: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        wait_log_line(
            &t.path().join("callbox.stderr"),
            "the configuration changed",
            secs(5)
        ),
        "the daemon reloads after the CLI: {}",
        callbox.log_tail()
    );
    let mut desk1001 = agent_on_desk(&t, &callbox, "8001", AGENT_TONE);
    let mut desk1004 = agent_on_desk(&t, &callbox, "8004", SUPERVISOR_TONE);
    let mut customer = customer_reaches_8001(&t, &callbox, &mut desk1001);
    let (c, a) = (live_recording(&customer), live_recording(&desk1001));

    let supervise = "/api/v1/agents/8004/supervise";
    post(&callbox, supervise, r#"{"agent":"8001","mode":"whisper"}"#);
    desk1004
        .wait_event("CALL_ESTABLISHED", secs(10))
        .unwrap_or_else(|e| {
            panic!(
                "the supervisor's phone answers: {e}\n{}",
                callbox.log_tail()
            )
        });
    assert!(
        wait_until(secs(3), || call_bar(&callbox, "8001")["supervisor"]["mode"]
            == "whisper"),
        "the call bar shows the whisper: {}",
        call_bar(&callbox, "8001")
    );
    let bar = call_bar(&callbox, "8001");
    assert!(
        bar["supervisor"]["who"].to_string().contains("8004"),
        "the call bar names the supervisor: {bar}"
    );
    let s = live_recording(&desk1004);
    let heard = hear_now(&[&c, &a, &s]);
    let when = "8004 whispering";
    assert_hears(
        "the customer",
        &heard[0],
        &[AGENT_TONE],
        &[SUPERVISOR_TONE],
        when,
    );
    assert_hears(
        "8001",
        &heard[1],
        &[CUSTOMER_TONE, SUPERVISOR_TONE],
        &[AGENT_TONE],
        when,
    );
    assert_hears(
        "8004",
        &heard[2],
        &[CUSTOMER_TONE, AGENT_TONE],
        &[SUPERVISOR_TONE],
        when,
    );

    let bar = post(&callbox, supervise, r#"{"agent":"8001","mode":"barge"}"#);
    assert_eq!(bar["supervisor"]["mode"], "barge", "{bar}");
    let heard = hear_now(&[&c, &a, &s]);
    let when = "8004 barged in";
    assert_hears(
        "the customer",
        &heard[0],
        &[AGENT_TONE, SUPERVISOR_TONE],
        &[CUSTOMER_TONE],
        when,
    );
    assert_hears(
        "8001",
        &heard[1],
        &[CUSTOMER_TONE, SUPERVISOR_TONE],
        &[AGENT_TONE],
        when,
    );
    assert_hears(
        "8004",
        &heard[2],
        &[CUSTOMER_TONE, AGENT_TONE],
        &[SUPERVISOR_TONE],
        when,
    );

    post(&callbox, "/api/v1/agents/8004/supervise/stop", "{}");
    desk1004
        .wait_event("CALL_CLOSED", secs(5))
        .unwrap_or_else(|e| {
            panic!(
                "the supervisor's phone gets a BYE on stop: {e}\n{}",
                callbox.log_tail()
            )
        });
    customer_hangs_up(&mut customer, &mut [&mut desk1001], &callbox);
    callbox.ended_call(1, Duration::from_secs(5));

    let audit = wait_for(secs(5), || {
        let rows = callbox.store().audit_log(50).ok()?;
        let by = |action: &str| {
            rows.iter()
                .any(|r| r.actor == "8004" && r.action == action && r.call.map(|c| c.0) == Some(1))
        };
        (by("whisper") && by("barge")).then_some(rows)
    })
    .unwrap_or_else(|| {
        panic!(
            "audit_log has whisper and barge by 8004 on call 1: {:#?}",
            callbox.store().audit_log(50)
        )
    });
    assert!(
        audit.iter().all(|r| r.actor == "8004"),
        "only 8004 supervised: {audit:#?}"
    );
    customer.quit();
    desk1001.quit();
    desk1004.quit();
    assert!(callbox.stop().is_some(), "the daemon stops on SIGTERM");
}
