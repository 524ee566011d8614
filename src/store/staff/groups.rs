//! Skill groups (技能组) and their queue settings from the console: creating one with
//! its exit key, changing any setting, replacing its members, removing it.
//!
//! A group's settings are checked by `agents::checked_group`, the same checks a new
//! group gets; the exit key goes through `flows::set_exit`. The tricky part is
//! removal: an IVR flow names its queues inside JSON, where no foreign key reaches, so
//! a group a flow still queues for is refused (a [`Conflict`] naming the flows)
//! rather than leaving callers who pick that menu item nowhere to go.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::super::agents::{
    NewGroup, checked_group, group_name_taken, insert_group, invalid, overflow_word, require,
};
use super::super::flows::set_exit;
use super::super::{Store, StoreError};
use super::Conflict;
use crate::core::ivr::FlowId;
use crate::core::{AgentId, GroupId, Overflow, Strategy};

/// A change to a group: `None` keeps a field; `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupChange {
    pub name: Option<String>,
    pub strategy: Option<Strategy>,
    pub ring_timeout: Option<Duration>,
    pub max_no_answer: Option<u32>,
    pub wrap_up: Option<Duration>,
    pub max_wait: Option<Option<Duration>>,
    pub overflow: Option<Overflow>,
    pub join_empty: Option<bool>,
    pub leave_empty: Option<bool>,
    pub announce_every: Option<Option<Duration>>,
    /// The exit key and its flow, both or neither.
    pub exit: Option<Option<(char, FlowId)>>,
    /// Members and levels, replacing the group's.
    pub members: Option<Vec<(AgentId, u32)>>,
}

impl GroupChange {
    /// `g` with this change made.
    fn applied(&self, mut g: NewGroup) -> NewGroup {
        if let Some(v) = &self.name {
            g.name = v.clone();
        }
        if let Some(v) = self.strategy {
            g.strategy = v;
        }
        if let Some(v) = self.ring_timeout {
            g.ring_timeout = v;
        }
        if let Some(v) = self.max_no_answer {
            g.max_no_answer = v;
        }
        if let Some(v) = self.wrap_up {
            g.wrap_up = v;
        }
        if let Some(v) = self.max_wait {
            g.max_wait = v;
        }
        if let Some(v) = &self.overflow {
            g.overflow = v.clone();
        }
        if let Some(v) = self.join_empty {
            g.join_empty = v;
        }
        if let Some(v) = self.leave_empty {
            g.leave_empty = v;
        }
        if let Some(v) = self.announce_every {
            g.announce_every = v;
        }
        g
    }
}

/// The group's settings as a `NewGroup`, to apply a change to.
fn current(conn: &Connection, id: GroupId) -> Result<NewGroup, StoreError> {
    let Some(g) = super::lists::group(conn, id)? else {
        return Err(StoreError::NotFound {
            what: "skill group",
            value: id.0.to_string(),
        });
    };
    Ok(NewGroup {
        name: g.name,
        strategy: g.strategy,
        ring_timeout: Duration::from_secs(g.ring_timeout_secs),
        max_no_answer: g.max_no_answer,
        wrap_up: Duration::from_secs(g.wrap_up_secs),
        max_wait: g.max_wait_secs.map(Duration::from_secs),
        overflow: g.overflow,
        join_empty: g.join_empty,
        leave_empty: g.leave_empty,
        announce_every: g.announce_every_secs.map(Duration::from_secs),
    })
}

fn name_taken_by_other(
    conn: &Connection,
    name: &str,
    own: Option<GroupId>,
) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM skill_groups WHERE name = ?1 AND id IS NOT ?2)",
        params![name, own.map(|g| g.0)],
        |r| r.get(0),
    )?)
}

/// Makes `members` the group's whole membership.
fn replace_members(
    conn: &Connection,
    group: GroupId,
    members: &[(AgentId, u32)],
) -> Result<(), StoreError> {
    let mut seen = Vec::with_capacity(members.len());
    for (agent, level) in members {
        if *level == 0 || *level > 99 {
            return Err(invalid(
                "members",
                format!("agent {}: expected a level 1-99, got {level}", agent.0),
            ));
        }
        if seen.contains(agent) {
            return Err(invalid(
                "members",
                format!("agent {} is listed twice", agent.0),
            ));
        }
        require(conn, "agents", "agent", agent.0)
            .map_err(|_| invalid("members", format!("agent {} does not exist", agent.0)))?;
        seen.push(*agent);
    }
    conn.execute(
        "DELETE FROM group_members WHERE group_id = ?1",
        params![group.0],
    )?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO group_members (group_id, agent_id, level) VALUES (?1, ?2, ?3)",
    )?;
    for (agent, level) in members {
        stmt.execute(params![group.0, agent.0, level])?;
    }
    Ok(())
}

