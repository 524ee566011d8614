//! The ACD end to end: a carrier (sipp) calls the service number, the caller waits in
//! the skill group's queue, the longest-idle agent's desk phone (baresip) rings and
//! answers, audio flows both ways and is recorded, and after the hang-up the agent
//! goes through wrap-up back to idle. Agents log in over the API and `callbox why`
//! explains an agent outside every group, as an admin would ask it.

mod common;

use std::time::Duration;

use callbox::core::{Language, Strategy};
use callbox::store::NewGroup;
use common::TestDir;
use common::audio::{has_tone, read_channel, wav_duration};
use common::baresip::Baresip;
use common::callbox::{Callbox, Prepared};
use common::center::{self, CARRIER_IP, agent, agent_state, carrier, desk, desk_phone};
use common::http::json;
use common::sipp::Sipp;
use common::wait::{secs, wait_for, wait_until};

const SERVICE: &str = "4008001234";

/// 1001 and 1002 are desk phones of agents 8001 and 8002 (售前, longest idle, 2 s of
/// wrap-up); 8003 is in no group. The phones send 700 and 1300 Hz.
struct CallCenter {
    callbox: Callbox,
    phones: Vec<Baresip>,
}

fn call_center(t: &TestDir) -> CallCenter {
    let mut p = Prepared::new(t.path()).unwrap();
    let phones = [desk(&mut p.store, "1001"), desk(&mut p.store, "1002")];
    let trunk = carrier(&mut p.store, 5999);
    p.store.add_service_number(SERVICE, trunk, None).unwrap();
    let mut group = NewGroup::new("售前");
    group.strategy = Strategy::LongestIdle;
    group.wrap_up = Duration::from_secs(2);
    let sales = p.store.add_group(&group).unwrap();
    p.store
        .set_service_number_queue(SERVICE, Some(sales), 0, Language::ZhCn)
        .unwrap();
    for (i, number) in ["8001", "8002", "8003"].iter().enumerate() {
        let direct = format!("1380013800{}", i + 1);
        let id = agent(&mut p.store, number, phones.get(i).copied(), Some(&direct));
        if i < 2 {
            p.store.add_member(sales, id, 1).unwrap();
        }
    }
    let callbox = p.start().unwrap();
    let phones = vec![
        desk_phone(t, &callbox, "1001", 700),
        desk_phone(t, &callbox, "1002", 1300),
    ];
    CallCenter { callbox, phones }
}

fn login(callbox: &Callbox, number: &str, mode: &str) {
    let body = center::login(callbox, number, Some(mode));
    assert_eq!(body["state"], "idle");
    assert_eq!(body["state_zh"], "空闲");
}

