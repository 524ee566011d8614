//! The admin console's lines API against the real daemon: trunks, service numbers,
//! IVR flows, business hours and prompts.
//!
//! - `trunks_numbers_flows_hours_and_prompts_are_kept_and_checked`: CRUD for trunks
//!   and service numbers, the demo flow opening and saving unchanged, a bad flow
//!   refused naming its node, business hours, prompts listed with lengths and played
//!   back; bad input for every write refused 400 naming the field, unknown ids 404,
//!   conflicts 409, SQL-looking names kept verbatim, and an agent's session refused
//!   403 everywhere but the flow list.
//! - `a_flow_saved_through_the_api_routes_real_calls_and_an_upload_is_heard`: a flow
//!   saved through the API routes a sipp call from the carrier (the trail shows the
//!   menu key and the queue), and a WAV of a 700 Hz tone uploaded through an admin
//!   session is what a caller (baresip) hears; an undecodable upload is refused 400
//!   and changes nothing.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use callbox::core::Language;
use callbox::store::NewGroup;
use serde_json::{Value, json};

use common::TestDir;
use common::audio::{has_tone, tone_wav};
use common::baresip::{Baresip, BaresipOpts};
use common::callbox::{Callbox, Prepared};
use common::center::{self, CARRIER_IP};
use common::ports;
use common::sipp::Sipp;
use common::wait::{secs, wait_until};

/// A web session's cookie and CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

/// An answer: code, content type, body bytes.
struct Reply {
    code: u16,
    content_type: String,
    bytes: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    fn field(&self) -> String {
        self.json()["field"].as_str().unwrap_or("").to_string()
    }
}

/// One request as a browser (with `session`) or this machine (without) sends it.
fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &[u8],
    session: Option<&Session>,
) -> Reply {
    send_as(addr, method, path, body, "application/json", session)
}

/// An upload: the file's bytes with their own content type, as the web page sends it.
fn upload(addr: SocketAddr, path: &str, body: &[u8], session: &Session) -> Reply {
    send_as(addr, "PUT", path, body, "audio/wav", Some(session))
}

fn send_as(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &[u8],
    content_type: &str,
    session: Option<&Session>,
) -> Reply {
    let mut s = TcpStream::connect(addr).expect("the API accepts connections");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(session) = session {
        head.push_str(&format!(
            "Cookie: {}\r\nX-CSRF-Token: {}\r\n",
            session.cookie, session.csrf
        ));
    }
    s.write_all(format!("{head}\r\n").as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut reader = BufReader::new(s);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let code = line
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut content_type = String::new();
    let mut chunked = false;
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((n, v)) = line.split_once(':') {
            if n.eq_ignore_ascii_case("content-type") {
                content_type = v.trim().to_string();
            }
            if n.eq_ignore_ascii_case("transfer-encoding") && v.trim() == "chunked" {
                chunked = true;
            }
        }
    }
    let mut raw = Vec::new();
    reader.read_to_end(&mut raw).unwrap();
    let bytes = if chunked { unchunk(&raw) } else { raw };
    Reply {
        code,
        content_type,
        bytes,
    }
}

/// A chunked body's data (tiny_http chunks large answers).
fn unchunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&raw[..end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || raw.len() < end + 2 + size {
            break;
        }
        out.extend_from_slice(&raw[end + 2..end + 2 + size]);
        raw = &raw[(end + 4 + size).min(raw.len())..];
    }
    out
}

fn call(addr: SocketAddr, method: &str, path: &str, body: Value) -> Reply {
    let text = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    send(addr, method, path, text.as_bytes(), None)
}

fn login(addr: SocketAddr, user: &str, password: &str) -> Session {
    let body = json!({ "user": user, "password": password }).to_string();
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /api/v1/session HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, text) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "login as {user}: {raw}");
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("Set-Cookie: "))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string();
    let v: Value = serde_json::from_str(text).unwrap();
    Session {
        cookie,
        csrf: v["csrf"].as_str().unwrap().to_string(),
    }
}

