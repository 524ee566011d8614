//! Blind transfer and the agent's own calls end to end: a customer (a baresip the
//! carrier takes calls from, sending 400 Hz) reaches agent 8001 (desk phone 1001,
//! 1000 Hz) through the queue of 售后服务 and is passed to agent 8002 (desk phone
//! 1002, 1700 Hz) from the call bar's HTTP button or the phone's own transfer
//! button (an in-dialog REFER); an agent's desk phone dials 9 + an outside number
//! through the carrier (sipp at 127.0.0.2); and `GET /api/v1/agents/{n}/calls`
//! lists what the store has, refusing bad query parameters by name.
//!
//! The tricky part: a baresip recording's header is written only when the call
//! closes, so audio heard while the call goes on is read from the raw file by
//! byte offset (8 kHz mono 16-bit: 16000 bytes a second) between two moments;
//! the box's own recording is read once the store has its length (it is closed).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use callbox::core::{CallId, Language};
use callbox::store::NewGroup;
use common::TestDir;
use common::audio::{Samples, read_channel};
use common::baresip::{AnswerMode, Baresip, BaresipOpts};
use common::callbox::{Callbox, Prepared};
use common::center::{self, CARRIER_IP, agent, agent_state, agent_view, carrier, desk};
use common::http::json;
use common::live::{BYTES_PER_SEC, has, heard_between, live_recording, pcm_len, rms};
use common::ports;
use common::sipp::{Sipp, SippRun};
use common::wait::{secs, wait_for, wait_until};

const SERVICE: &str = "4008001234";
const CUSTOMER_TONE: u32 = 400;
const TONE_8001: u32 = 1000;
const TONE_8002: u32 = 1700;
/// 8 kHz mono 16-bit.
/// After-call work of 售后服务, long enough to be seen.
const WRAP_UP_SECS: u64 = 3;

/// 8001 (desk phone 1001) is the only member of 售后服务, whose queue the service
/// number leads to; 8002 (desk phone 1002) is in no group; 8003 has no phone and
/// takes calls on a direct line. The carrier listens for outbound calls on
/// `carrier_port` at `CARRIER_IP`; with `softphone_customer` it also takes calls
/// from 127.0.0.1, where the customer's baresip is.
struct Center {
    callbox: Callbox,
    carrier_port: u16,
}

fn center(t: &TestDir, softphone_customer: bool) -> Center {
    let mut p = Prepared::new(t.path()).unwrap();
    let phone1 = desk(&mut p.store, "1001");
    let phone2 = desk(&mut p.store, "1002");
    let carrier_port = ports::free_port();
    let trunk = if softphone_customer {
        center::carrier_for_softphones(&mut p.store, carrier_port)
    } else {
        carrier(&mut p.store, carrier_port)
    };
    p.store.add_service_number(SERVICE, trunk, None).unwrap();
    let mut group = NewGroup::new("售后服务");
    group.wrap_up = Duration::from_secs(WRAP_UP_SECS);
    let group = p.store.add_group(&group).unwrap();
    p.store
        .set_service_number_queue(SERVICE, Some(group), 0, Language::ZhCn)
        .unwrap();
    let id = agent(&mut p.store, "8001", Some(phone1), None);
    p.store.add_member(group, id, 1).unwrap();
    agent(&mut p.store, "8002", Some(phone2), None);
    agent(&mut p.store, "8003", None, Some("13800138003"));
    let callbox = p.start().unwrap();
    Center {
        callbox,
        carrier_port,
    }
}

