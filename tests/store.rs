//! The store on a real SQLite file in a temporary directory: migrations (an empty
//! file and a 0001-era one), refusing a newer database, call rows and their trail,
//! hostile text, the writer thread, agents, groups and the agent status log, IVR flows
//! and where they are used, hot-desking through the writer, the demo seed, and the
//! in-call controls' data (hold time and survey score, supervisors, customers' PINs,
//! the audit log, an agent's own calls; a 0005-era database upgraded to them).

use std::path::{Path, PathBuf};
use std::time::Duration;

use callbox::core::acd::{AgentSnapshot, AgentState, AgentStatusRecord, StatusCause};
use callbox::core::ivr::{AgentAction, Choice, Flow, FlowId, Node, NodeId, NodeKind, OpenHours};
use callbox::core::{
    AgentId, AnswerMode, AuditRecord, CallDirection, CallEventKind, CallEventRecord, CallId,
    CallRecord, Codec, DeviceId, GroupId, HangupBy, Language, Membership, Overflow, QueueExit,
    StoreOp, Strategy, TrunkId,
};
use callbox::store::{
    NewAgent, NewDevice, NewFlow, NewGroup, NewTrunk, Store, StoreError, spawn_writer, verify_pin,
};
use chrono::{NaiveDate, TimeZone, Utc, Weekday};

fn db_in(dir: &tempfile::TempDir) -> PathBuf {
    // A subdirectory that does not exist yet: open must create it.
    dir.path().join("var").join("callbox.db")
}

fn call(id: i64) -> CallRecord {
    CallRecord {
        id: CallId(id),
        direction: CallDirection::Inbound,
        from_number: "13800138000".into(),
        to_number: "4008001234".into(),
        service_number: Some("4008001234".into()),
        device: Some(DeviceId(1)),
        trunk: Some(TrunkId(1)),
        sip_call_id: format!("abc-{id}@192.0.2.1"),
        started_at: Utc.with_ymd_and_hms(2025, 3, 1, 9, 30, 0).unwrap(),
        answered_at: None,
        ended_at: None,
        hangup_by: None,
        end_cause: None,
        sip_code: None,
        recording: None,
        agent: None,
        group: None,
        wait_secs: None,
        hold_secs: 0,
        survey_score: None,
    }
}

fn event(call: i64, seq: u32, kind: CallEventKind) -> CallEventRecord {
    CallEventRecord {
        call: CallId(call),
        seq,
        at: Utc.with_ymd_and_hms(2025, 3, 1, 9, 30, seq).unwrap(),
        kind,
        party: "caller".into(),
        sip_code: None,
        detail: format!("step {seq}"),
    }
}

fn user_version(path: &Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

#[test]
fn migrates_an_empty_database_and_reopens_idempotently() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(&dir);
    let store = Store::open(&path).unwrap();
    assert_eq!(user_version(&path), callbox::store::SCHEMA_VERSION);
    assert_eq!(store.next_call_id().unwrap(), 1);
    let dir_before = store.load_directory("9").unwrap();
    drop(store);

    let store = Store::open(&path).unwrap();
    assert_eq!(user_version(&path), callbox::store::SCHEMA_VERSION);
    assert_eq!(store.load_directory("9").unwrap(), dir_before);
}

#[test]
fn refuses_a_database_from_a_newer_callbox() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(&dir);
    drop(Store::open(&path).unwrap());
    let newer = callbox::store::SCHEMA_VERSION + 1;
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", newer)
        .unwrap();

    let err = Store::open(&path).expect_err("a newer database must be refused");
    assert!(
        matches!(err, StoreError::TooNew { found, .. } if found == newer),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer callbox"), "{err}");
    // Refusing must not touch it.
    assert_eq!(user_version(&path), newer);
}

#[test]
fn upserting_a_call_twice_keeps_one_row_with_the_latest_values() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&db_in(&dir)).unwrap();
    let ringing = call(7);
    store
        .apply(&StoreOp::Call(Box::new(ringing.clone())))
        .unwrap();
    let mut ended = ringing.clone();
    ended.answered_at = Some(ringing.started_at + chrono::Duration::seconds(3));
    ended.ended_at = Some(ringing.started_at + chrono::Duration::milliseconds(64_250));
    ended.hangup_by = Some(HangupBy::Callee);
    ended.end_cause = Some("callee hung up".into());
    ended.sip_code = Some(200);
    ended.recording = Some("recordings/2025-03-01/7.wav".into());
    store
        .apply(&StoreOp::Call(Box::new(ended.clone())))
        .unwrap();

    assert_eq!(store.call(CallId(7)).unwrap(), Some(ended.clone()));
    assert_eq!(store.recent_calls(10).unwrap(), vec![ended]);
    assert_eq!(store.next_call_id().unwrap(), 8);
    assert_eq!(store.call(CallId(8)).unwrap(), None);
}

#[test]
fn call_events_come_back_in_seq_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&db_in(&dir)).unwrap();
    store.apply(&StoreOp::Call(Box::new(call(1)))).unwrap();
    let mut rejected = event(1, 2, CallEventKind::Rejected);
    rejected.sip_code = Some(486);
    let written = [
        event(1, 3, CallEventKind::Failed),
        event(1, 1, CallEventKind::Offered),
        rejected,
    ];
    for e in &written {
        store
            .apply(&StoreOp::CallEvent(Box::new(e.clone())))
            .unwrap();
    }
    let seqs: Vec<u32> = store
        .call_events(CallId(1))
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(store.call_events(CallId(1)).unwrap()[1], written[2]);
    assert!(store.call_events(CallId(2)).unwrap().is_empty());
}

#[test]
fn sql_looking_text_is_stored_and_returned_verbatim() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&db_in(&dir)).unwrap();
    let evil = "'); DROP TABLE calls;--";
    let mut c = call(1);
    c.from_number = evil.into();
    c.end_cause = Some(format!("\"{evil}\" \u{0} 中文"));
    store.apply(&StoreOp::Call(Box::new(c.clone()))).unwrap();
    let mut e = event(1, 1, CallEventKind::Offered);
    e.party = evil.into();
    e.detail = evil.into();
    store
        .apply(&StoreOp::CallEvent(Box::new(e.clone())))
        .unwrap();
    let id = store
        .add_device(&NewDevice {
            user: evil.into(),
            password: evil.into(),
            name: evil.into(),
            static_contact: None,
        })
        .unwrap();

    assert_eq!(store.call(CallId(1)).unwrap(), Some(c));
    assert_eq!(store.call_events(CallId(1)).unwrap(), vec![e]);
    let directory = store.load_directory("9").unwrap();
    assert_eq!(directory.device(id).unwrap().password, evil);
}

#[test]
fn writer_flush_makes_rows_visible_to_another_connection() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(&dir);
    let writer = spawn_writer(&path).unwrap();
    let reader = Store::open(&path).unwrap();
    for id in 1..=300 {
        writer.send(StoreOp::Call(Box::new(call(id))));
        writer.send(StoreOp::CallEvent(Box::new(event(
            id,
            1,
            CallEventKind::Offered,
        ))));
    }
    let rec = dir.path().join("var").join("recordings").join("300.wav");
    let mut last = call(300);
    last.recording = Some(rec.clone());
    writer.send(StoreOp::Call(Box::new(last)));
    writer.send_recording(rec.clone(), 12.5);
    writer.flush();

    assert_eq!(reader.next_call_id().unwrap(), 301);
    assert_eq!(reader.call_events(CallId(300)).unwrap().len(), 1);
    // Stored relative to the data directory, found by either form.
    let stored = reader
        .call(CallId(300))
        .unwrap()
        .unwrap()
        .recording
        .unwrap();
    assert_eq!(stored, Path::new("recordings/300.wav"));
    assert_eq!(reader.recording_seconds(&rec).unwrap(), Some(12.5));

    // A bad row (an event for a call never written) is logged and skipped; the rows
    // around it in the same batch still land.
    writer.send(StoreOp::CallEvent(Box::new(event(
        999,
        1,
        CallEventKind::Offered,
    ))));
    writer.send(StoreOp::Call(Box::new(call(301))));
    writer.shutdown();
    assert!(reader.call(CallId(301)).unwrap().is_some());
    assert!(reader.call_events(CallId(999)).unwrap().is_empty());
}

#[test]
fn demo_is_seeded_once_and_routes() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(&dir);
    let mut store = Store::open(&path).unwrap();
    let seed = store
        .seed_demo_if_empty()
        .unwrap()
        .expect("an empty database gets the demo");
    let users: Vec<&str> = seed.devices.iter().map(|(u, _)| u.as_str()).collect();
    assert_eq!(users, ["1001", "1002"]);
    for (_, password) in &seed.devices {
        assert_eq!(password.len(), 10);
        assert!(
            password.chars().all(|c| c.is_ascii_alphanumeric()),
            "{password}"
        );
    }
    assert_ne!(seed.devices[0].1, seed.devices[1].1);

    let directory = store.load_directory("9").unwrap();
    let number = directory.service_number("4008001234").unwrap();
    let d1001 = directory.device_by_user("1001").unwrap();
    assert_eq!(number.device, Some(d1001.id));
    assert_eq!(d1001.password, seed.devices[0].1);
    let trunk = directory.trunk(number.trunk).unwrap();
    assert_eq!(trunk.name, "demo carrier");
    assert_eq!(trunk.codecs, [Codec::Pcmu, Codec::Pcma]);
    assert_eq!(directory.outbound_caller_id(trunk), "4008001234");
    assert!(
        directory
            .trunk_by_peer("127.0.0.1".parse().unwrap())
            .is_none()
    );
    assert_eq!(
        directory
            .trunk_by_peer("192.0.2.1".parse().unwrap())
            .map(|t| t.id),
        Some(trunk.id)
    );
    drop(store);

    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.seed_demo_if_empty().unwrap(), None);
    assert_eq!(store.demo_seed().unwrap(), Some(seed));
    assert_eq!(store.load_directory("9").unwrap(), directory);
}

