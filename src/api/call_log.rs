//! `GET /api/v1/agents/{n}/calls`: an agent's own calls (my calls, S16, and the
//! desk-phone calls of S14), read from the store; and the API's one connection to the
//! store, which the web accounts and the audit log use too (`with_store`).
//!
//! The API thread keeps one read connection, opened on first use, so a request
//! never waits on the writer (SQLite WAL: readers and the writer do not block each
//! other). Owns no state of the switchboard's: what is on the list is what the
//! store has written, a moment behind the live call bar.

use std::cell::RefCell;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::core::CallRecord;
use crate::store::{Store, StoreError};

use super::routes::{Answer, error, error_owned};
use super::table::{Ctx, Route, Who};

/// An agent's own calls (`table.rs`).
pub const ROUTES: &[Route] = &[Route {
    method: "GET",
    path: "/agents/{agent}/calls",
    who: Who::OwnAgent,
    run: |ctx: &Ctx<'_>| ctx.rooms.log.agent_calls(ctx.param("agent"), ctx.query),
}];

/// The most rows one request returns.
const MAX_LIMIT: usize = 500;

/// The store, as the API reads it; `None` when there is no database (unit tests).
pub struct CallLog {
    path: Option<PathBuf>,
    store: RefCell<Option<Store>>,
}

impl CallLog {
    pub fn new(path: PathBuf) -> CallLog {
        CallLog {
            path: Some(path),
            store: RefCell::new(None),
        }
    }

    /// No database: every read is a 503.
    #[cfg(test)]
    pub fn none() -> CallLog {
        CallLog {
            path: None,
            store: RefCell::new(None),
        }
    }

    /// `GET /api/v1/agents/{agent}/calls?since=&until=&limit=` (RFC 3339 times).
    pub fn agent_calls(&self, agent: &str, query: &str) -> Answer {
        let mut since = None;
        let mut until = None;
        let mut limit = 50;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "since" | "until" => {
                    let Ok(at) = DateTime::parse_from_rfc3339(value) else {
                        return error_owned(
                            400,
                            &format!(
                                "expected an RFC 3339 time such as 2026-12-01T00:00:00Z, got {value:?}"
                            ),
                            Some(key.to_string()),
                        );
                    };
                    let at = at.with_timezone(&Utc);
                    if key == "since" {
                        since = Some(at);
                    } else {
                        until = Some(at);
                    }
                }
                "limit" => match value.parse::<usize>() {
                    Ok(n) if (1..=MAX_LIMIT).contains(&n) => limit = n,
                    _ => {
                        return error_owned(
                            400,
                            &format!("expected a number of rows 1-{MAX_LIMIT}, got {value:?}"),
                            Some("limit".into()),
                        );
                    }
                },
                _ => {
                    return error_owned(
                        400,
                        &format!("unknown query parameter {key:?}"),
                        Some(key.to_string()),
                    );
                }
            }
        }
        match self.read(|s| s.agent_calls(agent, since, until, limit)) {
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

fn row_json(c: &CallRecord) -> serde_json::Value {
    let at = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339());
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
    })
}
