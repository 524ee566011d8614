//! Calls after the fact over HTTP against the running daemon (S16-S18): the advanced
//! query's every filter, bad parameters named, missed calls and their reasons, agents
//! kept to their own calls and recordings, and exports to CSV and XLSX whose rows are
//! the query's, 100,000 rows included.
//!
//! Calls are written through the store before the daemon starts (the rows the
//! switchboard would write, on the real SQLite file), and one real call is placed
//! and recorded: sipp as the carrier, baresip as the agent's desk phone sending a
//! 1000 Hz tone, found again in the WAV the agent downloads.
//!
//! The tricky part: recordings and exports are binary, so they are fetched with a
//! small HTTP reader of bytes here (`get_bytes`), not the text helpers; an XLSX is
//! read back by unzipping its sheet's XML (the zip crate rust_xlsxwriter uses).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

use callbox::core::{
    AgentId, CallDirection, CallEventKind, CallEventRecord, CallId, CallRecord, GroupId, HangupBy,
    Language, StoreOp,
};
use callbox::store::{NewGroup, Role, Store, spawn_writer};
use common::TestDir;
use common::audio::{has_tone, tone_wav};
use common::callbox::{Callbox, Prepared};
use common::center::{self, CARRIER_IP, agent, carrier, desk, desk_phone};
use common::session::{Session, login, send};
use common::sipp::Sipp;
use common::wait::{secs, wait_for, wait_until};

const SERVICE: &str = "4008001234";
const SALES_LINE: &str = "4008005678";
const SUPERVISOR: (&str, &str) = ("banzhang", "banzhang-pw-1");

/// A day the seeded calls happen on (UTC).
fn day(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap()
}

/// One seeded call: `who` names it in assertion messages.
struct Seed {
    id: i64,
    row: CallRecord,
}

fn seed(id: i64, direction: CallDirection, from: &str, to: &str, at: DateTime<Utc>) -> Seed {
    let mut row = CallRecord::begun(CallId(id), direction, from.into(), to.into(), at);
    row.ended_at = Some(at + chrono::Duration::seconds(90));
    row.hangup_by = Some(HangupBy::Caller);
    row.sip_code = Some(200);
    Seed { id, row }
}

impl Seed {
    fn answered(mut self, agent: Option<AgentId>, after_secs: i64) -> Seed {
        self.row.answered_at = Some(self.row.started_at + chrono::Duration::seconds(after_secs));
        self.row.agent = agent;
        self
    }
    fn queue(mut self, group: GroupId, service: &str, wait: u32) -> Seed {
        self.row.group = Some(group);
        self.row.service_number = Some(service.into());
        self.row.wait_secs = Some(wait);
        self
    }
    fn by(mut self, agent: AgentId) -> Seed {
        self.row.agent = Some(agent);
        self
    }
    fn ended_by(mut self, by: HangupBy, code: u16, cause: &str) -> Seed {
        self.row.hangup_by = Some(by);
        self.row.sip_code = Some(code);
        self.row.end_cause = Some(cause.into());
        self
    }
}

fn event(call: i64, seq: u32, at: DateTime<Utc>, kind: CallEventKind, detail: &str) -> StoreOp {
    StoreOp::CallEvent(Box::new(CallEventRecord {
        call: CallId(call),
        seq,
        at,
        kind,
        party: "system".into(),
        sip_code: None,
        detail: detail.into(),
    }))
}

