//! The live area's plain GET routes: the wallboard's figures, the agent status log
//! with its filters, and the why of a call; and their query parameters, checked so
//! that a bad or unknown one is a 400 naming it.

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::{Value, json};

use super::super::agents::ask_reply;
use super::super::routes::{Answer, error, error_owned};
use super::super::table::Ctx;
use super::snapshot::Snapshot;
use super::{today, why};
use crate::core::acd::AgentState;
use crate::core::{CallId, Command, LiveView, Reply};
use crate::store::{StatusFilter, StatusLogRow, Store, StoreError};

/// The status log's default and largest page.
const DEFAULT_LIMIT: usize = 200;
const MAX_LIMIT: usize = 1000;

fn bad(field: &str, message: String) -> Answer {
    error_owned(400, &message, Some(field.to_string()))
}

fn store_failed(what: &str, e: Option<StoreError>) -> Answer {
    match e {
        Some(e) => {
            log::error!("api: reading {what}: {e}");
            error_owned(500, &format!("{what} could not be read"), None)
        }
        None => error(503, "the database is not available", None),
    }
}

/// A time from a query: RFC 3339, a local date-time (`2026-03-01T09:00:00` or with a
/// space), or a local date (its start; with `end_of_day` the next day's start, so a
/// date `to` includes the whole day).
pub fn parse_time(value: &str, end_of_day: bool) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Some(t.with_timezone(&Utc));
    }
    let local = |n: NaiveDateTime| {
        Local
            .from_local_datetime(&n)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    };
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(value, format) {
            return local(n);
        }
    }
    let date = NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()?;
    let date = if end_of_day { date.succ_opt()? } else { date };
    local(date.and_hms_opt(0, 0, 0)?)
}

/// `GET /status-log`'s parameters, checked (the agent still a number to look up).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatusQuery {
    pub agent: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub state: Option<AgentState>,
    pub limit: usize,
}

/// Reads `pairs`; `own` is the agent number an agent caller is limited to.
pub fn status_query(pairs: &[(String, String)], own: Option<&str>) -> Result<StatusQuery, Answer> {
    let mut q = StatusQuery {
        limit: DEFAULT_LIMIT,
        ..StatusQuery::default()
    };
    for (key, value) in pairs {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match key.as_str() {
            "agent" => {
                if value.len() > 16 || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad(
                        "agent",
                        format!("expected an agent number (digits), got {value:?}"),
                    ));
                }
                q.agent = Some(value.to_string());
            }
            "from" | "to" => {
                let Some(t) = parse_time(value, key == "to") else {
                    return Err(bad(
                        key,
                        format!("expected a date (2026-03-01) or an RFC 3339 time, got {value:?}"),
                    ));
                };
                if key == "from" {
                    q.from = Some(t);
                } else {
                    q.to = Some(t);
                }
            }
            "state" => match AgentState::parse(value) {
                Some(s) => q.state = Some(s),
                None => {
                    let words: Vec<&str> = AgentState::ALL.iter().map(|s| s.as_str()).collect();
                    return Err(bad(
                        "state",
                        format!("expected one of {}, got {value:?}", words.join(", ")),
                    ));
                }
            },
            "limit" => match value.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => q.limit = n,
                _ => {
                    return Err(bad(
                        "limit",
                        format!("expected a number of rows 1-{MAX_LIMIT}, got {value:?}"),
                    ));
                }
            },
            other => return Err(bad(other, format!("unknown query parameter {other:?}"))),
        }
    }
    if let (Some(from), Some(to)) = (q.from, q.to)
        && to <= from
    {
        return Err(bad("to", "expected \"to\" after \"from\"".into()));
    }
    if let Some(own) = own {
        match &q.agent {
            Some(asked) if asked != own => {
                return Err(error_owned(
                    403,
                    &format!("agent {own} may read only their own status log, not {asked}'s"),
                    Some("agent".into()),
                ));
            }
            _ => q.agent = Some(own.to_string()),
        }
    }
    Ok(q)
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn status_row_json(r: &StatusLogRow) -> Value {
    let rec = &r.record;
    json!({
        "id": r.id,
        "agent": r.number,
        "name": r.name,
        "at": time(rec.at),
        "from": rec.from.as_str(),
        "to": rec.to.as_str(),
        "reason": rec.reason,
        "cause": rec.cause.as_str(),
        "detail": rec.detail,
        "mode": rec.mode.map(|m| m.as_str()),
        "fallback": rec.fallback,
        "offline_answering": rec.offline_answering,
        "call": rec.call.map(|c| c.0),
        "until": r.until.map(time),
        "lasted_secs": r.until.map(|u| (u - rec.at).num_seconds().max(0)),
    })
}

