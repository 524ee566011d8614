//! The third leg on an answered call: a party the agent consults (咨询, then a
//! three-way call or an attended transfer), or a supervisor who listens, whispers
//! or barges in.
//!
//! Either is an [`Extra`] on the call, rung by the box from the call's own id, so
//! its events find the call through the leg map like the two main legs do. Who
//! hears whom is `arrange.rs`'s; this file only moves the extra leg through ringing,
//! answered and gone, and writes the trail and (for supervisors) the audit log.

use super::Now;
use super::acd::{self, AgentState};
use super::call::{Extra, LegMedia, Links, Phase, Side};
use super::causes::rejection_words;
use super::command::{CommandError, Party, Reply, Watch};
use super::ids::{AgentId, CallId, LegId};
use super::media_desc::MediaDesc;
use super::msg::{
    AuditRecord, CallEventKind, MediaCommand, MediaEvent, SipCommand, SipEvent, StoreOp, Target,
};
use super::switchboard::{SUPPORTED, Switchboard, Timer};

impl Switchboard {
    /// 咨询: ring a third party for the agent; the customer hears music meanwhile.
    pub(super) fn consult(
        &mut self,
        now: Now,
        id: CallId,
        who: &str,
        party: &Party,
    ) -> Result<(), CommandError> {
        if self.calls.get(&id).is_some_and(|c| c.third.is_some()) {
            return Err(CommandError::NotNow(
                "a consult is in progress already".into(),
            ));
        }
        let (target, agent, label) = match party {
            Party::Agent(n) => {
                let (agent, endpoint) = self.free_agent_endpoint(n)?;
                (endpoint.target, Some(agent), format!("agent {n}"))
            }
            Party::Group(name) => {
                let (agent, endpoint) = self.free_member(name)?;
                let number = self
                    .directory
                    .agent(agent)
                    .map(|a| a.number.clone())
                    .unwrap_or_default();
                (
                    endpoint.target,
                    Some(agent),
                    format!("agent {number} of {name}"),
                )
            }
            Party::Number(n) => {
                let target = self
                    .dialable(n)
                    .ok_or_else(|| CommandError::BadNumber(n.clone()))?;
                // An agent's extension is that agent: not offered queue calls while
                // consulted, and not consulted while on another call.
                let agent = self.agent_at(&target)?;
                (target, agent, n.clone())
            }
        };
        let leg = self.ring_extra(now, id, target, agent, label.clone(), Watch::Barge);
        if let Some(call) = self.calls.get_mut(&id) {
            call.on_hold = false;
            call.third = Some(leg);
        }
        self.trail_control(now, id, who, &format!("consulted {label}"));
        self.count_hold(now, id);
        self.arrange(id);
        Ok(())
    }

    /// The member of group `name` idle the longest, and where they ring.
    fn free_member(&self, name: &str) -> Result<(AgentId, acd::Endpoint), CommandError> {
        let group = self
            .directory
            .groups
            .iter()
            .find(|g| g.name == name)
            .ok_or_else(|| CommandError::UnknownGroup(name.to_string()))?;
        self.directory
            .agents
            .iter()
            .filter(|a| a.groups.iter().any(|m| m.group == group.id))
            .filter_map(|a| {
                let live = self
                    .agents
                    .get(a.id)
                    .filter(|l| l.state == AgentState::Idle)?;
                let endpoint =
                    acd::endpoint(&self.directory, &self.devices, a, live.ringing_mode()).ok()?;
                Some((live.idle_since, a.id, endpoint))
            })
            .min_by_key(|(since, ..)| *since)
            .map(|(_, agent, endpoint)| (agent, endpoint))
            .ok_or_else(|| CommandError::NotNow(format!("nobody in {name} is free")))
    }