#[test]
fn demo_seeds_a_queue_with_two_agents_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(&dir);
    let mut store = Store::open(&path).unwrap();
    let seed = store.seed_demo_if_empty().unwrap().unwrap();
    let directory = store.load_directory("9").unwrap();
    assert_eq!(directory.busy_reasons, ["会议", "午餐", "培训"]);

    assert_eq!(directory.groups.len(), 2);
    let group = &directory.groups[0];
    let after_sales = &directory.groups[1];
    assert_eq!(group.name, "售前咨询");
    assert_eq!(after_sales.name, "售后服务");
    for g in [group, after_sales] {
        assert_eq!(g.strategy, Strategy::LongestIdle);
        assert_eq!(g.ring_timeout, Duration::from_secs(20));
        assert_eq!(g.max_no_answer, 3);
        assert_eq!(g.wrap_up, Duration::from_secs(10));
        assert_eq!(g.max_wait, Some(Duration::from_secs(300)));
        assert_eq!(g.overflow, Overflow::Hangup);
        assert!(g.join_empty && !g.leave_empty);
        assert_eq!(g.announce_every, Some(Duration::from_secs(45)));
    }

    let number = directory.service_number("4008001234").unwrap();
    assert_eq!(number.group, Some(group.id));
    assert_eq!(
        number.device,
        directory.device_by_user("1001").map(|d| d.id)
    );
    assert_eq!((number.priority, number.language), (0, Language::ZhCn));

    let logins: Vec<(&str, &str)> = seed
        .agents
        .iter()
        .map(|(n, name, _, _)| (n.as_str(), name.as_str()))
        .collect();
    assert_eq!(logins, [("8001", "张三"), ("8002", "李四")]);
    for ((number, _, web, sip), desk) in seed.agents.iter().zip(["1001", "1002"]) {
        assert_eq!((web.len(), sip.len()), (10, 10));
        assert_ne!(web, sip);
        let a = directory.agent_by_number(number).unwrap();
        assert_eq!(a.bound_device, directory.device_by_user(desk).map(|d| d.id));
        assert_eq!(a.answer_mode, AnswerMode::Device);
        assert_eq!(
            a.groups,
            [
                Membership {
                    group: group.id,
                    level: 1
                },
                Membership {
                    group: after_sales.id,
                    level: 1
                }
            ]
        );
        let soft = directory.device(a.softphone.unwrap()).unwrap();
        assert_eq!(
            (soft.user.as_str(), soft.password.as_str()),
            (number.as_str(), sip.as_str())
        );
        assert!(store.verify_agent_password(number, web).unwrap());
    }
    assert_eq!(
        directory.devices.len(),
        4,
        "two desk phones, two softphone logins"
    );
    drop(store);

    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.seed_demo_if_empty().unwrap(), None);
    assert_eq!(store.load_directory("9").unwrap(), directory, "seeded once");
    assert_eq!(store.demo_seed().unwrap(), Some(seed.clone()));

    // A changed web password is no longer printed; a removed softphone prints empty.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "foreign_keys", "ON").unwrap();
    conn.execute(
        "UPDATE agents SET web_password = '$argon2id$changed' WHERE number = '8001'",
        [],
    )
    .unwrap();
    conn.execute("DELETE FROM devices WHERE user = '8002'", [])
        .unwrap();
    let now = store.demo_seed().unwrap().unwrap();
    assert_eq!(now.devices, seed.devices);
    let mut expected = seed.agents[1].clone();
    expected.3 = String::new();
    assert_eq!(now.agents, [expected]);
}

#[test]
fn a_database_with_devices_is_not_seeded() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&db_in(&dir)).unwrap();
    let dev = NewDevice {
        user: "2001".into(),
        password: "pw".into(),
        name: String::new(),
        static_contact: None,
    };
    store.add_device(&dev).unwrap();
    assert_eq!(store.seed_demo_if_empty().unwrap(), None);
    assert_eq!(store.demo_seed().unwrap(), None);
    let again = store.add_device(&dev).expect_err("a user name is unique");
    assert!(matches!(again, StoreError::Duplicate { .. }), "{again:?}");
}

#[test]
fn trunks_round_trip_with_registration_and_peers() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&db_in(&dir)).unwrap();
    let t = NewTrunk {
        name: "carrier".into(),
        host: "sip.example.net:5060".into(),
        inbound_peers: vec![
            "198.51.100.7".parse().unwrap(),
            "2001:db8::1".parse().unwrap(),
        ],
        outbound_proxy: Some("sip:198.51.100.8:5060".into()),
        register: Some(callbox::core::TrunkRegistration {
            user: "acct".into(),
            password: "secret".into(),
            expires_secs: 600,
        }),
        caller_id: "4008001234".into(),
        codecs: vec![Codec::Pcma],
    };
    let id = store.add_trunk(&t).unwrap();
    assert!(matches!(
        store.add_service_number("555", TrunkId(id.0 + 40), None),
        Err(StoreError::NotFound { .. })
    ));
    store.add_service_number("555", id, None).unwrap();
    let directory = store.load_directory("0").unwrap();
    let got = directory.trunk(id).unwrap();
    assert_eq!(got.inbound_peers, t.inbound_peers);
    assert_eq!(got.register, t.register);
    assert_eq!(got.outbound_proxy, t.outbound_proxy);
    assert_eq!(got.codecs, t.codecs);
    assert_eq!(directory.outbound_prefix, "0");
    assert_eq!(directory.service_number("555").unwrap().device, None);
}

#[test]
fn calls_left_open_by_a_crash_are_closed_as_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&db_in(&dir)).unwrap();
    let open = call(1);
    let mut finished = call(2);
    finished.ended_at = Some(finished.started_at + chrono::Duration::seconds(5));
    finished.hangup_by = Some(HangupBy::Caller);
    finished.end_cause = Some("the caller hung up".into());
    for op in [
        StoreOp::Call(Box::new(open.clone())),
        StoreOp::CallEvent(Box::new(event(1, 0, CallEventKind::Offered))),
        StoreOp::CallEvent(Box::new(event(1, 1, CallEventKind::Answered))),
        StoreOp::Call(Box::new(finished.clone())),
    ] {
        store.apply(&op).unwrap();
    }
    let restart = Utc.with_ymd_and_hms(2025, 3, 1, 10, 0, 0).unwrap();
    assert_eq!(store.close_interrupted_calls(restart).unwrap(), 1);

    let closed = store.call(CallId(1)).unwrap().unwrap();
    assert_eq!(closed.ended_at, Some(restart));
    assert_eq!(closed.hangup_by, Some(HangupBy::System));
    assert!(closed.end_cause.unwrap().starts_with("interrupted"));
    let trail = store.call_events(CallId(1)).unwrap();
    assert_eq!(
        trail.last().map(|e| (e.seq, e.kind.clone())),
        Some((2, CallEventKind::Failed))
    );
    assert_eq!(
        store.call(CallId(2)).unwrap(),
        Some(finished),
        "finished calls are untouched"
    );
    assert_eq!(
        store.close_interrupted_calls(restart).unwrap(),
        0,
        "a second start closes nothing"
    );
}

fn agent(number: &str, name: &str) -> NewAgent {
    NewAgent {
        number: number.into(),
        name: name.into(),
        web_password: "secret-123".into(),
        sip_password: None,
        direct_number: None,
        bound_device: None,
        answer_mode: AnswerMode::Device,
        offline_answering: false,
        allow_fallback: false,
        confirm_direct: true,
    }
}

fn device(user: &str) -> NewDevice {
    NewDevice {
        user: user.into(),
        password: "devpass".into(),
        name: format!("phone {user}"),
        static_contact: None,
    }
}

fn status(agent: AgentId, minute: u32, from: AgentState, to: AgentState) -> AgentStatusRecord {
    AgentStatusRecord {
        agent,
        at: Utc.with_ymd_and_hms(2025, 3, 1, 9, minute, 0).unwrap(),
        from,
        to,
        reason: None,
        cause: StatusCause::Agent,
        detail: format!("minute {minute}"),
        mode: Some(AnswerMode::Device),
        fallback: false,
        offline_answering: false,
        call: None,
    }
}

/// The field an `Invalid` error names, or a panic saying what came instead.
fn invalid_field(r: Result<impl std::fmt::Debug, StoreError>) -> &'static str {
    match r {
        Err(StoreError::Invalid { field, .. }) => field,
        other => panic!("expected StoreError::Invalid, got {other:?}"),
    }
}

