//! `/api/v1/agents`: agents' live state (all, or one: `GET /api/v1/agents/{n}`),
//! logging in and out, state and answer-mode changes, and "why" (S9), carried to the
//! switchboard as commands.
//!
//! Who may ask is decided before (`auth.rs`): this machine without a session (the
//! command line), or a web session whose role allows the agent number. Bodies are
//! JSON; a missing or bad field is a 400 that names it.

use std::time::Duration;

use crossbeam_channel::{Sender, bounded};
use serde::{Deserialize, Serialize};

use crate::core::acd::{StatusCause, Verdict};
use crate::core::{AgentView, AnswerMode, Availability, Command, CommandError, Reply};

use super::routes::{Answer, error};
use super::table::{Ctx, Route, Who};

/// A command for the switchboard and the channel its answer comes back on.
pub type CommandRequest = (Command, Sender<Result<Reply, CommandError>>);

/// The agent routes (`table.rs`); each is answered by [`route`].
pub const ROUTES: &[Route] = &[
    // Every role reads the list (the transfer picker shows who is idle); an agent
    // sees only each agent's number, name and state (`staff/agents.rs`).
    Route {
        method: "GET",
        path: "/agents",
        who: Who::Anyone,
        run: super::staff::live_list,
    },
    Route {
        method: "GET",
        path: "/agents/{agent}",
        who: Who::OwnAgent,
        run,
    },
    Route {
        method: "POST",
        path: "/agents/{agent}/login",
        who: Who::OwnAgent,
        run,
    },
    Route {
        method: "POST",
        path: "/agents/{agent}/logout",
        who: Who::OwnAgent,
        run,
    },
    Route {
        method: "POST",
        path: "/agents/{agent}/state",
        who: Who::OwnAgent,
        run,
    },
    Route {
        method: "POST",
        path: "/agents/{agent}/mode",
        who: Who::OwnAgent,
        run,
    },
    Route {
        method: "GET",
        path: "/agents/{agent}/why",
        who: Who::OwnAgent,
        run,
    },
];

fn run(ctx: &Ctx<'_>) -> Answer {
    let agent = ctx.param("agent");
    // Changes to one's own state are the agent's; to another's, an admin's.
    let by = match &ctx.caller.account {
        Some(a) if !agent.is_empty() && a.agent.as_deref() != Some(agent) => StatusCause::Admin,
        _ => StatusCause::Agent,
    };
    let rest = ctx.parts().get(1..).unwrap_or(&[]).join("/");
    route(
        ctx.asked.method.as_str(),
        &rest,
        ctx.body(),
        ctx.rooms.commands,
        by,
    )
}

