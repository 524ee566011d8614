//! The SIP room against a real peer (sipp): registrar, incoming calls from a trunk
//! and from devices, outgoing calls to a carrier, re-INVITE, transfers (REFER in,
//! NOTIFY out, attended ones naming another dialog), and garbage on the wire.
//!
//! Each test starts its own room on 127.0.0.1 with port 0 and a hand-built directory.
//! The "trunk" peer is 127.0.0.2, the "carrier" sipp listens on 127.0.0.3, devices
//! are 127.0.0.1, so the room can tell them apart by source address. Every sipp runs
//! under a guard that kills it by pid; waits have deadlines and never sleep for sync.
//! The tricky part: sipp reports what it saw through `<log>` lines in a file we name,
//! which is how a test reads status codes sipp received.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use callbox::core::{
    CallSource, Codec, Device, DeviceId, Direction, Directory, IncomingCall, LegId, MediaDesc,
    SipCommand, SipEvent, Target, Trunk, TrunkId,
};
use callbox::sip::{SipConfig, SipHandle, spawn};
use crossbeam_channel::{Receiver, bounded};

const DEADLINE: Duration = Duration::from_secs(15);

// ------------------------------------------------------------------ harness

/// A running sipp, killed by pid when dropped.
struct Sipp {
    child: Child,
    log: PathBuf,
    _dir: TempDir,
}

impl Sipp {
    fn start(scenario: &str, target: SocketAddr, args: &[&str]) -> Sipp {
        let dir = TempDir::new();
        let log = dir.0.join("sipp.log");
        let scenario = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/sipp")
            .join(scenario);
        let mut cmd = Command::new("sipp");
        cmd.arg(target.to_string())
            .arg("-sf")
            .arg(&scenario)
            .args([
                "-m",
                "1",
                "-nostdin",
                "-timeout",
                "20s",
                "-timeout_error",
                "-trace_logs",
                "-log_file",
            ])
            .arg(&log)
            .args(["-mp", &free_udp_port("127.0.0.1").to_string()])
            .args(["-cp", &free_udp_port("127.0.0.1").to_string()])
            .args(args)
            .args(["-trace_msg", "-message_file"])
            .arg(dir.0.join("messages.log"))
            .current_dir(&dir.0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd.spawn().expect("sipp is installed (Debian sip-tester)");
        Sipp {
            child,
            log,
            _dir: dir,
        }
    }

    /// A sipp UAS listening on `ip:port`.
    fn server(scenario: &str, ip: &str, port: u16) -> Sipp {
        let dir = TempDir::new();
        let log = dir.0.join("sipp.log");
        let scenario = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/sipp")
            .join(scenario);
        let child = Command::new("sipp")
            .arg("-sf")
            .arg(&scenario)
            .args(["-i", ip, "-p", &port.to_string()])
            .args([
                "-m",
                "1",
                "-nostdin",
                "-timeout",
                "20s",
                "-timeout_error",
                "-trace_logs",
                "-log_file",
            ])
            .arg(&log)
            .args(["-mp", &free_udp_port(ip).to_string()])
            .args(["-cp", &free_udp_port("127.0.0.1").to_string()])
            .args(["-trace_msg", "-message_file"])
            .arg(dir.0.join("messages.log"))
            .args(["-trace_err", "-error_file"])
            .arg(dir.0.join("errors.log"))
            .current_dir(&dir.0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sipp is installed (Debian sip-tester)");
        let sipp = Sipp {
            child,
            log,
            _dir: dir,
        };
        // Our INVITE must not reach the port before sipp listens (an ICMP "port
        // unreachable" makes Sofia fail the call with 503 at once): wait until the port
        // is taken.
        let end = Instant::now() + Duration::from_secs(10);
        while UdpSocket::bind((ip, port)).is_ok() {
            assert!(Instant::now() < end, "sipp did not bind {ip}:{port}");
            std::thread::sleep(Duration::from_millis(10));
        }
        sipp
    }

    /// Waits for sipp to exit (it does after its one call or its timeout).
    fn wait(&mut self) -> ExitStatus {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(st) = self.child.try_wait().expect("wait on sipp") {
                return st;
            }
            assert!(Instant::now() < end, "sipp did not finish in time");
            // Polling a child's exit status; there is no blocking wait with a deadline.
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The `<log>` lines sipp wrote.
    fn log_lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[allow(dead_code)]
    fn messages(&self) -> String {
        let read = |f| std::fs::read_to_string(self.log.with_file_name(f)).unwrap_or_default();
        format!("{}\n{}", read("messages.log"), read("errors.log"))
    }

    fn logged(&self, prefix: &str) -> Option<String> {
        self.log_lines()
            .into_iter()
            .find_map(|l| l.strip_prefix(prefix).map(str::to_owned))
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "sipp ({:?}) saw:\n{}\n{:?}",
                self.child.try_wait(),
                self.messages(),
                self.log_lines()
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "callbox-sip-room-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_udp_port(ip: &str) -> u16 {
    UdpSocket::bind((ip, 0))
        .and_then(|s| s.local_addr())
        .expect("free port")
        .port()
}

const TRUNK_PEER: &str = "127.0.0.2";
const CARRIER_IP: &str = "127.0.0.3";

fn directory(carrier_port: u16) -> Directory {
    let dev = |id, user: &str, password: &str| Device {
        id: DeviceId(id),
        user: user.into(),
        password: password.into(),
        name: format!("phone {user}"),
        static_contact: None,
    };
    Directory {
        devices: vec![dev(1, "1001", "secret1"), dev(2, "1002", "secret2")],
        trunks: vec![Trunk {
            id: TrunkId(7),
            name: "carrier".into(),
            host: format!("{CARRIER_IP}:{carrier_port}"),
            inbound_peers: vec![TRUNK_PEER.parse::<IpAddr>().unwrap()],
            outbound_proxy: None,
            register: None,
            caller_id: "+4930999".into(),
            codecs: vec![Codec::Pcma, Codec::Pcmu],
        }],
        service_numbers: vec![],
        outbound_prefix: "9".into(),
        ..Directory::default()
    }
}

struct Room {
    handle: Option<SipHandle>,
    events: Receiver<SipEvent>,
}

impl Room {
    fn start(dir: Directory) -> Room {
        Room::start_with(dir, |_| {})
    }

    fn start_with(dir: Directory, tweak: impl FnOnce(&mut SipConfig)) -> Room {
        test_log::init();
        let (tx, events) = bounded(64);
        let mut config = SipConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            realm: "callbox".into(),
            user_agent: "callbox-test".into(),
            min_expires: 2,
            max_expires: 3600,
            nonce_lifetime: Duration::from_secs(60),
            qualify_interval: None,
            session_expires: 1800,
        };
        tweak(&mut config);
        let handle = spawn(config, dir, tx).expect("the SIP room starts");
        Room {
            handle: Some(handle),
            events,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.handle.as_ref().unwrap().local_addr()
    }

    fn send(&self, cmd: SipCommand) {
        self.handle
            .as_ref()
            .unwrap()
            .send(cmd)
            .expect("command queued");
    }

    /// The next event that `pick` accepts; others are skipped. Panics at the deadline.
    fn expect<T>(&self, what: &str, mut pick: impl FnMut(&SipEvent) -> Option<T>) -> T {
        let end = Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(ev) => {
                    if let Some(t) = pick(&ev) {
                        return t;
                    }
                }
                Err(_) => panic!("no {what} within {DEADLINE:?}"),
            }
        }
    }

    /// Asserts that no event `pick` accepts arrives within `window` (while a peer we
    /// wait on runs, so the window is not a sleep for synchronisation).
    fn none_of(&self, events: &[SipEvent], mut pick: impl FnMut(&SipEvent) -> bool) {
        if let Some(ev) = events.iter().find(|e| pick(e)) {
            panic!("unexpected event {ev:?}");
        }
    }

    fn drain(&self) -> Vec<SipEvent> {
        self.events.try_iter().collect()
    }
}

impl Drop for Room {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown();
        }
    }
}

