//! Held callers in an IVR: the switchboard's side of a [`Session`]. It carries out
//! the session's steps (prompts, waits, queue, transfers, hang-up) and does the
//! agent actions of the seed's own menus (sign in and out, bind a phone, read the
//! binding back), then tells the session how they went.
//!
//! Digits keyed in an IVR are not written to the trail or the log (they may be a
//! PIN), with one exception: an extension or agent number the caller keyed to be put
//! through to, which is the call's destination. A keyed number that is no extension
//! is refused and not written down: callers may not dial out on the company's bill.

use chrono::NaiveDateTime;

use super::Now;
use super::acd::{AgentState, Change, StatusCause};
use super::directory::AnswerMode;
use super::ids::CallId;
use super::ivr::{AgentAction, Flow, Session, Step, builtin};
use super::msg::{CallEventKind, MediaCommand, StoreOp};
use super::prompts;
use super::routing::{Destination, IvrStart, same_number};
use super::switchboard::{Switchboard, Timer};

impl Switchboard {
    /// The flow to walk for `start`, and where its "continue" leads.
    pub(super) fn flow_for(&self, start: &IvrStart) -> Option<(Flow, Option<Destination>)> {
        match start {
            IvrStart::Flow(id) => Some((self.directory.flow(*id)?.clone(), None)),
            IvrStart::Hotline { then } => Some((builtin::hotline(), Some((**then).clone()))),
            IvrStart::Features => Some((builtin::features(), None)),
        }
    }

    /// The local time business-hours nodes look at.
    fn local_time(&self, now: Now) -> NaiveDateTime {
        now.wall
            .with_timezone(&self.config.utc_offset)
            .naive_local()
    }

    /// The box has answered an IVR caller: the flow begins.
    pub(super) fn start_ivr(&mut self, now: Now, id: CallId) {
        let local = self.local_time(now);
        let Some(session) = self.held.get_mut(&id).and_then(|w| w.ivr.as_mut()) else {
            return;
        };
        let steps = session.start(local);
        self.run_steps(now, id, steps);
    }

    /// A key from a held caller: the IVR's, or a queue's exit key.
    pub(super) fn held_key(&mut self, now: Now, id: CallId, key: char) {
        let local = self.local_time(now);
        let Some(w) = self.held.get_mut(&id) else {
            return;
        };
        if let Some(session) = w.ivr.as_mut() {
            let steps = session.key(key, local);
            self.run_steps(now, id, steps);
            return;
        }
        let exit = w
            .group
            .filter(|_| w.queued())
            .and_then(|g| self.directory.group(g))
            .and_then(|g| g.exit)
            .filter(|e| e.key == key);
        let Some(exit) = exit else {
            return;
        };
        let Some(flow) = self.directory.flow(exit.flow).cloned() else {
            return;
        };
        self.withdraw_offers(now, id, "the caller left the queue");
        self.clear_call_timers(id);
        let Some(w) = self.held.get_mut(&id) else {
            return;
        };
        let detail = format!("the caller pressed the exit key → IVR {}", flow.name);
        let line = w.trail(now, CallEventKind::Overflowed, "caller", None, detail);
        w.group = None;
        w.playlist.clear();
        w.ivr = Some(Box::new(Session::new(flow)));
        self.store(line);
        self.start_ivr(now, id);
    }

    /// The prompts the IVR asked for have played.
    pub(super) fn ivr_prompts_done(&mut self, now: Now, id: CallId) {
        let local = self.local_time(now);
        let Some(session) = self.held.get_mut(&id).and_then(|w| w.ivr.as_mut()) else {
            return;
        };
        let steps = session.prompts_done(local);
        self.run_steps(now, id, steps);
    }

    /// The IVR waited for a key in vain.
    pub(super) fn ivr_timed_out(&mut self, now: Now, id: CallId) {
        let local = self.local_time(now);
        let Some(session) = self.held.get_mut(&id).and_then(|w| w.ivr.as_mut()) else {
            return;
        };
        let steps = session.timed_out(local);
        self.run_steps(now, id, steps);
    }

    fn run_steps(&mut self, now: Now, id: CallId, steps: Vec<Step>) {
        for step in steps {
            if !self.held.contains_key(&id) {
                return;
            }
            self.run_step(now, id, step);
        }
    }

