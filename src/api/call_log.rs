//! `GET /api/v1/agents/{n}/calls`: an agent's own calls (my calls, S16, and the
//! desk-phone calls of S14), with the advanced query's filters (date range, number,
//! direction, result, …: `records/query.rs`); and the API's one connection to the
//! store, which the web accounts, the audit log and the records area use too
//! (`with_store`), with the wake-up of the export thread.
//!
//! The API thread keeps one read connection, opened on first use, so a request
//! never waits on the writer (SQLite WAL: readers and the writer do not block each
//! other). Owns no state of the switchboard's: what is on the list is what the
//! store has written, a moment behind the live call bar.

use std::cell::RefCell;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use crossbeam_channel::Sender;

use crate::store::{CallRow, Store, StoreError};

use super::records::query::Use;
use super::routes::{Answer, error, error_owned};
use super::table::{Ctx, Route, Who};

/// An agent's own calls (`table.rs`).
pub const ROUTES: &[Route] = &[Route {
    method: "GET",
    path: "/agents/{agent}/calls",
    who: Who::OwnAgent,
    run: |ctx: &Ctx<'_>| ctx.rooms.log.agent_calls(ctx, ctx.param("agent")),
}];

/// The store, as the API reads it; `None` when there is no database (unit tests).
pub struct CallLog {
    path: Option<PathBuf>,
    store: RefCell<Option<Store>>,
    /// Wakes the export thread (`records/export.rs`) when a task is queued.
    exports: Option<Sender<()>>,
}

impl CallLog {
    pub fn new(path: PathBuf) -> CallLog {
        CallLog {
            path: Some(path),
            store: RefCell::new(None),
            exports: None,
        }
    }

    /// The same, waking the export thread through `wake` when a task is queued.
    pub fn with_exports(mut self, wake: Sender<()>) -> CallLog {
        self.exports = Some(wake);
        self
    }

    /// No database: every read is a 503.
    #[cfg(test)]
    pub fn none() -> CallLog {
        CallLog {
            path: None,
            store: RefCell::new(None),
            exports: None,
        }
    }

    /// Tells the export thread a task is waiting (it also looks by itself).
    pub fn wake_exports(&self) {
        if let Some(wake) = &self.exports {
            // Full: a wake-up is already pending.
            let _ = wake.try_send(());
        }
    }

    /// The data directory (recordings and exports are under it).
    pub fn data_dir(&self) -> Option<PathBuf> {
        self.path
            .as_ref()
            .map(|p| p.parent().map(PathBuf::from).unwrap_or_default())
    }

    /// `GET /api/v1/agents/{agent}/calls`: the advanced query's parameters (`from`,
    /// `to` or `since`, `until`; `number`, `direction`, `result`, `recorded`, `limit`,
    /// `offset`, …), always narrowed to `agent`; a list, newest first.
    pub fn agent_calls(&self, ctx: &Ctx<'_>, agent: &str) -> Answer {
        let mut q = match super::records::parse_query(ctx, &ctx.query_pairs(), Use::Page) {
            Ok(q) => q,
            Err(answer) => return answer,
        };
        q.filter.agent = Some(agent.to_string());
        let rows = self.read(|s| match s.agent_by_number(agent)? {
            Some(_) => s
                .query_calls(&q.filter, q.limit, q.offset)
                .map(|(_, rows)| rows),
            None => Err(StoreError::NotFound {
                what: "agent",
                value: agent.to_string(),
            }),
        });
        match rows {
            Ok(rows) => Answer::json(200, &rows.iter().map(row_json).collect::<Vec<_>>()),
            Err(Some(StoreError::NotFound { .. })) => {
                error_owned(404, &format!("no agent has the number {agent}"), None)
            }
            Err(Some(e)) => {
                log::error!("api: reading calls of {agent}: {e}");
                error(500, "the call log could not be read", None)
            }
            Err(None) => error(503, "the call log is not available", None),
        }
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError>,
    ) -> Result<T, Option<StoreError>> {
        self.with_store(|s| f(s))
    }

    /// Runs `f` on the API's connection (web accounts, the audit log); `Err(None)`
    /// when there is no database.
    pub fn with_store<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError>,
    ) -> Result<T, Option<StoreError>> {
        let path = self.path.as_ref().ok_or(None)?;
        let mut slot = self.store.borrow_mut();
        if slot.is_none() {
            *slot = Some(Store::open(path).map_err(Some)?);
        }
        let store = slot.as_mut().ok_or(None)?;
        f(store).map_err(Some)
    }
}

/// One of my calls: the call row's own fields (`recording` is the file's path under
/// the data directory), then what the records pages show (`result`, the recording's
/// URL and length, the names).
fn row_json(r: &CallRow) -> serde_json::Value {
    let c = &r.call;
    let at = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339());
    let talk = match (c.answered_at, c.ended_at) {
        (Some(a), Some(e)) => Some((e - a).num_seconds().max(0)),
        _ => None,
    };
    serde_json::json!({
        "call": c.id.0,
        "direction": c.direction.as_str(),
        "from": c.from_number,
        "to": c.to_number,
        "service_number": c.service_number,
        "started_at": c.started_at.to_rfc3339(),
        "answered_at": at(c.answered_at),
        "ended_at": at(c.ended_at),
        "hangup_by": c.hangup_by.map(|h| h.as_str()),
        "end_cause": c.end_cause,
        "sip_code": c.sip_code,
        "recording": c.recording.as_ref().map(|p| p.display().to_string()),
        "group": c.group.map(|g| g.0),
        "wait_secs": c.wait_secs,
        "hold_secs": c.hold_secs,
        "survey_score": c.survey_score,
        "result": r.result.as_str(),
        "talk_secs": talk,
        "agent": r.agent_number,
        "agent_name": r.agent_name,
        "group_name": r.group_name,
        "recording_url": c.recording.as_ref().map(|_| super::records::recording_url(c.id.0)),
        "recording_secs": r.recording_secs,
    })
}
