//! Business hours (营业时间): the hours nodes of the IVR flows, which send a caller one
//! way while open and another while closed, by a weekly table of day → from-to ranges
//! (minutes after midnight, the box's local time) and a list of holidays.
//!
//! `GET /hours` lists every hours node of every flow, whether it is open now;
//! `PUT /flows/{flow}/hours/{node}` replaces one node's table and holidays;
//! `POST /flows/{flow}/hours` puts a new hours node in front of a flow's start (open:
//! the old start; closed: a new node that plays `closed` and hangs up). Each is saved
//! through the flow, with the same checks as the editor's save.

use chrono::{Local, NaiveDate, Weekday};
use serde_json::{Value, json};

use super::body::{Fields, bad};
use super::flows::store_flow;
use super::{not_found, path_id, with_store};
use crate::api::routes::Answer;
use crate::api::table::Ctx;
use crate::core::ivr::{Flow, FlowId, Node, NodeId, NodeKind, OpenHours, is_open};
use crate::store::NewFlow;

const FIELDS: &[&str] = &["schedule", "holidays"];

/// Minutes in a day: the end of the last range.
const DAY_END: u32 = 24 * 60;

pub fn list(ctx: &Ctx<'_>) -> Answer {
    let now = Local::now();
    match with_store(ctx, |s| s.flows()) {
        Ok(flows) => {
            let hours: Vec<Value> = flows
                .iter()
                .flat_map(|f| f.nodes.iter().filter_map(move |n| entry(f, n, now)))
                .collect();
            Answer::json(
                200,
                &json!({ "local_time": now.to_rfc3339(), "hours": hours }),
            )
        }
        Err(a) => a,
    }
}

pub fn replace(ctx: &Ctx<'_>) -> Answer {
    let (flow, node) = match flow_and_node(ctx) {
        Ok(v) => v,
        Err(a) => return a,
    };
    let (schedule, holidays) = match Fields::parse(ctx.body(), FIELDS).and_then(|f| {
        let schedule = f
            .get("schedule")
            .ok_or_else(|| bad("schedule", "missing field \"schedule\""))?;
        Ok((
            parse_schedule(schedule)?,
            parse_holidays(f.get("holidays"))?,
        ))
    }) {
        Ok(v) => v,
        Err(a) => return a,
    };
    let mut nodes = flow.nodes.clone();
    let Some(target) = nodes.iter_mut().find(|n| n.id == node) else {
        return not_found("no such node");
    };
    let NodeKind::Hours {
        schedule: s,
        holidays: h,
        ..
    } = &mut target.kind
    else {
        return not_found(&format!(
            "node {} of flow {} is not a business-hours node",
            node.0, flow.id.0
        ));
    };
    *s = schedule;
    *h = holidays;
    let new = NewFlow {
        name: flow.name.clone(),
        start: flow.start,
        nodes,
    };
    if let Err(a) = store_flow(ctx, Some(flow.id), &new) {
        return a;
    }
    match with_store(ctx, |s| s.flow(flow.id)) {
        Ok(Some(saved)) => saved
            .nodes
            .iter()
            .find(|n| n.id == node)
            .and_then(|n| entry(&saved, n, Local::now()))
            .map_or_else(
                || not_found("the node was removed meanwhile"),
                |v| Answer::json(200, &v),
            ),
        Ok(None) => not_found("the flow was removed meanwhile"),
        Err(a) => a,
    }
}

pub fn add(ctx: &Ctx<'_>) -> Answer {
    let id = match path_id(ctx, "flow", "IVR flow") {
        Ok(id) => FlowId(id),
        Err(a) => return a,
    };
    let body = if ctx.body().trim().is_empty() {
        "{}"
    } else {
        ctx.body()
    };
    let parsed = Fields::parse(body, FIELDS).and_then(|f| {
        let schedule = match f.get("schedule") {
            Some(v) => parse_schedule(v)?,
            None => office_hours(),
        };
        Ok((schedule, parse_holidays(f.get("holidays"))?))
    });
    let (schedule, holidays) = match parsed {
        Ok(v) => v,
        Err(a) => return a,
    };
    let flow = match with_store(ctx, |s| s.flow(id)) {
        Ok(Some(f)) => f,
        Ok(None) => return not_found(&format!("no IVR flow has the id {}", id.0)),
        Err(a) => return a,
    };
    let new = in_front(&flow, schedule, holidays);
    if let Err(a) = store_flow(ctx, Some(id), &new) {
        return a;
    }
    match with_store(ctx, |s| s.flow(id)) {
        Ok(Some(saved)) => {
            let v = saved
                .nodes
                .iter()
                .find(|n| n.id == saved.start)
                .and_then(|n| entry(&saved, n, Local::now()))
                .unwrap_or(Value::Null);
            Answer::json(201, &v)
        }
        Ok(None) => not_found("the flow was removed meanwhile"),
        Err(a) => a,
    }
}

/// `flow` with a new hours node as its start: open goes on to the old start, closed
/// to a new node that plays `closed` and hangs up.
fn in_front(flow: &Flow, schedule: Vec<OpenHours>, holidays: Vec<NaiveDate>) -> NewFlow {
    let top = flow.nodes.iter().map(|n| n.id.0).max().unwrap_or(0);
    let (hours, closed) = (NodeId(top + 1), NodeId(top + 2));
    let mut nodes = vec![Node {
        id: hours,
        kind: NodeKind::Hours {
            schedule,
            holidays,
            open: flow.start,
            closed,
        },
    }];
    nodes.extend(flow.nodes.iter().cloned());
    nodes.push(Node {
        id: closed,
        kind: NodeKind::Hangup {
            prompts: vec!["closed".into()],
        },
    });
    NewFlow {
        name: flow.name.clone(),
        start: hours,
        nodes,
    }
}