/// The seeded office: groups 售后服务 and 售前咨询, agents 8001 and 8002 (web password
/// `secret-pw`), supervisor `banzhang`, and eight calls over two days:
///
/// | id | what |
/// |----|------|
/// | 1 | inbound via 售后服务, 8001 answered after 5 s, recorded (1 s of 1000 Hz) |
/// | 2 | inbound via 售后服务, abandoned after 40 s in the queue |
/// | 3 | inbound, ended by the IVR (outside hours) |
/// | 4 | outbound by 8002, answered |
/// | 5 | outbound by 8002, busy (486) |
/// | 6 | internal 1001 → 1002, answered |
/// | 7 | inbound from a number that looks like SQL, hung up in the IVR (day 2) |
/// | 8 | inbound on 4008005678 via 售前咨询, no agent (day 2) |
fn seeded(t: &TestDir) -> (Prepared, i64) {
    let mut p = Prepared::new(t.path()).unwrap();
    let trunk = carrier(&mut p.store, 5999);
    p.store.add_service_number(SERVICE, trunk, None).unwrap();
    p.store.add_service_number(SALES_LINE, trunk, None).unwrap();
    let after = p.store.add_group(&NewGroup::new("售后服务")).unwrap();
    let sales = p.store.add_group(&NewGroup::new("售前咨询")).unwrap();
    let a1 = agent(&mut p.store, "8001", None, None);
    let a2 = agent(&mut p.store, "8002", None, None);
    p.store.add_member(after, a1, 1).unwrap();
    p.store
        .set_user_password(SUPERVISOR.0, SUPERVISOR.1, Some(Role::Supervisor))
        .unwrap();
    let recording = p.data_dir.join("recordings").join("seeded-1.wav");
    std::fs::create_dir_all(recording.parent().unwrap()).unwrap();
    tone_wav(&recording, 1000, 1.0, 8000).unwrap();

    use CallDirection::*;
    let mut one = seed(1, Inbound, "13900001111", SERVICE, day(30, 9, 0))
        .queue(after, SERVICE, 5)
        .answered(Some(a1), 5);
    one.row.recording = Some(recording.clone());
    let calls = [
        one,
        seed(2, Inbound, "13700002222", SERVICE, day(30, 9, 10))
            .queue(after, SERVICE, 40)
            .ended_by(
                HangupBy::Caller,
                200,
                "abandoned: the caller hung up after waiting 40 s",
            ),
        seed(3, Inbound, "13700003333", SERVICE, day(30, 9, 20)).ended_by(
            HangupBy::System,
            200,
            "the IVR 下班 ended the call",
        ),
        seed(4, Outbound, "1002", "13800138000", day(30, 10, 0)).answered(Some(a2), 8),
        seed(5, Outbound, "1002", "13800138001", day(30, 10, 10))
            .by(a2)
            .ended_by(HangupBy::Callee, 486, "the callee is busy (486 Busy Here)"),
        seed(6, Internal, "1001", "1002", day(30, 11, 0)).answered(None, 3),
        seed(7, Inbound, "' OR 1=1 --", SERVICE, day(29, 8, 0)),
        seed(8, Inbound, "13600008888", SALES_LINE, day(29, 8, 30))
            .queue(sales, SALES_LINE, 60)
            .ended_by(HangupBy::System, 200, "nobody is logged in to 售前咨询"),
    ];
    for c in &calls {
        p.store
            .apply(&StoreOp::Call(Box::new(c.row.clone())))
            .unwrap();
        assert!(c.id > 0);
    }
    let t0 = day(30, 9, 0);
    for (seq, (kind, detail)) in [
        (CallEventKind::Offered, "13900001111 called 4008001234"),
        (CallEventKind::Queued, "waiting in queue 售后服务"),
        (CallEventKind::AgentOffered, "rang agent 8001"),
        (CallEventKind::Answered, "8001 answered"),
        (CallEventKind::HungUp, "the caller hung up"),
    ]
    .into_iter()
    .enumerate()
    {
        let at = t0 + chrono::Duration::seconds(seq as i64);
        p.store
            .apply(&event(1, seq as u32, at, kind, detail))
            .unwrap();
    }
    p.store.record_recording(&recording, 1.0).unwrap();
    (p, sales.0)
}

fn get(callbox: &Callbox, path: &str, session: Option<&Session>) -> (u16, Value) {
    let r = send(callbox.http, "GET", path, "", session);
    (r.code, r.json())
}

fn post(callbox: &Callbox, path: &str, body: &str, session: Option<&Session>) -> (u16, Value) {
    let r = send(callbox.http, "POST", path, body, session);
    (r.code, r.json())
}

/// The call ids a page of `GET /api/v1/calls…` lists, and its total.
fn ids(callbox: &Callbox, path: &str, session: Option<&Session>) -> (u64, Vec<i64>) {
    let (code, page) = get(callbox, path, session);
    assert_eq!(code, 200, "{path}: {page}");
    let ids = page["calls"]
        .as_array()
        .unwrap_or_else(|| panic!("{path}: {page}"))
        .iter()
        .map(|c| c["call"].as_i64().unwrap())
        .collect();
    (page["total"].as_u64().unwrap(), ids)
}

/// A GET whose body is bytes: (status, headers lower-cased, body).
fn get_bytes(
    addr: SocketAddr,
    path: &str,
    session: Option<&Session>,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    get_bytes_with(addr, path, session, "")
}