fn media(port: u16, direction: Direction) -> MediaDesc {
    MediaDesc {
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        codecs: vec![Codec::Pcma, Codec::Pcmu],
        dtmf_pt: Some(101),
        direction,
    }
}

fn register(room: &Room, user: &str, password: &str, expires: u32) -> Sipp {
    register_from(room, free_udp_port("127.0.0.1"), user, password, expires)
}

/// REGISTER from sipp on `port` (the Contact's port, so a later run can remove it).
fn register_from(room: &Room, port: u16, user: &str, password: &str, expires: u32) -> Sipp {
    let (expires, port) = (expires.to_string(), port.to_string());
    let mut sipp = Sipp::start(
        "sip_room_register.xml",
        room.addr(),
        &[
            "-i",
            "127.0.0.1",
            "-p",
            &port,
            "-s",
            user,
            "-au",
            user,
            "-ap",
            password,
            "-key",
            "expires",
            &expires,
        ],
    );
    sipp.wait();
    sipp
}

fn device_status(ev: &SipEvent, id: i64) -> Option<(usize, bool)> {
    match ev {
        SipEvent::DeviceStatus {
            device,
            contacts,
            reachable,
        } if *device == DeviceId(id) => Some((*contacts, *reachable)),
        _ => None,
    }
}

/// The room's log lines on stderr when `CALLBOX_TEST_LOG` is set (for debugging).
mod test_log {
    struct Stderr;

    impl log::Log for Stderr {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }
        fn log(&self, r: &log::Record<'_>) {
            eprintln!("{} {}: {}", r.level(), r.target(), r.args());
        }
        fn flush(&self) {}
    }

    pub fn init() {
        if std::env::var_os("CALLBOX_TEST_LOG").is_some() && log::set_logger(&Stderr).is_ok() {
            log::set_max_level(log::LevelFilter::Trace);
        }
    }
}