    /// Start ringing an extra leg for call `id`; the caller puts it on the call.
    fn ring_extra(
        &mut self,
        now: Now,
        id: CallId,
        target: Target,
        agent: Option<AgentId>,
        label: String,
        mode: Watch,
    ) -> Extra {
        let leg = self.new_leg();
        let deadline = now.mono + self.config.ring_timeout;
        self.legs.insert(leg, id);
        self.timers.insert((deadline, Timer::Extra(leg)));
        if let Some(agent) = agent {
            self.personal_call(now, agent, AgentState::Ringing, id);
        }
        self.media(MediaCommand::Open { leg });
        Extra {
            leg,
            media: LegMedia::default(),
            target,
            agent,
            label,
            answered: false,
            joined: false,
            mode,
            deadline,
        }
    }

    /// Is `leg` an extra leg of a call (and which)?
    pub(super) fn extra_call(&self, leg: LegId) -> Option<CallId> {
        let id = self.legs.get(&leg)?;
        let call = self.calls.get(id)?;
        let extra = call.third.as_ref().is_some_and(|t| t.leg == leg)
            || call.watcher.as_ref().is_some_and(|w| w.leg == leg);
        extra.then_some(*id)
    }

    pub(super) fn handle_extra_sip(&mut self, now: Now, id: CallId, leg: LegId, event: SipEvent) {
        match event {
            SipEvent::Answered { answer, .. } => self.extra_answered(now, id, leg, answer),
            SipEvent::Rejected { code, reason, .. } => {
                self.forget_leg(leg);
                self.extra_gone(now, id, leg, Some(code), rejection_words(code, &reason));
            }
            SipEvent::HungUp { .. } => {
                self.forget_leg(leg);
                self.extra_gone(now, id, leg, None, "hung up".into());
            }
            SipEvent::Reoffer { offer, .. } => {
                let outcome = self
                    .calls
                    .get_mut(&id)
                    .and_then(|c| c.extra_mut(leg))
                    .map(|e| super::switchboard::apply_reoffer(&mut e.media, &offer));
                if let Some(outcome) = outcome {
                    let hold_changed = outcome.hold_changed.is_some();
                    self.finish_reoffer(leg, outcome);
                    if hold_changed {
                        self.arrange(id);
                    }
                }
            }
            SipEvent::Refer { .. } => self.sip(SipCommand::ReferOutcome { leg, code: 403 }),
            SipEvent::Progress { .. }
            | SipEvent::IncomingCall(_)
            | SipEvent::DeviceStatus { .. } => {}
        }
    }

    pub(super) fn handle_extra_media(
        &mut self,
        now: Now,
        id: CallId,
        leg: LegId,
        event: MediaEvent,
    ) {
        match event {
            MediaEvent::Opened { local, .. } => {
                let Some(call) = self.calls.get_mut(&id) else {
                    return;
                };
                let codec = match call.customer {
                    Side::A => call.a_media.codec,
                    Side::B => call.b_media.codec,
                };
                let agent = call.agent();
                let Some(extra) = call.extra_mut(leg) else {
                    return;
                };
                extra.media.local = Some(local);
                let target = extra.target.clone();
                let from_user = agent
                    .and_then(|a| self.directory.agent(a))
                    .map_or_else(|| "callbox".to_string(), |a| a.number.clone());
                let Some(codec) = codec else {
                    return;
                };
                self.invite_leg(leg, target, from_user, codec, local);
            }
            MediaEvent::OpenFailed { reason, .. } => {
                self.legs.remove(&leg);
                self.extra_gone(now, id, leg, None, format!("no RTP port ({reason})"));
            }
            MediaEvent::RtpTimeout { .. } => {
                self.sip(SipCommand::Hangup { leg });
                self.forget_leg(leg);
                self.extra_gone(now, id, leg, None, "no audio: the leg was dead".into());
            }
            MediaEvent::Dtmf { .. }
            | MediaEvent::PlayDone { .. }
            | MediaEvent::RecordingDone { .. } => {}
        }
    }

