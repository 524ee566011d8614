//! Web accounts against the real daemon on a temp data dir: logging in and out, one
//! answer for a wrong user or password, the login rate limit, the CSRF check, what an
//! agent's, a supervisor's and an admin's sessions reach, SQL-looking input kept as
//! text, the first admin's password printed once, and `callbox admin passwd`.
//!
//! Every request comes from 127.0.0.1; a request with the session cookie is judged by
//! the session's role, as one from another machine would be (the rule that other
//! machines need a session is a unit test in `src/api/auth.rs` and `routes.rs`).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use callbox::core::AnswerMode;
use callbox::store::{NewAgent, NewDevice, Store};
use common::TestDir;
use common::callbox::{Callbox, Prepared};
use common::wait::{secs, wait_until};

const SQLISH: &str = "'; DROP TABLE agents; --";

/// One answer: status code, headers (names lower-cased), body as JSON.
struct Reply {
    code: u16,
    headers: Vec<(String, String)>,
    body: serde_json::Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A web session: the cookie and CSRF token a browser would hold.
#[derive(Clone)]
struct Session {
    cookie: String,
    csrf: String,
}

fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    session: Option<&Session>,
    csrf: Option<&str>,
) -> Reply {
    let mut s = TcpStream::connect(addr).expect("the API accepts connections");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(session) = session {
        head.push_str(&format!("Cookie: theme=dark; {}\r\n", session.cookie));
    }
    if let Some(csrf) = csrf {
        head.push_str(&format!("X-CSRF-Token: {csrf}\r\n"));
    }
    write!(s, "{head}\r\n{body}").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, text) = raw.split_once("\r\n\r\n").expect("a complete response");
    let mut lines = head.lines();
    let code = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let body = serde_json::from_str(text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
    Reply {
        code,
        headers,
        body,
    }
}

/// A request of the session, with its CSRF token.
fn with(addr: SocketAddr, s: &Session, method: &str, path: &str, body: &str) -> Reply {
    send(addr, method, path, body, Some(s), Some(&s.csrf))
}

fn try_login(addr: SocketAddr, user: &str, password: &str) -> Reply {
    let body = serde_json::json!({ "user": user, "password": password }).to_string();
    send(addr, "POST", "/api/v1/session", &body, None, None)
}

fn login(addr: SocketAddr, user: &str, password: &str) -> (Session, serde_json::Value) {
    let r = try_login(addr, user, password);
    assert_eq!(r.code, 200, "login as {user}: {}", r.body);
    let set = r.header("set-cookie").expect("a session cookie");
    assert!(
        set.starts_with("callbox_session=") && set.ends_with("; HttpOnly; SameSite=Strict; Path=/"),
        "{set}"
    );
    let session = Session {
        cookie: set.split(';').next().unwrap().to_string(),
        csrf: r.body["csrf"].as_str().unwrap().to_string(),
    };
    (session, r.body)
}

/// Agents 8001 张三 and 8002 李四, and 8003 王五 a supervisor, on unregistered desk
/// phones 1001-1003; the busy reasons include one that looks like SQL.
fn call_center(t: &TestDir) -> Callbox {
    let mut p = Prepared::new(t.path()).unwrap();
    for (i, (number, name)) in [("8001", "张三"), ("8002", "李四"), ("8003", "王五")]
        .into_iter()
        .enumerate()
    {
        let device = p
            .store
            .add_device(&NewDevice {
                user: format!("100{}", i + 1),
                password: "phone-secret".into(),
                name: format!("desk {}", i + 1),
                static_contact: None,
            })
            .unwrap();
        p.store
            .add_agent(&NewAgent {
                number: number.into(),
                name: name.into(),
                web_password: format!("web-{number}"),
                sip_password: None,
                direct_number: None,
                bound_device: Some(device),
                answer_mode: AnswerMode::Device,
                offline_answering: false,
                allow_fallback: false,
                confirm_direct: false,
            })
            .unwrap();
    }
    p.store.set_supervisor("8003", true).unwrap();
    p.store.set_busy_reasons(&["会议", SQLISH]).unwrap();
    p.start().unwrap()
}

fn stdout_of(t: &TestDir) -> String {
    std::fs::read_to_string(t.path().join("callbox.stdout")).unwrap_or_default()
}