// ------------------------------------------------------------------ registrar

#[test]
fn register_with_the_right_password_then_unregister() {
    let room = Room::start(directory(9));
    let port = free_udp_port("127.0.0.1");
    let sipp = register_from(&room, port, "1001", "secret1", 120);
    assert_eq!(
        sipp.logged("status ").as_deref(),
        Some("200"),
        "log: {:?}",
        sipp.log_lines()
    );
    let contact = sipp.logged("contact ").unwrap_or_default();
    assert!(
        contact.contains(";expires=120"),
        "200 lists the contact with its expiry: {}",
        sipp.messages()
    );
    let server = sipp.logged("user-agent ").unwrap_or_default();
    assert!(
        !server.to_ascii_lowercase().contains("sofia"),
        "Sofia is not named: {server}"
    );
    assert_eq!(
        room.expect("DeviceStatus up", |e| device_status(e, 1)),
        (1, true)
    );

    let sipp = register_from(&room, port, "1001", "secret1", 0);
    assert_eq!(
        sipp.logged("status ").as_deref(),
        Some("200"),
        "log: {:?}",
        sipp.log_lines()
    );
    assert_eq!(
        room.expect("DeviceStatus down", |e| device_status(e, 1)),
        (0, false)
    );
}

#[test]
fn wrong_password_and_unknown_user_are_answered_alike() {
    let room = Room::start(directory(9));
    let wrong = register(&room, "1001", "not-the-password", 120);
    let unknown = register(&room, "7777", "whatever", 120);
    let a = wrong.logged("status ");
    let b = unknown.logged("status ");
    assert!(a.is_some(), "sipp logged a status: {:?}", wrong.log_lines());
    assert_eq!(a, b, "no extension enumeration");
    assert_ne!(a.as_deref(), Some("200"));
    room.none_of(&room.drain(), |e| {
        matches!(e, SipEvent::DeviceStatus { .. })
    });
}

#[test]
fn registration_expires_on_time() {
    let room = Room::start(directory(9));
    let sipp = register(&room, "1002", "secret2", 2);
    assert_eq!(
        sipp.logged("status ").as_deref(),
        Some("200"),
        "log: {:?}",
        sipp.log_lines()
    );
    let registered = Instant::now();
    assert_eq!(
        room.expect("DeviceStatus up", |e| device_status(e, 2)),
        (1, true)
    );
    assert_eq!(
        room.expect("DeviceStatus after expiry", |e| device_status(e, 2)),
        (0, false)
    );
    let took = registered.elapsed();
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(4),
        "expired after {took:?}"
    );
}

// ------------------------------------------------------------------ incoming calls

#[test]
fn trunk_call_is_answered_held_and_hung_up() {
    let room = Room::start(directory(9));
    let mut sipp = Sipp::start(
        "sip_room_trunk_call.xml",
        room.addr(),
        &["-i", TRUNK_PEER, "-s", "+4930555"],
    );
    let (leg, offer) = room.expect("IncomingCall", |e| match e {
        SipEvent::IncomingCall(call) => {
            let IncomingCall {
                leg,
                source,
                from_user,
                from_display,
                to_user,
                offer,
                sip_call_id,
            } = &**call;
            assert_eq!(*source, CallSource::Trunk(TrunkId(7)));
            assert_eq!(from_user, "+4930123");
            assert_eq!(from_display.as_deref(), Some("Carrier Caller"));
            assert_eq!(to_user, "+4930555");
            assert!(!sip_call_id.is_empty());
            Some((*leg, offer.clone()))
        }
        _ => None,
    });
    assert!(leg.is_incoming());
    let offer = offer.expect("the INVITE had SDP");
    assert_eq!(offer.codecs, vec![Codec::Pcma, Codec::Pcmu]);
    assert_eq!(offer.dtmf_pt, Some(101));

    room.send(SipCommand::Respond {
        leg,
        code: 180,
        reason: "Ringing".into(),
        media: None,
    });
    room.send(SipCommand::Respond {
        leg,
        code: 200,
        reason: "OK".into(),
        media: Some(media(40000, Direction::SendRecv)),
    });

    let reoffer = room.expect("Reoffer", |e| match e {
        SipEvent::Reoffer { leg: l, offer } if *l == leg => Some(offer.clone()),
        _ => None,
    });
    assert_eq!(reoffer.direction, Direction::SendOnly);
    room.send(SipCommand::AnswerReoffer {
        leg,
        media: media(40000, Direction::RecvOnly),
    });

    let cancelled = room.expect("HungUp", |e| match e {
        SipEvent::HungUp { leg: l, cancelled } if *l == leg => Some(*cancelled),
        _ => None,
    });
    assert!(!cancelled);
    assert!(
        sipp.wait().success(),
        "sipp saw 100, 180, 200, 200 to the re-INVITE: {:?}",
        sipp.log_lines()
    );
    assert_eq!(
        sipp.logged("answer ").as_deref(),
        Some("m=audio 40000 RTP/AVP 8 0 101")
    );
    assert_eq!(sipp.logged("reanswer ").as_deref(), Some("a=recvonly"));
}

