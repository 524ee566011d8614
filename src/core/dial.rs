//! Click-to-call (S11): the agent's own phone rings first (呼叫中); once they answer
//! they hear ringback while the customer is called through the trunk; when the
//! customer answers, the call is an ordinary answered call (通话中) with the customer
//! on side B, recorded, on the agent's call list.
//!
//! Both legs are ours (the box sends both INVITEs), so until the customer answers
//! this file handles their events; afterwards the switchboard's usual paths do.

use super::Now;
use super::acd::{self, AgentState};
use super::call::{Call, Links, Phase, Side};
use super::causes::rejection_words;
use super::command::{CommandError, Reply};
use super::ids::{CallId, LegId};
use super::media_desc::{Codec, Direction, MediaDesc};
use super::msg::{
    CallDirection, CallEventKind, CallRecord, HangupBy, MediaCommand, SipCommand, SipEvent,
    StoreOp, Target,
};
use super::switchboard::{SUPPORTED, Switchboard, Timer};

impl Switchboard {
    pub(super) fn dial(
        &mut self,
        now: Now,
        agent: &str,
        number: &str,
    ) -> Result<Reply, CommandError> {
        let who = self
            .directory
            .agent_by_number(agent)
            .cloned()
            .ok_or_else(|| CommandError::UnknownAgent(agent.to_string()))?;
        let live = self
            .agents
            .get(who.id)
            .filter(|l| l.state != AgentState::Offline);
        let Some(live) = live else {
            return Err(CommandError::NotLoggedIn(agent.to_string()));
        };
        if live.state.on_a_call() {
            return Err(CommandError::NotFree {
                agent: agent.to_string(),
                state: live.state.chinese().to_string(),
            });
        }
        let mode = live.ringing_mode();
        let target = self
            .dialable(number)
            .ok_or_else(|| CommandError::BadNumber(number.to_string()))?;
        let endpoint =
            acd::endpoint(&self.directory, &self.devices, &who, mode).map_err(|why| {
                CommandError::CannotRing {
                    agent: agent.to_string(),
                    mode: mode.as_str(),
                    why: why.words(),
                }
            })?;
        let id = self.new_call_id();
        let (direction, from_number, trunk) = match &target {
            Target::Trunk { trunk, .. } => {
                let caller_id = self
                    .directory
                    .trunk(*trunk)
                    .map(|t| self.directory.outbound_caller_id(t))
                    .unwrap_or_default();
                (CallDirection::Outbound, caller_id, Some(*trunk))
            }
            Target::Device(_) => (CallDirection::Internal, who.number.clone(), None),
        };
        let mut record =
            CallRecord::begun(id, direction, from_number, number.to_string(), now.wall);
        record.device = who.bound_device;
        record.trunk = trunk;
        record.agent = Some(who.id);
        let (a, b) = (self.new_leg(), self.new_leg());
        // Our own offer stands in for the caller's: both legs are ours.
        let ours = MediaDesc {
            addr: std::net::SocketAddr::from(([0, 0, 0, 0], 0)),
            codecs: SUPPORTED.to_vec(),
            dtmf_pt: Some(101),
            direction: Direction::SendRecv,
        };
        let mut call = Call::new(record, a, b, target, ours);
        call.a_media = Default::default();
        call.customer = Side::B;
        call.agent_a = Some(who.id);
        call.agent_target = Some(endpoint.target.clone());
        let where_ = self.describe_target(&endpoint.target);
        let detail = format!("agent {agent} clicked to call {number}: ringing {where_} first");
        let line = call.trail(
            now.wall,
            CallEventKind::Offered,
            &format!("agent {agent}"),
            None,
            detail,
        );
        let deadline = now.mono + self.config.ring_timeout;
        call.ring_deadline = Some(deadline);
        self.timers.insert((deadline, Timer::Ring(id)));
        self.legs.insert(a, id);
        self.store(StoreOp::Call(Box::new(call.record.clone())));
        self.store(StoreOp::CallEvent(Box::new(line)));
        self.calls.insert(id, call);
        self.personal_call(now, who.id, AgentState::Calling, id);
        self.media(MediaCommand::Open { leg: a });
        self.view_reply(id)
    }

    /// A click-to-call still being set up (the customer has not answered)?
    pub(super) fn dialing_call(&self, leg: LegId) -> Option<CallId> {
        let id = self.legs.get(&leg)?;
        let call = self.calls.get(id)?;
        (call.customer == Side::B && call.agent_target.is_some() && call.phase != Phase::Answered)
            .then_some(*id)
    }

