//! End to end with a carrier: sipp plays the SIP trunk (inbound calls to a service
//! number, outbound calls with the 9 prefix, carriers that refuse), baresip plays
//! the desk phone, and the call rows and trails are read back from the store.

mod common;

use std::time::Duration;

use common::TestDir;
use common::audio::{dominant_tone, has_tone, read_channel, wav_duration};
use common::baresip::AnswerMode;
use common::office::{CARRIER_IP, DESK_TONE, Office, SERVICE};
use common::sipp::Sipp;
use common::wait::{secs, wait_until};

#[test]
fn carrier_call_to_the_service_number_rings_the_phone_with_audio_and_digits() {
    let t = TestDir::new("e2e-inbound").unwrap();
    let Office {
        callbox,
        desk: mut phone,
        ..
    } = Office::start(&t, AnswerMode::Auto);
    let carrier = Sipp::scenario("carrier", "trunk_call.xml", t.path())
        .remote(callbox.sip)
        .local_ip(CARRIER_IP)
        .service(SERVICE)
        .duration_ms(2500)
        .timeout(Duration::from_secs(20))
        .spawn()
        .unwrap();
    let answered = phone
        .wait_event("CALL_ESTABLISHED", secs(5))
        .unwrap_or_else(|e| panic!("{e}\n{}", callbox.log_tail()));
    assert!(
        answered.peer_uri.contains("carrier"),
        "the phone sees the customer: {answered:?}"
    );
    let digit = phone.wait_event("CALL_DTMF_START", secs(10)).unwrap();
    assert_eq!(
        digit.param, "1",
        "the customer's key press reaches the phone"
    );
    let outcome = carrier.finish(secs(20));
    assert!(
        outcome.all_ok(),
        "{}\n{}",
        outcome.describe(),
        callbox.log_tail()
    );
    phone.wait_event("CALL_CLOSED", secs(5)).unwrap();

    // The phone heard the carrier's speech (g711a.pcap): at least 0.2 s of it loud
    // (silence or a dead path gives none), and not its own tone.
    let heard = phone.wait_recording(secs(5)).unwrap();
    let speech = read_channel(&heard, 0).unwrap();
    let loud = speech.data.iter().filter(|s| s.abs() > 0.05).count();
    assert!(
        loud > 1600,
        "the phone heard the carrier ({loud} loud samples)"
    );
    assert!(
        !has_tone(&heard, 0, DESK_TONE as f64).unwrap(),
        "the phone heard itself"
    );

    let call = callbox.ended_call(1, Duration::from_secs(5));
    assert_eq!(call.direction.as_str(), "inbound");
    assert_eq!(call.service_number.as_deref(), Some(SERVICE));
    assert_eq!(call.from_number, "carrier");
    assert_eq!(call.hangup_by.map(|h| h.as_str()), Some("caller"));
    let recording = callbox.data_dir.join(call.recording.expect("recorded"));
    assert!(wait_until(secs(5), || callbox
        .store()
        .recording_seconds(&recording)
        .ok()
        .flatten()
        .is_some()));
    assert!(wav_duration(&recording).unwrap() >= 2.0);
    assert!(
        has_tone(&recording, 1, DESK_TONE as f64).unwrap(),
        "right channel: the phone's tone"
    );
    assert_ne!(
        dominant_tone(&recording, 0)
            .unwrap()
            .map(|(f, _)| f.round() as i64),
        Some(i64::from(DESK_TONE)),
        "left channel is the carrier, not the phone"
    );
}

