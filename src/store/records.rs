//! Calls after the fact: the advanced query over all calls (filters, a page and the
//! total), one call with its names, the missed calls and their handled marks, the
//! choices a query form offers, and the export tasks (`api/records/`).
//!
//! A call's result (answered, abandoned, …) and a missed call's reason are worked
//! out by SQL from the row, in one place ([`RESULT_SQL`], [`REASON_SQL`]), so the
//! list, its filter and an export can never disagree. Rows for an export are handed
//! to a callback one at a time ([`Store::each_call`]): memory does not grow with the
//! row count.
//!
//! Must not know HTTP or file formats; every value from outside is a bound parameter.

use std::path::PathBuf;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Row, params, params_from_iter};

use super::read::{CALL_COLUMNS, call_from_row};
use super::rows::{bad, time_from_sql, time_to_sql};
use super::{Store, StoreError};
use crate::core::{CallDirection, CallId, CallRecord};

/// How a call ended, as the query and the pages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallResult {
    /// Someone answered (an agent, a phone, the far end of an outbound call).
    Answered,
    /// The caller hung up before anyone answered.
    Abandoned,
    /// Nobody answered in time (no agent, timeout, unavailable, cancelled).
    NoAnswer,
    /// The callee was busy.
    Busy,
    /// The callee, the carrier or the box refused the call.
    Refused,
    /// Not over yet.
    Ongoing,
}

impl CallResult {
    pub const ALL: [CallResult; 6] = [
        CallResult::Answered,
        CallResult::Abandoned,
        CallResult::NoAnswer,
        CallResult::Busy,
        CallResult::Refused,
        CallResult::Ongoing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CallResult::Answered => "answered",
            CallResult::Abandoned => "abandoned",
            CallResult::NoAnswer => "no_answer",
            CallResult::Busy => "busy",
            CallResult::Refused => "refused",
            CallResult::Ongoing => "ongoing",
        }
    }

    pub fn parse(s: &str) -> Option<CallResult> {
        CallResult::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The `result` filter: one result, or every call that ended unanswered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultFilter {
    Is(CallResult),
    /// Ended without an answer: abandoned, no answer, busy or refused.
    Unanswered,
}

/// Why an inbound call was missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissedReason {
    /// The caller hung up while waiting in a skill group's queue.
    QueueAbandoned,
    /// The caller hung up while a phone rang (a service number straight to a phone).
    RingAbandoned,
    /// The caller hung up in the IVR, before any queue or phone.
    IvrAbandoned,
    /// The queue found no agent (nobody logged in, waited too long, overflow to
    /// goodbye).
    NoAgent,
    /// The IVR ended the call (outside business hours, the end of a menu).
    IvrEnded,
    /// The box or the callee refused it (a SIP error).
    Refused,
    /// callbox stopped during the call.
    Interrupted,
    /// The phone or number it rang did not answer.
    NotAnswered,
}

impl MissedReason {
    pub const ALL: [MissedReason; 8] = [
        MissedReason::QueueAbandoned,
        MissedReason::RingAbandoned,
        MissedReason::IvrAbandoned,
        MissedReason::NoAgent,
        MissedReason::IvrEnded,
        MissedReason::Refused,
        MissedReason::Interrupted,
        MissedReason::NotAnswered,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MissedReason::QueueAbandoned => "queue_abandoned",
            MissedReason::RingAbandoned => "ring_abandoned",
            MissedReason::IvrAbandoned => "ivr_abandoned",
            MissedReason::NoAgent => "no_agent",
            MissedReason::IvrEnded => "ivr_ended",
            MissedReason::Refused => "refused",
            MissedReason::Interrupted => "interrupted",
            MissedReason::NotAnswered => "not_answered",
        }
    }

    pub fn parse(s: &str) -> Option<MissedReason> {
        MissedReason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// What to look for. Every field narrows; the default finds every call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallFilter {
    /// Started at or after.
    pub from: Option<DateTime<Utc>>,
    /// Started before.
    pub to: Option<DateTime<Utc>>,
    /// Part of the caller's or the callee's number.
    pub number: Option<String>,
    pub direction: Option<CallDirection>,
    pub result: Option<ResultFilter>,
    /// The agent number of who took or made it.
    pub agent: Option<String>,
    /// The skill group id whose queue it went through.
    pub group: Option<i64>,
    pub service_number: Option<String>,
    /// Waited in a queue at least this long.
    pub min_wait_secs: Option<u32>,
    /// Has a recording (true) or has none (false).
    pub recorded: Option<bool>,
    /// Only missed calls: inbound, ended, nobody answered.
    pub missed: bool,
    /// Marked handled (true) or not (false).
    pub handled: Option<bool>,
}

