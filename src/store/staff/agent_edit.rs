//! An agent's changes from the console (every setting, password reset, renumbering,
//! groups with levels, desk phone and softphone device), its creation with all of
//! them at once, and its removal.
//!
//! The whole new state is checked before the row is written, with the rules of
//! `agents.rs` (a direct number for the direct mode, offline answering and fallback;
//! a desk phone serves one agent and is never someone's softphone login). Unlike
//! hot-desking (`bind`), the console refuses to take a desk phone from another agent:
//! the admin must free it first, so no agent loses a phone by a typo.
//!
//! The tricky part: an agent's own softphone login (a device whose user is the agent
//! number, as `insert_agent` makes it) follows a renumbering and goes with the agent
//! when it is removed; a device picked from the list stays a device of its own.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::super::agents::{
    NewAgent, check_agent_number, check_direct_number, check_name, check_password, hash_password,
    insert_agent, invalid, require,
};
use super::super::rows::{answer_mode_from_sql, time_to_sql};
use super::super::{Store, StoreError};
use crate::core::{AgentId, AnswerMode, DeviceId, GroupId};

/// A change to an agent: `None` keeps a field; `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentChange {
    pub number: Option<String>,
    pub name: Option<String>,
    /// A new web password (a reset); the agent's open sessions end.
    pub web_password: Option<String>,
    pub direct_number: Option<Option<String>>,
    pub bound_device: Option<Option<DeviceId>>,
    pub softphone_device: Option<Option<DeviceId>>,
    /// The softphone login's SIP password: set on the agent's softphone device, or a
    /// new login device (user = agent number) when the agent has none.
    pub sip_password: Option<String>,
    pub answer_mode: Option<AnswerMode>,
    pub offline_answering: Option<bool>,
    pub allow_fallback: Option<bool>,
    pub confirm_direct: Option<bool>,
    pub supervisor: Option<bool>,
    /// The agent's groups and levels, replacing the ones they have.
    pub groups: Option<Vec<(GroupId, u32)>>,
}

/// An agent's row as a change starts from.
struct Current {
    number: String,
    name: String,
    direct_number: Option<String>,
    bound: Option<i64>,
    softphone: Option<i64>,
    mode: AnswerMode,
    offline_answering: bool,
    allow_fallback: bool,
}

fn current(conn: &Connection, id: AgentId) -> Result<Current, StoreError> {
    let row = conn
        .query_row(
            "SELECT number, name, direct_number, bound_device_id, softphone_device_id,
                 answer_mode, offline_answering, allow_fallback
             FROM agents WHERE id = ?1",
            params![id.0],
            |r| {
                Ok((
                    Current {
                        number: r.get(0)?,
                        name: r.get(1)?,
                        direct_number: r.get(2)?,
                        bound: r.get(3)?,
                        softphone: r.get(4)?,
                        mode: AnswerMode::Device,
                        offline_answering: r.get(6)?,
                        allow_fallback: r.get(7)?,
                    },
                    r.get::<_, String>(5)?,
                ))
            },
        )
        .optional()?;
    let Some((mut cur, mode)) = row else {
        return Err(StoreError::NotFound {
            what: "agent",
            value: id.0.to_string(),
        });
    };
    cur.mode = answer_mode_from_sql(&mode, "agents", &format!("id {}", id.0))?;
    Ok(cur)
}

/// The number of the agent other than `me` who holds `device` in `column`.
fn holder(
    conn: &Connection,
    column: &str,
    device: i64,
    me: AgentId,
) -> Result<Option<String>, StoreError> {
    // `column` is one of ours, never the caller's text.
    let sql = format!("SELECT number FROM agents WHERE {column} = ?1 AND id <> ?2");
    Ok(conn
        .query_row(&sql, params![device, me.0], |r| r.get(0))
        .optional()?)
}

fn check_device(
    conn: &Connection,
    field: &'static str,
    device: i64,
    me: AgentId,
) -> Result<(), StoreError> {
    require(conn, "devices", "device", device)
        .map_err(|_| invalid(field, format!("device {device} does not exist")))?;
    if let Some(other) = holder(conn, "bound_device_id", device, me)? {
        return Err(invalid(
            field,
            format!("device {device} is the desk phone of agent {other}: free it there first"),
        ));
    }
    if let Some(other) = holder(conn, "softphone_device_id", device, me)? {
        return Err(invalid(
            field,
            format!("device {device} is the softphone login of agent {other}"),
        ));
    }
    Ok(())
}