#[test]
fn unknown_caller_is_challenged_then_refused() {
    let room = Room::start(directory(9));
    let mut sipp = Sipp::start(
        "sip_room_device_auth.xml",
        room.addr(),
        &["-i", "127.0.0.1", "-s", "1001", "-au", "1001", "-ap", "bad"],
    );
    assert!(
        sipp.wait().success(),
        "sipp saw 407 then 403: {:?}",
        sipp.log_lines()
    );
    let lines = sipp.log_lines();
    assert!(
        lines.contains(&"status 407".to_string()) && lines.contains(&"status 403".to_string()),
        "{lines:?}"
    );
    room.none_of(&room.drain(), |e| matches!(e, SipEvent::IncomingCall(_)));
}

#[test]
fn device_with_the_right_password_may_call() {
    let room = Room::start(directory(9));
    // The same scenario expects 403 at the end, so it fails here; what counts is the
    // IncomingCall from the device.
    let mut sipp = Sipp::start(
        "sip_room_device_auth.xml",
        room.addr(),
        &[
            "-i",
            "127.0.0.1",
            "-s",
            "1001",
            "-au",
            "1001",
            "-ap",
            "secret1",
        ],
    );
    let (leg, source, to_user) = room.expect("IncomingCall", |e| match e {
        SipEvent::IncomingCall(call) => Some((call.leg, call.source, call.to_user.clone())),
        _ => None,
    });
    assert_eq!(source, CallSource::Device(DeviceId(1)));
    assert_eq!(to_user, "1002");
    room.send(SipCommand::Hangup { leg });
    assert!(sipp.wait().success());
    assert_eq!(sipp.logged("status ").as_deref(), Some("407"));
    assert!(
        sipp.log_lines().contains(&"status 480".to_string()),
        "hang-up before answer is 480"
    );
    room.none_of(&room.drain(), |e| matches!(e, SipEvent::HungUp { .. }));
}

#[test]
fn trunk_cancels_before_answer() {
    let room = Room::start(directory(9));
    let mut sipp = Sipp::start(
        "sip_room_trunk_cancel.xml",
        room.addr(),
        &["-i", TRUNK_PEER, "-s", "+4930555"],
    );
    let leg = room.expect("IncomingCall", |e| match e {
        SipEvent::IncomingCall(call) => Some(call.leg),
        _ => None,
    });
    room.send(SipCommand::Respond {
        leg,
        code: 180,
        reason: "Ringing".into(),
        media: None,
    });
    let cancelled = room.expect("HungUp", |e| match e {
        SipEvent::HungUp { leg: l, cancelled } if *l == leg => Some(*cancelled),
        _ => None,
    });
    assert!(cancelled);
    assert!(
        sipp.wait().success(),
        "Sofia answered the CANCEL 200 and the INVITE 487"
    );
}

#[test]
fn qualify_marks_a_vanished_contact_unreachable() {
    let room = Room::start_with(directory(9), |c| {
        c.qualify_interval = Some(Duration::from_millis(500))
    });
    // sipp exits once registered, so its port answers OPTIONS with ICMP unreachable.
    let sipp = register(&room, "1001", "secret1", 120);
    assert_eq!(sipp.logged("status ").as_deref(), Some("200"));
    assert_eq!(
        room.expect("DeviceStatus up", |e| device_status(e, 1)),
        (1, true)
    );
    assert_eq!(
        room.expect("DeviceStatus unreachable", |e| device_status(e, 1)),
        (1, false)
    );
}

// ------------------------------------------------------------------ outgoing calls

const OUT_LEG: LegId = LegId(41);

fn call_carrier(room: &Room, number: &str) {
    room.send(SipCommand::Invite {
        leg: OUT_LEG,
        target: Target::Trunk {
            trunk: TrunkId(7),
            number: number.into(),
        },
        from_user: "+4930999".into(),
        from_display: Some("Callbox".into()),
        media: media(41000, Direction::SendRecv),
    });
}

