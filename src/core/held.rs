//! Callers the box answered itself and holds: walking an IVR flow or waiting in a
//! queue, until an agent (or a transfer) answers, or they hang up, or the box says
//! goodbye.
//!
//! A held caller has one leg (theirs) and the prompts or music it hears; the offers
//! ringing on their behalf are theirs too (`queue.rs` makes them). When an offer is
//! answered the held caller becomes an ordinary two-leg [`Call`](super::call::Call).
//! `ivr_calls.rs` walks the flow; this file keeps the caller's leg, prompts and end.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::Now;
use super::acd::AgentState;
use super::call::{LegMedia, trail_line};
use super::causes::rejection_words;
use super::directory::Language;
use super::ids::{AgentId, CallId, DeviceId, GroupId, LegId};
use super::ivr::Session;
use super::media_desc::MediaDesc;
use super::msg::{
    CallEventKind, CallRecord, HangupBy, MediaCommand, MediaEvent, SipCommand, SipEvent, StoreOp,
    Target,
};
use super::routing::{Destination, NoRoute};
use super::switchboard::{Switchboard, Timer, VIP_PRIORITY, apply_reoffer};

/// How long the goodbye prompt may take before the caller is hung up anyway.
const LEAVE_GRACE: Duration = Duration::from_secs(30);

/// A caller the box has answered and holds.
#[derive(Debug)]
pub struct Held {
    pub record: CallRecord,
    pub next_seq: u32,
    pub a: LegId,
    pub a_media: LegMedia,
    pub a_offer: MediaDesc,
    pub language: Language,
    /// Walking an IVR flow (not in a queue meanwhile).
    pub ivr: Option<Box<Session>>,
    /// Where the IVR's "continue" leads (the hotline's 3: the service number's flow,
    /// queue or phone).
    pub then: Option<Destination>,
    /// The queue the caller is in, when in one.
    pub group: Option<GroupId>,
    pub priority: u8,
    /// When the caller first joined a queue (their wait), and joined this one.
    pub queued_at: Option<Instant>,
    pub group_joined: Instant,
    /// The box has sent 200 to the caller.
    pub answered: bool,
    /// Agents (or a number) being rung for this caller.
    pub offers: Vec<Offer>,
    /// Agents who were rung for this caller and did not answer.
    pub tried: Vec<AgentId>,
    /// Prompts still to play before the music (queue) or the IVR's next step.
    pub playlist: VecDeque<PathBuf>,
    /// The tag of the prompt playing now, whose `PlayDone` moves things on.
    pub playing: Option<u64>,
    pub overflows: u32,
    /// Playing the goodbye prompt; hung up when it ends, with this cause.
    pub leaving: Option<String>,
    /// Agents who missed this caller are not rung again before this.
    pub retry_at: Option<Instant>,
    /// The caller is an agent calling from their own phone (never offered their own
    /// call, and calling while it lasts).
    pub caller_agent: Option<AgentId>,
    /// The phone that called, for the 0000 menu's bind and sign-in.
    pub caller_device: Option<DeviceId>,
    /// A transferred customer whose new agent (or number) does not answer goes back
    /// to this queue rather than being sent away.
    pub return_group: Option<GroupId>,
}

/// One leg ringing on a held caller's behalf.
#[derive(Debug)]
pub struct Offer {
    pub leg: LegId,
    /// `None` for a number (an overflow, an IVR transfer), which is not an agent.
    pub agent: Option<AgentId>,
    pub target: Target,
    pub media: LegMedia,
    pub deadline: Instant,
    /// The far end must press 1 before the caller is put through (a direct line).
    pub confirm: bool,
    /// It answered and hears "press 1": waiting for the key.
    pub confirming: bool,
}

impl Held {
    /// A routed caller, not yet answered, bound for an IVR `session` or a queue.
    pub fn new(
        now: Now,
        record: CallRecord,
        a: LegId,
        offer: MediaDesc,
        route: &super::routing::Route,
        ivr: Option<Session>,
    ) -> Held {
        let mut a_media = LegMedia::default();
        a_media.learn(&offer);
        let mut w = Held::resumed(now, record, 0, a, a_media, offer, route.language);
        w.answered = false;
        w.ivr = ivr.map(Box::new);
        w.priority = route.priority;
        w
    }

    /// A customer an agent let go of (a transfer, the survey, a menu): answered
    /// already, their trail and recording going on under the same call id.
    pub fn resumed(
        now: Now,
        record: CallRecord,
        next_seq: u32,
        a: LegId,
        a_media: LegMedia,
        a_offer: MediaDesc,
        language: Language,
    ) -> Held {
        Held {
            record,
            next_seq,
            a,
            a_media,
            a_offer,
            language,
            ivr: None,
            then: None,
            group: None,
            priority: 0,
            queued_at: None,
            group_joined: now.mono,
            answered: true,
            offers: Vec::new(),
            tried: Vec::new(),
            playlist: VecDeque::new(),
            playing: None,
            overflows: 0,
            leaving: None,
            retry_at: None,
            caller_agent: None,
            caller_device: None,
            return_group: None,
        }
    }

