//! The operator's commands and the daemon's housekeeping, against the real binary:
//! a backup taken while the daemon runs and restored after a wipe (calls, agents and
//! flows come back), a restore refused while the daemon runs, `callbox doctor` with
//! and without a daemon, and recording retention: old recordings removed, the disk
//! floor removing the oldest first, then stopping recording with an alarm in
//! `/health` until space is back.
//!
//! The floor is driven without root through `CALLBOX_TEST_DISK_MB` (debug builds
//! only), which stands in for a small, full disk; when the tests run as root a real
//! 8 MiB tmpfs is used too.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use callbox::core::{CallDirection, CallId, CallRecord, Codec, HangupBy, StoreOp};
use callbox::store::{NewGroup, NewTrunk, Store};
use common::http::json;
use common::ports::{free_port, free_tcp_port, free_udp_block};
use common::process::{ChildGuard, file_tail};
use common::wait::wait_for;

const MIB: usize = 1024 * 1024;

fn callbox(config: &Path, args: &[&str]) -> (i32, String) {
    common::callbox::cli(config, args)
}

/// A configuration on free loopback ports; `recording` is the `[recording]` table's
/// body.
struct Site {
    dir: PathBuf,
    data: PathBuf,
    config: PathBuf,
    http: SocketAddr,
}

impl Site {
    fn new(dir: &Path, recording: &str) -> Site {
        let data = dir.join("var");
        let (sip, http, rtp) = (free_tcp_port(), free_port(), free_udp_block(8));
        let config = dir.join("callbox.toml");
        std::fs::write(
            &config,
            format!(
                "data_dir = {data:?}\nlog_level = \"info\"\n\
                 [sip]\nlisten = \"127.0.0.1:{sip}\"\n\
                 [rtp]\nbind = \"127.0.0.1\"\nadvertise = \"127.0.0.1\"\nport_min = {rtp}\nport_max = {}\n\
                 [http]\nlisten = \"127.0.0.1:{http}\"\n\
                 [recording]\n{recording}\n",
                rtp + 7
            ),
        )
        .unwrap();
        Site {
            dir: dir.to_owned(),
            data,
            config,
            http: SocketAddr::from(([127, 0, 0, 1], http)),
        }
    }

    fn db(&self) -> PathBuf {
        self.data.join("callbox.db")
    }

    fn store(&self) -> Store {
        Store::open(&self.db()).unwrap()
    }

    /// `callbox serve` with `env`, once `/health` answers.
    fn start(&self, env: &[(&str, &str)]) -> ChildGuard {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_callbox"));
        cmd.arg("serve").arg("--config").arg(&self.config);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = ChildGuard::spawn(cmd, "callbox", &self.dir).unwrap();
        let up = wait_for(Instant::now() + Duration::from_secs(20), || {
            std::net::TcpStream::connect(self.http).ok()
        });
        assert!(
            up.is_some() && child.is_running(),
            "callbox did not start\n{}",
            child.output_tail(40)
        );
        child
    }

    fn health(&self) -> serde_json::Value {
        let (code, v) = json(self.http, "GET", "/health", "");
        assert_eq!(code, 200);
        v
    }

    fn run(&self, args: &[&str]) -> (i32, String) {
        callbox(&self.config, args)
    }
}

/// SIGTERM, and wait for the daemon to be gone.
fn stop(mut child: ChildGuard) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.pid().to_string())
        .status();
    assert!(
        child
            .wait_exit(Instant::now() + Duration::from_secs(40))
            .is_some(),
        "callbox did not stop\n{}",
        child.output_tail(40)
    );
}

fn trunk(store: &mut Store, name: &str, host: String) -> callbox::core::TrunkId {
    store
        .add_trunk(&NewTrunk {
            name: name.into(),
            host,
            inbound_peers: vec![],
            outbound_proxy: None,
            register: None,
            caller_id: "4000000000".into(),
            codecs: vec![Codec::Pcma],
        })
        .unwrap()
}

