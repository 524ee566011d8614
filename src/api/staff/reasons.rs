//! Busy reasons (忙碌原因): the ordered list agents pick from when they set
//! themselves busy. Everyone reads it (`GET /busy-reasons`, the workspace's busy
//! menu); the console replaces it whole (`PUT`: add, remove and reorder in one go),
//! appends one (`POST`) or removes one (`DELETE /busy-reasons/{reason}`, the reason
//! percent-encoded). Each is 1-32 characters and listed once (`agents.rs` checks).

use serde_json::json;

use super::super::routes::{Answer, error_owned};
use super::super::table::Ctx;
use super::body::Body;
use super::with_store;

fn answer_list(ctx: &Ctx<'_>, code: u16) -> Answer {
    match with_store(ctx, |s| s.busy_reasons()) {
        Ok(reasons) => Answer::json(code, &json!({ "reasons": reasons })),
        Err(answer) => answer,
    }
}

pub fn list(ctx: &Ctx<'_>) -> Answer {
    answer_list(ctx, 200)
}

fn save(ctx: &Ctx<'_>, reasons: &[String]) -> Result<(), Answer> {
    let refs: Vec<&str> = reasons.iter().map(String::as_str).collect();
    with_store(ctx, |s| s.set_busy_reasons(&refs)).map_err(|mut a| {
        // The store names the list; the console's field is `reasons`.
        a.body = a
            .body
            .replace(r#""field":"busy_reasons""#, r#""field":"reasons""#);
        a
    })
}

pub fn replace(ctx: &Ctx<'_>) -> Answer {
    let done = (|| {
        let mut b = Body::parse(ctx.body(), false)?;
        let reasons = b
            .opt_strings("reasons")?
            .ok_or_else(|| error_owned(400, "missing field \"reasons\"", Some("reasons".into())))?;
        b.finish()?;
        save(ctx, &reasons)
    })();
    match done {
        Ok(()) => answer_list(ctx, 200),
        Err(answer) => answer,
    }
}

pub fn add(ctx: &Ctx<'_>) -> Answer {
    let done = (|| {
        let mut b = Body::parse(ctx.body(), false)?;
        let reason = b.req_str("reason")?;
        b.finish()?;
        let mut reasons = with_store(ctx, |s| s.busy_reasons())?;
        if reasons.iter().any(|r| r == reason.trim()) {
            return Err(error_owned(
                409,
                &format!("{:?} is listed already", reason.trim()),
                Some("reason".into()),
            ));
        }
        reasons.push(reason);
        save(ctx, &reasons).map_err(|mut a| {
            a.body = a
                .body
                .replace(r#""field":"reasons""#, r#""field":"reason""#);
            a
        })
    })();
    match done {
        Ok(()) => answer_list(ctx, 201),
        Err(answer) => answer,
    }
}

pub fn remove(ctx: &Ctx<'_>) -> Answer {
    let reason = ctx.param_text("reason");
    let done = (|| {
        let mut reasons = with_store(ctx, |s| s.busy_reasons())?;
        let before = reasons.len();
        reasons.retain(|r| *r != reason);
        if reasons.len() == before {
            return Err(error_owned(
                404,
                &format!("{reason:?} is not a busy reason"),
                None,
            ));
        }
        save(ctx, &reasons)
    })();
    match done {
        Ok(()) => answer_list(ctx, 200),
        Err(answer) => answer,
    }
}
