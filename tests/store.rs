//! The store on a real SQLite file in a temporary directory: migrations, refusing a
//! newer database, call rows and their trail, hostile text, the writer thread, and
//! the demo seed.

use std::path::{Path, PathBuf};

use callbox::core::{
    CallDirection, CallEventKind, CallEventRecord, CallId, CallRecord, Codec, DeviceId, HangupBy,
    StoreOp, TrunkId,
};
use callbox::store::{NewDevice, NewTrunk, Store, StoreError, spawn_writer};
use chrono::{TimeZone, Utc};

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
