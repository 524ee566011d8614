//! Agents' records (`/staff/agents`) for the console: list with live state, one,
//! create, change (a password reset, renumbering, phones, groups), remove; and
//! `GET /agents`, the live list every role reads (an agent sees each agent's number,
//! name and state only, for the transfer picker).
//!
//! Removing or renumbering an agent who is logged in or on a call is refused with
//! 409: their state, sessions and calls are keyed by the number, and pulling it from
//! under a call would leave the call bar of a ghost. The switchboard is asked first;
//! if it does not answer, the change is refused (503) rather than made blind.

use serde_json::{Value, json};

use crate::core::acd::AgentState;
use crate::core::{AgentView, AnswerMode, DeviceId, GroupId};
use crate::store::{AgentChange, AgentRecord, NewAgent, Role};

use super::super::agents::agent_json;
use super::super::routes::{Answer, error, error_owned};
use super::super::table::Ctx;
use super::body::Body;
use super::{live_agents, with_store};

fn device_json(d: &Option<crate::store::DeviceRef>) -> Value {
    match d {
        Some(d) => json!({ "id": d.id.0, "user": d.user, "name": d.name }),
        None => Value::Null,
    }
}

/// An agent's record with their live state (`null`s when the switchboard is silent).
fn record_json(a: &AgentRecord, live: Option<&AgentView>) -> Value {
    json!({
        "id": a.id.0,
        "number": a.number,
        "name": a.name,
        "direct_number": a.direct_number,
        "bound_device": device_json(&a.bound_device),
        "softphone_device": device_json(&a.softphone_device),
        "answer_mode": a.answer_mode.as_str(),
        "offline_answering": a.offline_answering,
        "allow_fallback": a.allow_fallback,
        "confirm_direct": a.confirm_direct,
        "supervisor": a.supervisor,
        "groups": a.groups.iter().map(|g| json!({
            "id": g.id, "name": g.key, "level": g.level
        })).collect::<Vec<_>>(),
        "state": live.map(|l| l.state.as_str()),
        "state_zh": live.map(|l| l.state.chinese()),
        "reason": live.and_then(|l| l.reason.clone()),
        "mode": live.and_then(|l| l.mode.map(AnswerMode::as_str)),
        "since": live.map(|l| l.since.to_rfc3339()),
        "call": live.and_then(|l| l.call.map(|c| c.0)),
    })
}

/// `GET /agents`: every agent's live state; the caller's role decides how much.
pub fn live_list(ctx: &Ctx<'_>) -> Answer {
    let list =
        match super::super::agents::ask_reply(ctx.rooms.commands, crate::core::Command::Agents) {
            Ok(crate::core::Reply::Agents(list)) => list,
            Ok(_) => return error(500, "the switchboard answered something else", None),
            Err(answer) => return answer,
        };
    if ctx.caller.role() == Role::Agent {
        let brief: Vec<Value> = list
            .iter()
            .map(|a| json!({ "number": a.number, "name": a.name, "state": a.state.as_str() }))
            .collect();
        return Answer::json(200, &brief);
    }
    // Direct numbers are the store's; a store that cannot be read leaves them out.
    let direct: Vec<(String, Option<String>)> = with_store(ctx, |s| s.agent_records())
        .map(|rs| {
            rs.into_iter()
                .map(|r| (r.number, r.direct_number))
                .collect()
        })
        .unwrap_or_default();
    let out: Vec<Value> = list
        .iter()
        .map(|a| {
            let mut j = agent_json(a);
            j.direct_number = direct
                .iter()
                .find(|(n, _)| *n == a.number)
                .and_then(|(_, d)| d.clone());
            serde_json::to_value(j).unwrap_or(Value::Null)
        })
        .collect();
    Answer::json(200, &out)
}