    fn run_step(&mut self, now: Now, id: CallId, step: Step) {
        let Some(w) = self.held.get_mut(&id) else {
            return;
        };
        let a = w.a;
        match step {
            Step::Play { prompts: names, .. } => {
                self.timers.retain(|(_, t)| *t != Timer::Ivr(id));
                let lang = w.language;
                w.playlist = names.iter().map(|n| self.voice.prompt(lang, n)).collect();
                if !self.play_next(id) {
                    self.ivr_prompts_done(now, id);
                }
            }
            Step::StopPrompts => {
                w.playlist.clear();
                w.playing = None;
                self.media(MediaCommand::StopPlay { leg: a });
            }
            Step::Wait(d) => {
                self.timers.retain(|(_, t)| *t != Timer::Ivr(id));
                self.timers.insert((now.mono + d, Timer::Ivr(id)));
            }
            Step::Queue(group) => {
                let flow = self.leave_ivr(id);
                let name = self.group_name(group);
                self.trail_ivr(now, id, &flow, format!("queue {name}"));
                self.join(now, id, group, "please_wait");
            }
            Step::TransferAgent(number) => {
                let flow = self.leave_ivr(id);
                self.trail_ivr(now, id, &flow, format!("agent {number}"));
                self.ring_agent_by_number(now, id, &number);
            }
            Step::TransferNumber { number, keyed } => {
                let flow = self.leave_ivr(id);
                let target = if keyed {
                    self.directory
                        .device_by_user(&number)
                        .map(|d| super::msg::Target::Device(d.id))
                } else {
                    self.overflow_target(&number)
                };
                match target {
                    Some(target) => {
                        self.trail_ivr(now, id, &flow, number.clone());
                        self.ring_number(now, id, target);
                    }
                    None if keyed => {
                        let cause = "the caller keyed a number that is no extension".to_string();
                        self.trail_ivr(now, id, &flow, "no extension".into());
                        self.say_goodbye(now, id, "invalid_key", cause);
                    }
                    None => self.leave(now, id, format!("{number} cannot be reached")),
                }
            }
            Step::Continue => {
                let then = w.then.take();
                let flow = self.leave_ivr(id);
                self.continue_to(now, id, &flow, then);
            }
            Step::Agent { action, agent } => {
                let (ok, say) = self.agent_action(now, id, action, agent.as_deref());
                let local = self.local_time(now);
                let Some(session) = self.held.get_mut(&id).and_then(|w| w.ivr.as_mut()) else {
                    return;
                };
                let steps = session.agent_done(ok, say, local);
                self.run_steps(now, id, steps);
            }
            Step::Rate(score) => {
                w.record.survey_score = Some(score);
                let words = format!("the customer rated the call {score}");
                let line = w.trail(
                    now,
                    super::msg::CallEventKind::Control,
                    "customer",
                    None,
                    words,
                );
                let row = super::msg::StoreOp::Call(Box::new(w.record.clone()));
                self.store(line);
                self.store(row);
            }
            Step::Hangup => {
                let flow = self.leave_ivr(id);
                let cause = format!("the IVR {flow} ended the call");
                self.end_held(now, id, super::msg::HangupBy::System, cause, 200);
            }
        }
    }

    /// The caller leaves the flow (for a queue, a transfer, the end); its name.
    fn leave_ivr(&mut self, id: CallId) -> String {
        self.timers.retain(|(_, t)| *t != Timer::Ivr(id));
        let Some(w) = self.held.get_mut(&id) else {
            return String::new();
        };
        w.ivr
            .take()
            .map(|s| {
                let path = s.path.join(" → ");
                if path.is_empty() {
                    s.flow_name().to_string()
                } else {
                    format!("{} ({path})", s.flow_name())
                }
            })
            .unwrap_or_default()
    }

    fn trail_ivr(&mut self, now: Now, id: CallId, flow: &str, to: String) {
        let Some(w) = self.held.get_mut(&id) else {
            return;
        };
        let line = w.trail(
            now,
            CallEventKind::Overflowed,
            "system",
            None,
            format!("IVR {flow} → {to}"),
        );
        self.store(line);
    }

    /// The hotline's "3": on to where the service number goes normally.
    fn continue_to(&mut self, now: Now, id: CallId, flow: &str, then: Option<Destination>) {
        match then {
            Some(Destination::Queue(group)) => {
                let name = self.group_name(group);
                self.trail_ivr(now, id, flow, format!("queue {name}"));
                self.join(now, id, group, "please_wait");
            }
            Some(Destination::Ivr(start)) => match self.flow_for(&start) {
                Some((next, then)) => {
                    self.trail_ivr(now, id, flow, format!("IVR {}", next.name));
                    if let Some(w) = self.held.get_mut(&id) {
                        w.ivr = Some(Box::new(Session::new(next)));
                        w.then = then;
                    }
                    self.start_ivr(now, id);
                }
                None => self.leave(now, id, "the next IVR flow no longer exists".into()),
            },
            Some(Destination::Ring(target)) => {
                let to = self.describe_target(&target);
                self.trail_ivr(now, id, flow, to);
                self.ring_number(now, id, target);
            }
            None => {
                let cause = format!("the IVR {flow} had nowhere to continue");
                self.say_goodbye(now, id, "goodbye", cause);
            }
        }
    }

