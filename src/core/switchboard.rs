//! The switchboard: routes new calls, joins their two legs, and closes them.
//!
//! A call is two legs: the caller's INVITE (leg A, numbered by the SIP room) and our
//! INVITE to the callee (leg B, numbered here). Media is anchored on the box: each leg
//! gets its own RTP endpoint and the media room bridges them, so codecs may differ per
//! leg and the call can be recorded. Every state change writes the call row (whole)
//! and a line of the call trail.
//!
//! Late events are expected and harmless: a 200 that crosses our CANCEL is answered
//! with a BYE, anything else for a leg we no longer know is dropped.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::acd::{AgentBook, AgentState, Dice};
use super::call::{Call, Phase, Side};
use super::causes::{rejection_words, status_for_caller};
use super::held::Held;
use super::ids::{AgentId, CallId, DeviceId, GroupId, LegId};
use super::media_desc::{Codec, Direction, MediaDesc};
use super::msg::{
    CallEventKind, CallRecord, CallSource, HangupBy, IncomingCall, MediaCommand, MediaEvent,
    SipCommand, SipEvent, StoreOp, Target,
};
use super::prompts::Voice;
use super::routing::{Destination, route};
use super::{Directory, Input, Now, Output};

/// The queue priority of VIP customers, above any service number's (0-9).
pub(super) const VIP_PRIORITY: u8 = 10;

/// The codecs we accept from callers, in our order of preference.
pub(super) const SUPPORTED: [Codec; 2] = [Codec::Pcmu, Codec::Pcma];

/// What a deadline is for. Ordered so that `(Instant, Timer)` pairs sort by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Timer {
    /// An ordinary call's callee has rung too long.
    Ring(CallId),
    /// An agent (or overflow number) rung for a waiting caller has rung too long.
    Offer(LegId),
    /// A waiting caller reached the group's maximum wait.
    MaxWait(CallId),
    /// Time to tell a waiting caller their position.
    Announce(CallId),
    /// The goodbye prompt should have ended by now.
    Leave(CallId),
    /// An agent's after-call work is over.
    WrapUp(AgentId),
    /// A waiting caller may ring the agents who missed them again.
    Retry(CallId),
    /// An IVR menu or collect node has waited long enough for a key.
    Ivr(CallId),
    /// A consulted party or a supervisor has rung too long.
    Extra(LegId),
    /// A customer keying a PIN has waited too long for a digit (or the agent's
    /// result prompt should have ended).
    Verify(CallId),
}

/// Settings the switchboard needs that do not live in the directory.
#[derive(Debug, Clone)]
pub struct SwitchboardConfig {
    /// Record every answered call.
    pub record: bool,
    /// The data directory; recordings go under `recordings/` in it and call rows
    /// name them relative to it.
    pub data_dir: PathBuf,
    /// The first call id to use (one more than the store's highest).
    pub first_call_id: i64,
    /// How long an outgoing leg may ring before it is cancelled.
    pub ring_timeout: Duration,
    /// The media room's inactivity timeout, named in the end cause it causes.
    pub rtp_timeout: Duration,
    /// Where the prompts are: `<lang>/<name>.wav` and `moh/default.wav`.
    pub sounds_dir: PathBuf,
    /// Seed of the random queue strategy (any value; tests fix it).
    pub seed: u64,
    /// The office's offset from UTC, for business hours in IVR flows.
    pub utc_offset: chrono::FixedOffset,
    /// The satisfaction survey's keys: 1 to this (default 3: satisfied, neutral,
    /// dissatisfied).
    pub survey_scale: u8,
}

/// The call state machine; see the `core` module docs for the driving contract.
pub struct Switchboard {
    pub(super) config: SwitchboardConfig,
    pub(super) directory: Directory,
    /// Calls ringing or bridged between two legs.
    pub(super) calls: HashMap<CallId, Call>,
    /// Callers the box answered and holds: in an IVR or a queue.
    pub(super) held: HashMap<CallId, Held>,
    /// Every live leg, of either kind of call.
    pub(super) legs: HashMap<LegId, CallId>,
    /// Deadlines, ordered, so the next timeout is the first entry.
    pub(super) timers: BTreeSet<(Instant, Timer)>,
    pub(super) devices: HashMap<DeviceId, (usize, bool)>,
    pub(super) agents: AgentBook,
    /// Round-robin: the member position last offered, per group.
    pub(super) rr_last: HashMap<GroupId, usize>,
    pub(super) dice: Dice,
    /// The prompts' files, uploads first.
    pub(super) voice: Voice,
    /// Calls finished and their talk time, per group, for the expected wait.
    pub(super) handle_stats: HashMap<GroupId, (u32, Duration)>,
    /// The disk is at its floor: calls answered now are not recorded.
    recording_paused: bool,
    next_call: i64,
    next_leg: u64,
    next_play: u64,
    outputs: VecDeque<Output>,
}

impl Switchboard {
    pub fn new(config: SwitchboardConfig, directory: Directory) -> Switchboard {
        Switchboard {
            next_call: config.first_call_id.max(1),
            dice: Dice::new(config.seed),
            voice: Voice::new(config.sounds_dir.clone(), &directory.prompt_files),
            config,
            directory,
            calls: HashMap::new(),
            held: HashMap::new(),
            legs: HashMap::new(),
            timers: BTreeSet::new(),
            devices: HashMap::new(),
            agents: AgentBook::default(),
            rr_last: HashMap::new(),
            handle_stats: HashMap::new(),
            recording_paused: false,
            next_leg: 1,
            next_play: 0,
            outputs: VecDeque::new(),
        }
    }