pub fn list(ctx: &Ctx<'_>) -> Answer {
    let records = match with_store(ctx, |s| s.agent_records()) {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let live = live_agents(ctx).unwrap_or_default();
    let out: Vec<Value> = records
        .iter()
        .map(|a| record_json(a, live.iter().find(|l| l.number == a.number)))
        .collect();
    Answer::json(200, &out)
}

fn found(ctx: &Ctx<'_>, number: &str) -> Result<AgentRecord, Answer> {
    with_store(ctx, |s| s.agent_record(number))?
        .ok_or_else(|| error_owned(404, &format!("no agent has the number {number:?}"), None))
}

fn answer_record(ctx: &Ctx<'_>, code: u16, number: &str) -> Answer {
    match found(ctx, number) {
        Ok(a) => {
            let live = live_agents(ctx).unwrap_or_default();
            Answer::json(
                code,
                &record_json(&a, live.iter().find(|l| l.number == number)),
            )
        }
        Err(answer) => answer,
    }
}

pub fn one(ctx: &Ctx<'_>) -> Answer {
    answer_record(ctx, 200, ctx.param("number"))
}

fn mode(word: &str) -> Result<AnswerMode, Answer> {
    AnswerMode::parse(word).ok_or_else(|| {
        error(
            400,
            "expected \"device\", \"softphone\" or \"direct\"",
            Some("answer_mode"),
        )
    })
}

/// The fields a create and a change share, read into a change.
fn read_change(b: &mut Body) -> Result<AgentChange, Answer> {
    let groups = b
        .opt_levels("groups", "group")?
        .map(|list| list.into_iter().map(|(g, l)| (GroupId(g), l)).collect());
    Ok(AgentChange {
        number: None,
        name: None,
        web_password: None,
        direct_number: b.nullable_str("direct_number")?,
        bound_device: b.nullable_id("bound_device")?.map(|d| d.map(DeviceId)),
        softphone_device: b.nullable_id("softphone_device")?.map(|d| d.map(DeviceId)),
        sip_password: b.opt_str("sip_password")?,
        answer_mode: b.opt_str("answer_mode")?.as_deref().map(mode).transpose()?,
        offline_answering: b.opt_bool("offline_answering")?,
        allow_fallback: b.opt_bool("allow_fallback")?,
        confirm_direct: b.opt_bool("confirm_direct")?,
        supervisor: b.opt_bool("supervisor")?,
        groups,
    })
}

pub fn create(ctx: &Ctx<'_>) -> Answer {
    let made = (|| {
        let mut b = Body::parse(ctx.body(), false)?;
        let number = b.req_str("number")?;
        let name = b.req_str("name")?;
        let web_password = b.req_str("web_password")?;
        let more = read_change(&mut b)?;
        b.finish()?;
        let new = NewAgent {
            number: number.clone(),
            name,
            web_password,
            sip_password: more.sip_password.clone(),
            direct_number: more.direct_number.clone().flatten(),
            bound_device: more.bound_device.flatten(),
            answer_mode: more.answer_mode.unwrap_or(AnswerMode::Device),
            offline_answering: more.offline_answering.unwrap_or(false),
            allow_fallback: more.allow_fallback.unwrap_or(false),
            confirm_direct: more.confirm_direct.unwrap_or(true),
        };
        let rest = AgentChange {
            softphone_device: more.softphone_device,
            supervisor: more.supervisor,
            groups: more.groups,
            ..AgentChange::default()
        };
        with_store(ctx, |s| s.create_agent(&new, &rest))?;
        Ok::<String, Answer>(number)
    })();
    match made {
        Ok(number) => answer_record(ctx, 201, &number),
        Err(answer) => answer,
    }
}

/// 409 while the agent is logged in or on a call; 503 when the switchboard is silent.
fn refuse_if_busy(ctx: &Ctx<'_>, number: &str, doing: &str) -> Result<(), Answer> {
    let Some(live) = live_agents(ctx) else {
        return Err(error(
            503,
            "the switchboard did not say whether the agent is logged in: try again",
            None,
        ));
    };
    match live.iter().find(|a| a.number == number) {
        Some(a) if a.state != AgentState::Offline || a.call.is_some() => Err(error_owned(
            409,
            &format!(
                "agent {number} is {} now: they must log out (or be logged out) before you {doing}",
                a.state.chinese()
            ),
            None,
        )),
        _ => Ok(()),
    }
}

pub fn change(ctx: &Ctx<'_>) -> Answer {
    let number = ctx.param("number");
    let done = (|| {
        let a = found(ctx, number)?;
        let mut b = Body::parse(ctx.body(), true)?;
        let new_number = b.opt_str("number")?;
        let name = b.opt_str("name")?;
        let web_password = b.opt_str("web_password")?;
        let mut c = read_change(&mut b)?;
        b.finish()?;
        if new_number.as_deref().is_some_and(|n| n != number) {
            refuse_if_busy(ctx, number, "renumber them")?;
        }
        c.number = new_number;
        c.name = name;
        c.web_password = web_password;
        with_store(ctx, |s| s.change_agent(a.id, &c))?;
        Ok::<String, Answer>(c.number.unwrap_or_else(|| number.to_string()))
    })();
    match done {
        Ok(now) => answer_record(ctx, 200, &now),
        Err(answer) => answer,
    }
}

pub fn remove(ctx: &Ctx<'_>) -> Answer {
    let number = ctx.param("number");
    let done = (|| {
        let a = found(ctx, number)?;
        refuse_if_busy(ctx, number, "remove them")?;
        with_store(ctx, |s| s.remove_agent(a.id))?;
        Ok::<(), Answer>(())
    })();
    match done {
        Ok(()) => Answer::json(200, &json!({ "removed": number })),
        Err(answer) => answer,
    }
}
