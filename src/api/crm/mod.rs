//! The agent's customer side over HTTP (S12): the screen pop of a call (`pop.rs`),
//! customer cards and a customer's call history (`customers.rs`), tickets (工单,
//! `tickets.rs`) and the types an admin defines for them (`types.rs`).
//!
//! Owns only the HTTP side: checking who may see what, reading bodies field by
//! field (so a value of the wrong type is a 400 naming it, which serde's own
//! messages do not do), and rendering rows as JSON. Every check of a value's
//! content is the store's (`store/crm.rs`, `store/customers.rs`), which names the
//! field it refuses. Must not hold state between requests.
//!
//! Who sees what: supervisors and admins see everything. An agent sees the pop of a
//! call only if it is theirs (they took it, were rung for it, or their call bar
//! shows it), and a customer's card, history and tickets only for numbers they have
//! had a call with: the card is what an agent needs to serve whoever is on the line,
//! while browsing or searching the whole customer list (`GET /customers`) stays with
//! supervisors, so an agent's session cannot be used to copy the customer base.

mod customers;
mod pop;
mod tickets;
mod types;

use serde_json::{Map, Value};

use super::routes::{Answer, error, error_owned};
use super::table::{Ctx, Route, Who};
use crate::core::{CallId, Command};
use crate::store::{Store, StoreError};

/// This area's routes (`table.rs`).
pub const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/calls/{call}/pop",
        who: Who::Anyone,
        run: pop::run,
    },
    Route {
        method: "GET",
        path: "/customers",
        who: Who::Supervisor,
        run: customers::list,
    },
    Route {
        method: "GET",
        path: "/customers/{number}",
        who: Who::Anyone,
        run: customers::get,
    },
    Route {
        method: "PUT",
        path: "/customers/{number}",
        who: Who::Anyone,
        run: customers::put,
    },
    Route {
        method: "GET",
        path: "/customers/{number}/calls",
        who: Who::Anyone,
        run: customers::calls,
    },
    Route {
        method: "GET",
        path: "/ticket-types",
        who: Who::Anyone,
        run: types::list,
    },
    Route {
        method: "POST",
        path: "/ticket-types",
        who: Who::Admin,
        run: types::add,
    },
    Route {
        method: "GET",
        path: "/ticket-types/{id}",
        who: Who::Anyone,
        run: types::get,
    },
    Route {
        method: "PUT",
        path: "/ticket-types/{id}",
        who: Who::Admin,
        run: types::put,
    },
    Route {
        method: "DELETE",
        path: "/ticket-types/{id}",
        who: Who::Admin,
        run: types::delete,
    },
    Route {
        method: "GET",
        path: "/tickets",
        who: Who::Anyone,
        run: tickets::list,
    },
    Route {
        method: "POST",
        path: "/tickets",
        who: Who::Anyone,
        run: tickets::add,
    },
    Route {
        method: "GET",
        path: "/tickets/{id}",
        who: Who::Anyone,
        run: tickets::get,
    },
    Route {
        method: "PATCH",
        path: "/tickets/{id}",
        who: Who::Anyone,
        run: tickets::patch,
    },
];

/// The most rows one list answers, and the default.
const MAX_LIMIT: usize = 200;
const DEFAULT_LIMIT: usize = 50;

/// Runs `f` on the API's store connection; a store refusal becomes its answer.
fn with_store<T>(
    ctx: &Ctx<'_>,
    f: impl FnOnce(&mut Store) -> Result<T, StoreError>,
) -> Result<T, Answer> {
    ctx.rooms.log.with_store(f).map_err(store_answer)
}

/// A store error as HTTP: a refused field 400, an unknown thing 404, else 500/503.
fn store_answer(e: Option<StoreError>) -> Answer {
    match e {
        Some(StoreError::Invalid { field, message }) => error(400, &message, Some(field)),
        Some(StoreError::NotFound { what, value }) => {
            error_owned(404, &format!("no {what} {value}"), None)
        }
        Some(e) => {
            log::error!("api: crm: {e}");
            error(500, "the database could not be read or written", None)
        }
        None => error(503, "the database is not available", None),
    }
}

/// `Ok(answer)` or `Err(answer)` as the answer.
fn answer(r: Result<Answer, Answer>) -> Answer {
    r.unwrap_or_else(|a| a)
}

/// A row id from the path (`{id}`, `{call}`): a positive integer, else 400 naming it.
fn path_id(ctx: &Ctx<'_>, name: &'static str) -> Result<i64, Answer> {
    let raw = ctx.param(name);
    match raw.parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(error_owned(
            400,
            &format!("expected a positive whole number, got {raw:?}"),
            Some(name.to_string()),
        )),
    }
}

/// A path segment with its `%XX` escapes undone; a broken one is a 400 naming `name`.
fn path_text(ctx: &Ctx<'_>, name: &'static str) -> Result<String, Answer> {
    let segment = ctx.param(name);
    let bad = || {
        error(
            400,
            "the path segment is not valid percent-encoded UTF-8",
            Some(name),
        )
    };
    let mut out = Vec::with_capacity(segment.len());
    let mut bytes = segment.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next().ok_or_else(bad)?, bytes.next().ok_or_else(bad)?];
            let hex = std::str::from_utf8(&hex).map_err(|_| bad())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

/// The query's parameters, each allowed at most once and only from `allowed`.
struct Query(Vec<(String, String)>);

