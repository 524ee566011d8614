//! The live area's reads: the agent status log with filters (坐席状态日志, S20), the
//! state an agent was in at a moment and the rows one call caused (for "why this
//! call went where it went"), a group's members and name, and the queue figures of a
//! day for the wallboard (answered, abandoned, service level).
//!
//! Read-only; every value is bound, never spliced into SQL. Times compare as the
//! fixed-width text they are stored as (`rows.rs`), so text order is time order.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::rows::{
    agent_state_from_sql, answer_mode_from_sql, cause_from_sql, time_from_sql, time_to_sql,
};
use super::{Store, StoreError};
use crate::core::acd::{AgentState, AgentStatusRecord};
use crate::core::{AgentId, CallId, GroupId};

/// Which status-log rows to read; `None` leaves a filter open.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusFilter {
    pub agent: Option<AgentId>,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Before.
    pub to: Option<DateTime<Utc>>,
    /// Rows that changed the agent to this state.
    pub state: Option<AgentState>,
    pub limit: usize,
}

/// One status-log row with the agent's number and name, and when the state it
/// began ended (the agent's next row; `None` while it lasts).
#[derive(Debug, Clone, PartialEq)]
pub struct StatusLogRow {
    pub id: i64,
    /// The agent's number and name ("" for an agent since removed).
    pub number: String,
    pub name: String,
    pub record: AgentStatusRecord,
    pub until: Option<DateTime<Utc>>,
}

/// One skill group's queue calls over a span of time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueFigures {
    pub group: Option<GroupId>,
    /// Calls that joined the queue.
    pub offered: u32,
    /// Answered (by an agent, or the overflow number).
    pub answered: u32,
    /// Answered within the service-level threshold of joining the queue.
    pub answered_in_time: u32,
    /// The caller hung up while waiting.
    pub abandoned: u32,
    /// Ended unanswered some other way (sent away after the longest wait, no agent).
    pub unanswered: u32,
}

const STATUS_COLUMNS: &str = "l.id, l.agent_id, l.at, l.from_state, l.to_state, l.reason, l.cause,
     l.detail, l.mode, l.call_id, l.fallback, l.offline_answering";

fn status_from_row(r: &Row<'_>) -> Result<(i64, AgentStatusRecord), StoreError> {
    let id: i64 = r.get(0)?;
    let key = format!("id {id}");
    let record = AgentStatusRecord {
        agent: AgentId(r.get(1)?),
        at: time_from_sql(&r.get::<_, String>(2)?, "agent_status_log", &key)?,
        from: agent_state_from_sql(&r.get::<_, String>(3)?, &key)?,
        to: agent_state_from_sql(&r.get::<_, String>(4)?, &key)?,
        reason: r.get(5)?,
        cause: cause_from_sql(&r.get::<_, String>(6)?, &key)?,
        detail: r.get(7)?,
        mode: r
            .get::<_, Option<String>>(8)?
            .map(|m| answer_mode_from_sql(&m, "agent_status_log", &key))
            .transpose()?,
        call: r.get::<_, Option<i64>>(9)?.map(CallId),
        fallback: r.get(10)?,
        offline_answering: r.get(11)?,
    };
    Ok((id, record))
}

impl Store {
    /// Status-log rows matching `f`, newest first, at most `f.limit`.
    pub fn status_log(&self, f: &StatusFilter) -> Result<Vec<StatusLogRow>, StoreError> {
        let sql = format!(
            "SELECT {STATUS_COLUMNS}, coalesce(a.number, ''), coalesce(a.name, ''),
                 (SELECT n.at FROM agent_status_log n
                  WHERE n.agent_id = l.agent_id AND n.id > l.id ORDER BY n.id LIMIT 1)
             FROM agent_status_log l LEFT JOIN agents a ON a.id = l.agent_id
             WHERE (?1 IS NULL OR l.agent_id = ?1) AND (?2 IS NULL OR l.at >= ?2)
                 AND (?3 IS NULL OR l.at < ?3) AND (?4 IS NULL OR l.to_state = ?4)
             ORDER BY l.id DESC LIMIT ?5"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let limit = i64::try_from(f.limit).unwrap_or(i64::MAX);
        let mut rows = stmt.query(params![
            f.agent.map(|a| a.0),
            f.from.as_ref().map(time_to_sql),
            f.to.as_ref().map(time_to_sql),
            f.state.map(AgentState::as_str),
            limit
        ])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let (id, record) = status_from_row(r)?;
            let until = r
                .get::<_, Option<String>>(14)?
                .map(|t| time_from_sql(&t, "agent_status_log", &format!("id {id}")))
                .transpose()?;
            out.push(StatusLogRow {
                id,
                number: r.get(12)?,
                name: r.get(13)?,
                record,
                until,
            });
        }
        Ok(out)
    }