/// `get_bytes` with more header lines (each ending in CRLF).
fn get_bytes_with(
    addr: SocketAddr,
    path: &str,
    session: Option<&Session>,
    extra: &str,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut s = TcpStream::connect(addr).expect("the API accepts connections");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}");
    if let Some(session) = session {
        head.push_str(&format!("Cookie: {}\r\n", session.cookie));
    }
    write!(s, "{head}\r\n").unwrap();
    let mut reader = BufReader::new(s);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let code = line.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap();
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((n, v)) = line.split_once(':') {
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let mut raw = Vec::new();
    reader.read_to_end(&mut raw).unwrap();
    let body = if header(&headers, "transfer-encoding") == "chunked" {
        dechunk(&raw)
    } else {
        raw
    };
    (code, headers, body)
}

/// A chunked body's data (tiny_http chunks large answers).
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a chunk size line");
        let size = std::str::from_utf8(&raw[..line_end]).unwrap();
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        raw = &raw[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map_or("", |(_, v)| v.as_str())
}

#[test]
fn every_filter_of_the_advanced_query_narrows_and_bad_ones_are_named() {
    let t = TestDir::new("api-records-query").unwrap();
    let (p, sales) = seeded(&t);
    let callbox = p.start().unwrap();

    let all = ids(&callbox, "/api/v1/calls", None);
    assert_eq!(all, (8, vec![6, 5, 4, 3, 2, 1, 8, 7]), "newest first");
    for (query, want) in [
        (
            "from=2026-11-30T00:00:00Z&to=2026-12-01T00:00:00Z",
            vec![6, 5, 4, 3, 2, 1],
        ),
        ("to=2026-11-30T00:00:00Z", vec![8, 7]),
        (
            "from=2026-11-30T09:10:00Z&to=2026-11-30T10:00:00Z",
            vec![3, 2],
        ),
        ("number=1370000", vec![3, 2]),
        ("number=138001", vec![5, 4]),
        ("number=%27%20OR%201%3D1%20--", vec![7]),
        ("direction=outbound", vec![5, 4]),
        ("direction=internal", vec![6]),
        ("result=answered", vec![6, 4, 1]),
        ("result=missed", vec![5, 3, 2, 8, 7]),
        ("result=abandoned", vec![2, 7]),
        ("result=busy", vec![5]),
        ("result=no_answer", vec![3, 8]),
        ("agent=8002", vec![5, 4]),
        ("agent=8001", vec![1]),
        ("group=%E5%94%AE%E5%90%8E%E6%9C%8D%E5%8A%A1", vec![2, 1]),
        (&format!("group={sales}"), vec![8]),
        ("service_number=4008005678", vec![8]),
        ("min_wait=30", vec![2, 8]),
        ("recorded=true", vec![1]),
        ("recorded=false", vec![6, 5, 4, 3, 2, 8, 7]),
        ("direction=inbound&result=missed&min_wait=50", vec![8]),
        ("limit=2&offset=1", vec![5, 4]),
    ] {
        let (total, got) = ids(&callbox, &format!("/api/v1/calls?{query}"), None);
        assert_eq!(got, want, "{query}");
        if !query.starts_with("limit") {
            assert_eq!(total as usize, want.len(), "{query}");
        } else {
            assert_eq!(total, 8, "{query}: the total counts every match");
        }
    }
    // The SQL-looking number comes back verbatim.
    let (_, page) = get(&callbox, "/api/v1/calls?number=OR%201%3D1", None);
    assert_eq!(page["calls"][0]["from"], "' OR 1=1 --", "{page}");

    for (query, field) in [
        ("from=yesterday", "from"),
        ("to=2026-13-40", "to"),
        ("from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", "to"),
        ("direction=up", "direction"),
        ("result=lost", "result"),
        ("agent=abc", "agent"),
        (
            "group=%E6%B2%A1%E6%9C%89%E8%BF%99%E4%B8%AA%E7%BB%84",
            "group",
        ),
        ("service_number=%01", "service_number"),
        ("min_wait=-5", "min_wait"),
        ("min_wait=ten", "min_wait"),
        ("recorded=perhaps", "recorded"),
        ("handled=2", "handled"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("offset=-1", "offset"),
        ("lang=de", "lang"),
        ("colour=red", "colour"),
        ("number=1&number=2", "number"),
    ] {
        let (code, body) = get(&callbox, &format!("/api/v1/calls?{query}"), None);
        assert_eq!(code, 400, "{query}: {body}");
        assert_eq!(body["field"], field, "{query}: {body}");
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));
    }

    // One call: its names, its recording and its trail in order.
    let (code, one) = get(&callbox, "/api/v1/calls/1", None);
    assert_eq!(code, 200, "{one}");
    assert_eq!(one["agent"], "8001");
    assert_eq!(one["agent_name"], "agent 8001");
    assert_eq!(one["group_name"], "售后服务");
    assert_eq!(one["result"], "answered");
    assert_eq!(one["talk_secs"], 85);
    assert_eq!(one["recording"]["url"], "/api/v1/calls/1/recording");
    assert_eq!(one["recording"]["seconds"], 1.0);
    let kinds: Vec<&str> = one["trail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["offered", "queued", "agent_offered", "answered", "hung_up"]
    );
    for (path, code) in [
        ("/api/v1/calls/99", 404),
        ("/api/v1/calls/abc", 400),
        ("/api/v1/calls/99/recording", 404),
        ("/api/v1/calls/4/recording", 404),
        ("/api/v1/calls/1?colour=red", 400),
    ] {
        assert_eq!(get(&callbox, path, None).0, code, "{path}");
    }
    let (code, choices) = get(&callbox, "/api/v1/calls/filters", None);
    assert_eq!(code, 200);
    assert_eq!(
        choices["groups"].as_array().map(Vec::len),
        Some(2),
        "{choices}"
    );
    assert_eq!(
        choices["service_numbers"],
        json!([SERVICE, SALES_LINE]),
        "{choices}"
    );
    assert!(callbox.stop().is_some());
}