/// The first admin's password as the daemon printed it.
fn admin_password(t: &TestDir) -> String {
    let out = std::fs::read_to_string(t.path().join("callbox.stdout")).unwrap_or_default();
    let line = out
        .lines()
        .find(|l| l.starts_with("Web admin: user admin, password "))
        .unwrap_or_else(|| panic!("no admin password printed:\n{out}"));
    line["Web admin: user admin, password ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .to_string()
}

/// 400 naming `field`.
#[track_caller]
fn refused(r: Reply, field: &str, what: &str) {
    assert_eq!(
        (r.code, r.field().as_str()),
        (400, field),
        "{what}: {}",
        String::from_utf8_lossy(&r.bytes)
    );
}

#[track_caller]
fn code(r: &Reply, want: u16, what: &str) {
    assert_eq!(
        r.code,
        want,
        "{what}: {}",
        String::from_utf8_lossy(&r.bytes)
    );
}

const SQLISH: &str = "电信'); DROP TABLE trunks; --";

#[test]
fn trunks_numbers_flows_hours_and_prompts_are_kept_and_checked() {
    let t = TestDir::new("api-lines").unwrap();
    let mut p = Prepared::new(t.path()).unwrap();
    let seed = p.store.seed_demo_if_empty().unwrap().unwrap();
    let (agent, _, agent_pw, _) = seed.agents[0].clone();
    let callbox = p.start().unwrap();
    let http = callbox.http;
    let admin = login(http, "admin", &admin_password(&t));

    // Trunks.
    let r = call(http, "GET", "/api/v1/trunks", Value::Null);
    code(&r, 200, "trunks");
    let demo = r.json()[0].clone();
    assert_eq!(demo["numbers"], json!(["4008001234"]), "{demo}");
    let demo_id = demo["id"].as_i64().unwrap();
    let good = json!({
        "name": SQLISH, "host": "sip.carrier.cn:5060", "inbound_peers": ["192.0.2.50"],
        "register_user": "0211234", "register_password": "carrier-secret",
        "register_expires": 600, "caller_id": "+862112345678", "codecs": ["PCMA", "PCMU"],
    });
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    for (body, field) in [
        (with("name", json!("")), "name"),
        (with("name", json!(7)), "name"),
        (with("host", json!("sip:x y")), "host"),
        (with("inbound_peers", json!(["carrier"])), "inbound_peers"),
        (
            with("outbound_proxy", json!("proxy.example")),
            "outbound_proxy",
        ),
        (with("register_password", Value::Null), "register_password"),
        (with("register_expires", json!(5)), "register_expires"),
        (with("caller_id", json!("400-800")), "caller_id"),
        (with("codecs", json!(["G729"])), "codecs"),
        (with("codecs", json!([])), "codecs"),
        (with("colour", json!("red")), "colour"),
    ] {
        refused(
            call(http, "POST", "/api/v1/trunks", body.clone()),
            field,
            &body.to_string(),
        );
    }
    let r = send(http, "POST", "/api/v1/trunks", b"{\"name\":", None);
    code(&r, 400, "malformed JSON");
    let r = call(http, "POST", "/api/v1/trunks", good.clone());
    code(&r, 201, "a trunk is added");
    let trunk = r.json();
    assert_eq!(trunk["name"], SQLISH, "kept verbatim");
    assert_eq!(trunk["register_password_set"], true);
    assert_eq!(trunk["registration"], "unknown");
    assert!(!String::from_utf8_lossy(&r.bytes).contains("carrier-secret"));
    let id = trunk["id"].as_i64().unwrap();
    let r = call(http, "POST", "/api/v1/trunks", good.clone());
    assert_eq!((r.code, r.field().as_str()), (409, "name"));
    let mut changed = good.clone();
    changed["host"] = json!("192.0.2.51");
    changed.as_object_mut().unwrap().remove("register_password");
    for (k, v) in [
        ("host", json!("")),
        ("codecs", json!("PCMA")),
        ("register_expires", json!(-1)),
    ] {
        let mut bad = changed.clone();
        bad[k] = v;
        refused(
            call(http, "PUT", &format!("/api/v1/trunks/{id}"), bad),
            k,
            "a replacement",
        );
    }
    let r = call(
        http,
        "PUT",
        &format!("/api/v1/trunks/{id}"),
        changed.clone(),
    );
    code(&r, 200, "a trunk is replaced, its password kept");
    assert_eq!(r.json()["host"], "192.0.2.51");
    let kept = callbox.store().trunks().unwrap();
    let kept = kept.iter().find(|t| t.trunk.id.0 == id).unwrap();
    assert_eq!(
        kept.trunk.register.as_ref().unwrap().password,
        "carrier-secret"
    );
    code(
        &call(http, "PUT", "/api/v1/trunks/999", changed.clone()),
        404,
        "unknown trunk",
    );
    code(
        &call(http, "GET", "/api/v1/trunks/abc", Value::Null),
        404,
        "not an id",
    );
    let r = call(
        http,
        "DELETE",
        &format!("/api/v1/trunks/{demo_id}"),
        Value::Null,
    );
    code(&r, 409, "the demo trunk has a number");
    assert!(String::from_utf8_lossy(&r.bytes).contains("4008001234"));

    // Service numbers.
    let number = json!({ "number": "+862155550000", "trunk_id": id, "group_id": 1, "priority": 3, "language": "en" });
    let nwith = |k: &str, v: Value| {
        let mut b = number.clone();
        b[k] = v;
        b
    };
    for (body, field, want) in [
        (nwith("number", json!("555 0000")), "number", 400),
        (nwith("number", Value::Null), "number", 400),
        (nwith("trunk_id", Value::Null), "trunk_id", 400),
        (nwith("priority", json!(10)), "priority", 400),
        (nwith("priority", json!("high")), "priority", 400),
        (nwith("language", json!("fr")), "language", 400),
        (nwith("group_id", Value::Null), "flow_id", 400),
        (nwith("trunk_id", json!(999)), "trunk_id", 404),
        (nwith("group_id", json!(999)), "group_id", 404),
        (nwith("flow_id", json!(999)), "flow_id", 404),
        (nwith("device_id", json!(999)), "device_id", 404),
        (nwith("extra", json!(1)), "extra", 400),
    ] {
        let r = call(http, "POST", "/api/v1/service-numbers", body.clone());
        assert_eq!((r.code, r.field().as_str()), (want, field), "{body}");
    }
    let r = call(http, "POST", "/api/v1/service-numbers", number.clone());
    code(&r, 201, "a number is added");
    assert_eq!(r.json()["group_name"], "售前咨询");
    assert_eq!(r.json()["trunk_name"], SQLISH);
    let r = call(http, "POST", "/api/v1/service-numbers", number.clone());
    assert_eq!((r.code, r.field().as_str()), (409, "number"));
    let r = call(
        http,
        "GET",
        "/api/v1/service-numbers/%2B862155550000",
        Value::Null,
    );
    code(&r, 200, "a number with a + reads back");
    assert_eq!(r.json()["priority"], 3);
    for (k, v) in [
        ("priority", json!(-1)),
        ("language", json!(1)),
        ("number", json!("")),
    ] {
        let mut bad = number.clone();
        bad[k] = v;
        refused(
            call(http, "PUT", "/api/v1/service-numbers/%2B862155550000", bad),
            k,
            "a replacement",
        );
    }
    let r = call(
        http,
        "PUT",
        "/api/v1/service-numbers/%2B862155550000",
        json!({ "number": "02155550001", "trunk_id": id, "flow_id": 1, "device_id": 1 }),
    );
    code(&r, 200, "renamed and sent through the demo flow");
    assert_eq!(
        (
            r.json()["flow_name"].as_str(),
            r.json()["device_user"].as_str(),
            r.json()["language"].as_str()
        ),
        (Some("默认流程"), Some("1001"), Some("zh-CN"))
    );
    code(
        &call(http, "PUT", "/api/v1/service-numbers/123", number.clone()),
        404,
        "unknown number",
    );
    let r = call(http, "DELETE", &format!("/api/v1/trunks/{id}"), Value::Null);
    code(&r, 409, "the new trunk has a number now");
    assert!(String::from_utf8_lossy(&r.bytes).contains("02155550001"));
    code(
        &call(
            http,
            "DELETE",
            "/api/v1/service-numbers/02155550001",
            Value::Null,
        ),
        200,
        "number removed",
    );
    code(
        &call(
            http,
            "DELETE",
            "/api/v1/service-numbers/02155550001",
            Value::Null,
        ),
        404,
        "gone",
    );
    code(
        &call(http, "DELETE", &format!("/api/v1/trunks/{id}"), Value::Null),
        200,
        "trunk removed",
    );
    code(
        &call(http, "GET", &format!("/api/v1/trunks/{id}"), Value::Null),
        404,
        "trunk gone",
    );

    // Flows: the demo flow opens and saves unchanged.
    let r = call(http, "GET", "/api/v1/flows/1", Value::Null);
    code(&r, 200, "the demo flow");
    let demo_flow = r.json();
    assert_eq!(demo_flow["numbers"], json!(["4008001234"]));
    let save = json!({ "name": demo_flow["name"], "start": demo_flow["start"], "nodes": demo_flow["nodes"] });
    let r = call(http, "PUT", "/api/v1/flows/1", save.clone());
    code(&r, 200, "the demo flow saves");
    assert_eq!(r.json(), demo_flow, "unchanged");
    let r = call(http, "GET", "/api/v1/flows", Value::Null);
    let list = r.json();
    assert_eq!(
        list[0]["nodes"][0],
        json!({ "id": 1, "type": "menu", "label": "welcome_menu [1→2 2→3]" })
    );
    assert_eq!(list[0]["nodes"][1]["label"], "售前咨询");

    let menu = |next: u32| {
        json!({ "id": 1, "type": "menu", "prompts": ["welcome_menu"],
        "choices": [{ "key": "1", "next": next }], "timeout_secs": 5, "retries": 1, "fail": null })
    };
    let hang = json!({ "id": 2, "type": "hangup", "prompts": ["goodbye"] });
    for (nodes, start, field) in [
        (
            json!([menu(2), hang.clone(), { "id": 3, "type": "queue", "group": 99 }]),
            1,
            "nodes[2]",
        ),
        (json!([menu(7), hang.clone()]), 1, "nodes[0]"),
        (
            json!([hang.clone(), { "id": 1, "type": "play", "prompts": ["../x"], "next": 2 }]),
            1,
            "nodes[1]",
        ),
        (
            json!([menu(2), { "id": 2, "type": "teleport" }]),
            1,
            "nodes[1]",
        ),
        (json!([menu(2), hang.clone(), hang.clone()]), 1, "nodes[2]"),
        (json!([menu(2), hang.clone()]), 5, "start"),
        (json!([]), 1, "nodes"),
    ] {
        let body = json!({ "name": "坏流程", "start": start, "nodes": nodes });
        refused(
            call(http, "POST", "/api/v1/flows", body.clone()),
            field,
            &body.to_string(),
        );
    }
    let r = call(
        http,
        "POST",
        "/api/v1/flows",
        json!({ "name": "默认流程", "start": 1, "nodes": [menu(2), hang.clone()] }),
    );
    assert_eq!((r.code, r.field().as_str()), (409, "name"));
    let r = call(
        http,
        "POST",
        "/api/v1/flows",
        json!({ "name": "夜间", "start": 1, "nodes": [menu(2), hang.clone()] }),
    );
    code(&r, 201, "a flow is added");
    let night = r.json()["id"].as_i64().unwrap();
    code(
        &call(http, "DELETE", "/api/v1/flows/1", Value::Null),
        409,
        "the demo number uses the demo flow",
    );
    code(
        &call(http, "PUT", "/api/v1/flows/99", save.clone()),
        404,
        "unknown flow",
    );

    let bad = json!({ "name": "夜间", "start": 1, "nodes": [menu(2), { "id": 2, "type": "hangup", "prompts": "goodbye" }] });
    refused(
        call(http, "PUT", &format!("/api/v1/flows/{night}"), bad),
        "nodes[1]",
        "a replacement",
    );
    refused(
        call(
            http,
            "PUT",
            &format!("/api/v1/flows/{night}"),
            json!({ "name": "", "start": 1, "nodes": [menu(2), hang.clone()] }),
        ),
        "name",
        "no name",
    );

    // Business hours: put some in front of the night flow, then change them.
    refused(
        call(
            http,
            "POST",
            &format!("/api/v1/flows/{night}/hours"),
            json!({ "schedule": [{ "day": "Mon", "from": 0, "to": 2000 }] }),
        ),
        "schedule[0]",
        "bad hours",
    );
    refused(
        call(
            http,
            "POST",
            &format!("/api/v1/flows/{night}/hours"),
            json!({ "open": 1 }),
        ),
        "open",
        "unknown field",
    );
    code(
        &call(http, "POST", "/api/v1/flows/77/hours", Value::Null),
        404,
        "unknown flow",
    );
    let r = call(
        http,
        "POST",
        &format!("/api/v1/flows/{night}/hours"),
        Value::Null,
    );
    code(&r, 201, "hours added");
    let hours = r.json();
    assert_eq!(
        (hours["open"].as_i64(), hours["closed"].as_i64()),
        (Some(1), Some(4)),
        "{hours}"
    );
    assert_eq!(hours["schedule"].as_array().map(Vec::len), Some(5));
    let node = hours["node"].as_i64().unwrap();
    let path = format!("/api/v1/flows/{night}/hours/{node}");
    for (body, field) in [
        (
            json!({ "schedule": [{ "day": "Mon", "from": 600, "to": 500 }] }),
            "schedule[0]",
        ),
        (
            json!({ "schedule": [{ "day": "Someday", "from": 0, "to": 60 }] }),
            "schedule",
        ),
        (
            json!({ "schedule": [], "holidays": ["2026-02-30"] }),
            "holidays",
        ),
        (json!({ "holidays": [] }), "schedule"),
        (json!({ "schedule": [], "when": 1 }), "when"),
    ] {
        refused(
            call(http, "PUT", &path, body.clone()),
            field,
            &body.to_string(),
        );
    }
    let r = call(
        http,
        "PUT",
        &path,
        json!({ "schedule": [{ "day": "Sat", "from": 600, "to": 720 }], "holidays": ["2026-10-01"] }),
    );
    code(&r, 200, "hours changed");
    let r = call(http, "GET", "/api/v1/hours", Value::Null);
    let listed = r.json()["hours"].as_array().cloned().unwrap_or_default();
    let mine = listed.iter().find(|h| h["flow_id"] == night).unwrap();
    assert_eq!(
        mine["schedule"],
        json!([{ "day": "Sat", "from": 600, "to": 720 }])
    );
    assert_eq!(mine["holidays"], json!(["2026-10-01"]));
    code(
        &call(
            http,
            "PUT",
            &format!("/api/v1/flows/{night}/hours/2"),
            json!({ "schedule": [] }),
        ),
        404,
        "not an hours node",
    );

    // Prompts.
    let r = call(http, "GET", "/api/v1/prompts?language=zh-CN", Value::Null);
    code(&r, 200, "prompts");
    let welcome = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "welcome_menu")
        .cloned()
        .unwrap();
    assert_eq!(
        (welcome["builtin"].as_bool(), welcome["uploaded"].as_bool()),
        (Some(true), Some(false))
    );
    assert!(welcome["seconds"].as_f64().unwrap() > 1.0, "{welcome}");
    assert!(welcome["text"].as_str().unwrap().contains("业务咨询请按1"));
    let r = send(http, "GET", "/api/v1/prompts/zh-CN/welcome_menu", b"", None);
    code(&r, 200, "the built-in prompt plays");
    assert_eq!(r.content_type, "audio/wav");
    assert!(r.bytes.starts_with(b"RIFF"));
    refused(
        call(http, "GET", "/api/v1/prompts?language=fr", Value::Null),
        "language",
        "list",
    );
    refused(
        upload(http, "/api/v1/prompts/zh-CN/Bad-Name", b"RIFF", &admin),
        "name",
        "name",
    );
    refused(
        upload(http, "/api/v1/prompts/fr/welcome_menu", b"RIFF", &admin),
        "language",
        "lang",
    );
    refused(
        upload(http, "/api/v1/prompts/zh-CN/welcome_menu", b"", &admin),
        "body",
        "empty",
    );
    code(
        &call(
            http,
            "DELETE",
            "/api/v1/prompts/zh-CN/welcome_menu",
            Value::Null,
        ),
        404,
        "nothing uploaded",
    );
    code(
        &send(
            http,
            "GET",
            "/api/v1/prompts/zh-CN/no_such_prompt",
            b"",
            None,
        ),
        404,
        "unknown prompt",
    );

    // An agent reads the flow list and nothing else of this area, and changes nothing.
    let s = login(http, &agent, &agent_pw);
    let r = send(http, "GET", "/api/v1/flows", b"", Some(&s));
    code(&r, 200, "an agent lists flows (the call bar's menu)");
    for (method, path) in [
        ("GET", "/api/v1/trunks"),
        ("POST", "/api/v1/trunks"),
        ("PUT", "/api/v1/trunks/1"),
        ("DELETE", "/api/v1/trunks/1"),
        ("GET", "/api/v1/service-numbers"),
        ("POST", "/api/v1/service-numbers"),
        ("PUT", "/api/v1/service-numbers/4008001234"),
        ("DELETE", "/api/v1/service-numbers/4008001234"),
        ("GET", "/api/v1/flows/1"),
        ("POST", "/api/v1/flows"),
        ("PUT", "/api/v1/flows/1"),
        ("DELETE", "/api/v1/flows/1"),
        ("GET", "/api/v1/hours"),
        ("POST", "/api/v1/flows/1/hours"),
        ("PUT", "/api/v1/flows/1/hours/1"),
        ("GET", "/api/v1/prompts"),
        ("GET", "/api/v1/prompts/zh-CN/welcome_menu"),
        ("PUT", "/api/v1/prompts/zh-CN/welcome_menu"),
        ("DELETE", "/api/v1/prompts/zh-CN/welcome_menu"),
    ] {
        code(
            &send(http, method, path, b"{}", Some(&s)),
            403,
            &format!("agent {method} {path}"),
        );
    }
    assert_eq!(
        callbox.store().trunks().unwrap().len(),
        1,
        "nothing changed"
    );
}

