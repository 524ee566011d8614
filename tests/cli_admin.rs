//! The admin commands that write the database, as an admin runs them against a real
//! SQLite file: IVR flows imported and exported, service numbers and queue exits
//! pointed at them, prompts replaced by recordings (checked by decoding them), VIP
//! customers, `why call` reading a call's trail back, and the in-call controls' admin
//! commands (customers' PINs, supervisors, the audit log, an agent's calls).

mod common;

use std::path::Path;
use std::process::Command;

use callbox::core::{Codec, Language};
use callbox::store::{NewGroup, NewTrunk, Store};
use chrono::TimeZone;

fn callbox(config: &Path, args: &[&str]) -> (i32, String) {
    common::callbox::cli(config, args)
}

/// A data dir with a trunk, the service number 4008001234 and the group 售前.
fn office(dir: &Path) -> std::path::PathBuf {
    let data = dir.join("var");
    let mut store = Store::open(&data.join("callbox.db")).unwrap();
    let trunk = store
        .add_trunk(&NewTrunk {
            name: "carrier".into(),
            host: "127.0.0.2:5070".into(),
            inbound_peers: vec![],
            outbound_proxy: None,
            register: None,
            caller_id: "4000000000".into(),
            codecs: vec![Codec::Pcma],
        })
        .unwrap();
    store.add_service_number("4008001234", trunk, None).unwrap();
    store.add_group(&NewGroup::new("售前")).unwrap();
    let config = dir.join("callbox.toml");
    std::fs::write(&config, format!("data_dir = {data:?}\n")).unwrap();
    config
}

const FLOW: &str = r#"{"start": 1, "nodes": [
  {"id": 1, "type": "menu", "prompts": ["welcome_menu"],
   "choices": [{"key": "1", "next": 2}], "timeout_secs": 8, "retries": 2, "fail": 2},
  {"id": 2, "type": "queue", "group": 1}
]}"#;