/// `GET /status-log?agent=&from=&to=&state=&limit=`: newest first.
pub fn run_status_log(ctx: &Ctx<'_>) -> Answer {
    let q = match status_query(&ctx.query_pairs(), ctx.only_agent()) {
        Ok(q) => q,
        Err(answer) => return answer,
    };
    let found = ctx.rooms.log.with_store(|s| {
        let agent = match &q.agent {
            Some(number) => match s.agent_by_number(number)? {
                Some((id, _)) => Some(id),
                None => return Ok(None),
            },
            None => None,
        };
        let filter = StatusFilter {
            agent,
            from: q.from,
            to: q.to,
            state: q.state,
            limit: q.limit + 1,
        };
        s.status_log(&filter).map(Some)
    });
    match found {
        Ok(Some(mut rows)) => {
            let more = rows.len() > q.limit;
            rows.truncate(q.limit);
            Answer::json(
                200,
                &json!({
                    "rows": rows.iter().map(status_row_json).collect::<Vec<_>>(),
                    "limit": q.limit,
                    "more": more,
                }),
            )
        }
        Ok(None) => error_owned(
            404,
            &format!("no agent has the number {}", q.agent.unwrap_or_default()),
            Some("agent".into()),
        ),
        Err(e) => store_failed("the status log", e),
    }
}

/// The switchboard's snapshot, or the answer saying why there is none.
pub fn live_view(ctx: &Ctx<'_>) -> Result<LiveView, Answer> {
    match ask_reply(ctx.rooms.commands, Command::Live)? {
        Reply::Live(view) => Ok(*view),
        _ => Err(error(500, "the switchboard answered something else", None)),
    }
}

/// The wallboard's JSON: agents by state, the queues, today's figures.
pub fn wallboard_json(view: &LiveView, today: Value) -> Value {
    let snap = Snapshot::of(view);
    let mut counts: serde_json::Map<String, Value> = AgentState::ALL
        .iter()
        .map(|s| (s.as_str().to_string(), json!(0)))
        .collect();
    for a in &view.agents {
        if let Some(Value::Number(n)) = counts.get_mut(a.state.as_str()) {
            *n = (n.as_u64().unwrap_or(0) + 1).into();
        }
    }
    json!({
        "at": time(view.at),
        "agents": counts,
        "agent_list": snap.agents.values().collect::<Vec<_>>(),
        "queues": snap.queues,
        "today": today,
    })
}

