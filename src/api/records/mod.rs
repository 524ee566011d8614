//! Calls after the fact (S16-S18): the advanced query over all calls, one call's
//! detail and trail, its recording (an agent only their own), missed calls with their
//! reasons and handled marks, the choices a query form offers, and export tasks.
//!
//! Routes: `GET /calls` (the query), `GET /calls/filters`, `GET /calls/missed`,
//! `GET /calls/{call}`, `GET /calls/{call}/recording`, `POST /calls/{call}/handled`,
//! `POST|GET /exports`, `GET|DELETE /exports/{id}`, `GET /exports/{id}/file`.
//! (`POST /calls` is click-to-call, in `calls.rs`.)
//!
//! An agent's session sees only the agent's own calls whatever it asks: the query is
//! narrowed to their number, and another agent's call or recording is 403. Exports
//! run on their own thread (`export.rs`), never on an API worker. Must not write SQL
//! (`store/records.rs`) nor hold call state.

pub mod export;
pub mod query;
mod rows;
mod sheet;
mod words;

use chrono::Utc;
use serde_json::{Value, json};

use crate::core::CallId;
use crate::store::{CallRow, ExportTask, Role, Store, StoreError};

use super::routes::{Answer, error, error_owned};
use super::table::{Ctx, Route, Who};
use query::{Lang, Query, Use};

pub use export::spawn as spawn_exports;
pub use rows::recording_url;

/// This area's routes (`table.rs`). The fixed `/calls/...` paths come before
/// `/calls/{call}`.
pub const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/calls",
        who: Who::Anyone,
        run: list_calls,
    },
    Route {
        method: "GET",
        path: "/calls/filters",
        who: Who::Supervisor,
        run: filter_choices,
    },
    Route {
        method: "GET",
        path: "/calls/missed",
        who: Who::Supervisor,
        run: missed_calls,
    },
    Route {
        method: "GET",
        path: "/calls/{call}",
        who: Who::Anyone,
        run: call_detail,
    },
    Route {
        method: "GET",
        path: "/calls/{call}/recording",
        who: Who::Anyone,
        run: recording,
    },
    Route {
        method: "POST",
        path: "/calls/{call}/handled",
        who: Who::Supervisor,
        run: mark_handled,
    },
    Route {
        method: "POST",
        path: "/exports",
        who: Who::Anyone,
        run: create_export,
    },
    Route {
        method: "GET",
        path: "/exports",
        who: Who::Anyone,
        run: list_exports,
    },
    Route {
        method: "GET",
        path: "/exports/{id}",
        who: Who::Anyone,
        run: get_export,
    },
    Route {
        method: "DELETE",
        path: "/exports/{id}",
        who: Who::Anyone,
        run: delete_export,
    },
    Route {
        method: "GET",
        path: "/exports/{id}/file",
        who: Who::Anyone,
        run: export_file,
    },
];

/// The most export tasks a list shows.
const MAX_TASKS: usize = 200;
/// The longest note on a handled mark.
const MAX_NOTE: usize = 500;

/// The HTTP answer for a store failure about `what`.
fn store_failed(e: Option<StoreError>, what: &str) -> Answer {
    match e {
        None => error(503, "the call log is not available", None),
        Some(StoreError::NotFound { what: thing, value }) => {
            error_owned(404, &format!("no {thing} {value}"), None)
        }
        Some(e) => {
            log::error!("api: {what}: {e}");
            error_owned(500, &format!("{what} failed; see the daemon's log"), None)
        }
    }
}

/// Runs `f` on this worker's store connection.
fn with<T>(
    ctx: &Ctx<'_>,
    what: &str,
    f: impl FnOnce(&mut Store) -> Result<T, StoreError>,
) -> Result<T, Answer> {
    ctx.rooms
        .log
        .with_store(f)
        .map_err(|e| store_failed(e, what))
}

fn either(r: Result<Answer, Answer>) -> Answer {
    r.unwrap_or_else(|a| a)
}

/// The query's parameters for `usage`, narrowed to the caller's own calls when the
/// caller is an agent.
pub(super) fn parse_query(
    ctx: &Ctx<'_>,
    pairs: &[(String, String)],
    usage: Use,
) -> Result<Query, Answer> {
    let group_id = |name: &str| with(ctx, "finding the skill group", |s| s.group_id_by_name(name));
    let mut q = query::parse(pairs, usage, &group_id)?;
    if let Some(own) = ctx.only_agent() {
        q.filter.agent = Some(own.to_string());
        q.canonical.retain(|(k, _)| k != "agent");
        q.canonical.push(("agent".into(), own.to_string()));
    }
    Ok(q)
}

