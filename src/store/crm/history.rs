//! A customer's history and what the screen pop reads of a call: calls by number
//! with their agent and group named, counts of past calls and open tickets, a
//! call's row and trail; and which calls and numbers an agent has had (the API's
//! rule for what an agent may see). Reads only.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::{CallFacts, CustomerCall};
use crate::core::CallId;
use crate::store::rows::time_from_sql;
use crate::store::{Store, StoreError};

const CALL_COLUMNS: &str = "c.id, c.direction, c.from_number, c.to_number, c.service_number,
    c.started_at, c.answered_at, c.ended_at, c.end_cause, c.hangup_by, a.number, a.name,
    g.name, c.wait_secs, c.recording IS NOT NULL";
const CALL_JOINS: &str = "calls c LEFT JOIN agents a ON a.id = c.agent_id
    LEFT JOIN skill_groups g ON g.id = c.group_id";

/// Is `number` a call of agent `?{agent}`'s: one they took or made, or were rung
/// for. `{call}` names the calls row alias. Used in two queries.
pub(super) fn agent_had_call(call: &str, agent: &str) -> String {
    format!(
        "({call}.agent_id = (SELECT id FROM agents WHERE number = ?{agent})
          OR EXISTS (SELECT 1 FROM call_events e WHERE e.call_id = {call}.id
                     AND e.kind IN ('agent_offered', 'answered') AND e.party = ?{agent}))"
    )
}

impl Store {
    /// The calls from and to `number` (exactly as stored), newest first.
    pub fn customer_calls(
        &self,
        number: &str,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<CustomerCall>, u64), StoreError> {
        let total: i64 = self.conn.query_row(
            "SELECT (SELECT count(*) FROM calls WHERE from_number = ?1)
                  + (SELECT count(*) FROM calls WHERE to_number = ?1 AND from_number <> ?1)",
            params![number],
            |r| r.get(0),
        )?;
        let sql = format!(
            "SELECT {CALL_COLUMNS} FROM {CALL_JOINS}
             WHERE c.from_number = ?1 OR c.to_number = ?1
             ORDER BY c.started_at DESC, c.id DESC LIMIT ?2 OFFSET ?3"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params![
            number,
            i64::try_from(limit).unwrap_or(i64::MAX),
            i64::try_from(offset).unwrap_or(i64::MAX)
        ])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(call_from_row(r)?);
        }
        Ok((out, u64::try_from(total).unwrap_or(0)))
    }

    /// How many calls from or to `number` there are besides `except`, and how many
    /// of its tickets are open: the screen pop's "past calls" and "open tickets".
    pub fn customer_counts(
        &self,
        number: &str,
        except: Option<CallId>,
    ) -> Result<(u64, u64), StoreError> {
        let except = except.map(|c| c.0);
        let (calls, open): (i64, i64) = self.conn.query_row(
            "SELECT (SELECT count(*) FROM calls
                     WHERE (from_number = ?1 OR to_number = ?1) AND (?2 IS NULL OR id <> ?2)),
                    (SELECT count(*) FROM tickets
                     WHERE customer = ?1 AND status IN ('open', 'processing'))",
            params![number, except],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((
            u64::try_from(calls).unwrap_or(0),
            u64::try_from(open).unwrap_or(0),
        ))
    }

    /// The call `id` with its agent and group named, and its trail, for the pop.
    pub fn call_facts(&self, id: CallId) -> Result<Option<CallFacts>, StoreError> {
        let Some(call) = self.crm_call_row(id.0)? else {
            return Ok(None);
        };
        Ok(Some(CallFacts {
            call,
            trail: self.call_events(id)?,
        }))
    }

    /// Has agent `agent` (a number) had call `id`: taken it, or been rung for it?
    pub fn agent_had_call(&self, agent: &str, id: CallId) -> Result<bool, StoreError> {
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM calls c WHERE c.id = ?1 AND {})",
            agent_had_call("c", "2")
        );
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row(params![id.0, agent], |r| r.get(0))?)
    }

    /// Has agent `agent` had any call from or to `number`: the customers whose cards
    /// and history an agent may see.
    pub fn agent_knows_number(&self, agent: &str, number: &str) -> Result<bool, StoreError> {
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM calls c WHERE (c.from_number = ?1 OR c.to_number = ?1)
                 AND {})",
            agent_had_call("c", "2")
        );
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row(params![number, agent], |r| r.get(0))?)
    }

    pub(super) fn crm_call_row(&self, id: i64) -> Result<Option<CustomerCall>, StoreError> {
        let sql = format!("SELECT {CALL_COLUMNS} FROM {CALL_JOINS} WHERE c.id = ?1");
        self.conn
            .prepare_cached(&sql)?
            .query_row(params![id], |r| Ok(call_from_row(r)))
            .optional()?
            .transpose()
    }
}

fn call_from_row(r: &rusqlite::Row<'_>) -> Result<CustomerCall, StoreError> {
    let id: i64 = r.get(0)?;
    let key = format!("id {id}");
    let time = |i: usize| -> Result<Option<DateTime<Utc>>, StoreError> {
        r.get::<_, Option<String>>(i)?
            .map(|s| time_from_sql(&s, "calls", &key))
            .transpose()
    };
    Ok(CustomerCall {
        id,
        direction: r.get(1)?,
        from_number: r.get(2)?,
        to_number: r.get(3)?,
        service_number: r.get(4)?,
        started_at: time_from_sql(&r.get::<_, String>(5)?, "calls", &key)?,
        answered_at: time(6)?,
        ended_at: time(7)?,
        end_cause: r.get(8)?,
        hangup_by: r.get(9)?,
        agent: r.get(10)?,
        agent_name: r.get(11)?,
        group: r.get(12)?,
        wait_secs: r
            .get::<_, Option<i64>>(13)?
            .map(|s| u32::try_from(s).unwrap_or(0)),
        recorded: r.get(14)?,
    })
}
