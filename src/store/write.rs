//! Every write: admin additions (devices, trunks, service numbers; agents and groups
//! are in `agents.rs`, IVR flows in `flows.rs`) and the switchboard's call rows, call
//! trail, agent status log, audit log and hot-desking bindings.
//!
//! The `apply_*` functions take a bare `&Connection` so the writer thread can run many
//! of them inside one transaction; the `Store` methods wrap them for single use. All
//! values go through bound parameters, never into SQL text.
//!
//! The tricky part: a call row is rewritten whole on every change (an upsert on its
//! id), and its recording row is created the first time the call names a file, then
//! completed by `record_recording` when the media room closes that file (which may
//! arrive first: the statement handles both orders).

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::agents::bind;
use super::rows::{codecs_to_sql, peers_to_sql, time_to_sql};
use super::{NewDevice, NewTrunk, Store, StoreError};
use crate::core::acd::AgentStatusRecord;
use crate::core::{
    AgentId, AuditRecord, CallEventRecord, CallId, CallRecord, DeviceId, StoreOp, TrunkId,
};

impl Store {
    /// Adds a device. A user name already taken is [`StoreError::Duplicate`].
    pub fn add_device(&mut self, d: &NewDevice) -> Result<DeviceId, StoreError> {
        self.conn
            .execute(
                "INSERT INTO devices (user, password, name, static_contact, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    d.user,
                    d.password,
                    d.name,
                    d.static_contact,
                    time_to_sql(&Utc::now())
                ],
            )
            .map_err(|e| duplicate(e, "device user", &d.user))?;
        Ok(DeviceId(self.conn.last_insert_rowid()))
    }

    /// Adds a trunk. A name already taken is [`StoreError::Duplicate`].
    pub fn add_trunk(&mut self, t: &NewTrunk) -> Result<TrunkId, StoreError> {
        let reg = t.register.as_ref();
        self.conn
            .execute(
                "INSERT INTO trunks (name, host, inbound_peers, outbound_proxy, register_user,
                     register_password, register_expires, caller_id, codecs, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    t.name,
                    t.host,
                    peers_to_sql(&t.inbound_peers),
                    t.outbound_proxy,
                    reg.map(|r| &r.user),
                    reg.map(|r| &r.password),
                    reg.map(|r| r.expires_secs),
                    t.caller_id,
                    codecs_to_sql(&t.codecs),
                    time_to_sql(&Utc::now()),
                ],
            )
            .map_err(|e| duplicate(e, "trunk name", &t.name))?;
        Ok(TrunkId(self.conn.last_insert_rowid()))
    }

    /// Adds a service number reached through `trunk`, ringing `device` (if any).
    pub fn add_service_number(
        &mut self,
        number: &str,
        trunk: TrunkId,
        device: Option<DeviceId>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO service_numbers (number, trunk_id, device_id) VALUES (?1, ?2, ?3)",
                params![number, trunk.0, device.map(|d| d.0)],
            )
            .map_err(|e| {
                if StoreError::is_foreign_key_violation(&e) {
                    let device = device.map_or("none".to_owned(), |d| d.0.to_string());
                    StoreError::NotFound {
                        what: "trunk or device",
                        value: format!("(trunk {}, device {device})", trunk.0),
                    }
                } else {
                    duplicate(e, "service number", number)
                }
            })?;
        Ok(())
    }

    /// Applies one switchboard write: a call row is upserted whole, a trail line, a
    /// status-log row or an audit-log line inserted, a desk phone bound to an agent (as
    /// [`Store::bind_device`] does). A call's row must be written before its first
    /// trail line.
    pub fn apply(&mut self, op: &StoreOp) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        apply_op(&tx, &self.data_dir, op)?;
        tx.commit()?;
        Ok(())
    }

    /// Closes every call a previous run left open (killed, crashed, power cut): the
    /// row says "interrupted" and the trail gets a last line, so no call stays open
    /// forever. Returns how many were closed.
    pub fn close_interrupted_calls(&mut self, at: DateTime<Utc>) -> Result<usize, StoreError> {
        let when = time_to_sql(&at);
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO call_events (call_id, seq, at, kind, party, sip_code, detail)
             SELECT c.id, COALESCE((SELECT MAX(seq) + 1 FROM call_events e WHERE e.call_id = c.id), 0),
                    ?1, 'failed', 'system', NULL, ?2
             FROM calls c WHERE c.ended_at IS NULL",
            params![when, INTERRUPTED],
        )?;
        let closed = tx.execute(
            "UPDATE calls SET ended_at = ?1, hangup_by = 'system', end_cause = ?2 WHERE ended_at IS NULL",
            params![when, INTERRUPTED],
        )?;
        tx.commit()?;
        Ok(closed)
    }

    /// Records that the recording at `path` is closed with `seconds` of audio.
    pub fn record_recording(&mut self, path: &Path, seconds: f64) -> Result<(), StoreError> {
        apply_recording(&self.conn, &self.data_dir, path, seconds)
    }
}

