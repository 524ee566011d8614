//! The admin commands that write the database, as an admin runs them against a real
//! SQLite file: IVR flows imported and exported, service numbers and queue exits
//! pointed at them, prompts replaced by recordings (checked by decoding them), VIP
//! customers, and `why call` reading a call's trail back.

use std::path::Path;
use std::process::Command;

use callbox::core::{Codec, Language};
use callbox::store::{NewGroup, NewTrunk, Store};

fn callbox(config: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_callbox"))
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .expect("callbox runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
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
