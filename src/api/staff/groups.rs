//! Skill groups (技能组) and their queue settings: `GET /groups` for everyone (an
//! agent's transfer picker: name, strategy, members, idle now), and for the console
//! every column of `skill_groups` with the members and their levels, create, change,
//! remove.
//!
//! Fields are named as the columns are, durations in whole seconds: `ring_timeout`,
//! `wrap_up`, `max_wait`, `announce_every`; the overflow is `overflow` (hangup, group,
//! number) with `overflow_group` or `overflow_number`; the exit key is `exit_key` with
//! `exit_flow` (both or neither). Members are `[{"agent": "8001", "level": 1}]`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::core::acd::AgentState;
use crate::core::ivr::FlowId;
use crate::core::{AgentId, AgentView, GroupId, Overflow, Strategy};
use crate::store::{GroupChange, GroupRecord, NewGroup, Role};

use super::super::routes::{Answer, error, error_owned};
use super::super::table::Ctx;
use super::body::Body;
use super::{live_agents, path_id, with_store};

fn state_of<'a>(live: &'a [AgentView], number: &str) -> Option<&'a AgentView> {
    live.iter().find(|a| a.number == number)
}

fn idle(g: &GroupRecord, live: &[AgentView]) -> usize {
    g.members
        .iter()
        .filter(|m| state_of(live, &m.key).is_some_and(|a| a.state == AgentState::Idle))
        .count()
}

/// What an agent's picker needs.
fn brief_json(g: &GroupRecord, live: &[AgentView]) -> Value {
    json!({
        "id": g.id.0,
        "name": g.name,
        "strategy": g.strategy.as_str(),
        "members": g.members.len(),
        "idle": idle(g, live),
    })
}

fn group_json(g: &GroupRecord, live: &[AgentView]) -> Value {
    let (overflow, overflow_group, overflow_number) = match &g.overflow {
        Overflow::Hangup => ("hangup", None, None),
        Overflow::Group(to) => ("group", Some(to.0), None),
        Overflow::Number(n) => ("number", None, Some(n.as_str())),
    };
    json!({
        "id": g.id.0,
        "name": g.name,
        "strategy": g.strategy.as_str(),
        "ring_timeout": g.ring_timeout_secs,
        "max_no_answer": g.max_no_answer,
        "wrap_up": g.wrap_up_secs,
        "max_wait": g.max_wait_secs,
        "overflow": overflow,
        "overflow_group": overflow_group,
        "overflow_number": overflow_number,
        "join_empty": g.join_empty,
        "leave_empty": g.leave_empty,
        "announce_every": g.announce_every_secs,
        "exit_key": g.exit.map(|e| e.key.to_string()),
        "exit_flow": g.exit.map(|e| e.flow.0),
        "members": g.members.iter().map(|m| json!({
            "agent": m.key,
            "name": m.name,
            "level": m.level,
            "state": state_of(live, &m.key).map(|a| a.state.as_str()),
        })).collect::<Vec<_>>(),
        "member_count": g.members.len(),
        "idle": idle(g, live),
    })
}

/// `GET /groups`: agents get the picker's summary, supervisors and admins it all.
pub fn list(ctx: &Ctx<'_>) -> Answer {
    let groups = match with_store(ctx, |s| s.group_records()) {
        Ok(g) => g,
        Err(answer) => return answer,
    };
    let live = live_agents(ctx).unwrap_or_default();
    let out: Vec<Value> = if ctx.caller.role() == Role::Agent {
        groups.iter().map(|g| brief_json(g, &live)).collect()
    } else {
        groups.iter().map(|g| group_json(g, &live)).collect()
    };
    Answer::json(200, &out)
}

fn answer_group(ctx: &Ctx<'_>, code: u16, id: i64) -> Answer {
    match with_store(ctx, |s| s.group_record(GroupId(id))) {
        Ok(Some(g)) => Answer::json(code, &group_json(&g, &live_agents(ctx).unwrap_or_default())),
        Ok(None) => error_owned(404, &format!("skill group {id} does not exist"), None),
        Err(answer) => answer,
    }
}