/// How long a request waits for the switchboard before answering 503.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// `/api/v1/agents...` with `rest` the part after `/api/v1/agents`; state changes are
/// recorded as made `by` the agent or an admin.
pub fn route(
    method: &str,
    rest: &str,
    body: &str,
    commands: &Sender<CommandRequest>,
    by: StatusCause,
) -> Answer {
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    match (method, parts.as_slice()) {
        ("GET", []) => ask(commands, Command::Agents),
        ("GET", [number]) => match ask_reply(commands, Command::Agents) {
            Ok(Reply::Agents(list)) => match list.iter().find(|a| a.number == *number) {
                Some(a) => Answer::json(200, &agent_json(a)),
                None => super::routes::error_owned(
                    404,
                    &format!("no agent has the number {number}"),
                    None,
                ),
            },
            Ok(other) => Answer::json(200, &reply_json(&other)),
            Err(answer) => answer,
        },
        (_, [number, "call", ..] | [number, "supervise", ..]) => {
            super::calls::agent_route(method, number, &parts[1..], body, commands)
        }
        ("GET", [number, "why"]) => ask(
            commands,
            Command::Why {
                agent: number.to_string(),
            },
        ),
        ("POST", [number, action]) => match parse_action(number, action, body, by) {
            Ok(command) => ask(commands, command),
            Err(answer) => answer,
        },
        (_, [] | [_] | [_, "why"]) => error(405, "method not allowed", None),
        (_, [_, "login" | "logout" | "state" | "mode"]) => error(405, "method not allowed", None),
        _ => error(404, "not found", None),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    mode: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateBody {
    state: String,
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModeBody {
    mode: String,
}

fn parse_action(
    number: &str,
    action: &str,
    body: &str,
    by: StatusCause,
) -> Result<Command, Answer> {
    let agent = number.to_string();
    match action {
        "login" => {
            let b: LoginBody = parse_body(body, "{}")?;
            let mode = b.mode.as_deref().map(parse_mode).transpose()?;
            Ok(Command::Login { agent, mode, by })
        }
        "logout" => {
            let _: serde_json::Value = parse_body(body, "{}")?;
            Ok(Command::Logout { agent, by })
        }
        "state" => {
            let b: StateBody = parse_body(body, "")?;
            let state = match b.state.as_str() {
                "idle" => Availability::Idle,
                "busy" => Availability::Busy(b.reason.filter(|r| !r.is_empty())),
                "rest" => Availability::Rest,
                _ => {
                    return Err(error(
                        400,
                        "expected \"idle\", \"busy\" or \"rest\"",
                        Some("state"),
                    ));
                }
            };
            Ok(Command::SetState { agent, state, by })
        }
        "mode" => {
            let b: ModeBody = parse_body(body, "")?;
            let mode = parse_mode(&b.mode)?;
            Ok(Command::SetMode { agent, mode, by })
        }
        _ => Err(error(404, "not found", None)),
    }
}

fn parse_mode(s: &str) -> Result<AnswerMode, Answer> {
    AnswerMode::parse(s).ok_or_else(|| {
        error(
            400,
            "expected \"device\", \"softphone\" or \"direct\"",
            Some("mode"),
        )
    })
}

/// The body as `T`; an empty body reads as `empty` (`""` = required).
pub(super) fn parse_body<T: serde::de::DeserializeOwned>(
    body: &str,
    empty: &str,
) -> Result<T, Answer> {
    let text = if body.trim().is_empty() { empty } else { body };
    serde_json::from_str(text).map_err(|e| {
        // serde names the field in "missing field `state`" and "unknown field `x`".
        let message = e.to_string();
        let field = message
            .split('`')
            .nth(1)
            .filter(|_| message.contains("field"))
            .map(str::to_string);
        super::routes::error_owned(400, &format!("bad JSON body: {message}"), field)
    })
}

/// Send `command` to the switchboard and turn its answer into HTTP.
pub(super) fn ask(commands: &Sender<CommandRequest>, command: Command) -> Answer {
    match ask_reply(commands, command) {
        Ok(reply) => Answer::json(200, &reply_json(&reply)),
        Err(answer) => answer,
    }
}

/// The switchboard's reply to `command`, or the HTTP answer for its refusal.
pub(super) fn ask_reply(
    commands: &Sender<CommandRequest>,
    command: Command,
) -> Result<Reply, Answer> {
    let (tx, rx) = bounded(1);
    if commands.send((command, tx)).is_err() {
        return Err(error(503, "callbox is stopping", None));
    }
    match rx.recv_timeout(REPLY_TIMEOUT) {
        Ok(Ok(reply)) => Ok(reply),
        Ok(Err(e)) => {
            let (code, field) = match &e {
                CommandError::UnknownAgent(_) => (404, None),
                CommandError::CannotRing { .. } => (409, Some("mode")),
                CommandError::UnknownBusyReason(_) => (400, Some("reason")),
                CommandError::NotLoggedIn(_) => (409, None),
                CommandError::NoCall(_) => (409, None),
                CommandError::NotFree { .. } => (409, Some("agent")),
                CommandError::UnknownGroup(_) => (404, Some("group")),
                CommandError::UnknownFlow(..) => (404, Some("flow")),
                CommandError::BadNumber(_) => (400, Some("number")),
                CommandError::NotSupervisor(_) => (403, None),
                CommandError::NotNow(_) => (409, None),
            };
            Err(super::routes::error_owned(
                code,
                &e.to_string(),
                field.map(str::to_string),
            ))
        }
        Err(_) => Err(error(503, "the switchboard did not answer in time", None)),
    }
}

#[derive(Serialize)]
pub(super) struct AgentJson<'a> {
    number: &'a str,
    name: &'a str,
    state: &'static str,
    state_zh: &'static str,
    reason: Option<&'a str>,
    since: String,
    mode: Option<&'static str>,
    fallback: bool,
    call: Option<i64>,
    /// The agent's direct number (S5), where the answer has read it from the store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) direct_number: Option<String>,
}

#[derive(Serialize)]
struct VerdictJson<'a> {
    group: Option<i64>,
    name: &'a str,
    gets_next_call: bool,
    reasons: &'a [String],
}

pub(super) fn agent_json(a: &AgentView) -> AgentJson<'_> {
    AgentJson {
        number: &a.number,
        name: &a.name,
        state: a.state.as_str(),
        state_zh: a.state.chinese(),
        reason: a.reason.as_deref(),
        since: a.since.to_rfc3339(),
        mode: a.mode.map(AnswerMode::as_str),
        fallback: a.fallback,
        call: a.call.map(|c| c.0),
        direct_number: None,
    }
}

