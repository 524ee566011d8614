//! Live events as server-sent events per logged-in user (agent state, call bar,
//! screen pop, queue figures, today's figures: `GET /api/v1/events`), the
//! wallboard's figures (`GET /api/v1/wallboard`), the agent status log
//! (`GET /api/v1/status-log`) and the why of a call (`GET /api/v1/calls/{call}/why`).
//!
//! Where the events come from, and why: the hub (`hub.rs`) asks the switchboard for
//! a snapshot of everything the live views show (`Command::Live`) five times a
//! second while a stream is open, and sends each stream the differences
//! (`snapshot.rs`, pure and unit-tested). The switchboard could instead emit an
//! event at each change, but a change of agent state or call bar happens in a dozen
//! places of `core` (offers, controls, transfers, verification, wrap-up timers,
//! reloads...), and each would have to remember to emit it: one forgotten is a
//! screen that lies until reload. A snapshot is built from the same state that
//! `GET /agents` and `GET /agents/{n}/call` answer from, so the stream and a reload
//! can never disagree. It costs the switchboard microseconds for a 50-agent office,
//! is asked only while someone watches, is sent with `try_send` (a busy switchboard
//! skips a tick, never waits for us), and people see a change within ~200 ms. What it
//! gives up: a state lasting less than a tick may go unseen live (so a call pops when
//! it is first seen on the agent's bar, ringing or already answered, not only when
//! seen ringing); the status log and the trail still hold every change.
//!
//! A stream starts with the whole picture (every agent it may see, its own call or
//! `null`, the queues), so a reconnect needs no replay and `Last-Event-ID` is not
//! needed. It never holds an API worker (the connection goes to a stream thread),
//! and ends with an `end` event when its session does. Owns no state of the rooms:
//! it reads the switchboard's answers and the store.

mod hub;
mod reads;
mod snapshot;
mod sse;
mod today;
mod why;

pub use hub::{Hub, Ticket};

use serde_json::{Value, json};

use super::routes::{Answer, error_owned};
use super::table::{Ctx, Route, Who};
use crate::core::LiveView;
use crate::store::Role;

/// This area's routes (`table.rs`).
pub const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/events",
        who: Who::Anyone,
        run: run_events,
    },
    Route {
        method: "GET",
        path: "/wallboard",
        who: Who::Supervisor,
        run: reads::run_wallboard,
    },
    Route {
        method: "GET",
        path: "/status-log",
        who: Who::Anyone,
        run: reads::run_status_log,
    },
    Route {
        method: "GET",
        path: "/calls/{call}/why",
        who: Who::Anyone,
        run: reads::run_call_why,
    },
];

/// `GET /events`: checks the request and says who the stream is for; `routes.rs`
/// then hands the connection to the hub (the answer's `stream`).
fn run_events(ctx: &Ctx<'_>) -> Answer {
    if let Some((key, _)) = ctx.query_pairs().first() {
        return error_owned(
            400,
            &format!("unknown query parameter {key:?}"),
            Some(key.clone()),
        );
    }
    let ticket = Ticket {
        user: ctx.user().to_string(),
        agent: ctx.caller.agent().map(str::to_string),
        all: ctx.caller.role() != Role::Agent,
        cookie: ctx
            .caller
            .account
            .as_ref()
            .and(ctx.asked.cookie)
            .map(str::to_string),
    };
    Answer {
        code: 200,
        content_type: Some("text/event-stream"),
        deliver: Some(Box::new(super::routes::Deliver::Stream(ticket))),
        ..Answer::default()
    }
}

/// A `Command::Live` snapshot as JSON (what `Reply::Live` renders as).
pub fn live_json(view: &LiveView) -> Value {
    let snap = snapshot::Snapshot::of(view);
    json!({
        "at": view.at.to_rfc3339(),
        "agents": snap.agents.values().collect::<Vec<_>>(),
        "calls": snap.calls,
        "queues": snap.queues,
    })
}
