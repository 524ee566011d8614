//! The call bar (S10) on an answered call: hold, blind transfer, survey, menu, hang
//! up; and the phone's own buttons (re-INVITE hold, REFER). Consults, conferences and
//! supervisors are in `extra.rs`, PIN checks in `verify.rs`, click-to-call in
//! `dial.rs`; who hears whom after any of them is [`Switchboard::arrange`]'s.
//!
//! The customer keeps their leg, their call row and their recording through every
//! control: a transfer takes the customer back into the switchboard's hands (a
//! [`Held`] caller again, ringing the next agent or waiting in a queue) under the same
//! call id, so the trail reads as one story. Must not touch SIP or media beyond
//! emitting commands.

use super::Now;
use super::acd::{self, AgentState};
use super::call::{Links, Phase, Side};
use super::command::{CallView, CommandError, Control, Party, Reply};
use super::held::Held;
use super::ids::{AgentId, CallId, GroupId, LegId};
use super::ivr::{Session, builtin};
use super::msg::{CallEventKind, HangupBy, MediaCommand, SipCommand, StoreOp, Target};
use super::switchboard::{Switchboard, Timer, VIP_PRIORITY};

/// Callers transferred into a queue go ahead of every new caller, VIPs included.
pub(super) const TRANSFER_PRIORITY: u8 = VIP_PRIORITY + 1;

/// Where a blind transfer sends the customer, checked before the agent lets go.
pub(super) enum Destination {
    Agent(AgentId, acd::Endpoint, String),
    Group(GroupId),
    Number(Target, String),
}

impl Switchboard {
    /// The answered call `agent` is on, by agent number.
    pub(super) fn call_of_agent(&self, number: &str) -> Result<CallId, CommandError> {
        let agent = self
            .directory
            .agent_by_number(number)
            .ok_or_else(|| CommandError::UnknownAgent(number.to_string()))?;
        self.calls
            .values()
            .find(|c| c.agent() == Some(agent.id) || c.agent_a == Some(agent.id))
            .map(|c| c.id())
            .ok_or_else(|| CommandError::NoCall(number.to_string()))
    }

    /// A call-bar button.
    pub(super) fn control(
        &mut self,
        now: Now,
        agent: &str,
        control: Control,
    ) -> Result<Reply, CommandError> {
        let id = self.call_of_agent(agent)?;
        let answered = self
            .calls
            .get(&id)
            .is_some_and(|c| c.phase == Phase::Answered);
        if !answered && control != Control::Hangup {
            return Err(CommandError::NotNow(format!(
                "the call of agent {agent} is not answered yet"
            )));
        }
        let verifying = self.calls.get(&id).is_some_and(|c| c.verifying.is_some());
        if verifying && control != Control::Hangup {
            return Err(CommandError::NotNow(
                "the customer is keying their PIN; wait for the result".into(),
            ));
        }
        let who = format!("agent {agent}");
        let who_id = self
            .directory
            .agent_by_number(agent)
            .map(|a| a.id)
            .ok_or_else(|| CommandError::UnknownAgent(agent.to_string()))?;
        match control {
            Control::Hold => self.bar_hold(now, id, &who, true)?,
            Control::Resume => self.bar_hold(now, id, &who, false)?,
            Control::Transfer(party) => {
                self.no_third(id)?;
                let to = self.destination(&party)?;
                self.transfer(now, id, &who, to);
            }
            Control::Consult(party) => self.consult(now, id, &who, &party)?,
            Control::Conference => self.conference(now, id, &who)?,
            Control::CancelConsult => self.cancel_consult(now, id, &who)?,
            Control::CompleteTransfer => self.complete_transfer(now, id, &who)?,
            Control::Survey => {
                self.no_third(id)?;
                self.trail_control(now, id, &who, "transferred the customer to the survey");
                let scale = self.config.survey_scale;
                self.send_to_ivr(now, id, Session::new(builtin::survey(scale)));
            }
            Control::Verify => self.verify(now, id, &who)?,
            Control::Menu { flow, node } => {
                self.no_third(id)?;
                let found = self
                    .directory
                    .flows
                    .iter()
                    .find(|f| f.name == flow)
                    .cloned();
                let session = found.and_then(|f| match node {
                    Some(n) => Session::at(f, super::ivr::NodeId(n)),
                    None => Some(Session::new(f)),
                });
                let Some(session) = session else {
                    return Err(CommandError::UnknownFlow(flow, node));
                };
                let at = node.map_or(String::new(), |n| format!(", node {n}"));
                let words = format!("transferred the customer to the IVR {flow}{at}");
                self.trail_control(now, id, &who, &words);
                self.send_to_ivr(now, id, session);
            }
            Control::Hangup => {
                let by = match self.calls.get(&id).map(|c| c.customer) {
                    Some(Side::A) => HangupBy::Callee,
                    _ => HangupBy::Caller,
                };
                let cause = format!("{who} hung up from the call bar");
                self.end_call(now, id, by, cause);
            }
        }
        // After a transfer, the survey or a menu the agent has no call any more:
        // the answer is the agent as they stand (after-call work).
        match self.call_view(id) {
            Some(view)
                if self
                    .calls
                    .get(&id)
                    .is_some_and(|c| c.agent() == Some(who_id)) =>
            {
                Ok(Reply::Call(Box::new(view)))
            }
            _ => match self.directory.agent(who_id).cloned() {
                Some(a) => Ok(self.agent_reply(now, &a)),
                None => Err(CommandError::UnknownAgent(agent.to_string())),
            },
        }
    }