/// A page of calls: `{total, limit, offset, calls}`.
fn page(ctx: &Ctx<'_>, q: &Query) -> Result<Answer, Answer> {
    let (total, rows) = with(ctx, "reading calls", |s| {
        s.query_calls(&q.filter, q.limit, q.offset)
    })?;
    Ok(Answer::json(
        200,
        &json!({
            "total": total,
            "limit": q.limit,
            "offset": q.offset,
            "calls": rows.iter().map(|r| rows::call_json(r, q.lang)).collect::<Vec<_>>(),
        }),
    ))
}

/// `GET /calls`: the advanced query (S17); an agent's own calls (S16).
fn list_calls(ctx: &Ctx<'_>) -> Answer {
    either(parse_query(ctx, &ctx.query_pairs(), Use::Page).and_then(|q| page(ctx, &q)))
}

/// `GET /calls/missed`: inbound calls nobody answered, with the reason.
fn missed_calls(ctx: &Ctx<'_>) -> Answer {
    either(
        parse_query(ctx, &ctx.query_pairs(), Use::Page).and_then(|mut q| {
            q.filter.missed = true;
            page(ctx, &q)
        }),
    )
}

/// `GET /calls/filters`: the skill groups, agents and service numbers to pick from.
fn filter_choices(ctx: &Ctx<'_>) -> Answer {
    either(
        with(ctx, "reading the filter choices", |s| s.filter_choices()).map(|c| {
            Answer::json(
                200,
                &json!({
                    "groups": c.groups.iter().map(|(id, name)| json!({"id": id, "name": name}))
                        .collect::<Vec<_>>(),
                    "agents": c.agents.iter().map(|(n, name)| json!({"number": n, "name": name}))
                        .collect::<Vec<_>>(),
                    "service_numbers": c.service_numbers,
                }),
            )
        }),
    )
}

/// `{call}` as a call id, or the 400 naming it.
fn call_id(ctx: &Ctx<'_>) -> Result<CallId, Answer> {
    let raw = ctx.param("call");
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(CallId)
        .ok_or_else(|| {
            error_owned(
                400,
                &format!("expected a call id (a positive number), got {raw:?}"),
                Some("call".into()),
            )
        })
}

/// Call `{call}`, if the caller may see it (an agent: only their own).
fn visible_call(ctx: &Ctx<'_>) -> Result<CallRow, Answer> {
    let id = call_id(ctx)?;
    let row = with(ctx, "reading the call", |s| s.call_row(id))?
        .ok_or_else(|| error_owned(404, &format!("no call {}", id.0), None))?;
    if let Some(own) = ctx.only_agent()
        && row.agent_number.as_deref() != Some(own)
    {
        return Err(error_owned(
            403,
            &format!(
                "agent {own} may see only their own calls; call {} is not theirs",
                id.0
            ),
            None,
        ));
    }
    Ok(row)
}

fn lang_of(ctx: &Ctx<'_>) -> Result<Lang, Answer> {
    let mut lang = Lang::ZhCn;
    for (k, v) in ctx.query_pairs() {
        match k.as_str() {
            "lang" => {
                lang = Lang::parse(&v).ok_or_else(|| {
                    error_owned(400, &format!("expected zh-CN or en, got {v:?}"), Some(k))
                })?
            }
            _ => {
                return Err(error_owned(
                    400,
                    &format!("unknown query parameter {k:?}"),
                    Some(k),
                ));
            }
        }
    }
    Ok(lang)
}

/// `GET /calls/{call}`: the call, its names, its recording and its trail in order.
fn call_detail(ctx: &Ctx<'_>) -> Answer {
    either((|| {
        let lang = lang_of(ctx)?;
        let row = visible_call(ctx)?;
        let trail = with(ctx, "reading the call trail", |s| {
            s.call_events(row.call.id)
        })?;
        let mut body = rows::call_json(&row, lang);
        body["trail"] = Value::Array(trail.iter().map(rows::event_json).collect());
        Ok(Answer::json(200, &body))
    })())
}

