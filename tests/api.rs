//! The health API over real HTTP on 127.0.0.1, with a plain TCP client: what a
//! monitoring script or `curl` would see.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use callbox::api::{self, Status};

/// A command channel whose switchboard is gone: these tests cover /health only.
fn no_switchboard() -> crossbeam_channel::Sender<api::CommandRequest> {
    crossbeam_channel::bounded(1).0
}

/// Sends one request and returns (status code, headers, body).
fn request(addr: SocketAddr, method: &str, path: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    // A deadline, so a server that never answers fails the test instead of hanging it.
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .expect("a complete HTTP response");
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    (code, head.to_ascii_lowercase(), body.to_owned())
}

/// A database path where there is none: the call list answers 500/503, which these
/// tests do not ask for.
fn no_database() -> std::path::PathBuf {
    std::path::PathBuf::from("/nonexistent/callbox.db")
}

#[test]
fn health_reports_counts_and_version_as_json() {
    let status = Arc::new(Status::new());
    let server = api::spawn(
        "127.0.0.1:0".parse().unwrap(),
        status.clone(),
        no_switchboard(),
        no_database(),
        "sounds".into(),
    )
    .unwrap();
    let addr = server.local_addr();
    assert_ne!(addr.port(), 0);

    status.set_calls_active(2);
    status.set_devices_registered(5);
    let (code, head, body) = request(addr, "GET", "/health");
    assert_eq!(code, 200);
    assert!(head.contains("content-type: application/json"), "{head}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["calls_active"], 2);
    assert_eq!(v["devices_registered"], 5);
    assert!(v["uptime_secs"].as_u64().is_some(), "{body}");

    // Paths outside /api are the web panel's (its own routes get index.html); a file
    // it does not have is a 404. (`Host: test` names no machine, so /api/ itself
    // answers 403 here: see tests/api_auth.rs for its routes.)
    let (code, _, _) = request(addr, "GET", "/assets/nope.js");
    assert_eq!(code, 404);
    let (code, _, _) = request(addr, "GET", "/api/v1/nope");
    assert_eq!(code, 403);

    let (code, head, _) = request(addr, "POST", "/health");
    assert_eq!(code, 405);
    assert!(head.contains("allow: get, head"), "{head}");

    server.shutdown();
    // After shutdown nothing answers on that port (a refused or closed connection).
    let after = TcpStream::connect(addr).and_then(|mut s| {
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")?;
        let mut buf = [0u8; 16];
        s.read(&mut buf)
    });
    assert!(
        !matches!(after, Ok(n) if n > 0),
        "still serving after shutdown: {after:?}"
    );
}

#[test]
fn a_taken_port_is_a_clear_error() {
    let first = api::spawn(
        "127.0.0.1:0".parse().unwrap(),
        Arc::new(Status::new()),
        no_switchboard(),
        no_database(),
        "sounds".into(),
    )
    .unwrap();
    let err = api::spawn(
        first.local_addr(),
        Arc::new(Status::new()),
        no_switchboard(),
        no_database(),
        "sounds".into(),
    )
    .err()
    .expect("port is taken");
    assert!(
        err.to_string().contains(&first.local_addr().to_string()),
        "{err}"
    );
}
