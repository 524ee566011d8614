//! End to end with real softphones: baresip instances registered to the real
//! daemon call each other through it, and what each heard is checked for the other's
//! tone, in their own recordings and in the box's stereo recording.

mod common;

use std::time::Duration;

use callbox::store::NewDevice;
use common::TestDir;
use common::audio::{has_tone, wav_duration};
use common::baresip::{AnswerMode, Baresip, BaresipOpts};
use common::callbox::{Callbox, Prepared};
use common::wait::{secs, wait_until};

struct Office {
    callbox: Callbox,
    alice: Baresip,
    bob: Baresip,
}

/// Two registered phones: 1001 sends 440 Hz, 1002 sends 1000 Hz and answers by hand.
fn office(t: &TestDir) -> Office {
    let mut prepared = Prepared::new(t.path()).unwrap();
    for user in ["1001", "1002"] {
        let device = NewDevice {
            user: user.into(),
            password: format!("pw-{user}"),
            name: format!("desk {user}"),
            static_contact: None,
        };
        prepared.store.add_device(&device).unwrap();
    }
    let callbox = prepared.start().unwrap();
    let mut alice = Baresip::start(
        BaresipOpts::new("alice")
            .user("1001")
            .register(callbox.sip, "pw-1001")
            .tone(440),
        t.path(),
    )
    .unwrap();
    let mut bob = Baresip::start(
        BaresipOpts::new("bob")
            .user("1002")
            .register(callbox.sip, "pw-1002")
            .tone(1000)
            .answer(AnswerMode::Manual),
        t.path(),
    )
    .unwrap();
    alice.wait_registered(secs(5)).unwrap();
    bob.wait_registered(secs(5)).unwrap();
    Office {
        callbox,
        alice,
        bob,
    }
}

fn wait_for_audio(phone: &Baresip, bytes: u64) -> bool {
    wait_until(secs(10), || {
        phone
            .recording_path()
            .and_then(|p| std::fs::metadata(p).ok())
            .is_some_and(|m| m.len() > 44 + bytes)
    })
}

#[test]
fn phone_calls_phone_with_audio_both_ways_and_a_stereo_recording() {
    let t = TestDir::new("e2e-phone-phone").unwrap();
    let Office {
        callbox,
        mut alice,
        mut bob,
    } = office(&t);
    let target = format!("sip:1002@{}", callbox.sip);

    alice.dial(&target).unwrap();
    let incoming = bob
        .wait_event("CALL_INCOMING", secs(5))
        .unwrap_or_else(|e| panic!("{e}\n{}", callbox.log_tail()));
    assert!(
        incoming.peer_uri.contains("1001"),
        "1002 sees who calls: {incoming:?}"
    );
    bob.answer().unwrap();
    alice.wait_event("CALL_ESTABLISHED", secs(5)).unwrap();
    bob.wait_event("CALL_ESTABLISHED", secs(5)).unwrap();

    // 1.5 s of audio each way (8 kHz, 16-bit mono: 16,000 bytes a second).
    assert!(
        wait_for_audio(&bob, 24_000),
        "bob heard too little\n{}",
        bob.context()
    );
    assert!(
        wait_for_audio(&alice, 24_000),
        "alice heard too little\n{}",
        alice.context()
    );
    alice.hangup().unwrap();
    bob.wait_event("CALL_CLOSED", secs(5)).unwrap();

    let heard_by_bob = bob.wait_recording(secs(5)).unwrap();
    let heard_by_alice = alice.wait_recording(secs(5)).unwrap();
    assert!(
        has_tone(&heard_by_bob, 0, 440.0).unwrap(),
        "1002 did not hear 1001's tone"
    );
    assert!(
        !has_tone(&heard_by_bob, 0, 1000.0).unwrap(),
        "1002 heard itself"
    );
    assert!(
        has_tone(&heard_by_alice, 0, 1000.0).unwrap(),
        "1001 did not hear 1002's tone"
    );

    let call = callbox.ended_call(1, Duration::from_secs(5));
    assert_eq!(call.from_number, "1001");
    assert_eq!(call.to_number, "1002");
    assert_eq!(call.hangup_by.map(|h| h.as_str()), Some("caller"));
    assert!(call.answered_at.is_some());
    assert_eq!(
        callbox.trail_kinds(1),
        [
            "offered",
            "ringing",
            "answered",
            "recording_started",
            "hung_up"
        ],
        "{}",
        callbox.log_tail()
    );
    let recording = callbox
        .data_dir
        .join(call.recording.expect("the call was recorded"));
    assert!(
        wait_until(secs(5), || callbox
            .store()
            .recording_seconds(&recording)
            .ok()
            .flatten()
            .is_some()),
        "the recording was closed and its length stored"
    );
    assert!(
        wav_duration(&recording).unwrap() >= 1.5,
        "the box recorded the call"
    );
    assert!(
        has_tone(&recording, 0, 440.0).unwrap(),
        "left channel is the caller"
    );
    assert!(
        !has_tone(&recording, 0, 1000.0).unwrap(),
        "left channel holds only the caller"
    );
    assert!(
        has_tone(&recording, 1, 1000.0).unwrap(),
        "right channel is the callee"
    );
    assert!(
        !has_tone(&recording, 1, 440.0).unwrap(),
        "right channel holds only the callee"
    );
}

#[test]
fn callee_hangs_up_and_the_row_says_so() {
    let t = TestDir::new("e2e-callee-bye").unwrap();
    let Office {
        callbox,
        mut alice,
        mut bob,
    } = office(&t);
    alice.dial(&format!("sip:1002@{}", callbox.sip)).unwrap();
    bob.wait_event("CALL_INCOMING", secs(5)).unwrap();
    bob.answer().unwrap();
    alice.wait_event("CALL_ESTABLISHED", secs(5)).unwrap();
    bob.hangup().unwrap();
    alice.wait_event("CALL_CLOSED", secs(5)).unwrap();
    let call = callbox.ended_call(1, Duration::from_secs(5));
    assert_eq!(call.hangup_by.map(|h| h.as_str()), Some("callee"));
    assert_eq!(call.end_cause.as_deref(), Some("the callee hung up"));
}

#[test]
fn caller_gives_up_while_it_rings() {
    let t = TestDir::new("e2e-cancel").unwrap();
    let Office {
        callbox,
        mut alice,
        mut bob,
    } = office(&t);
    alice.dial(&format!("sip:1002@{}", callbox.sip)).unwrap();
    bob.wait_event("CALL_INCOMING", secs(5)).unwrap();
    alice.wait_event("CALL_RINGING", secs(5)).unwrap();
    alice.hangup().unwrap();
    let closed = bob.wait_event("CALL_CLOSED", secs(5)).unwrap();
    assert!(!closed.param.is_empty(), "1002 stops ringing: {closed:?}");
    let call = callbox.ended_call(1, Duration::from_secs(5));
    assert_eq!(call.hangup_by.map(|h| h.as_str()), Some("caller"));
    assert_eq!(call.answered_at, None);
    assert_eq!(call.recording, None, "an unanswered call is not recorded");
    assert_eq!(callbox.trail_kinds(1), ["offered", "ringing", "cancelled"]);
}