fn desk_phone(
    t: &TestDir,
    callbox: &Callbox,
    user: &str,
    tone: u32,
    answer: AnswerMode,
) -> Baresip {
    let mut phone = Baresip::start(
        BaresipOpts::new(&format!("desk{user}"))
            .user(user)
            .register(callbox.sip, &format!("pw-{user}"))
            .tone(tone)
            .answer(answer),
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

/// A call-bar button of `agent`; (status, body).
fn button(callbox: &Callbox, agent: &str, name: &str, body: &str) -> (u16, serde_json::Value) {
    json(
        callbox.http,
        "POST",
        &format!("/api/v1/agents/{agent}/call/{name}"),
        body,
    )
}

fn call_bar(callbox: &Callbox, agent: &str) -> serde_json::Value {
    let (code, answer) = json(
        callbox.http,
        "GET",
        &format!("/api/v1/agents/{agent}/call"),
        "",
    );
    assert_eq!(code, 200, "{answer}\n{}", callbox.log_tail());
    answer
}

fn agent_calls(callbox: &Callbox, agent: &str, query: &str) -> (u16, serde_json::Value) {
    json(
        callbox.http,
        "GET",
        &format!("/api/v1/agents/{agent}/calls{query}"),
        "",
    )
}

/// The second of audio that starts half a second from now in `path`.
fn next_second(path: &Path) -> Samples {
    let from = pcm_len(path);
    heard_between(path, from + BYTES_PER_SEC / 2, BYTES_PER_SEC)
}

fn agent_id(callbox: &Callbox, number: &str) -> callbox::core::AgentId {
    callbox.store().agent_by_number(number).unwrap().unwrap().0
}

/// The box's recording of a closed call, once the store has its length.
fn closed_recording(callbox: &Callbox, relative: &Path) -> PathBuf {
    let path = callbox.data_dir.join(relative);
    assert!(
        wait_until(secs(5), || callbox
            .store()
            .recording_seconds(&path)
            .ok()
            .flatten()
            .is_some()),
        "the recording {} was closed and its length stored\n{}",
        path.display(),
        callbox.log_tail()
    );
    path
}

/// The first and last `secs` seconds of a channel.
fn ends(s: &Samples, secs: f64) -> (Samples, Samples) {
    let n = ((f64::from(s.rate) * secs) as usize).min(s.data.len());
    let first = Samples {
        rate: s.rate,
        data: s.data[..n].to_vec(),
    };
    let last = Samples {
        rate: s.rate,
        data: s.data[s.data.len() - n..].to_vec(),
    };
    (first, last)
}

/// The customer dials the service number; 8001's phone answers by itself.
/// Returns the live recordings of what the customer and 8001 hear.
fn customer_reaches_8001(
    callbox: &Callbox,
    customer: &mut Baresip,
    desk1: &mut Baresip,
) -> (PathBuf, PathBuf) {
    customer
        .dial(&format!("sip:{SERVICE}@{}", callbox.sip))
        .unwrap();
    desk1
        .wait_event("CALL_ESTABLISHED", secs(15))
        .unwrap_or_else(|e| panic!("8001's phone answers: {e}\n{}", callbox.log_tail()));
    assert!(
        wait_until(secs(3), || agent_state(callbox, "8001") == "talking"),
        "8001 is talking: {}\n{}",
        agent_state(callbox, "8001"),
        callbox.log_tail()
    );
    let heard = live_recording(customer);
    let heard_1001 = live_recording(desk1);
    let talk = next_second(&heard);
    assert!(
        has(&talk, TONE_8001),
        "the customer hears 8001's 1000 Hz (rms {})",
        rms(&talk)
    );
    let talk = next_second(&heard_1001);
    assert!(
        has(&talk, CUSTOMER_TONE),
        "8001 hears the customer's 400 Hz (rms {})",
        rms(&talk)
    );
    (heard, heard_1001)
}

/// After the blind transfer: 8001's phone gets a BYE and 8001 goes to after-call
/// work.
fn transfer_lets_8001_go(callbox: &Callbox, desk1: &mut Baresip) {
    desk1
        .wait_event("CALL_CLOSED", secs(5))
        .unwrap_or_else(|e| panic!("8001's phone gets a BYE: {e}\n{}", callbox.log_tail()));
    assert!(
        wait_until(secs(2), || agent_state(callbox, "8001") == "wrap_up"),
        "8001 is in after-call work: {}",
        agent_view(callbox, "8001")
    );
}

/// Then 8002's phone rings and is answered by hand, the customer hears 1700 Hz and
/// 8002 hears the customer. Returns what 8002 hears.
fn transfer_lands_on_8002(callbox: &Callbox, heard: &Path, desk2: &mut Baresip) -> PathBuf {
    let ringing = desk2
        .wait_event("CALL_INCOMING", secs(10))
        .unwrap_or_else(|e| panic!("8002's phone rings: {e}\n{}", callbox.log_tail()));
    assert!(
        wait_until(secs(3), || agent_state(callbox, "8002") == "ringing"),
        "8002 is ringing: {} ({ringing:?})",
        agent_state(callbox, "8002")
    );
    // While 8002's phone rings the customer hears the box (prompt, music), not 8001.
    let waiting = heard_between(heard, pcm_len(heard), BYTES_PER_SEC);
    assert!(
        !has(&waiting, TONE_8001),
        "after the transfer the customer no longer hears 8001"
    );
    desk2.answer().unwrap();
    desk2
        .wait_event("CALL_ESTABLISHED", secs(5))
        .unwrap_or_else(|e| panic!("8002's phone answers: {e}\n{}", callbox.log_tail()));
    assert!(
        wait_until(secs(3), || agent_state(callbox, "8002") == "talking"),
        "8002 is talking: {}",
        agent_state(callbox, "8002")
    );
    let talk = next_second(heard);
    assert!(
        has(&talk, TONE_8002),
        "the customer hears 8002's 1700 Hz (rms {})\n{}",
        rms(&talk),
        callbox.log_tail()
    );
    assert!(!has(&talk, TONE_8001), "and not 8001's 1000 Hz");
    let heard_1002 = live_recording(desk2);
    let talk = next_second(&heard_1002);
    assert!(
        has(&talk, CUSTOMER_TONE),
        "8002 hears the customer's 400 Hz (rms {})",
        rms(&talk)
    );
    heard_1002
}

#[test]
fn a_blind_transfer_from_the_call_bar_reaches_the_other_agent_with_one_recording() {
    let t = TestDir::new("e2e-transfer").unwrap();
    let Center { callbox, .. } = center(&t, true);
    let mut desk1 = desk_phone(&t, &callbox, "1001", TONE_8001, AnswerMode::Auto);
    let mut desk2 = desk_phone(&t, &callbox, "1002", TONE_8002, AnswerMode::Manual);
    center::login(&callbox, "8001", Some("device"));
    center::login(&callbox, "8002", Some("device"));
    center::login(&callbox, "8003", Some("direct"));
    let (code, body) = json(
        callbox.http,
        "POST",
        "/api/v1/agents/8003/state",
        r#"{"state":"rest"}"#,
    );
    assert_eq!(code, 200, "8003 takes a rest: {body}");
    assert_eq!(agent_state(&callbox, "8003"), "rest");

    let mut customer = customer_phone(&t);
    let (heard, heard_1001) = customer_reaches_8001(&callbox, &mut customer, &mut desk1);

    // To an agent in rest: refused, naming the state, and nothing changes.
    let (code, body) = button(&callbox, "8001", "transfer", r#"{"agent":"8003"}"#);
    assert_eq!(code, 409, "a transfer to a resting agent: {body}");
    let words = body["error"].as_str().unwrap_or_default();
    assert!(
        words.contains("小休") && words.contains("8003"),
        "the refusal names 8003's state: {body}"
    );
    assert_eq!(call_bar(&callbox, "8001")["state"], "talking");
    assert_eq!(agent_state(&callbox, "8003"), "rest");
    let still = next_second(&heard_1001);
    assert!(
        has(&still, CUSTOMER_TONE),
        "after the refusal 8001 still hears the customer (rms {})",
        rms(&still)
    );
    let still = next_second(&heard);
    assert!(
        has(&still, TONE_8001),
        "after the refusal the customer still hears 8001 (rms {})",
        rms(&still)
    );

    let (code, body) = button(&callbox, "8001", "transfer", r#"{"agent":"8002"}"#);
    assert_eq!(
        code,
        200,
        "transfer to 8002: {body}\n{}",
        callbox.log_tail()
    );
    transfer_lets_8001_go(&callbox, &mut desk1);
    transfer_lands_on_8002(&callbox, &heard, &mut desk2);
    // A second more of talk, so the recording ends on 8002.
    let _ = next_second(&heard);

    customer.hangup().unwrap();
    customer.wait_event("CALL_CLOSED", secs(5)).unwrap();
    desk2
        .wait_event("CALL_CLOSED", secs(5))
        .unwrap_or_else(|e| panic!("8002's phone gets a BYE: {e}\n{}", callbox.log_tail()));

    let call = callbox.ended_call(1, Duration::from_secs(5));
    assert_eq!(call.agent, Some(agent_id(&callbox, "8002")), "{call:?}");
    assert_eq!(call.from_number, "13900001111", "{call:?}");
    let store = callbox.store();
    assert!(
        store.call(CallId(2)).unwrap().is_none(),
        "one row for the customer's call: {:?}",
        store.call(CallId(2))
    );
    let trail = callbox.trail(1);
    assert!(
        trail
            .iter()
            .any(|e| e.detail.contains("transferred the call to agent 8002")),
        "the trail names the transfer: {trail:#?}"
    );
    let (code, list) = agent_calls(&callbox, "8002", "");
    assert_eq!(code, 200, "{list}");
    assert_eq!(list[0]["call"], 1, "the call is on 8002's list: {list}");

    // One recording: the right channel is 8001 first, 8002 last.
    let recording = closed_recording(
        &callbox,
        call.recording.as_deref().expect("the call was recorded"),
    );
    let right = read_channel(&recording, 1).unwrap();
    let (first, last) = ends(&right, 2.0);
    assert!(
        has(&first, TONE_8001) && !has(&first, TONE_8002),
        "the recording starts with 8001 on the right"
    );
    assert!(
        has(&last, TONE_8002) && !has(&last, TONE_8001),
        "the recording ends with 8002 on the right"
    );
    let left = read_channel(&recording, 0).unwrap();
    assert!(
        has(&left, CUSTOMER_TONE),
        "the left channel is the customer"
    );

    customer.quit();
    desk1.quit();
    desk2.quit();
    assert!(callbox.stop().is_some(), "the daemon stops on SIGTERM");
}

/// The carrier as the far end of an outbound call, ringing `ring_ms` before it
/// answers; every message traced to `<name>.messages.log`.
fn carrier_uas(t: &TestDir, name: &str, port: u16, ring_ms: u64) -> (SippRun, PathBuf) {
    let log = t.path().join(format!("{name}.messages.log"));
    let run = Sipp::scenario(name, "carrier_ring_answer.xml", t.path())
        .local_ip(CARRIER_IP)
        .local_port(port)
        .duration_ms(ring_ms)
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

/// 8001's desk phone dials 9 + 13800138000 and hangs up after a second of talk;
/// everything a user would check on the way, up to the row on 8001's call list,
/// which is returned (as `GET /api/v1/agents/8001/calls` shows it).
fn desk_call_out(name: &str) -> serde_json::Value {
    let t = TestDir::new(name).unwrap();
    let Center {
        callbox,
        carrier_port,
    } = center(&t, false);
    let mut desk1 = desk_phone(&t, &callbox, "1001", TONE_8001, AnswerMode::Auto);
    center::login(&callbox, "8001", Some("device"));
    let (carrier, log) = carrier_uas(&t, "carrier", carrier_port, 2500);

    desk1
        .dial(&format!("sip:913800138000@{}", callbox.sip))
        .unwrap();
    let invite = wait_for(secs(10), || invites_seen(&log).into_iter().next())
        .unwrap_or_else(|| panic!("the carrier gets an INVITE\n{}", callbox.log_tail()));
    assert!(
        invite.contains("INVITE sip:13800138000@"),
        "the outside number is called without the 9: {invite}"
    );
    let from = invite
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("from:"))
        .unwrap_or_default();
    assert!(
        from.contains(&format!("sip:{SERVICE}@")),
        "the customer sees the service number: {from}"
    );
    // The carrier rings for 2.5 s: meanwhile 8001 is calling.
    assert!(
        wait_until(secs(2), || agent_state(&callbox, "8001") == "calling"),
        "while it rings 8001 is calling: {}",
        agent_view(&callbox, "8001")
    );
    assert_eq!(agent_view(&callbox, "8001")["state_zh"], "呼叫中");
    desk1
        .wait_event("CALL_ESTABLISHED", secs(10))
        .unwrap_or_else(|e| panic!("the carrier answers: {e}\n{}", callbox.log_tail()));
    assert!(
        wait_until(secs(3), || agent_state(&callbox, "8001") == "talking"),
        "after the answer 8001 is talking: {}",
        agent_view(&callbox, "8001")
    );
    let heard = live_recording(&desk1);
    let talk = next_second(&heard);
    assert!(
        rms(&talk) > 0.01,
        "8001 hears the far end's speech (rms {})",
        rms(&talk)
    );
    assert!(!has(&talk, TONE_8001), "8001 does not hear themselves");
    desk1.hangup().unwrap();
    desk1.wait_event("CALL_CLOSED", secs(5)).unwrap();
    let outcome = carrier.finish(secs(10));
    assert!(
        outcome.all_ok(),
        "the carrier got the BYE: {}",
        outcome.describe()
    );
    assert!(
        wait_until(secs(5), || agent_state(&callbox, "8001") == "idle"),
        "after the hang-up 8001 is idle: {}",
        agent_view(&callbox, "8001")
    );

    // The status log tells the story in order.
    let agent = agent_id(&callbox, "8001");
    let store = callbox.store();
    let read = || -> Vec<String> {
        store
            .agent_status_log(agent, 20)
            .unwrap()
            .iter()
            .map(|r| r.to.as_str().to_string())
            .collect()
    };
    // The store's writer commits on its own thread: wait for the last row.
    wait_until(secs(5), || {
        read().last().map(String::as_str) == Some("idle")
    });
    let states = read();
    let at = |s: &str| states.iter().position(|x| x == s);
    assert!(
        matches!((at("calling"), at("talking")), (Some(c), Some(t)) if c < t)
            && states.last().map(String::as_str) == Some("idle"),
        "status log: {states:?}"
    );

    // "My calls" lists it, recorded.
    let row = wait_for(secs(5), || {
        let (code, list) = agent_calls(&callbox, "8001", "");
        assert_eq!(code, 200, "{list}");
        list.as_array()
            .and_then(|l| l.first().cloned())
            .filter(|r| !r["ended_at"].is_null())
    })
    .unwrap_or_else(|| panic!("8001's call list has the call\n{}", callbox.log_tail()));
    assert_eq!(row["direction"], "outbound", "{row}");
    assert!(!row["answered_at"].is_null(), "{row}");
    let recording = row["recording"]
        .as_str()
        .unwrap_or_else(|| panic!("the call was recorded: {row}"));
    let recording = closed_recording(&callbox, Path::new(recording));
    // One channel is 8001, the other the far end (which side is which is not
    // asked here: the phone is the caller, the far end the customer).
    let left = read_channel(&recording, 0).unwrap();
    let right = read_channel(&recording, 1).unwrap();
    assert!(
        has(&left, TONE_8001) != has(&right, TONE_8001),
        "the recording holds 8001's 1000 Hz on one channel: {}",
        recording.display()
    );
    desk1.quit();
    assert!(callbox.stop().is_some(), "the daemon stops on SIGTERM");
    row
}

#[test]
fn a_desk_phone_call_out_is_the_agents_call() {
    let row = desk_call_out("e2e-desk-call-out");
    let to = row["to"].as_str().unwrap_or_default();
    assert!(to.ends_with("13800138000"), "the number called: {row}");
}

/// The number on the list should be the one called, without the outbound prefix
/// (as the INVITE to the carrier and click-to-call rows have it).
#[test]
fn a_desk_phone_call_out_is_listed_without_the_prefix() {
    let row = desk_call_out("e2e-desk-call-out-to");
    assert_eq!(row["to"], "13800138000", "{row}");
}

#[test]
fn the_agents_call_list_checks_its_parameters() {
    let t = TestDir::new("e2e-call-list").unwrap();
    let Center { callbox, .. } = center(&t, false);

    let (code, list) = agent_calls(&callbox, "8001", "?since=2020-01-01T00:00:00Z&limit=5");
    assert_eq!(code, 200, "{list}");
    assert_eq!(list, serde_json::json!([]), "no calls yet");

    for (query, field) in [
        ("?since=garbage", "since"),
        ("?until=2026-13-01T00:00:00Z", "until"),
        ("?limit=0", "limit"),
        ("?limit=many", "limit"),
        ("?limit=501", "limit"),
    ] {
        let (code, body) = agent_calls(&callbox, "8001", query);
        assert_eq!(code, 400, "{query}: {body}");
        assert_eq!(body["field"], field, "{query}: {body}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{query}: {body}"
        );
    }
    let (code, body) = agent_calls(&callbox, "9999", "");
    assert_eq!(code, 404, "an unknown agent: {body}");
    assert!(
        body["error"].as_str().unwrap_or_default().contains("9999"),
        "{body}"
    );
    assert!(callbox.stop().is_some(), "the daemon stops on SIGTERM");
}

#[test]
fn a_phones_transfer_button_blind_transfers() {
    let t = TestDir::new("e2e-refer").unwrap();
    let Center { callbox, .. } = center(&t, true);
    let mut desk1 = desk_phone(&t, &callbox, "1001", TONE_8001, AnswerMode::Auto);
    let mut desk2 = desk_phone(&t, &callbox, "1002", TONE_8002, AnswerMode::Manual);
    center::login(&callbox, "8001", Some("device"));
    center::login(&callbox, "8002", Some("device"));
    let mut customer = customer_phone(&t);
    let (heard, _) = customer_reaches_8001(&callbox, &mut customer, &mut desk1);

    // baresip's menu command `transfer <uri>` sends a REFER in the call's dialog.
    desk1
        .command("transfer", Some(&format!("sip:8002@{}", callbox.sip)))
        .unwrap_or_else(|e| panic!("the phone transfers: {e}"));
    transfer_lets_8001_go(&callbox, &mut desk1);
    transfer_lands_on_8002(&callbox, &heard, &mut desk2);

    customer.hangup().unwrap();
    customer.wait_event("CALL_CLOSED", secs(5)).unwrap();
    desk2.wait_event("CALL_CLOSED", secs(5)).unwrap();
    let call = callbox.ended_call(1, Duration::from_secs(5));
    assert_eq!(call.agent, Some(agent_id(&callbox, "8002")), "{call:?}");
    let trail = callbox.trail(1);
    assert!(
        trail
            .iter()
            .any(|e| e.detail.contains("transferred the call to agent 8002")
                && e.party.contains("transfer button")),
        "the trail names the phone's transfer: {trail:#?}"
    );
    customer.quit();
    desk1.quit();
    desk2.quit();
    assert!(callbox.stop().is_some(), "the daemon stops on SIGTERM");
}
