//! IVR flows: the admin's additions and replacements, reading them back for the
//! directory, and pointing service numbers and queue exit keys at them.
//!
//! A flow is stored whole, one row: its start node and its nodes as one JSON array,
//! exactly as serde_json writes core's `Vec<Node>`. It is read and replaced whole and
//! never queried by node, so a column per node field would buy nothing but a join.
//!
//! Every flow is checked before any write, and a refusal is [`StoreError::Invalid`]
//! naming the field as the admin knows it (`name`, or `nodes` with the node at fault
//! in the message): the graph must be whole ([`Flow::check`]), each queue node must
//! name an existing skill group, and each prompt must be a plain file name under the
//! sounds directory. Reading is as strict as the rest of the store: a row whose JSON
//! does not parse, or whose graph is not whole, is a [`StoreError::BadRow`] naming the
//! flow, never a panic and never a silently skipped flow.
//!
//! The tricky part: a group may be removed after a flow queues for it (nothing in SQL
//! ties JSON to a row), so a loaded flow can still name a missing group; routing must
//! treat that like a removed overflow group, not as damage.

use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::agents::{check_name, invalid, require};
use super::lines::Removal;
use super::rows::{bad, time_to_sql, u32_from_sql};
use super::{Store, StoreError};
use crate::core::ivr::{Flow, FlowId, Node, NodeId, NodeKind, is_key};
use crate::core::{GroupId, QueueExit};

/// An IVR flow to add, or to replace one with: core's [`Flow`] without its id.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFlow {
    /// 1-64 characters, unique among flows.
    pub name: String,
    pub start: NodeId,
    /// At least one; `start` must be among them.
    pub nodes: Vec<Node>,
}

/// The longest prompt name, in characters.
const MAX_PROMPT_CHARS: usize = 64;

impl Store {
    /// Adds a flow. Every refusal is [`StoreError::Invalid`] naming the field, a taken
    /// name included; nothing is written then.
    pub fn add_flow(&mut self, f: &NewFlow) -> Result<FlowId, StoreError> {
        // IMMEDIATE: the groups its queue nodes name are checked under the write lock,
        // so none can be removed between the check and the insert.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id = insert_flow(&tx, f)?;
        tx.commit()?;
        Ok(id)
    }

