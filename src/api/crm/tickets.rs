//! Tickets (工单) over HTTP: open one (`POST /tickets`, from the screen pop or the
//! ticket page), list them (`GET /tickets?customer=&status=&agent=&type=&call=`),
//! read one and change it (`PATCH /tickets/{id}`: status, description, …).
//!
//! The agent who opens a ticket is the caller's own agent number, never a body
//! field. An agent sees their own tickets and those of customers they have had a
//! call with, and may open one only for their own calls and customers (see
//! `mod.rs`); supervisors and admins see and change every ticket.

use serde_json::{Value, json};

use super::{Body, Query, answer, may_see_call, may_see_number, path_id, with_store};
use crate::api::routes::{Answer, error, error_owned};
use crate::api::table::Ctx;
use crate::core::CallId;
use crate::store::{NewTicket, TICKET_STATUSES, Ticket, TicketChange, TicketFilter};

pub fn list(ctx: &Ctx<'_>) -> Answer {
    answer((|| {
        let q = Query::of(
            ctx,
            &[
                "customer", "status", "agent", "type", "call", "limit", "offset",
            ],
        )?;
        let (limit, offset) = q.page()?;
        let status = q.get("status").map(str::to_string);
        if let Some(s) = &status
            && !TICKET_STATUSES.contains(&s.as_str())
        {
            return Err(error_owned(
                400,
                &format!("expected one of {}, got {s:?}", TICKET_STATUSES.join(", ")),
                Some("status".into()),
            ));
        }
        let customer = q.get("customer").map(|c| c.trim().to_string());
        if let Some(c) = &customer {
            with_store(ctx, |s| s.customer(c)).map_err(|a| rename(a, "number", "customer"))?;
        }
        let agent = q.get("agent").map(str::to_string);
        if agent
            .as_ref()
            .is_some_and(|a| a.len() > 16 || !a.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(error(
                400,
                "expected an agent number (digits)",
                Some("agent"),
            ));
        }
        let filter = TicketFilter {
            customer,
            status,
            agent,
            type_id: q.id("type")?,
            call: q.id("call")?,
            visible_to: ctx.only_agent().map(str::to_string),
            limit,
            offset,
        };
        let (tickets, total) = with_store(ctx, |s| s.tickets(&filter))?;
        Ok(Answer::json(
            200,
            &json!({
                "total": total,
                "tickets": tickets.iter().map(ticket_json).collect::<Vec<_>>(),
            }),
        ))
    })())
}

pub fn get(ctx: &Ctx<'_>) -> Answer {
    answer((|| {
        let t = visible_ticket(ctx)?;
        Ok(Answer::json(200, &ticket_json(&t)))
    })())
}

pub fn add(ctx: &Ctx<'_>) -> Answer {
    answer((|| {
        let body = Body::of(
            ctx,
            &[
                "type",
                "title",
                "description",
                "priority",
                "status",
                "customer",
                "call",
                "fields",
            ],
        )?;
        let type_id = body
            .id("type")?
            .ok_or_else(|| error(400, "is required", Some("type")))?;
        let call = body.id("call")?;
        let customer = body.string("customer")?;
        let fields = values(&body)?.unwrap_or_default();
        let ticket = NewTicket {
            type_id,
            title: body.required_string("title")?,
            description: body.string("description")?.unwrap_or_default(),
            priority: body.string("priority")?.unwrap_or_else(|| "normal".into()),
            status: body.string("status")?.unwrap_or_else(|| "open".into()),
            customer: customer.clone(),
            call,
            agent: ctx.caller.agent().map(str::to_string),
            created_by: ctx.user().to_string(),
            fields,
        };
        if let Some(id) = call {
            if with_store(ctx, |s| s.call_facts(CallId(id)))?.is_none() {
                return Err(error_owned(
                    400,
                    &format!("no call has the id {id}"),
                    Some("call".into()),
                ));
            }
            may_see_call(ctx, id)?;
        }
        if let Some(number) = &customer {
            // The shape first (400), then whether this agent may (403).
            with_store(ctx, |s| s.customer(number)).map_err(|a| rename(a, "number", "customer"))?;
            may_see_number(ctx, number, "customer")?;
        }
        let t = with_store(ctx, |s| s.add_ticket(&ticket))?;
        Ok(Answer::json(201, &ticket_json(&t)))
    })())
}

pub fn patch(ctx: &Ctx<'_>) -> Answer {
    answer((|| {
        let body = Body::of(
            ctx,
            &[
                "type",
                "title",
                "description",
                "priority",
                "status",
                "fields",
            ],
        )?;
        let change = TicketChange {
            type_id: body.id("type")?,
            title: body.string("title")?,
            description: body.string("description")?,
            priority: body.string("priority")?,
            status: body.string("status")?,
            fields: values(&body)?,
        };
        let t = visible_ticket(ctx)?;
        let t = with_store(ctx, |s| s.update_ticket(t.id, &change))?;
        Ok(Answer::json(200, &ticket_json(&t)))
    })())
}

/// The ticket of the path's `{id}`, if the caller may see it (404, 403 otherwise).
fn visible_ticket(ctx: &Ctx<'_>) -> Result<Ticket, Answer> {
    let id = path_id(ctx, "id")?;
    let t = with_store(ctx, |s| s.ticket(id))?
        .ok_or_else(|| error_owned(404, &format!("no ticket has the id {id}"), None))?;
    if let Some(own) = ctx.only_agent()
        && t.agent.as_deref() != Some(own)
    {
        match &t.customer {
            Some(number) => may_see_number(ctx, number, "id")?,
            None => {
                return Err(error_owned(
                    403,
                    &format!("ticket {id} is not agent {own}'s"),
                    Some("id".into()),
                ));
            }
        }
    }
    Ok(t)
}

/// The body's `fields`: an object of strings (the ticket type's extra fields).
fn values(body: &Body) -> Result<Option<Vec<(String, String)>>, Answer> {
    match body.value("fields") {
        None => Ok(None),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(error_owned(
                    400,
                    &format!("{k:?}: expected a string"),
                    Some("fields".into()),
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(error(
            400,
            "expected an object of field names and texts",
            Some("fields"),
        )),
    }
}

/// The same answer naming `to` instead of `from` as the field at fault.
fn rename(mut a: Answer, from: &str, to: &str) -> Answer {
    a.body = a.body.replace(
        &format!("\"field\":\"{from}\""),
        &format!("\"field\":\"{to}\""),
    );
    a
}

pub fn ticket_json(t: &Ticket) -> Value {
    let fields: serde_json::Map<String, Value> = t
        .fields
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    json!({
        "id": t.id,
        "type": t.type_id,
        "type_name": t.type_name,
        "title": t.title,
        "description": t.description,
        "priority": t.priority,
        "status": t.status,
        "customer": t.customer,
        "call": t.call,
        "agent": t.agent,
        "created_by": t.created_by,
        "fields": fields,
        "field_order": t.fields.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
        "created_at": t.created_at.to_rfc3339(),
        "updated_at": t.updated_at.to_rfc3339(),
    })
}
