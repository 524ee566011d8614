//! `/api/v1/flows`: IVR flows (IVR 流程) as the editor builds them: the list (for
//! anyone logged in: the call bar's 转菜单 dialog picks a flow and a node from it), one
//! flow whole, add, replace, remove (refused, 409, while service numbers send callers
//! through it).
//!
//! A flow travels as core's own shape (`{"name", "start", "nodes": [{"id", "type",
//! ...}]}`, see `core/ivr/flow.rs`), so what the editor saves is what the switchboard
//! walks. Saving checks each node on its own first, so a refusal names the node by its
//! place in the list (`"field": "nodes[2]"`): its JSON (serde, against core's types),
//! then what this console adds (a menu has keys and each once, waits of 1-120 s, tries
//! 0-9, digits to collect 1-32, numbers to ring that are numbers), then the store's
//! checks (core's [`Flow::check`]: the graph is whole; prompts are names; queued groups
//! exist), whose "node N" is turned into that node's place too.

use serde_json::{Value, json};

use super::body::{Fields, bad};
use super::{conflict, not_found, path_id, with_store};
use crate::api::routes::{Answer, error_owned};
use crate::api::table::Ctx;
use crate::core::GroupId;
use crate::core::ivr::{Flow, FlowId, Node, NodeId, NodeKind};
use crate::store::{NewFlow, Removal, Store, StoreError, is_phone_number};

const FIELDS: &[&str] = &["name", "start", "nodes"];

/// The most nodes one flow may have.
pub const MAX_NODES: usize = 200;
/// The most prompts one node plays.
const MAX_PROMPTS: usize = 20;

pub fn list(ctx: &Ctx<'_>) -> Answer {
    let read = with_store(ctx, |s| Ok((s.flows()?, s.group_names()?)));
    match read {
        Ok((flows, groups)) => Answer::json(
            200,
            &flows
                .iter()
                .map(|f| summary(f, &groups))
                .collect::<Vec<_>>(),
        ),
        Err(a) => a,
    }
}

pub fn show(ctx: &Ctx<'_>) -> Answer {
    let id = match path_id(ctx, "flow", "IVR flow") {
        Ok(id) => FlowId(id),
        Err(a) => return a,
    };
    match with_store(ctx, |s| whole(s, id)) {
        Ok(Some(v)) => Answer::json(200, &v),
        Ok(None) => unknown(id),
        Err(a) => a,
    }
}

pub fn create(ctx: &Ctx<'_>) -> Answer {
    save(ctx, None)
}

pub fn replace(ctx: &Ctx<'_>) -> Answer {
    match path_id(ctx, "flow", "IVR flow") {
        Ok(id) => save(ctx, Some(FlowId(id))),
        Err(a) => a,
    }
}

pub fn remove(ctx: &Ctx<'_>) -> Answer {
    let id = match path_id(ctx, "flow", "IVR flow") {
        Ok(id) => FlowId(id),
        Err(a) => return a,
    };
    match with_store(ctx, |s| s.remove_flow(id)) {
        Ok(Removal::Removed) => Answer::json(200, &json!({ "removed": id.0 })),
        Ok(Removal::InUse(numbers)) => conflict(&format!(
            "the service numbers {} send their callers through flow {}: point them elsewhere first",
            numbers.join(", "),
            id.0
        )),
        Err(a) => a,
    }
}

fn unknown(id: FlowId) -> Answer {
    not_found(&format!("no IVR flow has the id {}", id.0))
}

fn save(ctx: &Ctx<'_>, id: Option<FlowId>) -> Answer {
    let flow = match Fields::parse(ctx.body(), FIELDS).and_then(|f| parse_flow(&f)) {
        Ok(f) => f,
        Err(a) => return a,
    };
    match store_flow(ctx, id, &flow) {
        Ok(saved) => match with_store(ctx, |s| whole(s, saved)) {
            Ok(Some(v)) => Answer::json(if id.is_some() { 200 } else { 201 }, &v),
            Ok(None) => unknown(saved),
            Err(a) => a,
        },
        Err(a) => a,
    }
}