/// Checks and writes `c` to the agent `id`. Run it inside a transaction.
fn apply_change(conn: &Connection, id: AgentId, c: &AgentChange) -> Result<(), StoreError> {
    let cur = current(conn, id)?;
    let number = c.number.clone().unwrap_or_else(|| cur.number.clone());
    let name = c.name.clone().unwrap_or_else(|| cur.name.clone());
    check_agent_number(&number)?;
    check_name("name", &name)?;
    if let Some(p) = &c.web_password {
        check_password("web_password", p)?;
    }
    if let Some(p) = &c.sip_password {
        check_password("sip_password", p)?;
    }
    let direct = c.direct_number.clone().unwrap_or(cur.direct_number.clone());
    if let Some(n) = &direct {
        check_direct_number(n)?;
    }
    let mode = c.answer_mode.unwrap_or(cur.mode);
    let offline = c.offline_answering.unwrap_or(cur.offline_answering);
    let fallback = c.allow_fallback.unwrap_or(cur.allow_fallback);
    if direct.is_none() && (mode == AnswerMode::Direct || offline || fallback) {
        return Err(invalid(
            "direct_number",
            "required by the direct answer mode, offline answering and fallback".into(),
        ));
    }
    if number != cur.number {
        let taken: Option<String> = conn
            .query_row(
                "SELECT name FROM agents WHERE number = ?1",
                params![number],
                |r| r.get(0),
            )
            .optional()?;
        if taken.is_some() {
            return Err(StoreError::Duplicate {
                what: "agent number",
                value: number,
            });
        }
    }
    let bound = match c.bound_device {
        Some(d) => d.map(|d| d.0),
        None => cur.bound,
    };
    let mut softphone = match c.softphone_device {
        Some(d) => d.map(|d| d.0),
        None => cur.softphone,
    };
    if let Some(d) = bound {
        check_device(conn, "bound_device", d, id)?;
    }
    if let Some(d) = softphone {
        check_device(conn, "softphone_device", d, id)?;
    }
    if bound.is_some() && bound == softphone {
        return Err(invalid(
            "softphone_device",
            "the softphone login cannot be the desk phone too".into(),
        ));
    }
    // The agent's own login device (user = old number) follows a renumbering.
    let own_login = match softphone {
        Some(d) => conn
            .query_row(
                "SELECT user = ?2 FROM devices WHERE id = ?1",
                params![d, cur.number],
                |r| r.get::<_, bool>(0),
            )
            .optional()?
            .unwrap_or(false),
        None => false,
    };
    let clash = |user: &str| -> Result<Option<i64>, StoreError> {
        Ok(conn
            .query_row(
                "SELECT id FROM devices WHERE user = ?1",
                params![user],
                |r| r.get(0),
            )
            .optional()?)
    };
    if number != cur.number
        && own_login
        && let Some(other) = clash(&number)?
    {
        return Err(invalid(
            "number",
            format!(
                "the softphone login would become device user {number:?}, which device {other} has"
            ),
        ));
    }
    let now = time_to_sql(&chrono::Utc::now());
    if let Some(p) = &c.sip_password {
        match softphone {
            Some(d) => {
                conn.execute(
                    "UPDATE devices SET password = ?2 WHERE id = ?1",
                    params![d, p],
                )?;
            }
            None => {
                if let Some(other) = clash(&number)? {
                    return Err(invalid(
                        "sip_password",
                        format!(
                            "the softphone login would be device user {number:?}, which device \
                             {other} has: pick that device as the softphone instead"
                        ),
                    ));
                }
                conn.execute(
                    "INSERT INTO devices (user, password, name, created_at)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![number, p, format!("softphone of {name}"), now],
                )?;
                softphone = Some(conn.last_insert_rowid());
            }
        }
    }
    if mode == AnswerMode::Softphone && softphone.is_none() {
        return Err(invalid(
            "softphone_device",
            "required by the softphone answer mode: pick a device or give a sip_password".into(),
        ));
    }
    if number != cur.number && own_login {
        conn.execute(
            "UPDATE devices SET user = ?2 WHERE id = ?1",
            params![softphone, number],
        )?;
    }
    let web_hash = c.web_password.as_deref().map(hash_password).transpose()?;
    conn.execute(
        "UPDATE agents SET number = ?2, name = ?3, web_password = COALESCE(?4, web_password),
             direct_number = ?5, bound_device_id = ?6, softphone_device_id = ?7,
             answer_mode = ?8, offline_answering = ?9, allow_fallback = ?10,
             confirm_direct = COALESCE(?11, confirm_direct),
             supervisor = COALESCE(?12, supervisor)
         WHERE id = ?1",
        params![
            id.0,
            number,
            name,
            web_hash,
            direct,
            bound,
            softphone,
            mode.as_str(),
            offline,
            fallback,
            c.confirm_direct,
            c.supervisor,
        ],
    )?;
    if let Some(groups) = &c.groups {
        replace_groups(conn, id, groups)?;
    }
    Ok(())
}