/// A missed call's handled mark.
#[derive(Debug, Clone, PartialEq)]
pub struct Handled {
    pub by: String,
    pub at: DateTime<Utc>,
    pub note: String,
}

/// One call as the records pages show it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRow {
    pub call: CallRecord,
    pub agent_number: Option<String>,
    pub agent_name: Option<String>,
    pub group_name: Option<String>,
    /// The recording's length once the media room closed it.
    pub recording_secs: Option<f64>,
    pub result: CallResult,
    /// Set for missed calls (inbound, ended, unanswered).
    pub missed_reason: Option<MissedReason>,
    pub handled: Option<Handled>,
}

/// What a query form offers to pick from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilterChoices {
    /// Skill groups: (id, name), by name.
    pub groups: Vec<(i64, String)>,
    /// Agents: (number, name), by number.
    pub agents: Vec<(String, String)>,
    /// Service numbers, in order.
    pub service_numbers: Vec<String>,
}

/// An export task.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportTask {
    pub id: i64,
    /// The user name of whoever asked ("" for this machine).
    pub owner: String,
    /// "csv" or "xlsx".
    pub format: String,
    /// "zh-CN" or "en": the headers' and words' language.
    pub language: String,
    /// The query, as JSON.
    pub filters: String,
    /// "queued", "running", "done" or "failed".
    pub state: String,
    pub rows: u64,
    pub bytes: Option<u64>,
    /// The complete file (absolute), once done.
    pub file: Option<PathBuf>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A call's result from its row.
const RESULT_SQL: &str = "CASE
    WHEN c.answered_at IS NOT NULL THEN 'answered'
    WHEN c.ended_at IS NULL THEN 'ongoing'
    WHEN c.hangup_by = 'caller' THEN 'abandoned'
    WHEN c.sip_code IN (486, 600) THEN 'busy'
    WHEN c.sip_code >= 400 AND c.sip_code NOT IN (408, 480, 487) THEN 'refused'
    ELSE 'no_answer' END";

/// A missed call: inbound, ended, nobody answered.
const MISSED_SQL: &str =
    "(c.direction = 'inbound' AND c.answered_at IS NULL AND c.ended_at IS NOT NULL)";

/// Why a missed call was missed (NULL for other calls).
const REASON_SQL: &str = "CASE WHEN NOT (c.direction = 'inbound' AND c.answered_at IS NULL
        AND c.ended_at IS NOT NULL) THEN NULL
    WHEN c.end_cause LIKE 'interrupted%' THEN 'interrupted'
    WHEN c.hangup_by = 'caller' AND c.group_id IS NOT NULL THEN 'queue_abandoned'
    WHEN c.hangup_by = 'caller' AND EXISTS (SELECT 1 FROM call_events e
        WHERE e.call_id = c.id AND e.kind IN ('ringing', 'agent_offered')) THEN 'ring_abandoned'
    WHEN c.hangup_by = 'caller' THEN 'ivr_abandoned'
    WHEN c.group_id IS NOT NULL THEN 'no_agent'
    WHEN c.hangup_by = 'system' AND coalesce(c.sip_code, 200) < 300 THEN 'ivr_ended'
    WHEN c.hangup_by = 'system' AND c.sip_code >= 400 THEN 'refused'
    ELSE 'not_answered' END";