#[test]
fn a_queue_call_reaches_the_longest_idle_agent_with_audio_and_ends_in_wrap_up() {
    let t = TestDir::new("e2e-acd").unwrap();
    let CallCenter {
        callbox,
        mut phones,
    } = call_center(&t);
    login(&callbox, "8002", "device");
    login(&callbox, "8001", "device");

    let carrier = Sipp::scenario("carrier", "trunk_call.xml", t.path())
        .remote(callbox.sip)
        .local_ip(CARRIER_IP)
        .service(SERVICE)
        .duration_ms(3000)
        .timeout(Duration::from_secs(30))
        .spawn()
        .unwrap();
    let answered = phones[1]
        .wait_event("CALL_ESTABLISHED", secs(10))
        .unwrap_or_else(|e| panic!("8002's phone should ring: {e}\n{}", callbox.log_tail()));
    assert!(
        answered.peer_uri.contains("carrier"),
        "8002's phone sees the customer: {answered:?}"
    );
    assert!(
        wait_until(secs(3), || agent_state(&callbox, "8002") == "talking"),
        "8002 is talking"
    );
    assert_eq!(agent_state(&callbox, "8001"), "idle", "8001 was not rung");

    let outcome = carrier.finish(secs(30));
    assert!(
        outcome.all_ok(),
        "{}\n{}",
        outcome.describe(),
        callbox.log_tail()
    );
    phones[1].wait_event("CALL_CLOSED", secs(5)).unwrap();
    assert!(
        wait_until(secs(3), || agent_state(&callbox, "8002") == "wrap_up"),
        "after the call 8002 is in after-call work"
    );
    assert!(
        wait_until(secs(5), || agent_state(&callbox, "8002") == "idle"),
        "2 s later 8002 is idle again"
    );
    assert!(
        phones[0].wait_event("CALL_INCOMING", secs(0)).is_err(),
        "8001's phone never rang: {}",
        phones[0].context()
    );

    // The agent heard the customer (sipp's A-law speech), not themselves.
    let heard = phones[1].wait_recording(secs(5)).unwrap();
    let speech = read_channel(&heard, 0).unwrap();
    let loud = speech.data.iter().filter(|s| s.abs() > 0.05).count();
    assert!(loud > 1600, "8002 heard the customer ({loud} loud samples)");
    assert!(!has_tone(&heard, 0, 1300.0).unwrap(), "8002 heard itself");

    let call = callbox.ended_call(1, Duration::from_secs(5));
    assert_eq!(call.group.map(|g| g.0), Some(1));
    let agent = callbox.store().agent_by_number("8002").unwrap().unwrap().0;
    assert_eq!(call.agent, Some(agent), "the call row names the agent");
    assert_eq!(call.hangup_by.map(|h| h.as_str()), Some("caller"));
    let kinds = callbox.trail_kinds(1);
    assert_eq!(
        &kinds[..4],
        ["offered", "queued", "agent_offered", "answered"],
        "{kinds:?}"
    );
    // The recording holds the agent's tone on the right, the customer on the left.
    let recording = callbox.data_dir.join(call.recording.expect("recorded"));
    assert!(wait_until(secs(5), || callbox
        .store()
        .recording_seconds(&recording)
        .ok()
        .flatten()
        .is_some()));
    assert!(wav_duration(&recording).unwrap() >= 2.0);
    assert!(has_tone(&recording, 1, 1300.0).unwrap(), "right: the agent");
    assert!(
        !has_tone(&recording, 0, 1300.0).unwrap(),
        "left: the customer only"
    );

    // `callbox why call` tells who was offered the call and who took it.
    let (ok, text) = cli(&t, &["why", "call", "1"]);
    assert!(ok, "{text}");
    assert!(
        text.contains("queued") && text.contains("8001 free"),
        "{text}"
    );
    assert!(text.contains("rang agent 8002"), "{text}");

    // The status log tells the whole story, in order.
    let store = callbox.store();
    let log = wait_for(secs(3), || {
        let rows = store.agent_status_log(agent, 20).ok()?;
        (rows.len() >= 5).then_some(rows)
    })
    .expect("five status rows for 8002");
    let states: Vec<&str> = log.iter().map(|r| r.to.as_str()).collect();
    assert_eq!(states, ["idle", "ringing", "talking", "wrap_up", "idle"]);
    for pair in log.windows(2) {
        assert_eq!(
            pair[0].to, pair[1].from,
            "each row starts where the last ended"
        );
    }
}