/// `GET /wallboard`: what the wallboard shows, for scripts.
pub fn run_wallboard(ctx: &Ctx<'_>) -> Answer {
    if let Some((key, _)) = ctx.query_pairs().first() {
        return bad(key, format!("unknown query parameter {key:?}"));
    }
    let view = match live_view(ctx) {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    let Some(figures) = today::figures(ctx.rooms.log, &view) else {
        return error(503, "today's figures could not be read", None);
    };
    Answer::json(200, &wallboard_json(&view, figures))
}

/// Gathers what the why of call `id` is made from; `None` for no such call.
fn call_facts(s: &Store, id: CallId) -> Result<Option<why::Facts>, StoreError> {
    let Some(call) = s.call(id)? else {
        return Ok(None);
    };
    let trail = s.call_events(id)?;
    let queued_at = trail
        .iter()
        .find(|e| e.kind == crate::core::CallEventKind::Queued)
        .map_or(call.started_at, |e| e.at);
    let (group_name, members) = match call.group {
        Some(g) => {
            let mut members = Vec::new();
            for (agent, number, name) in s.group_members(g)? {
                let then = s.status_at(agent, queued_at)?;
                members.push(why::Member { number, name, then });
            }
            (s.group_name(g)?, members)
        }
        None => (None, Vec::new()),
    };
    let agent = match call.agent {
        Some(a) => s.agent_named_by_id(a)?,
        None => None,
    };
    let rows = s.status_of_call(id)?;
    Ok(Some(why::Facts {
        call,
        trail,
        group_name,
        agent,
        members,
        rows,
    }))
}

/// `GET /calls/{call}/why`.
pub fn run_call_why(ctx: &Ctx<'_>) -> Answer {
    let raw = ctx.param("call");
    let id = match raw.parse::<i64>() {
        Ok(n) if n > 0 => CallId(n),
        _ => {
            return bad(
                "call",
                format!("expected a call id (a positive number), got {raw:?}"),
            );
        }
    };
    if let Some((key, _)) = ctx.query_pairs().first() {
        return bad(key, format!("unknown query parameter {key:?}"));
    }
    let facts = match ctx.rooms.log.with_store(|s| call_facts(s, id)) {
        Ok(Some(f)) => f,
        Ok(None) => {
            return error_owned(
                404,
                &format!("no call has the id {}", id.0),
                Some("call".into()),
            );
        }
        Err(e) => return store_failed("the call", e),
    };
    let v = why::explain(&facts);
    if let Some(own) = ctx.only_agent()
        && !why::concerns(&v, own)
    {
        return error_owned(
            403,
            &format!("agent {own} may read the why only of calls they were offered"),
            None,
        );
    }
    Answer::json(200, &v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        super::super::super::table::query_pairs(q)
    }

    #[test]
    fn status_log_parameters_are_checked_by_name() {
        let q = status_query(
            &pairs("agent=8001&from=2026-03-01&to=2026-03-01&state=busy&limit=5"),
            None,
        )
        .unwrap();
        assert_eq!(q.agent.as_deref(), Some("8001"));
        assert_eq!(q.state, Some(AgentState::Busy));
        assert_eq!(q.limit, 5);
        assert_eq!(
            (q.to.unwrap() - q.from.unwrap()).num_hours(),
            24,
            "a date `to` is inclusive"
        );
        for (query, field) in [
            ("agent=80a1", "agent"),
            ("from=yesterday", "from"),
            ("to=2026-13-01", "to"),
            ("state=asleep", "state"),
            ("limit=0", "limit"),
            ("limit=1001", "limit"),
            ("limit=x", "limit"),
            ("colour=red", "colour"),
            ("from=2026-03-02&to=2026-03-01T00:00:00Z", "to"),
        ] {
            let e = status_query(&pairs(query), None).unwrap_err();
            assert_eq!(e.code, 400, "{query}");
            assert!(
                e.body.contains(&format!("\"field\":\"{field}\"")),
                "{query}: {}",
                e.body
            );
        }
        // Empty values are no filter (a cleared form field).
        assert_eq!(
            status_query(&pairs("agent=&state="), None).unwrap().agent,
            None
        );
        // An agent reads only their own.
        assert_eq!(
            status_query(&pairs(""), Some("8001"))
                .unwrap()
                .agent
                .as_deref(),
            Some("8001")
        );
        assert_eq!(
            status_query(&pairs("agent=8002"), Some("8001"))
                .unwrap_err()
                .code,
            403
        );
        assert_eq!(
            parse_time("2026-03-01T09:00:00Z", false),
            Some(Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap())
        );
        assert!(parse_time("2026-03-01 09:00:00", false).is_some());
    }
}
