//! Unit tests of the registrar table in simulated time.
//!
//! They own a fake directory and a base `Instant`; they must never sleep. The tricky
//! part is checking reports: each test asserts the exact `status_changes` output, so
//! a missing or duplicate report fails.

use super::*;
use crate::core::Device;

fn dir() -> Directory {
    let dev = |id, user: &str, static_contact: Option<&str>| Device {
        id: DeviceId(id),
        user: user.into(),
        password: "pw".into(),
        name: user.into(),
        static_contact: static_contact.map(Into::into),
    };
    Directory {
        devices: vec![
            dev(1, "1001", None),
            dev(2, "1002", None),
            dev(3, "gw", Some("sip:10.0.0.9")),
        ],
        ..Directory::default()
    }
}

fn set(uri: &str, expires: u32) -> Change {
    Change::Set {
        uri: uri.into(),
        expires,
    }
}

#[test]
fn expiry_policy() {
    assert_eq!(
        decide_expires(None, None, 60, 3600),
        ExpiresDecision::Secs(3600)
    );
    assert_eq!(
        decide_expires(Some("120"), Some(600), 60, 3600),
        ExpiresDecision::Secs(120)
    );
    assert_eq!(
        decide_expires(None, Some(600), 60, 3600),
        ExpiresDecision::Secs(600)
    );
    assert_eq!(
        decide_expires(None, Some(99999), 60, 3600),
        ExpiresDecision::Secs(3600)
    );
    assert_eq!(
        decide_expires(Some("30"), None, 60, 3600),
        ExpiresDecision::TooBrief
    );
    assert_eq!(
        decide_expires(Some("0"), Some(600), 60, 3600),
        ExpiresDecision::Secs(0)
    );
    assert_eq!(
        decide_expires(None, Some(0), 60, 3600),
        ExpiresDecision::Secs(0)
    );
    // A garbled param falls back to the header.
    assert_eq!(
        decide_expires(Some("x"), Some(600), 60, 3600),
        ExpiresDecision::Secs(600)
    );
}

#[test]
fn static_devices_report_once_at_start() {
    let mut r = Registrar::new();
    assert_eq!(r.status_changes(&dir()), vec![(DeviceId(3), 1, true)]);
    assert_eq!(r.status_changes(&dir()), vec![]);
}

#[test]
fn contacts_come_and_go_with_reports() {
    let d = dir();
    let t0 = Instant::now();
    let mut r = Registrar::new();
    r.status_changes(&d);
    r.apply(
        DeviceId(1),
        &[set("sip:a@1.1.1.1", 60), set("sip:b@1.1.1.2", 120)],
        t0,
    );
    assert_eq!(r.status_changes(&d), vec![(DeviceId(1), 2, true)]);
    // A refresh changes nothing visible.
    r.apply(
        DeviceId(1),
        &[set("sip:a@1.1.1.1", 60)],
        t0 + Duration::from_secs(10),
    );
    assert_eq!(r.status_changes(&d), vec![]);
    assert_eq!(r.newest(DeviceId(1)), Some("sip:a@1.1.1.1"));
    r.apply(
        DeviceId(1),
        &[Change::Remove {
            uri: "sip:a@1.1.1.1".into(),
        }],
        t0,
    );
    assert_eq!(r.status_changes(&d), vec![(DeviceId(1), 1, true)]);
    assert_eq!(
        r.bindings(DeviceId(1), t0 + Duration::from_secs(20)),
        vec![("sip:b@1.1.1.2".into(), 100)]
    );
    r.apply(DeviceId(1), &[Change::RemoveAll], t0);
    assert_eq!(r.status_changes(&d), vec![(DeviceId(1), 0, false)]);
    assert_eq!(r.newest(DeviceId(1)), None);
}

#[test]
fn expiry_removes_on_time() {
    let d = dir();
    let t0 = Instant::now();
    let mut r = Registrar::new();
    r.status_changes(&d);
    r.apply(DeviceId(2), &[set("sip:x@h", 60), set("sip:y@h", 90)], t0);
    r.status_changes(&d);
    assert_eq!(r.next_expiry(), Some(t0 + Duration::from_secs(60)));
    r.expire(t0 + Duration::from_secs(59));
    assert_eq!(r.status_changes(&d), vec![]);
    r.expire(t0 + Duration::from_secs(60));
    assert_eq!(r.status_changes(&d), vec![(DeviceId(2), 1, true)]);
    r.expire(t0 + Duration::from_secs(90));
    assert_eq!(r.status_changes(&d), vec![(DeviceId(2), 0, false)]);
    assert_eq!(r.next_expiry(), None);
}

#[test]
fn qualify_failures_flip_reachability() {
    let d = dir();
    let t0 = Instant::now();
    let mut r = Registrar::new();
    r.status_changes(&d);
    r.apply(DeviceId(1), &[set("sip:a@h", 60), set("sip:b@h", 60)], t0);
    r.status_changes(&d);
    r.set_reachable(DeviceId(1), "sip:a@h", false, false);
    assert_eq!(r.status_changes(&d), vec![]);
    r.set_reachable(DeviceId(1), "sip:b@h", false, false);
    assert_eq!(r.status_changes(&d), vec![(DeviceId(1), 2, false)]);
    r.set_reachable(DeviceId(3), "sip:10.0.0.9", false, true);
    assert_eq!(r.status_changes(&d), vec![(DeviceId(3), 1, false)]);
}

#[test]
fn bindings_are_capped_oldest_first() {
    let t0 = Instant::now();
    let mut r = Registrar::new();
    for i in 0..(MAX_BINDINGS + 3) {
        r.apply(DeviceId(1), &[set(&format!("sip:{i}@h"), 60)], t0);
    }
    let uris: Vec<String> = r
        .bindings(DeviceId(1), t0)
        .into_iter()
        .map(|(u, _)| u)
        .collect();
    assert_eq!(uris.len(), MAX_BINDINGS);
    assert!(!uris.contains(&"sip:0@h".to_string()));
    assert_eq!(
        r.newest(DeviceId(1)),
        Some(format!("sip:{}@h", MAX_BINDINGS + 2).as_str())
    );
}

#[test]
fn reload_forgets_removed_devices() {
    let t0 = Instant::now();
    let mut r = Registrar::new();
    let d = dir();
    r.apply(DeviceId(1), &[set("sip:a@h", 60)], t0);
    r.apply(DeviceId(2), &[set("sip:b@h", 60)], t0);
    r.status_changes(&d);
    let mut smaller = d.clone();
    smaller.devices.retain(|x| x.id != DeviceId(2));
    r.retain_devices(&smaller);
    assert_eq!(r.newest(DeviceId(1)), Some("sip:a@h"));
    assert_eq!(r.newest(DeviceId(2)), None);
    assert_eq!(r.status_changes(&smaller), vec![]);
}