#[test]
fn agents_groups_members_and_busy_reasons_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&db_in(&dir)).unwrap();
    let desk = store.add_device(&device("1001")).unwrap();
    let trunk = store
        .add_trunk(&NewTrunk {
            name: "carrier".into(),
            host: "192.0.2.9".into(),
            inbound_peers: vec![],
            outbound_proxy: None,
            register: None,
            caller_id: String::new(),
            codecs: vec![Codec::Pcmu],
        })
        .unwrap();
    store.add_service_number("4001", trunk, Some(desk)).unwrap();

    let mut zhang = agent("8001", "张三");
    zhang.bound_device = Some(desk);
    zhang.sip_password = Some("sip-secret".into());
    zhang.direct_number = Some("+8613800138000".into());
    zhang.offline_answering = true;
    let zhang = store.add_agent(&zhang).unwrap();
    let mut li = agent("8002", "李四");
    li.direct_number = Some("13900139000".into());
    li.answer_mode = AnswerMode::Direct;
    li.allow_fallback = true;
    let li = store.add_agent(&li).unwrap();

    let after_sales = store
        .add_group(&NewGroup {
            strategy: Strategy::TopDown,
            max_wait: Some(Duration::from_secs(120)),
            overflow: Overflow::Number("+8613700137000".into()),
            ..NewGroup::new("售后")
        })
        .unwrap();
    let sales = store
        .add_group(&NewGroup {
            strategy: Strategy::RingAll,
            ring_timeout: Duration::from_secs(30),
            max_no_answer: 0,
            wrap_up: Duration::ZERO,
            max_wait: Some(Duration::from_secs(300)),
            overflow: Overflow::Group(after_sales),
            join_empty: false,
            leave_empty: true,
            announce_every: Some(Duration::from_secs(45)),
            ..NewGroup::new("售前")
        })
        .unwrap();
    // Added out of group order; read back in group order.
    store.add_member(sales, zhang, 1).unwrap();
    store.add_member(after_sales, zhang, 2).unwrap();
    store.add_member(after_sales, li, 1).unwrap();
    store.add_member(after_sales, li, 3).unwrap(); // again: changes the level
    store.set_busy_reasons(&["会议", " 午餐 ", "培训"]).unwrap();
    store
        .set_service_number_queue("4001", Some(sales), 7, Language::En)
        .unwrap();

    let directory = store.load_directory("9").unwrap();
    assert_eq!(directory.busy_reasons, ["会议", "午餐", "培训"]);

    let ids: Vec<AgentId> = directory.agents.iter().map(|a| a.id).collect();
    assert_eq!(ids, [zhang, li]);
    let z = directory.agent(zhang).unwrap();
    assert_eq!((z.number.as_str(), z.name.as_str()), ("8001", "张三"));
    assert_eq!(z.bound_device, Some(desk));
    assert_eq!(z.direct_number.as_deref(), Some("+8613800138000"));
    assert!(z.offline_answering && !z.allow_fallback);
    assert_eq!(z.answer_mode, AnswerMode::Device);
    assert_eq!(
        z.groups,
        [
            Membership {
                group: after_sales,
                level: 2
            },
            Membership {
                group: sales,
                level: 1
            },
        ]
    );
    // The softphone login is a device with user = agent number.
    let soft = directory.device(z.softphone.unwrap()).unwrap();
    assert_eq!(soft.user, "8001");
    assert_eq!(soft.password, "sip-secret");
    assert_eq!(soft.name, "softphone of 张三");
    assert_eq!(
        directory.agent_of_device(soft.id).map(|a| a.id),
        Some(zhang)
    );
    assert_eq!(directory.agent_of_device(desk).map(|a| a.id), Some(zhang));

    let l = directory.agent_by_number("8002").unwrap();
    assert_eq!(l.softphone, None);
    assert_eq!(l.answer_mode, AnswerMode::Direct);
    assert!(l.allow_fallback);
    assert_eq!(
        l.groups,
        [Membership {
            group: after_sales,
            level: 3
        }]
    );

    let gids: Vec<GroupId> = directory.groups.iter().map(|g| g.id).collect();
    assert_eq!(gids, [after_sales, sales]);
    let a = directory.group(after_sales).unwrap();
    assert_eq!(a.name, "售后");
    assert_eq!(a.strategy, Strategy::TopDown);
    assert_eq!(a.ring_timeout, Duration::from_secs(20));
    assert_eq!(a.max_no_answer, 3);
    assert_eq!(a.wrap_up, Duration::from_secs(10));
    assert_eq!(a.overflow, Overflow::Number("+8613700137000".into()));
    assert_eq!(a.announce_every, None);
    assert!(a.join_empty && !a.leave_empty);
    let s = directory.group(sales).unwrap();
    assert_eq!(s.strategy, Strategy::RingAll);
    assert_eq!(s.ring_timeout, Duration::from_secs(30));
    assert_eq!(s.max_no_answer, 0);
    assert_eq!(s.wrap_up, Duration::ZERO);
    assert_eq!(s.max_wait, Some(Duration::from_secs(300)));
    assert_eq!(s.overflow, Overflow::Group(after_sales));
    assert!(!s.join_empty && s.leave_empty);
    assert_eq!(s.announce_every, Some(Duration::from_secs(45)));

    let number = directory.service_number("4001").unwrap();
    assert_eq!(number.group, Some(sales));
    assert_eq!(number.device, Some(desk), "the device is kept");
    assert_eq!((number.priority, number.language), (7, Language::En));

    assert_eq!(
        store.agent_by_number("8002").unwrap(),
        Some((li, "李四".to_owned()))
    );
    assert_eq!(store.agent_by_number("9999").unwrap(), None);

    // A desk phone serves one agent: binding it to 李四 takes it from 张三.
    store.bind_device(li, Some(desk)).unwrap();
    let directory = store.load_directory("9").unwrap();
    assert_eq!(directory.agent(zhang).unwrap().bound_device, None);
    assert_eq!(directory.agent(li).unwrap().bound_device, Some(desk));
    assert_eq!(
        invalid_field(store.bind_device(li, Some(soft.id))),
        "bound_device",
        "a softphone login is not a desk phone"
    );
    assert!(matches!(
        store.bind_device(li, Some(DeviceId(999))),
        Err(StoreError::NotFound { .. })
    ));
    store.bind_device(li, None).unwrap();
    assert_eq!(
        store
            .load_directory("9")
            .unwrap()
            .agent(li)
            .unwrap()
            .bound_device,
        None
    );

    // A removed overflow group leaves nowhere to go: the queue hangs up.
    let conn = rusqlite::Connection::open(db_in(&dir)).unwrap();
    conn.pragma_update(None, "foreign_keys", "ON").unwrap();
    conn.execute("DELETE FROM skill_groups WHERE id = ?1", [after_sales.0])
        .unwrap();
    let directory = store.load_directory("9").unwrap();
    assert_eq!(directory.group(sales).unwrap().overflow, Overflow::Hangup);
    assert_eq!(
        directory.agent(zhang).unwrap().groups,
        [Membership {
            group: sales,
            level: 1
        }]
    );
    assert!(directory.agent(li).unwrap().groups.is_empty());
}

