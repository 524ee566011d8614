//! Live events, the status log and the why of a call, against the real daemon.
//!
//! Streams are read with a raw TCP client (`Stream`: the HTTP head, then HTTP/1.1
//! chunks decoded into server-sent events by a reader thread) and every wait has a
//! deadline. A carrier (sipp) calls the service number; desk phones (baresip) ring:
//! 8001's rings until the test rejects it, 8002's answers by itself.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use callbox::core::{Language, Strategy};
use callbox::store::NewGroup;
use common::TestDir;
use common::baresip::{self, Baresip, BaresipOpts};
use common::callbox::{Callbox, Prepared};
use common::center::{self, CARRIER_IP, agent, carrier, desk, desk_phone};
use common::session::{Session, login, send};
use common::sipp::Sipp;
use common::wait::{secs, wait_until};

const SERVICE: &str = "4008001234";
const PASSWORD: &str = "secret-pw";

/// One server-sent event.
#[derive(Debug, Clone)]
struct Event {
    name: String,
    data: serde_json::Value,
}

/// An open event stream and what it has received so far.
struct Stream {
    code: u16,
    events: Arc<Mutex<Vec<Event>>>,
    closed: Arc<Mutex<bool>>,
    head: String,
}

impl Stream {
    /// `GET path` (the event stream) as `session` (none: this machine).
    fn open(addr: SocketAddr, path: &str, session: Option<&Session>) -> Stream {
        let mut s = TcpStream::connect(addr).expect("the API accepts connections");
        let cookie = session.map_or(String::new(), |s| format!("Cookie: {}\r\n", s.cookie));
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n{cookie}Connection: close\r\n\r\n"
        )
        .expect("the request is sent");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut reader = BufReader::new(s);
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let code = head
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let events = Arc::new(Mutex::new(Vec::new()));
        let closed = Arc::new(Mutex::new(false));
        let (ev, cl) = (events.clone(), closed.clone());
        let chunked = head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked");
        std::thread::spawn(move || {
            let mut text = String::new();
            loop {
                let piece = if chunked {
                    let mut size = String::new();
                    if reader.read_line(&mut size).unwrap_or(0) == 0 {
                        break;
                    }
                    let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    let mut buf = vec![0; n + 2];
                    if reader.read_exact(&mut buf).is_err() {
                        break;
                    }
                    buf.truncate(n);
                    buf
                } else {
                    let mut buf = vec![0; 4096];
                    match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            buf.truncate(n);
                            buf
                        }
                    }
                };
                text.push_str(&String::from_utf8_lossy(&piece));
                while let Some((frame, rest)) = text.split_once("\n\n") {
                    let mut name = String::new();
                    let mut data = String::new();
                    for line in frame.lines() {
                        if let Some(v) = line.strip_prefix("event: ") {
                            name = v.to_string();
                        } else if let Some(v) = line.strip_prefix("data: ") {
                            data = v.to_string();
                        }
                    }
                    if !name.is_empty() {
                        let data = serde_json::from_str(&data).unwrap_or_default();
                        ev.lock().unwrap().push(Event { name, data });
                    }
                    text = rest.to_string();
                }
            }
            *cl.lock().unwrap() = true;
        });
        Stream {
            code,
            events,
            closed,
            head,
        }
    }

    fn all(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }

    fn is_closed(&self) -> bool {
        *self.closed.lock().unwrap()
    }

    /// Waits for an event `name` whose data passes `check`; panics with what came.
    fn expect(
        &self,
        what: &str,
        name: &str,
        check: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let found = wait_until(secs(10), || {
            self.all().iter().any(|e| e.name == name && check(&e.data))
        });
        assert!(
            found,
            "{what}: no such `{name}` event; got {:#?}",
            self.names()
        );
        self.all()
            .into_iter()
            .find(|e| e.name == name && check(&e.data))
            .map(|e| e.data)
            .unwrap_or_default()
    }

    fn names(&self) -> Vec<String> {
        self.all()
            .iter()
            .map(|e| format!("{} {}", e.name, e.data))
            .collect()
    }

    /// Waits until the server ends the stream.
    fn expect_closed(&self, what: &str, within: Duration) {
        let ok = wait_until(Instant::now() + within, || self.is_closed());
        assert!(
            ok,
            "{what}: the stream is still open; got {:#?}",
            self.names()
        );
    }
}