/// Makes `groups` the agent's whole list of memberships.
fn replace_groups(
    conn: &Connection,
    id: AgentId,
    groups: &[(GroupId, u32)],
) -> Result<(), StoreError> {
    let mut seen = Vec::with_capacity(groups.len());
    for (group, level) in groups {
        if *level == 0 || *level > 99 {
            return Err(invalid(
                "groups",
                format!("group {}: expected a level 1-99, got {level}", group.0),
            ));
        }
        if seen.contains(group) {
            return Err(invalid(
                "groups",
                format!("group {} is listed twice", group.0),
            ));
        }
        require(conn, "skill_groups", "skill group", group.0)
            .map_err(|_| invalid("groups", format!("group {} does not exist", group.0)))?;
        seen.push(*group);
    }
    conn.execute(
        "DELETE FROM group_members WHERE agent_id = ?1",
        params![id.0],
    )?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO group_members (group_id, agent_id, level) VALUES (?1, ?2, ?3)",
    )?;
    for (group, level) in groups {
        stmt.execute(params![group.0, id.0, level])?;
    }
    Ok(())
}

impl Store {
    /// Adds an agent with every console setting in one transaction: `a` as
    /// [`Store::add_agent`] takes it, then `more` (softphone device, supervisor,
    /// groups...) checked as a change. A taken number is [`StoreError::Duplicate`].
    pub fn create_agent(
        &mut self,
        a: &NewAgent,
        more: &AgentChange,
    ) -> Result<AgentId, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if self_number_taken(&tx, &a.number)? {
            return Err(StoreError::Duplicate {
                what: "agent number",
                value: a.number.clone(),
            });
        }
        // The softphone mode with a picked device is set by the change, which checks
        // the device; `insert_agent` knows only the login it makes itself.
        let mut first = a.clone();
        if first.answer_mode == AnswerMode::Softphone && first.sip_password.is_none() {
            first.answer_mode = AnswerMode::Device;
        }
        let id = insert_agent(&tx, &first)?;
        let mut rest = more.clone();
        rest.answer_mode = Some(a.answer_mode);
        apply_change(&tx, id, &rest)?;
        tx.commit()?;
        Ok(id)
    }

    /// Changes the agent `id` (see [`AgentChange`]); nothing is written on a refusal.
    pub fn change_agent(&mut self, id: AgentId, c: &AgentChange) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        apply_change(&tx, id, c)?;
        tx.commit()?;
        Ok(())
    }

    /// Removes the agent `id` with their memberships and their own softphone login
    /// device (user = their number); their status log and calls stay (history).
    pub fn remove_agent(&mut self, id: AgentId) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let cur = current(&tx, id)?;
        tx.execute("DELETE FROM agents WHERE id = ?1", params![id.0])?;
        if let Some(d) = cur.softphone {
            tx.execute(
                "DELETE FROM devices WHERE id = ?1 AND user = ?2",
                params![d, cur.number],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

fn self_number_taken(conn: &Connection, number: &str) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM agents WHERE number = ?1)",
        params![number],
        |r| r.get(0),
    )?)
}