#[test]
fn phone_dials_nine_and_goes_out_with_the_service_number() {
    let t = TestDir::new("e2e-outbound").unwrap();
    let Office {
        callbox,
        desk: mut phone,
        carrier_port,
    } = Office::start(&t, AnswerMode::Auto);
    let messages = t.path().join("carrier-messages.log");
    let carrier = Sipp::scenario("carrier", "carrier_answer.xml", t.path())
        .local_ip(CARRIER_IP)
        .local_port(carrier_port)
        .timeout(Duration::from_secs(20))
        .arg("-trace_msg")
        .arg("-message_file")
        .arg(messages.to_str().unwrap())
        .spawn()
        .unwrap();
    phone
        .dial(&format!("sip:913800138000@{}", callbox.sip))
        .unwrap();
    phone
        .wait_event("CALL_ESTABLISHED", secs(10))
        .unwrap_or_else(|e| panic!("{e}\n{}", callbox.log_tail()));
    assert!(
        wait_until(secs(10), || phone
            .recording_path()
            .and_then(|p| std::fs::metadata(p).ok())
            .is_some_and(|m| m.len() > 44 + 32_000)),
        "the phone hears the carrier"
    );
    phone.hangup().unwrap();
    let outcome = carrier.finish(secs(10));
    assert!(
        outcome.all_ok(),
        "{}\n{}",
        outcome.describe(),
        callbox.log_tail()
    );

    let wire = std::fs::read_to_string(&messages).unwrap();
    let invite = wire
        .split("INVITE sip:")
        .nth(1)
        .expect("the carrier got an INVITE");
    assert!(
        invite.starts_with("13800138000@"),
        "the prefix is stripped: {invite}"
    );
    let from = invite.lines().find(|l| l.starts_with("From:")).unwrap();
    assert!(
        from.contains(&format!("sip:{SERVICE}@")),
        "the customer sees the service number: {from}"
    );

    let call = callbox.ended_call(1, Duration::from_secs(5));
    assert_eq!(call.direction.as_str(), "outbound");
    assert_eq!(
        call.to_number, "13800138000",
        "the number without the outside-line prefix"
    );
    assert_eq!(call.from_number, SERVICE);
    assert_eq!(call.hangup_by.map(|h| h.as_str()), Some("caller"));
    assert!(call.recording.is_some());
}

#[test]
fn carrier_refusals_leave_a_trail_naming_the_cause() {
    let t = TestDir::new("e2e-refusals").unwrap();
    let Office {
        callbox,
        desk: mut phone,
        carrier_port,
    } = Office::start(&t, AnswerMode::Auto);
    for (n, (status, words)) in [
        ("402 Payment Required", "payment required"),
        ("480 Temporarily Unavailable", "unavailable"),
        ("503 Service Unavailable", "service is unavailable"),
    ]
    .into_iter()
    .enumerate()
    {
        let code: u16 = status[..3].parse().unwrap();
        let carrier = Sipp::scenario(&format!("carrier-{code}"), "carrier_reject.xml", t.path())
            .local_ip(CARRIER_IP)
            .local_port(carrier_port)
            .substitute("503 Service Unavailable", status)
            .timeout(Duration::from_secs(10))
            .spawn()
            .unwrap();
        phone
            .dial(&format!("sip:913800138000@{}", callbox.sip))
            .unwrap();
        let closed = phone
            .wait_event("CALL_CLOSED", secs(10))
            .unwrap_or_else(|e| panic!("{e}\n{}", callbox.log_tail()));
        assert!(
            closed.param.contains(&code.to_string()),
            "the phone is told {code}: {closed:?}"
        );
        let outcome = carrier.finish(secs(10));
        assert!(outcome.all_ok(), "{}", outcome.describe());

        let id = n as i64 + 1;
        let call = callbox.ended_call(id, Duration::from_secs(5));
        assert_eq!(call.sip_code, Some(code));
        let cause = call.end_cause.unwrap();
        assert!(
            cause.contains(words) && cause.contains(status),
            "{code}: {cause}"
        );
        let trail = callbox.trail(id);
        let last = trail.last().unwrap();
        assert_eq!(
            (last.kind.as_str(), last.sip_code),
            ("rejected", Some(code))
        );
        assert!(
            last.detail.contains(status),
            "the trail quotes the carrier: {}",
            last.detail
        );
    }
}

#[test]
fn carrier_cancels_while_the_phone_rings() {
    let t = TestDir::new("e2e-trunk-cancel").unwrap();
    let Office {
        callbox,
        desk: mut phone,
        ..
    } = Office::start(&t, AnswerMode::Manual);
    let carrier = Sipp::scenario("carrier", "trunk_cancel.xml", t.path())
        .remote(callbox.sip)
        .local_ip(CARRIER_IP)
        .service(SERVICE)
        .timeout(Duration::from_secs(10))
        .spawn()
        .unwrap();
    phone.wait_event("CALL_INCOMING", secs(5)).unwrap();
    let outcome = carrier.finish(secs(10));
    assert!(
        outcome.all_ok(),
        "{}\n{}",
        outcome.describe(),
        callbox.log_tail()
    );
    phone.wait_event("CALL_CLOSED", secs(5)).unwrap();
    let call = callbox.ended_call(1, Duration::from_secs(5));
    assert_eq!(call.hangup_by.map(|h| h.as_str()), Some("caller"));
    assert_eq!(call.answered_at, None);
    assert_eq!(callbox.trail_kinds(1), ["offered", "ringing", "cancelled"]);
}