const SERVICE: &str = "4008005678";
const TONE_NUMBER: &str = "4008009999";
const PROMPT_TONE: u32 = 700;

#[test]
fn a_flow_saved_through_the_api_routes_real_calls_and_an_upload_is_heard() {
    let t = TestDir::new("api-lines-calls").unwrap();
    let mut p = Prepared::new(t.path()).unwrap();
    let trunk = center::carrier_for_softphones(&mut p.store, ports::free_port());
    let group = p.store.add_group(&NewGroup::new("售后")).unwrap();
    for n in [SERVICE, TONE_NUMBER] {
        p.store.add_service_number(n, trunk, None).unwrap();
        p.store
            .set_service_number_queue(n, Some(group), 0, Language::ZhCn)
            .unwrap();
    }
    let callbox = p.start().unwrap();
    let http = callbox.http;
    let admin = login(http, "admin", &admin_password(&t));

    // A menu built as the editor saves it: 1 → the 售后 queue.
    let flow = json!({ "name": "热线", "start": 10, "nodes": [
        { "id": 10, "type": "menu", "prompts": ["welcome_menu"],
          "choices": [{ "key": "1", "next": 20 }, { "key": "2", "next": 30 }],
          "timeout_secs": 10, "retries": 1, "fail": null },
        { "id": 20, "type": "queue", "group": group.0 },
        { "id": 30, "type": "hangup", "prompts": ["goodbye"] },
    ]});
    let r = send(
        http,
        "POST",
        "/api/v1/flows",
        flow.to_string().as_bytes(),
        Some(&admin),
    );
    code(&r, 201, "the flow is saved");
    let flow_id = r.json()["id"].as_i64().unwrap();
    let body = json!({ "trunk_id": trunk.0, "flow_id": flow_id, "group_id": group.0 });
    let r = send(
        http,
        "PUT",
        &format!("/api/v1/service-numbers/{SERVICE}"),
        body.to_string().as_bytes(),
        Some(&admin),
    );
    code(&r, 200, "the number goes through the flow");
    wait_reload(&t, &callbox, reloads(&t));
    let customer = Sipp::scenario("customer", "trunk_menu.xml", t.path())
        .remote(callbox.sip)
        .local_ip(CARRIER_IP)
        .service(SERVICE)
        .duration_ms(2000)
        .timeout(Duration::from_secs(30))
        .spawn()
        .unwrap();
    let outcome = customer.finish(secs(30));
    assert!(
        outcome.all_ok(),
        "{}\n{}",
        outcome.describe(),
        callbox.log_tail()
    );
    let call = callbox.ended_call(1, Duration::from_secs(5));
    assert_eq!(call.service_number.as_deref(), Some(SERVICE));
    let trail: Vec<String> = callbox
        .trail(1)
        .iter()
        .map(|e| format!("{}: {}", e.kind.as_str(), e.detail))
        .collect();
    assert!(
        trail
            .iter()
            .any(|l| l == "overflowed: IVR 热线 (1) → queue 售后"),
        "the caller pressed 1 in the saved menu and queued: {trail:#?}"
    );

    // An upload that does not decode changes nothing.
    let listed = |s: &Session| {
        let r = send(http, "GET", "/api/v1/prompts?language=zh-CN", b"", Some(s));
        r.json().as_array().cloned().unwrap_or_default()
    };
    let before = listed(&admin);
    let mut junk = b"RIFF\x24\0\0\0WAVEfmt ".to_vec();
    junk.extend_from_slice(&[7u8; 300]);
    let r = upload(http, "/api/v1/prompts/zh-CN/tone_notice", &junk, &admin);
    refused(r, "body", "a WAV header over junk");
    let r = upload(
        http,
        "/api/v1/prompts/zh-CN/tone_notice",
        b"<html>hello</html>",
        &admin,
    );
    refused(r, "body", "not audio at all");
    assert_eq!(listed(&admin), before, "nothing changed");
    let kept = std::fs::read_dir(callbox.data_dir.join("prompts/zh-CN"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(kept, 0, "no file was kept");

    // A tone uploaded for a new prompt, played by a flow, is what the caller hears.
    let wav = t.path().join("tone.wav");
    tone_wav(&wav, PROMPT_TONE, 2.0, 16000).unwrap();
    let bytes = std::fs::read(&wav).unwrap();
    let r = upload(http, "/api/v1/prompts/zh-CN/tone_notice", &bytes, &admin);
    code(&r, 200, "the tone is uploaded");
    let up = r.json();
    assert_eq!(
        (up["uploaded"].as_bool(), up["builtin"].as_bool()),
        (Some(true), Some(false))
    );
    assert!((up["seconds"].as_f64().unwrap() - 2.0).abs() < 0.1, "{up}");
    let r = send(
        http,
        "GET",
        "/api/v1/prompts/zh-CN/tone_notice",
        b"",
        Some(&admin),
    );
    assert_eq!((r.code, r.content_type.as_str()), (200, "audio/wav"));
    assert!(
        r.bytes == bytes,
        "the preview is the file uploaded ({} bytes, not {})",
        r.bytes.len(),
        bytes.len()
    );
    let flow = json!({ "name": "提示音", "start": 1, "nodes": [
        { "id": 1, "type": "play", "prompts": ["tone_notice"], "next": 2 },
        { "id": 2, "type": "hangup", "prompts": [] },
    ]});
    let r = send(
        http,
        "POST",
        "/api/v1/flows",
        flow.to_string().as_bytes(),
        Some(&admin),
    );
    code(&r, 201, "the tone flow");
    let tone_flow = r.json()["id"].as_i64().unwrap();
    let body = json!({ "trunk_id": trunk.0, "flow_id": tone_flow });
    let r = send(
        http,
        "PUT",
        &format!("/api/v1/service-numbers/{TONE_NUMBER}"),
        body.to_string().as_bytes(),
        Some(&admin),
    );
    code(&r, 200, "the tone number");
    wait_reload(&t, &callbox, reloads(&t));
    let mut caller = Baresip::start(
        BaresipOpts::new("caller").user("13900002222").tone(400),
        t.path(),
    )
    .expect("baresip starts");
    caller
        .dial(&format!("sip:{TONE_NUMBER}@{}", callbox.sip))
        .unwrap();
    caller
        .wait_event("CALL_ESTABLISHED", secs(10))
        .unwrap_or_else(|e| panic!("the box answers: {e}\n{}", callbox.log_tail()));
    caller
        .wait_event("CALL_CLOSED", secs(15))
        .unwrap_or_else(|e| {
            panic!(
                "the box hangs up after the prompt: {e}\n{}",
                callbox.log_tail()
            )
        });
    let heard = caller.wait_recording(secs(5)).unwrap();
    assert!(
        has_tone(&heard, 0, f64::from(PROMPT_TONE)).unwrap(),
        "the caller heard the uploaded {PROMPT_TONE} Hz prompt\n{}",
        callbox.log_tail()
    );

    // Back to the default: the upload is gone with its file.
    let r = send(
        http,
        "DELETE",
        "/api/v1/prompts/zh-CN/tone_notice",
        b"",
        Some(&admin),
    );
    code(&r, 200, "reset");
    let r = send(
        http,
        "GET",
        "/api/v1/prompts/zh-CN/tone_notice",
        b"",
        Some(&admin),
    );
    code(&r, 404, "a name without a built-in prompt is gone");
    caller.quit();
}

/// How many times the daemon has reloaded its directory (its log says so each time).
fn reloads(t: &TestDir) -> usize {
    std::fs::read_to_string(t.path().join("callbox.stderr"))
        .unwrap_or_default()
        .matches("the configuration changed")
        .count()
}

/// Waits for the daemon's next reload after the change just committed (the watch
/// thread polls the directory version once a second).
fn wait_reload(t: &TestDir, callbox: &Callbox, since: usize) {
    assert!(
        wait_until(secs(5), || reloads(t) > since),
        "the daemon reloads its directory: {}",
        callbox.log_tail()
    );
}