fn agent_event(number: &'static str, state: &'static str) -> impl Fn(&serde_json::Value) -> bool {
    move |d| d["number"] == number && d["state"] == state
}

fn get(callbox: &Callbox, path: &str, session: Option<&Session>) -> (u16, serde_json::Value) {
    let r = send(callbox.http, "GET", path, "", session);
    let body = r.json();
    (r.code, body)
}

fn post(callbox: &Callbox, path: &str, body: &str, session: &Session) -> serde_json::Value {
    let r = send(callbox.http, "POST", path, body, Some(session));
    assert_eq!(r.code, 200, "POST {path} {body}: {}", r.text);
    r.json()
}

/// 售前 (longest idle, 10 s rings) with 8001 (desk 1001), 8002 (desk 1002) and 8004
/// (no phone, never logged in); 8003 is a supervisor outside the group.
fn call_center(t: &TestDir) -> Callbox {
    let mut p = Prepared::new(t.path()).unwrap();
    let phones = [desk(&mut p.store, "1001"), desk(&mut p.store, "1002")];
    let trunk = carrier(&mut p.store, 5999);
    p.store.add_service_number(SERVICE, trunk, None).unwrap();
    let mut group = NewGroup::new("售前");
    group.strategy = Strategy::LongestIdle;
    group.ring_timeout = Duration::from_secs(10);
    group.wrap_up = Duration::from_secs(1);
    let sales = p.store.add_group(&group).unwrap();
    p.store
        .set_service_number_queue(SERVICE, Some(sales), 0, Language::ZhCn)
        .unwrap();
    for (i, number) in ["8001", "8002", "8003", "8004"].iter().enumerate() {
        let id = agent(&mut p.store, number, phones.get(i).copied(), None);
        if *number != "8003" {
            p.store.add_member(sales, id, 1).unwrap();
        }
    }
    p.store.set_supervisor("8003", true).unwrap();
    p.start().unwrap()
}