/// The end cause of calls cut by a stop the daemon did not see coming.
pub const INTERRUPTED: &str = "interrupted: callbox stopped during the call";

/// What a write is about, for the log line when it fails. Agent status rows name
/// their call only when a call caused the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpSubject {
    Call(CallId),
    AgentStatus {
        agent: AgentId,
        call: Option<CallId>,
    },
    Binding {
        agent: AgentId,
        device: DeviceId,
    },
    /// An audit-log line, about a call or not.
    Audit(Option<CallId>),
}

impl std::fmt::Display for OpSubject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpSubject::Call(call) => write!(f, "{call}"),
            OpSubject::Audit(Some(call)) => write!(f, "the audit log of {call}"),
            OpSubject::Audit(None) => write!(f, "the audit log"),
            OpSubject::AgentStatus { agent, call: None } => {
                write!(f, "the status of agent {}", agent.0)
            }
            OpSubject::AgentStatus {
                agent,
                call: Some(call),
            } => write!(f, "the status of agent {} ({call})", agent.0),
            OpSubject::Binding { agent, device } => {
                write!(f, "binding device {} to agent {}", device.0, agent.0)
            }
        }
    }
}

pub fn op_subject(op: &StoreOp) -> OpSubject {
    match op {
        StoreOp::Call(c) => OpSubject::Call(c.id),
        StoreOp::CallEvent(e) => OpSubject::Call(e.call),
        StoreOp::AgentStatus(s) => OpSubject::AgentStatus {
            agent: s.agent,
            call: s.call,
        },
        StoreOp::BindDevice { agent, device } => OpSubject::Binding {
            agent: *agent,
            device: *device,
        },
        StoreOp::Audit(a) => OpSubject::Audit(a.call),
    }
}

pub fn apply_op(conn: &Connection, data_dir: &Path, op: &StoreOp) -> Result<(), StoreError> {
    match op {
        StoreOp::Call(c) => upsert_call(conn, data_dir, c),
        StoreOp::CallEvent(e) => insert_event(conn, e),
        StoreOp::AgentStatus(s) => insert_agent_status(conn, s),
        StoreOp::BindDevice { agent, device } => bind(conn, *agent, Some(*device)),
        StoreOp::Audit(a) => insert_audit(conn, a),
    }
}

fn insert_audit(conn: &Connection, a: &AuditRecord) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO audit_log (at, actor, action, call_id, detail)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        time_to_sql(&a.at),
        a.actor,
        a.action,
        a.call.map(|c| c.0),
        a.detail,
    ])?;
    Ok(())
}