pub fn one(ctx: &Ctx<'_>) -> Answer {
    match path_id(ctx, "skill group") {
        Ok(id) => answer_group(ctx, 200, id),
        Err(answer) => answer,
    }
}

fn strategy(word: &str) -> Result<Strategy, Answer> {
    Strategy::parse(word).ok_or_else(|| {
        let all: Vec<&str> = Strategy::ALL.iter().map(|s| s.as_str()).collect();
        error_owned(
            400,
            &format!("expected one of {}", all.join(", ")),
            Some("strategy".into()),
        )
    })
}

fn secs(v: Option<u64>) -> Option<Duration> {
    v.map(Duration::from_secs)
}

/// The overflow from its three fields; `None` when none of them was sent.
fn overflow(b: &mut Body) -> Result<Option<Overflow>, Answer> {
    let word = b.opt_str("overflow")?;
    let group = b.nullable_id("overflow_group")?.flatten();
    let number = b.nullable_str("overflow_number")?.flatten();
    let needs = |field: &str, what: &str| {
        error_owned(
            400,
            &format!("the {what} overflow needs {field}"),
            Some(field.into()),
        )
    };
    match word.as_deref() {
        None if group.is_some() || number.is_some() => Err(error(
            400,
            "say where callers overflow to: \"hangup\", \"group\" or \"number\"",
            Some("overflow"),
        )),
        None => Ok(None),
        Some("hangup") => Ok(Some(Overflow::Hangup)),
        Some("group") => group
            .map(|g| Some(Overflow::Group(GroupId(g))))
            .ok_or_else(|| needs("overflow_group", "group")),
        Some("number") => number
            .map(|n| Some(Overflow::Number(n)))
            .ok_or_else(|| needs("overflow_number", "number")),
        Some(_) => Err(error(
            400,
            "expected \"hangup\", \"group\" or \"number\"",
            Some("overflow"),
        )),
    }
}

/// The exit key and flow: both, neither (`Some(None)` clears), or unsent (`None`).
fn exit(b: &mut Body) -> Result<Option<Option<(char, FlowId)>>, Answer> {
    let key = b.nullable_str("exit_key")?;
    let flow = b.nullable_id("exit_flow")?;
    if key.is_none() && flow.is_none() {
        return Ok(None);
    }
    match (key.flatten(), flow.flatten()) {
        (None, None) => Ok(Some(None)),
        (Some(k), Some(f)) => {
            let mut chars = k.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Ok(Some(Some((c, FlowId(f))))),
                _ => Err(error(
                    400,
                    "expected one key: 0-9, * or #",
                    Some("exit_key"),
                )),
            }
        }
        (Some(_), None) => Err(error(
            400,
            "an exit key needs the flow it leads to",
            Some("exit_flow"),
        )),
        (None, Some(_)) => Err(error(
            400,
            "an exit flow needs the key that leads to it",
            Some("exit_key"),
        )),
    }
}

/// Members by agent number, as ids; an unknown number names `members`.
fn members(ctx: &Ctx<'_>, b: &mut Body) -> Result<Option<Vec<(AgentId, u32)>>, Answer> {
    let Some(value) = b.take_raw("members") else {
        return Ok(None);
    };
    let bad = |m: String| error_owned(400, &m, Some("members".into()));
    let Value::Array(items) = value else {
        return Err(bad(
            "expected an array of {\"agent\": number, \"level\": 1-99}".into(),
        ));
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let (Some(number), level) = (
            item.get("agent")
                .and_then(Value::as_str)
                .map(str::to_string),
            item.get("level").map_or(Some(1), Value::as_u64),
        ) else {
            return Err(bad(format!(
                "item {i}: expected {{\"agent\": \"8001\", \"level\": 1}}"
            )));
        };
        let extra = item
            .as_object()
            .is_some_and(|o| o.keys().any(|k| k != "agent" && k != "level"));
        let Some(level) = level.filter(|l| (1..=99).contains(l)).filter(|_| !extra) else {
            return Err(bad(format!(
                "item {i}: level must be 1-99, and only agent and level"
            )));
        };
        let Some((id, _)) = with_store(ctx, |s| s.agent_by_number(&number))? else {
            return Err(bad(format!("no agent has the number {number:?}")));
        };
        out.push((id, level as u32));
    }
    Ok(Some(out))
}