#[test]
fn why_names_the_reason_for_an_agent_outside_every_group() {
    let t = TestDir::new("e2e-why").unwrap();
    let CallCenter { callbox, .. } = call_center(&t);
    // 8003 has no desk phone: logging in on one is refused, on the direct line works.
    let (code, body) = json(
        callbox.http,
        "POST",
        "/api/v1/agents/8003/login",
        r#"{"mode":"device"}"#,
    );
    assert_eq!(code, 409, "{body}");
    assert_eq!(body["field"], "mode");
    login(&callbox, "8003", "direct");
    let config = t.path().join("callbox.toml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_callbox"))
        .args(["why", "agent", "8003", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("agent 8003: does not get calls"), "{text}");
    assert!(text.contains("not a member of any skill group"), "{text}");

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_callbox"))
        .args(["why", "agent", "8001", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("agent 8001 in 售前: does not get calls"),
        "{text}"
    );
    assert!(text.contains("logged out"), "{text}");

    let (code, body) = json(
        callbox.http,
        "POST",
        "/api/v1/agents/8001/state",
        r#"{"state":"sleeping"}"#,
    );
    assert_eq!(code, 400);
    assert_eq!(body["field"], "state");
    let (code, body) = json(callbox.http, "POST", "/api/v1/agents/9999/login", "{}");
    assert_eq!(code, 404, "{body}");
}

fn cli(t: &TestDir, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_callbox"))
        .args(args)
        .arg("--config")
        .arg(t.path().join("callbox.toml"))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn an_agent_added_from_the_command_line_takes_calls_without_a_restart() {
    let t = TestDir::new("e2e-provision").unwrap();
    let CallCenter { callbox, .. } = call_center(&t);
    let (ok, text) = cli(
        &t,
        &[
            "group",
            "add",
            "售后",
            "--strategy",
            "round-robin",
            "--wrap-up",
            "5",
        ],
    );
    assert!(ok, "{text}");
    let (ok, text) = cli(
        &t,
        &[
            "agent",
            "add",
            "8009",
            "王五",
            "--password",
            "secret-pw",
            "--direct",
            "13800138009",
            "--group",
            "售后:2",
        ],
    );
    assert!(ok, "{text}");
    // A bad value is refused with the field named, and nothing is added.
    let (ok, text) = cli(
        &t,
        &["agent", "add", "80x9", "赵六", "--password", "secret-pw"],
    );
    assert!(!ok);
    assert!(text.contains("number"), "{text}");

    // The daemon picks the new agent up by itself within a few seconds.
    let logged_in = wait_until(secs(5), || {
        let (code, _) = json(
            callbox.http,
            "POST",
            "/api/v1/agents/8009/login",
            r#"{"mode":"direct"}"#,
        );
        code == 200
    });
    assert!(
        logged_in,
        "8009 can log in without a restart\n{}",
        callbox.log_tail()
    );
    let (ok, text) = cli(&t, &["agents"]);
    assert!(ok, "{text}");
    assert!(text.contains("8009 王五  idle (空闲)  direct"), "{text}");
    let (ok, text) = cli(&t, &["why", "agent", "8009"]);
    assert!(ok, "{text}");
    assert!(
        text.contains("agent 8009 in 售后: gets the next call"),
        "{text}"
    );
    let (ok, text) = cli(&t, &["agent", "state", "8009", "busy", "午饭"]);
    assert!(ok, "any reason goes while the admin has set none: {text}");
    assert!(text.contains("busy (忙碌: 午饭)"), "{text}");

    // Once the admin sets the reasons, only those go.
    let (ok, text) = cli(&t, &["busy-reasons", "会议", "培训"]);
    assert!(ok, "{text}");
    let refused = wait_until(secs(5), || {
        let (ok, text) = cli(&t, &["agent", "state", "8009", "busy", "午饭"]);
        !ok && text.contains("not one of the busy reasons")
    });
    assert!(refused, "a reason not on the admin's list is refused");
    let (ok, text) = cli(&t, &["agent", "state", "8009", "busy", "培训"]);
    assert!(ok, "{text}");

    // The status log shows every change with its cause.
    let (ok, text) = cli(&t, &["agent", "log", "8009"]);
    assert!(ok, "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].contains("offline → idle  [agent · direct]"),
        "{text}"
    );
    assert!(lines[2].contains("busy → busy (培训)"), "{text}");
}

#[test]
fn agents_stay_logged_in_across_a_restart_and_a_cut_call_is_closed_in_their_log() {
    let t = TestDir::new("e2e-restart").unwrap();
    let CallCenter {
        callbox,
        mut phones,
    } = call_center(&t);
    login(&callbox, "8001", "device");
    login(&callbox, "8002", "device");
    let (code, body) = json(
        callbox.http,
        "POST",
        "/api/v1/agents/8001/state",
        r#"{"state":"busy","reason":"会议"}"#,
    );
    assert_eq!(code, 200, "{body}");

    // 8002 is talking to a customer when the box is killed.
    let carrier = Sipp::scenario("carrier", "trunk_call.xml", t.path())
        .remote(callbox.sip)
        .local_ip(CARRIER_IP)
        .service(SERVICE)
        .duration_ms(20000)
        .timeout(Duration::from_secs(30))
        .spawn()
        .unwrap();
    phones[1].wait_event("CALL_ESTABLISHED", secs(10)).unwrap();
    assert!(wait_until(secs(3), || agent_state(&callbox, "8002") == "talking"));
    // The kill comes once the "talking" row is on disk (the writer batches rows;
    // what a crash between two batches costs is the appliance issue's to measure).
    let on_disk = callbox.store();
    let id = on_disk.agent_by_number("8002").unwrap().unwrap().0;
    assert!(wait_until(secs(3), || {
        on_disk
            .agent_status_log(id, 1)
            .ok()
            .and_then(|rows| rows.last().map(|r| r.to.as_str() == "talking"))
            .unwrap_or(false)
    }));
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &callbox.pid().to_string()])
        .status();
    drop(carrier);
    drop(callbox);

    let restarted = Prepared::new(t.path()).unwrap().start().unwrap();
    assert_eq!(
        agent_state(&restarted, "8001"),
        "busy",
        "still busy after the restart"
    );
    assert_eq!(
        agent_state(&restarted, "8002"),
        "idle",
        "logged in, and free again"
    );
    let store = restarted.store();
    let log = wait_for(secs(3), || {
        let rows = store.agent_status_log(id, 10).ok()?;
        (rows.last()?.from.as_str() == "talking").then_some(rows)
    })
    .expect("the restart closes 8002's cut call in the log");
    let last = log.last().unwrap();
    assert_eq!(last.from.as_str(), "talking");
    assert_eq!(
        last.detail,
        "callbox restarted; the call in progress was cut"
    );
    for pair in log.windows(2) {
        assert_eq!(pair[0].to, pair[1].from, "the log stays one chain");
    }
    let call = restarted.ended_call(1, Duration::from_secs(5));
    assert_eq!(
        call.end_cause.as_deref().map(|c| c.contains("interrupted")),
        Some(true),
        "{call:?}"
    );
}

