//! End to end against hostile input: scanners guessing extensions, RFC 4475's
//! torture messages, garbage datagrams and the PROTOS c07-sip suite (read in place
//! from `../shared/security/`). The daemon must answer or ignore each, never crash,
//! and keep serving real calls afterwards.

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::TestDir;
use common::baresip::{AnswerMode, Baresip};
use common::callbox::Callbox;
use common::office::{CARRIER_IP, Office, SERVICE};
use common::sipp::Sipp;
use common::wait::{options_ping_within, parse_status, secs};

fn security_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/security")
}

/// A carrier call to the service number that the phone answers: proof of service.
fn a_call_still_works(t: &TestDir, callbox: &mut Callbox, desk: &mut Baresip, label: &str) {
    assert!(callbox.is_running(), "callbox died\n{}", callbox.log_tail());
    let carrier = Sipp::scenario(&format!("carrier-{label}"), "trunk_call.xml", t.path())
        .remote(callbox.sip)
        .local_ip(CARRIER_IP)
        .service(SERVICE)
        .duration_ms(300)
        .timeout(Duration::from_secs(15))
        .spawn()
        .unwrap();
    desk.wait_event("CALL_ESTABLISHED", secs(10))
        .unwrap_or_else(|e| panic!("{label}: {e}\n{}", callbox.log_tail()));
    let outcome = carrier.finish(secs(15));
    assert!(
        outcome.all_ok(),
        "{label}: {}\n{}",
        outcome.describe(),
        callbox.log_tail()
    );
    desk.wait_event("CALL_CLOSED", secs(5)).unwrap();
}

/// The final status the box sent for a REGISTER with these credentials.
fn register_answer(t: &TestDir, callbox: &Callbox, label: &str, user: &str, password: &str) -> u16 {
    let messages = t.path().join(format!("{label}.messages.log"));
    let outcome = Sipp::scenario(label, "phone_register_fail.xml", t.path())
        .remote(callbox.sip)
        .service(user)
        .auth(user, password)
        .arg("-trace_msg")
        .arg("-message_file")
        .arg(messages.to_str().unwrap())
        .timeout(Duration::from_secs(10))
        .run(secs(15))
        .unwrap();
    assert!(outcome.all_ok(), "{label}: {}", outcome.describe());
    let wire = std::fs::read_to_string(&messages).unwrap();
    let last = wire
        .split("SIP/2.0 ")
        .filter_map(|s| s.get(..3)?.parse::<u16>().ok())
        .last();
    last.expect("a final answer to the second REGISTER")
}

#[test]
fn wrong_password_and_unknown_user_get_the_same_answer() {
    let t = TestDir::new("e2e-enumeration").unwrap();
    let Office { callbox, .. } = Office::start(&t, AnswerMode::Auto);
    let right = Sipp::scenario("right", "phone_register.xml", t.path())
        .remote(callbox.sip)
        .service("1001")
        .auth("1001", "pw-1001")
        .timeout(Duration::from_secs(10))
        .run(secs(15))
        .unwrap();
    assert!(
        right.all_ok(),
        "the right password registers: {}",
        right.describe()
    );
    let wrong = register_answer(&t, &callbox, "wrong", "1001", "guess");
    let unknown = register_answer(&t, &callbox, "unknown", "1099", "guess");
    assert_eq!(
        wrong, unknown,
        "a scanner cannot tell a real extension from a missing one"
    );
    assert!(matches!(wrong, 401 | 403), "refused: {wrong}");
}

/// Send `msg` from `sock` and return the first final status that comes back.
fn exchange(sock: &UdpSocket, to: SocketAddr, msg: &[u8]) -> Option<u16> {
    sock.send_to(msg, to).ok()?;
    let mut buf = [0u8; 8192];
    sock.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    loop {
        let (len, _) = sock.recv_from(&mut buf).ok()?;
        match parse_status(&String::from_utf8_lossy(&buf[..len])) {
            Some(code) if code >= 200 => return Some(code),
            _ => continue,
        }
    }
}

/// A torture message with its top Via pointed at our socket, so the answer comes
/// back to us (RFC 3261 §18.2.2 would send it to the Via's port otherwise).
fn via_to(msg: &str, local: SocketAddr) -> String {
    let mut out = String::new();
    let mut done = false;
    for line in msg.split_inclusive("\r\n") {
        if !done && line.starts_with("Via: SIP/2.0/") {
            let proto = if line.starts_with("Via: SIP/2.0/TCP") {
                "TCP"
            } else {
                "UDP"
            };
            let params = line.find(';').map_or("\r\n", |i| &line[i..]);
            out.push_str(&format!("Via: SIP/2.0/{proto} {local}{params}"));
            done = true;
        } else {
            out.push_str(line);
        }
    }
    out
}