fn verdict_json(v: &Verdict) -> VerdictJson<'_> {
    VerdictJson {
        group: v.group.map(|g| g.0),
        name: &v.group_name,
        gets_next_call: v.gets_next_call,
        reasons: &v.reasons,
    }
}

fn reply_json(reply: &Reply) -> serde_json::Value {
    let value = match reply {
        Reply::Agent(a) => serde_json::to_value(agent_json(a)),
        Reply::Agents(list) => {
            serde_json::to_value(list.iter().map(agent_json).collect::<Vec<_>>())
        }
        Reply::Why(verdicts) => serde_json::to_value(serde_json::json!({
            "groups": verdicts.iter().map(verdict_json).collect::<Vec<_>>()
        })),
        Reply::Call(view) => Ok(super::calls::call_json(view)),
        Reply::Live(view) => Ok(super::live::live_json(view)),
    };
    value.unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_bodies_name_the_field() {
        let e =
            parse_action("8001", "state", r#"{"state":"asleep"}"#, StatusCause::Agent).unwrap_err();
        assert_eq!(e.code, 400);
        assert!(e.body.contains(r#""field":"state""#), "{}", e.body);
        let e = parse_action("8001", "state", "{}", StatusCause::Agent).unwrap_err();
        assert!(e.body.contains(r#""field":"state""#), "{}", e.body);
        let e = parse_action("8001", "login", r#"{"mode":"fax"}"#, StatusCause::Agent).unwrap_err();
        assert!(e.body.contains(r#""field":"mode""#), "{}", e.body);
        let e =
            parse_action("8001", "login", r#"{"mood":"device"}"#, StatusCause::Agent).unwrap_err();
        assert!(e.body.contains(r#""field":"mood""#), "{}", e.body);
        let e = parse_action("8001", "mode", "not json", StatusCause::Agent).unwrap_err();
        assert_eq!(e.code, 400);
        assert!(matches!(
            parse_action("8001", "login", "", StatusCause::Agent),
            Ok(Command::Login { mode: None, .. })
        ));
    }

    #[test]
    fn a_stopped_switchboard_is_a_503() {
        let (tx, rx) = bounded::<CommandRequest>(1);
        drop(rx);
        assert_eq!(route("GET", "", "", &tx, StatusCause::Agent).code, 503);
        assert_eq!(
            route("DELETE", "/8001/login", "", &tx, StatusCause::Agent).code,
            405
        );
        assert_eq!(
            route("GET", "/8001/nothing/here", "", &tx, StatusCause::Agent).code,
            404
        );
    }
}