fn upsert_call(conn: &Connection, data_dir: &Path, c: &CallRecord) -> Result<(), StoreError> {
    let recording = c.recording.as_deref().map(|p| stored_path(data_dir, p));
    conn.prepare_cached(
        "INSERT INTO calls (id, direction, from_number, to_number, service_number, device_id,
             trunk_id, sip_call_id, started_at, answered_at, ended_at, hangup_by, end_cause,
             sip_code, recording, agent_id, group_id, wait_secs, hold_secs, survey_score)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
             ?18, ?19, ?20)
         ON CONFLICT (id) DO UPDATE SET
             direction = excluded.direction, from_number = excluded.from_number,
             to_number = excluded.to_number, service_number = excluded.service_number,
             device_id = excluded.device_id, trunk_id = excluded.trunk_id,
             sip_call_id = excluded.sip_call_id, started_at = excluded.started_at,
             answered_at = excluded.answered_at, ended_at = excluded.ended_at,
             hangup_by = excluded.hangup_by, end_cause = excluded.end_cause,
             sip_code = excluded.sip_code, recording = excluded.recording,
             agent_id = excluded.agent_id, group_id = excluded.group_id,
             wait_secs = excluded.wait_secs, hold_secs = excluded.hold_secs,
             survey_score = excluded.survey_score",
    )?
    .execute(params![
        c.id.0,
        c.direction.as_str(),
        c.from_number,
        c.to_number,
        c.service_number,
        c.device.map(|d| d.0),
        c.trunk.map(|t| t.0),
        c.sip_call_id,
        time_to_sql(&c.started_at),
        c.answered_at.as_ref().map(time_to_sql),
        c.ended_at.as_ref().map(time_to_sql),
        c.hangup_by.map(|h| h.as_str()),
        c.end_cause,
        c.sip_code,
        recording,
        c.agent.map(|a| a.0),
        c.group.map(|g| g.0),
        c.wait_secs,
        c.hold_secs,
        c.survey_score,
    ])?;
    if let Some(path) = recording {
        conn.prepare_cached(
            "INSERT INTO recordings (path, call_id, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (path) DO UPDATE SET call_id = excluded.call_id",
        )?
        .execute(params![path, c.id.0, time_to_sql(&Utc::now())])?;
    }
    Ok(())
}

fn insert_event(conn: &Connection, e: &CallEventRecord) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO call_events (call_id, seq, at, kind, party, sip_code, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        e.call.0,
        e.seq,
        time_to_sql(&e.at),
        e.kind.as_str(),
        e.party,
        e.sip_code,
        e.detail,
    ])?;
    Ok(())
}

fn insert_agent_status(conn: &Connection, s: &AgentStatusRecord) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO agent_status_log
             (agent_id, at, from_state, to_state, reason, cause, detail, mode, call_id,
              fallback, offline_answering)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        s.agent.0,
        time_to_sql(&s.at),
        s.from.as_str(),
        s.to.as_str(),
        s.reason,
        s.cause.as_str(),
        s.detail,
        s.mode.map(|m| m.as_str()),
        s.call.map(|c| c.0),
        s.fallback,
        s.offline_answering,
    ])?;
    Ok(())
}

pub fn apply_recording(
    conn: &Connection,
    data_dir: &Path,
    path: &Path,
    seconds: f64,
) -> Result<(), StoreError> {
    // The media room may close a file before the switchboard's call row names it; the
    // row is then created here and linked to its call when the call row arrives.
    conn.prepare_cached(
        "INSERT INTO recordings (path, call_id, seconds, created_at)
         VALUES (?1, (SELECT max(id) FROM calls WHERE recording = ?1), ?2, ?3)
         ON CONFLICT (path) DO UPDATE SET seconds = excluded.seconds",
    )?
    .execute(params![
        stored_path(data_dir, path),
        seconds,
        time_to_sql(&Utc::now())
    ])?;
    Ok(())
}

/// Paths under the data directory are stored relative to it.
pub fn stored_path(data_dir: &Path, path: &Path) -> String {
    let rel = if data_dir.as_os_str().is_empty() {
        path
    } else {
        path.strip_prefix(data_dir).unwrap_or(path)
    };
    rel.to_string_lossy().into_owned()
}

pub fn duplicate(e: rusqlite::Error, what: &'static str, value: &str) -> StoreError {
    if StoreError::is_unique_violation(&e) {
        StoreError::Duplicate {
            what,
            value: value.to_owned(),
        }
    } else {
        StoreError::Sqlite(e)
    }
}