/// A finished call (id `id`) with a recording of `bytes` bytes at `rel` under `data`.
fn recorded_call(store: &mut Store, data: &Path, id: i64, rel: &str, bytes: usize) -> PathBuf {
    let path = data.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, vec![0u8; bytes]).unwrap();
    let at = chrono::Utc::now();
    store
        .apply(&StoreOp::Call(Box::new(CallRecord {
            id: CallId(id),
            direction: CallDirection::Inbound,
            from_number: format!("1380013800{id}"),
            to_number: "4008001234".into(),
            service_number: Some("4008001234".into()),
            device: None,
            trunk: None,
            sip_call_id: format!("c{id}@x"),
            started_at: at,
            answered_at: Some(at),
            ended_at: Some(at + chrono::Duration::seconds(30)),
            hangup_by: Some(HangupBy::Caller),
            end_cause: Some("caller hung up".into()),
            sip_code: Some(200),
            recording: Some(path.clone()),
            agent: None,
            group: None,
            wait_secs: Some(2),
            hold_secs: 0,
            survey_score: None,
        })))
        .unwrap();
    store.record_recording(&path, 30.0).unwrap();
    path
}

/// Makes the recording look `days` old (its row's time is the time it was written).
fn age(db: &Path, path: &Path, data: &Path, days: i64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let at = chrono::Utc::now() - chrono::Duration::days(days);
    let stored = path
        .strip_prefix(data)
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let n = conn
        .execute(
            "UPDATE recordings SET created_at = ?1 WHERE path = ?2",
            rusqlite::params![
                at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
                stored
            ],
        )
        .unwrap();
    assert_eq!(n, 1, "the recording row of {stored} exists");
}

const FLOW: &str = r#"{"start": 1, "nodes": [
  {"id": 1, "type": "menu", "prompts": ["welcome_menu"],
   "choices": [{"key": "1", "next": 2}], "timeout_secs": 8, "retries": 2, "fail": 2},
  {"id": 2, "type": "queue", "group": 1}
]}"#;

