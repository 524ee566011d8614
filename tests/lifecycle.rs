//! The daemon's life around a call in progress, with the real binary, sipp as the
//! carrier and baresip as the desk phone: SIGTERM drains (a new call meanwhile gets
//! 503, the call in progress goes on until `shutdown.drain_secs`, then is ended with
//! its row closed and its recording finalised), and `kill -9` mid-call is repaired at
//! the next start (the row closed as interrupted, the recording's header rewritten so
//! `sox --i -D` gives its real length, the logged-in agent logged in again).

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use callbox::core::{CallId, CallRecord};
use callbox::store::Store;
use common::TestDir;
use common::baresip::{AnswerMode, Baresip, BaresipOpts};
use common::center::{self, CARRIER_IP};
use common::http::json;
use common::ports::{free_port, free_tcp_port, free_udp_block};
use common::process::ChildGuard;
use common::sipp::Sipp;
use common::wait::{secs, wait_for, wait_sip_up, wait_until};

const SERVICE: &str = "4008001234";
/// Bytes of audio a second in a recording: stereo, 16-bit, 8 kHz.
const BYTES_PER_SEC: f64 = 32_000.0;

/// A carrier's INVITE that expects to be refused with 503, then ACKs it.
const REFUSED_CALL: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="refused_call">
  <send retrans="500"><![CDATA[

      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Carrier" <sip:carrier@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:carrier@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=carrier 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8 0
      a=rtpmap:8 PCMA/8000
      a=rtpmap:0 PCMU/8000

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="503"/>
  <send><![CDATA[

      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Carrier" <sip:carrier@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
</scenario>
"#;

/// The daemon on `data_dir` with fresh ports, started by hand so the test chooses
/// the drain time and can kill it.
struct Daemon {
    child: ChildGuard,
    sip: SocketAddr,
    http: SocketAddr,
}

impl Daemon {
    fn start(t: &TestDir, name: &str, data_dir: &Path, drain_secs: u64) -> Daemon {
        let sip_port = free_tcp_port();
        let http_port = free_port();
        let rtp_min = free_udp_block(32);
        let config = format!(
            "data_dir = {data_dir:?}\nlog_level = \"info\"\n\
             [sip]\nlisten = \"127.0.0.1:{sip_port}\"\n\
             [rtp]\nbind = \"127.0.0.1\"\nadvertise = \"127.0.0.1\"\nport_min = {rtp_min}\nport_max = {}\n\
             [http]\nlisten = \"127.0.0.1:{http_port}\"\n\
             [recording]\nenabled = true\n\
             [shutdown]\ndrain_secs = {drain_secs}\n",
            rtp_min + 31
        );
        let config_path = t.path().join(format!("{name}.toml"));
        std::fs::write(&config_path, config).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_callbox"));
        cmd.arg("serve")
            .arg("--config")
            .arg(&config_path)
            .env_remove("NOTIFY_SOCKET")
            .env_remove("JOURNAL_STREAM")
            .env_remove("CALLBOX_TEST_STALL");
        let child = ChildGuard::spawn(cmd, name, t.path()).unwrap();
        let daemon = Daemon {
            child,
            sip: ([127, 0, 0, 1], sip_port).into(),
            http: ([127, 0, 0, 1], http_port).into(),
        };
        assert!(
            wait_sip_up(daemon.sip, secs(20)).is_some(),
            "callbox answers SIP\n{}",
            daemon.log()
        );
        daemon
    }

    fn log(&self) -> String {
        self.child.output_tail(60)
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }
}

/// A desk phone 1001 (baresip, answering by itself), agent 8001 on it, and the
/// carrier whose service number rings that phone.
fn provision(data_dir: &Path) {
    let mut store = Store::open(&data_dir.join("callbox.db")).unwrap();
    let desk = center::desk(&mut store, "1001");
    center::agent(&mut store, "8001", Some(desk), None);
    let trunk = center::carrier(&mut store, free_port());
    store
        .add_service_number(SERVICE, trunk, Some(desk))
        .unwrap();
}

fn desk_phone(t: &TestDir, daemon: &Daemon) -> Baresip {
    let mut phone = Baresip::start(
        BaresipOpts::new("desk")
            .user("1001")
            .register(daemon.sip, "pw-1001")
            .tone(1000)
            .answer(AnswerMode::Auto),
        t.path(),
    )
    .unwrap();
    phone.wait_registered(secs(5)).unwrap();
    phone
}

/// A carrier call to the service number that would talk for `talk`.
fn long_call(t: &TestDir, name: &str, daemon: &Daemon, talk: Duration) -> common::sipp::SippRun {
    Sipp::scenario(name, "trunk_call.xml", t.path())
        .remote(daemon.sip)
        .local_ip(CARRIER_IP)
        .service(SERVICE)
        .duration_ms(talk.as_millis() as u64)
        .timeout(talk + Duration::from_secs(20))
        .spawn()
        .unwrap()
}

fn call(data_dir: &Path, id: i64) -> Option<CallRecord> {
    Store::open(&data_dir.join("callbox.db"))
        .ok()?
        .call(CallId(id))
        .ok()
        .flatten()
}

/// Waits for call `id` to be answered; returns when that was seen.
fn wait_answered(data_dir: &Path, id: i64, daemon: &Daemon) -> Instant {
    assert!(
        wait_until(secs(10), || call(data_dir, id)
            .is_some_and(|c| c.answered_at.is_some())),
        "call {id} is answered\n{}",
        daemon.log()
    );
    Instant::now()
}

/// Where the data chunk starts and how many bytes of audio it says it holds.
fn wav_data(path: &Path) -> (u64, u64) {
    let bytes = std::fs::read(path).unwrap();
    let at = bytes
        .windows(4)
        .position(|w| w == b"data")
        .expect("a data chunk");
    let size = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap());
    ((at + 8) as u64, u64::from(size))
}

/// `sox --i -D`: the length the header gives, in seconds.
fn sox_duration(path: &Path) -> f64 {
    let out = Command::new("sox")
        .arg("--i")
        .arg("-D")
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("sox --i -D {}: {text:?}", path.display()))
}

fn recording_of(data_dir: &Path, call: &CallRecord) -> PathBuf {
    data_dir.join(call.recording.as_ref().expect("the call is recorded"))
}

#[test]
fn sigterm_refuses_new_calls_drains_the_call_in_progress_then_ends_it() {
    let t = TestDir::new("lifecycle-drain").unwrap();
    let data_dir = t.path().join("var");
    provision(&data_dir);
    let drain = Duration::from_secs(4);
    let mut daemon = Daemon::start(&t, "callbox", &data_dir, drain.as_secs());
    let _desk = desk_phone(&t, &daemon);
    let carrier = long_call(&t, "carrier", &daemon, Duration::from_secs(30));
    let answered = wait_answered(&data_dir, 1, &daemon);

    daemon.signal("TERM");
    let stopped_at = Instant::now();
    assert!(
        wait_until(secs(5), || daemon.log().contains("new calls are refused")),
        "the drain begins\n{}",
        daemon.log()
    );
    let scenario = t.path().join("refused_call.xml");
    std::fs::write(&scenario, REFUSED_CALL).unwrap();
    let late = Sipp::scenario("late", &scenario, t.path())
        .remote(daemon.sip)
        .local_ip(CARRIER_IP)
        .service(SERVICE)
        .timeout(Duration::from_secs(10))
        .run(secs(15))
        .unwrap();
    assert!(
        late.all_ok(),
        "a new call during the drain is refused with 503\n{}\n{}",
        late.describe(),
        daemon.log()
    );
    assert!(
        stopped_at.elapsed() < drain,
        "the refusal came within the drain"
    );
    let first = call(&data_dir, 1).unwrap();
    assert_eq!(first.ended_at, None, "the call in progress goes on");
    assert!(daemon.child.is_running(), "the daemon waits for the call");
    assert_eq!(call(&data_dir, 2), None, "the refused call reached no row");

    let ended = wait_for(secs(15), || {
        call(&data_dir, 1).filter(|c| c.ended_at.is_some())
    })
    .unwrap_or_else(|| panic!("the call is ended after the drain\n{}", daemon.log()));
    let ended_seen = Instant::now();
    let lasted = ended_seen - stopped_at;
    assert!(
        lasted >= drain - Duration::from_millis(500),
        "the call was ended {lasted:?} after SIGTERM, before the drain of {drain:?}"
    );
    assert_eq!(ended.hangup_by.map(|h| h.as_str()), Some("system"));
    assert!(
        ended
            .end_cause
            .as_deref()
            .is_some_and(|c| c.contains("stopped")),
        "{:?}",
        ended.end_cause
    );
    let exit = daemon.child.wait_exit(secs(15));
    assert!(
        exit.is_some_and(|s| s.success()),
        "callbox exits cleanly: {exit:?}\n{}",
        daemon.log()
    );
    let _ = carrier.finish(secs(5));

    // Finalised: the header matches the data, the store has its length, and that
    // length is the call's, from answer to the end of the drain.
    let path = recording_of(&data_dir, &ended);
    let (start, claimed) = wav_data(&path);
    let on_disk = std::fs::metadata(&path).unwrap().len() - start;
    assert_eq!(claimed, on_disk, "the header states the whole data");
    let seconds = Store::open(&data_dir.join("callbox.db"))
        .unwrap()
        .recording_seconds(&path)
        .unwrap()
        .expect("the recording's length is stored");
    let talked = (ended_seen - answered).as_secs_f64();
    let heard = sox_duration(&path);
    assert!(
        (heard - seconds).abs() < 0.1,
        "sox {heard} s, store {seconds} s"
    );
    assert!(
        (heard - talked).abs() < 1.5,
        "recorded {heard} s of a call of about {talked} s"
    );
}

#[test]
fn kill_9_mid_call_then_restart_closes_the_call_repairs_its_recording_and_restores_agents() {
    let t = TestDir::new("lifecycle-kill").unwrap();
    let data_dir = t.path().join("var");
    provision(&data_dir);
    let mut daemon = Daemon::start(&t, "callbox", &data_dir, 30);
    let (code, answer) = json(daemon.http, "POST", "/api/v1/agents/8001/login", "{}");
    assert_eq!(code, 200, "{answer}");
    let desk = desk_phone(&t, &daemon);
    let carrier = long_call(&t, "carrier", &daemon, Duration::from_secs(30));
    let answered = wait_answered(&data_dir, 1, &daemon);
    let path = recording_of(&data_dir, &call(&data_dir, 1).unwrap());
    // Some 3.5 s of audio on disk, then the kill (not on a second's boundary, so the
    // header, rewritten once a second, is behind the data).
    assert!(
        wait_until(secs(10), || std::fs::metadata(&path)
            .is_ok_and(|m| m.len() as f64 > 44.0 + 3.5 * BYTES_PER_SEC)),
        "the call is being recorded\n{}",
        daemon.log()
    );
    daemon.signal("KILL");
    let talked = answered.elapsed().as_secs_f64();
    assert!(
        daemon.child.wait_exit(secs(5)).is_some(),
        "kill -9 ends callbox"
    );
    drop(carrier);
    drop(desk);
    let (start, claimed_before) = wav_data(&path);
    let on_disk = std::fs::metadata(&path).unwrap().len() - start;
    assert!(
        claimed_before <= on_disk,
        "a header is never ahead of its data"
    );

    let restarted = Daemon::start(&t, "callbox-again", &data_dir, 30);
    let row = call(&data_dir, 1).unwrap();
    assert!(row.ended_at.is_some(), "the cut call is closed");
    assert!(
        row.end_cause
            .as_deref()
            .is_some_and(|c| c.contains("interrupted")),
        "{:?}",
        row.end_cause
    );
    let heard = sox_duration(&path);
    let whole = (on_disk - on_disk % 4) as f64 / BYTES_PER_SEC;
    assert!(
        (heard - whole).abs() < 0.01,
        "sox says {heard} s, the file holds {whole} s (header said {} s)\n{}",
        claimed_before as f64 / BYTES_PER_SEC,
        restarted.log()
    );
    assert!(
        (heard - talked).abs() < 1.0,
        "the recording lasts {heard} s, the call lasted about {talked} s"
    );
    let stored = Store::open(&data_dir.join("callbox.db"))
        .unwrap()
        .recording_seconds(&path)
        .unwrap();
    assert!(
        stored.is_some_and(|s| (s - heard).abs() < 0.1),
        "the store has the recording's length: {stored:?}"
    );

    let (code, agents) = json(restarted.http, "GET", "/api/v1/agents", "");
    assert_eq!(code, 200, "{agents}");
    let agent = agents
        .as_array()
        .and_then(|l| l.iter().find(|a| a["number"] == "8001").cloned())
        .unwrap_or_default();
    let state = agent["state"].as_str().unwrap_or("");
    assert!(
        !state.is_empty() && state != "offline",
        "agent 8001 is logged in again: {agent}\n{}",
        restarted.log()
    );
}
