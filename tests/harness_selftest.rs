//! Proves the real-peer harness against the peers themselves, without the daemon.
//!
//! Owns nothing of callbox: each test pits sipp against sipp, baresip against
//! baresip, or sox against the Goertzel check, so a red test here means the
//! harness (or a peer's behaviour we rely on) broke, never the daemon. Each test
//! must be able to fail: every positive check has a negative twin (the other
//! tone, the wrong password, the call that must be refused). The tricky part is
//! that the peers' own ad hoc counterparts (a registrar, a ring-only UAS) live
//! here as inline scenarios, written to the test's temp dir.

mod common;

use std::time::Duration;

use common::audio::{self, has_tone};
use common::baresip::{AnswerMode, Baresip, BaresipOpts};
use common::process::wait_udp_bound;
use common::sipp::Sipp;
use common::wait::{options_ping, secs, wait_until};
use common::{TestDir, ports};

#[test]
fn goertzel_tells_tones_apart_and_refuses_silence_and_noise() {
    let t = TestDir::new("goertzel").unwrap();
    let a440 = t.path().join("a440.wav");
    let k1 = t.path().join("k1.wav");
    let quiet = t.path().join("silence.wav");
    let noise = t.path().join("noise.wav");
    let stereo = t.path().join("stereo48k.wav");
    audio::tone_wav(&a440, 440, 1.0, 8000).unwrap();
    audio::tone_wav(&k1, 1000, 1.0, 16000).unwrap();
    audio::silence_wav(&quiet, 1.0, 8000, 1).unwrap();
    audio::synth_wav(&stereo, Some(440), 1.0, 48000, 2).unwrap();
    std::process::Command::new("sox")
        .args(["-n", "-r", "8000", "-c", "1", "-b", "16"])
        .arg(&noise)
        .args(["synth", "1", "whitenoise", "vol", "0.5"])
        .status()
        .unwrap();

    assert!(has_tone(&a440, 0, 440.0).unwrap(), "440 Hz WAV lacks 440");
    assert!(!has_tone(&a440, 0, 1000.0).unwrap(), "440 Hz WAV has 1000");
    assert!(has_tone(&k1, 0, 1000.0).unwrap(), "1 kHz WAV lacks 1000");
    assert!(!has_tone(&k1, 0, 440.0).unwrap(), "1 kHz WAV has 440");
    assert!(!has_tone(&quiet, 0, 440.0).unwrap(), "silence has 440");
    assert!(!has_tone(&quiet, 0, 1000.0).unwrap(), "silence has 1000");
    assert!(!has_tone(&noise, 0, 440.0).unwrap(), "white noise has 440");
    assert!(
        has_tone(&stereo, 1, 440.0).unwrap(),
        "48 kHz stereo right channel lacks 440"
    );
    assert!(
        has_tone(&stereo, 0, 440.0).unwrap(),
        "48 kHz stereo left channel lacks 440"
    );

    let (f, share) = audio::dominant_tone(&a440, 0)
        .unwrap()
        .expect("a dominant tone");
    assert!((f - 440.0).abs() <= 10.0, "dominant {f} Hz, share {share}");
    assert_eq!(audio::dominant_tone(&quiet, 0).unwrap(), None);
    assert_eq!(audio::dominant_tone(&noise, 0).unwrap(), None);

    assert!((audio::wav_duration(&k1).unwrap() - 1.0).abs() < 0.01);
    assert!(audio::sox_info(&k1).unwrap().contains("16000"));
    assert!(audio::sox_info(&t.path().join("missing.wav")).is_err());
}

#[test]
fn ports_are_free_and_never_handed_out_twice() {
    let mut seen = std::collections::HashSet::new();
    for _ in 0..50 {
        assert!(seen.insert(ports::free_port()), "port handed out twice");
    }
    let base = ports::free_udp_block(4);
    assert_eq!(base % 2, 0, "block base must be even");
    for p in base..base + 4 {
        assert!(seen.insert(p), "block port {p} handed out twice");
        assert!(std::net::UdpSocket::bind(("127.0.0.1", p)).is_ok());
    }
}

#[test]
fn sipp_trunk_call_against_carrier_answer() {
    let t = TestDir::new("trunk-call").unwrap();
    let carrier = Sipp::scenario("carrier", "carrier_answer.xml", t.path())
        .spawn()
        .unwrap();
    assert!(carrier.wait_ready(secs(5)));
    let trunk = Sipp::scenario("trunk", "trunk_call.xml", t.path())
        .remote(carrier.addr())
        .service("800")
        .duration_ms(300)
        .run(secs(15))
        .unwrap();
    let carrier = carrier.finish(secs(5));
    assert!(trunk.all_ok(), "{}", trunk.describe());
    assert!(carrier.all_ok(), "{}", carrier.describe());
    assert_eq!((trunk.successful, carrier.successful), (1, 1));
}