/// Adds (`id` none) or replaces a flow already checked by [`parse_flow`]: 404 for an
/// unknown id, 409 for a name another flow has, the store's refusals with the node's
/// place named.
pub(super) fn store_flow(
    ctx: &Ctx<'_>,
    id: Option<FlowId>,
    flow: &NewFlow,
) -> Result<FlowId, Answer> {
    let taken = with_store(ctx, |s| {
        if let Some(id) = id
            && s.flow(id)?.is_none()
        {
            return Ok(Err(unknown(id)));
        }
        Ok(Ok(s.flow_by_name(&flow.name)?))
    })??;
    if let Some(other) = taken.filter(|other| Some(*other) != id) {
        return Err(error_owned(
            409,
            &format!(
                "an IVR flow named {:?} already exists (id {})",
                flow.name, other.0
            ),
            Some("name".into()),
        ));
    }
    ctx.rooms
        .log
        .with_store(|s| match id {
            Some(id) => s.replace_flow(id, flow).map(|()| id),
            None => s.add_flow(flow),
        })
        .map_err(|e| node_refusal(e, &flow.nodes))
}

/// The flow `id` as the editor opens it, with the service numbers that use it.
fn whole(s: &mut Store, id: FlowId) -> Result<Option<Value>, StoreError> {
    let Some(flow) = s.flow(id)? else {
        return Ok(None);
    };
    let numbers = s.flow_numbers(id)?;
    Ok(Some(json!({
        "id": flow.id.0,
        "name": flow.name,
        "start": flow.start.0,
        "nodes": flow.nodes,
        "numbers": numbers,
    })))
}

/// The flow a body describes, each node checked on its own (see the module head).
pub(super) fn parse_flow(f: &Fields) -> Result<NewFlow, Answer> {
    let name = f.text("name")?.trim().to_string();
    let start = NodeId(u32::try_from(f.int("start", 0, i64::from(u32::MAX))?).unwrap_or(0));
    let raw = f.list("nodes")?;
    if raw.is_empty() {
        return Err(bad("nodes", "a flow needs at least one node"));
    }
    if raw.len() > MAX_NODES {
        return Err(bad(
            "nodes",
            format!("expected at most {MAX_NODES} nodes, got {}", raw.len()),
        ));
    }
    let mut nodes = Vec::with_capacity(raw.len());
    for (i, v) in raw.iter().enumerate() {
        let node: Node = serde_json::from_value(v.clone()).map_err(|e| {
            bad(
                &format!("nodes[{i}]"),
                format!("node {} (number {} in the list): {e}", node_id_of(v), i + 1),
            )
        })?;
        check_node(&node).map_err(|m| {
            bad(
                &format!("nodes[{i}]"),
                format!("node {} (number {} in the list): {m}", node.id.0, i + 1),
            )
        })?;
        nodes.push(node);
    }
    if !nodes.iter().any(|n| n.id == start) {
        return Err(bad(
            "start",
            format!(
                "the flow starts at node {}, which is not among its nodes",
                start.0
            ),
        ));
    }
    Ok(NewFlow { name, start, nodes })
}

/// The id a node's JSON gives, for a message about a node that does not parse.
fn node_id_of(v: &Value) -> String {
    v.get("id")
        .map_or_else(|| "?".to_string(), Value::to_string)
}

/// What this console asks of a node beyond core's shape.
fn check_node(node: &Node) -> Result<(), String> {
    let tries = |retries: u32| {
        if retries > 9 {
            Err(format!("retries: expected 0-9, got {retries}"))
        } else {
            Ok(())
        }
    };
    let wait = |secs: u32| {
        if (1..=120).contains(&secs) {
            Ok(())
        } else {
            Err(format!("timeout_secs: expected 1-120 seconds, got {secs}"))
        }
    };
    let prompts = prompts_of(&node.kind);
    if prompts.len() > MAX_PROMPTS {
        return Err(format!(
            "prompts: expected at most {MAX_PROMPTS}, got {}",
            prompts.len()
        ));
    }
    match &node.kind {
        NodeKind::Menu {
            choices,
            timeout_secs,
            retries,
            ..
        } => {
            if choices.is_empty() {
                return Err("choices: a menu needs at least one key".into());
            }
            if let Some((i, c)) = choices
                .iter()
                .enumerate()
                .find(|(i, c)| choices[..*i].iter().any(|o| o.key == c.key))
            {
                return Err(format!("choices[{i}]: the key {} is used twice", c.key));
            }
            wait(*timeout_secs)?;
            tries(*retries)
        }
        NodeKind::Collect {
            max_digits,
            timeout_secs,
            retries,
            ..
        } => {
            if !(1..=32).contains(max_digits) {
                return Err(format!("max_digits: expected 1-32, got {max_digits}"));
            }
            wait(*timeout_secs)?;
            tries(*retries)
        }
        NodeKind::Hours {
            schedule, holidays, ..
        } => {
            if schedule.len() > 7 * 24 {
                return Err(format!(
                    "schedule: expected at most {} ranges, got {}",
                    7 * 24,
                    schedule.len()
                ));
            }
            if holidays.len() > 400 {
                return Err(format!(
                    "holidays: expected at most 400 dates, got {}",
                    holidays.len()
                ));
            }
            Ok(())
        }
        NodeKind::TransferAgent { agent: Some(a) } => {
            if (1..=16).contains(&a.len()) && a.bytes().all(|b| b.is_ascii_digit()) {
                Ok(())
            } else {
                Err(format!(
                    "agent: expected an agent number of 1-16 digits, got {a:?}"
                ))
            }
        }
        NodeKind::TransferNumber { number: Some(n) } => {
            if is_phone_number(n) {
                Ok(())
            } else {
                Err(format!(
                    "number: expected an extension or phone number (digits, an optional \
                     leading +), got {n:?}"
                ))
            }
        }
        _ => Ok(()),
    }
}