    pub fn trail(
        &mut self,
        now: Now,
        kind: CallEventKind,
        party: &str,
        code: Option<u16>,
        detail: String,
    ) -> StoreOp {
        let line = trail_line(
            self.record.id,
            &mut self.next_seq,
            now.wall,
            kind,
            party,
            code,
            detail,
        );
        StoreOp::CallEvent(Box::new(line))
    }

    /// How long the caller has waited in queues.
    pub fn waited(&self, now: Now) -> Duration {
        self.queued_at
            .map_or(Duration::ZERO, |t| now.mono.saturating_duration_since(t))
    }

    pub fn offer_of(&self, leg: LegId) -> Option<&Offer> {
        self.offers.iter().find(|o| o.leg == leg)
    }

    /// In a queue and not on the way out: what dispatch and positions count.
    pub fn queued(&self) -> bool {
        self.group.is_some() && self.ivr.is_none() && self.leaving.is_none()
    }
}

impl Switchboard {
    /// A routed caller the box will answer (`to` says where they go, for the trail):
    /// open their RTP endpoint; the box answers when it is open.
    pub(super) fn hold(&mut self, now: Now, mut w: Held, caller: &str, to: &str) {
        let (id, a, caller_agent) = (w.record.id, w.a, w.caller_agent);
        let detail = format!("{caller} called {} → {to}", w.record.to_number);
        let line = w.trail(now, CallEventKind::Offered, caller, None, detail);
        self.legs.insert(a, id);
        self.store(StoreOp::Call(Box::new(w.record.clone())));
        self.store(line);
        self.held.insert(id, w);
        self.media(MediaCommand::Open { leg: a });
        if let Some(agent) = caller_agent {
            self.personal_call(now, agent, AgentState::Calling, id);
        }
    }

    /// The caller's RTP endpoint is open: answer, then start the IVR or join the
    /// queue.
    pub(super) fn held_media_opened(&mut self, now: Now, id: CallId) {
        let Some(w) = self.held.get_mut(&id) else {
            return;
        };
        if w.answered {
            return;
        }
        let (Some(remote), Some(codec)) = (w.a_media.remote, w.a_media.codec) else {
            return;
        };
        let answer = w.a_media.describe(w.a_offer.direction.answer());
        w.answered = true;
        let a = w.a;
        self.media(MediaCommand::Configure {
            leg: a,
            remote,
            codec,
            dtmf_pt: self.held.get(&id).and_then(|w| w.a_media.dtmf_pt),
        });
        self.sip(SipCommand::Respond {
            leg: a,
            code: 200,
            reason: "OK".into(),
            media: answer,
        });
        let (ivr, group) = match self.held.get(&id) {
            Some(w) => (w.ivr.is_some(), w.group),
            None => return,
        };
        if ivr {
            self.start_ivr(now, id);
        } else if let Some(group) = group {
            self.join(now, id, group, "please_wait");
        }
    }

    /// Play the next prompt to the caller; when none is left, the music in a queue
    /// (an IVR caller hears silence while the flow waits for a key). True when a
    /// prompt was started.
    pub(super) fn play_next(&mut self, id: CallId) -> bool {
        let tag = self.new_play_tag();
        let Some(w) = self.held.get_mut(&id) else {
            return false;
        };
        let a = w.a;
        let command = match w.playlist.pop_front() {
            Some(file) => {
                w.playing = Some(tag);
                MediaCommand::Play {
                    leg: a,
                    file,
                    looped: false,
                    tag,
                }
            }
            None if w.ivr.is_some() => {
                w.playing = None;
                return false;
            }
            None => {
                w.playing = None;
                MediaCommand::Play {
                    leg: a,
                    file: self.voice.music(w.language),
                    looped: true,
                    tag,
                }
            }
        };
        self.media(command);
        true
    }

    /// A prompt to a held caller ended: the one playing now, or a late end of one
    /// replaced meanwhile (`tag` tells), which changes nothing.
    pub(super) fn held_play_done(&mut self, now: Now, id: CallId, tag: u64) {
        let Some(w) = self.held.get(&id) else {
            return;
        };
        if w.playing != Some(tag) {
            return;
        }
        match w.leaving.clone() {
            Some(cause) => {
                if let Some(w) = self.held.get_mut(&id) {
                    let words = "the box hung up after its last prompt".to_string();
                    let line = w.trail(now, CallEventKind::HungUp, "system", None, words);
                    self.store(line);
                }
                self.end_held(now, id, HangupBy::System, cause, 200)
            }
            None => {
                if !self.play_next(id) {
                    self.ivr_prompts_done(now, id);
                }
            }
        }
    }

