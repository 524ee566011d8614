//! The admin console's people and phones: agents (groups, passwords, phones, direct
//! numbers), devices (SIP credentials, live registration), skill groups and their
//! queue settings, busy reasons, web users; and the two lists the workspace reads
//! (`GET /groups` with who is idle, `GET /busy-reasons`).
//!
//! Agents' records live at `/staff/agents`, apart from `/agents` (`agents.rs`: the
//! ACD's live state and commands), which every role reads. Every write goes through
//! the `Store`'s checked methods; a refusal is a 400 naming the field, an unknown id
//! a 404, a taken name or a state that forbids it (an agent logged in, the last
//! admin) a 409, in words. What the switchboard knows (who is logged in, who is idle)
//! is asked of it as a command, never read from its memory; devices' registrations
//! come from `Status` (the daemon copies them there), never from the SIP room.
//!
//! The tricky part: the API must not hold a worker long, so each handler does one
//! store transaction and at most one switchboard round trip.

mod agents;
mod body;
mod devices;
mod groups;
mod reasons;
mod users;

pub(super) use agents::live_list;

use crate::core::{AgentView, Command, Reply};
use crate::store::StoreError;

use super::routes::{Answer, error, error_owned};
use super::table::{Ctx, Route, Who};

/// This area's routes (`table.rs`).
pub const ROUTES: &[Route] = &[
    route("GET", "/staff/agents", Who::Admin, agents::list),
    route("POST", "/staff/agents", Who::Admin, agents::create),
    route("GET", "/staff/agents/{number}", Who::Admin, agents::one),
    route(
        "PATCH",
        "/staff/agents/{number}",
        Who::Admin,
        agents::change,
    ),
    route(
        "DELETE",
        "/staff/agents/{number}",
        Who::Admin,
        agents::remove,
    ),
    route("GET", "/devices", Who::Admin, devices::list),
    route("POST", "/devices", Who::Admin, devices::create),
    route("GET", "/devices/{id}", Who::Admin, devices::one),
    route("PATCH", "/devices/{id}", Who::Admin, devices::change),
    route("DELETE", "/devices/{id}", Who::Admin, devices::remove),
    route("GET", "/groups", Who::Anyone, groups::list),
    route("POST", "/groups", Who::Admin, groups::create),
    route("GET", "/groups/{id}", Who::Admin, groups::one),
    route("PATCH", "/groups/{id}", Who::Admin, groups::change),
    route("DELETE", "/groups/{id}", Who::Admin, groups::remove),
    route("GET", "/busy-reasons", Who::Anyone, reasons::list),
    route("PUT", "/busy-reasons", Who::Admin, reasons::replace),
    route("POST", "/busy-reasons", Who::Admin, reasons::add),
    route(
        "DELETE",
        "/busy-reasons/{reason}",
        Who::Admin,
        reasons::remove,
    ),
    route("GET", "/users", Who::Admin, users::list),
    route("POST", "/users", Who::Admin, users::create),
    route("GET", "/users/{name}", Who::Admin, users::one),
    route("PATCH", "/users/{name}", Who::Admin, users::change),
    route("DELETE", "/users/{name}", Who::Admin, users::remove),
];

const fn route(
    method: &'static str,
    path: &'static str,
    who: Who,
    run: fn(&Ctx<'_>) -> Answer,
) -> Route {
    Route {
        method,
        path,
        who,
        run,
    }
}

/// The answer for a store refusal: 400 naming the field, 404, 409 for a taken name.
fn refused(e: Option<StoreError>) -> Answer {
    match e {
        Some(StoreError::Invalid { field, message }) => {
            error_owned(400, &message, Some(field.to_string()))
        }
        Some(StoreError::NotFound { what, value }) => {
            error_owned(404, &format!("{what} {value} does not exist"), None)
        }
        Some(StoreError::Duplicate { what, value }) => {
            let field = match what {
                "agent number" => "number",
                "device user" => "user",
                "busy reason" => "reason",
                _ => "name",
            };
            error_owned(
                409,
                &format!("{what} {value:?} is taken"),
                Some(field.to_string()),
            )
        }
        Some(e) => {
            log::error!("api: staff: {e}");
            error(
                500,
                "the store could not do it (see the daemon's log)",
                None,
            )
        }
        None => error(503, "the store is not available", None),
    }
}

/// Runs `f` on the API's store connection; a refusal becomes its answer.
fn with_store<T>(
    ctx: &Ctx<'_>,
    f: impl FnOnce(&mut crate::store::Store) -> Result<T, StoreError>,
) -> Result<T, Answer> {
    ctx.rooms.log.with_store(f).map_err(refused)
}

/// Every agent's live state as the switchboard has it now; `None` when it does not
/// answer (stopping, or a unit test without one).
fn live_agents(ctx: &Ctx<'_>) -> Option<Vec<AgentView>> {
    match super::agents::ask_reply(ctx.rooms.commands, Command::Agents) {
        Ok(Reply::Agents(list)) => Some(list),
        _ => None,
    }
}

/// An id in the path, or 404 (no row has a non-number id).
fn path_id(ctx: &Ctx<'_>, what: &str) -> Result<i64, Answer> {
    ctx.param_id("id").ok_or_else(|| {
        error_owned(
            404,
            &format!("{what} {:?} does not exist", ctx.param("id")),
            None,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::table::decode_segment;

    #[test]
    fn path_segments_are_decoded_and_store_refusals_are_answered() {
        assert_eq!(decode_segment("%E4%BC%9A%E8%AE%AE"), "会议");
        assert_eq!(decode_segment("a+b%20c"), "a+b c");
        assert_eq!(decode_segment("%2B86%zz"), "+86%zz");
        let a = refused(Some(StoreError::Invalid {
            field: "ring_timeout",
            message: "expected 5-300".into(),
        }));
        assert_eq!(a.code, 400);
        assert!(a.body.contains(r#""field":"ring_timeout""#), "{}", a.body);
        let a = refused(Some(StoreError::Duplicate {
            what: "device user",
            value: "1001".into(),
        }));
        assert_eq!(a.code, 409);
        assert!(a.body.contains(r#""field":"user""#), "{}", a.body);
        assert_eq!(refused(None).code, 503);
    }
}