#[test]
fn a_backup_taken_while_running_brings_calls_agents_and_flows_back_after_a_wipe() {
    let dir = tempfile::tempdir().unwrap();
    let site = Site::new(dir.path(), "enabled = true");
    let recording = {
        let mut store = site.store();
        let t = trunk(&mut store, "carrier", "127.0.0.1:9".into());
        store.add_service_number("4008001234", t, None).unwrap();
        store.add_group(&NewGroup::new("售前")).unwrap();
        recorded_call(
            &mut store,
            &site.data,
            1,
            "recordings/2025/03/01/093000-1.wav",
            4000,
        )
    };
    let (code, out) = site.run(&[
        "agent",
        "add",
        "8001",
        "张三",
        "--password",
        "secret-pw",
        "--group",
        "售前",
    ]);
    assert_eq!(code, 0, "{out}");
    let flow = dir.path().join("menu.json");
    std::fs::write(&flow, FLOW).unwrap();
    let (code, out) = site.run(&["flow", "import", "菜单", flow.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");

    let daemon = site.start(&[]);
    let backup = dir.path().join("backup");
    let (code, out) = site.run(&["backup", backup.to_str().unwrap(), "--recordings"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 calls, 1 agents"), "{out}");
    assert!(out.contains("1 recording file(s)"), "{out}");
    assert!(backup.join("callbox.db").is_file());
    assert!(
        !backup.join("callbox.db-wal").exists(),
        "the copy stands alone"
    );

    let (code, out) = site.run(&["restore", backup.to_str().unwrap()]);
    assert_eq!(code, 1, "refused while the daemon runs: {out}");
    assert!(out.contains("callbox is running"), "{out}");
    stop(daemon);

    std::fs::remove_dir_all(&site.data).unwrap();
    let (code, out) = site.run(&["restore", backup.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 recording file(s) copied back"), "{out}");
    let store = site.store();
    let call = store.call(CallId(1)).unwrap().expect("the call is back");
    assert_eq!(call.from_number, "13800138001");
    assert_eq!(
        call.recording.map(|r| site.data.join(r)),
        Some(recording.clone()),
        "the row names the same file"
    );
    assert_eq!(std::fs::read(&recording).unwrap().len(), 4000);
    let d = store.load_directory("9").unwrap();
    assert_eq!(d.agents.len(), 1);
    assert_eq!(d.agents[0].number, "8001");
    assert_eq!(d.agents[0].name, "张三");
    assert_eq!(d.flows.len(), 1);
    assert_eq!(d.flows[0].name, "菜单");
    assert_eq!(d.trunks[0].name, "carrier");
    drop(store);

    // A second restore keeps the database it replaces.
    let (code, out) = site.run(&["restore", backup.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("callbox.db.before-restore"), "{out}");
    assert!(site.data.join("callbox.db.before-restore").is_file());
    // And the daemon starts on the restored database.
    let daemon = site.start(&[]);
    assert_eq!(site.health()["status"], "ok");
    stop(daemon);
}

#[test]
fn restore_refuses_a_damaged_or_foreign_file_and_leaves_the_database_alone() {
    let dir = tempfile::tempdir().unwrap();
    let site = Site::new(dir.path(), "enabled = true");
    site.store();
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"this is not a database at all, not even close....").unwrap();
    let (code, out) = site.run(&["restore", junk.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not a usable backup"), "{out}");
    let empty = dir.path().join("empty.db");
    rusqlite::Connection::open(&empty)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let (code, out) = site.run(&["restore", empty.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not a callbox database"), "{out}");
    let newer = dir.path().join("newer.db");
    std::fs::copy(site.db(), &newer).unwrap();
    rusqlite::Connection::open(&newer)
        .unwrap()
        .pragma_update(None, "user_version", 999)
        .unwrap();
    let (code, out) = site.run(&["restore", newer.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("schema version 999"), "{out}");
    assert!(!site.data.join("callbox.db.before-restore").exists());
    let (code, out) = site.run(&["backup"]);
    assert_eq!(code, 2, "{out}");
}

/// A UDP socket on loopback that answers every request with `200 OK` (a carrier
/// that answers OPTIONS).
fn answering_trunk() -> SocketAddr {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            let req = String::from_utf8_lossy(&buf[..n]);
            let headers: String = req
                .lines()
                .filter(|l| {
                    ["Via:", "From:", "To:", "Call-ID:", "CSeq:"]
                        .iter()
                        .any(|h| l.starts_with(h))
                })
                .map(|l| format!("{l}\r\n"))
                .collect();
            let answer = format!("SIP/2.0 200 OK\r\n{headers}Content-Length: 0\r\n\r\n");
            let _ = sock.send_to(answer.as_bytes(), from);
        }
    });
    addr
}

#[test]
fn doctor_checks_with_and_without_a_running_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let site = Site::new(dir.path(), "enabled = true\nmin_free_mb = 1");
    let carrier = answering_trunk();
    {
        let mut store = site.store();
        trunk(&mut store, "carrier", carrier.to_string());
        store
            .add_device(&callbox::store::NewDevice {
                user: "1001".into(),
                password: "pw".into(),
                name: "desk".into(),
                static_contact: None,
            })
            .unwrap();
    }
    let (code, out) = site.run(&["doctor"]);
    assert_eq!(code, 0, "{out}");
    for line in [
        "ok   config: valid",
        "ok   http: 127.0.0.1:",
        "ok   sip: 127.0.0.1:",
        "ok   trunk carrier: 127.0.0.1:",
        "warn devices: callbox is not running",
        "ok   disk:",
        "ok   clock:",
        "ok   database: integrity check ok",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(line)),
            "{line:?} in\n{out}"
        );
    }
    assert!(out.contains("answered OPTIONS with 200"), "{out}");

    let daemon = site.start(&[]);
    let (code, out) = site.run(&["doctor"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("is our running daemon"), "{out}");
    assert!(out.contains("warn devices: 0 of 1 reachable"), "{out}");
    stop(daemon);

    // A trunk no one answers for, and a port taken by something else: fails, exit 1.
    let dead = UdpSocket::bind("127.0.0.1:0").unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    trunk(&mut site.store(), "gone", dead_addr.to_string());
    let squatter = std::net::TcpListener::bind(site.http).unwrap();
    let (code, out) = site.run(&["doctor"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("fail trunk gone:"), "{out}");
    assert!(
        out.contains("fail http:") && out.contains("taken by another program"),
        "{out}"
    );
    assert!(out.contains("fix: "), "{out}");
    assert!(out.contains("2 check(s) failed"), "{out}");
    drop(squatter);
}

#[test]
fn old_recordings_go_and_the_disk_floor_stops_recording_with_an_alarm_until_space_is_back() {
    if !cfg!(debug_assertions) {
        println!("skipped: CALLBOX_TEST_DISK_MB is read by debug builds only");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let site = Site::new(
        dir.path(),
        "enabled = true\nkeep_days = 30\nmin_free_mb = 1",
    );
    let mut store = site.store();
    let old = recorded_call(
        &mut store,
        &site.data,
        1,
        "recordings/2025/01/01/a-1.wav",
        1000,
    );
    age(&site.db(), &old, &site.data, 40);
    // A 3 MiB "disk" holding three 0.7 MiB recordings: 0.9 MiB free, under the floor.
    let files: Vec<PathBuf> = (2..=4)
        .map(|i| {
            let rel = format!("recordings/2025/02/0{i}/b-{i}.wav");
            recorded_call(&mut store, &site.data, i, &rel, 7 * MIB / 10)
        })
        .collect();
    drop(store);
    let daemon = site.start(&[
        // Stands in for a full disk: see callbox::store::free_space.
        ("CALLBOX_TEST_DISK_MB", "3"),
        ("CALLBOX_TEST_RETENTION_SECS", "0.2"),
    ]);
    let deadline = || Instant::now() + Duration::from_secs(10);
    let gone = wait_for(deadline(), || {
        (!old.exists() && !files[0].exists()).then_some(())
    });
    assert!(gone.is_some(), "{}", daemon.output_tail(40));
    assert!(
        files[1].exists() && files[2].exists(),
        "only the oldest went"
    );
    assert!(
        !site.data.join("recordings/2025/01").exists(),
        "its empty days went too"
    );
    let store = site.store();
    assert!(
        store.call(CallId(1)).unwrap().unwrap().recording.is_some(),
        "the row stays"
    );
    assert_eq!(site.health()["alarms"], serde_json::json!([]));

    // Something else fills the disk: every recording goes, then recording stops.
    let filler = site.data.join("recordings/other.bin");
    std::fs::write(&filler, vec![0u8; 5 * MIB / 2]).unwrap();
    let alarm = wait_for(deadline(), || {
        let h = site.health();
        (h["alarms"][0]["name"] == "recording_stopped").then(|| h["alarms"][0].clone())
    });
    let alarm = alarm.unwrap_or_else(|| panic!("no alarm\n{}", daemon.output_tail(40)));
    assert!(
        alarm["message"].as_str().unwrap().contains("min_free_mb"),
        "{alarm}"
    );
    assert!(files.iter().all(|f| !f.exists()));
    let log = file_tail(daemon.stderr_path(), 200) + &file_tail(daemon.stdout_path(), 200);
    assert!(
        log.lines()
            .any(|l| l.contains("ERROR") && l.contains("recording stopped")),
        "an error line: {log}"
    );
    let (code, out) = site.run(&["doctor"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("fail alarm recording_stopped"), "{out}");

    std::fs::remove_file(&filler).unwrap();
    let cleared = wait_for(deadline(), || {
        (site.health()["alarms"] == serde_json::json!([])).then_some(())
    });
    assert!(cleared.is_some(), "{}", daemon.output_tail(40));
    stop(daemon);
}

#[test]
fn on_a_real_small_tmpfs_the_floor_removes_the_oldest_recording() {
    let dir = tempfile::tempdir().unwrap();
    let site = Site::new(dir.path(), "enabled = true\nmin_free_mb = 4");
    let recordings = site.data.join("recordings");
    std::fs::create_dir_all(&recordings).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"])
        .arg(&recordings)
        .output();
    match mounted {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            println!(
                "skipped: cannot mount a tmpfs (needs root): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return;
        }
        Err(e) => {
            println!("skipped: cannot run mount: {e}");
            return;
        }
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(recordings.clone());
    // 8 MiB, three recordings of 1.5 MiB: 3.5 MiB free, under the 4 MiB floor.
    let mut store = site.store();
    let files: Vec<PathBuf> = (1..=3)
        .map(|i| {
            let rel = format!("recordings/2025/02/0{i}/t-{i}.wav");
            recorded_call(&mut store, &site.data, i, &rel, 3 * MIB / 2)
        })
        .collect();
    drop(store);
    let daemon = site.start(&[]);
    let gone = wait_for(Instant::now() + Duration::from_secs(10), || {
        (!files[0].exists()).then_some(())
    });
    assert!(gone.is_some(), "{}", daemon.output_tail(40));
    assert!(
        files[1].exists() && files[2].exists(),
        "only the oldest went"
    );
    assert_eq!(site.health()["alarms"], serde_json::json!([]));
    stop(daemon);
}