    /// Say "no one is available" and hang up when it has been said.
    pub(super) fn leave(&mut self, now: Now, id: CallId, cause: String) {
        self.say_goodbye(now, id, "no_agents", cause);
    }

    /// Play `prompt`, then hang up with `cause` (the end of an IVR, a queue's
    /// overflow to goodbye).
    pub(super) fn say_goodbye(&mut self, now: Now, id: CallId, prompt: &str, cause: String) {
        let Some(w) = self.held.get_mut(&id) else {
            return;
        };
        w.playlist = [self.voice.prompt(w.language, prompt)].into();
        w.leaving = Some(cause);
        w.ivr = None;
        self.withdraw_offers(now, id, "the caller left the queue");
        self.clear_call_timers(id);
        self.timers
            .insert((now.mono + LEAVE_GRACE, Timer::Leave(id)));
        self.play_next(id);
    }

    /// The caller hung up: in a queue, an abandoned call, with where and how long.
    pub(super) fn held_hung_up(&mut self, now: Now, id: CallId) {
        let position = self.position(id).unwrap_or(1);
        let queue = self
            .held
            .get(&id)
            .filter(|w| w.queued())
            .and_then(|w| w.group);
        let name = queue.map(|g| self.group_name(g)).unwrap_or_default();
        let flow = self
            .held
            .get(&id)
            .and_then(|w| w.ivr.as_ref())
            .map(|s| s.flow_name().to_string());
        let Some(w) = self.held.get_mut(&id) else {
            return;
        };
        let waited = w.waited(now).as_secs();
        let a = w.a;
        let (kind, cause) = if w.leaving.is_some() {
            (
                CallEventKind::HungUp,
                "the caller hung up during the goodbye".to_string(),
            )
        } else if let Some(flow) = flow {
            (
                CallEventKind::HungUp,
                format!("the caller hung up in the IVR ({flow})"),
            )
        } else if queue.is_none() {
            (
                CallEventKind::HungUp,
                "the caller hung up while it rang".to_string(),
            )
        } else {
            (
                CallEventKind::Abandoned,
                format!(
                    "abandoned: the caller hung up after waiting {waited} s in queue {name} at position {position}"
                ),
            )
        };
        let line = w.trail(now, kind, "caller", None, cause.clone());
        self.store(line);
        self.forget_leg(a);
        self.end_held(now, id, HangupBy::Caller, cause, 200);
    }

    /// End a waiting caller's call: withdraw offers, hang the caller up (a final
    /// response if the box never answered), close the row.
    pub(super) fn end_held(
        &mut self,
        now: Now,
        id: CallId,
        by: HangupBy,
        cause: String,
        code: u16,
    ) {
        self.withdraw_offers(now, id, "the caller's call ended");
        let Some(mut w) = self.held.remove(&id) else {
            return;
        };
        self.clear_call_timers(id);
        if self.legs.remove(&w.a).is_some() {
            if w.answered {
                self.sip(SipCommand::Hangup { leg: w.a });
            } else {
                self.sip(SipCommand::Respond {
                    leg: w.a,
                    code: 503,
                    reason: "Service Unavailable".into(),
                    media: None,
                });
            }
            self.media(MediaCommand::Close { leg: w.a });
        }
        if w.record.answered_at.is_none() {
            w.record.wait_secs = Some(u32::try_from(w.waited(now).as_secs()).unwrap_or(u32::MAX));
        }
        if by == HangupBy::System && w.leaving.is_none() {
            let line = w.trail(
                now,
                CallEventKind::Failed,
                "system",
                Some(code),
                cause.clone(),
            );
            self.store(line);
        }
        w.record.ended_at = Some(now.wall);
        w.record.hangup_by = Some(by);
        w.record.end_cause = Some(cause);
        w.record.sip_code = Some(code);
        self.store(StoreOp::Call(Box::new(w.record)));
        if let Some(agent) = w.caller_agent {
            self.release_personal(now, agent, id);
        }
    }

    pub(super) fn clear_call_timers(&mut self, id: CallId) {
        self.timers.retain(|(_, t)| {
            !matches!(t, Timer::MaxWait(c) | Timer::Announce(c) | Timer::Leave(c)
                | Timer::Retry(c) | Timer::Ivr(c) if *c == id)
        });
    }

    /// Is `leg` an offer of waiting call `id` (and not its caller)?
    pub(super) fn is_offer(&self, id: CallId, leg: LegId) -> bool {
        self.held
            .get(&id)
            .is_some_and(|w| w.offer_of(leg).is_some())
    }

    pub(super) fn offer_party(&self, offer: &Offer) -> String {
        match offer.agent.and_then(|a| self.directory.agent(a)) {
            Some(a) => format!("agent {}", a.number),
            None => self.describe_target(&offer.target),
        }
    }