#[test]
fn queue_settings_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&db_in(&dir)).unwrap();
    let g = store.add_group(&NewGroup::new("sales")).unwrap();
    let a = store.add_agent(&agent("8001", "Ann")).unwrap();

    let with = |f: fn(&mut NewGroup)| {
        let mut n = NewGroup::new("other");
        f(&mut n);
        n
    };
    assert_eq!(
        invalid_field(store.add_group(&NewGroup::new("sales"))),
        "name"
    );
    assert_eq!(invalid_field(store.add_group(&NewGroup::new(""))), "name");
    for (bad, name) in [
        (
            with(|g| g.ring_timeout = Duration::from_secs(4)),
            "ring_timeout",
        ),
        (
            with(|g| g.ring_timeout = Duration::from_secs(301)),
            "ring_timeout",
        ),
        (
            with(|g| g.ring_timeout = Duration::from_millis(20_500)),
            "ring_timeout",
        ),
        (with(|g| g.wrap_up = Duration::from_secs(3601)), "wrap_up"),
        (
            with(|g| g.max_wait = Some(Duration::from_secs(9))),
            "max_wait",
        ),
        (
            with(|g| g.max_wait = Some(Duration::from_secs(86_401))),
            "max_wait",
        ),
        (
            with(|g| g.announce_every = Some(Duration::from_secs(5))),
            "announce_every",
        ),
        (
            with(|g| g.overflow = Overflow::Group(GroupId(99))),
            "overflow",
        ),
        (
            with(|g| g.overflow = Overflow::Number("10 02".into())),
            "overflow",
        ),
    ] {
        let err = store.add_group(&bad).expect_err(name);
        assert!(err.to_string().starts_with(&format!("{name}: ")), "{err}");
    }
    assert_eq!(invalid_field(store.add_member(g, a, 0)), "level");
    assert!(matches!(
        store.add_member(GroupId(99), a, 1),
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.add_member(g, AgentId(99), 1),
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        invalid_field(store.set_busy_reasons(&["会议", "会议"])),
        "busy_reasons"
    );
    assert_eq!(
        invalid_field(store.set_busy_reasons(&["  "])),
        "busy_reasons"
    );
    assert!(store.load_directory("9").unwrap().busy_reasons.is_empty());
    store.set_busy_reasons(&["会议"]).unwrap();
    store.set_busy_reasons(&["培训", "午餐"]).unwrap();
    assert_eq!(
        store.load_directory("9").unwrap().busy_reasons,
        ["培训", "午餐"]
    );
    store.set_busy_reasons(&[]).unwrap();
    assert!(store.load_directory("9").unwrap().busy_reasons.is_empty());

    assert!(matches!(
        store.set_service_number_queue("4001", Some(g), 0, Language::ZhCn),
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        invalid_field(store.set_service_number_queue("4001", Some(g), 10, Language::ZhCn)),
        "priority"
    );
}

#[test]
fn web_passwords_are_stored_as_argon2_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(&dir);
    let mut store = Store::open(&path).unwrap();
    store.add_agent(&agent("8001", "Ann")).unwrap();
    let stored: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("SELECT web_password FROM agents", [], |r| r.get(0))
        .unwrap();
    assert!(stored.starts_with("$argon2id$v=19$"), "{stored}");
    assert!(!stored.contains("secret-123"));

    assert!(store.verify_agent_password("8001", "secret-123").unwrap());
    assert!(!store.verify_agent_password("8001", "secret-124").unwrap());
    assert!(!store.verify_agent_password("8001", "").unwrap());
    assert!(!store.verify_agent_password("8002", "secret-123").unwrap());

    // The same password twice gets two salts.
    store.add_agent(&agent("8002", "Bob")).unwrap();
    let hashes: Vec<String> = rusqlite::Connection::open(&path)
        .unwrap()
        .prepare("SELECT web_password FROM agents ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_ne!(hashes[0], hashes[1]);

    // A damaged hash is a clear error, not a failed login.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE agents SET web_password = 'plain' WHERE number = '8002'",
            [],
        )
        .unwrap();
    let err = store
        .verify_agent_password("8002", "secret-123")
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::BadRow {
                table: "agents",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn agent_validation_errors_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&db_in(&dir)).unwrap();
    let taken = store.add_device(&device("8009")).unwrap();
    store.add_agent(&agent("8001", "Ann")).unwrap();

    let with = |f: fn(&mut NewAgent)| {
        let mut a = agent("8005", "Eve");
        f(&mut a);
        a
    };
    let cases = [
        (with(|a| a.number = "80a1".into()), "number"),
        (with(|a| a.number = String::new()), "number"),
        (with(|a| a.number = "12345678901234567".into()), "number"),
        (with(|a| a.number = "8001".into()), "number"),
        (with(|a| a.name = " ".into()), "name"),
        (with(|a| a.name = "x".repeat(65)), "name"),
        (with(|a| a.web_password = "12345".into()), "web_password"),
        (
            with(|a| a.sip_password = Some("123".into())),
            "sip_password",
        ),
        (
            with(|a| a.direct_number = Some("12ab".into())),
            "direct_number",
        ),
        (
            with(|a| a.direct_number = Some("138-0013-8000".into())),
            "direct_number",
        ),
        (
            with(|a| a.direct_number = Some("+86 138".into())),
            "direct_number",
        ),
        (
            with(|a| a.answer_mode = AnswerMode::Direct),
            "direct_number",
        ),
        (with(|a| a.offline_answering = true), "direct_number"),
        (
            with(|a| a.answer_mode = AnswerMode::Softphone),
            "sip_password",
        ),
        (
            with(|a| a.bound_device = Some(DeviceId(99))),
            "bound_device",
        ),
        (
            with(|a| {
                a.number = "8009".into();
                a.sip_password = Some("sip-secret".into());
            }),
            "number",
        ),
    ];
    for (bad, field) in &cases {
        let err = store.add_agent(bad).expect_err(field);
        assert!(
            matches!(&err, StoreError::Invalid { field: f, .. } if f == field),
            "{bad:?}: {err:?}"
        );
        assert!(err.to_string().starts_with(&format!("{field}: ")), "{err}");
    }
    let err = store
        .add_agent(&with(|a| a.direct_number = Some("12ab".into())))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "direct_number: expected E.164 (+8613800138000) or national digits, got \"12ab\""
    );
    let err = store
        .add_agent(&with(|a| a.number = "8001".into()))
        .unwrap_err();
    assert!(err.to_string().contains("8001"), "{err}");
    let err = store
        .add_agent(&with(|a| a.web_password = "abc".into()))
        .unwrap_err();
    assert!(
        !err.to_string().contains("abc"),
        "never echo a password: {err}"
    );

    // A refused softphone leaves nothing behind; the device that clashed is untouched.
    let directory = store.load_directory("9").unwrap();
    assert_eq!(directory.agents.len(), 1);
    assert_eq!(directory.devices.len(), 1);
    assert_eq!(directory.devices[0].id, taken);
    assert_eq!(directory.agent_of_device(taken), None);

    // A desk phone already bound to another agent is refused, not silently moved.
    let desk = store.add_device(&device("1001")).unwrap();
    store
        .add_agent(&NewAgent {
            bound_device: Some(desk),
            ..agent("8002", "Bob")
        })
        .unwrap();
    assert_eq!(
        invalid_field(store.add_agent(&NewAgent {
            bound_device: Some(desk),
            ..agent("8003", "Cat")
        })),
        "bound_device"
    );
}

#[test]
fn agent_status_rows_come_back_in_order_and_the_last_is_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(&dir);
    let mut store = Store::open(&path).unwrap();
    let ann = store.add_agent(&agent("8001", "Ann")).unwrap();
    let bob = store.add_agent(&agent("8002", "Bob")).unwrap();
    let quiet = store.add_agent(&agent("8003", "Cat")).unwrap();
    store.apply(&StoreOp::Call(Box::new(call(5)))).unwrap();

    let login = status(ann, 0, AgentState::Offline, AgentState::Idle);
    store
        .apply(&StoreOp::AgentStatus(Box::new(login.clone())))
        .unwrap();

    // The rest arrive through the writer, mixed with call rows, some with a call id.
    let writer = spawn_writer(&path).unwrap();
    let mut ringing = status(ann, 1, AgentState::Idle, AgentState::Ringing);
    ringing.call = Some(CallId(5));
    ringing.cause = StatusCause::System;
    let mut talking = status(ann, 2, AgentState::Ringing, AgentState::Talking);
    talking.call = Some(CallId(5));
    talking.mode = Some(AnswerMode::Softphone);
    let mut busy = status(ann, 3, AgentState::Talking, AgentState::Busy);
    busy.reason = Some("午餐".into());
    busy.cause = StatusCause::Admin;
    busy.detail = "'); DROP TABLE agents;--".into();
    let mut bob_out = status(bob, 4, AgentState::Idle, AgentState::Offline);
    bob_out.mode = None;
    // A row for an agent that was never added is history too (no foreign key).
    let ghost = status(AgentId(77), 5, AgentState::Offline, AgentState::Idle);
    for op in [
        StoreOp::AgentStatus(Box::new(ringing.clone())),
        StoreOp::Call(Box::new(call(6))),
        StoreOp::AgentStatus(Box::new(talking.clone())),
        StoreOp::AgentStatus(Box::new(bob_out.clone())),
        StoreOp::AgentStatus(Box::new(busy.clone())),
        StoreOp::AgentStatus(Box::new(ghost.clone())),
    ] {
        writer.send(op);
    }
    writer.shutdown();

    assert_eq!(
        store.agent_status_log(ann, 10).unwrap(),
        [login, ringing, talking.clone(), busy.clone()]
    );
    assert_eq!(
        store.agent_status_log(ann, 2).unwrap(),
        [talking, busy.clone()],
        "the newest two, oldest first"
    );
    assert_eq!(store.agent_status_log(ann, 0).unwrap(), []);
    assert_eq!(store.agent_status_log(AgentId(77), 10).unwrap(), [ghost]);
    assert_eq!(store.agent_status_log(quiet, 10).unwrap(), []);
    assert!(store.call(CallId(6)).unwrap().is_some());

    assert_eq!(
        store.agent_snapshots().unwrap(),
        [
            AgentSnapshot {
                agent: ann,
                state: AgentState::Busy,
                reason: Some("午餐".into()),
                mode: Some(AnswerMode::Device),
                fallback: false,
                offline_answering: false,
                since: busy.at,
            },
            AgentSnapshot {
                agent: bob,
                state: AgentState::Offline,
                reason: None,
                mode: None,
                fallback: false,
                offline_answering: false,
                since: bob_out.at,
            },
        ],
        "agents without rows, and rows of unknown agents, give no snapshot"
    );
}

#[test]
fn calls_carry_their_agent_group_and_wait() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&db_in(&dir)).unwrap();
    let mut c = call(1);
    c.agent = Some(AgentId(3));
    c.group = Some(GroupId(2));
    c.wait_secs = Some(42);
    store.apply(&StoreOp::Call(Box::new(c.clone()))).unwrap();
    assert_eq!(store.call(CallId(1)).unwrap(), Some(c.clone()));
    // The upsert rewrites them too.
    c.agent = None;
    c.wait_secs = Some(u32::MAX);
    store.apply(&StoreOp::Call(Box::new(c.clone()))).unwrap();
    assert_eq!(store.recent_calls(5).unwrap(), [c]);
}

