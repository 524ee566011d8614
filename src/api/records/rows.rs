//! A call as the records area shows it: JSON for the API, cells for an export, and
//! the trail's lines. Pure.

use chrono::{DateTime, Local, Utc};
use serde_json::{Value, json};

use crate::core::CallEventRecord;
use crate::store::{CallRow, ExportTask};

use super::query::Lang;
use super::words;

fn at(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339())
}

/// Whole seconds from `a` to `b`.
fn secs(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some((b - a).num_seconds().max(0)),
        _ => None,
    }
}

/// The URL of a call's recording.
pub fn recording_url(call: i64) -> String {
    format!("/api/v1/calls/{call}/recording")
}

/// One call for the API (`GET /calls`, `/calls/missed`, `/calls/{call}`).
pub fn call_json(r: &CallRow, lang: Lang) -> Value {
    let c = &r.call;
    json!({
        "call": c.id.0,
        "direction": c.direction.as_str(),
        "from": c.from_number,
        "to": c.to_number,
        "service_number": c.service_number,
        "started_at": c.started_at.to_rfc3339(),
        "answered_at": at(c.answered_at),
        "ended_at": at(c.ended_at),
        "duration_secs": secs(Some(c.started_at), c.ended_at),
        "talk_secs": secs(c.answered_at, c.ended_at),
        "wait_secs": c.wait_secs,
        "hold_secs": c.hold_secs,
        "result": r.result.as_str(),
        "hangup_by": c.hangup_by.map(|h| h.as_str()),
        "end_cause": c.end_cause,
        "sip_code": c.sip_code,
        "agent": r.agent_number,
        "agent_name": r.agent_name,
        "group": c.group.map(|g| g.0),
        "group_name": r.group_name,
        "survey_score": c.survey_score,
        "recording": c.recording.as_ref().map(|_| json!({
            "url": recording_url(c.id.0),
            "seconds": r.recording_secs,
        })),
        "missed_reason": r.missed_reason.map(|m| m.as_str()),
        "reason_text": r.missed_reason.map(|m| words::reason(lang, m)),
        "handled": r.handled.as_ref().map(|h| json!({
            "by": h.by,
            "at": h.at.to_rfc3339(),
            "note": h.note,
        })),
    })
}

/// One line of a call's trail.
pub fn event_json(e: &CallEventRecord) -> Value {
    json!({
        "seq": e.seq,
        "at": e.at.to_rfc3339(),
        "kind": e.kind.as_str(),
        "party": e.party,
        "sip_code": e.sip_code,
        "detail": e.detail,
    })
}

/// The URL an export's file is downloaded from.
pub fn export_file_url(id: i64) -> String {
    format!("/api/v1/exports/{id}/file")
}

/// One export task for the API.
pub fn export_json(t: &ExportTask) -> Value {
    let filters: Value = serde_json::from_str(&t.filters).unwrap_or(Value::Null);
    let lang = Lang::parse(&t.language).unwrap_or(Lang::ZhCn);
    json!({
        "id": t.id,
        "state": t.state,
        "format": t.format,
        "lang": t.language,
        "rows": t.rows,
        "bytes": t.bytes,
        "who": t.owner,
        "filters": filters,
        "error": t.error,
        "created_at": t.created_at.to_rfc3339(),
        "started_at": at(t.started_at),
        "finished_at": at(t.finished_at),
        "file_name": file_name(t, lang),
        "url": (t.state == "done").then(|| export_file_url(t.id)),
    })
}

/// The name a task's file is downloaded as, dated by the day it was asked for.
pub fn file_name(t: &ExportTask, lang: Lang) -> String {
    let date = t
        .created_at
        .with_timezone(&Local)
        .format("%Y-%m-%d")
        .to_string();
    words::file_name(lang, &date, &t.format)
}

/// One cell of an export.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Empty,
}

fn local(t: Option<DateTime<Utc>>) -> Cell {
    t.map_or(Cell::Empty, |t| {
        Cell::Text(
            t.with_timezone(&Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
        )
    })
}

fn text(s: Option<&str>) -> Cell {
    s.map_or(Cell::Empty, |s| Cell::Text(s.to_string()))
}

fn number<T: Into<f64>>(n: Option<T>) -> Cell {
    n.map_or(Cell::Empty, |n| Cell::Number(n.into()))
}

/// A call as an export's row, in the order of [`words::COLUMNS`]; times in the
/// office's local time.
pub fn cells(r: &CallRow, lang: Lang) -> Vec<Cell> {
    let c = &r.call;
    let talk = secs(c.answered_at, c.ended_at).map(|s| s as f64);
    vec![
        Cell::Number(c.id.0 as f64),
        Cell::Text(words::direction(lang, c.direction).into()),
        Cell::Text(c.from_number.clone()),
        Cell::Text(c.to_number.clone()),
        text(c.service_number.as_deref()),
        local(Some(c.started_at)),
        local(c.answered_at),
        local(c.ended_at),
        number(c.wait_secs),
        number(talk),
        Cell::Number(f64::from(c.hold_secs)),
        Cell::Text(words::result(lang, r.result).into()),
        text(r.missed_reason.map(|m| words::reason(lang, m))),
        text(r.agent_number.as_deref()),
        text(r.agent_name.as_deref()),
        text(r.group_name.as_deref()),
        text(c.hangup_by.map(|h| words::hangup_by(lang, h))),
        text(c.end_cause.as_deref()),
        number(c.sip_code),
        number(c.survey_score),
        number(r.recording_secs.map(|s| (s * 10.0).round() / 10.0)),
    ]
}
