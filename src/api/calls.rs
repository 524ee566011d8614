//! The call bar, click-to-call and supervision over HTTP (S10, S11): each request is
//! one switchboard [`Command`], answered with the call as the bar shows it.
//!
//! Routes: `GET /api/v1/agents/{n}/call`, `POST /api/v1/agents/{n}/call/{button}`
//! (hold, resume, transfer, consult, conference, cancel-consult, complete-transfer,
//! survey, verify, menu, hangup), `POST /api/v1/calls` (click-to-call), and
//! `POST /api/v1/agents/{supervisor}/supervise[/stop]`. Who may press which is decided
//! before (`auth.rs`), except click-to-call's agent, which is in the body: an agent's
//! session may dial only for themselves.

use crossbeam_channel::Sender;
use serde::Deserialize;

use crate::core::{CallView, Command, Control, Party, Watch};

use super::agents::{CommandRequest, ask, parse_body};
use super::routes::{Answer, error};
use super::table::{Ctx, Route, Who};

/// The call bar, supervision and click-to-call routes (`table.rs`).
pub const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/agents/{agent}/call",
        who: Who::OwnAgent,
        run: run_agent,
    },
    Route {
        method: "POST",
        path: "/agents/{agent}/call/{button}",
        who: Who::OwnAgent,
        run: run_agent,
    },
    Route {
        method: "POST",
        path: "/agents/{agent}/supervise",
        who: Who::Supervisor,
        run: run_agent,
    },
    Route {
        method: "POST",
        path: "/agents/{agent}/supervise/stop",
        who: Who::Supervisor,
        run: run_agent,
    },
    Route {
        method: "POST",
        path: "/calls",
        who: Who::Anyone,
        run: run_dial,
    },
];

fn run_agent(ctx: &Ctx<'_>) -> Answer {
    let parts = ctx.parts().get(2..).unwrap_or(&[]);
    agent_route(
        ctx.asked.method.as_str(),
        ctx.param("agent"),
        parts,
        ctx.body(),
        ctx.rooms.commands,
    )
}

fn run_dial(ctx: &Ctx<'_>) -> Answer {
    dial_route(
        ctx.asked.method.as_str(),
        ctx.body(),
        ctx.rooms.commands,
        ctx.only_agent(),
    )
}

/// `/api/v1/agents/{number}/...` for `call` and `supervise`; `parts` start there.
pub fn agent_route(
    method: &str,
    number: &str,
    parts: &[&str],
    body: &str,
    commands: &Sender<CommandRequest>,
) -> Answer {
    let agent = number.to_string();
    match (method, parts) {
        ("GET", ["call"]) => ask(commands, Command::CallOf { agent }),
        ("POST", ["call", button]) => match control(button, body) {
            Ok(control) => ask(commands, Command::Control { agent, control }),
            Err(answer) => answer,
        },
        ("POST", ["supervise"]) => match parse_body::<SuperviseBody>(body, "") {
            Ok(b) => match Watch::parse(&b.mode) {
                Some(mode) => ask(
                    commands,
                    Command::Supervise {
                        supervisor: agent,
                        agent: b.agent,
                        mode,
                    },
                ),
                None => error(
                    400,
                    "expected \"listen\", \"whisper\" or \"barge\"",
                    Some("mode"),
                ),
            },
            Err(answer) => answer,
        },
        ("POST", ["supervise", "stop"]) => {
            ask(commands, Command::StopSupervising { supervisor: agent })
        }
        (_, ["call"] | ["call", _] | ["supervise"] | ["supervise", "stop"]) => {
            error(405, "method not allowed", None)
        }
        _ => error(404, "not found", None),
    }
}