#[test]
fn a_0001_database_upgrades_keeping_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(&dir);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    {
        // What callbox 0.1 left behind: schema 1, a device, a trunk, a number, a call.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(include_str!("../src/store/migrations/0001_init.sql"))
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(
            "INSERT INTO devices (user, password, name, created_at)
                 VALUES ('1001', 'pw1001', 'desk', '2025-01-01T00:00:00.000000000Z');
             INSERT INTO trunks (name, host, created_at)
                 VALUES ('carrier', '192.0.2.1', '2025-01-01T00:00:00.000000000Z');
             INSERT INTO service_numbers (number, trunk_id, device_id) VALUES ('4001', 1, 1);
             INSERT INTO calls (id, direction, from_number, to_number, sip_call_id, started_at)
                 VALUES (9, 'inbound', '13800138000', '4001', 'x@y',
                         '2025-01-01T00:00:00.000000000Z');
             INSERT INTO settings (key, value)
                 VALUES ('demo_seeded', '2025-01-01T00:00:00.000000000Z');",
        )
        .unwrap();
    }

    let mut store = Store::open(&path).unwrap();
    assert_eq!(user_version(&path), callbox::store::SCHEMA_VERSION);
    assert_eq!(callbox::store::SCHEMA_VERSION, 12);
    let directory = store.load_directory("9").unwrap();
    assert_eq!(directory.device_by_user("1001").unwrap().password, "pw1001");
    let number = directory.service_number("4001").unwrap();
    assert_eq!(number.device, Some(DeviceId(1)));
    assert_eq!((number.group, number.flow), (None, None));
    assert_eq!((number.priority, number.language), (0, Language::ZhCn));
    assert!(directory.agents.is_empty() && directory.groups.is_empty());
    assert!(directory.flows.is_empty());
    let old = store.call(CallId(9)).unwrap().unwrap();
    assert_eq!(old.from_number, "13800138000");
    assert_eq!((old.agent, old.group, old.wait_secs), (None, None, None));
    assert_eq!(store.next_call_id().unwrap(), 10);
    // Already seeded once: upgrading adds no demo agents.
    assert_eq!(store.seed_demo_if_empty().unwrap(), None);

    // And the new tables work on it.
    let g = store.add_group(&NewGroup::new("sales")).unwrap();
    store
        .set_service_number_queue("4001", Some(g), 1, Language::En)
        .unwrap();
    let menu = store.add_flow(&queue_flow("menu", g)).unwrap();
    store.set_service_number_flow("4001", Some(menu)).unwrap();
    let directory = store.load_directory("9").unwrap();
    let number = directory.service_number("4001").unwrap();
    assert_eq!((number.group, number.flow), (Some(g), Some(menu)));
}

fn node(id: u32, kind: NodeKind) -> Node {
    Node {
        id: NodeId(id),
        kind,
    }
}

/// A one-node flow that queues for `group`.
fn queue_flow(name: &str, group: GroupId) -> NewFlow {
    NewFlow {
        name: name.into(),
        start: NodeId(1),
        nodes: vec![node(1, NodeKind::Queue { group })],
    }
}

/// A flow with every kind of node: the hotline of the seed, more or less.
fn every_node_flow(group: GroupId) -> NewFlow {
    let prompts = |p: &[&str]| p.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>();
    NewFlow {
        name: "热线 hotline".into(),
        start: NodeId(10),
        nodes: vec![
            node(
                10,
                NodeKind::Hours {
                    schedule: vec![
                        OpenHours {
                            day: Weekday::Mon,
                            from: 9 * 60,
                            to: 18 * 60,
                        },
                        OpenHours {
                            day: Weekday::Sat,
                            from: 10 * 60,
                            to: 12 * 60 + 30,
                        },
                    ],
                    holidays: vec![NaiveDate::from_ymd_opt(2025, 10, 1).unwrap()],
                    open: NodeId(1),
                    closed: NodeId(9),
                },
            ),
            node(
                1,
                NodeKind::Menu {
                    prompts: prompts(&["welcome_menu", "menu_2"]),
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
                            key: '3',
                            next: NodeId(4),
                        },
                        Choice {
                            key: '*',
                            next: NodeId(5),
                        },
                        Choice {
                            key: '#',
                            next: NodeId(6),
                        },
                        Choice {
                            key: '0',
                            next: NodeId(11),
                        },
                    ],
                    timeout_secs: 8,
                    retries: 2,
                    fail: None,
                },
            ),
            node(2, NodeKind::Queue { group }),
            node(
                3,
                NodeKind::Collect {
                    prompts: prompts(&["enter_agent_number"]),
                    max_digits: 6,
                    timeout_secs: 10,
                    retries: 1,
                    next: NodeId(7),
                    fail: Some(NodeId(9)),
                },
            ),
            node(4, NodeKind::Continue),
            node(
                5,
                NodeKind::Play {
                    prompts: prompts(&["thanks"]),
                    next: Some(NodeId(1)),
                },
            ),
            node(
                6,
                NodeKind::Play {
                    prompts: vec![],
                    next: None,
                },
            ),
            node(
                7,
                NodeKind::Agent {
                    action: AgentAction::SignInHere,
                    ok: NodeId(8),
                    unknown: NodeId(12),
                },
            ),
            node(
                8,
                NodeKind::Agent {
                    action: AgentAction::Bind,
                    ok: NodeId(9),
                    unknown: NodeId(9),
                },
            ),
            node(
                9,
                NodeKind::Hangup {
                    prompts: prompts(&["goodbye"]),
                },
            ),
            node(
                11,
                NodeKind::TransferNumber {
                    number: Some("+8613800138000".into()),
                },
            ),
            node(12, NodeKind::TransferAgent { agent: None }),
            node(
                13,
                NodeKind::TransferAgent {
                    agent: Some("8001".into()),
                },
            ),
            node(14, NodeKind::TransferNumber { number: None }),
            node(15, NodeKind::Hangup { prompts: vec![] }),
            node(
                16,
                NodeKind::Agent {
                    action: AgentAction::SignInDirect,
                    ok: NodeId(17),
                    unknown: NodeId(18),
                },
            ),
            node(
                17,
                NodeKind::Agent {
                    action: AgentAction::SignOut,
                    ok: NodeId(18),
                    unknown: NodeId(18),
                },
            ),
            node(
                18,
                NodeKind::Agent {
                    action: AgentAction::ReadBinding,
                    ok: NodeId(9),
                    unknown: NodeId(9),
                },
            ),
        ],
    }
}

