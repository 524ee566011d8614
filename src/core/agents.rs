//! What people ask of the switchboard about agents: log in and out, change state or
//! answer mode, and explain themselves; and what a phone's registration changes for
//! the agents who answer on it (the fallback to the direct line, seed S3).
//!
//! A change asked for during a call (busy, rest, log out) is kept and made when the
//! call ends, so an agent can say "no more calls after this one" without hanging up.
//!
//! `Command::Live` answers a snapshot of everything the live views show (agents, call
//! bars, queues); it reads and changes nothing, so the API may ask it often.

use super::Now;
use super::acd::{self, AgentState, Change, StatusCause};
use std::time::{Duration, Instant};

use super::command::{
    AgentView, Availability, CallView, Command, CommandError, LiveView, QueueView, Reply,
};
use super::directory::{Agent, AnswerMode};
use super::ids::{AgentId, DeviceId};
use super::switchboard::{Switchboard, Timer};

impl Switchboard {
    /// Carry out a command; the reply goes back to whoever asked.
    pub(super) fn command(&mut self, now: Now, command: Command) -> Result<Reply, CommandError> {
        match command {
            Command::Control { agent, control } => self.control(now, &agent, control),
            Command::Dial { agent, number } => self.dial(now, &agent, &number),
            Command::Supervise {
                supervisor,
                agent,
                mode,
            } => self.supervise(now, &supervisor, &agent, mode),
            Command::StopSupervising { supervisor } => self.stop_supervising(now, &supervisor),
            Command::CallOf { agent } => match self.call_of_agent(&agent) {
                Ok(id) => self.view_reply(id),
                // A queue call ringing the agent is still the held caller's.
                Err(CommandError::NoCall(number)) => self
                    .directory
                    .agent_by_number(&number)
                    .and_then(|a| self.offer_view(a.id))
                    .map(|v| Reply::Call(Box::new(v)))
                    .ok_or(CommandError::NoCall(number)),
                Err(e) => Err(e),
            },
            Command::Live => Ok(Reply::Live(Box::new(self.live_view(now)))),
            Command::Login { agent, mode, by } => {
                let agent = self.agent_named(&agent)?;
                let mode = mode.unwrap_or(agent.answer_mode);
                self.check_reachable(&agent, mode)?;
                let answering_offline = self
                    .agents
                    .get(agent.id)
                    .is_some_and(|l| l.offline_answering);
                if answering_offline {
                    // Logged out, on an offline-answering call: logged in when it ends.
                    let live = self.agents.entry(now, agent.id);
                    live.mode = mode;
                    live.after_call = Some((AgentState::Idle, None, by));
                } else if self.agents.state(agent.id) == AgentState::Offline {
                    let detail = format!("logged in, answering on the {}", mode.words());
                    let change = Change::by(by, AgentState::Idle, detail, None)
                        .mode(mode)
                        .fallback(false);
                    self.set_agent(now, agent.id, change);
                } else {
                    self.switch_mode(now, &agent, mode, by);
                }
                Ok(self.agent_reply(now, &agent))
            }
            Command::Logout { agent, by } => {
                let agent = self.agent_named(&agent)?;
                self.log_out(now, agent.id, by, "logged out".into());
                Ok(self.agent_reply(now, &agent))
            }
            Command::SetState { agent, state, by } => {
                let agent = self.agent_named(&agent)?;
                let current = self.agents.state(agent.id);
                let logged_out = current == AgentState::Offline
                    || self
                        .agents
                        .get(agent.id)
                        .is_some_and(|l| l.offline_answering);
                if logged_out {
                    return Err(CommandError::NotLoggedIn(agent.number.clone()));
                }
                let (to, reason, detail) = match state {
                    Availability::Idle if current == AgentState::WrapUp => {
                        (AgentState::Idle, None, "ended after-call work early")
                    }
                    Availability::Idle => (AgentState::Idle, None, "ready for calls"),
                    Availability::Busy(reason) => {
                        if let Some(r) = &reason {
                            let known = self.directory.busy_reasons.is_empty()
                                || self.directory.busy_reasons.contains(r);
                            if !known {
                                return Err(CommandError::UnknownBusyReason(r.clone()));
                            }
                        }
                        (AgentState::Busy, reason, "busy")
                    }
                    Availability::Rest => (AgentState::Rest, None, "taking a break"),
                };
                if current.on_a_call() {
                    self.agents.entry(now, agent.id).after_call = Some((to, reason, by));
                } else {
                    self.timers.retain(|(_, t)| *t != Timer::WrapUp(agent.id));
                    if to == AgentState::Idle {
                        self.agents.entry(now, agent.id).unanswered = 0;
                    }
                    let change = Change::by(by, to, detail, None).reason(reason);
                    self.set_agent(now, agent.id, change);
                }
                Ok(self.agent_reply(now, &agent))
            }
            Command::SetMode { agent, mode, by } => {
                let agent = self.agent_named(&agent)?;
                if self.agents.state(agent.id) == AgentState::Offline {
                    return Err(CommandError::NotLoggedIn(agent.number.clone()));
                }
                self.check_reachable(&agent, mode)?;
                self.switch_mode(now, &agent, mode, by);
                Ok(self.agent_reply(now, &agent))
            }
            Command::Why { agent } => {
                let agent = self.agent_named(&agent)?;
                let verdicts = acd::why(now, &self.directory, &self.devices, &self.agents, &agent);
                Ok(Reply::Why(verdicts))
            }
            Command::Agents => Ok(Reply::Agents(
                self.directory
                    .agents
                    .iter()
                    .map(|a| self.view(now, a))
                    .collect(),
            )),
        }
    }