const RING_ONLY_UAS: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="ring_only">
  <recv request="INVITE"/>
  <send><![CDATA[

      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]></send>
  <recv request="CANCEL"/>
  <send><![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]></send>
  <send><![CDATA[

      SIP/2.0 487 Request Terminated
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      CSeq: [last_cseq_number] INVITE
      Content-Length: 0

    ]]></send>
  <recv request="ACK"/>
</scenario>
"#;

#[test]
fn sipp_trunk_cancel_against_ring_only_uas() {
    let t = TestDir::new("trunk-cancel").unwrap();
    let uas_file = t.path().join("ring_only.xml");
    std::fs::write(&uas_file, RING_ONLY_UAS).unwrap();
    let uas = Sipp::scenario("ringer", &uas_file, t.path())
        .spawn()
        .unwrap();
    assert!(uas.wait_ready(secs(5)));
    let trunk = Sipp::scenario("trunk", "trunk_cancel.xml", t.path())
        .remote(uas.addr())
        .service("800")
        .run(secs(10))
        .unwrap();
    let uas = uas.finish(secs(5));
    assert!(trunk.all_ok(), "{}", trunk.describe());
    assert!(uas.all_ok(), "{}", uas.describe());
}

#[test]
fn sipp_carrier_reject_sends_the_substituted_status() {
    let t = TestDir::new("carrier-reject").unwrap();
    let carrier = Sipp::scenario("carrier", "carrier_reject.xml", t.path())
        .substitute("503 Service Unavailable", "480 Temporarily Unavailable")
        .spawn()
        .unwrap();
    assert!(carrier.wait_ready(secs(5)));
    // sipp's built-in UAC expects 200: the refusal shows up as its unexpected message.
    let caller = Sipp::builtin("caller", "uac", t.path())
        .remote(carrier.addr())
        .run(secs(10))
        .unwrap();
    let carrier = carrier.finish(secs(5));
    assert_eq!(caller.exit_code, Some(1), "{}", caller.describe());
    assert_eq!(caller.failed, 1, "{}", caller.describe());
    assert!(
        caller
            .errors
            .contains("SIP/2.0 480 Temporarily Unavailable"),
        "{}",
        caller.describe()
    );
    assert!(carrier.all_ok(), "{}", carrier.describe());
}

/// A registrar that challenges once and checks the answer for 1001/secret.
const REGISTRAR: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="registrar">
  <recv request="REGISTER"/>
  <send><![CDATA[

      SIP/2.0 401 Unauthorized
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      WWW-Authenticate: Digest realm="callbox.test", nonce="4a2b9c", algorithm=MD5
      Content-Length: 0

    ]]></send>
  <recv request="REGISTER">
    <action>
      <verifyauth assign_to="authvalid" username="1001" password="secret"/>
    </action>
  </recv>
  <nop hide="true" test="authvalid" next="good"/>
  <send next="done"><![CDATA[

      SIP/2.0 403 Forbidden
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]></send>
  <label id="good"/>
  <send><![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      [last_Contact:];expires=60
      Content-Length: 0

    ]]></send>
  <label id="done"/>
  <timewait milliseconds="100"/>
</scenario>
"#;

/// Runs `scenario` as 1001 with `password` against a fresh REGISTRAR.
fn register_with(
    t: &TestDir,
    label: &str,
    scenario: &str,
    password: &str,
) -> common::sipp::SippOutcome {
    let file = t.path().join("registrar.xml");
    std::fs::write(&file, REGISTRAR).unwrap();
    let registrar = Sipp::scenario(&format!("{label}-registrar"), &file, t.path())
        .spawn()
        .unwrap();
    assert!(registrar.wait_ready(secs(5)));
    let phone = Sipp::scenario(label, scenario, t.path())
        .remote(registrar.addr())
        .service("1001")
        .auth("1001", password)
        .run(secs(10))
        .unwrap();
    registrar.finish(secs(5));
    phone
}

#[test]
fn sipp_register_scenarios_against_a_challenging_registrar() {
    let t = TestDir::new("register").unwrap();
    let ok = register_with(&t, "good", "phone_register.xml", "secret");
    assert!(ok.all_ok(), "{}", ok.describe());
    let refused = register_with(&t, "refused", "phone_register_fail.xml", "wrong");
    assert!(refused.all_ok(), "{}", refused.describe());
    // The negative twins: each scenario fails when the registrar says the other thing.
    let wrong = register_with(&t, "wrong", "phone_register.xml", "wrong");
    assert_eq!(wrong.failed, 1, "{}", wrong.describe());
    let accepted = register_with(&t, "accepted", "phone_register_fail.xml", "secret");
    assert_eq!(accepted.failed, 1, "{}", accepted.describe());
}

#[test]
fn options_ping_knows_a_sip_server_from_a_closed_port() {
    let t = TestDir::new("options").unwrap();
    let phone = Baresip::start(BaresipOpts::new("pingme"), t.path()).unwrap();
    // baresip answers an OPTIONS for an unknown user with 404: any final status
    // means a SIP server is there.
    assert!(options_ping(phone.sip_addr()).is_some());
    let nobody = std::net::SocketAddr::from(([127, 0, 0, 1], ports::free_port()));
    assert_eq!(options_ping(nobody), None);
}

#[test]
fn baresip_direct_call_carries_tone_and_dtmf_one_way_each() {
    let t = TestDir::new("baresip-call").unwrap();
    let mut a = Baresip::start(BaresipOpts::new("alice").tone(440), t.path()).unwrap();
    let mut b = Baresip::start(
        BaresipOpts::new("bob")
            .tone(1000)
            .answer(AnswerMode::Manual),
        t.path(),
    )
    .unwrap();

    a.dial(&b.direct_uri()).unwrap();
    let incoming = b.wait_event("CALL_INCOMING", secs(5)).unwrap();
    assert!(incoming.peer_uri.contains("alice"), "{incoming:?}");
    b.answer().unwrap();
    a.wait_event("CALL_ESTABLISHED", secs(5)).unwrap();
    b.wait_event("CALL_ESTABLISHED", secs(5)).unwrap();

    // Let 1.5 s of audio reach bob's recorder: 8 kHz 16-bit mono is 16000 B/s.
    assert!(
        wait_until(secs(5), || {
            b.recording_path()
                .and_then(|p| std::fs::metadata(p).ok())
                .is_some_and(|m| m.len() > 44 + 24_000)
        }),
        "bob recorded too little\n{}",
        b.context()
    );
    a.send_dtmf('5').unwrap();
    let digit = b.wait_event("CALL_DTMF_START", secs(3)).unwrap();
    assert_eq!(digit.param, "5");

    a.hangup().unwrap();
    a.wait_event("CALL_CLOSED", secs(5)).unwrap();
    b.wait_event("CALL_CLOSED", secs(5)).unwrap();

    let heard_by_b = b.wait_recording(secs(5)).unwrap();
    let heard_by_a = a.wait_recording(secs(5)).unwrap();
    assert!(audio::wav_duration(&heard_by_b).unwrap() >= 1.5);
    assert!(
        has_tone(&heard_by_b, 0, 440.0).unwrap(),
        "bob did not hear alice's 440 Hz"
    );
    assert!(
        !has_tone(&heard_by_b, 0, 1000.0).unwrap(),
        "bob heard his own 1000 Hz"
    );
    assert!(
        has_tone(&heard_by_a, 0, 1000.0).unwrap(),
        "alice did not hear bob's 1000 Hz"
    );
    assert!(
        !has_tone(&heard_by_a, 0, 440.0).unwrap(),
        "alice heard her own 440 Hz"
    );
    // What each sent is recorded too.
    let sent_by_a = a.sent_path().unwrap();
    assert!(has_tone(&sent_by_a, 0, 440.0).unwrap());
}

#[test]
fn baresip_registers_and_is_refused_with_a_wrong_password() {
    let t = TestDir::new("baresip-register").unwrap();
    let file = t.path().join("registrar.xml");
    std::fs::write(&file, REGISTRAR).unwrap();
    for (label, password, should_register) in [("good", "secret", true), ("bad", "wrong", false)] {
        let registrar = Sipp::scenario(&format!("{label}-registrar"), &file, t.path())
            .spawn()
            .unwrap();
        assert!(wait_udp_bound(registrar.addr(), secs(5)));
        let mut phone = Baresip::start(
            BaresipOpts::new(&format!("{label}-1001"))
                .user("1001")
                .register(registrar.addr(), password),
            t.path(),
        )
        .unwrap();
        let result = phone.wait_registered(secs(5));
        assert_eq!(result.is_ok(), should_register, "{label}: {result:?}");
        let status = phone.register_status().unwrap();
        assert!(status.contains("1001"), "{status}");
        let outcome = registrar.finish(secs(5));
        assert!(outcome.all_ok(), "{}", outcome.describe());
    }
}

#[test]
fn sipp_phone_hold_against_baresip() {
    let t = TestDir::new("hold").unwrap();
    let callee = Baresip::start(BaresipOpts::new("held"), t.path()).unwrap();
    let phone = Sipp::scenario("phone", "phone_hold.xml", t.path())
        .remote(callee.sip_addr())
        .service("held")
        .duration_ms(200)
        .timeout(Duration::from_secs(10))
        .run(secs(15))
        .unwrap();
    assert!(phone.all_ok(), "{}", phone.describe());
}

#[test]
fn sipp_phone_uas_answer_echoes_for_builtin_uac() {
    let t = TestDir::new("uas-answer").unwrap();
    let desk = Sipp::scenario("desk", "phone_uas_answer.xml", t.path())
        .rtp_echo(true)
        .spawn()
        .unwrap();
    assert!(desk.wait_ready(secs(5)));
    let caller = Sipp::builtin("caller", "uac", t.path())
        .remote(desk.addr())
        .duration_ms(200)
        .run(secs(10))
        .unwrap();
    let desk = desk.finish(secs(5));
    assert!(caller.all_ok(), "{}", caller.describe());
    assert!(desk.all_ok(), "{}", desk.describe());
}