#[test]
fn outgoing_call_is_answered_and_hung_up() {
    let port = free_udp_port(CARRIER_IP);
    let room = Room::start(directory(port));
    let mut sipp = Sipp::server("sip_room_carrier.xml", CARRIER_IP, port);
    call_carrier(&room, "0301234567");
    let code = room.expect("Progress", |e| match e {
        SipEvent::Progress { leg, code, .. } if *leg == OUT_LEG => Some(*code),
        _ => None,
    });
    assert_eq!(code, 180, "{}", sipp.messages());
    let answer = room.expect("Answered", |e| match e {
        SipEvent::Answered { leg, answer } if *leg == OUT_LEG => Some(answer.clone()),
        _ => None,
    });
    assert_eq!(answer.codecs, vec![Codec::Pcma]);
    room.send(SipCommand::Hangup { leg: OUT_LEG });
    assert!(
        sipp.wait().success(),
        "carrier got ACK and BYE: {:?}",
        sipp.log_lines()
    );
    assert_eq!(sipp.logged("number ").as_deref(), Some("0301234567"));
    assert_eq!(
        sipp.logged("offer ").as_deref(),
        Some("m=audio 41000 RTP/AVP 8 0 101")
    );
    room.none_of(&room.drain(), |e| {
        matches!(e, SipEvent::HungUp { .. } | SipEvent::Rejected { .. })
    });
}

#[test]
fn outgoing_call_refused_with_503_reports_the_reason() {
    let port = free_udp_port(CARRIER_IP);
    let room = Room::start(directory(port));
    let mut sipp = Sipp::server("sip_room_carrier_503.xml", CARRIER_IP, port);
    call_carrier(&room, "0301234567");
    let (code, reason) = room.expect("Rejected", |e| match e {
        SipEvent::Rejected { leg, code, reason } if *leg == OUT_LEG => {
            Some((*code, reason.clone()))
        }
        _ => None,
    });
    assert_eq!((code, reason.as_str()), (503, "Service Unavailable"));
    assert!(
        sipp.wait().success(),
        "carrier got its ACK: {:?}",
        sipp.log_lines()
    );
}

#[test]
fn hangup_before_answer_cancels() {
    let port = free_udp_port(CARRIER_IP);
    let room = Room::start(directory(port));
    let mut sipp = Sipp::server("sip_room_carrier_cancel.xml", CARRIER_IP, port);
    call_carrier(&room, "0301234567");
    room.expect("Progress", |e| {
        matches!(e, SipEvent::Progress { leg, code: 180, .. } if *leg == OUT_LEG).then_some(())
    });
    room.send(SipCommand::Hangup { leg: OUT_LEG });
    assert!(
        sipp.wait().success(),
        "carrier got CANCEL and the ACK of its 487: {:?}",
        sipp.log_lines()
    );
    room.none_of(&room.drain(), |e| {
        matches!(e, SipEvent::Rejected { .. } | SipEvent::HungUp { .. })
    });
}

#[test]
fn trunk_registers_and_answers_the_carrier_challenge() {
    use callbox::core::TrunkRegistration;
    let (reg_port, proxy_port) = (free_udp_port(CARRIER_IP), free_udp_port("127.0.0.4"));
    let mut registrar = Sipp::server("sip_room_carrier_registrar.xml", CARRIER_IP, reg_port);
    let mut proxy = Sipp::server("sip_room_carrier_auth.xml", "127.0.0.4", proxy_port);
    let mut dir = directory(reg_port);
    dir.trunks[0].outbound_proxy = Some(format!("sip:127.0.0.4:{proxy_port}"));
    dir.trunks[0].register = Some(TrunkRegistration {
        user: "trunkuser".into(),
        password: "trunkpass".into(),
        expires_secs: 3600,
    });
    let room = Room::start(dir);
    call_carrier(&room, "0301234567");
    let (code, reason) = room.expect("Rejected", |e| match e {
        SipEvent::Rejected { leg, code, reason } if *leg == OUT_LEG => {
            Some((*code, reason.clone()))
        }
        _ => None,
    });
    assert_eq!(
        (code, reason.as_str()),
        (486, "Busy Here"),
        "the carrier took our digest"
    );
    assert!(proxy.wait().success());
    assert_eq!(proxy.logged("auth ").as_deref(), Some("ok"));
    let ruri = proxy.logged("ruri ").unwrap_or_default();
    assert_eq!(
        ruri,
        format!("sip:0301234567@{CARRIER_IP}:{reg_port}"),
        "sent through the proxy"
    );
    assert!(registrar.wait().success());
    assert_eq!(registrar.logged("auth ").as_deref(), Some("ok"));
}

#[test]
fn device_without_contact_is_rejected_at_once() {
    let room = Room::start(directory(9));
    room.send(SipCommand::Invite {
        leg: LegId(5),
        target: Target::Device(DeviceId(2)),
        from_user: "1001".into(),
        from_display: None,
        media: media(41000, Direction::SendRecv),
    });
    let (code, reason) = room.expect("Rejected", |e| match e {
        SipEvent::Rejected { leg, code, reason } if *leg == LegId(5) => {
            Some((*code, reason.clone()))
        }
        _ => None,
    });
    assert_eq!((code, reason.as_str()), (480, "Temporarily Unavailable"));
}

// ------------------------------------------------------------------ robustness