    /// Replaces the flow `id` whole (name, start and nodes), checked as in
    /// [`Store::add_flow`]. An unknown id is [`StoreError::NotFound`].
    pub fn replace_flow(&mut self, id: FlowId, f: &NewFlow) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let nodes = checked_nodes(&tx, f)?;
        let changed = tx
            .execute(
                "UPDATE ivr_flows SET name = ?2, start_node = ?3, nodes = ?4 WHERE id = ?1",
                params![id.0, f.name, f.start.0, nodes],
            )
            .map_err(|e| name_taken(e, &f.name))?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: "IVR flow",
                value: id.0.to_string(),
            });
        }
        tx.commit()?;
        Ok(())
    }

    /// The id of the flow with this name.
    pub fn flow_by_name(&self, name: &str) -> Result<Option<FlowId>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id FROM ivr_flows WHERE name = ?1",
                params![name],
                |r| r.get(0).map(FlowId),
            )
            .optional()?)
    }

    /// Sends callers of the service `number` through `flow` first (or, with `None`,
    /// straight to its group or device again). The number's group and device are kept.
    pub fn set_service_number_flow(
        &mut self,
        number: &str,
        flow: Option<FlowId>,
    ) -> Result<(), StoreError> {
        if let Some(f) = flow {
            require(&self.conn, "ivr_flows", "IVR flow", f.0)?;
        }
        let changed = self.conn.execute(
            "UPDATE service_numbers SET flow_id = ?2 WHERE number = ?1",
            params![number, flow.map(|f| f.0)],
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: "service number",
                value: format!("{number:?}"),
            });
        }
        Ok(())
    }

    /// Gives `group`'s queue a key (0-9, * or #) that takes a waiting caller into a
    /// flow, or takes it away with `None`. A key that is no phone key is
    /// [`StoreError::Invalid`] naming `exit_key`; an unknown group or flow is
    /// [`StoreError::NotFound`].
    pub fn set_queue_exit(
        &mut self,
        group: GroupId,
        exit: Option<(char, FlowId)>,
    ) -> Result<(), StoreError> {
        set_exit(&self.conn, group, exit)
    }

    /// Every flow, in id order, as the directory reads them (the admin console's list).
    pub fn flows(&self) -> Result<Vec<Flow>, StoreError> {
        self.load_flows()
    }

    /// The flow `id`, if there is one.
    pub fn flow(&self, id: FlowId) -> Result<Option<Flow>, StoreError> {
        Ok(self.load_flows()?.into_iter().find(|f| f.id == id))
    }

    /// The service numbers whose callers go through flow `id`, in number order.
    pub fn flow_numbers(&self, id: FlowId) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT number FROM service_numbers WHERE flow_id = ?1 ORDER BY number")?;
        let rows = stmt.query_map(params![id.0], |r| r.get(0))?;
        Ok(rows.collect::<Result<Vec<String>, _>>()?)
    }

    /// Removes flow `id`, unless service numbers still send callers through it
    /// ([`Removal::InUse`] names them). A queue whose exit key led into it loses that
    /// key (the 0004 trigger); an unknown id is [`StoreError::NotFound`].
    pub fn remove_flow(&mut self, id: FlowId) -> Result<Removal, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        require(&tx, "ivr_flows", "IVR flow", id.0)?;
        let numbers: Vec<String> = tx
            .prepare("SELECT number FROM service_numbers WHERE flow_id = ?1 ORDER BY number")?
            .query_map(params![id.0], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        if !numbers.is_empty() {
            return Ok(Removal::InUse(numbers));
        }
        tx.execute("DELETE FROM ivr_flows WHERE id = ?1", params![id.0])?;
        tx.commit()?;
        Ok(Removal::Removed)
    }

    /// Every flow, in id order.
    pub(super) fn load_flows(&self) -> Result<Vec<Flow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, name, start_node, nodes FROM ivr_flows ORDER BY id")?;
        let mut rows = stmt.query([])?;
        let mut flows = Vec::new();
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let name: String = r.get(1)?;
            let key = format!("id {id} ({name})");
            let start = u32_from_sql(r.get(2)?, "ivr_flows", &key, "start_node")?;
            let json: String = r.get(3)?;
            let nodes: Vec<Node> = serde_json::from_str(&json)
                .map_err(|e| bad("ivr_flows", &key, format!("nodes: {e}")))?;
            let flow = Flow {
                id: FlowId(id),
                name,
                start: NodeId(start),
                nodes,
            };
            // We never write a flow that fails this; one that does was edited by hand.
            flow.check()
                .map_err(|e| bad("ivr_flows", &key, format!("nodes: {e}")))?;
            flows.push(flow);
        }
        Ok(flows)
    }
}

/// Checks and inserts a flow. Run it inside a transaction, so the groups it names
/// cannot go between the check and the insert.
pub(super) fn insert_flow(conn: &Connection, f: &NewFlow) -> Result<FlowId, StoreError> {
    let nodes = checked_nodes(conn, f)?;
    conn.execute(
        "INSERT INTO ivr_flows (name, start_node, nodes, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![f.name, f.start.0, nodes, time_to_sql(&Utc::now())],
    )
    .map_err(|e| name_taken(e, &f.name))?;
    Ok(FlowId(conn.last_insert_rowid()))
}

/// Sets or clears a queue's exit key. See [`Store::set_queue_exit`].
pub(super) fn set_exit(
    conn: &Connection,
    group: GroupId,
    exit: Option<(char, FlowId)>,
) -> Result<(), StoreError> {
    if let Some((key, _)) = exit
        && !is_key(key)
    {
        return Err(invalid(
            "exit_key",
            format!("expected 0-9, * or #, got {key:?}"),
        ));
    }
    require(conn, "skill_groups", "skill group", group.0)?;
    if let Some((_, flow)) = exit {
        require(conn, "ivr_flows", "IVR flow", flow.0)?;
    }
    conn.execute(
        "UPDATE skill_groups SET exit_key = ?2, exit_flow_id = ?3 WHERE id = ?1",
        params![
            group.0,
            exit.map(|(k, _)| k.to_string()),
            exit.map(|(_, f)| f.0)
        ],
    )?;
    Ok(())
}