    /// Take back the agent states logged before the last stop (see
    /// `AgentBook::restore`); call once, before the first input.
    pub fn restore_agents(&mut self, now: Now, snapshots: &[super::acd::AgentSnapshot]) {
        for row in self.agents.restore(now, snapshots) {
            self.store(StoreOp::AgentStatus(Box::new(row)));
        }
    }

    /// Feed one input. Drain `poll_output` afterwards.
    pub fn handle(&mut self, now: Now, input: Input) {
        match input {
            Input::Sip(event) => self.handle_sip(now, event),
            Input::Media(event) => self.handle_media(now, event),
            Input::Timeout => self.handle_timeout(now),
            Input::Reload(directory) => {
                self.voice = Voice::new(self.config.sounds_dir.clone(), &directory.prompt_files);
                self.directory = *directory;
                self.after_reload(now);
            }
            Input::Command { id, command } => {
                let result = self.command(now, command);
                self.outputs.push_back(Output::Reply { id, result });
            }
        }
        // Any input may free an agent or bring a caller: offer what can be offered.
        self.check_empty_groups(now);
        self.dispatch(now);
    }

    /// The next thing to carry out, in order.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When to call `handle(now, Input::Timeout)` at the latest.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|(at, _)| *at)
    }

    /// End every call because the box is stopping: callers still ringing are told
    /// 503, answered calls get a BYE on both sides, and every row is closed.
    pub fn shutdown(&mut self, now: Now) {
        let ids: Vec<CallId> = self.calls.keys().copied().collect();
        for id in ids {
            let cause = "callbox was stopped during the call".to_string();
            self.end(now, id, HangupBy::System, cause, 503, "Service Unavailable");
        }
        let ids: Vec<CallId> = self.held.keys().copied().collect();
        for id in ids {
            let cause = "callbox was stopped while the caller waited".to_string();
            self.end_held(now, id, HangupBy::System, cause, 503);
        }
    }

    /// Calls in progress, waiting callers included (for health figures, and for tests
    /// to check nothing leaked).
    pub fn active_calls(&self) -> usize {
        self.calls.len() + self.held.len()
    }

    /// Callers the box holds (in an IVR or a queue) and no agent has answered yet.
    pub fn callers_waiting(&self) -> usize {
        self.held
            .values()
            .filter(|w| w.record.answered_at.is_none())
            .count()
    }

    /// Agents logged in (offline answering included).
    pub fn agents_logged_in(&self) -> usize {
        self.agents.logged_in()
    }

    /// An agent's live state, by agent number (for tests and the API).
    pub fn agent_state(&self, number: &str) -> Option<AgentState> {
        let agent = self.directory.agent_by_number(number)?;
        Some(self.agents.state(agent.id))
    }

    /// Stop (or start again) recording calls answered from now on, because the disk
    /// reached its floor (retention's alarm). Calls being recorded carry on.
    pub fn pause_recording(&mut self, paused: bool) {
        if self.recording_paused != paused {
            log::warn!(
                "recording of new calls {}",
                if paused {
                    "paused: the disk is at its floor"
                } else {
                    "resumed"
                }
            );
        }
        self.recording_paused = paused;
    }

    /// Legs still known (for tests to check nothing leaked).
    pub fn active_legs(&self) -> usize {
        self.legs.len()
    }

    /// Devices with at least one reachable contact.
    pub fn devices_reachable(&self) -> usize {
        self.devices
            .values()
            .filter(|(contacts, reachable)| *contacts > 0 && *reachable)
            .count()
    }

    fn handle_sip(&mut self, now: Now, event: SipEvent) {
        if let Some(leg) = event_leg(&event) {
            if let Some(id) = self.held_of(leg) {
                self.handle_held_sip(now, id, leg, event);
                return;
            }
            if let Some(id) = self.extra_call(leg) {
                self.handle_extra_sip(now, id, leg, event);
                return;
            }
            if let Some(id) = self.dialing_call(leg) {
                self.dial_sip(now, id, leg, event);
                return;
            }
        }
        match event {
            SipEvent::IncomingCall(call) => self.incoming(now, *call),
            SipEvent::Progress { leg, code, early } => self.progress(now, leg, code, early),
            SipEvent::Answered { leg, answer } => self.answered(now, leg, answer),
            SipEvent::Rejected { leg, code, reason } => self.rejected(now, leg, code, &reason),
            SipEvent::HungUp { leg, cancelled } => self.hung_up(now, leg, cancelled),
            SipEvent::Reoffer { leg, offer } => self.reoffer(now, leg, offer),
            SipEvent::DeviceStatus {
                device,
                contacts,
                reachable,
            } => {
                self.devices.insert(device, (contacts, reachable));
                self.device_changed(now, device);
            }
            SipEvent::Refer {
                leg,
                to_user,
                replaces,
            } => self.refer(now, leg, &to_user, replaces),
        }
    }

    fn handle_media(&mut self, now: Now, event: MediaEvent) {
        let leg = match &event {
            MediaEvent::Opened { leg, .. }
            | MediaEvent::OpenFailed { leg, .. }
            | MediaEvent::RtpTimeout { leg }
            | MediaEvent::PlayDone { leg, .. }
            | MediaEvent::Dtmf { leg, .. } => Some(*leg),
            MediaEvent::RecordingDone { .. } => None,
        };
        if let Some(id) = leg.and_then(|l| self.held_of(l)) {
            self.handle_held_media(now, id, event);
            return;
        }
        if let Some((id, leg)) = leg.and_then(|l| Some((self.extra_call(l)?, l))) {
            self.handle_extra_media(now, id, leg, event);
            return;
        }
        if let (Some(leg), MediaEvent::Opened { local, .. }) = (leg, &event)
            && let Some(id) = self.dialing_call(leg)
        {
            self.dial_opened(id, leg, *local);
            return;
        }
        match event {
            MediaEvent::Opened { leg, local } => {
                let Some(call) = self.call_of(leg) else {
                    self.media(MediaCommand::Close { leg });
                    return;
                };
                if let Some(side) = call.side_of(leg) {
                    call.media_mut(side).local = Some(local);
                }
                let id = call.id();
                self.media_opened(now, id);
            }
            MediaEvent::OpenFailed { leg, reason } => {
                let Some(id) = self.legs.get(&leg).copied() else {
                    return;
                };
                log::error!("{id}: no RTP endpoint for {leg}: {reason}");
                let cause = format!("no RTP port available ({reason})");
                self.end(now, id, HangupBy::System, cause, 503, "Service Unavailable");
            }
            MediaEvent::RtpTimeout { leg } => {
                let Some(id) = self.legs.get(&leg).copied() else {
                    return;
                };
                let party = self
                    .calls
                    .get(&id)
                    .and_then(|c| c.side_of(leg))
                    .map_or("a party", Side::party);
                let secs = self.config.rtp_timeout.as_secs();
                let cause = format!("no audio from the {party} for {secs} s: the call was dead");
                self.end(now, id, HangupBy::System, cause, 408, "Request Timeout");
            }
            // Digits pass through the bridge in the media room. They are not written to
            // the trail: they may be PINs or card numbers.
            MediaEvent::Dtmf { leg, digit, .. } => {
                if let Some(id) = self
                    .legs
                    .get(&leg)
                    .copied()
                    .filter(|id| self.verifying(*id))
                {
                    self.verify_key(now, id, leg, digit);
                }
            }
            MediaEvent::PlayDone { leg, tag } => {
                if let Some(id) = self
                    .legs
                    .get(&leg)
                    .copied()
                    .filter(|id| self.verifying(*id))
                {
                    self.verify_play_done(now, id, tag);
                }
            }
            MediaEvent::RecordingDone { .. } => {}
        }
    }

    fn handle_timeout(&mut self, now: Now) {
        while let Some(&(at, timer)) = self.timers.first() {
            if at > now.mono {
                break;
            }
            self.timers.remove(&(at, timer));
            match timer {
                Timer::Ring(id) => {
                    let secs = self.config.ring_timeout.as_secs();
                    let whose = match self.calls.get(&id) {
                        Some(c) if c.agent_target.is_some() && c.dialing => "the customer: ",
                        Some(c) if c.agent_target.is_some() => "the agent's phone: ",
                        _ => "",
                    };
                    let cause = format!("{whose}no answer within {secs} s");
                    let reason = "Temporarily Unavailable";
                    self.end(now, id, HangupBy::System, cause, 480, reason);
                }
                Timer::Offer(leg) => {
                    let Some(id) = self.held_of(leg) else {
                        continue;
                    };
                    let secs = self
                        .held
                        .get(&id)
                        .and_then(|w| w.group.and_then(|g| self.directory.group(g)))
                        .map_or(self.config.ring_timeout, |g| g.ring_timeout)
                        .as_secs();
                    let why = if self.offer_confirming(id, leg) {
                        "the direct line answered but nobody pressed 1 (voicemail?)".to_string()
                    } else {
                        format!("no answer within {secs} s")
                    };
                    self.offer_failed(now, id, leg, 480, why, true);
                }
                Timer::MaxWait(id) => {
                    let waited = self.held.get(&id).map_or(0, |w| {
                        now.mono.saturating_duration_since(w.group_joined).as_secs()
                    });
                    self.overflow(
                        now,
                        id,
                        format!("waited {waited} s, the longest this queue allows"),
                    );
                }
                Timer::Announce(id) => self.announce(now, id),
                Timer::Leave(id) => {
                    let cause = self
                        .held
                        .get(&id)
                        .and_then(|w| w.leaving.clone())
                        .unwrap_or_else(|| "the caller was sent away".into());
                    self.end_held(now, id, HangupBy::System, cause, 200);
                }
                Timer::WrapUp(agent) => self.wrap_up_over(now, agent),
                Timer::Ivr(id) => self.ivr_timed_out(now, id),
                Timer::Extra(leg) => self.extra_timed_out(now, leg),
                Timer::Verify(id) => self.verify_timed_out(now, id),
                // `dispatch` runs after every input and takes the caller up again.
                Timer::Retry(_) => {}
            }
        }
    }

    // ------------------------------------------------------------ call set-up

    fn incoming(&mut self, now: Now, new: IncomingCall) {
        let id = CallId(self.next_call);
        self.next_call += 1;
        let mut record = CallRecord::begun(
            id,
            super::msg::CallDirection::Internal,
            new.from_user.clone(),
            new.to_user.clone(),
            now.wall,
        );
        record.sip_call_id = new.sip_call_id.clone();
        match new.source {
            CallSource::Device(d) => record.device = Some(d),
            CallSource::Trunk(t) => record.trunk = Some(t),
        }
        let caller = self.describe_source(new.source, &new.from_user);

        let routed = route(&self.directory, new.source, &new.from_user, &new.to_user);
        if let Ok(r) = &routed {
            record.direction = r.direction;
            record.service_number = r.service_number.clone();
            record.device = r.device.or(record.device);
            record.trunk = r.trunk.or(record.trunk);
        }
        let offer = new.offer.and_then(|mut offer| {
            offer.codecs.retain(|c| SUPPORTED.contains(c));
            (!offer.codecs.is_empty()).then_some(offer)
        });

        let (route, offer) = match (routed, offer) {
            (Ok(route), Some(offer)) => (route, offer),
            (Err(no_route), _) => {
                let (code, reason) = no_route.sip_status();
                self.refuse(
                    now,
                    record,
                    new.leg,
                    &caller,
                    code,
                    reason,
                    no_route.words().to_string(),
                );
                return;
            }
            (Ok(_), None) => {
                let words = "the caller offered no audio codec we speak (PCMU, PCMA)".to_string();
                self.refuse(
                    now,
                    record,
                    new.leg,
                    &caller,
                    488,
                    "Not Acceptable Here",
                    words,
                );
                return;
            }
        };

        let target = match route.destination.clone() {
            Destination::Ring(target) => target,
            held => {
                let device = match new.source {
                    CallSource::Device(d) => Some(d),
                    CallSource::Trunk(_) => None,
                };
                self.hold_caller(now, record, new.leg, offer, &route, held, device, &caller);
                return;
            }
        };
        let b = self.new_leg();
        let to = self.describe_target(&target);
        let mut call = Call::new(record, new.leg, b, target, offer);
        if let CallSource::Device(d) = new.source {
            call.agent_a = self.directory.agent_of_device(d).map(|a| a.id);
        }
        if let Target::Device(d) = &call.target {
            call.agent_b = self.directory.agent_of_device(*d).map(|a| a.id);
        }
        if call.record.agent.is_none() {
            call.record.agent = call.agent_a.or(call.agent_b);
        }
        if let (super::msg::CallDirection::Outbound, Target::Trunk { number, .. }) =
            (route.direction, &call.target)
        {
            // The number as the customer knows it, without the outside-line prefix.
            call.record.to_number = number.clone();
            if call.agent_a.is_some() {
                // An agent's phone calling out: the far end is the customer (the
                // recording's left channel, the side the call bar's controls move).
                call.customer = Side::B;
            }
        }
        call.record.from_number = match route.direction {
            super::msg::CallDirection::Outbound => route.caller_id.clone(),
            _ => new.from_user.clone(),
        };
        if let Some(display) = &new.from_display {
            log::debug!("{id}: caller display name {display:?}");
        }
        let detail = format!("{caller} called {} → {to}", new.to_user);
        let line = call.trail(now.wall, CallEventKind::Offered, &caller, None, detail);
        self.legs.insert(call.a, id);
        self.legs.insert(call.b, id);
        self.store(StoreOp::Call(Box::new(call.record.clone())));
        self.store(StoreOp::CallEvent(Box::new(line)));
        let (a, b) = (call.a, call.b);
        self.calls.insert(id, call);
        self.media(MediaCommand::Open { leg: a });
        self.media(MediaCommand::Open { leg: b });
    }

    /// After an admin change: callers waiting for a group that is gone are told so,
    /// and agents that are gone are logged out (after their call, if on one).
    /// Callers in an IVR keep the flow they started.
    fn after_reload(&mut self, now: Now) {
        let stranded: Vec<CallId> = self
            .held
            .values()
            .filter(|w| w.queued())
            .filter(|w| w.group.is_some_and(|g| self.directory.group(g).is_none()))
            .map(|w| w.record.id)
            .collect();
        for id in stranded {
            self.leave(now, id, "the queue's skill group was removed".into());
        }
        let gone: Vec<AgentId> = self
            .agents
            .ids()
            .filter(|a| self.directory.agent(*a).is_none())
            .collect();
        for agent in gone {
            let detail = "the agent was removed by an admin".to_string();
            self.log_out(now, agent, super::acd::StatusCause::Admin, detail);
        }
    }

    /// Answer a call that goes nowhere, and keep its row and trail.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn refuse(
        &mut self,
        now: Now,
        mut record: CallRecord,
        leg: LegId,
        caller: &str,
        code: u16,
        reason: &str,
        words: String,
    ) {
        log::info!(
            "{}: refused {} → {}: {words}",
            record.id,
            record.from_number,
            record.to_number
        );
        self.sip(SipCommand::Respond {
            leg,
            code,
            reason: reason.to_string(),
            media: None,
        });
        let seq_offered = super::msg::CallEventRecord {
            call: record.id,
            seq: 0,
            at: now.wall,
            kind: CallEventKind::Offered,
            party: caller.to_string(),
            sip_code: None,
            detail: format!("{caller} called {}", record.to_number),
        };
        let seq_failed = super::msg::CallEventRecord {
            call: record.id,
            seq: 1,
            at: now.wall,
            kind: CallEventKind::Failed,
            party: "system".to_string(),
            sip_code: Some(code),
            detail: words.clone(),
        };
        record.ended_at = Some(now.wall);
        record.hangup_by = Some(HangupBy::System);
        record.end_cause = Some(words);
        record.sip_code = Some(code);
        self.store(StoreOp::Call(Box::new(record)));
        self.store(StoreOp::CallEvent(Box::new(seq_offered)));
        self.store(StoreOp::CallEvent(Box::new(seq_failed)));
    }

    /// Both RTP endpoints are open: tell the media room where the caller is and
    /// invite the callee.
    fn media_opened(&mut self, now: Now, id: CallId) {
        let ring_timeout = self.config.ring_timeout;
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if call.phase != Phase::OpeningMedia || call.a_media.local.is_none() {
            return;
        }
        let Some(b_local) = call.b_media.local else {
            return;
        };
        let (Some(remote), Some(codec)) = (call.a_media.remote, call.a_media.codec) else {
            return;
        };
        let configure_a = MediaCommand::Configure {
            leg: call.a,
            remote,
            codec,
            dtmf_pt: call.a_media.dtmf_pt,
        };
        let target = call.target.clone();
        let (b, from_user) = (call.b, call.record.from_number.clone());
        let (agent_a, agent_b) = (call.agent_a, call.agent_b);
        call.phase = Phase::Ringing;
        let deadline = now.mono + ring_timeout;
        call.ring_deadline = Some(deadline);
        self.timers.insert((deadline, Timer::Ring(id)));
        let media = self.offer_to(&target, codec, b_local);
        self.media(configure_a);
        self.sip(SipCommand::Invite {
            leg: b,
            target,
            from_user,
            from_display: None,
            media,
        });
        if let Some(agent) = agent_a {
            self.personal_call(now, agent, AgentState::Calling, id);
        }
        if let Some(agent) = agent_b {
            self.personal_call(now, agent, AgentState::Ringing, id);
        }
    }

    /// The SDP offer for a callee reached at `target` from our endpoint `local`: the
    /// caller's codec first, so that no transcoding is needed when it can be avoided;
    /// a trunk is offered only what it is configured for.
    /// Send our INVITE for `leg` to `target`, offering `codec` first from `local`.
    pub(super) fn invite_leg(
        &mut self,
        leg: LegId,
        target: Target,
        from_user: String,
        codec: Codec,
        local: SocketAddr,
    ) {
        let media = self.offer_to(&target, codec, local);
        self.sip(SipCommand::Invite {
            leg,
            target,
            from_user,
            from_display: None,
            media,
        });
    }

    pub(super) fn offer_to(&self, target: &Target, codec: Codec, local: SocketAddr) -> MediaDesc {
        let mut codecs = vec![codec];
        codecs.extend(SUPPORTED.iter().copied().filter(|c| *c != codec));
        if let Target::Trunk { trunk, .. } = target
            && let Some(trunk) = self.directory.trunk(*trunk)
            && !trunk.codecs.is_empty()
        {
            codecs.retain(|c| trunk.codecs.contains(c));
            if codecs.is_empty() {
                codecs = trunk.codecs.clone();
            }
        }
        MediaDesc {
            addr: local,
            codecs,
            dtmf_pt: Some(101),
            direction: Direction::SendRecv,
        }
    }

    fn progress(&mut self, now: Now, leg: LegId, code: u16, early: Option<MediaDesc>) {
        let Some(call) = self.call_of(leg) else {
            return;
        };
        if call.side_of(leg) != Some(Side::B) || call.phase == Phase::Answered {
            return;
        }
        let (a, b) = (call.a, call.b);
        let mut commands = Vec::new();
        let mut lines = Vec::new();
        match early.filter(|e| !e.codecs.is_empty()) {
            Some(early) if call.phase != Phase::EarlyMedia => {
                call.b_media.learn(&early);
                call.phase = Phase::EarlyMedia;
                if let (Some(remote), Some(codec)) = (call.b_media.remote, call.b_media.codec) {
                    commands.push(Output::Media(MediaCommand::Configure {
                        leg: b,
                        remote,
                        codec,
                        dtmf_pt: call.b_media.dtmf_pt,
                    }));
                }
                commands.push(Output::Media(MediaCommand::Bridge { a, b }));
                let media = call.a_media.describe(call.a_offer.direction.answer());
                commands.push(Output::Sip(SipCommand::Respond {
                    leg: a,
                    code: 183,
                    reason: "Session Progress".into(),
                    media,
                }));
                call.ringing_sent = true;
                lines.push(call.trail(
                    now.wall,
                    CallEventKind::EarlyMedia,
                    "callee",
                    Some(code),
                    "the callee sent early media (ringback or announcement)".into(),
                ));
            }
            Some(_) => {}
            None if !call.ringing_sent => {
                call.ringing_sent = true;
                commands.push(Output::Sip(SipCommand::Respond {
                    leg: a,
                    code: 180,
                    reason: "Ringing".into(),
                    media: None,
                }));
                lines.push(call.trail(
                    now.wall,
                    CallEventKind::Ringing,
                    "callee",
                    Some(code),
                    "the callee is ringing".into(),
                ));
            }
            None => {}
        }
        self.outputs.extend(commands);
        for line in lines {
            self.store(StoreOp::CallEvent(Box::new(line)));
        }
    }

    fn answered(&mut self, now: Now, leg: LegId, answer: MediaDesc) {
        let Some(id) = self.legs.get(&leg).copied() else {
            // A 200 that crossed our CANCEL: the dialog exists now, so end it.
            self.sip(SipCommand::Hangup { leg });
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if call.side_of(leg) != Some(Side::B) || call.phase == Phase::Answered {
            return;
        }
        let Some(codec) = answer.common_codec(&SUPPORTED) else {
            let cause = "the callee answered with no codec we speak".to_string();
            self.end(now, id, HangupBy::System, cause, 488, "Not Acceptable Here");
            return;
        };
        call.b_media.learn(&answer);
        call.b_media.codec = Some(codec);
        call.phase = Phase::Answered;
        if let Some(deadline) = call.ring_deadline.take() {
            self.timers.remove(&(deadline, Timer::Ring(id)));
        }
        call.record.answered_at = Some(now.wall);
        let (a, b) = (call.a, call.b);
        call.links = super::call::Links::Bridge(a, b);
        let (agent_a, agent_b) = (call.agent_a, call.agent_b);
        let out = [
            Output::Media(MediaCommand::Configure {
                leg: b,
                remote: answer.addr,
                codec,
                dtmf_pt: answer.dtmf_pt,
            }),
            Output::Media(MediaCommand::Bridge { a, b }),
            Output::Sip(SipCommand::Respond {
                leg: a,
                code: 200,
                reason: "OK".into(),
                media: call.a_media.describe(call.a_offer.direction.answer()),
            }),
        ];
        let line = call.trail(
            now.wall,
            CallEventKind::Answered,
            "callee",
            Some(200),
            "the callee answered".into(),
        );
        self.outputs.extend(out);
        self.store(StoreOp::CallEvent(Box::new(line)));
        self.start_recording(now, id);
        self.personal_answered(now, agent_a, id);
        self.personal_answered(now, agent_b, id);
    }

    /// The call is bridged: record it if recording is on, and write the row.
    pub(super) fn start_recording(&mut self, now: Now, id: CallId) {
        let (absolute, relative) = self.recording_path(id, now);
        let record = self.config.record && !self.recording_paused;
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let mut line = None;
        let (customer, agent) = (call.customer_leg(), call.agent_leg());
        if self.config.record && call.record.recording.is_some() {
            // A customer back from a transfer: their recording goes on.
            call.recording_leg = Some(customer);
            call.rec_others = vec![agent];
            self.outputs
                .push_back(Output::Media(MediaCommand::RecordOthers {
                    a: customer,
                    others: vec![agent],
                }));
        } else if record {
            call.recording_leg = Some(customer);
            call.rec_others = vec![agent];
            self.outputs.push_back(Output::Media(MediaCommand::Record {
                a: customer,
                b: agent,
                path: absolute,
            }));
            line = Some(call.trail(
                now.wall,
                CallEventKind::RecordingStarted,
                "system",
                None,
                format!("recording to {}", relative.display()),
            ));
            call.record.recording = Some(relative);
        }
        let row = call.record.clone();
        self.store(StoreOp::Call(Box::new(row)));
        if let Some(line) = line {
            self.store(StoreOp::CallEvent(Box::new(line)));
        }
    }

    fn rejected(&mut self, now: Now, leg: LegId, code: u16, reason: &str) {
        let Some(call) = self.call_of(leg) else {
            return;
        };
        if call.side_of(leg) != Some(Side::B) {
            return;
        }
        let id = call.id();
        let (to_caller, to_caller_reason) = status_for_caller(code, reason);
        let words = rejection_words(code, reason);
        // The callee's side is already gone: forget its leg before ending the call so
        // that no CANCEL or BYE is sent to it.
        self.forget_leg(leg);
        self.end_with(
            now,
            id,
            HangupBy::Callee,
            words,
            code,
            to_caller,
            &to_caller_reason,
        );
    }

    fn hung_up(&mut self, now: Now, leg: LegId, cancelled: bool) {
        let Some(call) = self.call_of(leg) else {
            return;
        };
        let Some(side) = call.side_of(leg) else {
            return;
        };
        let id = call.id();
        let answered = call.phase == Phase::Answered;
        let (cause, code) = match (side, answered, cancelled) {
            (Side::A, false, _) => (
                "the caller hung up before the callee answered".to_string(),
                487,
            ),
            (Side::A, true, _) => ("the caller hung up".to_string(), 200),
            (Side::B, true, _) => ("the callee hung up".to_string(), 200),
            (Side::B, false, _) => (
                "the callee's side ended the call before answering".to_string(),
                487,
            ),
        };
        if let Some(call) = self.calls.get_mut(&id) {
            let kind = if side == Side::A && !answered {
                CallEventKind::Cancelled
            } else {
                CallEventKind::HungUp
            };
            let line = call.trail(now.wall, kind, side.party(), Some(code), cause.clone());
            self.store(StoreOp::CallEvent(Box::new(line)));
        }
        self.forget_leg(leg);
        self.end_quietly(now, id, side.hangup_by(), cause, code);
    }

    fn reoffer(&mut self, now: Now, leg: LegId, offer: MediaDesc) {
        let Some(call) = self.call_of(leg) else {
            return;
        };
        let Some(side) = call.side_of(leg) else {
            return;
        };
        let outcome = apply_reoffer(call.media_mut(side), &offer);
        let line = outcome.hold_changed.map(|hold| {
            let (kind, words) = if hold {
                (
                    CallEventKind::Held,
                    format!("the {} put the call on hold", side.party()),
                )
            } else {
                (
                    CallEventKind::Resumed,
                    format!("the {} resumed the call", side.party()),
                )
            };
            call.trail(now.wall, kind, side.party(), None, words)
        });
        let hold_changed = outcome.hold_changed.is_some();
        let id = call.id();
        self.finish_reoffer(leg, outcome);
        if let Some(line) = line {
            self.store(StoreOp::CallEvent(Box::new(line)));
        }
        if hold_changed {
            self.phone_hold_changed(now, id);
        }
    }

    /// Carry out what a re-INVITE changed: the new address, hold, and the answer.
    pub(super) fn finish_reoffer(&mut self, leg: LegId, outcome: Reoffered) {
        if let Some((remote, codec, dtmf_pt)) = outcome.moved {
            self.media(MediaCommand::Configure {
                leg,
                remote,
                codec,
                dtmf_pt,
            });
        }
        if let Some(on) = outcome.hold_changed {
            self.media(MediaCommand::Hold { leg, on });
        }
        match outcome.answer {
            Some(media) => self.sip(SipCommand::AnswerReoffer { leg, media }),
            None => self.sip(SipCommand::Respond {
                leg,
                code: 488,
                reason: "Not Acceptable Here".into(),
                media: None,
            }),
        }
    }

    // ------------------------------------------------------------ tear-down

    /// End a call from our side: tell the caller `code reason` if it is still
    /// unanswered, BYE/CANCEL whatever else is up, write the last trail line.
    fn end(&mut self, now: Now, id: CallId, by: HangupBy, cause: String, code: u16, reason: &str) {
        self.end_with(now, id, by, cause, code, code, reason);
    }

    #[allow(clippy::too_many_arguments)]
    fn end_with(
        &mut self,
        now: Now,
        id: CallId,
        by: HangupBy,
        cause: String,
        code: u16,
        to_caller: u16,
        reason: &str,
    ) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let (kind, party) = match by {
            HangupBy::Callee => (CallEventKind::Rejected, "callee"),
            HangupBy::Caller => (CallEventKind::HungUp, "caller"),
            HangupBy::System => (CallEventKind::Failed, "system"),
        };
        let line = call.trail(now.wall, kind, party, Some(code), cause.clone());
        // An unanswered caller gets a final response; an answered one a BYE.
        if call.phase != Phase::Answered
            && call.agent_target.is_none()
            && self.legs.contains_key(&call.a)
        {
            let a = call.a;
            self.forget_leg(a);
            self.sip(SipCommand::Respond {
                leg: a,
                code: to_caller,
                reason: reason.to_string(),
                media: None,
            });
        }
        self.store(StoreOp::CallEvent(Box::new(line)));
        self.end_quietly(now, id, by, cause, code);
    }

    /// Hang up every leg still known, close the media, write the final row.
    pub(super) fn end_quietly(
        &mut self,
        now: Now,
        id: CallId,
        by: HangupBy,
        cause: String,
        code: u16,
    ) {
        let Some(mut call) = self.calls.remove(&id) else {
            return;
        };
        if let Some(deadline) = call.ring_deadline.take() {
            self.timers.remove(&(deadline, Timer::Ring(id)));
        }
        self.timers.retain(|(_, t)| *t != Timer::Verify(id));
        let extras: Vec<(LegId, Option<AgentId>)> = [call.third.take(), call.watcher.take()]
            .into_iter()
            .flatten()
            .map(|e| {
                self.timers.remove(&(e.deadline, Timer::Extra(e.leg)));
                (e.leg, e.agent)
            })
            .collect();
        if matches!(call.links, super::call::Links::Mix(_)) {
            self.media(MediaCommand::Unmix { room: id.0 as u64 });
        }
        let mut gone = vec![call.a, call.b];
        gone.extend(extras.iter().map(|(l, _)| *l));
        for leg in gone {
            if self.legs.remove(&leg).is_some() {
                self.sip(SipCommand::Hangup { leg });
                self.media(MediaCommand::Close { leg });
            }
        }
        if let Some(since) = call.hold_started.take() {
            call.hold_total += now.mono.saturating_duration_since(since);
        }
        call.record.hold_secs = u32::try_from(call.hold_total.as_secs()).unwrap_or(u32::MAX);
        call.close(now.wall, by, cause, code);
        let (agent_side, customer_side) = (call.agent(), call.customer_agent());
        let queue = call.queue_group;
        let offered = call.agent_b_offered;
        self.store(StoreOp::Call(Box::new(call.record)));
        match agent_side {
            Some(agent) if offered => self.agent_call_ended(now, agent, queue, id),
            Some(agent) => self.release_personal(now, agent, id),
            None => {}
        }
        if let Some(agent) = customer_side.filter(|a| Some(*a) != agent_side) {
            self.release_personal(now, agent, id);
        }
        for agent in extras.into_iter().filter_map(|(_, a)| a) {
            self.release_personal(now, agent, id);
        }
    }

    /// The leg's dialog is gone on the SIP side: close its media, send it nothing more.
    pub(super) fn forget_leg(&mut self, leg: LegId) {
        if self.legs.remove(&leg).is_some() {
            self.media(MediaCommand::Close { leg });
        }
    }

    // ------------------------------------------------------------ helpers

    fn call_of(&mut self, leg: LegId) -> Option<&mut Call> {
        let id = self.legs.get(&leg)?;
        self.calls.get_mut(id)
    }

    /// The waiting caller `leg` belongs to (their own leg or an offer's).
    fn held_of(&self, leg: LegId) -> Option<CallId> {
        let id = self.legs.get(&leg)?;
        self.held.contains_key(id).then_some(*id)
    }

    /// A new tag for a `MediaCommand::Play`.
    pub(super) fn new_play_tag(&mut self) -> u64 {
        self.next_play += 1;
        self.next_play
    }

    /// A new call id for a call the switchboard starts (click-to-call).
    pub(super) fn new_call_id(&mut self) -> CallId {
        let id = CallId(self.next_call);
        self.next_call += 1;
        id
    }

    /// A new leg id for a leg the switchboard creates.
    pub(super) fn new_leg(&mut self) -> LegId {
        let leg = LegId(self.next_leg);
        self.next_leg += 1;
        leg
    }

    fn recording_path(&self, id: CallId, now: Now) -> (PathBuf, PathBuf) {
        let relative = PathBuf::from("recordings")
            .join(now.wall.format("%Y/%m/%d").to_string())
            .join(format!("{}-{}.wav", now.wall.format("%H%M%S"), id.0));
        (self.config.data_dir.join(&relative), relative)
    }

    fn describe_source(&self, source: CallSource, from_user: &str) -> String {
        match source {
            CallSource::Device(d) => match self.directory.device(d) {
                Some(device) => format!("device {}", device.user),
                None => format!("device #{}", d.0),
            },
            CallSource::Trunk(t) => match self.directory.trunk(t) {
                Some(trunk) => format!("{from_user} via trunk {}", trunk.name),
                None => format!("{from_user} via trunk #{}", t.0),
            },
        }
    }

    pub(super) fn describe_target(&self, target: &Target) -> String {
        match target {
            Target::Device(d) => match self.directory.device(*d) {
                Some(device) => format!("device {}", device.user),
                None => format!("device #{}", d.0),
            },
            Target::Trunk { trunk, number } => match self.directory.trunk(*trunk) {
                Some(t) => format!("{number} via trunk {}", t.name),
                None => format!("{number} via trunk #{}", trunk.0),
            },
        }
    }

    pub(super) fn sip(&mut self, command: SipCommand) {
        self.outputs.push_back(Output::Sip(command));
    }

    pub(super) fn media(&mut self, command: MediaCommand) {
        self.outputs.push_back(Output::Media(command));
    }

    pub(super) fn store(&mut self, op: StoreOp) {
        self.outputs.push_back(Output::Store(op));
    }
}