/// `POST /api/v1/calls`: click-to-call; `only`: the one agent the caller may dial for.
pub fn dial_route(
    method: &str,
    body: &str,
    commands: &Sender<CommandRequest>,
    only: Option<&str>,
) -> Answer {
    if method != "POST" {
        return error(405, "method not allowed", None);
    }
    match parse_body::<DialBody>(body, "") {
        Ok(b) if b.number.trim().is_empty() => {
            error(400, "expected a number to call", Some("number"))
        }
        Ok(b) if only.is_some_and(|own| own != b.agent) => super::routes::error_owned(
            403,
            &format!(
                "agent {} may call only from their own phone, not {}'s",
                only.unwrap_or("?"),
                b.agent
            ),
            Some("agent".into()),
        ),
        Ok(b) => ask(
            commands,
            Command::Dial {
                agent: b.agent,
                number: b.number.trim().to_string(),
            },
        ),
        Err(answer) => answer,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DialBody {
    agent: String,
    number: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuperviseBody {
    /// Whose call.
    agent: String,
    mode: String,
}

/// Whom a transfer or consult is for: exactly one of the three.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartyBody {
    agent: Option<String>,
    group: Option<String>,
    number: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MenuBody {
    flow: String,
    node: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

fn control(button: &str, body: &str) -> Result<Control, Answer> {
    let plain = |c: Control| -> Result<Control, Answer> {
        let _: Empty = parse_body(body, "{}")?;
        Ok(c)
    };
    match button {
        "hold" => plain(Control::Hold),
        "resume" => plain(Control::Resume),
        "conference" => plain(Control::Conference),
        "cancel-consult" => plain(Control::CancelConsult),
        "complete-transfer" => plain(Control::CompleteTransfer),
        "survey" => plain(Control::Survey),
        "verify" => plain(Control::Verify),
        "hangup" => plain(Control::Hangup),
        "transfer" => Ok(Control::Transfer(party(body)?)),
        "consult" => Ok(Control::Consult(party(body)?)),
        "menu" => {
            let b: MenuBody = parse_body(body, "")?;
            Ok(Control::Menu {
                flow: b.flow,
                node: b.node,
            })
        }
        _ => Err(error(404, "not found", None)),
    }
}

fn party(body: &str) -> Result<Party, Answer> {
    let b: PartyBody = parse_body(body, "")?;
    let some = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
    match (some(b.agent), some(b.group), some(b.number)) {
        (Some(a), None, None) => Ok(Party::Agent(a)),
        (None, Some(g), None) => Ok(Party::Group(g)),
        (None, None, Some(n)) => Ok(Party::Number(n.trim().to_string())),
        _ => Err(error(
            400,
            "expected exactly one of \"agent\", \"group\" or \"number\"",
            Some("agent"),
        )),
    }
}

/// The call bar's view as JSON.
pub fn call_json(v: &CallView) -> serde_json::Value {
    serde_json::json!({
        "call": v.call.0,
        "state": v.state,
        "customer": v.customer,
        "answered_at": v.answered_at.map(|t| t.to_rfc3339()),
        "hold_secs": v.hold_secs,
        "third": v.third,
        "verified": v.verified,
        "supervisor": v.supervisor.as_ref().map(|(who, mode)| serde_json::json!({
            "who": who,
            "mode": mode.as_str(),
        })),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buttons_check_their_bodies() {
        assert!(matches!(control("hold", ""), Ok(Control::Hold)));
        assert!(matches!(control("hold", "{}"), Ok(Control::Hold)));
        let e = control("hold", r#"{"x":1}"#).unwrap_err();
        assert!(e.body.contains(r#""field":"x""#), "{}", e.body);
        assert!(matches!(
            control("transfer", r#"{"agent":"8002"}"#),
            Ok(Control::Transfer(Party::Agent(a))) if a == "8002"
        ));
        let e = control("transfer", r#"{"agent":"8002","group":"g"}"#).unwrap_err();
        assert_eq!(e.code, 400);
        let e = control("consult", "{}").unwrap_err();
        assert!(e.body.contains(r#""field":"agent""#), "{}", e.body);
        let e = control("menu", r#"{"node":3}"#).unwrap_err();
        assert!(e.body.contains(r#""field":"flow""#), "{}", e.body);
        assert_eq!(control("fly", "").unwrap_err().code, 404);
    }
}