#[test]
fn a_flow_with_every_node_kind_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(&dir);
    let mut store = Store::open(&path).unwrap();
    let g = store.add_group(&NewGroup::new("sales")).unwrap();
    let new = every_node_flow(g);
    let id = store.add_flow(&new).unwrap();

    let expected = Flow {
        id,
        name: new.name.clone(),
        start: new.start,
        nodes: new.nodes.clone(),
    };
    let directory = store.load_directory("9").unwrap();
    assert_eq!(directory.flows, std::slice::from_ref(&expected));
    assert_eq!(directory.flow(id), Some(&expected));
    assert_eq!(store.flow_by_name("热线 hotline").unwrap(), Some(id));
    assert_eq!(store.flow_by_name("hotline").unwrap(), None);

    // Stored as serde_json writes the nodes: tagged, readable in the sqlite3 shell.
    let (start, json): (i64, String) = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT start_node, nodes FROM ivr_flows WHERE id = ?1",
            [id.0],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(start, 10);
    assert_eq!(json, serde_json::to_string(&new.nodes).unwrap());
    assert!(json.contains(r#""type":"menu""#), "{json}");
    assert!(json.contains(r#""holidays":["2025-10-01"]"#), "{json}");

    // A second flow comes after it; a taken name is refused.
    let second = store.add_flow(&queue_flow("second", g)).unwrap();
    assert!(second > id);
    assert_eq!(
        invalid_field(store.add_flow(&queue_flow("热线 hotline", g))),
        "name"
    );
    let ids: Vec<FlowId> = store
        .load_directory("9")
        .unwrap()
        .flows
        .iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(ids, [id, second]);

    // Replacing rewrites it whole and keeps its id.
    let mut changed = queue_flow("renamed", g);
    changed.nodes.push(node(2, NodeKind::Continue));
    changed.start = NodeId(2);
    store.replace_flow(id, &changed).unwrap();
    let directory = store.load_directory("9").unwrap();
    assert_eq!(
        directory.flow(id),
        Some(&Flow {
            id,
            name: "renamed".into(),
            start: NodeId(2),
            nodes: changed.nodes.clone(),
        })
    );
    assert_eq!(
        invalid_field(store.replace_flow(id, &queue_flow("second", g))),
        "name"
    );
    assert!(matches!(
        store.replace_flow(FlowId(99), &queue_flow("x", g)),
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.load_directory("9").unwrap(), directory);
}

#[test]
fn invalid_flows_are_refused_naming_nodes_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&db_in(&dir)).unwrap();
    let g = store.add_group(&NewGroup::new("sales")).unwrap();
    let good = store.add_flow(&queue_flow("good", g)).unwrap();
    let before = store.load_directory("9").unwrap();
    let version = store.directory_version().unwrap();

    let with = |f: &dyn Fn(&mut NewFlow)| {
        let mut n = every_node_flow(g);
        f(&mut n);
        n
    };
    let dangling = with(&|f| {
        f.nodes.push(node(
            20,
            NodeKind::Play {
                prompts: vec![],
                next: Some(NodeId(42)),
            },
        ))
    });
    let missing_group = with(&|f| {
        f.nodes
            .push(node(21, NodeKind::Queue { group: GroupId(77) }))
    });
    let bad_prompt = with(&|f| {
        f.nodes.push(node(
            22,
            NodeKind::Hangup {
                prompts: vec!["../../etc/passwd".into()],
            },
        ))
    });
    let long_prompt = with(&|f| {
        f.nodes.push(node(
            23,
            NodeKind::Play {
                prompts: vec!["a".repeat(65)],
                next: None,
            },
        ))
    });
    let twice = with(&|f| f.nodes.push(node(9, NodeKind::Continue)));
    let no_start = with(&|f| f.start = NodeId(99));
    let bad_key = with(&|f| {
        f.nodes.push(node(
            24,
            NodeKind::Menu {
                prompts: vec![],
                choices: vec![Choice {
                    key: 'x',
                    next: NodeId(9),
                }],
                timeout_secs: 5,
                retries: 0,
                fail: None,
            },
        ))
    });
    let bad_hours = with(&|f| {
        f.nodes.push(node(
            25,
            NodeKind::Hours {
                schedule: vec![OpenHours {
                    day: Weekday::Sun,
                    from: 18 * 60,
                    to: 9 * 60,
                }],
                holidays: vec![],
                open: NodeId(9),
                closed: NodeId(9),
            },
        ))
    });
    let empty = NewFlow {
        name: "empty".into(),
        start: NodeId(1),
        nodes: vec![],
    };
    let cases: [(&NewFlow, &str, &[&str]); 9] = [
        (&dangling, "nodes", &["node 20", "node 42"]),
        (&missing_group, "nodes", &["node 21", "group 77"]),
        (&bad_prompt, "nodes", &["node 22", "../../etc/passwd"]),
        (&long_prompt, "nodes", &["node 23"]),
        (&twice, "nodes", &["node 9"]),
        (&no_start, "nodes", &["node 99"]),
        (&bad_key, "nodes", &["node 24"]),
        (&bad_hours, "nodes", &["node 25"]),
        (&empty, "nodes", &["at least one node"]),
    ];
    for (bad, field, words) in cases {
        let err = store.add_flow(bad).expect_err(field);
        assert!(
            matches!(&err, StoreError::Invalid { field: f, .. } if *f == field),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(text.starts_with(&format!("{field}: ")), "{text}");
        for w in words {
            assert!(text.contains(w), "{text:?} should name {w:?}");
        }
        // Replacing a good flow with a bad one is refused the same way.
        assert_eq!(invalid_field(store.replace_flow(good, bad)), field);
    }
    for name in ["", "  ", &"流".repeat(65)] {
        let bad = NewFlow {
            name: name.to_owned(),
            ..every_node_flow(g)
        };
        assert_eq!(invalid_field(store.add_flow(&bad)), "name", "{name:?}");
    }

    assert_eq!(
        store.load_directory("9").unwrap(),
        before,
        "nothing written"
    );
    assert_eq!(store.directory_version().unwrap(), version);
}

#[test]
fn a_damaged_flow_row_is_a_bad_row_naming_the_flow() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(&dir);
    let mut store = Store::open(&path).unwrap();
    let g = store.add_group(&NewGroup::new("sales")).unwrap();
    let id = store.add_flow(&queue_flow("夜间", g)).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    for damage in [
        r#"[{"id": 1, "type": "teleport"}]"#,
        r#"[{"id": 1, "type": "queue"}]"#,
        r#"[{"id": -1, "type": "continue"}]"#,
        r#"[{"id": 1, "type": "queue", "group": 1, "colour": "red"}]"#,
        r#"[{"id": 2, "type": "continue"}]"#,
        "[]",
    ] {
        conn.execute(
            "UPDATE ivr_flows SET nodes = ?2 WHERE id = ?1",
            rusqlite::params![id.0, damage],
        )
        .unwrap();
        match store.load_directory("9") {
            Err(StoreError::BadRow { table, key, what }) => {
                assert_eq!(table, "ivr_flows");
                assert!(
                    key.contains("夜间") && key.contains(&id.0.to_string()),
                    "{key}"
                );
                assert!(what.starts_with("nodes: "), "{what}");
            }
            other => panic!("{damage}: expected BadRow, got {other:?}"),
        }
    }
    // Text that is not a JSON array never gets in at all.
    assert!(
        conn.execute("UPDATE ivr_flows SET nodes = 'not json'", [])
            .is_err()
    );
    assert!(
        conn.execute("UPDATE ivr_flows SET nodes = '{}'", [])
            .is_err()
    );
}

#[test]
fn service_numbers_and_queue_exits_lead_into_flows() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(&dir);
    let mut store = Store::open(&path).unwrap();
    let desk = store.add_device(&device("1001")).unwrap();
    let trunk = store
        .add_trunk(&NewTrunk {
            name: "carrier".into(),
            host: "192.0.2.9".into(),
            inbound_peers: vec![],
            outbound_proxy: None,
            register: None,
            caller_id: String::new(),
            codecs: vec![Codec::Pcmu],
        })
        .unwrap();
    store.add_service_number("4001", trunk, Some(desk)).unwrap();
    let sales = store.add_group(&NewGroup::new("sales")).unwrap();
    let support = store.add_group(&NewGroup::new("support")).unwrap();
    store
        .set_service_number_queue("4001", Some(sales), 2, Language::En)
        .unwrap();
    let menu = store.add_flow(&every_node_flow(sales)).unwrap();
    let night = store.add_flow(&queue_flow("night", support)).unwrap();

    store.set_service_number_flow("4001", Some(menu)).unwrap();
    store.set_queue_exit(sales, Some(('*', menu))).unwrap();
    store.set_queue_exit(support, Some(('0', night))).unwrap();
    store.set_queue_exit(support, Some(('#', menu))).unwrap(); // again: replaces
    let directory = store.load_directory("9").unwrap();
    let number = directory.service_number("4001").unwrap();
    assert_eq!(number.flow, Some(menu));
    assert_eq!(
        (
            number.group,
            number.device,
            number.priority,
            number.language
        ),
        (Some(sales), Some(desk), 2, Language::En),
        "the queue and the device are kept"
    );
    assert_eq!(
        directory.group(sales).unwrap().exit,
        Some(QueueExit {
            key: '*',
            flow: menu
        })
    );
    assert_eq!(
        directory.group(support).unwrap().exit,
        Some(QueueExit {
            key: '#',
            flow: menu
        })
    );

    // Refusals name what is wrong and change nothing.
    assert_eq!(
        invalid_field(store.set_queue_exit(sales, Some(('a', night)))),
        "exit_key"
    );
    for bad in [
        store.set_queue_exit(GroupId(99), Some(('*', menu))),
        store.set_queue_exit(sales, Some(('*', FlowId(99)))),
        store.set_service_number_flow("4001", Some(FlowId(99))),
        store.set_service_number_flow("4999", Some(menu)),
    ] {
        assert!(matches!(bad, Err(StoreError::NotFound { .. })), "{bad:?}");
    }
    assert_eq!(store.load_directory("9").unwrap(), directory);

    // None takes them away again.
    store.set_service_number_flow("4001", None).unwrap();
    store.set_queue_exit(sales, None).unwrap();
    let directory = store.load_directory("9").unwrap();
    assert_eq!(directory.service_number("4001").unwrap().flow, None);
    assert_eq!(directory.group(sales).unwrap().exit, None);
    assert_eq!(directory.service_number("4001").unwrap().group, Some(sales));

    // Removing a flow (in the sqlite3 shell, say) takes it off numbers and queues.
    store.set_service_number_flow("4001", Some(menu)).unwrap();
    store.set_queue_exit(sales, Some(('*', menu))).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "foreign_keys", "ON").unwrap();
    conn.execute("DELETE FROM ivr_flows WHERE id = ?1", [menu.0])
        .unwrap();
    let directory = store.load_directory("9").unwrap();
    assert_eq!(directory.service_number("4001").unwrap().flow, None);
    assert_eq!(directory.group(sales).unwrap().exit, None);
    assert_eq!(directory.group(support).unwrap().exit, None);
    assert_eq!(
        directory.flows.iter().map(|f| f.id).collect::<Vec<_>>(),
        [night]
    );
    // A queue node whose group is removed still loads: routing treats it as gone.
    conn.execute("DELETE FROM skill_groups WHERE id = ?1", [support.0])
        .unwrap();
    assert_eq!(
        store
            .load_directory("9")
            .unwrap()
            .flow(night)
            .unwrap()
            .nodes,
        [node(1, NodeKind::Queue { group: support })]
    );
}

