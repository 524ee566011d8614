//! Web sessions for API tests: log in as a browser would (the `callbox_session`
//! cookie and the CSRF token the login answers with), and requests that carry them.
//!
//! `send` reads the status line, the headers and a body of the length announced (or
//! chunked); a
//! server-sent event stream (no length) is not read further, so a test can probe
//! every route without waiting on one that streams.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One answer: status code, headers (names lower-cased), body as text.
#[derive(Debug)]
pub struct Reply {
    pub code: u16,
    pub headers: Vec<(String, String)>,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or(serde_json::Value::Null)
    }
}

/// A web session: the cookie and CSRF token a browser would hold.
#[derive(Debug, Clone)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

/// One request; `session` adds its cookie and CSRF token (none: this machine).
pub fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    session: Option<&Session>,
) -> Reply {
    let mut s = TcpStream::connect(addr).expect("the API accepts connections");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a read timeout can be set");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(session) = session {
        head.push_str(&format!(
            "Cookie: {}\r\nX-CSRF-Token: {}\r\n",
            session.cookie, session.csrf
        ));
    }
    write!(s, "{head}\r\n{body}").expect("the request is sent");
    let mut reader = BufReader::new(s);
    let mut line = String::new();
    reader.read_line(&mut line).expect("a status line");
    let code = line
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: no status line: {line:?}"));
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
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let stream = headers
        .iter()
        .any(|(n, v)| n == "content-type" && v.starts_with("text/event-stream"));
    let mut bytes = Vec::new();
    match length {
        None if stream => {}
        None if chunked => loop {
            line.clear();
            reader.read_line(&mut line).expect("a chunk size");
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .unwrap_or_else(|_| panic!("{method} {path}: a bad chunk size {line:?}"));
            if size == 0 {
                break;
            }
            let at = bytes.len();
            bytes.resize(at + size, 0);
            reader.read_exact(&mut bytes[at..]).expect("a whole chunk");
            line.clear();
            reader.read_line(&mut line).expect("the chunk's end");
        },
        Some(n) => {
            bytes.resize(n, 0);
            reader.read_exact(&mut bytes).expect("the whole body");
        }
        None => {
            reader.read_to_end(&mut bytes).expect("the body");
        }
    }
    Reply {
        code,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// Logs in as `user`; panics with the answer if refused.
pub fn login(addr: SocketAddr, user: &str, password: &str) -> Session {
    let body = serde_json::json!({ "user": user, "password": password }).to_string();
    let r = send(addr, "POST", "/api/v1/session", &body, None);
    assert_eq!(r.code, 200, "login as {user}: {}", r.text);
    let cookie = r
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string();
    let csrf = r.json()["csrf"].as_str().expect("a CSRF token").to_string();
    Session { cookie, csrf }
}