/// The first admin's password as the daemon printed it.
fn printed_admin_password(t: &TestDir) -> String {
    let out = stdout_of(t);
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

fn passwd(config: &Path, args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_callbox"))
        .args(["admin", "passwd"])
        .args(args)
        .arg("--config")
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn a_login_opens_a_session_that_logout_ends_with_one_answer_for_any_failure() {
    let t = TestDir::new("auth-login").unwrap();
    let callbox = call_center(&t);
    let http = callbox.http;
    let (s, me) = login(http, "8001", "web-8001");
    assert_eq!(me["user"], "8001");
    assert_eq!(me["role"], "agent");
    assert_eq!(me["agent"], "8001");
    assert_eq!(me["name"], "张三");
    assert_eq!(me["csrf"].as_str().unwrap().len(), 64);
    let again = send(http, "GET", "/api/v1/session", "", Some(&s), None);
    assert_eq!(again.code, 200);
    assert_eq!(again.body, me);
    assert_eq!(
        send(http, "GET", "/api/v1/session", "", None, None).code,
        401
    );

    let wrong = try_login(http, "8001", "not-the-password");
    let unknown = try_login(http, "9999", "web-8001");
    let nobody = try_login(http, "nobody", "web-8001");
    assert_eq!(wrong.code, 401);
    assert_eq!((wrong.code, &wrong.body), (unknown.code, &unknown.body));
    assert_eq!((wrong.code, &wrong.body), (nobody.code, &nobody.body));
    assert!(wrong.header("set-cookie").is_none());
    // Malformed and missing fields name the field.
    let r = send(
        http,
        "POST",
        "/api/v1/session",
        r#"{"user":"8001"}"#,
        None,
        None,
    );
    assert_eq!((r.code, r.body["field"].as_str()), (400, Some("password")));
    let r = send(http, "POST", "/api/v1/session", "{", None, None);
    assert_eq!(r.code, 400);

    let out = with(http, &s, "DELETE", "/api/v1/session", "");
    assert_eq!(out.code, 200, "{}", out.body);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(
        send(http, "GET", "/api/v1/session", "", Some(&s), None).code,
        401
    );
    let r = send(http, "GET", "/api/v1/agents/8001/calls", "", Some(&s), None);
    assert_eq!(
        r.code, 401,
        "a logged-out cookie is no longer this machine's admin"
    );
    // The command line's way in, no cookie from this machine, still works.
    assert_eq!(
        send(http, "GET", "/api/v1/agents", "", None, None).code,
        200
    );
}

#[test]
fn failed_logins_are_limited_per_user_whether_or_not_it_exists() {
    let t = TestDir::new("auth-limit").unwrap();
    let callbox = call_center(&t);
    let http = callbox.http;
    for user in ["8002", "ghost"] {
        for i in 0..5 {
            assert_eq!(try_login(http, user, "guess").code, 401, "{user} try {i}");
        }
        let limited = try_login(http, user, "web-8002");
        assert_eq!(limited.code, 429, "{user}: {}", limited.body);
        let secs: u64 = limited.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=300).contains(&secs), "{secs}");
    }
    // The right password does not get past the limit, and says nothing more.
    let limited = try_login(http, "8002", "web-8002");
    let ghost = try_login(http, "ghost", "web-8002");
    assert_eq!((limited.code, &limited.body), (ghost.code, &ghost.body));
    // Others logging in from the same address are not held up.
    login(http, "8001", "web-8001");
}

#[test]
fn changes_through_a_session_need_its_csrf_token() {
    let t = TestDir::new("auth-csrf").unwrap();
    let callbox = call_center(&t);
    let http = callbox.http;
    let (s, _) = login(http, "8001", "web-8001");
    let (other, _) = login(http, "8002", "web-8002");
    for csrf in [None, Some("wrong"), Some(other.csrf.as_str())] {
        let r = send(
            http,
            "POST",
            "/api/v1/agents/8001/login",
            "{}",
            Some(&s),
            csrf,
        );
        assert_eq!(r.code, 403, "{csrf:?}: {}", r.body);
        assert!(
            r.body["error"].as_str().unwrap().contains("CSRF"),
            "{}",
            r.body
        );
    }
    let r = send(http, "DELETE", "/api/v1/session", "", Some(&s), None);
    assert_eq!(r.code, 403);
    // Reading needs no token; the right token lets the change through.
    assert_eq!(
        send(http, "GET", "/api/v1/agents/8001", "", Some(&s), None).code,
        200
    );
    let r = with(http, &s, "POST", "/api/v1/agents/8001/login", "{}");
    assert_eq!(
        (r.code, r.body["state"].as_str()),
        (200, Some("idle")),
        "{}",
        r.body
    );
}

