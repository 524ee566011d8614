//! The admin console's lines: trunks (中继), service numbers (服务号码), IVR flows (an
//! editor's nodes), prompts (语音文件: upload and preview) and business hours (营业时间,
//! the hours nodes of the flows), under `/api/v1`.
//!
//! Each file answers one of them (`trunks.rs`, `numbers.rs`, `flows.rs`, `hours.rs`,
//! `prompts.rs`); `body.rs` reads request bodies field by field so every refusal
//! names its field. Writes go through the store's checked methods on this worker's
//! connection (`rooms.log.with_store`); the triggers bump the directory version and
//! the daemon reloads routing by itself. Reads the console needs are for supervisors
//! and admins, changes for admins; the flow list is for anyone logged in (the call
//! bar's 转菜单 dialog reads it).
//!
//! Must not hold call state nor talk to the switchboard: what it shows is what the
//! store holds. The trunks' registration state lives only in the SIP room's log, so
//! it is reported as unknown.

mod body;
mod flows;
mod hours;
mod numbers;
mod prompts;
mod trunks;

use super::routes::{Answer, error, error_owned};
use super::table::{Ctx, Route, Who};
use crate::store::{Store, StoreError};

/// This area's routes (`table.rs`).
pub const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/trunks",
        who: Who::Supervisor,
        run: trunks::list,
    },
    Route {
        method: "POST",
        path: "/trunks",
        who: Who::Admin,
        run: trunks::create,
    },
    Route {
        method: "GET",
        path: "/trunks/{trunk}",
        who: Who::Supervisor,
        run: trunks::show,
    },
    Route {
        method: "PUT",
        path: "/trunks/{trunk}",
        who: Who::Admin,
        run: trunks::replace,
    },
    Route {
        method: "DELETE",
        path: "/trunks/{trunk}",
        who: Who::Admin,
        run: trunks::remove,
    },
    Route {
        method: "GET",
        path: "/service-numbers",
        who: Who::Supervisor,
        run: numbers::list,
    },
    Route {
        method: "POST",
        path: "/service-numbers",
        who: Who::Admin,
        run: numbers::create,
    },
    Route {
        method: "GET",
        path: "/service-numbers/{number}",
        who: Who::Supervisor,
        run: numbers::show,
    },
    Route {
        method: "PUT",
        path: "/service-numbers/{number}",
        who: Who::Admin,
        run: numbers::replace,
    },
    Route {
        method: "DELETE",
        path: "/service-numbers/{number}",
        who: Who::Admin,
        run: numbers::remove,
    },
    Route {
        method: "GET",
        path: "/flows",
        who: Who::Anyone,
        run: flows::list,
    },
    Route {
        method: "POST",
        path: "/flows",
        who: Who::Admin,
        run: flows::create,
    },
    Route {
        method: "GET",
        path: "/flows/{flow}",
        who: Who::Supervisor,
        run: flows::show,
    },
    Route {
        method: "PUT",
        path: "/flows/{flow}",
        who: Who::Admin,
        run: flows::replace,
    },
    Route {
        method: "DELETE",
        path: "/flows/{flow}",
        who: Who::Admin,
        run: flows::remove,
    },
    Route {
        method: "GET",
        path: "/hours",
        who: Who::Supervisor,
        run: hours::list,
    },
    Route {
        method: "POST",
        path: "/flows/{flow}/hours",
        who: Who::Admin,
        run: hours::add,
    },
    Route {
        method: "PUT",
        path: "/flows/{flow}/hours/{node}",
        who: Who::Admin,
        run: hours::replace,
    },
    Route {
        method: "GET",
        path: "/prompts",
        who: Who::Supervisor,
        run: prompts::list,
    },
    Route {
        method: "GET",
        path: "/prompts/{language}/{name}",
        who: Who::Supervisor,
        run: prompts::audio,
    },
    Route {
        method: "PUT",
        path: "/prompts/{language}/{name}",
        who: Who::Admin,
        run: prompts::upload,
    },
    Route {
        method: "DELETE",
        path: "/prompts/{language}/{name}",
        who: Who::Admin,
        run: prompts::reset,
    },
];

/// Runs `f` on this worker's store connection; a store refusal becomes its answer.
fn with_store<T>(
    ctx: &Ctx<'_>,
    f: impl FnOnce(&mut Store) -> Result<T, StoreError>,
) -> Result<T, Answer> {
    ctx.rooms.log.with_store(f).map_err(store_answer)
}

/// The answer for a store refusal: a bad field 400 (named), a missing row 404 (with
/// the body field that named it), a taken name or number 409, anything else 500.
fn store_answer(e: Option<StoreError>) -> Answer {
    match e {
        Some(StoreError::Invalid { field, message }) => {
            error_owned(400, &format!("{field}: {message}"), Some(field.to_string()))
        }
        Some(e @ StoreError::NotFound { what, .. }) => {
            let field = match what {
                "trunk" => Some("trunk_id"),
                "IVR flow" => Some("flow_id"),
                "skill group" => Some("group_id"),
                "device" => Some("device_id"),
                _ => None,
            };
            error_owned(404, &e.to_string(), field.map(str::to_string))
        }
        Some(e @ StoreError::Duplicate { what, .. }) => {
            let field = match what {
                "service number" => "number",
                _ => "name",
            };
            error_owned(409, &e.to_string(), Some(field.to_string()))
        }
        Some(e) => {
            log::error!("api: lines: {e}");
            error(500, "the store could not do that; the log says why", None)
        }
        None => error(503, "the database is not available", None),
    }
}

/// A 404 in words.
fn not_found(message: &str) -> Answer {
    error_owned(404, message, None)
}

/// A 409 naming what is in the way.
fn conflict(message: &str) -> Answer {
    error_owned(409, message, None)
}

/// A row id from the path segment `{name}`, or 404 (no row has a non-number id).
fn path_id(ctx: &Ctx<'_>, name: &str, what: &str) -> Result<i64, Answer> {
    ctx.param_id(name)
        .ok_or_else(|| not_found(&format!("no {what} has the id {:?}", ctx.param(name))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_refusals_become_named_http_errors() {
        let a = store_answer(Some(StoreError::Invalid {
            field: "host",
            message: "bad".into(),
        }));
        assert_eq!(a.code, 400);
        assert!(a.body.contains(r#""field":"host""#), "{}", a.body);
        let a = store_answer(Some(StoreError::NotFound {
            what: "trunk",
            value: "9".into(),
        }));
        assert_eq!(a.code, 404);
        assert!(a.body.contains(r#""field":"trunk_id""#), "{}", a.body);
        let a = store_answer(Some(StoreError::Duplicate {
            what: "service number",
            value: "1".into(),
        }));
        assert_eq!(a.code, 409);
        assert!(a.body.contains(r#""field":"number""#), "{}", a.body);
        assert_eq!(store_answer(None).code, 503);
    }

    #[test]
    fn every_route_of_the_area_is_unique_and_changes_are_for_admins() {
        for r in ROUTES {
            if r.method != "GET" {
                assert_eq!(r.who, Who::Admin, "{} {}", r.method, r.path);
            }
        }
    }
}