#[test]
fn an_agent_s_stream_follows_their_state_calls_and_session() {
    let t = TestDir::new("api-live").unwrap();
    let callbox = call_center(&t);
    let mut ringing_phone = Baresip::start(
        BaresipOpts::new("desk1001")
            .user("1001")
            .register(callbox.sip, "pw-1001")
            .tone(700)
            .answer(baresip::AnswerMode::Manual),
        t.path(),
    )
    .expect("baresip starts");
    ringing_phone.wait_registered(secs(5)).unwrap();
    let _answering_phone = desk_phone(&t, &callbox, "1002", 1300);
    let s8001 = login(callbox.http, "8001", PASSWORD);
    let s8002 = login(callbox.http, "8002", PASSWORD);
    let sup = login(callbox.http, "8003", PASSWORD);
    let s8004 = login(callbox.http, "8004", PASSWORD);
    center::login(&callbox, "8001", Some("device"));
    center::login(&callbox, "8002", Some("device"));

    let one = Stream::open(callbox.http, "/api/v1/events", Some(&s8001));
    assert_eq!(one.code, 200, "{}", one.head);
    assert!(one.head.contains("text/event-stream"), "{}", one.head);
    let two = Stream::open(callbox.http, "/api/v1/events", Some(&s8002));
    let boss = Stream::open(callbox.http, "/api/v1/events", Some(&sup));
    one.expect(
        "8001 starts with their own state",
        "agent",
        agent_event("8001", "idle"),
    );
    one.expect("8001 starts with no call", "call", |d| d.is_null());
    boss.expect("the supervisor starts with the queues", "queues", |d| {
        d[0]["name"] == "售前" && d[0]["waiting"] == 0 && d[0]["agents"]["idle"] == 2
    });

    // 8002 changes state: their stream and the supervisor's hear it, 8001's does not.
    post(
        &callbox,
        "/api/v1/agents/8002/state",
        r#"{"state":"rest"}"#,
        &s8002,
    );
    two.expect(
        "8002 hears their own change",
        "agent",
        agent_event("8002", "rest"),
    );
    boss.expect(
        "the supervisor hears 8002's change",
        "agent",
        agent_event("8002", "rest"),
    );
    post(
        &callbox,
        "/api/v1/agents/8002/state",
        r#"{"state":"idle"}"#,
        &s8002,
    );
    two.expect("8002 is idle again", "agent", agent_event("8002", "idle"));

    // A caller queues; 8001 (idle longest) rings and rejects; 8002 answers.
    let caller = Sipp::scenario("carrier", "trunk_call.xml", t.path())
        .remote(callbox.sip)
        .local_ip(CARRIER_IP)
        .service(SERVICE)
        .duration_ms(6000)
        .timeout(Duration::from_secs(40))
        .spawn()
        .unwrap();
    let pop = one.expect("8001 gets a screen pop", "pop", |d| d["call"].is_i64());
    let call_id = pop["call"].as_i64().unwrap();
    assert_eq!(pop["number"], "carrier", "the pop names the caller: {pop}");
    one.expect("8001's call bar rings", "call", |d| {
        d["state"] == "ringing" && d["call"] == call_id
    });
    boss.expect("the supervisor sees the caller waiting", "queues", |d| {
        d[0]["waiting"] == 1 && d[0]["longest_since"].is_string()
    });
    ringing_phone
        .wait_event("CALL_INCOMING", secs(5))
        .unwrap_or_else(|e| panic!("8001's phone rings: {e}\n{}", callbox.log_tail()));
    ringing_phone.hangup().unwrap();
    let rung = one
        .all()
        .iter()
        .position(|e| e.name == "call" && e.data["state"] == "ringing");
    let over = wait_until(secs(10), || {
        one.all()
            .iter()
            .enumerate()
            .any(|(i, e)| Some(i) > rung && e.name == "call" && e.data.is_null())
    });
    assert!(
        over,
        "8001's call bar empties after the miss: {:#?}",
        one.names()
    );
    two.expect("8002 gets the pop of the same call", "pop", |d| {
        d["call"] == call_id
    });
    two.expect("8002 talks", "call", |d| {
        d["state"] == "talking" && d["call"] == call_id
    });
    two.expect(
        "8002's header says talking",
        "agent",
        agent_event("8002", "talking"),
    );
    let outcome = caller.finish(secs(30));
    assert!(
        outcome.all_ok(),
        "{}\n{}",
        outcome.describe(),
        callbox.log_tail()
    );
    let talking_at = two
        .all()
        .iter()
        .position(|e| e.name == "call" && e.data["state"] == "talking");
    let ended = wait_until(secs(10), || {
        two.all()
            .iter()
            .enumerate()
            .any(|(i, e)| Some(i) > talking_at && e.name == "call" && e.data.is_null())
    });
    assert!(
        ended,
        "8002's call bar says null when the call ends: {:#?}",
        two.names()
    );
    assert!(
        !one.all()
            .iter()
            .any(|e| e.name == "agent" && e.data["number"] != "8001"),
        "8001 never hears another agent: {:#?}",
        one.names()
    );
    assert!(
        !one.all().iter().any(|e| e.name == "queues"),
        "agents get no queues"
    );
    assert!(
        !two.all()
            .iter()
            .any(|e| e.name == "pop" && e.data["call"] != call_id),
        "8002 gets only their own pops"
    );

    // Why the call went where it went: the miss, the answer, the member never offered.
    callbox.ended_call(call_id, Duration::from_secs(5));
    let why_path = format!("/api/v1/calls/{call_id}/why");
    let (code, why) = get(&callbox, &why_path, Some(&sup));
    assert_eq!(code, 200, "{why}");
    assert_eq!(why["answered_by"]["agent"], "8002", "{why:#}");
    let offers = why["offers"].as_array().cloned().unwrap_or_default();
    let outcome_of = |n: &str| {
        offers
            .iter()
            .find(|o| o["agent"] == n)
            .map(|o| o["outcome"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(outcome_of("8001").as_deref(), Some("no_answer"), "{why:#}");
    assert_eq!(outcome_of("8002").as_deref(), Some("answered"), "{why:#}");
    let not = why["not_offered"].to_string();
    assert!(
        not.contains("8004") && not.contains("never logged in"),
        "{not}"
    );
    let summary = why["summary"].to_string();
    assert!(
        summary.contains("agent 8001") && summary.contains("did not answer"),
        "{summary}"
    );
    let (code, _) = get(&callbox, &why_path, Some(&s8001));
    assert_eq!(code, 200, "an agent offered the call may read its why");
    let (code, body) = get(&callbox, &why_path, Some(&s8004));
    assert_eq!(code, 403, "an agent never offered it may not: {body}");
    assert_eq!(get(&callbox, "/api/v1/calls/99999/why", Some(&sup)).0, 404);
    let (code, body) = get(&callbox, "/api/v1/calls/abc/why", Some(&sup));
    assert_eq!(
        (code, body["field"].as_str()),
        (400, Some("call")),
        "{body}"
    );

    // The wallboard counts the call as answered today.
    let answered = wait_until(secs(5), || {
        get(&callbox, "/api/v1/wallboard", Some(&sup)).1["today"]["total"]["answered"] == 1
    });
    let (code, board) = get(&callbox, "/api/v1/wallboard", Some(&sup));
    assert!(answered, "{code} {board:#}");
    assert_eq!(board["today"]["service_level_secs"], 20);
    assert_eq!(board["queues"][0]["name"], "售前");
    assert_eq!(get(&callbox, "/api/v1/wallboard", Some(&s8001)).0, 403);

    // The stream ends when the session does.
    let r = send(callbox.http, "DELETE", "/api/v1/session", "", Some(&s8001));
    assert_eq!(r.code, 200, "{}", r.text);
    one.expect_closed("8001 logged out", Duration::from_secs(5));
    one.expect("the stream says why it ended", "end", |d| {
        d["code"] == "session"
    });
    assert!(
        !two.is_closed() && !boss.is_closed(),
        "other sessions' streams go on"
    );
}

/// Agents 8001 and 8002 (no phones, direct numbers) for the tests without calls.
fn quiet_center(t: &TestDir) -> Callbox {
    let mut p = Prepared::new(t.path()).unwrap();
    let trunk = carrier(&mut p.store, 5999);
    let _ = trunk;
    for number in ["8001", "8002"] {
        agent(&mut p.store, number, None, Some("13800138000"));
    }
    p.start().unwrap()
}

#[test]
fn streams_hold_no_worker_and_are_capped_per_user() {
    let t = TestDir::new("api-live-cap").unwrap();
    let callbox = quiet_center(&t);
    let a = login(callbox.http, "8001", PASSWORD);
    let b = login(callbox.http, "8002", PASSWORD);
    let mut streams = Vec::new();
    for i in 0..8 {
        let who = if i < 4 { &a } else { &b };
        let s = Stream::open(callbox.http, "/api/v1/events", Some(who));
        assert_eq!(s.code, 200, "stream {i}: {}", s.head);
        streams.push(s);
    }
    for s in &streams {
        s.expect("each stream starts with its agent", "agent", |d| {
            d["state"] == "offline"
        });
    }
    // Eight streams open, four workers: plain requests still answer at once.
    for _ in 0..6 {
        let started = Instant::now();
        let (code, _) = get(&callbox, "/api/v1/agents", None);
        assert_eq!(code, 200);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "answered in {:?}",
            started.elapsed()
        );
    }
    center::login(&callbox, "8001", Some("direct"));
    for s in &streams[..4] {
        s.expect(
            "every stream of 8001 hears the login",
            "agent",
            agent_event("8001", "idle"),
        );
    }
    // A fifth stream of 8001 closes their oldest; 8002's are untouched.
    let fifth = Stream::open(callbox.http, "/api/v1/events", Some(&a));
    assert_eq!(fifth.code, 200);
    streams[0].expect_closed("the oldest of 8001's streams", Duration::from_secs(5));
    streams[0].expect("it says why", "end", |d| d["code"] == "displaced");
    assert!(
        streams[1..].iter().all(|s| !s.is_closed()),
        "only the oldest closes"
    );
    // Bad requests for a stream.
    let r = send(
        callbox.http,
        "GET",
        "/api/v1/events?topics=all",
        "",
        Some(&a),
    );
    assert_eq!(
        (r.code, r.json()["field"].as_str()),
        (400, Some("topics")),
        "{}",
        r.text
    );
    let gone = Session {
        cookie: "callbox_session=0000000000000000ffff".into(),
        csrf: String::new(),
    };
    assert_eq!(
        send(callbox.http, "GET", "/api/v1/events", "", Some(&gone)).code,
        401
    );
    // This machine without a session (the command line) sees everything.
    let local = Stream::open(callbox.http, "/api/v1/events", None);
    assert_eq!(local.code, 200);
    local.expect("this machine gets the queues too", "queues", |d| {
        d.is_array()
    });
    local.expect("and every agent", "agent", agent_event("8002", "offline"));
}

#[test]
fn the_status_log_filters_and_names_bad_parameters() {
    let t = TestDir::new("api-live-log").unwrap();
    let callbox = quiet_center(&t);
    let a = login(callbox.http, "8001", PASSWORD);
    center::login(&callbox, "8001", Some("direct"));
    center::login(&callbox, "8002", Some("direct"));
    post(
        &callbox,
        "/api/v1/agents/8001/state",
        r#"{"state":"busy"}"#,
        &a,
    );
    post(
        &callbox,
        "/api/v1/agents/8001/state",
        r#"{"state":"rest"}"#,
        &a,
    );
    post(
        &callbox,
        "/api/v1/agents/8001/state",
        r#"{"state":"idle"}"#,
        &a,
    );
    let rows = |query: &str, who: Option<&Session>| {
        let (code, body) = get(&callbox, &format!("/api/v1/status-log{query}"), who);
        assert_eq!(code, 200, "{query}: {body}");
        body["rows"].as_array().cloned().unwrap_or_default()
    };
    assert!(
        wait_until(secs(5), || rows("?agent=8001", None).len() >= 4),
        "the writer stored 8001's four rows"
    );
    let mine = rows("", Some(&a));
    assert!(
        mine.iter().all(|r| r["agent"] == "8001"),
        "an agent sees only their own"
    );
    let states: Vec<&str> = mine.iter().filter_map(|r| r["to"].as_str()).collect();
    assert_eq!(
        &states[..4],
        ["idle", "rest", "busy", "idle"],
        "newest first"
    );
    assert!(mine[1]["lasted_secs"].is_i64() && mine[0]["lasted_secs"].is_null());
    let busy = rows("?state=busy", None);
    assert!(!busy.is_empty() && busy.iter().all(|r| r["to"] == "busy"));
    assert!(
        rows("?agent=8002", None)
            .iter()
            .all(|r| r["agent"] == "8002")
    );
    assert!(!rows("?agent=8002", None).is_empty());
    assert!(
        rows("?from=2999-01-01", None).is_empty(),
        "nothing in the future"
    );
    assert_eq!(rows("?limit=2", None).len(), 2);
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    assert!(rows(&format!("?from={today}&to={today}&agent=8001"), None).len() >= 4);
    for (query, field) in [
        ("?state=asleep", "state"),
        ("?limit=0", "limit"),
        ("?from=yesterday", "from"),
        ("?agent=x1", "agent"),
        ("?colour=red", "colour"),
    ] {
        let (code, body) = get(&callbox, &format!("/api/v1/status-log{query}"), None);
        assert_eq!(
            (code, body["field"].as_str()),
            (400, Some(field)),
            "{query}: {body}"
        );
    }
    let (code, body) = get(&callbox, "/api/v1/status-log?agent=8002", Some(&a));
    assert_eq!(code, 403, "{body}");
    let (code, body) = get(&callbox, "/api/v1/status-log?agent=9999", None);
    assert_eq!(
        (code, body["field"].as_str()),
        (404, Some("agent")),
        "{body}"
    );
}