    fn extra_answered(&mut self, now: Now, id: CallId, leg: LegId, answer: MediaDesc) {
        let Some(codec) = answer.common_codec(&SUPPORTED) else {
            self.sip(SipCommand::Hangup { leg });
            self.forget_leg(leg);
            let why = "answered with no codec we speak".to_string();
            self.extra_gone(now, id, leg, Some(488), why);
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(extra) = call.extra_mut(leg) else {
            return;
        };
        if extra.answered {
            return;
        }
        extra.media.learn(&answer);
        extra.media.codec = Some(codec);
        extra.answered = true;
        let (deadline, agent, label, mode) =
            (extra.deadline, extra.agent, extra.label.clone(), extra.mode);
        let watching = call.watcher.as_ref().is_some_and(|w| w.leg == leg);
        self.timers.remove(&(deadline, Timer::Extra(leg)));
        self.media(MediaCommand::Configure {
            leg,
            remote: answer.addr,
            codec,
            dtmf_pt: answer.dtmf_pt,
        });
        self.personal_answered(now, agent, id);
        if watching {
            self.audit(now, &label, mode.as_str(), id);
            let words = format!("supervisor {label} joined the call ({})", mode.as_str());
            self.trail_line(now, id, CallEventKind::Supervised, &label, words);
        } else {
            self.trail_line(
                now,
                id,
                CallEventKind::Control,
                &label,
                format!("{label} answered the consult"),
            );
        }
        self.arrange(id);
    }

    /// The extra leg ended, was refused or never answered: the call goes on without it.
    pub(super) fn extra_gone(
        &mut self,
        now: Now,
        id: CallId,
        leg: LegId,
        code: Option<u16>,
        why: String,
    ) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let watching = call.watcher.as_ref().is_some_and(|w| w.leg == leg);
        let extra = if call.third.as_ref().is_some_and(|t| t.leg == leg) {
            call.third.take()
        } else if call.watcher.as_ref().is_some_and(|w| w.leg == leg) {
            call.watcher.take()
        } else {
            None
        };
        let Some(extra) = extra else {
            return;
        };
        self.timers.remove(&(extra.deadline, Timer::Extra(leg)));
        self.legs.remove(&leg);
        if let Some(agent) = extra.agent {
            self.release_personal(now, agent, id);
        }
        let (kind, words) = if watching {
            (
                CallEventKind::Supervised,
                format!("{} left: {why}", extra.label),
            )
        } else if extra.answered {
            (
                CallEventKind::Control,
                format!("{} left the call: {why}", extra.label),
            )
        } else {
            (
                CallEventKind::AgentNoAnswer,
                format!("{} did not answer the consult: {why}", extra.label),
            )
        };
        if let Some(call) = self.calls.get_mut(&id) {
            let line = call.trail(now.wall, kind, &extra.label, code, words);
            self.store(StoreOp::CallEvent(Box::new(line)));
        }
        self.count_hold(now, id);
        self.arrange(id);
    }

    /// The ring of an extra leg timed out.
    pub(super) fn extra_timed_out(&mut self, now: Now, leg: LegId) {
        let Some(id) = self.extra_call(leg) else {
            return;
        };
        self.sip(SipCommand::Hangup { leg });
        self.forget_leg(leg);
        let secs = self.config.ring_timeout.as_secs();
        self.extra_gone(
            now,
            id,
            leg,
            Some(480),
            format!("no answer within {secs} s"),
        );
    }

    /// Join the consulted party into a three-way call.
    pub(super) fn conference(
        &mut self,
        now: Now,
        id: CallId,
        who: &str,
    ) -> Result<(), CommandError> {
        let Some(third) = self.calls.get_mut(&id).and_then(|c| c.third.as_mut()) else {
            return Err(CommandError::NotNow(
                "there is nobody to conference with: consult first".into(),
            ));
        };
        if !third.answered {
            return Err(CommandError::NotNow(format!(
                "{} has not answered yet",
                third.label
            )));
        }
        if third.joined {
            return Err(CommandError::NotNow(
                "the three of you are talking already".into(),
            ));
        }
        third.joined = true;
        let label = third.label.clone();
        self.trail_control(
            now,
            id,
            who,
            &format!("joined the customer and {label} in a three-way call"),
        );
        self.count_hold(now, id);
        self.arrange(id);
        Ok(())
    }