/// A queue's exit from its two columns: both set, or neither (the schema's CHECK).
pub(super) fn exit_from_sql(
    key: Option<String>,
    flow: Option<i64>,
    row: &str,
) -> Result<Option<QueueExit>, StoreError> {
    match (key, flow) {
        (None, None) => Ok(None),
        (Some(k), Some(flow)) => {
            let mut chars = k.chars();
            match (chars.next(), chars.next()) {
                (Some(key), None) if is_key(key) => Ok(Some(QueueExit {
                    key,
                    flow: FlowId(flow),
                })),
                _ => Err(bad("skill_groups", row, format!("exit_key {k:?}"))),
            }
        }
        (k, f) => Err(bad(
            "skill_groups",
            row,
            format!("exit_key {k:?} without exit_flow_id {f:?}"),
        )),
    }
}

/// Validates `f` and returns its nodes as the JSON to store.
fn checked_nodes(conn: &Connection, f: &NewFlow) -> Result<String, StoreError> {
    check_name("name", &f.name)?;
    if f.nodes.is_empty() {
        return Err(invalid("nodes", "a flow needs at least one node".into()));
    }
    for node in &f.nodes {
        for p in prompts(&node.kind) {
            if !is_prompt_name(p) {
                return Err(invalid(
                    "nodes",
                    format!(
                        "node {}: prompt {p:?} is not a prompt name (1-{MAX_PROMPT_CHARS} of \
                         a-z, 0-9 and _)",
                        node.id.0
                    ),
                ));
            }
        }
    }
    let flow = Flow {
        id: FlowId(0),
        name: f.name.clone(),
        start: f.start,
        nodes: f.nodes.clone(),
    };
    flow.check().map_err(|e| invalid("nodes", e))?;
    for node in &f.nodes {
        if let NodeKind::Queue { group } = node.kind {
            let exists: bool = conn
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM skill_groups WHERE id = ?1)")?
                .query_row(params![group.0], |r| r.get(0))?;
            if !exists {
                return Err(invalid(
                    "nodes",
                    format!(
                        "node {} queues for group {}, which does not exist",
                        node.id.0, group.0
                    ),
                ));
            }
        }
    }
    serde_json::to_string(&f.nodes)
        .map_err(|e| invalid("nodes", format!("cannot be written as JSON: {e}")))
}

/// The prompts a node plays.
fn prompts(kind: &NodeKind) -> &[String] {
    match kind {
        NodeKind::Play { prompts, .. }
        | NodeKind::Menu { prompts, .. }
        | NodeKind::Collect { prompts, .. }
        | NodeKind::Hangup { prompts } => prompts,
        NodeKind::Hours { .. }
        | NodeKind::Queue { .. }
        | NodeKind::TransferAgent { .. }
        | NodeKind::TransferNumber { .. }
        | NodeKind::Agent { .. }
        | NodeKind::Rate { .. }
        | NodeKind::Continue => &[],
    }
}

/// A file name under `sounds/<language>/` without its extension: no dots, slashes or
/// capitals, so a prompt can never name a path outside that directory.
fn is_prompt_name(p: &str) -> bool {
    (1..=MAX_PROMPT_CHARS).contains(&p.len())
        && p.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn name_taken(e: rusqlite::Error, name: &str) -> StoreError {
    if StoreError::is_unique_violation(&e) {
        invalid("name", format!("an IVR flow named {name:?} already exists"))
    } else {
        StoreError::Sqlite(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_names_are_plain_file_names() {
        for ok in ["welcome_menu", "a", "no_input2", &"x".repeat(64)] {
            assert!(is_prompt_name(ok), "{ok}");
        }
        for no in [
            "",
            "Welcome",
            "../etc/passwd",
            "a.wav",
            "a b",
            "欢迎",
            &"x".repeat(65),
        ] {
            assert!(!is_prompt_name(no), "{no}");
        }
    }

    #[test]
    fn exits_read_back_and_damage_is_refused() {
        assert_eq!(exit_from_sql(None, None, "k").unwrap(), None);
        assert_eq!(
            exit_from_sql(Some("*".into()), Some(3), "k").unwrap(),
            Some(QueueExit {
                key: '*',
                flow: FlowId(3)
            })
        );
        for (key, flow) in [
            (Some("**".to_owned()), Some(3)),
            (Some("a".to_owned()), Some(3)),
            (Some(String::new()), Some(3)),
            (Some("1".to_owned()), None),
            (None, Some(3)),
        ] {
            assert!(exit_from_sql(key.clone(), flow, "k").is_err(), "{key:?}");
        }
    }
}
