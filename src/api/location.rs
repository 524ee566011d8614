//! `GET /api/v1/numbers/{n}/location`: where a phone number is from (归属地), for the
//! screen pop: `{"number","province","city","carrier"?,"kind"}`.
//!
//! Only parses the path's number and renders the answer; the lookup itself is
//! `core::location` (pure, its table embedded). Who may ask is decided by
//! `routes.rs` before it calls here. `province` and `city` are null when the number
//! names no known place; `carrier` is there only for a mobile whose carrier is known;
//! `kind` is "mobile", "fixed" or "unknown". A path segment that is not a phone number
//! is a 400 naming `number`.

use serde::Serialize;

use super::routes::{Answer, error};
use super::table::{Ctx, Route, Who};

/// A number's 归属地 (`table.rs`).
pub const ROUTES: &[Route] = &[Route {
    method: "GET",
    path: "/numbers/{number}/location",
    who: Who::Anyone,
    run: |ctx: &Ctx<'_>| route("GET", ctx.param("number"), ctx.query),
}];
use crate::core::location::{self, NotANumber};

#[derive(Serialize)]
struct Body {
    number: String,
    province: Option<&'static str>,
    city: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    carrier: Option<&'static str>,
    kind: &'static str,
}

/// `method` and `number` of `/api/v1/numbers/{number}/location`, `query` after `?`
/// (none is read).
pub fn route(method: &str, number: &str, query: &str) -> Answer {
    let _ = query;
    if !matches!(method, "GET" | "HEAD") {
        return Answer {
            allow: Some("GET, HEAD"),
            ..error(405, "method not allowed", None)
        };
    }
    let found = percent_decode(number)
        .ok_or(NotANumber)
        .and_then(|n| location::lookup(&n));
    match found {
        Ok(l) => Answer::json(
            200,
            &Body {
                number: l.number,
                province: l.province,
                city: l.city,
                carrier: l.carrier,
                kind: l.kind.as_str(),
            },
        ),
        Err(e) => error(400, &e.to_string(), Some("number")),
    }
}

/// A path segment with its `%XX` escapes undone (`%2B86` is `+86`, `%20` a space);
/// `None` for a broken escape or bytes that are not UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    let mut out = Vec::with_capacity(segment.len());
    let mut bytes = segment.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            let hex = std::str::from_utf8(&hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(number: &str) -> (u16, serde_json::Value) {
        let a = route("GET", number, "");
        (a.code, serde_json::from_str(&a.body).unwrap())
    }

    #[test]
    fn numbers_are_answered_and_garbage_is_named() {
        let (code, v) = get("%2B86%20755%208888%208888");
        assert_eq!(code, 200);
        assert_eq!(v["number"], "075588888888");
        assert_eq!(v["kind"], "fixed");
        assert_eq!(v["province"], "广东省");
        assert_eq!(v["city"], "深圳市");
        assert!(v.get("carrier").is_none(), "{v}");

        let (code, v) = get("88888888");
        assert_eq!(code, 200);
        assert_eq!(v["kind"], "unknown");
        assert!(v["province"].is_null() && v["city"].is_null(), "{v}");

        for garbage in ["abc", "%zz", "%", "139%FF", "%2F"] {
            let (code, v) = get(garbage);
            assert_eq!(code, 400, "{garbage}: {v}");
            assert_eq!(v["field"], "number", "{garbage}: {v}");
        }
        let post = route("POST", "13900001234", "");
        assert_eq!((post.code, post.allow), (405, Some("GET, HEAD")));
    }
}