    /// End the consult: the third party leaves, customer and agent talk again.
    pub(super) fn cancel_consult(
        &mut self,
        now: Now,
        id: CallId,
        who: &str,
    ) -> Result<(), CommandError> {
        let Some(leg) = self
            .calls
            .get(&id)
            .and_then(|c| c.third.as_ref())
            .map(|t| t.leg)
        else {
            return Err(CommandError::NotNow("there is no consult to end".into()));
        };
        self.sip(SipCommand::Hangup { leg });
        self.forget_leg(leg);
        self.extra_gone(now, id, leg, None, format!("{who} ended the consult"));
        Ok(())
    }

    /// The agent leaves; the customer and the consulted party go on (attended transfer).
    pub(super) fn complete_transfer(
        &mut self,
        now: Now,
        id: CallId,
        who: &str,
    ) -> Result<(), CommandError> {
        let Some(call) = self.calls.get_mut(&id) else {
            return Ok(());
        };
        if !call.third.as_ref().is_some_and(|t| t.answered) {
            return Err(CommandError::NotNow(
                "the consulted party has not answered: consult first".into(),
            ));
        }
        let Some(third) = call.third.take() else {
            return Ok(());
        };
        let leaving = call.agent_leg();
        let leaving_agent = call.agent();
        let offered = call.agent_b_offered;
        let queue = call.queue_group;
        match call.customer {
            Side::A => {
                call.b = third.leg;
                call.b_media = third.media;
                call.target = third.target;
                call.agent_b = third.agent;
                call.agent_b_offered = third.agent.is_some();
            }
            Side::B => {
                call.a = third.leg;
                call.a_media = third.media;
                call.agent_a = third.agent;
                call.agent_b_offered = third.agent.is_some();
            }
        }
        if third.agent.is_some() {
            call.record.agent = third.agent;
        }
        let mixed = matches!(call.links, Links::Mix(_));
        call.links = Links::None;
        if mixed {
            self.media(MediaCommand::Unmix { room: id.0 as u64 });
        }
        if self.legs.remove(&leaving).is_some() {
            self.sip(SipCommand::Hangup { leg: leaving });
            self.media(MediaCommand::Close { leg: leaving });
        }
        self.trail_control(
            now,
            id,
            who,
            &format!("left the customer with {} (attended transfer)", third.label),
        );
        match leaving_agent {
            Some(agent) if offered => self.agent_call_ended(now, agent, queue, id),
            Some(agent) => self.release_personal(now, agent, id),
            None => {}
        }
        if let Some(agent) = third.agent {
            self.take_over(now, agent, id, "took over the call (attended transfer)");
        }
        self.count_hold(now, id);
        self.arrange(id);
        self.store_row(id);
        Ok(())
    }

    // ------------------------------------------------------------ supervision