const JOINS: &str = "FROM calls c
    LEFT JOIN agents a ON a.id = c.agent_id
    LEFT JOIN skill_groups g ON g.id = c.group_id
    LEFT JOIN recordings r ON r.path = c.recording
    LEFT JOIN missed_handled h ON h.call_id = c.id";

/// The columns of [`CallRow`]: the call's own (as `read.rs` reads them), then the
/// names, the recording's length, the handled mark, the result and the reason.
fn select_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        let call = CALL_COLUMNS
            .split(',')
            .map(|c| format!("c.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "SELECT {call}, a.number, a.name, g.name, r.seconds, h.by_user, h.at, h.note,
                 {RESULT_SQL}, {REASON_SQL} {JOINS}"
        )
    })
}

/// Columns of `select_sql` before the extras.
const CALL_COLUMN_COUNT: usize = 20;

/// The WHERE clause (with its leading `WHERE`, or empty) and its values, in order.
fn where_sql(f: &CallFilter) -> (String, Vec<Value>) {
    let mut parts: Vec<String> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    if let Some(from) = &f.from {
        parts.push("c.started_at >= ?".into());
        values.push(Value::Text(time_to_sql(from)));
    }
    if let Some(to) = &f.to {
        parts.push("c.started_at < ?".into());
        values.push(Value::Text(time_to_sql(to)));
    }
    if let Some(number) = &f.number {
        parts.push("(instr(c.from_number, ?) > 0 OR instr(c.to_number, ?) > 0)".into());
        values.push(Value::Text(number.clone()));
        values.push(Value::Text(number.clone()));
    }
    if let Some(d) = f.direction {
        parts.push("c.direction = ?".into());
        values.push(Value::Text(d.as_str().into()));
    }
    match f.result {
        Some(ResultFilter::Is(r)) => {
            parts.push(format!("({RESULT_SQL}) = ?"));
            values.push(Value::Text(r.as_str().into()));
        }
        Some(ResultFilter::Unanswered) => {
            parts.push("(c.answered_at IS NULL AND c.ended_at IS NOT NULL)".into());
        }
        None => {}
    }
    if let Some(agent) = &f.agent {
        parts.push("c.agent_id = (SELECT id FROM agents WHERE number = ?)".into());
        values.push(Value::Text(agent.clone()));
    }
    if let Some(group) = f.group {
        parts.push("c.group_id = ?".into());
        values.push(Value::Integer(group));
    }
    if let Some(number) = &f.service_number {
        parts.push("c.service_number = ?".into());
        values.push(Value::Text(number.clone()));
    }
    if let Some(secs) = f.min_wait_secs {
        parts.push("c.wait_secs >= ?".into());
        values.push(Value::Integer(i64::from(secs)));
    }
    match f.recorded {
        Some(true) => parts.push("c.recording IS NOT NULL".into()),
        Some(false) => parts.push("c.recording IS NULL".into()),
        None => {}
    }
    if f.missed {
        parts.push(MISSED_SQL.into());
    }
    match f.handled {
        Some(true) => parts.push("h.call_id IS NOT NULL".into()),
        Some(false) => parts.push("h.call_id IS NULL".into()),
        None => {}
    }
    if parts.is_empty() {
        (String::new(), values)
    } else {
        (format!("WHERE {}", parts.join(" AND ")), values)
    }
}