#[test]
fn an_agent_answering_on_their_own_softphone_login_gets_the_queue_call() {
    let t = TestDir::new("e2e-softphone").unwrap();
    let mut p = Prepared::new(t.path()).unwrap();
    let trunk = carrier(&mut p.store, 5999);
    p.store.add_service_number(SERVICE, trunk, None).unwrap();
    let sales = p.store.add_group(&NewGroup::new("售前")).unwrap();
    p.store
        .set_service_number_queue(SERVICE, Some(sales), 0, Language::ZhCn)
        .unwrap();
    // 8005 has no desk phone: a softphone logs in with the agent number itself.
    let id = p
        .store
        .add_agent(&callbox::store::NewAgent {
            number: "8005".into(),
            name: "王五".into(),
            web_password: "secret-pw".into(),
            sip_password: Some("soft-8005".into()),
            direct_number: None,
            bound_device: None,
            answer_mode: callbox::core::AnswerMode::Softphone,
            offline_answering: false,
            allow_fallback: false,
            confirm_direct: true,
        })
        .unwrap();
    p.store.add_member(sales, id, 1).unwrap();
    let callbox = p.start().unwrap();
    let mut softphone = common::baresip::Baresip::start(
        common::baresip::BaresipOpts::new("softphone")
            .user("8005")
            .register(callbox.sip, "soft-8005")
            .tone(1100)
            .answer(common::baresip::AnswerMode::Auto),
        t.path(),
    )
    .unwrap();
    softphone.wait_registered(secs(5)).unwrap();
    let body = center::login(&callbox, "8005", None);
    assert_eq!(
        body["mode"], "softphone",
        "the agent's own mode is the default"
    );

    let customer = Sipp::scenario("customer", "trunk_call.xml", t.path())
        .remote(callbox.sip)
        .local_ip(CARRIER_IP)
        .service(SERVICE)
        .duration_ms(1500)
        .timeout(Duration::from_secs(30))
        .spawn()
        .unwrap();
    softphone
        .wait_event("CALL_ESTABLISHED", secs(10))
        .unwrap_or_else(|e| panic!("the softphone rings: {e}\n{}", callbox.log_tail()));
    let outcome = customer.finish(secs(30));
    assert!(outcome.all_ok(), "{}", outcome.describe());
    let call = callbox.ended_call(1, Duration::from_secs(5));
    assert_eq!(call.agent, Some(id));
}
