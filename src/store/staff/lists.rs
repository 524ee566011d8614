//! The console's reads: agents with their phones and groups, devices with who uses
//! them, skill groups with their members, the busy reasons. Each list is in a stable
//! order (agents by number, devices by user, groups by id, reasons as shown).
//!
//! Reads are as strict as `read.rs`: a value we never write is a `BadRow`.

use rusqlite::{Connection, Row, params};

use super::super::flows::exit_from_sql;
use super::super::rows::{answer_mode_from_sql, bad, strategy_from_sql, u32_from_sql};
use super::super::{Store, StoreError};
use super::{AgentRecord, DeviceRecord, DeviceRef, GroupRecord, Named};
use crate::core::{AgentId, DeviceId, GroupId, Overflow};

const AGENT_SQL: &str = "SELECT a.id, a.number, a.name, a.direct_number, a.answer_mode,
        a.offline_answering, a.allow_fallback, a.confirm_direct, a.supervisor,
        b.id, b.user, b.name, s.id, s.user, s.name
     FROM agents a
     LEFT JOIN devices b ON b.id = a.bound_device_id
     LEFT JOIN devices s ON s.id = a.softphone_device_id";

fn device_ref(r: &Row<'_>, at: usize) -> rusqlite::Result<Option<DeviceRef>> {
    Ok(match r.get::<_, Option<i64>>(at)? {
        Some(id) => Some(DeviceRef {
            id: DeviceId(id),
            user: r.get(at + 1)?,
            name: r.get(at + 2)?,
        }),
        None => None,
    })
}

fn agent_from_row(r: &Row<'_>) -> Result<AgentRecord, StoreError> {
    let id: i64 = r.get(0)?;
    Ok(AgentRecord {
        id: AgentId(id),
        number: r.get(1)?,
        name: r.get(2)?,
        direct_number: r.get(3)?,
        answer_mode: answer_mode_from_sql(&r.get::<_, String>(4)?, "agents", &format!("id {id}"))?,
        offline_answering: r.get(5)?,
        allow_fallback: r.get(6)?,
        confirm_direct: r.get(7)?,
        supervisor: r.get(8)?,
        bound_device: device_ref(r, 9)?,
        softphone_device: device_ref(r, 12)?,
        groups: Vec::new(),
    })
}

/// Memberships as (agent id, group id, group name, level), by agent then group.
fn memberships(conn: &Connection) -> Result<Vec<(i64, Named)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.agent_id, g.id, g.name, m.level FROM group_members m
         JOIN skill_groups g ON g.id = m.group_id ORDER BY m.agent_id, g.id",
    )?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let agent: i64 = r.get(0)?;
        let group: i64 = r.get(1)?;
        let key = format!("group {group} agent {agent}");
        out.push((
            agent,
            Named {
                id: group,
                key: r.get(2)?,
                name: String::new(),
                level: u32_from_sql(r.get(3)?, "group_members", &key, "level")?,
            },
        ));
    }
    Ok(out)
}

/// The group `id` with its members, on any connection (a change reads it first).
pub(super) fn group(conn: &Connection, id: GroupId) -> Result<Option<GroupRecord>, StoreError> {
    Ok(groups(conn, Some(id))?.into_iter().next())
}

fn groups(conn: &Connection, only: Option<GroupId>) -> Result<Vec<GroupRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, strategy, ring_timeout_secs, max_no_answer, wrap_up_secs,
             max_wait_secs, overflow, overflow_group_id, overflow_number, join_empty,
             leave_empty, announce_every_secs, exit_key, exit_flow_id
         FROM skill_groups WHERE ?1 IS NULL OR id = ?1 ORDER BY id",
    )?;
    let mut rows = stmt.query(params![only.map(|g| g.0)])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(group_from_row(r)?);
    }
    let mut stmt = conn.prepare_cached(
        "SELECT m.group_id, a.id, a.number, a.name, m.level FROM group_members m
         JOIN agents a ON a.id = m.agent_id
         WHERE ?1 IS NULL OR m.group_id = ?1
         ORDER BY m.group_id, m.level, a.number",
    )?;
    let mut rows = stmt.query(params![only.map(|g| g.0)])?;
    while let Some(r) = rows.next()? {
        let group: i64 = r.get(0)?;
        let agent: i64 = r.get(1)?;
        let key = format!("group {group} agent {agent}");
        let member = Named {
            id: agent,
            key: r.get(2)?,
            name: r.get(3)?,
            level: u32_from_sql(r.get(4)?, "group_members", &key, "level")?,
        };
        if let Some(g) = out.iter_mut().find(|g| g.id.0 == group) {
            g.members.push(member);
        }
    }
    Ok(out)
}