/// Sends one request from `sock` and returns the final response (skipping 1xx).
fn raw_final_response(sock: &UdpSocket, to: SocketAddr, request: &str) -> String {
    sock.send_to(request.replace('\n', "\r\n").as_bytes(), to)
        .unwrap();
    sock.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut buf = vec![0u8; 65536];
    loop {
        let (n, _) = sock.recv_from(&mut buf).expect("an answer in time");
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if !text.starts_with("SIP/2.0 1") {
            return text;
        }
    }
}

fn raw_invite(sock: &UdpSocket, branch: &str, extra: &str, body: &str) -> String {
    let me = sock.local_addr().unwrap();
    format!(
        "INVITE sip:+4930555@callbox SIP/2.0\nVia: SIP/2.0/UDP {me};branch=z9hG4bK{branch};rport\n\
         Max-Forwards: 70\nFrom: <sip:+4930123@{ip}>;tag={branch}\nTo: <sip:+4930555@callbox>\n\
         Call-ID: {branch}@{ip}\nCSeq: 1 INVITE\nContact: <sip:+4930123@{me}>\n{extra}\
         Content-Length: {len}\n\n{body}",
        ip = me.ip(),
        len = body.replace('\n', "\r\n").len(),
    )
}

#[test]
fn unusable_offers_get_the_rfc_4475_answers() {
    let room = Room::start(directory(9));
    let sock = UdpSocket::bind((TRUNK_PEER, 0)).unwrap();
    let sdp =
        "v=0\no=x 1 1 IN IP4 127.0.0.2\ns=-\nc=IN IP4 127.0.0.2\nt=0 0\nm=audio 5004 RTP/AVP 0\n";
    let g729 = sdp.replace("RTP/AVP 0", "RTP/AVP 18");
    let cases = [
        (
            "invut",
            "Content-Type: application/unknownformat\n",
            "<x/>",
            "SIP/2.0 415 ",
        ),
        (
            "sdp01",
            "Content-Type: application/sdp\nAccept: text/nobodyknowsthis\n",
            sdp,
            "SIP/2.0 406 ",
        ),
        (
            "g729",
            "Content-Type: application/sdp\n",
            g729.as_str(),
            "SIP/2.0 488 ",
        ),
        (
            "badsdp",
            "Content-Type: application/sdp\n",
            "v=0\nm=audio x\n",
            "SIP/2.0 488 ",
        ),
    ];
    for (branch, extra, body, status) in cases {
        let answer =
            raw_final_response(&sock, room.addr(), &raw_invite(&sock, branch, extra, body));
        assert!(answer.starts_with(status), "{branch}: {answer}");
    }
    room.none_of(&room.drain(), |e| matches!(e, SipEvent::IncomingCall(_)));

    // RFC 4475 regaut01: an Authorization scheme nobody knows is challenged again.
    let dev = UdpSocket::bind("127.0.0.1:0").unwrap();
    let me = dev.local_addr().unwrap();
    let register = format!(
        "REGISTER sip:callbox SIP/2.0\nVia: SIP/2.0/UDP {me};branch=z9hG4bKregaut;rport\nMax-Forwards: 70\n\
         From: <sip:1001@callbox>;tag=1\nTo: <sip:1001@callbox>\nCall-ID: regaut@{me}\nCSeq: 1 REGISTER\n\
         Contact: <sip:1001@{me}>\nAuthorization: NoOneKnowsThisScheme opaque-data=here\nContent-Length: 0\n\n"
    );
    let answer = raw_final_response(&dev, room.addr(), &register);
    assert!(answer.starts_with("SIP/2.0 401 "), "{answer}");
    assert!(
        answer.contains("WWW-Authenticate: Digest realm=\"callbox\""),
        "{answer}"
    );
}

#[test]
fn garbage_and_torture_messages_leave_the_registrar_working() {
    let room = Room::start(directory(9));
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for i in 0..20usize {
        let len = 1 + (i * 97) % 1400;
        let datagram: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        sock.send_to(&datagram, room.addr()).unwrap();
    }
    // shared/ sits beside the checkout (worktrees and CI clones alike).
    let torture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/security/rfc4475");
    for name in [
        "invut.dat",
        "sdp01.dat",
        "regaut01.dat",
        "intmeth.dat",
        "badinv01.dat",
    ] {
        let bytes =
            std::fs::read(torture.join(name)).expect("RFC 4475 messages under shared/security");
        sock.send_to(&bytes, room.addr()).unwrap();
    }
    let sipp = register(&room, "1001", "secret1", 60);
    assert_eq!(
        sipp.logged("status ").as_deref(),
        Some("200"),
        "log: {:?}",
        sipp.log_lines()
    );
    assert_eq!(
        room.expect("DeviceStatus", |e| device_status(e, 1)),
        (1, true)
    );
}

// ------------------------------------------------------------------ transfers (REFER)