/// Every field but the name, as a change.
fn read_change(ctx: &Ctx<'_>, b: &mut Body) -> Result<GroupChange, Answer> {
    Ok(GroupChange {
        name: None,
        strategy: b
            .opt_str("strategy")?
            .as_deref()
            .map(strategy)
            .transpose()?,
        ring_timeout: secs(b.opt_int("ring_timeout", 5, 300)?),
        max_no_answer: b.opt_int("max_no_answer", 0, 100)?.map(|n| n as u32),
        wrap_up: secs(b.opt_int("wrap_up", 0, 3600)?),
        max_wait: b.nullable_int("max_wait", 10, 86_400)?.map(secs),
        overflow: overflow(b)?,
        join_empty: b.opt_bool("join_empty")?,
        leave_empty: b.opt_bool("leave_empty")?,
        announce_every: b.nullable_int("announce_every", 10, 3600)?.map(secs),
        exit: exit(b)?,
        members: members(ctx, b)?,
    })
}

pub fn create(ctx: &Ctx<'_>) -> Answer {
    let made = (|| {
        let mut b = Body::parse(ctx.body(), false)?;
        let name = b.req_str("name")?;
        let c = read_change(ctx, &mut b)?;
        b.finish()?;
        let mut g = NewGroup::new(name);
        if let Some(v) = c.strategy {
            g.strategy = v;
        }
        if let Some(v) = c.ring_timeout {
            g.ring_timeout = v;
        }
        if let Some(v) = c.max_no_answer {
            g.max_no_answer = v;
        }
        if let Some(v) = c.wrap_up {
            g.wrap_up = v;
        }
        g.max_wait = c.max_wait.flatten();
        if let Some(v) = c.overflow {
            g.overflow = v;
        }
        if let Some(v) = c.join_empty {
            g.join_empty = v;
        }
        if let Some(v) = c.leave_empty {
            g.leave_empty = v;
        }
        g.announce_every = c.announce_every.flatten();
        let exit = c.exit.flatten();
        let members = c.members.unwrap_or_default();
        with_store(ctx, |s| s.create_group(&g, exit, &members))
    })();
    match made {
        Ok(id) => answer_group(ctx, 201, id.0),
        Err(answer) => answer,
    }
}

pub fn change(ctx: &Ctx<'_>) -> Answer {
    let done = (|| {
        let id = path_id(ctx, "skill group")?;
        let mut b = Body::parse(ctx.body(), true)?;
        let name = b.opt_str("name")?;
        let mut c = read_change(ctx, &mut b)?;
        b.finish()?;
        c.name = name;
        with_store(ctx, |s| s.change_group(GroupId(id), &c))?;
        Ok::<i64, Answer>(id)
    })();
    match done {
        Ok(id) => answer_group(ctx, 200, id),
        Err(answer) => answer,
    }
}

pub fn remove(ctx: &Ctx<'_>) -> Answer {
    let done = (|| {
        let id = path_id(ctx, "skill group")?;
        match with_store(ctx, |s| s.remove_group(GroupId(id)))? {
            Ok(()) => Ok(id),
            Err(conflict) => Err(error_owned(
                409,
                &conflict.message,
                conflict.field.map(str::to_string),
            )),
        }
    })();
    match done {
        Ok(id) => Answer::json(200, &json!({ "removed": id })),
        Err(answer) => answer,
    }
}