#[test]
fn bind_device_through_the_writer_moves_a_phone_between_agents() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(&dir);
    let mut store = Store::open(&path).unwrap();
    let desk = store.add_device(&device("1001")).unwrap();
    let ann = store
        .add_agent(&NewAgent {
            bound_device: Some(desk),
            ..agent("8001", "Ann")
        })
        .unwrap();
    let bob = store.add_agent(&agent("8002", "Bob")).unwrap();
    let soft = store
        .add_agent(&NewAgent {
            sip_password: Some("sip-secret".into()),
            ..agent("8003", "Cat")
        })
        .unwrap();
    let cat_softphone = store
        .load_directory("9")
        .unwrap()
        .agent(soft)
        .unwrap()
        .softphone
        .unwrap();
    let version = store.directory_version().unwrap();

    let writer = spawn_writer(&path).unwrap();
    for op in [
        StoreOp::Call(Box::new(call(1))),
        StoreOp::BindDevice {
            agent: bob,
            device: desk,
        },
        // Refused (an unknown agent; a softphone login as a desk phone): logged and
        // skipped, the rows around them still land.
        StoreOp::BindDevice {
            agent: AgentId(99),
            device: desk,
        },
        StoreOp::BindDevice {
            agent: ann,
            device: cat_softphone,
        },
        StoreOp::Call(Box::new(call(2))),
    ] {
        writer.send(op);
    }
    writer.shutdown();

    let directory = store.load_directory("9").unwrap();
    assert_eq!(directory.agent(ann).unwrap().bound_device, None);
    assert_eq!(directory.agent(bob).unwrap().bound_device, Some(desk));
    assert_eq!(directory.agent_of_device(desk).map(|a| a.id), Some(bob));
    assert_eq!(directory.agent(soft).unwrap().bound_device, None);
    assert!(store.call(CallId(1)).unwrap().is_some());
    assert!(store.call(CallId(2)).unwrap().is_some());
    assert!(
        store.directory_version().unwrap() > version,
        "the daemon reloads and sees the new binding"
    );

    // Binding it back to the same agent again is harmless.
    let writer = spawn_writer(&path).unwrap();
    for _ in 0..2 {
        writer.send(StoreOp::BindDevice {
            agent: ann,
            device: desk,
        });
    }
    writer.shutdown();
    let directory = store.load_directory("9").unwrap();
    assert_eq!(directory.agent(ann).unwrap().bound_device, Some(desk));
    assert_eq!(directory.agent(bob).unwrap().bound_device, None);
}

#[test]
fn the_directory_version_moves_when_flows_change() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&db_in(&dir)).unwrap();
    let g = store.add_group(&NewGroup::new("sales")).unwrap();
    let mut last = store.directory_version().unwrap();
    let mut moved = |store: &Store, what: &str| {
        let now = store.directory_version().unwrap();
        assert!(now > last, "{what}: {now} after {last}");
        last = now;
    };
    let f = store.add_flow(&queue_flow("menu", g)).unwrap();
    moved(&store, "add_flow");
    store.replace_flow(f, &queue_flow("menu 2", g)).unwrap();
    moved(&store, "replace_flow");
    store.set_queue_exit(g, Some(('*', f))).unwrap();
    moved(&store, "set_queue_exit");
    store.set_queue_exit(g, None).unwrap();
    moved(&store, "set_queue_exit(None)");
}

#[test]
fn demo_routes_its_number_through_a_menu_to_two_queues_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(&dir);
    let mut store = Store::open(&path).unwrap();
    store.seed_demo_if_empty().unwrap().unwrap();
    let directory = store.load_directory("9").unwrap();

    let presales = directory
        .groups
        .iter()
        .find(|g| g.name == "售前咨询")
        .unwrap();
    let after_sales = directory
        .groups
        .iter()
        .find(|g| g.name == "售后服务")
        .unwrap();
    assert_eq!(directory.flows.len(), 1);
    let flow = &directory.flows[0];
    assert_eq!(store.flow_by_name("默认流程").unwrap(), Some(flow.id));
    assert_eq!(
        *flow,
        Flow {
            id: flow.id,
            name: "默认流程".into(),
            start: NodeId(1),
            nodes: vec![
                node(
                    1,
                    NodeKind::Menu {
                        prompts: vec!["welcome_menu".into()],
                        choices: vec![
                            Choice {
                                key: '1',
                                next: NodeId(2)
                            },
                            Choice {
                                key: '2',
                                next: NodeId(3)
                            },
                        ],
                        timeout_secs: 8,
                        retries: 2,
                        fail: Some(NodeId(2)),
                    }
                ),
                node(2, NodeKind::Queue { group: presales.id }),
                node(
                    3,
                    NodeKind::Queue {
                        group: after_sales.id
                    }
                ),
            ],
        }
    );
    let number = directory.service_number("4008001234").unwrap();
    assert_eq!(number.flow, Some(flow.id));
    assert_eq!(number.group, Some(presales.id), "the group is kept");
    assert_eq!(
        number.device,
        directory.device_by_user("1001").map(|d| d.id),
        "the device is kept"
    );
    assert_eq!(
        presales.exit,
        Some(QueueExit {
            key: '*',
            flow: flow.id
        })
    );
    assert_eq!(after_sales.exit, None);
    drop(store);

    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.seed_demo_if_empty().unwrap(), None);
    assert_eq!(store.load_directory("9").unwrap(), directory, "seeded once");

    // A database that only ever held a flow is not empty either.
    let other = tempfile::tempdir().unwrap();
    let mut store = Store::open(&db_in(&other)).unwrap();
    store
        .add_flow(&NewFlow {
            name: "closed".into(),
            start: NodeId(1),
            nodes: vec![node(1, NodeKind::Hangup { prompts: vec![] })],
        })
        .unwrap();
    assert_eq!(store.seed_demo_if_empty().unwrap(), None);
}

#[test]
fn calls_carry_their_hold_time_and_survey_score() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(&dir);
    let mut store = Store::open(&path).unwrap();
    let mut c = call(1);
    store.apply(&StoreOp::Call(Box::new(c.clone()))).unwrap();
    let back = store.call(CallId(1)).unwrap().unwrap();
    assert_eq!((back.hold_secs, back.survey_score), (0, None));
    c.hold_secs = 95;
    c.survey_score = Some(9);
    store.apply(&StoreOp::Call(Box::new(c.clone()))).unwrap();
    assert_eq!(store.call(CallId(1)).unwrap(), Some(c.clone()));
    // The upsert rewrites them too, down to zero and no score.
    c.hold_secs = 0;
    c.survey_score = Some(0);
    store.apply(&StoreOp::Call(Box::new(c.clone()))).unwrap();
    assert_eq!(store.recent_calls(5).unwrap(), [c.clone()]);
    c.survey_score = None;
    c.hold_secs = u32::MAX;
    store.apply(&StoreOp::Call(Box::new(c.clone()))).unwrap();
    assert_eq!(store.call(CallId(1)).unwrap(), Some(c));

    // The schema refuses what the switchboard never writes.
    let conn = rusqlite::Connection::open(&path).unwrap();
    for bad in [
        "UPDATE calls SET survey_score = 10",
        "UPDATE calls SET survey_score = -1",
        "UPDATE calls SET hold_secs = -1",
        "UPDATE calls SET hold_secs = NULL",
    ] {
        assert!(conn.execute(bad, []).is_err(), "{bad}");
    }
}

fn pin_hashes(path: &Path) -> Vec<(String, Option<String>)> {
    rusqlite::Connection::open(path)
        .unwrap()
        .prepare("SELECT number, pin_hash FROM customers ORDER BY number")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn customer_pins_are_stored_as_light_argon2_hashes_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(&dir);
    let mut store = Store::open(&path).unwrap();
    store.set_customer_vip("+8613812345678", true).unwrap();
    let v0 = store.directory_version().unwrap();
    store.set_customer_pin("+8613812345678", "135790").unwrap();
    let v1 = store.directory_version().unwrap();
    assert!(v1 > v0, "setting a PIN reloads the directory");
    store.set_customer_pin(" 13900001111 ", "0000").unwrap();

    let stored = pin_hashes(&path);
    assert_eq!(stored.len(), 2);
    for (number, hash) in &stored {
        let hash = hash.as_deref().unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=4096,t=1,p=1$"),
            "{number}: {hash}"
        );
        for digits in ["135790", "0000"] {
            assert_ne!(hash, digits);
            assert!(!hash.contains(digits), "{number}: {hash}");
        }
    }

    let d = store.load_directory("9").unwrap();
    assert_eq!(d.vip_numbers, ["+8613812345678"], "the VIP mark is kept");
    let numbers: Vec<&str> = d.customer_pins.iter().map(|p| p.number.as_str()).collect();
    assert_eq!(numbers, ["+8613812345678", "13900001111"]);
    let hash = d.customer_pin("+8613812345678").unwrap();
    assert!(verify_pin(hash, "135790"));
    assert!(!verify_pin(hash, "135791"));
    assert!(!verify_pin(hash, "0000"));
    assert!(!verify_pin(hash, "13579"));
    assert!(verify_pin(d.customer_pin("13900001111").unwrap(), "0000"));
    assert!(d.customer_pin("13900002222").is_none());

    // A new PIN replaces the old one.
    store.set_customer_pin("+8613812345678", "24680").unwrap();
    let d = store.load_directory("9").unwrap();
    let hash = d.customer_pin("+8613812345678").unwrap();
    assert!(verify_pin(hash, "24680") && !verify_pin(hash, "135790"));

    // Refusals name the field and never echo the digits; nothing is written.
    for (number, pin, field) in [
        ("+8613812345678", "123", "pin"),
        ("+8613812345678", "1234567890123", "pin"),
        ("+8613812345678", "12a456", "pin"),
        ("+8613812345678", "", "pin"),
        ("12ab", "987654", "number"),
        ("", "987654", "number"),
    ] {
        let err = store.set_customer_pin(number, pin);
        let text = format!("{}", err.as_ref().unwrap_err());
        assert_eq!(invalid_field(err), field, "{number:?} {pin:?}");
        assert!(pin.len() < 4 || !text.contains(pin), "{text}");
    }
    let d = store.load_directory("9").unwrap();
    assert!(verify_pin(
        d.customer_pin("+8613812345678").unwrap(),
        "24680"
    ));
    assert_eq!(d.customer_pins.len(), 2);

    // Clearing: true when there was one, the customer (and VIP mark) stays.
    let v2 = store.directory_version().unwrap();
    assert!(store.clear_customer_pin("+8613812345678").unwrap());
    assert!(store.directory_version().unwrap() > v2);
    assert!(!store.clear_customer_pin("+8613812345678").unwrap());
    assert!(!store.clear_customer_pin("13900002222").unwrap());
    assert_eq!(invalid_field(store.clear_customer_pin("12ab")), "number");
    let d = store.load_directory("9").unwrap();
    assert_eq!(d.customer_pins.len(), 1);
    assert!(d.customer_pin("+8613812345678").is_none());
    assert_eq!(d.vip_numbers, ["+8613812345678"]);

    // The schema keeps digits typed in by hand out of the PIN column.
    let conn = rusqlite::Connection::open(&path).unwrap();
    assert!(
        conn.execute(
            "UPDATE customers SET pin_hash = '1234' WHERE number = '13900001111'",
            []
        )
        .is_err()
    );
}

