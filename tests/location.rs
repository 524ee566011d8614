//! Number location (归属地, S12's screen pop): the lookup against libphonenumber's
//! own answers, and `GET /api/v1/numbers/{number}/location` through a running daemon.
//!
//! The expected answers are not written here from memory: `data/number-location.check.tsv`
//! is written by `tools/gen-number-location.py` from what the `phonenumbers` package
//! itself answers for each number (mobiles and fixed lines of every kind of prefix,
//! written the ways callers' numbers arrive), and every line of it is replayed here.

mod common;

use callbox::core::location::{self, Kind, NotANumber};
use common::TestDir;
use common::callbox::Prepared;
use common::http::json;

const CHECK: &str = include_str!("../data/number-location.check.tsv");

/// (number as written, kind, province, city, carrier), as the package answered.
fn package_answers() -> Vec<[&'static str; 5]> {
    CHECK
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 5, "a check line has five fields: {l:?}");
            [f[0], f[1], f[2], f[3], f[4]]
        })
        .collect()
}

fn some(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

#[test]
fn the_lookup_answers_what_libphonenumber_answers() {
    let answers = package_answers();
    assert!(answers.len() > 300, "{} check numbers", answers.len());
    let mut kinds = (0, 0);
    for [written, kind, province, city, carrier] in answers {
        let l = location::lookup(written).unwrap_or_else(|e| panic!("{written}: {e}"));
        assert_eq!(l.kind.as_str(), kind, "{written}");
        assert_eq!(
            (l.province, l.city, l.carrier),
            (some(province), some(city), some(carrier)),
            "{written}"
        );
        match l.kind {
            Kind::Mobile => kinds.0 += 1,
            _ => kinds.1 += 1,
        }
    }
    // Both kinds are covered, not just the mobiles that dominate the data.
    assert!(kinds.0 > 100 && kinds.1 > 50, "{kinds:?}");
}

#[test]
fn municipalities_are_both_province_and_city_and_others_split() {
    let answers = package_answers();
    let under = |area: &str| {
        *answers
            .iter()
            .find(|a| a[1] == "fixed" && national(a[0]).starts_with(area))
            .unwrap_or_else(|| panic!("a check number under 0{area}"))
    };
    // Beijing 010, Shanghai 021, Tianjin 022, Chongqing 023: a municipality is both.
    for area in ["10", "21", "22", "23"] {
        let [written, ..] = under(area);
        let l = location::lookup(written).unwrap();
        assert!(
            l.province.is_some() && l.province == l.city,
            "{written}: {l:?}"
        );
    }
    // Guangzhou 020, Shenzhen 0755: a province and a city, the same however written.
    for area in ["20", "755"] {
        let [written, _, province, city, _] = under(area);
        assert_ne!(province, city, "{written}");
        let n = national(written);
        for other in [format!("0{n}"), format!("+86 {n}"), format!("0086-{n}")] {
            let l = location::lookup(&other).unwrap();
            assert_eq!(
                (l.kind, l.province, l.city),
                (Kind::Fixed, some(province), some(city)),
                "{other}"
            );
        }
    }
}

/// Digits of a check number without +86, 0086, 86 or 0.
fn national(written: &str) -> String {
    let d: String = written.chars().filter(char::is_ascii_digit).collect();
    let d = d.strip_prefix("0086").unwrap_or(&d);
    let d = if written.starts_with('+') || (d.starts_with("86") && d.len() >= 12) {
        &d[2..]
    } else {
        d
    };
    d.strip_prefix('0').unwrap_or(d).to_string()
}

#[test]
fn numbers_without_a_place_and_garbage() {
    for written in ["88888888", "95555", "4008001234", "+1 650 253 0000"] {
        let l = location::lookup(written).unwrap();
        assert_eq!(l.kind, Kind::Unknown, "{written}");
        assert_eq!(
            (l.province, l.city, l.carrier),
            (None, None, None),
            "{written}"
        );
    }
    for garbage in ["", "call me", "139-0000-123x"] {
        assert_eq!(location::lookup(garbage), Err(NotANumber), "{garbage:?}");
    }
}

#[test]
fn the_route_answers_through_a_running_daemon() {
    let t = TestDir::new("location").unwrap();
    let callbox = Prepared::new(t.path()).unwrap().start().unwrap();
    let answers = package_answers();
    let mobile = answers
        .iter()
        .find(|a| a[1] == "mobile" && !a[4].is_empty())
        .unwrap();
    let fixed = answers
        .iter()
        .find(|a| a[1] == "fixed" && a[0].contains('-'))
        .unwrap();
    for [written, kind, province, city, carrier] in [mobile, fixed] {
        let path = format!("/api/v1/numbers/{}/location", escape(written));
        let (code, v) = json(callbox.http, "GET", &path, "");
        assert_eq!(code, 200, "{path}: {v}");
        assert_eq!(v["kind"], *kind, "{path}: {v}");
        assert_eq!(v["province"], *province, "{path}: {v}");
        assert_eq!(v["city"], *city, "{path}: {v}");
        match *carrier {
            "" => assert!(v.get("carrier").is_none(), "{path}: {v}"),
            c => assert_eq!(v["carrier"], c, "{path}: {v}"),
        }
        let digits = national(written);
        let number = v["number"].as_str().unwrap();
        assert!(
            number.ends_with(&digits) && number.len() <= digits.len() + 1,
            "{v}"
        );
    }

    let (code, v) = json(callbox.http, "GET", "/api/v1/numbers/88888888/location", "");
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["kind"], "unknown");
    assert!(v["province"].is_null() && v["city"].is_null(), "{v}");

    let (code, v) = json(
        callbox.http,
        "GET",
        "/api/v1/numbers/not-a-phone/location",
        "",
    );
    assert_eq!(code, 400, "{v}");
    assert_eq!(v["field"], "number", "{v}");
    callbox.stop();
}

/// A check number as a path segment: `+` and spaces escaped.
fn escape(written: &str) -> String {
    written.replace('+', "%2B").replace(' ', "%20")
}