    /// An IVR transfer to an agent: rung if free, otherwise the caller is told.
    fn ring_agent_by_number(&mut self, now: Now, id: CallId, number: &str) {
        let Some(agent) = self.directory.agent_by_number(number).cloned() else {
            self.leave(now, id, format!("no agent has the number {number}"));
            return;
        };
        let live = self.agents.get(agent.id);
        let mode = match live {
            Some(l) if l.state == AgentState::Idle => l.ringing_mode(),
            _ => {
                let state = self.agents.state(agent.id).chinese();
                self.leave(now, id, format!("agent {number} is not free ({state})"));
                return;
            }
        };
        match super::acd::endpoint(&self.directory, &self.devices, &agent, mode) {
            Ok(endpoint) => {
                let ring = self.config.ring_timeout;
                self.ring_agent(now, id, agent.id, endpoint, false, ring, "IVR transfer");
            }
            Err(why) => self.leave(now, id, format!("agent {number}: {}", why.words())),
        }
    }

    /// Do an agent action of the seed's menus for the agent numbered `number`; whether
    /// it was done, and what to say first.
    fn agent_action(
        &mut self,
        now: Now,
        id: CallId,
        action: AgentAction,
        number: Option<&str>,
    ) -> (bool, Vec<String>) {
        let Some(w) = self.held.get(&id) else {
            return (false, Vec::new());
        };
        let (caller_number, device) = (w.record.from_number.clone(), w.caller_device);
        if action == AgentAction::ReadBinding {
            let bound = device.and_then(|d| self.directory.agent_of_device(d));
            return match bound.filter(|a| a.bound_device == device) {
                Some(a) => {
                    let mut say = vec!["bound_agent_is".to_string()];
                    for c in a.number.chars().filter(char::is_ascii_digit) {
                        say.extend(prompts::number(c.to_digit(10).unwrap_or(0)));
                    }
                    (true, say)
                }
                None => (false, Vec::new()),
            };
        }
        let Some(agent) = number
            .and_then(|n| self.directory.agent_by_number(n))
            .cloned()
        else {
            return (false, Vec::new());
        };
        // From the hotline, the number that calls must be the agent's own direct line;
        // from a phone (0000), the phone must be a registered device.
        let from_own_line = agent
            .direct_number
            .as_deref()
            .is_some_and(|n| same_number(n, &caller_number));
        let by = StatusCause::Agent;
        match action {
            AgentAction::SignInDirect if from_own_line => {
                let detail = format!("signed in by calling the hotline from {caller_number}");
                self.sign_in(now, agent.id, AnswerMode::Direct, detail, by);
                (true, Vec::new())
            }
            AgentAction::SignInHere => match device {
                Some(d) => {
                    self.bind(agent.id, d);
                    let user = self.device_user(d);
                    let detail = format!("signed in from phone {user} (0000)");
                    self.sign_in(now, agent.id, AnswerMode::Device, detail, by);
                    (true, Vec::new())
                }
                None => (false, Vec::new()),
            },
            AgentAction::SignOut if from_own_line || device.is_some() => {
                let how = match device {
                    Some(d) => format!("from phone {} (0000)", self.device_user(d)),
                    None => format!("by calling the hotline from {caller_number}"),
                };
                self.log_out(now, agent.id, by, format!("signed out {how}"));
                (true, Vec::new())
            }
            AgentAction::Bind => match device {
                Some(d) => {
                    self.bind(agent.id, d);
                    (true, Vec::new())
                }
                None => (false, Vec::new()),
            },
            _ => (false, Vec::new()),
        }
    }

    fn sign_in(
        &mut self,
        now: Now,
        agent: super::ids::AgentId,
        mode: AnswerMode,
        detail: String,
        by: StatusCause,
    ) {
        let state = self.agents.state(agent);
        let to = if state == AgentState::Offline {
            AgentState::Idle
        } else {
            state
        };
        let reason = self.agents.get(agent).and_then(|l| l.reason.clone());
        let change = Change::by(by, to, detail, None)
            .reason(reason.filter(|_| to == state))
            .mode(mode)
            .fallback(false);
        self.set_agent(now, agent, change);
    }

    /// Hot-desking: the phone is now `agent`'s (and no other agent's), here and in
    /// the store.
    fn bind(&mut self, agent: super::ids::AgentId, device: super::ids::DeviceId) {
        for a in &mut self.directory.agents {
            if a.id == agent {
                a.bound_device = Some(device);
            } else if a.bound_device == Some(device) {
                a.bound_device = None;
            }
        }
        self.store(StoreOp::BindDevice { agent, device });
    }

    fn device_user(&self, device: super::ids::DeviceId) -> String {
        self.directory
            .device(device)
            .map_or_else(|| format!("#{}", device.0), |d| d.user.clone())
    }
}