    /// A registration came or went: agents answering on that phone fall back to
    /// their direct line, or come back to the phone, and the status log says so.
    pub(super) fn device_changed(&mut self, now: Now, device: DeviceId) {
        let affected: Vec<Agent> = self
            .directory
            .agents
            .iter()
            .filter(|a| a.bound_device == Some(device) || a.softphone == Some(device))
            .cloned()
            .collect();
        for agent in affected {
            let Some(live) = self.agents.get(agent.id) else {
                continue;
            };
            if live.state == AgentState::Offline || live.mode == AnswerMode::Direct {
                continue;
            }
            let (state, reason, mode, was) =
                (live.state, live.reason.clone(), live.mode, live.fallback);
            let endpoint = acd::endpoint(&self.directory, &self.devices, &agent, mode);
            let now_fallback = matches!(&endpoint, Ok(e) if e.fallback);
            let phone_back = matches!(&endpoint, Ok(e) if !e.fallback);
            let user = self
                .directory
                .device(device)
                .map_or_else(String::new, |d| d.user.clone());
            let change = if !was && now_fallback {
                Some((true, format!("phone {user} unregistered → direct line")))
            } else if was && phone_back {
                Some((
                    false,
                    format!("phone {user} registered again → back to the phone"),
                ))
            } else {
                None
            };
            if let Some((on, detail)) = change {
                let change = Change::system(state, detail, None)
                    .reason(reason)
                    .fallback(on);
                self.set_agent(now, agent.id, change);
            }
        }
    }

    fn switch_mode(&mut self, now: Now, agent: &Agent, mode: AnswerMode, by: StatusCause) {
        let Some(live) = self.agents.get(agent.id) else {
            return;
        };
        let (state, reason) = (live.state, live.reason.clone());
        let detail = format!("answer mode switched to the {}", mode.words());
        let change = Change::by(by, state, detail, None)
            .reason(reason)
            .mode(mode)
            .fallback(false);
        self.set_agent(now, agent.id, change);
    }

    /// Refuse a mode the agent cannot be rung in (no phone bound, no direct number).
    /// A phone that is merely unregistered is allowed: it may register in a moment,
    /// and `why` says so meanwhile.
    fn check_reachable(&self, agent: &Agent, mode: AnswerMode) -> Result<(), CommandError> {
        match acd::endpoint(&self.directory, &self.devices, agent, mode) {
            Ok(_)
            | Err(acd::Unreachable::DeviceNotRegistered(_))
            | Err(acd::Unreachable::DeviceUnreachable(_)) => Ok(()),
            Err(why) => Err(CommandError::CannotRing {
                agent: agent.number.clone(),
                mode: mode.as_str(),
                why: why.words(),
            }),
        }
    }

    fn agent_named(&self, number: &str) -> Result<Agent, CommandError> {
        self.directory
            .agent_by_number(number)
            .cloned()
            .ok_or_else(|| CommandError::UnknownAgent(number.to_string()))
    }

    pub(super) fn agent_reply(&self, now: Now, agent: &Agent) -> Reply {
        Reply::Agent(Box::new(self.view(now, agent)))
    }

    /// A held caller's offer ringing `agent`, as their call bar shows it.
    fn offer_view(&self, agent: AgentId) -> Option<CallView> {
        let w = self
            .held
            .values()
            .find(|w| w.offers.iter().any(|o| o.agent == Some(agent)))?;
        Some(CallView {
            call: w.record.id,
            state: "ringing",
            customer: w.record.from_number.clone(),
            answered_at: None,
            hold_secs: 0,
            third: None,
            verified: None,
            supervisor: None,
        })
    }

    /// Every agent, their call bars and the queues, as of `now` ([`Command::Live`]).
    fn live_view(&self, now: Now) -> LiveView {
        let agents = &self.directory.agents;
        let calls = agents
            .iter()
            .filter_map(|a| {
                let view = match self.call_of_agent(&a.number) {
                    Ok(id) => self.call_view(id),
                    Err(_) => self.offer_view(a.id),
                }?;
                Some((a.number.clone(), view))
            })
            .collect();
        let queues = self
            .directory
            .groups
            .iter()
            .map(|g| {
                let waiting: Vec<Instant> = self
                    .held
                    .values()
                    .filter(|w| w.group == Some(g.id) && w.queued())
                    .map(|w| w.queued_at.unwrap_or(w.group_joined))
                    .collect();
                let first = waiting.iter().min().copied();
                let longest =
                    first.map_or(Duration::ZERO, |t| now.mono.saturating_duration_since(t));
                let longest_since = first
                    .map(|_| now.wall - chrono::TimeDelta::from_std(longest).unwrap_or_default());
                QueueView {
                    group: g.id,
                    name: g.name.clone(),
                    waiting: u32::try_from(waiting.len()).unwrap_or(u32::MAX),
                    longest_since,
                    longest_wait_secs: u32::try_from(longest.as_secs()).unwrap_or(u32::MAX),
                    members: agents
                        .iter()
                        .filter(|a| a.groups.iter().any(|m| m.group == g.id))
                        .map(|a| a.number.clone())
                        .collect(),
                }
            })
            .collect();
        LiveView {
            at: now.wall,
            agents: agents.iter().map(|a| self.view(now, a)).collect(),
            calls,
            queues,
        }
    }

    fn view(&self, now: Now, agent: &Agent) -> AgentView {
        let live = self.agents.get(agent.id);
        AgentView {
            number: agent.number.clone(),
            name: agent.name.clone(),
            state: live.map_or(AgentState::Offline, |l| l.state),
            reason: live.and_then(|l| l.reason.clone()),
            since: live.map_or(now.wall, |l| l.since_wall),
            mode: live.and_then(|l| l.effective_mode()),
            fallback: live.is_some_and(|l| l.fallback),
            call: live.and_then(|l| l.call),
        }
    }
}