#[test]
fn carrier_holds_and_resumes_by_reinvite() {
    let t = TestDir::new("e2e-hold").unwrap();
    let Office {
        callbox,
        desk: mut phone,
        ..
    } = Office::start(&t, AnswerMode::Auto);
    let carrier = Sipp::scenario("carrier", "phone_hold.xml", t.path())
        .remote(callbox.sip)
        .local_ip(CARRIER_IP)
        .service(SERVICE)
        .duration_ms(500)
        .timeout(Duration::from_secs(15))
        .spawn()
        .unwrap();
    phone.wait_event("CALL_ESTABLISHED", secs(5)).unwrap();
    let outcome = carrier.finish(secs(15));
    assert!(
        outcome.all_ok(),
        "the hold is answered recvonly, the resume sendrecv: {}\n{}",
        outcome.describe(),
        callbox.log_tail()
    );
    phone.wait_event("CALL_CLOSED", secs(5)).unwrap();
    callbox.ended_call(1, Duration::from_secs(5));
    assert_eq!(
        callbox.trail_kinds(1),
        [
            "offered",
            "ringing",
            "answered",
            "recording_started",
            "held",
            "resumed",
            "hung_up"
        ]
    );
}

#[test]
fn session_timers_asked_by_the_carrier_are_honoured() {
    let t = TestDir::new("e2e-session-timer").unwrap();
    let Office {
        callbox,
        desk: mut phone,
        ..
    } = Office::start(&t, AnswerMode::Auto);
    let carrier = Sipp::scenario("carrier", "trunk_session_timer.xml", t.path())
        .remote(callbox.sip)
        .local_ip(CARRIER_IP)
        .service(SERVICE)
        .duration_ms(500)
        .timeout(Duration::from_secs(15))
        .spawn()
        .unwrap();
    phone.wait_event("CALL_ESTABLISHED", secs(5)).unwrap();
    let outcome = carrier.finish(secs(15));
    assert!(
        outcome.all_ok(),
        "the 200 carries Session-Expires and Require: timer: {}\n{}",
        outcome.describe(),
        callbox.log_tail()
    );
    phone.wait_event("CALL_CLOSED", secs(5)).unwrap();
    assert_eq!(
        callbox
            .ended_call(1, Duration::from_secs(5))
            .hangup_by
            .map(|h| h.as_str()),
        Some("caller")
    );
}

#[test]
fn a_call_whose_audio_dies_is_ended_by_the_box() {
    let t = TestDir::new("e2e-dead-media").unwrap();
    let Office {
        callbox,
        desk: mut phone,
        ..
    } = Office::start_with(&t, AnswerMode::Auto, |p| p.rtp_timeout_secs = 2);
    // A carrier that signals a call but never sends a single RTP packet, and would
    // keep it up for 30 s.
    let silent = Sipp::scenario("carrier", "trunk_call.xml", t.path())
        .remote(callbox.sip)
        .local_ip(CARRIER_IP)
        .service(SERVICE)
        .substitute(
            "<exec play_pcap_audio=\"/usr/share/sip-tester/g711a.pcap\"/>",
            "<log message=\"silent\"/>",
        )
        .substitute(
            "<exec play_pcap_audio=\"/usr/share/sip-tester/dtmf_2833_1.pcap\"/>",
            "<log message=\"silent\"/>",
        )
        .duration_ms(30_000)
        .timeout(Duration::from_secs(40))
        .spawn()
        .unwrap();
    phone.wait_event("CALL_ESTABLISHED", secs(5)).unwrap();
    let closed = phone
        .wait_event("CALL_CLOSED", secs(10))
        .unwrap_or_else(|e| panic!("{e}\n{}", callbox.log_tail()));
    assert!(!closed.param.is_empty(), "{closed:?}");
    let call = callbox.ended_call(1, Duration::from_secs(5));
    assert_eq!(call.hangup_by.map(|h| h.as_str()), Some("system"));
    let cause = call.end_cause.unwrap();
    assert!(
        cause.contains("no audio from the caller for 2 s"),
        "{cause}"
    );
    let talked = call.ended_at.unwrap() - call.answered_at.unwrap();
    assert!(
        talked.num_seconds() < 10,
        "ended long before the carrier's 30 s ({talked})"
    );
    drop(silent);
}