/// A store refusal of `nodes`, with "node N" turned into the node's place in the list.
fn node_refusal(e: Option<StoreError>, nodes: &[Node]) -> Answer {
    match e {
        Some(StoreError::Invalid {
            field: "nodes",
            message,
        }) => {
            let id = message
                .strip_prefix("node ")
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse::<u32>().ok());
            // A node defined twice is the later one's fault.
            let place = |id: u32| {
                if message.contains("defined twice") {
                    nodes.iter().rposition(|n| n.id.0 == id)
                } else {
                    nodes.iter().position(|n| n.id.0 == id)
                }
            };
            match id.and_then(place) {
                Some(i) => bad(
                    &format!("nodes[{i}]"),
                    format!("{message} (node number {} in the list)", i + 1),
                ),
                None => bad("nodes", message),
            }
        }
        Some(StoreError::Invalid {
            field: "name",
            message,
        }) if message.contains("already exists") => error_owned(409, &message, Some("name".into())),
        other => super::store_answer(other),
    }
}

/// The prompts a node plays.
fn prompts_of(kind: &NodeKind) -> &[String] {
    match kind {
        NodeKind::Play { prompts, .. }
        | NodeKind::Menu { prompts, .. }
        | NodeKind::Collect { prompts, .. }
        | NodeKind::Hangup { prompts } => prompts,
        _ => &[],
    }
}

/// A flow as the list shows it: its nodes' ids, kinds and labels.
fn summary(f: &Flow, groups: &[(GroupId, String)]) -> Value {
    json!({
        "id": f.id.0,
        "name": f.name,
        "start": f.start.0,
        "nodes": f.nodes.iter().map(|n| json!({
            "id": n.id.0,
            "type": kind_word(&n.kind),
            "label": label(n, groups),
        })).collect::<Vec<_>>(),
    })
}

/// The `type` word serde gives a node kind.
pub(super) fn kind_word(kind: &NodeKind) -> &'static str {
    match kind {
        NodeKind::Play { .. } => "play",
        NodeKind::Menu { .. } => "menu",
        NodeKind::Collect { .. } => "collect",
        NodeKind::Hours { .. } => "hours",
        NodeKind::Queue { .. } => "queue",
        NodeKind::TransferAgent { .. } => "transfer_agent",
        NodeKind::TransferNumber { .. } => "transfer_number",
        NodeKind::Hangup { .. } => "hangup",
        NodeKind::Agent { .. } => "agent",
        NodeKind::Continue => "continue",
        NodeKind::Rate { .. } => "rate",
    }
}