    /// The call as a call bar shows it.
    pub(super) fn call_view(&self, id: CallId) -> Option<CallView> {
        let call = self.calls.get(&id)?;
        let third = call.third.as_ref();
        let state = if call.verifying.is_some() {
            "verifying"
        } else if call.phase != Phase::Answered {
            if call.customer == Side::B {
                "calling"
            } else {
                "ringing"
            }
        } else if third.is_some_and(|t| t.joined) {
            "conference"
        } else if third.is_some() {
            "consulting"
        } else if call.hold_started.is_some() {
            "held"
        } else {
            "talking"
        };
        let customer = match call.customer {
            Side::A => call.record.from_number.clone(),
            Side::B => call.record.to_number.clone(),
        };
        Some(CallView {
            call: id,
            state,
            customer,
            answered_at: call.record.answered_at,
            hold_secs: call.record.hold_secs,
            third: third.map(|t| t.label.clone()),
            verified: call.verified,
            supervisor: call.watcher.as_ref().map(|w| (w.label.clone(), w.mode)),
        })
    }

    fn no_third(&self, id: CallId) -> Result<(), CommandError> {
        if self.calls.get(&id).is_some_and(|c| c.third.is_some()) {
            return Err(CommandError::NotNow(
                "a consult is in progress: join, cancel or complete it first".into(),
            ));
        }
        Ok(())
    }