    /// The agent's status-log row in force at `at` (their last at or before it).
    pub fn status_at(
        &self,
        agent: AgentId,
        at: DateTime<Utc>,
    ) -> Result<Option<AgentStatusRecord>, StoreError> {
        let sql = format!(
            "SELECT {STATUS_COLUMNS} FROM agent_status_log l
             WHERE l.agent_id = ?1 AND l.at <= ?2 ORDER BY l.id DESC LIMIT 1"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params![agent.0, time_to_sql(&at)])?;
        rows.next()?
            .map(|r| status_from_row(r).map(|(_, rec)| rec))
            .transpose()
    }

    /// Every status-log row the call caused (rung, answered, missed, withdrawn), in
    /// order, with the agent's number.
    pub fn status_of_call(
        &self,
        call: CallId,
    ) -> Result<Vec<(String, AgentStatusRecord)>, StoreError> {
        let sql = format!(
            "SELECT {STATUS_COLUMNS}, coalesce(a.number, '')
             FROM agent_status_log l LEFT JOIN agents a ON a.id = l.agent_id
             WHERE l.call_id = ?1 ORDER BY l.id"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params![call.0])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let (_, record) = status_from_row(r)?;
            out.push((r.get(12)?, record));
        }
        Ok(out)
    }

    /// The group's members now: id, number, name, in agent order.
    pub fn group_members(
        &self,
        group: GroupId,
    ) -> Result<Vec<(AgentId, String, String)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT a.id, a.number, a.name FROM group_members m JOIN agents a ON a.id = m.agent_id
             WHERE m.group_id = ?1 ORDER BY a.id",
        )?;
        let mut rows = stmt.query(params![group.0])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push((AgentId(r.get(0)?), r.get(1)?, r.get(2)?));
        }
        Ok(out)
    }

    /// A skill group's name, if it still exists.
    pub fn group_name(&self, group: GroupId) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT name FROM skill_groups WHERE id = ?1",
                params![group.0],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// An agent's number and name by id, if the agent still exists.
    pub fn agent_named_by_id(
        &self,
        agent: AgentId,
    ) -> Result<Option<(String, String)>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT number, name FROM agents WHERE id = ?1",
                params![agent.0],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Queue calls started in `[since, until)`, per group (in group order): how many
    /// joined, were answered (`within_secs` of joining or not), abandoned, or ended
    /// unanswered otherwise. Calls still waiting count only as offered.
    pub fn queue_figures(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        within_secs: u32,
    ) -> Result<Vec<QueueFigures>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT group_id, count(*),
                 coalesce(sum(answered_at IS NOT NULL), 0),
                 coalesce(sum(answered_at IS NOT NULL AND coalesce(wait_secs, 0) <= ?3), 0),
                 coalesce(sum(answered_at IS NULL AND ended_at IS NOT NULL
                     AND hangup_by = 'caller'), 0),
                 coalesce(sum(answered_at IS NULL AND ended_at IS NOT NULL
                     AND coalesce(hangup_by, '') <> 'caller'), 0)
             FROM calls
             WHERE group_id IS NOT NULL AND started_at >= ?1 AND started_at < ?2
             GROUP BY group_id ORDER BY group_id",
        )?;
        let mut rows = stmt.query(params![
            time_to_sql(&since),
            time_to_sql(&until),
            within_secs
        ])?;
        let mut out = Vec::new();
        let n = |r: &Row<'_>, i: usize| -> Result<u32, StoreError> {
            Ok(u32::try_from(r.get::<_, i64>(i)?).unwrap_or(0))
        };
        while let Some(r) = rows.next()? {
            out.push(QueueFigures {
                group: r.get::<_, Option<i64>>(0)?.map(GroupId),
                offered: n(r, 1)?,
                answered: n(r, 2)?,
                answered_in_time: n(r, 3)?,
                abandoned: n(r, 4)?,
                unanswered: n(r, 5)?,
            });
        }
        Ok(out)
    }
}
