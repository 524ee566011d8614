//! Offers: the legs that ring agents (or a number) for a held caller, from the
//! INVITE to the answer or the miss.
//!
//! An answered offer is bridged to the caller ([`Switchboard::connect`]) and the held
//! caller becomes an ordinary call; a direct line must press 1 first, so a mobile's
//! voicemail never takes a customer. A missed offer counts against the agent (busy
//! after too many in a row) and sends the caller back to the head of their queue.
//! A withdrawn offer (the caller left, another agent answered) blames nobody.

use std::time::Duration;

use super::Now;
use super::acd::{self, AgentState, Change};
use super::call::{Call, LegMedia, Phase};
use super::directory::AnswerMode;
use super::held::Offer;
use super::ids::{AgentId, CallId, GroupId, LegId};
use super::media_desc::MediaDesc;
use super::msg::{CallEventKind, MediaCommand, SipCommand, Target};
use super::switchboard::{SUPPORTED, Switchboard, Timer};

/// How long a direct line that answered has to press 1 before it counts as unanswered.
const CONFIRM_WAIT: Duration = Duration::from_secs(10);

/// How long a caller waits before the agents who already missed them ring again.
const RETRY_DELAY: Duration = Duration::from_secs(5);

impl Switchboard {
    /// Ring one agent for caller `id`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn ring_agent(
        &mut self,
        now: Now,
        id: CallId,
        agent: AgentId,
        endpoint: acd::Endpoint,
        offline: bool,
        ring_timeout: Duration,
        strategy: &str,
    ) {
        let leg = self.new_leg();
        let deadline = now.mono + ring_timeout;
        let where_ = self.describe_target(&endpoint.target);
        let (number, name, confirm) = self
            .directory
            .agent(agent)
            .map(|a| (a.number.clone(), a.name.clone(), a.confirm_direct))
            .unwrap_or_default();
        let Some(w) = self.held.get_mut(&id) else {
            return;
        };
        w.offers.push(Offer {
            leg,
            agent: Some(agent),
            target: endpoint.target.clone(),
            media: LegMedia::default(),
            deadline,
            confirm: confirm && matches!(endpoint.target, Target::Trunk { .. }),
            confirming: false,
        });
        let from = w.record.from_number.clone();
        let how = if offline {
            "offline answering".to_string()
        } else {
            strategy.to_string()
        };
        let detail = format!("rang agent {number} {name} on {where_} ({how})");
        let line = w.trail(now, CallEventKind::AgentOffered, &number, None, detail);
        self.store(line);
        self.legs.insert(leg, id);
        self.timers.insert((deadline, Timer::Offer(leg)));
        if offline {
            self.agents.entry(now, agent).offline_answering = true;
        }
        let detail = if offline {
            format!("offline answering: call from {from} rings the direct line")
        } else if endpoint.fallback {
            format!("call from {from} rings the direct line (fallback)")
        } else {
            format!("call from {from} offered")
        };
        self.set_agent(
            now,
            agent,
            Change::system(AgentState::Ringing, detail, Some(id)),
        );
        self.media(MediaCommand::Open { leg });
    }

    /// An offer leg's RTP endpoint is open: send the INVITE.
    pub(super) fn offer_media_opened(
        &mut self,
        id: CallId,
        leg: LegId,
        local: std::net::SocketAddr,
    ) {
        let Some(w) = self.held.get_mut(&id) else {
            return;
        };
        let Some(offer) = w.offers.iter_mut().find(|o| o.leg == leg) else {
            return;
        };
        offer.media.local = Some(local);
        let target = offer.target.clone();
        let Some(codec) = w.a_media.codec else {
            return;
        };
        // An agent's phone sees the customer's number; a call out through the trunk
        // (a direct line) presents the service number the carrier knows us by.
        let from_user = match &target {
            Target::Device(_) => w.record.from_number.clone(),
            Target::Trunk { .. } => w
                .record
                .service_number
                .clone()
                .unwrap_or_else(|| w.record.from_number.clone()),
        };
        self.invite_leg(leg, target, from_user, codec, local);
    }

    /// An agent (or the overflow number) answered: bridge them to the caller, and
    /// the waiting caller becomes an ordinary call.
    pub(super) fn offer_answered(&mut self, now: Now, id: CallId, leg: LegId, answer: MediaDesc) {
        let Some(codec) = answer.common_codec(&SUPPORTED) else {
            let why = "answered with no codec we speak".to_string();
            // The phone's dialog is up: it gets a BYE.
            self.offer_failed(now, id, leg, 488, why, true);
            return;
        };
        let tag = self.new_play_tag();
        let Some(w) = self.held.get_mut(&id) else {
            return;
        };
        let language = w.language;
        let Some(offer) = w.offers.iter_mut().find(|o| o.leg == leg) else {
            return;
        };
        offer.media.learn(&answer);
        offer.media.codec = Some(codec);
        if !offer.confirm {
            self.connect(now, id, leg);
            return;
        }
        // A direct line: the agent hears "press 1 to take this call" first.
        offer.confirming = true;
        let old = (offer.deadline, Timer::Offer(leg));
        offer.deadline = now.mono + CONFIRM_WAIT;
        let deadline = offer.deadline;
        self.timers.remove(&old);
        self.timers.insert((deadline, Timer::Offer(leg)));
        self.media(MediaCommand::Configure {
            leg,
            remote: answer.addr,
            codec,
            dtmf_pt: answer.dtmf_pt,
        });
        self.media(MediaCommand::Play {
            leg,
            file: self.voice.prompt(language, "accept_call"),
            looped: true,
            tag,
        });
    }

    /// A key from an offer's far end: 1 puts a confirming direct line through.
    pub(super) fn offer_key(&mut self, now: Now, id: CallId, leg: LegId, key: char) {
        let confirming = self
            .held
            .get(&id)
            .and_then(|w| w.offer_of(leg))
            .is_some_and(|o| o.confirming);
        if confirming && key == '1' {
            self.media(MediaCommand::StopPlay { leg });
            self.connect(now, id, leg);
        }
    }

    /// Is `leg` a direct line that answered and has not pressed 1 yet?
    pub(super) fn offer_confirming(&self, id: CallId, leg: LegId) -> bool {
        self.held
            .get(&id)
            .and_then(|w| w.offer_of(leg))
            .is_some_and(|o| o.confirming)
    }

    /// Bridge the caller to the offer that answered; the held caller becomes a call.
    fn connect(&mut self, now: Now, id: CallId, leg: LegId) {
        let Some(mut w) = self.held.remove(&id) else {
            return;
        };
        let Some(index) = w.offers.iter().position(|o| o.leg == leg) else {
            self.held.insert(id, w);
            return;
        };
        let offer = w.offers.remove(index);
        for other in std::mem::take(&mut w.offers) {
            self.cancel_offer(now, id, other, "another agent answered first");
        }
        self.timers.remove(&(offer.deadline, Timer::Offer(leg)));
        self.clear_call_timers(id);
        let waited = w.waited(now);
        w.record.answered_at = Some(now.wall);
        w.record.wait_secs = Some(u32::try_from(waited.as_secs()).unwrap_or(u32::MAX));
        w.record.agent = offer.agent;
        if let Target::Device(d) = offer.target {
            w.record.device = Some(d);
        }
        let party = self.offer_party(&offer);
        let detail = format!(
            "{party} answered after the caller waited {} s",
            waited.as_secs()
        );
        let line = w.trail(now, CallEventKind::Answered, &party, Some(200), detail);
        self.store(line);
        let a = w.a;
        self.media(MediaCommand::StopPlay { leg: a });
        if let (Some(remote), Some(codec)) = (offer.media.remote, offer.media.codec) {
            self.media(MediaCommand::Configure {
                leg,
                remote,
                codec,
                dtmf_pt: offer.media.dtmf_pt,
            });
        }
        self.media(MediaCommand::Bridge { a, b: leg });
        if let Some(agent) = offer.agent {
            let live = self.agents.entry(now, agent);
            live.unanswered = 0;
            live.calls_taken += 1;
            let detail = format!("answered the call from {}", w.record.from_number);
            self.set_agent(
                now,
                agent,
                Change::system(AgentState::Talking, detail, Some(id)),
            );
        }
        self.personal_answered(now, w.caller_agent, id);
        let mut call = Call::new(w.record, a, leg, offer.target, w.a_offer);
        call.a_media = w.a_media;
        call.b_media = offer.media;
        call.phase = Phase::Answered;
        call.ringing_sent = true;
        call.agent_a = w.caller_agent;
        call.agent_b = offer.agent;
        call.agent_b_offered = offer.agent.is_some();
        call.queue_group = w.group.or(w.return_group);
        call.next_seq = w.next_seq;
        call.language = w.language;
        call.links = super::call::Links::Bridge(a, leg);
        self.calls.insert(id, call);
        self.start_recording(now, id);
    }

    /// An offer ended unanswered: `code` and `why` from the phone or our timer
    /// (`ours_to_end`: our timer, or an answer we cannot use, so the leg gets a CANCEL
    /// or BYE). The agent is freed (or set busy after too many), the caller goes
    /// back to the head of the queue.
    pub(super) fn offer_failed(
        &mut self,
        now: Now,
        id: CallId,
        leg: LegId,
        code: u16,
        why: String,
        ours_to_end: bool,
    ) {
        let Some(w) = self.held.get_mut(&id) else {
            return;
        };
        let Some(index) = w.offers.iter().position(|o| o.leg == leg) else {
            return;
        };
        let offer = w.offers.remove(index);
        if let Some(agent) = offer.agent {
            w.tried.push(agent);
        }
        w.retry_at = Some(now.mono + RETRY_DELAY);
        let group = w.group;
        let party = match offer.agent.and_then(|a| self.directory.agent(a)) {
            Some(a) => a.number.clone(),
            None => "overflow".into(),
        };
        let detail = format!("{} did not answer: {why}", self.offer_party(&offer));
        let Some(w) = self.held.get_mut(&id) else {
            return;
        };
        let line = w.trail(
            now,
            CallEventKind::AgentNoAnswer,
            &party,
            Some(code),
            detail,
        );
        self.store(line);
        self.timers.remove(&(offer.deadline, Timer::Offer(leg)));
        if ours_to_end {
            self.sip(SipCommand::Hangup { leg });
        }
        self.forget_leg(leg);
        if let Some(agent) = offer.agent {
            self.agent_missed(now, agent, group, code, &why, id);
        }
        // A transferred customer whose new agent did not answer waits in the queue
        // they came from, ahead of new callers.
        let back_to = self
            .held
            .get(&id)
            .filter(|w| w.group.is_none())
            .and_then(|w| w.return_group);
        if let Some(back) = back_to.filter(|g| self.directory.group(*g).is_some()) {
            if let Some(w) = self.held.get_mut(&id) {
                w.return_group = None;
                w.priority = super::controls::TRANSFER_PRIORITY;
                w.queued_at = Some(now.mono);
            }
            self.join(now, id, back, "please_wait");
            return;
        }
        // Outside a queue (an IVR transfer, an overflow number) nobody else can be
        // tried: the caller is told so.
        if offer.agent.is_none() || group.is_none() {
            let who = self.offer_party(&offer);
            self.leave(now, id, format!("{who} did not answer: {why}"));
        }
    }

    /// The agent did not take an offer: count it, and set them busy after too many.
    fn agent_missed(
        &mut self,
        now: Now,
        agent: AgentId,
        group: Option<GroupId>,
        code: u16,
        why: &str,
        id: CallId,
    ) {
        let max = group
            .and_then(|g| self.directory.group(g))
            .map_or(0, |g| g.max_no_answer);
        let allow_fallback = self
            .directory
            .agent(agent)
            .is_some_and(|a| a.allow_fallback && a.direct_number.is_some());
        let live = self.agents.entry(now, agent);
        let offline = live.offline_answering;
        live.unanswered += 1;
        let missed = live.unanswered;
        let phone_failed =
            matches!(code, 408 | 503) && !live.fallback && live.mode != AnswerMode::Direct;
        if offline {
            let change = Change::system(
                AgentState::Offline,
                format!("offline answering: did not answer ({why})"),
                Some(id),
            );
            self.set_agent(now, agent, change);
            return;
        }
        let mut change = if max > 0 && missed >= max {
            Change::system(
                AgentState::Busy,
                format!("{missed} unanswered offers in a row → busy"),
                Some(id),
            )
            .reason(Some("no answer".into()))
        } else {
            Change::system(
                AgentState::Idle,
                format!("did not answer ({why})"),
                Some(id),
            )
        };
        if phone_failed && allow_fallback {
            change = change.fallback(true);
            change.detail = format!("phone answered {code} → direct line");
        }
        self.free_agent(now, agent, change);
    }

    /// Stop ringing every offer of caller `id` (they left the queue, hung up, or were
    /// put through to someone else); nobody is blamed.
    pub(super) fn withdraw_offers(&mut self, now: Now, id: CallId, why: &str) {
        let offers = match self.held.get_mut(&id) {
            Some(w) => std::mem::take(&mut w.offers),
            None => return,
        };
        for offer in offers {
            self.cancel_offer(now, id, offer, why);
        }
    }

    /// Stop ringing `offer` because the caller went elsewhere; the agent is not
    /// blamed.
    pub(super) fn cancel_offer(&mut self, now: Now, id: CallId, offer: Offer, why: &str) {
        self.timers
            .remove(&(offer.deadline, Timer::Offer(offer.leg)));
        if self.legs.remove(&offer.leg).is_some() {
            self.sip(SipCommand::Hangup { leg: offer.leg });
            self.media(MediaCommand::Close { leg: offer.leg });
        }
        if let Some(agent) = offer.agent {
            let back = if self.agents.get(agent).is_some_and(|l| l.offline_answering) {
                AgentState::Offline
            } else {
                AgentState::Idle
            };
            self.free_agent(
                now,
                agent,
                Change::system(back, format!("offer withdrawn: {why}"), Some(id)),
            );
        }
    }

    /// Ring an overflow number for the caller.
    pub(super) fn ring_number(&mut self, now: Now, id: CallId, target: Target) {
        let leg = self.new_leg();
        let deadline = now.mono + self.config.ring_timeout;
        let Some(w) = self.held.get_mut(&id) else {
            return;
        };
        w.offers.push(Offer {
            leg,
            agent: None,
            target,
            media: LegMedia::default(),
            deadline,
            confirm: false,
            confirming: false,
        });
        self.legs.insert(leg, id);
        self.timers.insert((deadline, Timer::Offer(leg)));
        self.media(MediaCommand::Open { leg });
    }
}