    pub(super) fn supervise(
        &mut self,
        now: Now,
        supervisor: &str,
        agent: &str,
        mode: Watch,
    ) -> Result<Reply, CommandError> {
        let sup = self
            .directory
            .agent_by_number(supervisor)
            .cloned()
            .ok_or_else(|| CommandError::UnknownAgent(supervisor.to_string()))?;
        if !sup.supervisor {
            return Err(CommandError::NotSupervisor(supervisor.to_string()));
        }
        let id = self.call_of_agent(agent)?;
        let Some(call) = self.calls.get_mut(&id) else {
            return Err(CommandError::NoCall(agent.to_string()));
        };
        if call.phase != Phase::Answered {
            return Err(CommandError::NotNow(format!(
                "the call of agent {agent} is not answered yet"
            )));
        }
        let label = format!("supervisor {supervisor}");
        match call.watcher.as_mut() {
            Some(w) if w.agent == Some(sup.id) => {
                let answered = w.answered;
                w.mode = mode;
                if answered {
                    self.audit(now, &label, mode.as_str(), id);
                    let words = format!("{label} switched to {}", mode.as_str());
                    self.trail_line(now, id, CallEventKind::Supervised, &label, words);
                    self.arrange(id);
                }
                return self.view_reply(id);
            }
            Some(w) => {
                return Err(CommandError::NotNow(format!(
                    "{} is on this call already",
                    w.label
                )));
            }
            None => {}
        }
        let state = self.agents.state(sup.id);
        if state.on_a_call() {
            return Err(CommandError::NotFree {
                agent: supervisor.to_string(),
                state: state.chinese().to_string(),
            });
        }
        let ring_mode = self
            .agents
            .get(sup.id)
            .map_or(sup.answer_mode, |l| l.ringing_mode());
        let endpoint =
            acd::endpoint(&self.directory, &self.devices, &sup, ring_mode).map_err(|why| {
                CommandError::CannotRing {
                    agent: supervisor.to_string(),
                    mode: ring_mode.as_str(),
                    why: why.words(),
                }
            })?;
        let extra = self.ring_extra(now, id, endpoint.target, Some(sup.id), label.clone(), mode);
        if let Some(call) = self.calls.get_mut(&id) {
            call.watcher = Some(extra);
        }
        let words = format!("{label} asked to {} (ringing their phone)", mode.as_str());
        self.trail_line(now, id, CallEventKind::Supervised, &label, words);
        self.view_reply(id)
    }

    pub(super) fn stop_supervising(
        &mut self,
        now: Now,
        supervisor: &str,
    ) -> Result<Reply, CommandError> {
        let sup = self
            .directory
            .agent_by_number(supervisor)
            .ok_or_else(|| CommandError::UnknownAgent(supervisor.to_string()))?
            .id;
        let found = self.calls.values().find_map(|c| {
            c.watcher
                .as_ref()
                .filter(|w| w.agent == Some(sup))
                .map(|w| (c.id(), w.leg))
        });
        let Some((id, leg)) = found else {
            return Err(CommandError::NoCall(supervisor.to_string()));
        };
        self.sip(SipCommand::Hangup { leg });
        self.forget_leg(leg);
        let label = format!("supervisor {supervisor}");
        self.audit(now, &label, "stop", id);
        self.extra_gone(now, id, leg, None, "stopped supervising".into());
        self.view_reply(id)
    }

    pub(super) fn view_reply(&self, id: CallId) -> Result<Reply, CommandError> {
        self.call_view(id)
            .map(|v| Reply::Call(Box::new(v)))
            .ok_or_else(|| CommandError::NotNow("the call has ended".into()))
    }

    fn audit(&mut self, now: Now, actor: &str, action: &str, id: CallId) {
        let whose = self
            .calls
            .get(&id)
            .and_then(|c| c.agent())
            .and_then(|a| self.directory.agent(a))
            .map_or_else(String::new, |a| format!(" of agent {}", a.number));
        self.store(StoreOp::Audit(Box::new(AuditRecord {
            at: now.wall,
            actor: actor.trim_start_matches("supervisor ").to_string(),
            action: action.to_string(),
            call: Some(id),
            detail: format!("{actor}: {action} on {id}{whose}"),
        })));
    }

    pub(super) fn trail_line(
        &mut self,
        now: Now,
        id: CallId,
        kind: CallEventKind,
        party: &str,
        words: String,
    ) {
        if let Some(call) = self.calls.get_mut(&id) {
            let line = call.trail(now.wall, kind, party, None, words);
            self.store(StoreOp::CallEvent(Box::new(line)));
        }
    }
}