/// `GET /calls/{call}/recording`: the WAV (stereo: the customer left, whoever they
/// talked to right).
fn recording(ctx: &Ctx<'_>) -> Answer {
    either((|| {
        let row = visible_call(ctx)?;
        let id = row.call.id.0;
        let Some(relative) = &row.call.recording else {
            return Err(error_owned(
                404,
                &format!("call {id} was not recorded"),
                None,
            ));
        };
        let data_dir = ctx
            .rooms
            .log
            .data_dir()
            .ok_or_else(|| error(503, "the call log is not available", None))?;
        let path = data_dir.join(relative);
        std::fs::metadata(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                error_owned(
                    404,
                    &format!(
                        "the recording of call {id} is gone (removed after recording.keep_days, \
                         or for disk space)"
                    ),
                    None,
                )
            } else {
                log::error!("api: reading {}: {e}", path.display());
                error(500, "the recording could not be read", None)
            }
        })?;
        Ok(Answer {
            code: 200,
            deliver: Some(Box::new(crate::api::routes::Deliver::File(path))),
            content_type: Some("audio/wav"),
            ..Answer::default()
        }
        .with_header(
            "Content-Disposition",
            format!("inline; filename=\"call-{id}.wav\""),
        )
        .with_header("Cache-Control", "private, no-store".into()))
    })())
}

/// `{"handled": true|false, "note": "..."}` (both optional), each member checked.
fn handled_body(body: &str) -> Result<(bool, String), Answer> {
    let value: Value = super::agents::parse_body(body, "{}")?;
    let Some(object) = value.as_object() else {
        return Err(error(400, "expected a JSON object", None));
    };
    let (mut handled, mut note) = (true, String::new());
    for (k, v) in object {
        match (k.as_str(), v) {
            ("handled", Value::Bool(b)) => handled = *b,
            ("handled", _) => return Err(error(400, "expected true or false", Some("handled"))),
            ("note", Value::String(s)) if s.chars().count() <= MAX_NOTE => note = s.clone(),
            ("note", _) => {
                return Err(error_owned(
                    400,
                    &format!("expected a note of at most {MAX_NOTE} characters"),
                    Some("note".into()),
                ));
            }
            _ => {
                return Err(error_owned(
                    400,
                    &format!("unknown field {k:?} (expected handled, note)"),
                    Some(k.clone()),
                ));
            }
        }
    }
    Ok((handled, note))
}

/// `POST /calls/{call}/handled`: marks a missed call handled (or not).
fn mark_handled(ctx: &Ctx<'_>) -> Answer {
    either((|| {
        let (handled, note) = handled_body(ctx.body())?;
        let row = visible_call(ctx)?;
        let id = row.call.id;
        if row.missed_reason.is_none() {
            return Err(error_owned(
                409,
                &format!(
                    "call {} is not a missed call (only inbound calls nobody answered are \
                     marked handled)",
                    id.0
                ),
                None,
            ));
        }
        let by = match ctx.user() {
            "" => "(this machine)",
            user => user,
        };
        let note = handled.then_some(note.as_str());
        with(ctx, "marking the call handled", |s| {
            s.set_handled(id, by, note, Utc::now())
        })?;
        let row = with(ctx, "reading the call", |s| s.call_row(id))?
            .ok_or_else(|| error_owned(404, &format!("no call {}", id.0), None))?;
        Ok(Answer::json(200, &rows::call_json(&row, Lang::ZhCn)))
    })())
}

/// May the caller see task `t`? Admins see every task, others their own.
fn owns(ctx: &Ctx<'_>, t: &ExportTask) -> bool {
    ctx.caller.role() == Role::Admin || t.owner == ctx.user()
}

/// `POST /exports`: `{format, lang?, ...the query's filters}` → a queued task.
fn create_export(ctx: &Ctx<'_>) -> Answer {
    either((|| {
        let body: Value = super::agents::parse_body(ctx.body(), "")?;
        let Some(object) = body.as_object() else {
            return Err(error(400, "expected a JSON object", None));
        };
        let format = match object.get("format").and_then(Value::as_str) {
            Some(f @ ("csv" | "xlsx")) => f,
            Some(other) => {
                return Err(error_owned(
                    400,
                    &format!("expected \"csv\" or \"xlsx\", got {other:?}"),
                    Some("format".into()),
                ));
            }
            None => {
                return Err(error(
                    400,
                    "expected a format: \"csv\" or \"xlsx\"",
                    Some("format"),
                ));
            }
        };
        let pairs = query::pairs_of_json(object, &["format"])?;
        let q = parse_query(ctx, &pairs, Use::Export)?;
        let filters: serde_json::Map<String, Value> = q
            .canonical
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let filters = Value::Object(filters).to_string();
        let owner = ctx.user().to_string();
        let task = with(ctx, "queuing the export", |s| {
            let id = s.add_export(&owner, format, q.lang.as_str(), &filters, Utc::now())?;
            s.export_task(id)
        })?
        .ok_or_else(|| error(500, "the export was not queued", None))?;
        ctx.rooms.log.wake_exports();
        Ok(Answer::json(201, &rows::export_json(&task)))
    })())
}

