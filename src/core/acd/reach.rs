//! Where an agent's calls ring, and why an agent would or would not get the next call.
//!
//! Both are answers over the same facts (the directory, the agent book, which devices
//! are reachable), so they live together: the ACD offers a call only where
//! [`endpoint`] says it can, and `why` reports exactly the reasons the ACD applies.

use std::collections::HashMap;

use crate::core::Now;
use crate::core::directory::{Agent, AnswerMode, Directory};
use crate::core::ids::{DeviceId, GroupId};
use crate::core::msg::Target;

use super::book::AgentBook;
use super::state::AgentState;

/// Registered contacts and reachability per device, as the SIP room reported them.
pub type Reachability = HashMap<DeviceId, (usize, bool)>;

/// Where to ring an agent now, and which mode that is.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub target: Target,
    pub mode: AnswerMode,
    /// The agent's phone is gone and the admin allows the direct number instead.
    pub fallback: bool,
}

/// Why an agent cannot be rung in their mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreachable {
    NoBoundDevice,
    NoSoftphone,
    DeviceNotRegistered(String),
    DeviceUnreachable(String),
    NoDirectNumber,
    NoTrunk,
}

impl Unreachable {
    pub fn words(&self) -> String {
        match self {
            Unreachable::NoBoundDevice => "no desk phone is bound to the agent".into(),
            Unreachable::NoSoftphone => "the agent has no softphone login".into(),
            Unreachable::DeviceNotRegistered(user) => format!("phone {user} is not registered"),
            Unreachable::DeviceUnreachable(user) => {
                format!("phone {user} does not answer qualify pings")
            }
            Unreachable::NoDirectNumber => "the agent has no direct number".into(),
            Unreachable::NoTrunk => "no trunk to reach the direct number through".into(),
        }
    }
}

/// The device or number that rings for `agent` in `mode`, falling back to the direct
/// number when the admin allows it and the phone is gone.
pub fn endpoint(
    dir: &Directory,
    devices: &Reachability,
    agent: &Agent,
    mode: AnswerMode,
) -> Result<Endpoint, Unreachable> {
    let direct = || -> Result<Target, Unreachable> {
        let number = agent
            .direct_number
            .clone()
            .ok_or(Unreachable::NoDirectNumber)?;
        let trunk = dir.trunks.first().ok_or(Unreachable::NoTrunk)?;
        Ok(Target::Trunk {
            trunk: trunk.id,
            number,
        })
    };
    let device = match mode {
        AnswerMode::Direct => {
            return direct().map(|target| Endpoint {
                target,
                mode,
                fallback: false,
            });
        }
        AnswerMode::Device => agent.bound_device.ok_or(Unreachable::NoBoundDevice),
        AnswerMode::Softphone => agent.softphone.ok_or(Unreachable::NoSoftphone),
    };
    let reachable = device.and_then(|id| {
        let user = dir
            .device(id)
            .map_or_else(|| format!("#{}", id.0), |d| d.user.clone());
        match devices.get(&id) {
            Some((contacts, true)) if *contacts > 0 => Ok(id),
            Some((contacts, false)) if *contacts > 0 => Err(Unreachable::DeviceUnreachable(user)),
            _ => Err(Unreachable::DeviceNotRegistered(user)),
        }
    });
    match reachable {
        Ok(id) => Ok(Endpoint {
            target: Target::Device(id),
            mode,
            fallback: false,
        }),
        Err(why) if agent.allow_fallback => direct()
            .map(|target| Endpoint {
                target,
                mode: AnswerMode::Direct,
                fallback: true,
            })
            .map_err(|_| why),
        Err(why) => Err(why),
    }
}

/// For one of the agent's groups: would they get its next call, and if not, why.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// `None` when the agent is in no group at all.
    pub group: Option<GroupId>,
    pub group_name: String,
    pub gets_next_call: bool,
    /// Every reason that stops it (empty when `gets_next_call`), and notes that do
    /// not (fallback in force, offline answering).
    pub reasons: Vec<String>,
}

/// The explanation for `agent`, one verdict per group (seed S9).
pub fn why(
    now: Now,
    dir: &Directory,
    devices: &Reachability,
    book: &AgentBook,
    agent: &Agent,
) -> Vec<Verdict> {
    let live = book.get(agent.id);
    let state = live.map_or(AgentState::Offline, |l| l.state);
    let mut blockers = Vec::new();
    let mut notes = Vec::new();
    let since = |l: &super::book::AgentLive| {
        let secs = now.mono.saturating_duration_since(l.since).as_secs();
        format!(
            "since {} ({secs} s ago)",
            l.since_wall.format("%Y-%m-%d %H:%M:%S UTC")
        )
    };
    let mode = match (state, live) {
        (AgentState::Offline, _) if agent.offline_answering => {
            notes.push(
                "logged out, but offline answering sends queue calls to the direct number"
                    .to_string(),
            );
            Some(AnswerMode::Direct)
        }
        (AgentState::Offline, _) => {
            blockers.push("logged out".to_string());
            None
        }
        (AgentState::Idle, Some(l)) => Some(l.ringing_mode()),
        (AgentState::WrapUp, Some(l)) => {
            let until = l
                .wrap_until
                .map(|t| t.saturating_duration_since(now.mono).as_secs())
                .unwrap_or(0);
            blockers.push(format!("in after-call work for another {until} s"));
            Some(l.ringing_mode())
        }
        (AgentState::Busy, Some(l)) => {
            let reason = l.reason.as_deref().unwrap_or("no reason given");
            blockers.push(format!("busy ({reason}) {}", since(l)));
            Some(l.ringing_mode())
        }
        (other, Some(l)) => {
            blockers.push(format!("{} {}", describe(other), since(l)));
            Some(l.ringing_mode())
        }
        (_, None) => None,
    };
    if live.is_some_and(|l| l.fallback && l.state != AgentState::Offline) {
        notes.push("the phone failed or is gone: calls go to the direct number".to_string());
    }
    if let Some(mode) = mode {
        match endpoint(dir, devices, agent, mode) {
            Ok(e) if e.fallback => notes.push(format!(
                "the {} is gone: calls fall back to the direct number",
                mode.words()
            )),
            Ok(_) => {}
            Err(why) => blockers.push(why.words()),
        }
    }
    if let Some(l) = live
        && l.unanswered > 0
        && state == AgentState::Idle
    {
        notes.push(format!("{} unanswered offers in a row", l.unanswered));
    }
    if agent.groups.is_empty() {
        let mut reasons = vec!["not a member of any skill group".to_string()];
        reasons.extend(blockers);
        return vec![Verdict {
            group: None,
            group_name: String::new(),
            gets_next_call: false,
            reasons,
        }];
    }
    agent
        .groups
        .iter()
        .map(|m| {
            let mut reasons = blockers.clone();
            let name = match dir.group(m.group) {
                Some(g) => g.name.clone(),
                None => {
                    reasons.push("the group no longer exists".into());
                    String::new()
                }
            };
            let gets_next_call = reasons.is_empty();
            reasons.extend(notes.iter().cloned());
            Verdict {
                group: Some(m.group),
                group_name: name,
                gets_next_call,
                reasons,
            }
        })
        .collect()
}

fn describe(state: AgentState) -> &'static str {
    match state {
        AgentState::Offline => "logged out",
        AgentState::Idle => "idle",
        AgentState::Busy => "busy",
        AgentState::Rest => "on a break",
        AgentState::WrapUp => "in after-call work",
        AgentState::Ringing => "ringing with another call",
        AgentState::Calling => "calling out",
        AgentState::Talking => "on a call",
    }
}