    /// A SIP event for a waiting caller's leg or one of its offers.
    pub(super) fn handle_held_sip(&mut self, now: Now, id: CallId, leg: LegId, event: SipEvent) {
        let offer = self.is_offer(id, leg);
        match event {
            SipEvent::Answered { answer, .. } if offer => self.offer_answered(now, id, leg, answer),
            SipEvent::Rejected { code, reason, .. } if offer => {
                let why = rejection_words(code, &reason);
                self.offer_failed(now, id, leg, code, why, false);
            }
            SipEvent::HungUp { .. } if offer => {
                let why = "the phone ended the call before answering".to_string();
                self.offer_failed(now, id, leg, 487, why, false);
            }
            SipEvent::HungUp { .. } => self.held_hung_up(now, id),
            SipEvent::Reoffer { offer: sdp, .. } => {
                let Some(w) = self.held.get_mut(&id) else {
                    return;
                };
                // The caller's leg, or a direct line that answered and hears "press 1".
                let media = if offer {
                    match w.offers.iter_mut().find(|o| o.leg == leg) {
                        Some(o) => &mut o.media,
                        None => return,
                    }
                } else {
                    &mut w.a_media
                };
                let outcome = apply_reoffer(media, &sdp);
                self.finish_reoffer(leg, outcome);
            }
            // Ringing and early media from an agent's phone are not passed on: the
            // caller keeps hearing the queue.
            _ => {}
        }
    }

    /// A media event for a waiting caller's leg or one of its offers.
    pub(super) fn handle_held_media(&mut self, now: Now, id: CallId, event: MediaEvent) {
        match event {
            MediaEvent::Opened { leg, local } if self.is_offer(id, leg) => {
                self.offer_media_opened(id, leg, local)
            }
            MediaEvent::Opened { local, .. } => {
                if let Some(w) = self.held.get_mut(&id) {
                    w.a_media.local = Some(local);
                }
                self.held_media_opened(now, id);
            }
            MediaEvent::OpenFailed { leg, reason } if self.is_offer(id, leg) => {
                let why = format!("no RTP port available ({reason})");
                self.offer_failed(now, id, leg, 503, why, false);
            }
            MediaEvent::OpenFailed { reason, .. } => {
                let cause = format!("no RTP port available ({reason})");
                self.end_held(now, id, HangupBy::System, cause, 503);
            }
            MediaEvent::RtpTimeout { leg } if !self.is_offer(id, leg) => {
                let secs = self.config.rtp_timeout.as_secs();
                let cause = format!(
                    "no audio from the caller for {secs} s while waiting: the call was dead"
                );
                self.end_held(now, id, HangupBy::System, cause, 408);
            }
            MediaEvent::PlayDone { leg, tag } if !self.is_offer(id, leg) => {
                self.held_play_done(now, id, tag)
            }
            MediaEvent::Dtmf { leg, digit, .. } if self.is_offer(id, leg) => {
                self.offer_key(now, id, leg, digit)
            }
            MediaEvent::Dtmf { digit, .. } => self.held_key(now, id, digit),
            _ => {}
        }
    }

    /// A caller the box answers itself: an IVR flow or a queue.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn hold_caller(
        &mut self,
        now: Now,
        record: CallRecord,
        a: LegId,
        offer: MediaDesc,
        route: &super::routing::Route,
        destination: Destination,
        device: Option<DeviceId>,
        caller: &str,
    ) {
        let (session, group, then) = match destination {
            Destination::Queue(group) => (None, Some(group), None),
            Destination::Ivr(start) => match self.flow_for(&start) {
                Some((flow, then)) => (Some(super::ivr::Session::new(flow)), None, then),
                None => {
                    let (code, reason) = NoRoute::ServiceNumberUnassigned.sip_status();
                    let words = "the service number's IVR flow no longer exists".to_string();
                    self.refuse(now, record, a, caller, code, reason, words);
                    return;
                }
            },
            Destination::Ring(_) => return,
        };
        let to = match (&session, group) {
            (Some(s), _) => format!("IVR {}", s.flow_name()),
            (None, Some(g)) => format!("queue {}", self.group_name(g)),
            (None, None) => String::new(),
        };
        let vip = self
            .directory
            .vip_numbers
            .iter()
            .any(|n| super::routing::same_number(n, &record.from_number));
        let mut w = Held::new(now, record, a, offer, route, session);
        if vip {
            // Above every service number's own priority (0-9).
            w.priority = VIP_PRIORITY;
        }
        w.group = group;
        w.then = then;
        w.caller_device = device;
        w.caller_agent = device.and_then(|d| self.directory.agent_of_device(d).map(|a| a.id));
        self.hold(now, w, caller, &to);
    }
}