#[test]
fn supervisors_are_set_by_agent_number_and_reload_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&db_in(&dir)).unwrap();
    let ann = store.add_agent(&agent("8001", "Ann")).unwrap();
    let bob = store.add_agent(&agent("8002", "Bob")).unwrap();
    let d = store.load_directory("9").unwrap();
    assert!(!d.agent(ann).unwrap().supervisor && !d.agent(bob).unwrap().supervisor);

    let v0 = store.directory_version().unwrap();
    store.set_supervisor("8001", true).unwrap();
    assert!(store.directory_version().unwrap() > v0);
    let d = store.load_directory("9").unwrap();
    assert!(d.agent(ann).unwrap().supervisor);
    assert!(!d.agent(bob).unwrap().supervisor);

    store.set_supervisor("8001", false).unwrap();
    assert!(
        !store
            .load_directory("9")
            .unwrap()
            .agent(ann)
            .unwrap()
            .supervisor
    );
    let err = store.set_supervisor("8009", true).unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound { what: "agent", .. }),
        "{err:?}"
    );
}

fn audit(minute: u32, actor: &str, action: &str, call: Option<i64>) -> AuditRecord {
    AuditRecord {
        at: Utc.with_ymd_and_hms(2025, 3, 1, 10, minute, 0).unwrap(),
        actor: actor.into(),
        action: action.into(),
        call: call.map(CallId),
        detail: format!("{actor} {action} at minute {minute}"),
    }
}

#[test]
fn audit_rows_come_back_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(&dir);
    let mut store = Store::open(&path).unwrap();
    assert!(store.audit_log(10).unwrap().is_empty());
    let v0 = store.directory_version().unwrap();
    let first = audit(1, "8001", "listen", Some(7));
    store
        .apply(&StoreOp::Audit(Box::new(first.clone())))
        .unwrap();
    // Through the writer, as the switchboard sends them; one names no call, and its
    // call need not exist (the log outlives calls).
    let writer = spawn_writer(&path).unwrap();
    let second = audit(2, "8001", "barge", Some(7));
    let third = audit(3, "admin", "'; DROP TABLE audit_log; --", None);
    writer.send(StoreOp::Audit(Box::new(second.clone())));
    writer.send(StoreOp::Audit(Box::new(third.clone())));
    writer.shutdown();

    assert_eq!(
        store.audit_log(10).unwrap(),
        [third.clone(), second.clone(), first]
    );
    assert_eq!(store.audit_log(2).unwrap(), [third, second]);
    assert_eq!(
        store.directory_version().unwrap(),
        v0,
        "the audit log is history, not routing"
    );
}

#[test]
fn agent_calls_are_the_agents_own_newest_first_within_the_range() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&db_in(&dir)).unwrap();
    let ann = store.add_agent(&agent("8001", "Ann")).unwrap();
    let bob = store.add_agent(&agent("8002", "Bob")).unwrap();
    store.add_agent(&agent("8003", "Cat")).unwrap();
    let at = |day: u32, hour: u32| Utc.with_ymd_and_hms(2025, 3, day, hour, 0, 0).unwrap();
    let mut calls = Vec::new();
    for (id, who, start) in [
        (1, Some(ann), at(1, 9)),
        (2, Some(bob), at(1, 10)),
        (3, Some(ann), at(2, 9)),
        (4, None, at(2, 10)),
        (5, Some(ann), at(3, 9)),
        (6, Some(ann), at(3, 9)),
    ] {
        let mut c = call(id);
        c.agent = who;
        c.started_at = start;
        c.hold_secs = u32::try_from(id).unwrap() * 10;
        c.survey_score = Some(u8::try_from(id).unwrap());
        store.apply(&StoreOp::Call(Box::new(c.clone()))).unwrap();
        calls.push(c);
    }
    let ids = |v: Vec<CallRecord>| v.iter().map(|c| c.id.0).collect::<Vec<_>>();

    // Newest first; the same start time falls back to the newer id.
    assert_eq!(
        ids(store.agent_calls("8001", None, None, 10).unwrap()),
        [6, 5, 3, 1]
    );
    assert_eq!(
        store.agent_calls("8001", None, None, 10).unwrap()[3],
        calls[0]
    );
    assert_eq!(ids(store.agent_calls("8002", None, None, 10).unwrap()), [2]);
    assert!(
        store
            .agent_calls("8003", None, None, 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ids(store.agent_calls("8001", None, None, 2).unwrap()),
        [6, 5]
    );
    // since is inclusive, until exclusive.
    assert_eq!(
        ids(store.agent_calls("8001", Some(at(2, 9)), None, 10).unwrap()),
        [6, 5, 3]
    );
    assert_eq!(
        ids(store.agent_calls("8001", None, Some(at(3, 9)), 10).unwrap()),
        [3, 1]
    );
    assert_eq!(
        ids(store
            .agent_calls("8001", Some(at(1, 10)), Some(at(3, 0)), 10)
            .unwrap()),
        [3]
    );
    let err = store.agent_calls("8009", None, None, 10).unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound { what: "agent", .. }),
        "{err:?}"
    );
}

#[test]
fn a_0005_database_upgrades_to_in_call_controls_keeping_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_in(&dir);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    {
        // What the previous callbox left behind: schema 5, an agent, a VIP, a call.
        let conn = rusqlite::Connection::open(&path).unwrap();
        for sql in [
            include_str!("../src/store/migrations/0001_init.sql"),
            include_str!("../src/store/migrations/0002_agents.sql"),
            include_str!("../src/store/migrations/0003_directory_version.sql"),
            include_str!("../src/store/migrations/0004_ivr.sql"),
            include_str!("../src/store/migrations/0005_customers_prompts.sql"),
        ] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 5).unwrap();
        conn.execute_batch(
            "INSERT INTO agents (number, name, web_password, created_at)
                 VALUES ('8001', 'Ann', '$argon2id$v=19$x', '2025-01-01T00:00:00.000000000Z');
             INSERT INTO customers (number, vip, created_at)
                 VALUES ('13800138000', 1, '2025-01-01T00:00:00.000000000Z');
             INSERT INTO calls (id, direction, from_number, to_number, sip_call_id, started_at,
                                agent_id, wait_secs)
                 VALUES (9, 'inbound', '13800138000', '4001', 'x@y',
                         '2025-01-01T00:00:00.000000000Z', 1, 12);
             INSERT INTO settings (key, value)
                 VALUES ('demo_seeded', '2025-01-01T00:00:00.000000000Z');",
        )
        .unwrap();
    }

    let mut store = Store::open(&path).unwrap();
    assert_eq!(user_version(&path), callbox::store::SCHEMA_VERSION);
    let old = store.call(CallId(9)).unwrap().unwrap();
    assert_eq!(
        (old.wait_secs, old.hold_secs, old.survey_score),
        (Some(12), 0, None)
    );
    let calls = store.agent_calls("8001", None, None, 10).unwrap();
    assert_eq!(calls, [old]);
    let d = store.load_directory("9").unwrap();
    assert!(!d.agents[0].supervisor);
    assert_eq!(d.vip_numbers, ["13800138000"]);
    assert!(d.customer_pins.is_empty());
    assert!(store.audit_log(10).unwrap().is_empty());

    // And the new columns and table work on it.
    store.set_supervisor("8001", true).unwrap();
    store.set_customer_pin("13800138000", "8642").unwrap();
    store
        .apply(&StoreOp::Audit(Box::new(audit(
            1,
            "8001",
            "whisper",
            Some(9),
        ))))
        .unwrap();
    let d = store.load_directory("9").unwrap();
    assert!(d.agents[0].supervisor);
    assert!(verify_pin(d.customer_pin("13800138000").unwrap(), "8642"));
    assert_eq!(d.vip_numbers, ["13800138000"]);
    assert_eq!(store.audit_log(10).unwrap().len(), 1);
}