#[test]
fn torture_messages_and_garbage_are_answered_or_ignored_and_calls_go_on() {
    let t = TestDir::new("e2e-torture").unwrap();
    let Office {
        mut callbox,
        mut desk,
        ..
    } = Office::start(&t, AnswerMode::Auto);
    let dir = security_dir().join("rfc4475");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();

    // The application's own answers (the field notes found these wrong in a bare stack).
    let sock = UdpSocket::bind((CARRIER_IP, 0)).unwrap();
    let local = sock.local_addr().unwrap();
    for (name, expected) in [("invut.dat", 415), ("sdp01.dat", 406)] {
        let answer = exchange(&sock, callbox.sip, via_to(&read(name), local).as_bytes());
        assert_eq!(answer, Some(expected), "{name}");
    }
    let sock1 = UdpSocket::bind(("127.0.0.1", 0)).unwrap();
    let regaut = via_to(&read("regaut01.dat"), sock1.local_addr().unwrap())
        .replace("SIP/2.0/TCP", "SIP/2.0/UDP");
    assert_eq!(
        exchange(&sock1, callbox.sip, regaut.as_bytes()),
        Some(401),
        "unknown auth scheme: challenged again"
    );

    // Every torture message as it is, over UDP from a device address and from the
    // trunk's, and over TCP.
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    assert!(names.len() >= 40, "the RFC 4475 messages are there");
    for path in &names {
        let bytes = std::fs::read(path).unwrap();
        let _ = sock.send_to(&bytes, callbox.sip);
        let _ = sock1.send_to(&bytes, callbox.sip);
        if let Ok(mut tcp) = TcpStream::connect_timeout(&callbox.sip, Duration::from_secs(1)) {
            let _ = tcp.write_all(&bytes);
        }
    }
    // Garbage: random bytes, empty datagrams, a huge one, half a request.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for n in 0..200 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = (seed % 1400) as usize;
        let junk: Vec<u8> = (0..len).map(|i| (seed >> (i % 56)) as u8).collect();
        let _ = sock.send_to(if n % 50 == 0 { &[] } else { &junk }, callbox.sip);
    }
    let _ = sock.send_to(&vec![b'A'; 65_000], callbox.sip);
    let _ = sock.send_to(
        b"INVITE sip:4008001234@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP",
        callbox.sip,
    );

    assert_eq!(
        options_ping_within(callbox.sip, Duration::from_secs(5)),
        Some(200),
        "still answering\n{}",
        callbox.log_tail()
    );
    a_call_still_works(&t, &mut callbox, &mut desk, "after-torture");
}

#[test]
fn the_protos_suite_is_survived_and_calls_go_on() {
    let t = TestDir::new("e2e-protos").unwrap();
    let Office {
        mut callbox,
        mut desk,
        ..
    } = Office::start(&t, AnswerMode::Auto);
    let cases = t.sub("protos").unwrap();
    let status = std::process::Command::new("tar")
        .arg("-xJf")
        .arg(security_dir().join("protos-c07-sip-cases.tar.xz"))
        .arg("-C")
        .arg(&cases)
        .status()
        .unwrap();
    assert!(status.success(), "the PROTOS archive unpacks");
    let mut files: Vec<_> = std::fs::read_dir(cases.join("cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        files.len() > 4500,
        "all PROTOS cases are there ({})",
        files.len()
    );

    // Sent from the trunk's address so that well-formed INVITEs reach the SDP parser,
    // the switchboard and the store, not only the digest challenge; to a number that
    // rings nobody, so they are refused (404) instead of piling up on the phone.
    let sock = UdpSocket::bind((CARRIER_IP, 0)).unwrap();
    let local = sock.local_addr().unwrap();
    for (n, path) in files.iter().enumerate() {
        let raw = std::fs::read(path).unwrap();
        let message = protos_instance(&raw, n, local, callbox.sip);
        let _ = sock.send_to(&message, callbox.sip);
        if n % 250 == 249 {
            assert_eq!(
                options_ping_within(callbox.sip, Duration::from_secs(5)),
                Some(200),
                "no answer after case {n}\n{}",
                callbox.log_tail()
            );
        }
    }
    a_call_still_works(&t, &mut callbox, &mut desk, "after-protos");
    let refused = callbox.store().recent_calls(10_000).unwrap();
    let refused = refused
        .iter()
        .filter(|c| c.end_cause.as_deref() == Some("no such number"))
        .count();
    assert!(
        refused > 1000,
        "the well-formed cases reached the switchboard and were logged ({refused})"
    );
}

/// A PROTOS case file is "<length> <message template>": fill the template's
/// placeholders the way the suite's own sender does.
fn protos_instance(raw: &[u8], n: usize, local: SocketAddr, to: SocketAddr) -> Vec<u8> {
    let start = raw.iter().position(|b| *b == b' ').map_or(0, |i| i + 1);
    let template = &raw[start..];
    let body_len = find(template, b"\r\n\r\n").map_or(0, |i| template.len() - i - 4);
    let fill = [
        (&b"<To>"[..], format!("4000000000@{to}")),
        (b"<From>", format!("protos@{}", local.ip())),
        (b"<From-Address>", local.ip().to_string()),
        (b"<From-IP>", local.ip().to_string()),
        (b"<Local-Port>", local.port().to_string()),
        (b"<Branch-ID>", format!("{n}")),
        (b"<Call-ID>", format!("protos-{n}")),
        (b"<CSeq>", format!("{}", n + 1)),
        (b"<Content-Length>", body_len.to_string()),
    ];
    let mut out = template.to_vec();
    for (key, value) in fill {
        while let Some(i) = find(&out, key) {
            out.splice(i..i + key.len(), value.bytes());
        }
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