    pub(super) fn trail_control(&mut self, now: Now, id: CallId, who: &str, words: &str) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let line = call.trail(
            now.wall,
            CallEventKind::Control,
            who,
            None,
            format!("{who} {words}"),
        );
        self.store(StoreOp::CallEvent(Box::new(line)));
    }

    // ------------------------------------------------------------ hold

    /// 保持 / 恢复 from the call bar: both sides hear music, then each other again.
    fn bar_hold(&mut self, now: Now, id: CallId, who: &str, on: bool) -> Result<(), CommandError> {
        let Some(call) = self.calls.get_mut(&id) else {
            return Ok(());
        };
        if call.on_hold == on {
            return Err(CommandError::NotNow(if on {
                "the call is on hold already".into()
            } else {
                "the call is not on hold".into()
            }));
        }
        if on && call.third.is_some() {
            return Err(CommandError::NotNow(
                "the customer already hears music during the consult".into(),
            ));
        }
        call.on_hold = on;
        let (kind, words) = if on {
            (
                CallEventKind::Held,
                format!("{who} put the customer on hold"),
            )
        } else {
            (
                CallEventKind::Resumed,
                format!("{who} took the customer off hold"),
            )
        };
        let line = call.trail(now.wall, kind, who, None, words);
        self.store(StoreOp::CallEvent(Box::new(line)));
        self.count_hold(now, id);
        self.arrange(id);
        Ok(())
    }

    /// Start or stop the hold clock as the call's hold state says.
    pub(super) fn count_hold(&mut self, now: Now, id: CallId) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let customer_waits = call.on_hold
            || call.a_media.held
            || call.b_media.held
            || call.third.as_ref().is_some_and(|t| !t.joined);
        match (customer_waits, call.hold_started) {
            (true, None) => call.hold_started = Some(now.mono),
            (false, Some(since)) => {
                call.hold_total += now.mono.saturating_duration_since(since);
                call.hold_started = None;
            }
            _ => {}
        }
        call.record.hold_secs = u32::try_from(call.hold_total.as_secs()).unwrap_or(u32::MAX);
    }

    // ------------------------------------------------------------ transfer

    /// Check a transfer's target before the agent lets go of the customer.
    pub(super) fn destination(&self, party: &Party) -> Result<Destination, CommandError> {
        match party {
            Party::Agent(number) => {
                let (agent, endpoint) = self.free_agent_endpoint(number)?;
                Ok(Destination::Agent(agent, endpoint, number.clone()))
            }
            Party::Group(name) => self
                .directory
                .groups
                .iter()
                .find(|g| g.name == *name)
                .map(|g| Destination::Group(g.id))
                .ok_or_else(|| CommandError::UnknownGroup(name.clone())),
            Party::Number(number) => {
                let target = self
                    .dialable(number)
                    .ok_or_else(|| CommandError::BadNumber(number.clone()))?;
                // An agent's own phone: a transfer to that agent, rung there.
                if let (Some(agent), Target::Device(_)) = (self.agent_at(&target)?, &target) {
                    let endpoint = acd::Endpoint {
                        target,
                        mode: super::directory::AnswerMode::Device,
                        fallback: false,
                    };
                    return Ok(Destination::Agent(agent, endpoint, number.clone()));
                }
                Ok(Destination::Number(target, number.clone()))
            }
        }
    }

    /// The logged-in agent whose phone `target` is, who must then be idle; `None`
    /// for a phone no logged-in agent answers on, or an outside number.
    pub(super) fn agent_at(&self, target: &Target) -> Result<Option<AgentId>, CommandError> {
        let Target::Device(device) = target else {
            return Ok(None);
        };
        let Some(agent) = self.directory.agent_of_device(*device) else {
            return Ok(None);
        };
        match self.agents.state(agent.id) {
            AgentState::Offline => Ok(None),
            AgentState::Idle => Ok(Some(agent.id)),
            state => Err(CommandError::NotFree {
                agent: agent.number.clone(),
                state: state.chinese().to_string(),
            }),
        }
    }

    /// An idle agent and where they ring, or why not.
    pub(super) fn free_agent_endpoint(
        &self,
        number: &str,
    ) -> Result<(AgentId, acd::Endpoint), CommandError> {
        let agent = self
            .directory
            .agent_by_number(number)
            .ok_or_else(|| CommandError::UnknownAgent(number.to_string()))?;
        let live = self.agents.get(agent.id);
        let Some(live) = live.filter(|l| l.state == AgentState::Idle) else {
            return Err(CommandError::NotFree {
                agent: number.to_string(),
                state: self.agents.state(agent.id).chinese().to_string(),
            });
        };
        let mode = live.ringing_mode();
        let endpoint =
            acd::endpoint(&self.directory, &self.devices, agent, mode).map_err(|why| {
                CommandError::CannotRing {
                    agent: number.to_string(),
                    mode: mode.as_str(),
                    why: why.words(),
                }
            })?;
        Ok((agent.id, endpoint))
    }

    /// A number the call bar may call: an extension, or an outside number (digits,
    /// an optional leading +) through the trunk.
    pub(super) fn dialable(&self, number: &str) -> Option<Target> {
        if let Some(device) = self.directory.device_by_user(number) {
            return Some(Target::Device(device.id));
        }
        let digits = number.strip_prefix('+').unwrap_or(number);
        let plausible =
            (3..=20).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit());
        if !plausible {
            return None;
        }
        self.overflow_target(number)
    }

    /// Blind transfer: the agent's side leaves, the customer rings `to` or waits in
    /// its queue, ahead of new callers.
    pub(super) fn transfer(&mut self, now: Now, id: CallId, who: &str, to: Destination) {
        let words = match &to {
            Destination::Agent(_, _, n) => format!("transferred the call to agent {n}"),
            Destination::Group(g) => {
                format!("transferred the call to queue {}", self.group_name(*g))
            }
            Destination::Number(_, n) => format!("transferred the call to {n}"),
        };
        self.trail_control(now, id, who, &words);
        let return_group = self.calls.get(&id).and_then(|c| c.queue_group);
        if !self.release_customer(now, id, "transferred") {
            return;
        }
        if let Some(w) = self.held.get_mut(&id) {
            w.return_group = return_group;
            w.playlist = [self.voice.prompt(w.language, "transferring")].into();
        }
        match to {
            Destination::Agent(agent, endpoint, _) => {
                self.play_next(id);
                let ring = self.config.ring_timeout;
                self.ring_agent(now, id, agent, endpoint, false, ring, "transfer");
            }
            Destination::Group(group) => {
                if let Some(w) = self.held.get_mut(&id) {
                    w.priority = TRANSFER_PRIORITY;
                    w.queued_at = Some(now.mono);
                }
                self.join(now, id, group, "transferring");
            }
            Destination::Number(target, _) => {
                self.play_next(id);
                self.ring_number(now, id, target);
            }
        }
    }

    /// The customer goes on alone into an IVR session (survey, menu).
    fn send_to_ivr(&mut self, now: Now, id: CallId, session: Session) {
        if !self.release_customer(now, id, "sent to the IVR") {
            return;
        }
        if let Some(w) = self.held.get_mut(&id) {
            w.ivr = Some(Box::new(session));
        }
        self.start_ivr(now, id);
    }

    /// The agent's side leaves the call; the customer is held by the box again,
    /// under the same call id, hearing nothing yet. False if there was no such call.
    pub(super) fn release_customer(&mut self, now: Now, id: CallId, how: &str) -> bool {
        let Some(mut call) = self.calls.remove(&id) else {
            return false;
        };
        self.count_hold_of(&mut call, now);
        let customer = call.customer_leg();
        let agent_leg = call.agent_leg();
        let mut gone = vec![agent_leg];
        for extra in [call.third.as_ref(), call.watcher.as_ref()]
            .into_iter()
            .flatten()
        {
            gone.push(extra.leg);
            self.timers
                .remove(&(extra.deadline, Timer::Extra(extra.leg)));
        }
        self.timers.retain(|(_, t)| *t != Timer::Verify(id));
        for leg in gone {
            if self.legs.remove(&leg).is_some() {
                self.sip(SipCommand::Hangup { leg });
                self.media(MediaCommand::Close { leg });
            }
        }
        if matches!(call.links, Links::Mix(_)) {
            self.media(MediaCommand::Unmix { room: id.0 as u64 });
        } else {
            self.media(MediaCommand::Unbridge { leg: customer });
        }
        self.media(MediaCommand::StopPlay { leg: customer });
        if call.recording_leg.is_some() {
            self.media(MediaCommand::RecordOthers {
                a: customer,
                others: Vec::new(),
            });
        }
        let (media, offer) = match call.customer {
            Side::A => (call.a_media.clone(), call.a_offer.clone()),
            Side::B => {
                let m = call.b_media.clone();
                let offer = m.describe(super::media_desc::Direction::SendRecv);
                let Some(offer) = offer else {
                    return false;
                };
                (m, offer)
            }
        };
        let agent = call.agent();
        let staying = call.customer_agent().filter(|a| Some(*a) != agent);
        let offered = call.agent_b_offered;
        let queue = call.queue_group;
        let extras: Vec<AgentId> = [call.third.as_ref(), call.watcher.as_ref()]
            .into_iter()
            .flatten()
            .filter_map(|e| e.agent)
            .collect();
        let mut w = Held::resumed(
            now,
            call.record,
            call.next_seq,
            customer,
            media,
            offer,
            call.language,
        );
        // An agent on the customer's side (a colleague who was called and stays)
        // keeps their state with this call until it ends.
        w.caller_agent = staying;
        self.held.insert(id, w);
        match agent {
            Some(agent) if offered => self.agent_call_ended(now, agent, queue, id),
            Some(agent) => self.release_personal(now, agent, id),
            None => {}
        }
        for agent in extras {
            self.release_personal(now, agent, id);
        }
        log::info!("{id}: the customer was {how}");
        true
    }

    fn count_hold_of(&self, call: &mut super::call::Call, now: Now) {
        if let Some(since) = call.hold_started.take() {
            call.hold_total += now.mono.saturating_duration_since(since);
        }
        call.record.hold_secs = u32::try_from(call.hold_total.as_secs()).unwrap_or(u32::MAX);
    }

    /// End an answered call from the box's side (call bar, a party gone).
    pub(super) fn end_call(&mut self, now: Now, id: CallId, by: HangupBy, cause: String) {
        if let Some(call) = self.calls.get_mut(&id) {
            let line = call.trail(
                now.wall,
                CallEventKind::HungUp,
                by.as_str(),
                Some(200),
                cause.clone(),
            );
            self.store(StoreOp::CallEvent(Box::new(line)));
        }
        self.end_quietly(now, id, by, cause, 200);
    }

    // ------------------------------------------------------------ phone buttons

    /// A phone's re-INVITE put its side on hold or took it off: the other side hears
    /// music meanwhile, and the hold time counts.
    pub(super) fn phone_hold_changed(&mut self, now: Now, id: CallId) {
        self.count_hold(now, id);
        self.arrange(id);
    }

    /// A phone's transfer button: REFER on one of our legs. Blind: the referring side
    /// leaves and the other rings the target. Attended (Replaces): the other side of
    /// the replaced dialog takes the referring side's place.
    pub(super) fn refer(&mut self, now: Now, leg: LegId, to_user: &str, replaces: Option<LegId>) {
        let Some(id) = self.legs.get(&leg).copied() else {
            self.sip(SipCommand::ReferOutcome { leg, code: 481 });
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            // A held caller's own leg (an IVR) has nothing to transfer.
            self.sip(SipCommand::ReferOutcome { leg, code: 403 });
            return;
        };
        let Some(side) = call.side_of(leg).filter(|_| call.phase == Phase::Answered) else {
            self.sip(SipCommand::ReferOutcome { leg, code: 403 });
            return;
        };
        if call.third.is_some() || call.verifying.is_some() {
            self.sip(SipCommand::ReferOutcome { leg, code: 491 });
            return;
        }
        // The side that stays is the customer's from here on.
        let before = call.customer;
        call.customer = match side {
            Side::A => Side::B,
            Side::B => Side::A,
        };
        let who = self.leg_party(id, leg);
        if let Some(other) = replaces {
            self.attended_refer(now, id, leg, other, &who);
            if let Some(call) = self.calls.get_mut(&id).filter(|c| c.side_of(leg).is_some()) {
                call.customer = before;
            }
            return;
        }
        let party = if self.directory.agent_by_number(to_user).is_some() {
            Party::Agent(to_user.to_string())
        } else if let Some(number) = to_user.strip_prefix(self.directory.outbound_prefix.as_str())
            && self.directory.device_by_user(to_user).is_none()
            && !number.is_empty()
        {
            Party::Number(number.to_string())
        } else {
            Party::Number(to_user.to_string())
        };
        match self.destination(&party) {
            Ok(to) => {
                self.sip(SipCommand::ReferOutcome { leg, code: 200 });
                let who = format!("{who} (phone's transfer button)");
                self.transfer(now, id, &who, to);
            }
            Err(e) => {
                if let Some(call) = self.calls.get_mut(&id) {
                    call.customer = before;
                }
                log::info!("{id}: REFER to {to_user} refused: {e}");
                let code = match e {
                    CommandError::NotFree { .. } => 486,
                    CommandError::CannotRing { .. } => 480,
                    _ => 404,
                };
                self.sip(SipCommand::ReferOutcome { leg, code });
            }
        }
    }

    /// Attended transfer from a phone: the phone talks to the customer on `leg` and
    /// to someone else on `other` (another call of ours); the customer and that
    /// someone are joined, and the phone leaves both calls.
    fn attended_refer(&mut self, now: Now, id: CallId, leg: LegId, other: LegId, who: &str) {
        let Some(id2) = self.legs.get(&other).copied().filter(|i| *i != id) else {
            self.sip(SipCommand::ReferOutcome { leg, code: 481 });
            return;
        };
        let answered = self.calls.get(&id2).is_some_and(|c| {
            c.phase == Phase::Answered && c.third.is_none() && c.verifying.is_none()
        });
        if !answered {
            self.sip(SipCommand::ReferOutcome { leg, code: 481 });
            return;
        }
        let Some(mut call2) = self.calls.remove(&id2) else {
            return;
        };
        self.sip(SipCommand::ReferOutcome { leg, code: 200 });
        // The far end of the second call: the leg that is not the phone's.
        let far_side = if call2.a == other { Side::B } else { Side::A };
        let (far, far_media, far_agent) = match far_side {
            Side::A => (call2.a, call2.a_media.clone(), call2.agent_a),
            Side::B => (call2.b, call2.b_media.clone(), call2.agent_b),
        };
        let far_target = match far_side {
            Side::B => call2.target.clone(),
            Side::A => call2
                .record
                .device
                .map_or(call2.target.clone(), Target::Device),
        };
        let label = far_agent.and_then(|a| self.directory.agent(a)).map_or_else(
            || self.describe_target(&far_target),
            |a| format!("agent {}", a.number),
        );
        // The second call ends for the phone; its far end moves to the first call. A
        // supervisor on it leaves with it.
        if let Some(w) = call2.watcher.take() {
            self.timers.remove(&(w.deadline, Timer::Extra(w.leg)));
            if self.legs.remove(&w.leg).is_some() {
                self.sip(SipCommand::Hangup { leg: w.leg });
                self.media(MediaCommand::Close { leg: w.leg });
            }
            if let Some(agent) = w.agent {
                self.release_personal(now, agent, id2);
            }
        }
        if matches!(call2.links, Links::Mix(_)) {
            self.media(MediaCommand::Unmix { room: id2.0 as u64 });
        }
        self.legs.remove(&far);
        for l in [other] {
            if self.legs.remove(&l).is_some() {
                self.sip(SipCommand::Hangup { leg: l });
                self.media(MediaCommand::Close { leg: l });
            }
        }
        let cause = format!("{who} joined its other party to {id} (attended transfer)");
        let line = call2.trail(now.wall, CallEventKind::Control, who, None, cause.clone());
        self.store(StoreOp::CallEvent(Box::new(line)));
        call2.close(now.wall, HangupBy::System, cause, 200);
        let (a2, b2) = (call2.agent_a, call2.agent_b);
        self.store(StoreOp::Call(Box::new(call2.record)));
        for agent in [a2, b2].into_iter().flatten() {
            if Some(agent) != far_agent {
                self.release_personal(now, agent, id2);
            }
        }
        // The phone's leg of the first call goes; the far end takes its place.
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let leaving_agent = call.agent();
        let offered = call.agent_b_offered;
        let queue = call.queue_group;
        match call.customer {
            Side::A => {
                call.b = far;
                call.b_media = far_media;
                call.target = far_target;
                call.agent_b = far_agent;
                call.agent_b_offered = far_agent.is_some();
            }
            Side::B => {
                call.a = far;
                call.a_media = far_media;
                call.agent_a = far_agent;
                call.agent_b_offered = far_agent.is_some();
            }
        }
        if call.record.agent.is_none() || leaving_agent.is_some() {
            call.record.agent = far_agent.or(call.record.agent);
        }
        call.links = Links::None;
        self.legs.insert(far, id);
        if self.legs.remove(&leg).is_some() {
            self.sip(SipCommand::Hangup { leg });
            self.media(MediaCommand::Close { leg });
        }
        self.trail_control(
            now,
            id,
            who,
            &format!("transferred the call to {label} (attended)"),
        );
        match leaving_agent {
            Some(agent) if offered => self.agent_call_ended(now, agent, queue, id),
            Some(agent) => self.release_personal(now, agent, id),
            None => {}
        }
        if let Some(agent) = far_agent {
            self.take_over(now, agent, id, "took over the call (attended transfer)");
        }
        self.arrange(id);
        self.store_row(id);
    }

    /// An agent who was on a personal leg (a consult, a call from a colleague) now
    /// has the customer: talking on this call, with wrap-up when it ends.
    pub(super) fn take_over(&mut self, now: Now, agent: AgentId, id: CallId, words: &str) {
        let live = self.agents.entry(now, agent);
        live.resume = None;
        // Talking already (on the consult leg): the state stays, the call changes.
        live.call = Some(id);
        let change = acd::Change::system(AgentState::Talking, words, Some(id));
        self.set_agent(now, agent, change);
    }

    /// Write the call row as it stands.
    pub(super) fn store_row(&mut self, id: CallId) {
        if let Some(call) = self.calls.get(&id) {
            let row = call.record.clone();
            self.store(StoreOp::Call(Box::new(row)));
        }
    }

    /// Who a leg of a call is, for the trail.
    pub(super) fn leg_party(&self, id: CallId, leg: LegId) -> String {
        let Some(call) = self.calls.get(&id) else {
            return "a phone".into();
        };
        let agent = if leg == call.a {
            call.agent_a
        } else if leg == call.b {
            call.agent_b
        } else {
            None
        };
        match agent.and_then(|a| self.directory.agent(a)) {
            Some(a) => format!("agent {}", a.number),
            None => match call.side_of(leg) {
                Some(side) => side.party().to_string(),
                None => "a phone".into(),
            },
        }
    }
}