#[test]
fn missed_calls_say_why_and_are_marked_handled() {
    let t = TestDir::new("api-records-missed").unwrap();
    let (p, _) = seeded(&t);
    let callbox = p.start().unwrap();
    let boss = login(callbox.http, SUPERVISOR.0, SUPERVISOR.1);

    let (code, page) = get(&callbox, "/api/v1/calls/missed", Some(&boss));
    assert_eq!(code, 200, "{page}");
    let reasons: Vec<(i64, &str, &str)> = page["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["call"].as_i64().unwrap(),
                c["missed_reason"].as_str().unwrap(),
                c["reason_text"].as_str().unwrap(),
            )
        })
        .collect();
    let codes: Vec<(i64, &str)> = reasons.iter().map(|(i, r, _)| (*i, *r)).collect();
    assert_eq!(
        codes,
        [
            (3, "ivr_ended"),
            (2, "queue_abandoned"),
            (8, "no_agent"),
            (7, "ivr_abandoned")
        ],
        "outbound busy calls are not missed calls; the newest first"
    );
    assert!(reasons[1].2.contains("排队"), "{reasons:?}");
    let (_, en) = get(
        &callbox,
        "/api/v1/calls/missed?lang=en&min_wait=30",
        Some(&boss),
    );
    assert_eq!(en["total"], 2, "{en}");
    assert!(
        en["calls"][0]["reason_text"]
            .as_str()
            .unwrap()
            .contains("queue"),
        "{en}"
    );

    // Handled: marked with a note, filtered, cleared.
    let (code, marked) = post(
        &callbox,
        "/api/v1/calls/2/handled",
        r#"{"note":"已回拨,客户问题已解决"}"#,
        Some(&boss),
    );
    assert_eq!(code, 200, "{marked}");
    assert_eq!(marked["handled"]["by"], SUPERVISOR.0);
    assert_eq!(marked["handled"]["note"], "已回拨,客户问题已解决");
    let (open, _) = ids(&callbox, "/api/v1/calls/missed?handled=false", Some(&boss));
    let (done, _) = ids(&callbox, "/api/v1/calls/missed?handled=true", Some(&boss));
    assert_eq!((open, done), (3, 1));
    for (call, body, code, field) in [
        ("1", "{}", 409, None),
        ("99", "{}", 404, None),
        ("2", r#"{"note":5}"#, 400, Some("note")),
        ("2", r#"{"colour":"red"}"#, 400, Some("colour")),
        ("2", "not json", 400, None),
    ] {
        let (got, answer) = post(
            &callbox,
            &format!("/api/v1/calls/{call}/handled"),
            body,
            Some(&boss),
        );
        assert_eq!(got, code, "{call} {body}: {answer}");
        if let Some(field) = field {
            assert_eq!(answer["field"], field, "{answer}");
        }
    }
    let long = json!({ "note": "长".repeat(501) }).to_string();
    let (code, answer) = post(&callbox, "/api/v1/calls/2/handled", &long, Some(&boss));
    assert_eq!((code, answer["field"].as_str()), (400, Some("note")));
    let (code, _) = post(
        &callbox,
        "/api/v1/calls/2/handled",
        r#"{"handled":false}"#,
        Some(&boss),
    );
    assert_eq!(code, 200);
    assert_eq!(
        ids(&callbox, "/api/v1/calls/missed?handled=false", Some(&boss)).0,
        4
    );

    // Agents see neither the missed calls nor the form's choices.
    let agent = login(callbox.http, "8001", "secret-pw");
    assert_eq!(get(&callbox, "/api/v1/calls/missed", Some(&agent)).0, 403);
    assert_eq!(get(&callbox, "/api/v1/calls/filters", Some(&agent)).0, 403);
    assert_eq!(
        post(&callbox, "/api/v1/calls/2/handled", "{}", Some(&agent)).0,
        403
    );
    assert!(callbox.stop().is_some());
}

#[test]
fn an_agent_reads_only_their_own_calls_and_recordings() {
    let t = TestDir::new("api-records-own").unwrap();
    let (p, _) = seeded(&t);
    let callbox = p.start().unwrap();
    let a1 = login(callbox.http, "8001", "secret-pw");
    let a2 = login(callbox.http, "8002", "secret-pw");

    assert_eq!(ids(&callbox, "/api/v1/calls", Some(&a1)), (1, vec![1]));
    assert_eq!(
        ids(&callbox, "/api/v1/calls?agent=8002", Some(&a1)),
        (1, vec![1]),
        "asking for another agent's calls still gives one's own"
    );
    assert_eq!(ids(&callbox, "/api/v1/calls", Some(&a2)), (2, vec![5, 4]));
    assert_eq!(get(&callbox, "/api/v1/calls/1", Some(&a1)).0, 200);
    let (code, body) = get(&callbox, "/api/v1/calls/4", Some(&a1));
    assert_eq!(code, 403, "{body}");
    assert_eq!(get(&callbox, "/api/v1/calls/1", Some(&a2)).0, 403);

    let (code, headers, wav) = get_bytes(callbox.http, "/api/v1/calls/1/recording", Some(&a1));
    assert_eq!(code, 200);
    assert_eq!(header(&headers, "content-type"), "audio/wav");
    let file = t.path().join("downloaded.wav");
    std::fs::write(&file, &wav).unwrap();
    assert!(has_tone(&file, 0, 1000.0).unwrap(), "the tone is in it");
    assert_eq!(header(&headers, "content-length"), wav.len().to_string());
    assert_eq!(header(&headers, "accept-ranges"), "bytes");
    // A player seeking asks for a part: 206 with exactly those bytes.
    let path = "/api/v1/calls/1/recording";
    let (code, headers, part) =
        get_bytes_with(callbox.http, path, Some(&a1), "Range: bytes=0-43\r\n");
    assert_eq!(code, 206);
    assert_eq!(part, wav[..44], "the WAV header, as the whole file has it");
    let whole = format!("bytes 0-43/{}", wav.len());
    assert_eq!(header(&headers, "content-range"), whole);
    let past = format!("Range: bytes={}-\r\n", wav.len());
    let (code, headers, _) = get_bytes_with(callbox.http, path, Some(&a1), &past);
    assert_eq!(code, 416);
    assert_eq!(
        header(&headers, "content-range"),
        format!("bytes */{}", wav.len())
    );
    let (code, _, _) = get_bytes(callbox.http, "/api/v1/calls/1/recording", Some(&a2));
    assert_eq!(code, 403, "8002 may not hear 8001's call");

    // My calls: the agent's own list, with the same filters.
    let (code, mine) = get(&callbox, "/api/v1/agents/8002/calls?result=busy", Some(&a2));
    assert_eq!(code, 200, "{mine}");
    assert_eq!(mine.as_array().map(Vec::len), Some(1), "{mine}");
    assert_eq!(mine[0]["call"], 5);
    let (code, mine) = get(
        &callbox,
        "/api/v1/agents/8001/calls?from=2026-11-30T00:00:00Z&direction=inbound&recorded=true",
        Some(&a1),
    );
    assert_eq!(code, 200, "{mine}");
    assert_eq!(
        mine[0]["recording_url"], "/api/v1/calls/1/recording",
        "{mine}"
    );
    assert_eq!(get(&callbox, "/api/v1/agents/8002/calls", Some(&a1)).0, 403);
    let (code, body) = get(&callbox, "/api/v1/agents/8001/calls?result=x", Some(&a1));
    assert_eq!((code, body["field"].as_str()), (400, Some("result")));
    assert!(callbox.stop().is_some());
}

/// Polls export `id` until it is done (or failed); the task.
fn finished(callbox: &Callbox, id: i64, session: Option<&Session>, within: Duration) -> Value {
    let path = format!("/api/v1/exports/{id}");
    wait_for(Instant::now() + within, || {
        let (code, task) = get(callbox, &path, session);
        assert_eq!(code, 200, "{task}");
        matches!(task["state"].as_str(), Some("done" | "failed")).then_some(task)
    })
    .unwrap_or_else(|| {
        panic!(
            "export {id} did not finish in {within:?}: {}\n{}",
            get(callbox, &path, session).1,
            callbox.log_tail()
        )
    })
}

/// Queues an export of `body`; its id.
fn export(callbox: &Callbox, body: Value, session: Option<&Session>) -> i64 {
    let (code, task) = post(callbox, "/api/v1/exports", &body.to_string(), session);
    assert_eq!(code, 201, "{body}: {task}");
    assert_eq!(task["state"], "queued");
    task["id"].as_i64().unwrap()
}

/// The rows of a downloaded CSV (header first), split at commas (the seeded data
/// has no quoted fields except where asserted).
fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = String::from_utf8(bytes.to_vec()).expect("UTF-8");
    let text = text.strip_prefix('\u{feff}').expect("a byte-order mark");
    text.split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// The first cell (the call id, or the header) and every text of each row of an
/// XLSX's first sheet.
fn xlsx_rows(path: &Path) -> Vec<(String, Vec<String>)> {
    let file = std::fs::File::open(path).unwrap();
    let mut zip = zip::ZipArchive::new(file).expect("an XLSX is a zip");
    let mut xml = String::new();
    zip.by_name("xl/worksheets/sheet1.xml")
        .expect("the sheet")
        .read_to_string(&mut xml)
        .unwrap();
    let inner = |chunk: &str, tag: &str| -> Vec<String> {
        let open = format!("<{tag}");
        let close = format!("</{tag}>");
        let mut out = Vec::new();
        let mut rest = chunk;
        while let Some(i) = rest.find(&open) {
            let after = &rest[i + open.len()..];
            let Some(gt) = after.find('>') else { break };
            let body = &after[gt + 1..];
            let Some(end) = body.find(&close) else { break };
            out.push(body[..end].to_string());
            rest = &body[end..];
        }
        out
    };
    xml.split("<row ")
        .skip(1)
        .map(|row| {
            let first = row
                .split("<c ")
                .nth(1)
                .map(|c| {
                    inner(c, "v")
                        .into_iter()
                        .chain(inner(c, "t"))
                        .next()
                        .unwrap_or_default()
                })
                .unwrap_or_default();
            (first, inner(row, "t"))
        })
        .collect()
}

#[test]
fn exports_hold_the_query_s_rows_in_csv_and_xlsx() {
    let t = TestDir::new("api-records-export").unwrap();
    let (p, _) = seeded(&t);
    let callbox = p.start().unwrap();
    let boss = login(callbox.http, SUPERVISOR.0, SUPERVISOR.1);
    let (total, want) = ids(&callbox, "/api/v1/calls?direction=inbound", Some(&boss));
    assert_eq!(total, 5);

    // CSV, in Chinese.
    let id = export(
        &callbox,
        json!({"format": "csv", "direction": "inbound"}),
        Some(&boss),
    );
    let task = finished(&callbox, id, Some(&boss), Duration::from_secs(20));
    assert_eq!(task["state"], "done", "{task}");
    assert_eq!(task["rows"], 5, "{task}");
    assert_eq!(task["who"], SUPERVISOR.0);
    let (code, headers, bytes) =
        get_bytes(callbox.http, task["url"].as_str().unwrap(), Some(&boss));
    assert_eq!(code, 200);
    assert!(header(&headers, "content-type").starts_with("text/csv"));
    let disposition = header(&headers, "content-disposition");
    assert!(
        disposition.starts_with("attachment; filename=\"calls-")
            && disposition.contains("filename*=UTF-8''%E9%80%9A%E8%AF%9D%E8%AE%B0%E5%BD%95-"),
        "{disposition}"
    );
    let rows = csv_rows(&bytes);
    assert_eq!(rows[0][0], "通话ID", "{:?}", rows[0]);
    assert_eq!(rows[0][1], "方向");
    let got: Vec<i64> = rows[1..].iter().map(|r| r[0].parse().unwrap()).collect();
    assert_eq!(got, want, "the export's rows are the query's, in its order");
    assert!(rows[1..].iter().all(|r| r[1] == "呼入"), "{rows:?}");
    let sql_row = rows.iter().find(|r| r[0] == "7").unwrap();
    assert_eq!(sql_row[2], "' OR 1=1 --", "verbatim: {sql_row:?}");

    // XLSX, in English, of the missed calls.
    let (total, want) = ids(&callbox, "/api/v1/calls?result=missed", Some(&boss));
    let id = export(
        &callbox,
        json!({"format": "xlsx", "lang": "en", "result": "missed", "recorded": false}),
        Some(&boss),
    );
    let task = finished(&callbox, id, Some(&boss), Duration::from_secs(20));
    assert_eq!(task["rows"].as_u64(), Some(total), "{task}");
    let (code, headers, bytes) = get_bytes(
        callbox.http,
        &format!("/api/v1/exports/{id}/file"),
        Some(&boss),
    );
    assert_eq!(code, 200);
    assert_eq!(
        header(&headers, "content-type"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let file = t.path().join("missed.xlsx");
    std::fs::write(&file, &bytes).unwrap();
    let sheet = xlsx_rows(&file);
    assert_eq!(sheet[0].0, "Call ID", "{:?}", sheet[0]);
    let got: Vec<i64> = sheet[1..]
        .iter()
        .map(|(id, _)| id.parse().unwrap())
        .collect();
    assert_eq!(got, want);
    assert!(
        sheet[1..]
            .iter()
            .any(|(_, texts)| texts.iter().any(|t| t == "busy")),
        "{sheet:?}"
    );

    // An agent's export holds their own calls only; others' tasks are not theirs.
    let a1 = login(callbox.http, "8001", "secret-pw");
    let mine = export(
        &callbox,
        json!({"format": "csv", "agent": "8002"}),
        Some(&a1),
    );
    let task = finished(&callbox, mine, Some(&a1), Duration::from_secs(20));
    assert_eq!(task["rows"], 1, "{task}");
    assert_eq!(task["filters"]["agent"], "8001", "{task}");
    assert_eq!(
        get(&callbox, &format!("/api/v1/exports/{id}"), Some(&a1)).0,
        403
    );
    let (_, list) = get(&callbox, "/api/v1/exports", Some(&a1));
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    let (_, list) = get(&callbox, "/api/v1/exports", None);
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(3),
        "an admin sees all: {list}"
    );

    for (body, field) in [
        (json!({"direction": "inbound"}), "format"),
        (json!({"format": "pdf"}), "format"),
        (json!({"format": "csv", "limit": 10}), "limit"),
        (json!({"format": "csv", "colour": "red"}), "colour"),
        (json!({"format": "csv", "result": "lost"}), "result"),
        (json!({"format": "csv", "lang": "fr"}), "lang"),
        (json!({"format": "csv", "number": ["1"]}), "number"),
    ] {
        let (code, answer) = post(&callbox, "/api/v1/exports", &body.to_string(), Some(&boss));
        assert_eq!(code, 400, "{body}: {answer}");
        assert_eq!(answer["field"], field, "{body}: {answer}");
    }
    assert_eq!(post(&callbox, "/api/v1/exports", "[1]", Some(&boss)).0, 400);

    // Deleted: the task and its file.
    let file = callbox.data_dir.join("exports").join(format!("{id}.xlsx"));
    assert!(file.exists());
    let r = send(
        callbox.http,
        "DELETE",
        &format!("/api/v1/exports/{id}"),
        "",
        Some(&boss),
    );
    assert_eq!(r.code, 200, "{}", r.text);
    assert!(!file.exists(), "the file went with the task");
    assert_eq!(
        get(&callbox, &format!("/api/v1/exports/{id}"), Some(&boss)).0,
        404
    );
    assert_eq!(get(&callbox, "/api/v1/exports/x", Some(&boss)).0, 400);
    assert!(callbox.stop().is_some());
}

#[test]
fn an_export_of_100000_calls_finishes_with_every_row() {
    const ROWS: i64 = 100_000;
    let t = TestDir::new("api-records-100k").unwrap();
    let p = Prepared::new(t.path()).unwrap();
    let db = p.data_dir.join("callbox.db");
    {
        // The store's own writer, as the switchboard writes: many rows a commit.
        let writer = spawn_writer(&db).unwrap();
        let start = day(1, 0, 0);
        for id in 1..=ROWS {
            let at = start + chrono::Duration::seconds(id * 7);
            let mut s = seed(
                id,
                CallDirection::Inbound,
                &format!("139{id:08}"),
                SERVICE,
                at,
            );
            if id % 3 == 0 {
                s = s.answered(None, 4);
            }
            writer.send(StoreOp::Call(Box::new(s.row)));
        }
        writer.shutdown();
    }
    let callbox = p.start().unwrap();
    let (total, _) = ids(&callbox, "/api/v1/calls?limit=1", None);
    assert_eq!(total, ROWS as u64);
    let started = Instant::now();
    let id = export(&callbox, json!({"format": "csv"}), None);
    // Meanwhile the API answers: the export is not on its workers.
    let (code, _) = get(&callbox, "/api/v1/calls?limit=5", None);
    assert_eq!(code, 200);
    let task = finished(&callbox, id, None, Duration::from_secs(180));
    assert_eq!(task["state"], "done", "{task}");
    assert_eq!(task["rows"], ROWS, "{task}");
    eprintln!("100,000 rows exported to CSV in {:?}", started.elapsed());
    let (code, _, bytes) = get_bytes(callbox.http, &format!("/api/v1/exports/{id}/file"), None);
    assert_eq!(code, 200);
    let rows = csv_rows(&bytes);
    assert_eq!(rows.len() as i64, ROWS + 1, "a header and every call");
    assert_eq!(rows[1][0], ROWS.to_string(), "newest first");
    assert_eq!(rows[ROWS as usize][0], "1");
    assert!(callbox.stop().is_some());
}

/// 8001 (desk phone 1001, a baresip sending 1000 Hz) is the only member of 售后服务,
/// where the service number leads; the carrier (sipp) calls in and talks 3 s.
#[test]
fn a_real_recorded_call_is_listed_and_played_by_its_agent_only() {
    let t = TestDir::new("api-records-e2e").unwrap();
    let mut p = Prepared::new(t.path()).unwrap();
    let phone = desk(&mut p.store, "1001");
    let trunk = carrier(&mut p.store, 5999);
    p.store.add_service_number(SERVICE, trunk, None).unwrap();
    let mut group = NewGroup::new("售后服务");
    group.wrap_up = Duration::from_secs(1);
    let group = p.store.add_group(&group).unwrap();
    p.store
        .set_service_number_queue(SERVICE, Some(group), 0, Language::ZhCn)
        .unwrap();
    let a1 = agent(&mut p.store, "8001", Some(phone), None);
    p.store.add_member(group, a1, 1).unwrap();
    agent(&mut p.store, "8002", None, None);
    let callbox = p.start().unwrap();
    let mut desk1 = desk_phone(&t, &callbox, "1001", 1000);
    center::login(&callbox, "8001", Some("device"));

    let carrier = Sipp::scenario("carrier", "trunk_call.xml", t.path())
        .remote(callbox.sip)
        .local_ip(CARRIER_IP)
        .service(SERVICE)
        .duration_ms(3000)
        .timeout(Duration::from_secs(30))
        .spawn()
        .unwrap();
    desk1
        .wait_event("CALL_ESTABLISHED", secs(10))
        .unwrap_or_else(|e| panic!("8001's phone answers: {e}\n{}", callbox.log_tail()));
    let outcome = carrier.finish(secs(30));
    assert!(outcome.all_ok(), "{}", outcome.describe());
    let call = callbox.ended_call(1, Duration::from_secs(5));
    assert!(call.recording.is_some(), "recorded: {call:?}");
    let store: Store = callbox.store();
    let path = callbox.data_dir.join(call.recording.as_ref().unwrap());
    assert!(
        wait_until(secs(5), || store
            .recording_seconds(&path)
            .ok()
            .flatten()
            .is_some()),
        "the recording is closed"
    );

    let me = login(callbox.http, "8001", "secret-pw");
    let (code, mine) = get(
        &callbox,
        "/api/v1/agents/8001/calls?recorded=true",
        Some(&me),
    );
    assert_eq!(code, 200, "{mine}");
    assert_eq!(mine[0]["call"], 1, "{mine}");
    assert_eq!(mine[0]["result"], "answered", "{mine}");
    let (code, detail) = get(&callbox, "/api/v1/calls/1", Some(&me));
    assert_eq!(code, 200, "{detail}");
    let kinds: Vec<&str> = detail["trail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        &kinds[..4],
        ["offered", "queued", "agent_offered", "answered"]
    );
    assert!(
        detail["recording"]["seconds"].as_f64().unwrap() >= 2.0,
        "{detail}"
    );

    let (code, headers, wav) = get_bytes(callbox.http, "/api/v1/calls/1/recording", Some(&me));
    assert_eq!(code, 200);
    assert_eq!(header(&headers, "content-type"), "audio/wav");
    let file = t.path().join("played.wav");
    std::fs::write(&file, &wav).unwrap();
    assert!(
        has_tone(&file, 1, 1000.0).unwrap(),
        "the agent's 1000 Hz is on the right channel of what 8001 downloads"
    );
    let other = login(callbox.http, "8002", "secret-pw");
    let (code, _, _) = get_bytes(callbox.http, "/api/v1/calls/1/recording", Some(&other));
    assert_eq!(code, 403, "8002 may not play 8001's call");
    assert_eq!(get(&callbox, "/api/v1/calls/1", Some(&other)).0, 403);
    desk1.quit();
    assert!(callbox.stop().is_some());
}