fn secs(v: i64, key: &str, column: &str) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| bad("skill_groups", key, format!("{column} {v}")))
}

fn group_from_row(r: &Row<'_>) -> Result<GroupRecord, StoreError> {
    let id: i64 = r.get(0)?;
    let key = format!("id {id}");
    let maybe = |i: usize, column: &str| -> Result<Option<u64>, StoreError> {
        r.get::<_, Option<i64>>(i)?
            .map(|v| secs(v, &key, column))
            .transpose()
    };
    let kind: String = r.get(7)?;
    let overflow = match (
        kind.as_str(),
        r.get::<_, Option<i64>>(8)?,
        r.get::<_, Option<String>>(9)?,
    ) {
        ("group", Some(g), _) => Overflow::Group(GroupId(g)),
        ("number", _, Some(n)) => Overflow::Number(n),
        ("hangup" | "group", _, _) => Overflow::Hangup,
        (other, ..) => return Err(bad("skill_groups", &key, format!("overflow {other:?}"))),
    };
    Ok(GroupRecord {
        id: GroupId(id),
        name: r.get(1)?,
        strategy: strategy_from_sql(&r.get::<_, String>(2)?, &key)?,
        ring_timeout_secs: secs(r.get(3)?, &key, "ring_timeout_secs")?,
        max_no_answer: u32_from_sql(r.get(4)?, "skill_groups", &key, "max_no_answer")?,
        wrap_up_secs: secs(r.get(5)?, &key, "wrap_up_secs")?,
        max_wait_secs: maybe(6, "max_wait_secs")?,
        overflow,
        join_empty: r.get(10)?,
        leave_empty: r.get(11)?,
        announce_every_secs: maybe(12, "announce_every_secs")?,
        exit: exit_from_sql(r.get(13)?, r.get(14)?, &key)?,
        members: Vec::new(),
    })
}

impl Store {
    /// Every agent with their phones and groups, by number.
    pub fn agent_records(&self) -> Result<Vec<AgentRecord>, StoreError> {
        let sql = format!("{AGENT_SQL} ORDER BY a.number");
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(agent_from_row(r)?);
        }
        for (agent, group) in memberships(&self.conn)? {
            if let Some(a) = out.iter_mut().find(|a| a.id.0 == agent) {
                a.groups.push(group);
            }
        }
        Ok(out)
    }

    /// The agent numbered `number`, with their phones and groups.
    pub fn agent_record(&self, number: &str) -> Result<Option<AgentRecord>, StoreError> {
        let sql = format!("{AGENT_SQL} WHERE a.number = ?1");
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(params![number])?;
        let Some(r) = rows.next()? else {
            return Ok(None);
        };
        let mut a = agent_from_row(r)?;
        a.groups = memberships(&self.conn)?
            .into_iter()
            .filter(|(agent, _)| *agent == a.id.0)
            .map(|(_, g)| g)
            .collect();
        Ok(Some(a))
    }

    /// Every device with the agent using it, by user; or only the device `only`.
    pub fn device_records(&self, only: Option<DeviceId>) -> Result<Vec<DeviceRecord>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT d.id, d.user, d.name, d.static_contact, b.number, b.name, s.number, s.name
             FROM devices d
             LEFT JOIN agents b ON b.bound_device_id = d.id
             LEFT JOIN agents s ON s.softphone_device_id = d.id
             WHERE ?1 IS NULL OR d.id = ?1
             ORDER BY d.user",
        )?;
        let pair = |r: &Row<'_>, at: usize| -> rusqlite::Result<Option<(String, String)>> {
            Ok(match r.get::<_, Option<String>>(at)? {
                Some(n) => Some((n, r.get(at + 1)?)),
                None => None,
            })
        };
        let rows = stmt.query_map(params![only.map(|d| d.0)], |r| {
            Ok(DeviceRecord {
                id: DeviceId(r.get(0)?),
                user: r.get(1)?,
                name: r.get(2)?,
                static_contact: r.get(3)?,
                desk_of: pair(r, 4)?,
                softphone_of: pair(r, 6)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Every skill group with its members, by id.
    pub fn group_records(&self) -> Result<Vec<GroupRecord>, StoreError> {
        groups(&self.conn, None)
    }

    /// The skill group `id` with its members.
    pub fn group_record(&self, id: GroupId) -> Result<Option<GroupRecord>, StoreError> {
        group(&self.conn, id)
    }

    /// The busy reasons in the order agents see them.
    pub fn busy_reasons(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT reason FROM busy_reasons ORDER BY position")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}