#[test]
fn an_agent_reaches_only_their_own_routes() {
    let t = TestDir::new("auth-agent").unwrap();
    let callbox = call_center(&t);
    let http = callbox.http;
    let (s, _) = login(http, "8001", "web-8001");
    let forbidden = [
        ("GET", "/api/v1/agents/8002/calls", ""),
        ("GET", "/api/v1/agents/8002/call", ""),
        ("POST", "/api/v1/agents/8002/call/hangup", ""),
        ("POST", "/api/v1/agents/8002/state", r#"{"state":"rest"}"#),
        (
            "POST",
            "/api/v1/agents/8001/supervise",
            r#"{"agent":"8002","mode":"listen"}"#,
        ),
        (
            "POST",
            "/api/v1/calls",
            r#"{"agent":"8002","number":"13800138000"}"#,
        ),
        ("GET", "/api/v1/log-level", ""),
    ];
    for (method, path, body) in forbidden {
        let r = with(http, &s, method, path, body);
        assert_eq!(r.code, 403, "{method} {path}: {}", r.body);
    }
    let r = with(http, &s, "GET", "/api/v1/agents/8001/calls", "");
    assert_eq!(r.code, 200, "{}", r.body);
    assert!(r.body.as_array().is_some());
    let r = with(http, &s, "POST", "/api/v1/agents/8001/login", "{}");
    assert_eq!(r.code, 200, "{}", r.body);
    let r = with(http, &s, "GET", "/api/v1/agents/8001", "");
    assert_eq!((r.code, r.body["state"].as_str()), (200, Some("idle")));
    // Their own call bar passes the role check and reaches the switchboard.
    let r = with(http, &s, "POST", "/api/v1/agents/8001/call/hold", "");
    assert_eq!(r.code, 409, "{}", r.body);
    let r = with(
        http,
        &s,
        "POST",
        "/api/v1/agents/8001/call/hold",
        r#"{"x":1}"#,
    );
    assert_eq!((r.code, r.body["field"].as_str()), (400, Some("x")));
    assert_eq!(with(http, &s, "GET", "/api/v1/nothing", "").code, 404);
    // The audit log names who tried what, and what came of it.
    let audit = callbox.store().audit_log(50).unwrap();
    assert!(
        audit.iter().any(|a| a.actor == "8001"
            && a.action == "hangup"
            && a.detail == "POST /api/v1/agents/8002/call/hangup -> 403"),
        "{audit:#?}"
    );
    assert!(
        audit
            .iter()
            .any(|a| a.actor == "8001" && a.action == "login" && a.detail.ends_with("-> 200")),
        "{audit:#?}"
    );
}

#[test]
fn supervisors_and_the_admin_reach_every_agent() {
    let t = TestDir::new("auth-roles").unwrap();
    let callbox = call_center(&t);
    let http = callbox.http;
    let (sup, me) = login(http, "8003", "web-8003");
    assert_eq!(
        (me["role"].as_str(), me["agent"].as_str()),
        (Some("supervisor"), Some("8003"))
    );
    assert_eq!(with(http, &sup, "GET", "/api/v1/agents", "").code, 200);
    assert_eq!(
        with(http, &sup, "GET", "/api/v1/agents/8001/calls", "").code,
        200
    );
    let r = with(http, &sup, "POST", "/api/v1/agents/8001/login", "{}");
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(with(http, &sup, "GET", "/api/v1/log-level", "").code, 403);

    let (admin, me) = login(http, "admin", &printed_admin_password(&t));
    assert_eq!(
        (
            me["role"].as_str(),
            me["agent"].as_str(),
            me["name"].as_str()
        ),
        (Some("admin"), None, Some("admin"))
    );
    let r = with(http, &admin, "POST", "/api/v1/agents/8002/login", "{}");
    assert_eq!(r.code, 200, "{}", r.body);
    assert_eq!(with(http, &admin, "GET", "/api/v1/log-level", "").code, 200);
    let log = callbox.store();
    // The store's writer commits on its own thread: wait for the rows, with a deadline.
    let audited = wait_until(secs(5), || {
        log.audit_log(50).unwrap().iter().any(|a| {
            a.actor == "admin"
                && a.action == "login"
                && a.detail == "POST /api/v1/agents/8002/login -> 200"
        })
    });
    assert!(audited, "{:#?}", log.audit_log(50).unwrap());
    // A change to another agent's state is recorded as an admin's.
    let (id, _) = log.agent_by_number("8002").unwrap().unwrap();
    let by_admin = wait_until(secs(5), || {
        log.agent_status_log(id, 5)
            .unwrap()
            .last()
            .is_some_and(|r| r.cause.as_str() == "admin")
    });
    assert!(by_admin, "{:?}", log.agent_status_log(id, 5).unwrap());
}

#[test]
fn sql_looking_input_is_kept_as_text() {
    let t = TestDir::new("auth-sql").unwrap();
    let callbox = call_center(&t);
    let http = callbox.http;
    let refused = try_login(http, SQLISH, "x' OR '1'='1");
    assert_eq!(refused.code, 401);
    assert_eq!(refused.body, try_login(http, "8001", "wrong").body);

    let (s, _) = login(http, "8001", "web-8001");
    assert_eq!(
        with(http, &s, "POST", "/api/v1/agents/8001/login", "{}").code,
        200
    );
    let body = serde_json::json!({ "state": "busy", "reason": SQLISH }).to_string();
    let r = with(http, &s, "POST", "/api/v1/agents/8001/state", &body);
    assert_eq!(
        (r.code, r.body["reason"].as_str()),
        (200, Some(SQLISH)),
        "{}",
        r.body
    );
    let r = with(http, &s, "GET", "/api/v1/agents/8001", "");
    assert_eq!(r.body["reason"].as_str(), Some(SQLISH));
    let store = callbox.store();
    let (id, name) = store.agent_by_number("8001").unwrap().unwrap();
    assert_eq!(name, "张三", "the agents table is still there");
    // The store's writer commits on its own thread: wait for the row, with a deadline.
    let kept = wait_until(secs(5), || {
        store
            .agent_status_log(id, 5)
            .unwrap()
            .last()
            .is_some_and(|r| r.reason.as_deref() == Some(SQLISH))
    });
    assert!(kept, "{:?}", store.agent_status_log(id, 5).unwrap());
    let r = with(
        http,
        &s,
        "GET",
        &format!("/api/v1/agents/{}/calls", "8001%27%3B"),
        "",
    );
    assert_eq!(r.code, 403, "another agent number, as far as the role goes");

    // As a user name, created by `callbox admin passwd`, it logs in like any other.
    let config = t.path().join("callbox.toml");
    let (ok, text) = passwd(
        &config,
        &[SQLISH, "--role", "supervisor"],
        "a long secret\n",
    );
    assert!(ok, "{text}");
    let (_, me) = login(http, SQLISH, "a long secret");
    assert_eq!(
        (me["user"].as_str(), me["role"].as_str()),
        (Some(SQLISH), Some("supervisor"))
    );
    assert!(callbox.store().agent_by_number("8002").unwrap().is_some());
}

#[test]
fn the_first_admin_password_is_printed_once_and_admin_passwd_resets_it() {
    let t = TestDir::new("auth-admin").unwrap();
    let callbox = call_center(&t);
    let http = callbox.http;
    let first = printed_admin_password(&t);
    assert_eq!(first.len(), 16);
    let (admin, _) = login(http, "admin", &first);
    assert_eq!(with(http, &admin, "GET", "/api/v1/agents", "").code, 200);

    // Too short, or two different lines at a terminal's pace, change nothing.
    let config = t.path().join("callbox.toml");
    let (ok, text) = passwd(&config, &[], "short\n");
    assert!(!ok && text.contains("password"), "{text}");
    let (ok, text) = passwd(&config, &[], "a new admin password\n");
    assert!(ok && text.contains("admin"), "{text}");
    // The old password's session ends at once, and the old password with it.
    assert_eq!(with(http, &admin, "GET", "/api/v1/agents", "").code, 401);
    assert_eq!(try_login(http, "admin", &first).code, 401);
    login(http, "admin", "a new admin password");
    let (ok, text) = passwd(&config, &["主管"], "supervisor secret\n");
    assert!(ok && text.contains("created"), "{text}");
    let (_, me) = login(http, "主管", "supervisor secret");
    assert_eq!(me["role"], "admin");

    // A second start prints no password: there are users already.
    assert!(callbox.stop().is_some());
    let again = Prepared::new(t.path()).unwrap().start().unwrap();
    let out = stdout_of(&t);
    assert!(
        out.contains("callbox") && !out.contains("Web admin"),
        "{out}"
    );
    login(again.http, "admin", "a new admin password");
    let store = Store::open(&t.path().join("var").join("callbox.db")).unwrap();
    assert!(store.account("admin").unwrap().is_some());
}
