//! Customer cards over HTTP: `GET /customers?q=` (supervisors and admins: search
//! every card), `GET|PUT /customers/{number}` (the card of one number, created on
//! the first save) and `GET /customers/{number}/calls` (their calls, newest first,
//! with time, direction, agent, duration and result).
//!
//! An agent may read and save the card of a number they have had a call with (see
//! `mod.rs`), but not mark or unmark a VIP: VIP callers jump every queue, which is a
//! supervisor's call to make. The number in the path is the customer's number as the
//! carrier sends it (`+` written `%2B`).

use serde_json::{Value, json};

use super::{Body, Query, answer, may_see_number, path_text, time, with_store};
use crate::api::routes::{Answer, error, error_owned};
use crate::api::table::Ctx;
use crate::store::{CardChange, CustomerCall, CustomerCard};

const CARD_FIELDS: &[&str] = &[
    "name", "company", "email", "address", "notes", "tags", "vip",
];

pub fn list(ctx: &Ctx<'_>) -> Answer {
    answer((|| {
        let q = Query::of(ctx, &["q", "limit", "offset"])?;
        let (limit, offset) = q.page()?;
        let text = q.get("q").unwrap_or("").trim().to_string();
        if text.chars().count() > 100 {
            return Err(error(400, "expected at most 100 characters", Some("q")));
        }
        let (cards, total) = with_store(ctx, |s| s.customers(&text, limit, offset))?;
        Ok(Answer::json(
            200,
            &json!({
                "total": total,
                "customers": cards.iter().map(card_json).collect::<Vec<_>>(),
            }),
        ))
    })())
}

pub fn get(ctx: &Ctx<'_>) -> Answer {
    answer((|| {
        let number = path_text(ctx, "number")?;
        // The number's shape first, so garbage is a 400 rather than a 403.
        let card = with_store(ctx, |s| s.customer(&number))?;
        may_see_number(ctx, &number, "number")?;
        match card {
            Some(card) => Ok(Answer::json(200, &card_json(&card))),
            None => Err(error_owned(
                404,
                &format!("no customer card for {}", number.trim()),
                None,
            )),
        }
    })())
}

pub fn put(ctx: &Ctx<'_>) -> Answer {
    answer((|| {
        let number = path_text(ctx, "number")?;
        let body = Body::of(ctx, CARD_FIELDS)?;
        let change = CardChange {
            name: body.string("name")?,
            company: body.string("company")?,
            email: body.string("email")?,
            address: body.string("address")?,
            notes: body.string("notes")?,
            tags: body.strings("tags")?,
            vip: body.bool("vip")?,
        };
        let old = with_store(ctx, |s| s.customer(&number))?;
        may_see_number(ctx, &number, "number")?;
        if ctx.only_agent().is_some()
            && change
                .vip
                .is_some_and(|vip| vip != old.as_ref().is_some_and(|c| c.vip))
        {
            return Err(error(
                403,
                "only supervisors and admins may mark or unmark a VIP",
                Some("vip"),
            ));
        }
        let by = ctx.user().to_string();
        let created = old.is_none();
        let card = with_store(ctx, |s| s.save_customer(&number, &change, &by))?;
        Ok(Answer::json(
            if created { 201 } else { 200 },
            &card_json(&card),
        ))
    })())
}

pub fn calls(ctx: &Ctx<'_>) -> Answer {
    answer((|| {
        let number = path_text(ctx, "number")?;
        let q = Query::of(ctx, &["limit", "offset"])?;
        let (limit, offset) = q.page()?;
        // Checked as a card's number would be.
        with_store(ctx, |s| s.customer(&number))?;
        may_see_number(ctx, &number, "number")?;
        let number = number.trim().to_string();
        let (calls, total) = with_store(ctx, |s| s.customer_calls(&number, limit, offset))?;
        Ok(Answer::json(
            200,
            &json!({
                "total": total,
                "calls": calls.iter().map(call_json).collect::<Vec<_>>(),
            }),
        ))
    })())
}

pub fn card_json(c: &CustomerCard) -> Value {
    json!({
        "number": c.number,
        "name": c.name,
        "company": c.company,
        "email": c.email,
        "address": c.address,
        "notes": c.notes,
        "tags": c.tags,
        "vip": c.vip,
        "created_at": c.created_at.to_rfc3339(),
        "updated_at": time(c.updated_at),
        "updated_by": c.updated_by,
    })
}

/// One call of the history: `result` is "in_progress", "answered", "missed" (an
/// inbound call nobody answered) or "not_connected" (an outbound one).
fn call_json(c: &CustomerCall) -> Value {
    let result = match (c.answered_at, c.ended_at) {
        (_, None) => "in_progress",
        (Some(_), Some(_)) => "answered",
        (None, Some(_)) if c.direction == "outbound" => "not_connected",
        (None, Some(_)) => "missed",
    };
    let talk = match (c.answered_at, c.ended_at) {
        (Some(a), Some(e)) => Some((e - a).num_seconds().max(0)),
        _ => None,
    };
    let total = c.ended_at.map(|e| (e - c.started_at).num_seconds().max(0));
    json!({
        "call": c.id,
        "direction": c.direction,
        "from": c.from_number,
        "to": c.to_number,
        "service_number": c.service_number,
        "started_at": c.started_at.to_rfc3339(),
        "answered_at": time(c.answered_at),
        "ended_at": time(c.ended_at),
        "talk_secs": talk,
        "total_secs": total,
        "wait_secs": c.wait_secs,
        "agent": c.agent,
        "agent_name": c.agent_name,
        "group": c.group,
        "result": result,
        "end_cause": c.end_cause,
        "hangup_by": c.hangup_by,
        "recorded": c.recorded,
    })
}