fn row_from_sql(r: &Row<'_>) -> Result<CallRow, StoreError> {
    let call = call_from_row(r)?;
    let key = format!("id {}", call.id.0);
    let n = CALL_COLUMN_COUNT;
    let handled = match r.get::<_, Option<String>>(n + 4)? {
        Some(by) => Some(Handled {
            by,
            at: time_from_sql(&r.get::<_, String>(n + 5)?, "missed_handled", &key)?,
            note: r.get(n + 6)?,
        }),
        None => None,
    };
    let result: String = r.get(n + 7)?;
    let result =
        CallResult::parse(&result).ok_or_else(|| bad("calls", &key, format!("result {result}")))?;
    let missed_reason = r
        .get::<_, Option<String>>(n + 8)?
        .map(|s| MissedReason::parse(&s).ok_or_else(|| bad("calls", &key, format!("reason {s}"))))
        .transpose()?;
    Ok(CallRow {
        call,
        agent_number: r.get(n)?,
        agent_name: r.get(n + 1)?,
        group_name: r.get(n + 2)?,
        recording_secs: r.get(n + 3)?,
        result,
        missed_reason,
        handled,
    })
}

const EXPORT_COLUMNS: &str = "id, owner, format, language, filters, state, rows, bytes, file,
    error, created_at, started_at, finished_at";

impl Store {
    /// The calls matching `f`, newest first: `limit` of them after skipping `offset`,
    /// and how many match in all.
    pub fn query_calls(
        &self,
        f: &CallFilter,
        limit: usize,
        offset: usize,
    ) -> Result<(u64, Vec<CallRow>), StoreError> {
        let (clause, values) = where_sql(f);
        // One read transaction: the total and the page see the same calls.
        let _snapshot = self.conn.unchecked_transaction()?;
        let total: i64 = self.conn.query_row(
            &format!(
                "SELECT count(*) FROM calls c
                 LEFT JOIN missed_handled h ON h.call_id = c.id {clause}"
            ),
            params_from_iter(values.iter()),
            |r| r.get(0),
        )?;
        let sql = format!(
            "{} {clause} ORDER BY c.started_at DESC, c.id DESC LIMIT ? OFFSET ?",
            select_sql()
        );
        let mut page = values;
        page.push(Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
        page.push(Value::Integer(i64::try_from(offset).unwrap_or(i64::MAX)));
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(params_from_iter(page.iter()))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(row_from_sql(r)?);
        }
        Ok((u64::try_from(total).unwrap_or(0), out))
    }

    /// Every call matching `f`, newest first, handed to `each` one at a time (nothing
    /// is gathered); `each` returns false to stop. Returns how many were handed over.
    pub fn each_call(
        &self,
        f: &CallFilter,
        mut each: impl FnMut(CallRow) -> bool,
    ) -> Result<u64, StoreError> {
        let (clause, values) = where_sql(f);
        let sql = format!(
            "{} {clause} ORDER BY c.started_at DESC, c.id DESC",
            select_sql()
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(params_from_iter(values.iter()))?;
        let mut n = 0;
        while let Some(r) = rows.next()? {
            n += 1;
            if !each(row_from_sql(r)?) {
                break;
            }
        }
        Ok(n)
    }

    /// One call as the records pages show it.
    pub fn call_row(&self, id: CallId) -> Result<Option<CallRow>, StoreError> {
        let sql = format!("{} WHERE c.id = ?1", select_sql());
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params![id.0])?;
        rows.next()?.map(row_from_sql).transpose()
    }