impl Query {
    fn of(ctx: &Ctx<'_>, allowed: &[&str]) -> Result<Query, Answer> {
        let pairs = ctx.query_pairs();
        for (i, (key, _)) in pairs.iter().enumerate() {
            if !allowed.contains(&key.as_str()) {
                return Err(error_owned(
                    400,
                    &format!(
                        "unknown query parameter {key:?} (expected {})",
                        allowed.join(", ")
                    ),
                    Some(key.clone()),
                ));
            }
            if pairs[..i].iter().any(|(k, _)| k == key) {
                return Err(error_owned(
                    400,
                    &format!("the query parameter {key:?} is given twice"),
                    Some(key.clone()),
                ));
            }
        }
        Ok(Query(pairs))
    }

    /// A parameter's value; an empty one counts as absent.
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn id(&self, key: &'static str) -> Result<Option<i64>, Answer> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.parse::<i64>() {
                Ok(id) if id > 0 => Ok(Some(id)),
                _ => Err(error_owned(
                    400,
                    &format!("expected a positive whole number, got {v:?}"),
                    Some(key.to_string()),
                )),
            },
        }
    }

    /// `limit` (1-200, default 50) and `offset` (default 0).
    fn page(&self) -> Result<(usize, usize), Answer> {
        let limit = match self.get("limit") {
            None => DEFAULT_LIMIT,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(error_owned(
                        400,
                        &format!("expected a number of rows 1-{MAX_LIMIT}, got {v:?}"),
                        Some("limit".into()),
                    ));
                }
            },
        };
        let offset = match self.get("offset") {
            None => 0,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n <= 1_000_000 => n,
                _ => {
                    return Err(error_owned(
                        400,
                        &format!("expected a row offset 0-1000000, got {v:?}"),
                        Some("offset".into()),
                    ));
                }
            },
        };
        Ok((limit, offset))
    }
}

/// A JSON object body read field by field: an unknown field, or a field of the
/// wrong type, is a 400 naming it. `null` counts as absent.
struct Body(Map<String, Value>);

impl Body {
    fn of(ctx: &Ctx<'_>, allowed: &[&str]) -> Result<Body, Answer> {
        let text = ctx.body();
        let text = if text.trim().is_empty() { "{}" } else { text };
        let value: Value = serde_json::from_str(text)
            .map_err(|e| error_owned(400, &format!("bad JSON body: {e}"), None))?;
        let Value::Object(map) = value else {
            return Err(error(400, "expected a JSON object", None));
        };
        if let Some(key) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(error_owned(
                400,
                &format!("unknown field {key:?} (expected {})", allowed.join(", ")),
                Some(key.clone()),
            ));
        }
        Ok(Body(map))
    }

    fn value(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    fn wrong(key: &str, expected: &str) -> Answer {
        error_owned(400, &format!("expected {expected}"), Some(key.to_string()))
    }

    fn string(&self, key: &str) -> Result<Option<String>, Answer> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Body::wrong(key, "a string")),
        }
    }

    fn required_string(&self, key: &str) -> Result<String, Answer> {
        self.string(key)?
            .ok_or_else(|| error_owned(400, "is required", Some(key.to_string())))
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, Answer> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(Body::wrong(key, "true or false")),
        }
    }

    fn id(&self, key: &str) -> Result<Option<i64>, Answer> {
        match self.value(key) {
            None => Ok(None),
            Some(v) => match v.as_i64() {
                Some(id) if id > 0 => Ok(Some(id)),
                _ => Err(Body::wrong(key, "a positive whole number")),
            },
        }
    }

    fn strings(&self, key: &str) -> Result<Option<Vec<String>>, Answer> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| Body::wrong(key, "a list of strings"))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(Body::wrong(key, "a list of strings")),
        }
    }
}

/// The call agent `agent`'s call bar shows now, if any (the switchboard's word, for
/// a call the store has not written down as theirs yet).
fn call_bar(ctx: &Ctx<'_>, agent: &str) -> Option<(i64, String)> {
    let asked = super::agents::ask(
        ctx.rooms.commands,
        Command::CallOf {
            agent: agent.to_string(),
        },
    );
    if asked.code != 200 {
        return None;
    }
    let bar: Value = serde_json::from_str(&asked.body).ok()?;
    Some((
        bar["call"].as_i64()?,
        bar["customer"].as_str().unwrap_or_default().to_string(),
    ))
}

/// For an agent's session: may they see call `id`? Supervisors and admins may.
fn may_see_call(ctx: &Ctx<'_>, id: i64) -> Result<(), Answer> {
    let Some(own) = ctx.only_agent() else {
        return Ok(());
    };
    if with_store(ctx, |s| s.agent_had_call(own, CallId(id)))?
        || call_bar(ctx, own).is_some_and(|(call, _)| call == id)
    {
        return Ok(());
    }
    Err(error_owned(
        403,
        &format!("call {id} is not agent {own}'s"),
        Some("call".into()),
    ))
}

/// For an agent's session: have they had a call with `number` (or is it on their
/// call bar now)? Supervisors and admins see every customer.
fn may_see_number(ctx: &Ctx<'_>, number: &str, field: &str) -> Result<(), Answer> {
    let Some(own) = ctx.only_agent() else {
        return Ok(());
    };
    let number = number.trim();
    if with_store(ctx, |s| s.agent_knows_number(own, number))?
        || call_bar(ctx, own).is_some_and(|(_, customer)| customer == number)
    {
        return Ok(());
    }
    Err(error_owned(
        403,
        &format!("agent {own} has had no call with {number}"),
        Some(field.to_string()),
    ))
}

/// A time as RFC 3339, or null.
fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> Value {
    t.map_or(Value::Null, |t| Value::String(t.to_rfc3339()))
}