/// Monday to Friday, 09:00-18:00.
fn office_hours() -> Vec<OpenHours> {
    [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ]
    .into_iter()
    .map(|day| OpenHours {
        day,
        from: 9 * 60,
        to: 18 * 60,
    })
    .collect()
}

fn flow_and_node(ctx: &Ctx<'_>) -> Result<(Flow, NodeId), Answer> {
    let id = FlowId(path_id(ctx, "flow", "IVR flow")?);
    let raw = ctx.param("node");
    let node = raw
        .parse::<u32>()
        .map(NodeId)
        .map_err(|_| not_found(&format!("no node has the id {raw:?}")))?;
    let flow = with_store(ctx, |s| s.flow(id))?
        .ok_or_else(|| not_found(&format!("no IVR flow has the id {}", id.0)))?;
    if flow.node(node).is_none() {
        return Err(not_found(&format!("flow {} has no node {}", id.0, node.0)));
    }
    Ok((flow, node))
}

/// `[{"day": "Mon", "from": 540, "to": 1080}, …]`: days as chrono writes them (Mon …
/// Sun), minutes after midnight, `from` before `to`, within the day.
fn parse_schedule(v: &Value) -> Result<Vec<OpenHours>, Answer> {
    let schedule: Vec<OpenHours> = serde_json::from_value(v.clone()).map_err(|e| {
        bad(
            "schedule",
            format!("expected [{{\"day\": \"Mon\", \"from\": 540, \"to\": 1080}}, …]: {e}"),
        )
    })?;
    if schedule.len() > 7 * 24 {
        return Err(bad("schedule", "expected at most 168 ranges"));
    }
    for (i, h) in schedule.iter().enumerate() {
        if h.from >= h.to || h.to > DAY_END {
            return Err(bad(
                &format!("schedule[{i}]"),
                format!(
                    "{} {}-{}: a range starts before it ends, within 0-{DAY_END} minutes",
                    h.day, h.from, h.to
                ),
            ));
        }
    }
    Ok(schedule)
}

/// `["2026-10-01", …]`, absent or null for none.
fn parse_holidays(v: Option<&Value>) -> Result<Vec<NaiveDate>, Answer> {
    let Some(v) = v else {
        return Ok(Vec::new());
    };
    let mut days: Vec<NaiveDate> = serde_json::from_value(v.clone()).map_err(|e| {
        bad(
            "holidays",
            format!("expected dates such as [\"2026-10-01\"]: {e}"),
        )
    })?;
    if days.len() > 400 {
        return Err(bad("holidays", "expected at most 400 dates"));
    }
    days.sort();
    days.dedup();
    Ok(days)
}

/// An hours node as the page shows it; `None` for other nodes.
fn entry(flow: &Flow, n: &Node, now: chrono::DateTime<Local>) -> Option<Value> {
    let NodeKind::Hours {
        schedule,
        holidays,
        open,
        closed,
    } = &n.kind
    else {
        return None;
    };
    Some(json!({
        "flow_id": flow.id.0,
        "flow_name": flow.name,
        "node": n.id.0,
        "schedule": schedule,
        "holidays": holidays,
        "open": open.0,
        "closed": closed.0,
        "open_now": is_open(schedule, holidays, now.naive_local()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_and_holidays_are_checked_and_named() {
        let ok = parse_schedule(&json!([{ "day": "Sat", "from": 600, "to": 720 }])).unwrap();
        assert_eq!(ok[0].day, Weekday::Sat);
        let field = |a: Answer| {
            let v: Value = serde_json::from_str(&a.body).unwrap();
            v["field"].as_str().unwrap().to_string()
        };
        for (v, f) in [
            (
                json!([{ "day": "Sat", "from": 720, "to": 600 }]),
                "schedule[0]",
            ),
            (
                json!([{ "day": "Sat", "from": 0, "to": 1441 }]),
                "schedule[0]",
            ),
            (
                json!([{ "day": "Funday", "from": 0, "to": 60 }]),
                "schedule",
            ),
            (json!({ "day": "Mon" }), "schedule"),
        ] {
            assert_eq!(field(parse_schedule(&v).unwrap_err()), f, "{v}");
        }
        assert_eq!(
            field(parse_holidays(Some(&json!(["2026-13-01"]))).unwrap_err()),
            "holidays"
        );
        let days =
            parse_holidays(Some(&json!(["2026-10-02", "2026-10-01", "2026-10-02"]))).unwrap();
        assert_eq!(days.len(), 2);
    }

    #[test]
    fn hours_go_in_front_of_the_start_with_a_closed_message() {
        let flow = Flow {
            id: FlowId(1),
            name: "f".into(),
            start: NodeId(3),
            nodes: vec![Node {
                id: NodeId(3),
                kind: NodeKind::Continue,
            }],
        };
        let new = in_front(&flow, office_hours(), vec![]);
        assert_eq!(new.start, NodeId(4));
        let checked = Flow {
            id: FlowId(1),
            name: new.name.clone(),
            start: new.start,
            nodes: new.nodes.clone(),
        };
        assert!(checked.check().is_ok());
        assert!(matches!(
            &new.nodes[0].kind,
            NodeKind::Hours {
                open: NodeId(3),
                closed: NodeId(5),
                ..
            }
        ));
    }
}