    /// Marks call `id` handled by `by` (replacing an earlier mark), or clears the mark
    /// (`note` None). An unknown call is [`StoreError::NotFound`].
    pub fn set_handled(
        &mut self,
        id: CallId,
        by: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let exists: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM calls WHERE id = ?1)",
            params![id.0],
            |r| r.get(0),
        )?;
        if !exists {
            return Err(StoreError::NotFound {
                what: "call",
                value: id.0.to_string(),
            });
        }
        match note {
            Some(note) => self.conn.execute(
                "INSERT INTO missed_handled (call_id, by_user, at, note) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (call_id) DO UPDATE SET by_user = excluded.by_user,
                     at = excluded.at, note = excluded.note",
                params![id.0, by, time_to_sql(&at), note],
            )?,
            None => self.conn.execute(
                "DELETE FROM missed_handled WHERE call_id = ?1",
                params![id.0],
            )?,
        };
        Ok(())
    }

    /// The skill groups, agents and service numbers a query form offers.
    pub fn filter_choices(&self) -> Result<FilterChoices, StoreError> {
        let groups = self
            .conn
            .prepare("SELECT id, name FROM skill_groups ORDER BY name")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        let agents = self
            .conn
            .prepare("SELECT number, name FROM agents ORDER BY number")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        let service_numbers = self
            .conn
            .prepare("SELECT number FROM service_numbers ORDER BY number")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FilterChoices {
            groups,
            agents,
            service_numbers,
        })
    }

    /// The id of the skill group named `name`.
    pub fn group_id_by_name(&self, name: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id FROM skill_groups WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Queues an export task; its id.
    pub fn add_export(
        &mut self,
        owner: &str,
        format: &str,
        language: &str,
        filters: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        self.conn.execute(
            "INSERT INTO exports (owner, format, language, filters, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![owner, format, language, filters, time_to_sql(&at)],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn export_task(&self, id: i64) -> Result<Option<ExportTask>, StoreError> {
        let sql = format!("SELECT {EXPORT_COLUMNS} FROM exports WHERE id = ?1");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params![id])?;
        rows.next()?.map(|r| self.export_from_row(r)).transpose()
    }

    /// Export tasks, newest first: `owner`'s only, or everyone's (None).
    pub fn export_tasks(
        &self,
        owner: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ExportTask>, StoreError> {
        let sql = format!(
            "SELECT {EXPORT_COLUMNS} FROM exports WHERE (?1 IS NULL OR owner = ?1)
             ORDER BY id DESC LIMIT ?2"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = stmt.query(params![owner, limit])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(self.export_from_row(r)?);
        }
        Ok(out)
    }

    /// The oldest queued task, now marked running. Looks first without writing, so
    /// an idle queue costs a read.
    pub fn claim_export(&mut self, at: DateTime<Utc>) -> Result<Option<ExportTask>, StoreError> {
        let next: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM exports WHERE state = 'queued' ORDER BY id LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let Some(id) = next else {
            return Ok(None);
        };
        let sql = format!(
            "UPDATE exports SET state = 'running', started_at = ?2, rows = 0, error = NULL
             WHERE id = ?1 AND state = 'queued' RETURNING {EXPORT_COLUMNS}"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(params![id, time_to_sql(&at)])?;
        rows.next()?.map(|r| self.export_from_row(r)).transpose()
    }

    /// Tasks a stopped daemon left running go back to the queue; how many.
    pub fn requeue_exports(&mut self) -> Result<usize, StoreError> {
        Ok(self.conn.execute(
            "UPDATE exports SET state = 'queued', rows = 0 WHERE state = 'running'",
            [],
        )?)
    }

    /// How many rows a running task has written so far; false when the task is gone
    /// (deleted meanwhile).
    pub fn export_progress(&mut self, id: i64, rows: u64) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "UPDATE exports SET rows = ?2 WHERE id = ?1 AND state = 'running'",
            params![id, i64::try_from(rows).unwrap_or(i64::MAX)],
        )?;
        Ok(n == 1)
    }

    /// A task's file is complete: `rows` rows, `bytes` long, at `file`. False when
    /// the task was removed meanwhile (the caller then removes the file).
    pub fn finish_export(
        &mut self,
        id: i64,
        rows: u64,
        bytes: u64,
        file: &std::path::Path,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let stored = super::write::stored_path(&self.data_dir, file);
        let n = self.conn.execute(
            "UPDATE exports SET state = 'done', rows = ?2, bytes = ?3, file = ?4,
                 finished_at = ?5 WHERE id = ?1",
            params![
                id,
                i64::try_from(rows).unwrap_or(i64::MAX),
                i64::try_from(bytes).unwrap_or(i64::MAX),
                stored,
                time_to_sql(&at)
            ],
        )?;
        Ok(n == 1)
    }

    /// A task failed, with why in words.
    pub fn fail_export(
        &mut self,
        id: i64,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE exports SET state = 'failed', error = ?2, finished_at = ?3 WHERE id = ?1",
            params![id, error, time_to_sql(&at)],
        )?;
        Ok(())
    }

    /// Removes a task; it as it was (the caller removes its file), or None.
    pub fn delete_export(&mut self, id: i64) -> Result<Option<ExportTask>, StoreError> {
        let task = self.export_task(id)?;
        if task.is_some() {
            self.conn
                .execute("DELETE FROM exports WHERE id = ?1", params![id])?;
        }
        Ok(task)
    }

    /// Tasks created before `before` (for the clean-up of old exports).
    pub fn exports_before(&self, before: DateTime<Utc>) -> Result<Vec<ExportTask>, StoreError> {
        let sql = format!(
            "SELECT {EXPORT_COLUMNS} FROM exports WHERE created_at < ?1 AND state <> 'running'
             ORDER BY id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(params![time_to_sql(&before)])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(self.export_from_row(r)?);
        }
        Ok(out)
    }

    fn export_from_row(&self, r: &Row<'_>) -> Result<ExportTask, StoreError> {
        let id: i64 = r.get(0)?;
        let key = format!("id {id}");
        let time = |i: usize| -> Result<Option<DateTime<Utc>>, StoreError> {
            r.get::<_, Option<String>>(i)?
                .map(|s| time_from_sql(&s, "exports", &key))
                .transpose()
        };
        let count = |v: Option<i64>| v.map(|v| u64::try_from(v).unwrap_or(0));
        Ok(ExportTask {
            id,
            owner: r.get(1)?,
            format: r.get(2)?,
            language: r.get(3)?,
            filters: r.get(4)?,
            state: r.get(5)?,
            rows: count(r.get(6)?).unwrap_or(0),
            bytes: count(r.get(7)?),
            file: r
                .get::<_, Option<String>>(8)?
                .map(|f| self.data_dir.join(f)),
            error: r.get(9)?,
            created_at: time_from_sql(&r.get::<_, String>(10)?, "exports", &key)?,
            started_at: time(11)?,
            finished_at: time(12)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{CallEventKind, CallEventRecord, HangupBy, StoreOp};
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, h, m, 0).unwrap()
    }

    fn call(store: &mut Store, id: i64, f: impl FnOnce(&mut CallRecord)) {
        let mut c = CallRecord::begun(
            CallId(id),
            CallDirection::Inbound,
            "13900001111".into(),
            "4008001234".into(),
            at(9, id as u32),
        );
        c.ended_at = Some(at(9, id as u32 + 1));
        c.hangup_by = Some(HangupBy::Caller);
        f(&mut c);
        store.apply(&StoreOp::Call(Box::new(c))).unwrap();
    }

    #[test]
    fn results_and_reasons_come_from_the_row() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("callbox.db")).unwrap();
        let group = store
            .add_group(&crate::store::NewGroup::new("售后服务"))
            .unwrap();
        call(&mut store, 1, |c| c.answered_at = Some(at(9, 1)));
        call(&mut store, 2, |c| c.group = Some(group));
        call(&mut store, 3, |_| {});
        call(&mut store, 4, |c| {
            c.hangup_by = Some(HangupBy::System);
            c.group = Some(group);
            c.sip_code = Some(200);
        });
        call(&mut store, 5, |c| {
            c.direction = CallDirection::Outbound;
            c.hangup_by = Some(HangupBy::Callee);
            c.sip_code = Some(486);
        });
        call(&mut store, 6, |c| {
            c.hangup_by = Some(HangupBy::System);
            c.sip_code = Some(404);
        });
        call(&mut store, 7, |c| {
            c.hangup_by = Some(HangupBy::System);
            c.sip_code = Some(200);
        });
        call(&mut store, 8, |_| {});
        store
            .apply(&StoreOp::CallEvent(Box::new(CallEventRecord {
                call: CallId(8),
                seq: 0,
                at: at(9, 8),
                kind: CallEventKind::Ringing,
                party: "1001".into(),
                sip_code: Some(180),
                detail: String::new(),
            })))
            .unwrap();
        let (total, rows) = store.query_calls(&CallFilter::default(), 50, 0).unwrap();
        assert_eq!(total, 8);
        let by_id = |id: i64| rows.iter().find(|r| r.call.id.0 == id).unwrap();
        use CallResult::*;
        use MissedReason::*;
        let want = [
            (1, Answered, None),
            (2, Abandoned, Some(QueueAbandoned)),
            (3, Abandoned, Some(IvrAbandoned)),
            (4, NoAnswer, Some(NoAgent)),
            (5, Busy, None),
            (6, CallResult::Refused, Some(MissedReason::Refused)),
            (7, NoAnswer, Some(IvrEnded)),
            (8, Abandoned, Some(RingAbandoned)),
        ];
        for (id, result, reason) in want {
            let r = by_id(id);
            assert_eq!((r.result, r.missed_reason), (result, reason), "call {id}");
        }
        assert_eq!(by_id(2).group_name.as_deref(), Some("售后服务"));
        // Newest first.
        assert_eq!(rows[0].call.id.0, 8);

        let missed = CallFilter {
            missed: true,
            ..CallFilter::default()
        };
        let (n, _) = store.query_calls(&missed, 50, 0).unwrap();
        assert_eq!(n, 6);
        store
            .set_handled(CallId(2), "admin", Some("called back"), at(10, 0))
            .unwrap();
        let open = CallFilter {
            handled: Some(false),
            ..missed.clone()
        };
        assert_eq!(store.query_calls(&open, 50, 0).unwrap().0, 5);
        let row = store.call_row(CallId(2)).unwrap().unwrap();
        assert_eq!(row.handled.unwrap().note, "called back");
        store
            .set_handled(CallId(2), "admin", None, at(10, 1))
            .unwrap();
        assert_eq!(store.query_calls(&open, 50, 0).unwrap().0, 6);
        assert!(matches!(
            store.set_handled(CallId(99), "admin", Some(""), at(10, 0)),
            Err(StoreError::NotFound { .. })
        ));
        let mut seen = Vec::new();
        let n = store
            .each_call(
                &CallFilter {
                    result: Some(ResultFilter::Unanswered),
                    ..CallFilter::default()
                },
                |r| {
                    seen.push(r.call.id.0);
                    true
                },
            )
            .unwrap();
        assert_eq!((n, seen), (7, vec![8, 7, 6, 5, 4, 3, 2]));
    }

    #[test]
    fn export_tasks_move_from_queued_to_done() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("callbox.db")).unwrap();
        let a = store
            .add_export("admin", "csv", "zh-CN", "{}", at(9, 0))
            .unwrap();
        let b = store
            .add_export("sup", "xlsx", "en", "{}", at(9, 1))
            .unwrap();
        assert_eq!(store.export_tasks(Some("sup"), 10).unwrap().len(), 1);
        assert_eq!(store.export_tasks(None, 10).unwrap()[0].id, b);
        let claimed = store.claim_export(at(9, 2)).unwrap().unwrap();
        assert_eq!((claimed.id, claimed.state.as_str()), (a, "running"));
        assert_eq!(store.requeue_exports().unwrap(), 1);
        let claimed = store.claim_export(at(9, 3)).unwrap().unwrap();
        assert_eq!(claimed.id, a);
        let file = dir.path().join("exports/1.csv");
        assert!(store.finish_export(a, 3, 100, &file, at(9, 4)).unwrap());
        let done = store.export_task(a).unwrap().unwrap();
        assert_eq!((done.state.as_str(), done.rows), ("done", 3));
        assert_eq!(done.file.as_deref(), Some(file.as_path()));
        assert_eq!(store.exports_before(at(9, 1)).unwrap().len(), 1);
        assert!(store.delete_export(a).unwrap().is_some());
        assert!(store.delete_export(a).unwrap().is_none());
    }
}