/// What a re-INVITE changed on one leg.
pub(super) struct Reoffered {
    /// Our answer; `None` when we cannot answer it (488).
    answer: Option<MediaDesc>,
    /// The peer's new address (and the codec and DTMF type to use there).
    moved: Option<(SocketAddr, Codec, Option<u8>)>,
    /// The leg went on hold (`true`) or came off it (`false`).
    pub(super) hold_changed: Option<bool>,
}

/// Take a re-INVITE's offer into `media`: hold (sendonly, inactive, or the old
/// 0.0.0.0 address), a new address, codec and DTMF type.
pub(super) fn apply_reoffer(media: &mut super::call::LegMedia, offer: &MediaDesc) -> Reoffered {
    let hold = offer.direction.is_hold() || offer.addr.ip().is_unspecified();
    let was_held = media.held;
    let moved = media.remote != Some(offer.addr) && !offer.addr.ip().is_unspecified();
    if moved {
        media.remote = Some(offer.addr);
    }
    if offer.dtmf_pt.is_some() {
        media.dtmf_pt = offer.dtmf_pt;
    }
    if let Some(codec) = offer.common_codec(&SUPPORTED) {
        media.codec = Some(codec);
    }
    media.held = hold;
    Reoffered {
        answer: media.describe(offer.direction.answer()),
        moved: match (moved, media.remote, media.codec) {
            (true, Some(remote), Some(codec)) => Some((remote, codec, media.dtmf_pt)),
            _ => None,
        },
        hold_changed: (was_held != hold).then_some(hold),
    }
}

/// The leg a SIP event is about (`None` for device status, and new calls, whose leg
/// is not known yet).
fn event_leg(event: &SipEvent) -> Option<LegId> {
    match event {
        SipEvent::Progress { leg, .. }
        | SipEvent::Answered { leg, .. }
        | SipEvent::Rejected { leg, .. }
        | SipEvent::HungUp { leg, .. }
        | SipEvent::Reoffer { leg, .. }
        | SipEvent::Refer { leg, .. } => Some(*leg),
        SipEvent::IncomingCall(_) | SipEvent::DeviceStatus { .. } => None,
    }
}