    pub(super) fn dial_opened(&mut self, id: CallId, leg: LegId, local: std::net::SocketAddr) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if leg == call.a {
            call.a_media.local = Some(local);
            call.phase = Phase::Ringing;
            let Some(target) = call.agent_target.clone() else {
                return;
            };
            // The agent's phone shows whom it is calling.
            let from_user = call.record.to_number.clone();
            self.invite_leg(leg, target, from_user, Codec::Pcmu, local);
        } else if leg == call.b {
            call.b_media.local = Some(local);
            let target = call.target.clone();
            let from_user = call.record.from_number.clone();
            let codec = call.a_media.codec.unwrap_or(Codec::Pcmu);
            self.invite_leg(leg, target, from_user, codec, local);
        }
    }

    pub(super) fn dial_sip(&mut self, now: Now, id: CallId, leg: LegId, event: SipEvent) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        let agent_leg = leg == call.a;
        match event {
            SipEvent::Answered { answer, .. } if agent_leg => {
                self.dial_agent_answered(now, id, answer)
            }
            SipEvent::Answered { answer, .. } => self.dial_customer_answered(now, id, answer),
            SipEvent::Progress { code, .. } if !agent_leg && code == 180 => {
                let words = "the customer's phone is ringing".to_string();
                self.trail_line(now, id, CallEventKind::Ringing, "customer", words);
            }
            SipEvent::Progress { .. } => {}
            SipEvent::Rejected { code, reason, .. } => {
                self.forget_leg(leg);
                let words = rejection_words(code, &reason);
                let (by, cause) = if agent_leg {
                    (
                        HangupBy::Caller,
                        format!("the agent's phone did not take the call: {words}"),
                    )
                } else {
                    (
                        HangupBy::Callee,
                        format!("the customer could not be reached: {words}"),
                    )
                };
                self.dial_failed(now, id, by, cause, code);
            }
            SipEvent::HungUp { .. } => {
                self.forget_leg(leg);
                let (by, cause) = if agent_leg {
                    (
                        HangupBy::Caller,
                        "the agent hung up before the customer answered".to_string(),
                    )
                } else {
                    (
                        HangupBy::Callee,
                        "the customer's side ended the call before answering".to_string(),
                    )
                };
                self.dial_failed(now, id, by, cause, 487);
            }
            SipEvent::Reoffer { offer, .. } => {
                let outcome = self.calls.get_mut(&id).map(|c| {
                    let side = if agent_leg {
                        &mut c.a_media
                    } else {
                        &mut c.b_media
                    };
                    super::switchboard::apply_reoffer(side, &offer)
                });
                if let Some(outcome) = outcome {
                    self.finish_reoffer(leg, outcome);
                }
            }
            SipEvent::Refer { .. } => self.sip(SipCommand::ReferOutcome { leg, code: 403 }),
            SipEvent::IncomingCall(_) | SipEvent::DeviceStatus { .. } => {}
        }
    }

    fn dial_agent_answered(&mut self, now: Now, id: CallId, answer: MediaDesc) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if call.dialing {
            return;
        }
        let Some(codec) = answer.common_codec(&SUPPORTED) else {
            let cause = "the agent's phone answered with no codec we speak".to_string();
            self.dial_failed(now, id, HangupBy::System, cause, 488);
            return;
        };
        call.a_media.learn(&answer);
        call.a_media.codec = Some(codec);
        call.dialing = true;
        let (a, b) = (call.a, call.b);
        let ringback = self.voice.tone("ringback");
        call.sounds.insert(a, ringback.clone());
        if let Some(deadline) = call.ring_deadline.take() {
            self.timers.remove(&(deadline, Timer::Ring(id)));
        }
        let deadline = now.mono + self.config.ring_timeout;
        if let Some(call) = self.calls.get_mut(&id) {
            call.ring_deadline = Some(deadline);
        }
        self.timers.insert((deadline, Timer::Ring(id)));
        self.legs.insert(b, id);
        let tag = self.new_play_tag();
        self.media(MediaCommand::Configure {
            leg: a,
            remote: answer.addr,
            codec,
            dtmf_pt: answer.dtmf_pt,
        });
        self.media(MediaCommand::Play {
            leg: a,
            file: ringback,
            looped: true,
            tag,
        });
        let words = "the agent answered; calling the customer".to_string();
        self.trail_line(now, id, CallEventKind::Control, "agent", words);
        self.media(MediaCommand::Open { leg: b });
    }

    fn dial_customer_answered(&mut self, now: Now, id: CallId, answer: MediaDesc) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(codec) = answer.common_codec(&SUPPORTED) else {
            let cause = "the customer answered with no codec we speak".to_string();
            self.dial_failed(now, id, HangupBy::System, cause, 488);
            return;
        };
        call.b_media.learn(&answer);
        call.b_media.codec = Some(codec);
        call.phase = Phase::Answered;
        call.record.answered_at = Some(now.wall);
        if let Some(deadline) = call.ring_deadline.take() {
            self.timers.remove(&(deadline, Timer::Ring(id)));
        }
        let (a, b) = (call.a, call.b);
        call.sounds.clear();
        call.links = Links::Bridge(a, b);
        let agent = call.agent_a;
        self.media(MediaCommand::Configure {
            leg: b,
            remote: answer.addr,
            codec,
            dtmf_pt: answer.dtmf_pt,
        });
        self.media(MediaCommand::StopPlay { leg: a });
        self.media(MediaCommand::Bridge { a, b });
        if let Some(call) = self.calls.get_mut(&id) {
            let line = call.trail(
                now.wall,
                CallEventKind::Answered,
                "customer",
                Some(200),
                "the customer answered".into(),
            );
            self.store(StoreOp::CallEvent(Box::new(line)));
        }
        self.start_recording(now, id);
        self.personal_answered(now, agent, id);
    }

    /// The click-to-call did not get through: say why, hang up what is up.
    fn dial_failed(&mut self, now: Now, id: CallId, by: HangupBy, cause: String, code: u16) {
        if let Some(call) = self.calls.get_mut(&id) {
            let line = call.trail(
                now.wall,
                CallEventKind::Failed,
                by.as_str(),
                Some(code),
                cause.clone(),
            );
            self.store(StoreOp::CallEvent(Box::new(line)));
        }
        self.end_quietly(now, id, by, cause, code);
    }
}