/// The names of the flows whose queue nodes name `group`.
fn flows_queuing_for(conn: &Connection, group: GroupId) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT f.name FROM ivr_flows f, json_each(f.nodes) n
         WHERE json_extract(n.value, '$.type') = 'queue'
           AND json_extract(n.value, '$.group') = ?1
         ORDER BY f.name",
    )?;
    let names = stmt
        .query_map(params![group.0], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(names)
}

impl Store {
    /// Adds a group with its exit key and members, in one transaction. A taken name
    /// is [`StoreError::Duplicate`]; a bad value is [`StoreError::Invalid`] naming it.
    pub fn create_group(
        &mut self,
        g: &NewGroup,
        exit: Option<(char, FlowId)>,
        members: &[(AgentId, u32)],
    ) -> Result<GroupId, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if name_taken_by_other(&tx, &g.name, None)? {
            return Err(StoreError::Duplicate {
                what: "skill group",
                value: g.name.clone(),
            });
        }
        let id = insert_group(&tx, g)?;
        set_group_exit(&tx, id, exit)?;
        replace_members(&tx, id, members)?;
        tx.commit()?;
        Ok(id)
    }

    /// Changes the group `id` (see [`GroupChange`]).
    pub fn change_group(&mut self, id: GroupId, c: &GroupChange) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let g = c.applied(current(&tx, id)?);
        let cols = checked_group(&tx, &g, Some(id))?;
        if name_taken_by_other(&tx, &g.name, Some(id))? {
            return Err(StoreError::Duplicate {
                what: "skill group",
                value: g.name.clone(),
            });
        }
        tx.execute(
            "UPDATE skill_groups SET name = ?2, strategy = ?3, ring_timeout_secs = ?4,
                 max_no_answer = ?5, wrap_up_secs = ?6, max_wait_secs = ?7, overflow = ?8,
                 overflow_group_id = ?9, overflow_number = ?10, join_empty = ?11,
                 leave_empty = ?12, announce_every_secs = ?13
             WHERE id = ?1",
            params![
                id.0,
                g.name,
                g.strategy.as_str(),
                cols.ring,
                g.max_no_answer,
                cols.wrap_up,
                cols.max_wait,
                overflow_word(&g.overflow),
                cols.overflow_group,
                cols.overflow_number,
                g.join_empty,
                g.leave_empty,
                cols.announce,
            ],
        )
        .map_err(|e| group_name_taken(e, &g.name))?;
        if let Some(exit) = c.exit {
            set_group_exit(&tx, id, exit)?;
        }
        if let Some(members) = &c.members {
            replace_members(&tx, id, members)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Removes the group `id` and its memberships; `Ok(Err(Conflict))` while an IVR
    /// flow queues for it. Service numbers and overflows that sent callers to it lose
    /// it (SET NULL: callers then go on as with no queue, or hear the overflow prompt).
    pub fn remove_group(&mut self, id: GroupId) -> Result<Result<(), Conflict>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        require(&tx, "skill_groups", "skill group", id.0)?;
        let flows = flows_queuing_for(&tx, id)?;
        if !flows.is_empty() {
            return Ok(Err(Conflict::new(
                None,
                format!(
                    "the IVR flow(s) {} queue callers for this group: change them first",
                    flows.join(", ")
                ),
            )));
        }
        // The CHECK on skill_groups keeps overflow = 'group' with a NULL group legal,
        // so SET NULL alone would do; saying 'hangup' keeps the row plain to read.
        tx.execute(
            "UPDATE skill_groups SET overflow = 'hangup', overflow_group_id = NULL
             WHERE overflow_group_id = ?1",
            params![id.0],
        )?;
        tx.execute("DELETE FROM skill_groups WHERE id = ?1", params![id.0])?;
        tx.commit()?;
        Ok(Ok(()))
    }
}

/// Sets or clears a group's exit key, naming `exit_flow` for an unknown flow.
fn set_group_exit(
    conn: &Connection,
    id: GroupId,
    exit: Option<(char, FlowId)>,
) -> Result<(), StoreError> {
    if let Some((_, flow)) = exit {
        let known: Option<i64> = conn
            .query_row(
                "SELECT id FROM ivr_flows WHERE id = ?1",
                params![flow.0],
                |r| r.get(0),
            )
            .optional()?;
        if known.is_none() {
            return Err(invalid(
                "exit_flow",
                format!("IVR flow {} does not exist", flow.0),
            ));
        }
    }
    set_exit(conn, id, exit)
}