/// `GET /exports`: the caller's tasks (an admin: everyone's), newest first.
fn list_exports(ctx: &Ctx<'_>) -> Answer {
    either((|| {
        if let Some((k, _)) = ctx.query_pairs().into_iter().next() {
            return Err(error_owned(
                400,
                &format!("unknown query parameter {k:?}"),
                Some(k),
            ));
        }
        let owner = (ctx.caller.role() != Role::Admin).then(|| ctx.user().to_string());
        let tasks = with(ctx, "reading the exports", |s| {
            s.export_tasks(owner.as_deref(), MAX_TASKS)
        })?;
        Ok(Answer::json(
            200,
            &tasks.iter().map(rows::export_json).collect::<Vec<_>>(),
        ))
    })())
}

/// Task `{id}`, if the caller may see it.
fn visible_task(ctx: &Ctx<'_>) -> Result<ExportTask, Answer> {
    let raw = ctx.param("id");
    let id = raw
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            error_owned(
                400,
                &format!("expected an export id (a positive number), got {raw:?}"),
                Some("id".into()),
            )
        })?;
    let task = with(ctx, "reading the export", |s| s.export_task(id))?
        .ok_or_else(|| error_owned(404, &format!("no export {id}"), None))?;
    if !owns(ctx, &task) {
        return Err(error_owned(
            403,
            &format!("export {id} is another user's"),
            None,
        ));
    }
    Ok(task)
}

/// `GET /exports/{id}`.
fn get_export(ctx: &Ctx<'_>) -> Answer {
    either(visible_task(ctx).map(|t| Answer::json(200, &rows::export_json(&t))))
}

/// `DELETE /exports/{id}`: the task and its file (a running one stops).
fn delete_export(ctx: &Ctx<'_>) -> Answer {
    either((|| {
        let task = visible_task(ctx)?;
        with(ctx, "deleting the export", |s| s.delete_export(task.id))?;
        if let Some(file) = &task.file
            && let Err(e) = std::fs::remove_file(file)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            log::warn!("api: removing {}: {e}", file.display());
        }
        Ok(Answer::json(200, &json!({"deleted": task.id})))
    })())
}

/// `GET /exports/{id}/file`: the finished file, named for a person
/// (`通话记录-2026-12-01.xlsx`).
fn export_file(ctx: &Ctx<'_>) -> Answer {
    either((|| {
        let task = visible_task(ctx)?;
        let id = task.id;
        let file = match (task.state.as_str(), &task.file) {
            ("done", Some(file)) => file,
            ("failed", _) => {
                return Err(error_owned(
                    409,
                    &format!(
                        "export {id} failed: {}",
                        task.error.as_deref().unwrap_or("no reason recorded")
                    ),
                    None,
                ));
            }
            (state, _) => {
                return Err(error_owned(
                    409,
                    &format!(
                        "export {id} is not finished yet ({state}, {} rows so far)",
                        task.rows
                    ),
                    None,
                ));
            }
        };
        std::fs::metadata(file).map_err(|e| {
            log::warn!("api: reading {}: {e}", file.display());
            error_owned(404, &format!("the file of export {id} is gone"), None)
        })?;
        let lang = Lang::parse(&task.language).unwrap_or(Lang::ZhCn);
        let name = rows::file_name(&task, lang);
        let fallback = rows::file_name(&task, Lang::En);
        let content_type = if task.format == "xlsx" {
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        } else {
            "text/csv; charset=utf-8"
        };
        Ok(Answer {
            code: 200,
            deliver: Some(Box::new(crate::api::routes::Deliver::File(
                file.to_path_buf(),
            ))),
            content_type: Some(content_type),
            ..Answer::default()
        }
        .with_header(
            "Content-Disposition",
            words::content_disposition(&name, &fallback),
        ))
    })())
}