#[test]
fn a_flow_is_imported_routed_to_and_exported_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let config = office(dir.path());
    let file = dir.path().join("menu.json");
    std::fs::write(&file, FLOW).unwrap();
    let (code, out) = callbox(&config, &["flow", "import", "菜单", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("flow 菜单 saved (2 nodes)"), "{out}");
    let (code, out) = callbox(&config, &["number", "flow", "4008001234", "菜单"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = callbox(&config, &["group", "exit", "售前", "*", "菜单"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = callbox(&config, &["number", "language", "4008001234", "en"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = callbox(&config, &["number", "language", "4008009999", "en"]);
    assert_ne!(code, 0, "an unknown number is refused: {out}");

    let store = Store::open(&dir.path().join("var/callbox.db")).unwrap();
    let d = store.load_directory("9").unwrap();
    let flow = &d.flows[0];
    assert_eq!(flow.name, "菜单");
    assert_eq!(d.service_numbers[0].flow, Some(flow.id));
    assert_eq!(d.service_numbers[0].language, Language::En);
    assert_eq!(d.groups[0].exit.map(|e| e.key), Some('*'));

    let (code, out) = callbox(&config, &["flow", "export", "菜单"]);
    assert_eq!(code, 0, "{out}");
    let a: serde_json::Value = serde_json::from_str(&out).unwrap();
    let b: serde_json::Value = serde_json::from_str(FLOW).unwrap();
    assert_eq!(a, b, "export gives back what was imported");

    // Re-importing under the same name replaces it; a broken one is refused whole.
    let (code, _) = callbox(&config, &["flow", "import", "菜单", file.to_str().unwrap()]);
    assert_eq!(code, 0);
    std::fs::write(&file, FLOW.replace(r#""next": 2}"#, r#""next": 9}"#)).unwrap();
    let (code, out) = callbox(&config, &["flow", "import", "坏的", file.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(
        out.contains("nodes") && out.contains('9'),
        "names the dangling node: {out}"
    );
    std::fs::write(&file, "{\"start\": 1}").unwrap();
    let (code, out) = callbox(&config, &["flow", "import", "坏的", file.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("nodes"), "{out}");
    let d = store.load_directory("9").unwrap();
    assert_eq!(d.flows.len(), 1, "nothing half-written");
}

#[test]
fn a_prompt_is_replaced_by_a_recording_that_decodes_and_not_by_one_that_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let config = office(dir.path());
    let flac = dir.path().join("welcome.flac");
    let made = Command::new("sox")
        .args(["-n", "-r", "44100", "-c", "2"])
        .arg(&flac)
        .args(["synth", "2", "sine", "600"])
        .status()
        .unwrap();
    assert!(made.success());
    let (code, out) = callbox(
        &config,
        &["prompt", "set", "welcome_menu", flac.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("(2.0 s)"), "{out}");
    let store = Store::open(&dir.path().join("var/callbox.db")).unwrap();
    let d = store.load_directory("9").unwrap();
    let p = &d.prompt_files[0];
    assert_eq!(
        (p.language, p.name.as_str()),
        (Language::ZhCn, "welcome_menu")
    );
    assert!(
        p.file.starts_with(dir.path().join("var/prompts/zh-CN")),
        "{}",
        p.file.display()
    );
    assert!(
        p.file.exists(),
        "the recording is kept in the data directory"
    );

    let junk = dir.path().join("junk.mp3");
    std::fs::write(&junk, b"not a recording").unwrap();
    let (code, out) = callbox(
        &config,
        &[
            "prompt",
            "set",
            "goodbye",
            junk.to_str().unwrap(),
            "--language",
            "en",
        ],
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("cannot be played"), "{out}");
    assert_eq!(store.load_directory("9").unwrap().prompt_files.len(), 1);

    let (code, out) = callbox(&config, &["prompt", "reset", "welcome_menu"]);
    assert_eq!(code, 0, "{out}");
    assert!(store.load_directory("9").unwrap().prompt_files.is_empty());
}

#[test]
fn vip_customers_and_why_call() {
    let dir = tempfile::tempdir().unwrap();
    let config = office(dir.path());
    let (code, out) = callbox(&config, &["customer", "vip", "+8613812345678"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = callbox(&config, &["customer", "vip", "12ab"]);
    assert_ne!(code, 0);
    assert!(out.contains("number"), "{out}");
    let store = Store::open(&dir.path().join("var/callbox.db")).unwrap();
    assert_eq!(
        store.load_directory("9").unwrap().vip_numbers,
        ["+8613812345678"]
    );

    // A demo agent gets a mobile for the hotline sign-in; a malformed one is refused.
    let id = {
        let mut store = Store::open(&dir.path().join("var/callbox.db")).unwrap();
        let group = store.load_directory("9").unwrap().groups[0].id;
        let agent = store
            .add_agent(&callbox::store::NewAgent {
                number: "8001".into(),
                name: "张三".into(),
                web_password: "secret-pw".into(),
                sip_password: None,
                direct_number: None,
                bound_device: None,
                answer_mode: callbox::core::AnswerMode::Device,
                offline_answering: false,
                allow_fallback: false,
                confirm_direct: true,
            })
            .unwrap();
        store.add_member(group, agent, 1).unwrap();
        agent
    };
    let (code, out) = callbox(&config, &["agent", "direct", "8001", "+8613800138001"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = callbox(&config, &["agent", "direct", "8001", "138-0013"]);
    assert_ne!(code, 0);
    assert!(out.contains("direct_number"), "{out}");
    let d = store.load_directory("9").unwrap();
    let a = d.agent(id).unwrap();
    assert_eq!(a.direct_number.as_deref(), Some("+8613800138001"));

    let (code, out) = callbox(&config, &["why", "call", "7"]);
    assert_ne!(code, 0);
    assert!(out.contains("no call has the id 7"), "{out}");
}

/// Adds agent `number` straight to the store; returns its id.
fn add_agent(db: &Path, number: &str) -> callbox::core::AgentId {
    Store::open(db)
        .unwrap()
        .add_agent(&callbox::store::NewAgent {
            number: number.into(),
            name: format!("agent {number}"),
            web_password: "secret-pw".into(),
            sip_password: None,
            direct_number: None,
            bound_device: None,
            answer_mode: callbox::core::AnswerMode::Device,
            offline_answering: false,
            allow_fallback: false,
            confirm_direct: true,
        })
        .unwrap()
}

#[test]
fn customer_pins_are_set_and_cleared_and_the_digits_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let config = office(dir.path());
    let db = dir.path().join("var/callbox.db");
    let (code, out) = callbox(&config, &["customer", "pin", "+8613812345678", "975310"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("+8613812345678") && !out.contains("975310"),
        "{out}"
    );
    let d = Store::open(&db).unwrap().load_directory("9").unwrap();
    let hash = d.customer_pin("+8613812345678").unwrap();
    assert!(callbox::store::verify_pin(hash, "975310"));
    assert!(!hash.contains("975310"));

    for (args, names) in [
        (vec!["customer", "pin", "+8613812345678", "97a310"], "pin"),
        (vec!["customer", "pin", "+8613812345678", "975"], "pin"),
        (
            vec!["customer", "pin", "+8613812345678", "9753108642013"],
            "pin",
        ),
        (vec!["customer", "pin", "12ab", "975311"], "number"),
        (vec!["customer", "pin", "+8613812345678"], "PIN"),
        (
            vec!["customer", "pin", "+8613812345678", "975311", "--clear"],
            "--clear",
        ),
        (
            vec!["customer", "pin", "+8613812345678", "975311", "1"],
            "nothing more",
        ),
        (vec!["customer", "pin"], "number"),
    ] {
        let (code, out) = callbox(&config, &args);
        assert_eq!(code, 2, "{args:?}: {out}");
        // The first line is the error; the usage text follows it.
        let error = out.lines().next().unwrap_or_default();
        assert!(error.contains(names), "{args:?} names {names}: {out}");
        for digits in ["97a310", "9753108642013", "975311"] {
            assert!(!out.contains(digits), "{args:?} echoes the PIN: {out}");
        }
    }
    let d = Store::open(&db).unwrap().load_directory("9").unwrap();
    assert!(
        callbox::store::verify_pin(d.customer_pin("+8613812345678").unwrap(), "975310"),
        "a refused PIN changes nothing"
    );

    let (code, out) = callbox(&config, &["customer", "pin", "+8613812345678", "--clear"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("no longer has a PIN"), "{out}");
    let (code, out) = callbox(&config, &["customer", "pin", "+8613812345678", "--clear"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("had no PIN"), "{out}");
    let d = Store::open(&db).unwrap().load_directory("9").unwrap();
    assert!(d.customer_pins.is_empty());
}

#[test]
fn supervisors_are_switched_on_and_off_by_agent_number() {
    let dir = tempfile::tempdir().unwrap();
    let config = office(dir.path());
    let db = dir.path().join("var/callbox.db");
    let id = add_agent(&db, "8001");
    let supervisor = || {
        Store::open(&db)
            .unwrap()
            .load_directory("9")
            .unwrap()
            .agent(id)
            .unwrap()
            .supervisor
    };
    let (code, out) = callbox(&config, &["agent", "supervisor", "8001", "on"]);
    assert_eq!(code, 0, "{out}");
    assert!(supervisor());
    let (code, out) = callbox(&config, &["agent", "supervisor", "8001", "off"]);
    assert_eq!(code, 0, "{out}");
    assert!(!supervisor());

    for (args, names) in [
        (vec!["agent", "supervisor", "8001", "yes"], "on or off"),
        (vec!["agent", "supervisor", "8001"], "on or off"),
        (vec!["agent", "supervisor"], "agent number"),
        (vec!["agent", "supervisor", "8009", "on"], "8009"),
    ] {
        let (code, out) = callbox(&config, &args);
        assert_eq!(code, 2, "{args:?}: {out}");
        // The first line is the error; the usage text follows it.
        let error = out.lines().next().unwrap_or_default();
        assert!(error.contains(names), "{args:?} names {names}: {out}");
    }
    assert!(!supervisor());
}

#[test]
fn the_audit_log_is_printed_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let config = office(dir.path());
    let db = dir.path().join("var/callbox.db");
    let (code, out) = callbox(&config, &["audit"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("empty"), "{out}");
    {
        let mut store = Store::open(&db).unwrap();
        for (minute, action, call) in [(1, "listen", Some(7)), (2, "barge", None)] {
            store
                .apply(&callbox::core::StoreOp::Audit(Box::new(
                    callbox::core::AuditRecord {
                        at: chrono::Utc
                            .with_ymd_and_hms(2025, 3, 1, 10, minute, 0)
                            .unwrap(),
                        actor: "8001".into(),
                        action: action.into(),
                        call: call.map(callbox::core::CallId),
                        detail: format!("{action} detail"),
                    },
                )))
                .unwrap();
        }
    }
    let (code, out) = callbox(&config, &["audit"]);
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].contains("barge") && lines[0].contains("barge detail"),
        "{out}"
    );
    assert!(
        lines[1].contains("listen") && lines[1].contains("call-7"),
        "{out}"
    );
    assert!(lines[1].contains("8001"), "{out}");
    let (code, out) = callbox(&config, &["audit", "--limit", "1"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("barge"), "{out}");

    for (args, names) in [
        (vec!["audit", "--limit", "x"], "--limit"),
        (vec!["audit", "--limit", "0"], "--limit"),
        (vec!["audit", "--limit"], "--limit"),
        (vec!["audit", "--since", "1"], "--since"),
        (vec!["audit", "everything"], "everything"),
    ] {
        let (code, out) = callbox(&config, &args);
        assert_eq!(code, 2, "{args:?}: {out}");
        // The first line is the error; the usage text follows it.
        let error = out.lines().next().unwrap_or_default();
        assert!(error.contains(names), "{args:?} names {names}: {out}");
    }
}

#[test]
fn an_agents_calls_are_listed_newest_first_and_today_only_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let config = office(dir.path());
    let db = dir.path().join("var/callbox.db");
    let ann = add_agent(&db, "8001");
    let bob = add_agent(&db, "8002");
    {
        let mut store = Store::open(&db).unwrap();
        let now = chrono::Utc::now();
        let long_ago = chrono::Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap();
        for (id, agent, started, hold, survey, cause) in [
            (1, ann, long_ago, 0, None, "caller hung up"),
            (2, bob, now, 5, Some(3), "callee hung up"),
            (3, ann, now, 42, Some(8), "transferred"),
        ] {
            store
                .apply(&callbox::core::StoreOp::Call(Box::new(
                    callbox::core::CallRecord {
                        id: callbox::core::CallId(id),
                        direction: callbox::core::CallDirection::Inbound,
                        from_number: format!("1380013800{id}"),
                        to_number: "4008001234".into(),
                        service_number: Some("4008001234".into()),
                        device: None,
                        trunk: None,
                        sip_call_id: format!("c{id}@x"),
                        started_at: started,
                        answered_at: Some(started + chrono::Duration::seconds(4)),
                        ended_at: Some(started + chrono::Duration::seconds(90)),
                        hangup_by: Some(callbox::core::HangupBy::Caller),
                        end_cause: Some(cause.into()),
                        sip_code: Some(200),
                        recording: None,
                        agent: Some(agent),
                        group: None,
                        wait_secs: Some(3),
                        hold_secs: hold,
                        survey_score: survey,
                    },
                )))
                .unwrap();
        }
    }
    let (code, out) = callbox(&config, &["agent", "calls", "8001"]);
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "only Ann's calls: {out}");
    assert!(
        lines[0].contains("13800138003") && lines[0].contains("4008001234"),
        "{out}"
    );
    assert!(
        lines[0].contains("inbound") && lines[0].contains("transferred"),
        "{out}"
    );
    assert!(
        lines[0].contains("hold 42 s") && lines[0].contains("survey 8"),
        "{out}"
    );
    assert!(
        lines[1].contains("2024-05-0") && lines[1].contains("survey -"),
        "{out}"
    );
    assert!(
        lines[1].contains("caller hung up") && lines[1].contains("hold 0 s"),
        "{out}"
    );

    let (code, out) = callbox(&config, &["agent", "calls", "8001", "--today"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("13800138003"), "{out}");
    let (code, out) = callbox(&config, &["agent", "calls", "8001", "--limit", "1"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");

    for (args, names) in [
        (vec!["agent", "calls"], "agent number"),
        (vec!["agent", "calls", "8009"], "8009"),
        (vec!["agent", "calls", "8001", "--limit", "many"], "--limit"),
        (vec!["agent", "calls", "8001", "--yesterday"], "--yesterday"),
    ] {
        let (code, out) = callbox(&config, &args);
        assert_eq!(code, 2, "{args:?}: {out}");
        // The first line is the error; the usage text follows it.
        let error = out.lines().next().unwrap_or_default();
        assert!(error.contains(names), "{args:?} names {names}: {out}");
    }
}

#[test]
fn backup_and_restore_name_what_is_wrong_with_their_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let config = office(dir.path());
    let (code, out) = callbox(&config, &["backup"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("usage: callbox backup PATH [--recordings]"),
        "{out}"
    );
    let (code, out) = callbox(&config, &["backup", "a", "b"]);
    assert_eq!(code, 2, "{out}");
    let (code, out) = callbox(&config, &["backup", "a", "--all"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("unknown option --all"), "{out}");
    let (code, out) = callbox(
        &config,
        &["restore", dir.path().join("nowhere").to_str().unwrap()],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not a usable backup: no such file"), "{out}");

    // Without a daemon a backup is taken all the same, and restores.
    let to = dir.path().join("nightly");
    let (code, out) = callbox(&config, &["backup", to.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 calls, 0 agents"), "{out}");
    let (code, out) = callbox(&config, &["backup", to.to_str().unwrap()]);
    assert_eq!(code, 0, "a second backup replaces the first: {out}");
    let (code, out) = callbox(&config, &["restore", to.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let store = Store::open(&dir.path().join("var/callbox.db")).unwrap();
    assert_eq!(store.load_directory("9").unwrap().groups[0].name, "售前");

    // A backup of a data dir that has no database is refused, and creates none.
    let empty = dir.path().join("empty.toml");
    std::fs::write(
        &empty,
        format!("data_dir = {:?}\n", dir.path().join("none")),
    )
    .unwrap();
    let (code, out) = callbox(&empty, &["backup", to.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(!dir.path().join("none/callbox.db").exists());
}