/// A short, language-neutral summary of what a node does (its prompts, keys, group).
fn label(n: &Node, groups: &[(GroupId, String)]) -> String {
    let said = prompts_of(&n.kind).join(", ");
    match &n.kind {
        NodeKind::Menu { choices, .. } => {
            let keys: Vec<String> = choices
                .iter()
                .map(|c| format!("{}→{}", c.key, c.next.0))
                .collect();
            format!("{said} [{}]", keys.join(" "))
        }
        NodeKind::Collect { max_digits, .. } => format!("{said} (≤{max_digits})"),
        NodeKind::Hours { open, closed, .. } => format!("✓→{} ✗→{}", open.0, closed.0),
        NodeKind::Queue { group } => groups
            .iter()
            .find(|(id, _)| id == group)
            .map_or_else(|| format!("#{}", group.0), |(_, name)| name.clone()),
        NodeKind::TransferAgent { agent } => agent.clone().unwrap_or_else(|| "*".into()),
        NodeKind::TransferNumber { number } => number.clone().unwrap_or_else(|| "*".into()),
        NodeKind::Agent { action, .. } => serde_json::to_value(action)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        NodeKind::Rate { score, .. } => score.to_string(),
        NodeKind::Play { .. } | NodeKind::Hangup { .. } | NodeKind::Continue => said,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(body: &str) -> (u16, String, String) {
        let a = Fields::parse(body, FIELDS)
            .and_then(|f| parse_flow(&f))
            .expect_err("refused");
        let v: Value = serde_json::from_str(&a.body).unwrap();
        (
            a.code,
            v["field"].as_str().unwrap_or("").to_string(),
            v["error"].as_str().unwrap_or("").to_string(),
        )
    }

    const MENU: &str = r#"{"id":1,"type":"menu","prompts":["welcome_menu"],
        "choices":[{"key":"1","next":2}],"timeout_secs":8,"retries":2,"fail":null}"#;

    #[test]
    fn a_flow_parses_as_core_s_nodes() {
        let body = format!(
            r#"{{"name":"菜单","start":1,"nodes":[{MENU},{{"id":2,"type":"hangup","prompts":[]}}]}}"#
        );
        let f = parse_flow(&Fields::parse(&body, FIELDS).unwrap()).unwrap();
        assert_eq!(f.nodes.len(), 2);
        assert_eq!(kind_word(&f.nodes[0].kind), "menu");
        assert_eq!(label(&f.nodes[0], &[]), "welcome_menu [1→2]");
    }

    #[test]
    fn a_bad_node_is_named_by_its_place() {
        let hang = r#"{"id":2,"type":"hangup","prompts":[]}"#;
        let cases = [
            (format!(r#"{{"name":"x","start":1,"nodes":[{MENU},{{"id":2,"type":"dance"}}]}}"#), "nodes[1]"),
            (format!(r#"{{"name":"x","start":1,"nodes":[{hang},{}]}}"#, MENU.replace(":8,", ":0,")), "nodes[1]"),
            (format!(r#"{{"name":"x","start":1,"nodes":[{}]}}"#, MENU.replace(r#"[{"key":"1","next":2}]"#, r#"[{"key":"1","next":2},{"key":"1","next":2}]"#)), "nodes[0]"),
            (format!(r#"{{"name":"x","start":1,"nodes":[{}]}}"#, MENU.replace(r#"[{"key":"1","next":2}]"#, "[]")), "nodes[0]"),
            (format!(r#"{{"name":"x","start":9,"nodes":[{MENU},{hang}]}}"#), "start"),
            (r#"{"name":"x","start":1,"nodes":[]}"#.to_string(), "nodes"),
            (r#"{"name":"x","start":1,"nodes":{}}"#.to_string(), "nodes"),
            (r#"{"start":1,"nodes":[]}"#.to_string(), "name"),
            (format!(r#"{{"name":"x","start":"1","nodes":[{MENU}]}}"#), "start"),
            (r#"{"name":"x","start":1,"nodes":[{"id":1,"type":"transfer_number","number":"x"}]}"#.to_string(), "nodes[0]"),
        ];
        for (body, field) in cases {
            let (code, got, message) = refused(&body);
            assert_eq!((code, got.as_str()), (400, field), "{body}: {message}");
        }
    }

    #[test]
    fn store_messages_point_at_the_node() {
        let nodes: Vec<Node> = serde_json::from_str(&format!(
            r#"[{{"id":5,"type":"hangup","prompts":[]}},{MENU}]"#
        ))
        .unwrap();
        let a = node_refusal(
            Some(StoreError::Invalid {
                field: "nodes",
                message: "node 1 leads to node 2, which does not exist".into(),
            }),
            &nodes,
        );
        assert_eq!(a.code, 400);
        assert!(a.body.contains(r#""field":"nodes[1]""#), "{}", a.body);
    }
}