/// Answers the next incoming call with 200 and returns its leg.
fn answer_next_call(room: &Room) -> (LegId, String) {
    let (leg, call_id) = room.expect("IncomingCall", |e| match e {
        SipEvent::IncomingCall(call) => Some((call.leg, call.sip_call_id.clone())),
        _ => None,
    });
    room.send(SipCommand::Respond {
        leg,
        code: 200,
        reason: "OK".into(),
        media: Some(media(40000, Direction::SendRecv)),
    });
    (leg, call_id)
}

/// A `<log>` line of a sipp that is still running, once it has written it.
fn wait_logged(sipp: &Sipp, prefix: &str) -> String {
    let end = Instant::now() + DEADLINE;
    loop {
        if let Some(v) = sipp.logged(prefix) {
            return v;
        }
        assert!(Instant::now() < end, "sipp never logged {prefix:?}");
        // Polling a file another process writes; there is nothing to block on.
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// %-escapes everything but RFC 3986 unreserved characters (for a URI header).
fn uri_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The trunk's transfer scenario, pressing "transfer" to `refer_to`.
fn transferor(room: &Room, refer_to: &str) -> Sipp {
    let port = free_udp_port(TRUNK_PEER).to_string();
    Sipp::start(
        "sip_room_refer.xml",
        room.addr(),
        &[
            "-i", TRUNK_PEER, "-p", &port, "-s", "+4930555", "-key", "referto", refer_to,
        ],
    )
}

fn refer_on(ev: &SipEvent, leg: LegId) -> Option<(String, Option<LegId>)> {
    match ev {
        SipEvent::Refer {
            leg: l,
            to_user,
            replaces,
        } if *l == leg => Some((to_user.clone(), *replaces)),
        _ => None,
    }
}

#[test]
fn blind_transfer_is_reported_and_its_outcome_notified() {
    let room = Room::start(directory(9));
    let mut sipp = transferor(&room, "<sip:8002@127.0.0.1>");
    let (leg, _) = answer_next_call(&room);
    let (to_user, replaces) = room.expect("Refer", |e| refer_on(e, leg));
    assert_eq!(to_user, "8002");
    assert_eq!(replaces, None);
    let allow = wait_logged(&sipp, "allow ");
    assert!(allow.contains("REFER"), "our 200 offers transfers: {allow}");

    room.send(SipCommand::ReferOutcome { leg, code: 200 });
    room.expect("HungUp", |e| {
        matches!(e, SipEvent::HungUp { leg: l, cancelled: false } if *l == leg).then_some(())
    });
    assert!(
        sipp.wait().success(),
        "sipp saw 202, the NOTIFY, and the 200 to its BYE: {:?}",
        sipp.log_lines()
    );
    assert_eq!(sipp.logged("frag ").as_deref(), Some("SIP/2.0 200 OK"));
    // sipp keeps the blank after the header's colon.
    let header = |name| sipp.logged(name).unwrap_or_default().trim().to_owned();
    let substate = header("substate ");
    assert!(substate.starts_with("terminated"), "{substate}");
    let event = header("event ");
    assert!(event.starts_with("refer"), "{event}");
    assert_eq!(header("ctype "), "message/sipfrag");
}

#[test]
fn attended_transfer_names_the_consulted_leg() {
    let room = Room::start(directory(9));
    let port = free_udp_port(TRUNK_PEER).to_string();
    let mut held = Sipp::start(
        "sip_room_refer_held.xml",
        room.addr(),
        &["-i", TRUNK_PEER, "-p", &port, "-s", "+4930556"],
    );
    let (consulted, call_id) = answer_next_call(&room);
    let to_tag = wait_logged(&held, "totag ");
    let from_tag = wait_logged(&held, "fromtag ");
    assert_eq!(wait_logged(&held, "callid "), call_id);

    let replaces = uri_escape(&format!("{call_id};to-tag={to_tag};from-tag={from_tag}"));
    let mut sipp = transferor(&room, &format!("<sip:8002@127.0.0.1?Replaces={replaces}>"));
    let (leg, _) = answer_next_call(&room);
    let (to_user, named) = room.expect("Refer", |e| refer_on(e, leg));
    assert_eq!(to_user, "8002");
    assert_eq!(named, Some(consulted), "Replaces names the second call");

    room.send(SipCommand::ReferOutcome { leg, code: 200 });
    assert!(sipp.wait().success(), "{:?}", sipp.log_lines());
    assert_eq!(sipp.logged("frag ").as_deref(), Some("SIP/2.0 200 OK"));
    room.send(SipCommand::Hangup { leg: consulted });
    assert!(held.wait().success(), "the consulted call got our BYE");
}

#[test]
fn attended_transfer_naming_no_dialog_of_ours_is_blind() {
    let room = Room::start(directory(9));
    let replaces = uri_escape("nosuchcall@127.0.0.9;to-tag=a;from-tag=b");
    let mut sipp = transferor(&room, &format!("<sip:8002@127.0.0.1?Replaces={replaces}>"));
    let (leg, _) = answer_next_call(&room);
    assert_eq!(
        room.expect("Refer", |e| refer_on(e, leg)),
        ("8002".to_string(), None)
    );
    room.send(SipCommand::ReferOutcome { leg, code: 486 });
    assert!(sipp.wait().success(), "{:?}", sipp.log_lines());
    assert_eq!(
        sipp.logged("frag ").as_deref(),
        Some("SIP/2.0 486 Busy Here")
    );
}

#[test]
fn the_callee_of_an_outgoing_leg_may_transfer_too() {
    let port = free_udp_port(CARRIER_IP);
    let room = Room::start(directory(port));
    let mut sipp = Sipp::server("sip_room_refer_uas.xml", CARRIER_IP, port);
    call_carrier(&room, "0301234567");
    room.expect("Answered", |e| {
        matches!(e, SipEvent::Answered { leg, .. } if *leg == OUT_LEG).then_some(())
    });
    assert_eq!(
        room.expect("Refer", |e| refer_on(e, OUT_LEG)),
        ("8002".to_string(), None)
    );
    room.send(SipCommand::ReferOutcome {
        leg: OUT_LEG,
        code: 503,
    });
    room.send(SipCommand::Hangup { leg: OUT_LEG });
    assert!(sipp.wait().success(), "{:?}", sipp.log_lines());
    assert_eq!(
        sipp.logged("frag ").as_deref(),
        Some("SIP/2.0 503 Service Unavailable")
    );
    let allow = sipp.logged("allow ").unwrap_or_default();
    assert!(
        allow.contains("REFER"),
        "our INVITE offers transfers: {allow}"
    );
}

#[test]
fn refer_without_a_usable_refer_to_gets_400_and_no_event() {
    let room = Room::start(directory(9));
    let cases = [
        ("X-Nothing: 1", "Missing Refer-To"),
        ("Refer-To: <>garbage", "Bad Refer-To"),
        (
            "Refer-To: <http://example.com/8002>",
            "Unsupported Refer-To URI",
        ),
        ("Refer-To: <sip:127.0.0.1>", "Bad Refer-To User"),
        // Sofia's URL parser refuses the broken escape itself.
        (
            "Refer-To: <sip:8002@127.0.0.1?Replaces=%zz>",
            "Bad Refer-To",
        ),
        (
            "Refer-To: <sip:8002@127.0.0.1?Replaces=%3Bto-tag%3D1>",
            "Bad Replaces",
        ),
    ];
    for (header, reason) in cases {
        let port = free_udp_port(TRUNK_PEER).to_string();
        let mut sipp = Sipp::start(
            "sip_room_refer_refused.xml",
            room.addr(),
            &[
                "-i",
                TRUNK_PEER,
                "-p",
                &port,
                "-s",
                "+4930555",
                "-key",
                "refer_header",
                header,
            ],
        );
        let (leg, _) = answer_next_call(&room);
        room.expect("HungUp", |e| match e {
            SipEvent::Refer { .. } => panic!("{header}: an unusable REFER was reported: {e:?}"),
            SipEvent::HungUp { leg: l, .. } if *l == leg => Some(()),
            _ => None,
        });
        assert!(sipp.wait().success(), "{header}: {:?}", sipp.log_lines());
        assert_eq!(sipp.logged("reason ").as_deref(), Some(reason), "{header}");
    }
}

#[test]
fn refer_outside_our_dialogs_is_refused() {
    let room = Room::start(directory(9));
    let sock = UdpSocket::bind((TRUNK_PEER, 0)).unwrap();
    let me = sock.local_addr().unwrap();
    let refer = |branch: &str, to_tag: &str| {
        format!(
            "REFER sip:+4930555@callbox SIP/2.0\nVia: SIP/2.0/UDP {me};branch=z9hG4bK{branch};rport\n\
             Max-Forwards: 70\nFrom: <sip:+4930123@{ip}>;tag={branch}\nTo: <sip:+4930555@callbox>{to_tag}\n\
             Call-ID: {branch}@{ip}\nCSeq: 1 REFER\nContact: <sip:+4930123@{me}>\n\
             Refer-To: <sip:8002@127.0.0.1>\nContent-Length: 0\n\n",
            ip = me.ip(),
        )
    };
    // Sofia refuses it before we see it (REFER is allowed on our legs' handles only),
    // so it never gets the NOTIFY Sofia sends for an accepted out-of-dialog REFER.
    let answer = raw_final_response(&sock, room.addr(), &refer("ood", ""));
    assert!(answer.starts_with("SIP/2.0 405 "), "{answer}");
    let answer = raw_final_response(&sock, room.addr(), &refer("gone", ";tag=nosuchdialog"));
    assert!(answer.starts_with("SIP/2.0 405 "), "{answer}");
    room.send(SipCommand::ReferOutcome {
        leg: LegId(77),
        code: 200,
    });
    room.none_of(&room.drain(), |e| matches!(e, SipEvent::Refer { .. }));
}
