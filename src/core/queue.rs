//! Skill groups' queues, and the ACD that hands their callers to agents.
//!
//! The box answers a queued caller itself and plays them music on hold (with their
//! position now and then). Whenever anything changes, [`Switchboard::dispatch`] walks
//! the waiting callers (highest priority, then longest waiting, first) and rings the
//! agents each group's strategy picks among those idle and reachable. The first
//! agent to answer is bridged to the caller and the waiting caller becomes an
//! ordinary [`Call`]; an unanswered offer sends the caller back to the head of the
//! queue and counts against the agent.
//!
//! Invariant: an agent is rung only from `Idle` (or, with offline answering, from
//! `Offline`), and every offer leaves the agent in a state that is not `Ringing`.

use std::time::{Duration, Instant};

use super::Now;
use super::acd::{self, AgentState, Candidate, Change};
use super::call::{Call, LegMedia, Phase};
use super::directory::{AnswerMode, Overflow};
use super::held::{Held, Offer};
use super::ids::{AgentId, CallId, GroupId, LegId};
use super::media_desc::MediaDesc;
use super::msg::{CallEventKind, MediaCommand, SipCommand, Target};
use super::prompts;
use super::switchboard::{SUPPORTED, Switchboard, Timer};

/// How many times a caller may overflow from group to group before the box gives up
/// (two groups overflowing into each other would otherwise pass a caller forever).
const MAX_OVERFLOWS: u32 = 3;

/// How long a direct line that answered has to press 1 before it counts as unanswered.
const CONFIRM_WAIT: Duration = Duration::from_secs(10);

/// How long a caller waits before the agents who already missed them ring again.
const RETRY_DELAY: Duration = Duration::from_secs(5);

/// The handle time assumed for the expected-wait announcement before a group has
/// finished any call.
const DEFAULT_HANDLE_TIME: Duration = Duration::from_secs(180);

impl Switchboard {
    // ------------------------------------------------------------ joining

    /// Put a caller in `group`'s queue: the trail names who could take the call, the
    /// caller hears `greeting` then music, and the group's timers start. A group with
    /// nobody logged in that does not take callers then sends them on at once.
    pub(super) fn join(&mut self, now: Now, id: CallId, group: GroupId, greeting: &str) {
        let Some(settings) = self.directory.group(group).cloned() else {
            self.leave(now, id, "the queue's skill group no longer exists".into());
            return;
        };
        let members = self.members_summary(now, group);
        let available = self.group_has_agents(group);
        let Some(w) = self.held.get_mut(&id) else {
            return;
        };
        w.group = Some(group);
        w.group_joined = now.mono;
        w.queued_at.get_or_insert(now.mono);
        w.record.group = Some(group);
        let detail = format!("waiting in queue {} ({members})", settings.name);
        let line = w.trail(now, CallEventKind::Queued, "system", None, detail);
        let row = super::msg::StoreOp::Call(Box::new(w.record.clone()));
        w.playlist = [self.voice.prompt(w.language, greeting)].into();
        if settings.exit.is_some_and(|e| e.key == '*') {
            // "返回主菜单请按星号键" names the star key; other keys have no prompt.
            w.playlist
                .push_back(self.voice.prompt(w.language, "exit_key_hint"));
        }
        let a = w.a;
        self.store(row);
        self.store(line);
        self.play_next(id);
        self.timers
            .retain(|(_, t)| !matches!(t, Timer::MaxWait(c) | Timer::Announce(c) if *c == id));
        if let Some(max) = settings.max_wait {
            self.timers.insert((now.mono + max, Timer::MaxWait(id)));
        }
        if let Some(every) = settings.announce_every {
            self.timers.insert((now.mono + every, Timer::Announce(id)));
        }
        log::info!("{id}: {a} waits in queue {}", settings.name);
        if !available && !settings.join_empty {
            let why = format!("nobody is logged in to {}", settings.name);
            self.overflow(now, id, why);
        }
    }

    /// Members of `group` who could take a call now (logged in, or answering offline).
    fn group_has_agents(&self, group: GroupId) -> bool {
        self.directory
            .agents
            .iter()
            .filter(|a| a.groups.iter().any(|m| m.group == group))
            .any(|a| a.offline_answering || self.agents.state(a.id) != AgentState::Offline)
    }

    /// "8001 idle, 8002 busy (lunch), 8003 logged out" for the trail.
    fn members_summary(&self, now: Now, group: GroupId) -> String {
        let mut parts = Vec::new();
        for agent in self.directory.agents.iter() {
            if !agent.groups.iter().any(|m| m.group == group) {
                continue;
            }
            let verdicts = acd::why(now, &self.directory, &self.devices, &self.agents, agent);
            let verdict = verdicts.iter().find(|v| v.group == Some(group));
            match verdict {
                Some(v) if v.gets_next_call => parts.push(format!("{} free", agent.number)),
                Some(v) => parts.push(format!("{} {}", agent.number, v.reasons.join(", "))),
                None => {}
            }
        }
        if parts.is_empty() {
            "the group has no members".into()
        } else {
            parts.join("; ")
        }
    }

    // ------------------------------------------------------------ the ACD

    /// Offer waiting callers to free agents: highest priority first, then the
    /// longest waiting. Called after every input, so no change can strand a caller.
    pub(super) fn dispatch(&mut self, now: Now) {
        let mut order: Vec<(std::cmp::Reverse<u8>, Option<Instant>, CallId)> = self
            .held
            .values()
            .filter(|w| w.answered && w.queued() && w.offers.is_empty())
            .map(|w| (std::cmp::Reverse(w.priority), w.queued_at, w.record.id))
            .collect();
        if order.is_empty() {
            return;
        }
        order.sort();
        for (_, _, id) in order {
            self.offer(now, id);
        }
    }

    /// Ring the agent(s) `id`'s group strategy picks among those free, if any.
    fn offer(&mut self, now: Now, id: CallId) {
        let Some(w) = self.held.get(&id) else {
            return;
        };
        let Some(group) = w.group else {
            return;
        };
        let Some(settings) = self.directory.group(group).cloned() else {
            return;
        };
        let mut candidates = Vec::new();
        let mut endpoints = Vec::new();
        let members = self
            .directory
            .agents
            .iter()
            .filter_map(|a| Some((a, a.groups.iter().find(|m| m.group == group)?)));
        for (position, (agent, membership)) in members.enumerate() {
            if w.caller_agent == Some(agent.id) {
                continue;
            }
            let live = self.agents.get(agent.id);
            let state = live.map_or(AgentState::Offline, |l| l.state);
            let mode = match state {
                AgentState::Idle => live.map_or(AnswerMode::Device, |l| {
                    if l.fallback {
                        AnswerMode::Direct
                    } else {
                        l.mode
                    }
                }),
                AgentState::Offline if agent.offline_answering => AnswerMode::Direct,
                _ => continue,
            };
            let Ok(endpoint) = acd::endpoint(&self.directory, &self.devices, agent, mode) else {
                continue;
            };
            candidates.push(Candidate {
                agent: agent.id,
                position,
                level: membership.level,
                idle_for: live.map_or(Duration::ZERO, |l| {
                    now.mono.saturating_duration_since(l.idle_since)
                }),
                calls_taken: live.map_or(0, |l| l.calls_taken),
                talk_time: live.map_or(Duration::ZERO, |l| l.talk_time),
                tried: w.tried.contains(&agent.id),
            });
            endpoints.push((agent.id, position, endpoint, state));
        }
        // A new round starts once every free agent has missed this caller, after a
        // pause, so a phone that refuses is not rung again and again at once.
        if !candidates.is_empty() && candidates.iter().all(|c| c.tried) {
            let retry_at = w.retry_at.unwrap_or(now.mono);
            if retry_at > now.mono {
                self.timers.insert((retry_at, Timer::Retry(id)));
                return;
            }
            for c in &mut candidates {
                c.tried = false;
            }
            if let Some(w) = self.held.get_mut(&id) {
                w.tried.clear();
            }
        }
        let last = self.rr_last.get(&group).copied();
        let roll = self.dice.roll();
        let picked = acd::pick(settings.strategy, &candidates, last, roll);
        for agent in picked {
            let Some((_, position, endpoint, state)) =
                endpoints.iter().find(|(a, ..)| *a == agent).cloned()
            else {
                continue;
            };
            self.rr_last.insert(group, position);
            let offline = state == AgentState::Offline;
            let strategy = settings.strategy.as_str();
            self.ring_agent(
                now,
                id,
                agent,
                endpoint,
                offline,
                settings.ring_timeout,
                strategy,
            );
        }
    }

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
        let media = self.offer_to(&target, codec, local);
        self.sip(SipCommand::Invite {
            leg,
            target,
            from_user,
            from_display: None,
            media,
        });
    }

    /// An agent (or the overflow number) answered: bridge them to the caller, and
    /// the waiting caller becomes an ordinary call.
    pub(super) fn offer_answered(&mut self, now: Now, id: CallId, leg: LegId, answer: MediaDesc) {
        let Some(codec) = answer.common_codec(&SUPPORTED) else {
            let why = "answered with no codec we speak".to_string();
            self.offer_failed(now, id, leg, 488, why, false);
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
        call.queue_group = w.group;
        call.next_seq = w.next_seq;
        self.calls.insert(id, call);
        self.start_recording(now, id);
    }

    /// An offer ended unanswered: `code` and `why` from the phone or our timer
    /// (`timed_out`). The agent is freed (or set busy after too many), the caller goes
    /// back to the head of the queue.
    pub(super) fn offer_failed(
        &mut self,
        now: Now,
        id: CallId,
        leg: LegId,
        code: u16,
        why: String,
        timed_out: bool,
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
        if timed_out {
            self.sip(SipCommand::Hangup { leg });
        }
        self.forget_leg(leg);
        if let Some(agent) = offer.agent {
            self.agent_missed(now, agent, group, code, &why, id);
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

    // ------------------------------------------------------------ waiting

    /// Tell the caller their position and the expected wait.
    pub(super) fn announce(&mut self, now: Now, id: CallId) {
        let Some(w) = self.held.get(&id) else {
            return;
        };
        let (true, Some(group)) = (w.queued(), w.group) else {
            return;
        };
        let position = self.position(id).unwrap_or(1);
        let agents = self
            .directory
            .agents
            .iter()
            .filter(|a| a.groups.iter().any(|m| m.group == group))
            .filter(|a| self.agents.state(a.id) != AgentState::Offline)
            .count()
            .max(1);
        let handle = self.handle_time(group);
        let minutes = (handle.as_secs() * position as u64)
            .div_ceil(60 * agents as u64)
            .max(1);
        let every = self.directory.group(group).and_then(|g| g.announce_every);
        let Some(w) = self.held.get_mut(&id) else {
            return;
        };
        let lang = w.language;
        let mut names = vec!["position_before".to_string()];
        names.extend(prompts::number(position as u32));
        names.push("position_after".into());
        names.push("wait_before".into());
        names.extend(prompts::number(u32::try_from(minutes).unwrap_or(99)));
        names.push("wait_after".into());
        if self
            .directory
            .group(group)
            .and_then(|g| g.exit)
            .is_some_and(|e| e.key == '*')
        {
            names.push("exit_key_hint".into());
        }
        w.playlist = names.iter().map(|n| self.voice.prompt(lang, n)).collect();
        self.play_next(id);
        if let Some(every) = every {
            self.timers.insert((now.mono + every, Timer::Announce(id)));
        }
    }

    /// The caller's place in their queue, 1 for the next to be served.
    pub(super) fn position(&self, id: CallId) -> Option<usize> {
        let w = self.held.get(&id)?;
        let key = |w: &Held| (std::cmp::Reverse(w.priority), w.queued_at, w.record.id);
        let mine = key(w);
        Some(
            self.held
                .values()
                .filter(|o| o.group == w.group && o.queued() && key(o) < mine)
                .count()
                + 1,
        )
    }

    /// The group's average talk time so far (or a default), for the expected wait.
    fn handle_time(&self, group: GroupId) -> Duration {
        match self.handle_stats.get(&group) {
            Some((n, total)) if *n > 0 => *total / *n,
            _ => DEFAULT_HANDLE_TIME,
        }
    }

    /// The caller waited too long, or their queue has nobody: go where the group
    /// says.
    pub(super) fn overflow(&mut self, now: Now, id: CallId, why: String) {
        let Some(w) = self.held.get_mut(&id) else {
            return;
        };
        let offers = std::mem::take(&mut w.offers);
        let Some(group) = w.group else {
            return;
        };
        for offer in offers {
            self.cancel_offer(now, id, offer, "the caller left the queue");
        }
        let overflow = self
            .directory
            .group(group)
            .map(|g| g.overflow.clone())
            .unwrap_or_default();
        let overflows = match self.held.get_mut(&id) {
            Some(w) => {
                w.overflows += 1;
                w.overflows
            }
            None => return,
        };
        if overflows > MAX_OVERFLOWS {
            let cause = format!("{why}; the caller overflowed {MAX_OVERFLOWS} times already");
            self.leave(now, id, cause);
            return;
        }
        let (detail, next) = match &overflow {
            Overflow::Group(next) if self.directory.group(*next).is_some() => (
                format!("{why} → queue {}", self.group_name(*next)),
                Some(*next),
            ),
            Overflow::Number(number) => (format!("{why} → {number}"), None),
            Overflow::Group(_) | Overflow::Hangup => (format!("{why} → goodbye"), None),
        };
        let target = match &overflow {
            Overflow::Number(number) => self.overflow_target(number),
            _ => None,
        };
        let Some(w) = self.held.get_mut(&id) else {
            return;
        };
        let line = w.trail(now, CallEventKind::Overflowed, "system", None, detail);
        self.store(line);
        match (next, overflow, target) {
            (Some(next), _, _) => {
                if let Some(w) = self.held.get_mut(&id) {
                    w.tried.clear();
                }
                self.join(now, id, next, "transferring");
            }
            (None, Overflow::Number(_), Some(target)) => self.ring_number(now, id, target),
            (None, Overflow::Number(number), None) => {
                let cause = format!("{why}; the overflow number {number} cannot be reached");
                self.leave(now, id, cause);
            }
            (None, _, _) => self.leave(now, id, why),
        }
    }

    /// A device by extension, or an outside number through the first trunk.
    pub(super) fn overflow_target(&self, number: &str) -> Option<Target> {
        if let Some(device) = self.directory.device_by_user(number) {
            return Some(Target::Device(device.id));
        }
        let trunk = self.directory.trunks.first()?;
        Some(Target::Trunk {
            trunk: trunk.id,
            number: number.to_string(),
        })
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

    /// Agents of `group` logged out: callers of a group that lets them go leave.
    pub(super) fn check_empty_groups(&mut self, now: Now) {
        let stranded: Vec<(CallId, GroupId)> = self
            .held
            .values()
            .filter(|w| w.answered && w.queued())
            .filter_map(|w| Some((w.record.id, w.group?)))
            .filter(|(_, g)| self.directory.group(*g).is_some_and(|g| g.leave_empty))
            .filter(|(_, g)| !self.group_has_agents(*g))
            .collect();
        for (id, group) in stranded {
            let why = format!("the last agent of {} logged out", self.group_name(group));
            self.overflow(now, id, why);
        }
    }

    // ------------------------------------------------------------ leaving

    pub(super) fn group_name(&self, group: GroupId) -> String {
        self.directory
            .group(group)
            .map_or_else(|| format!("#{}", group.0), |g| g.name.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::prompts;
    use crate::core::Language;
    use std::path::Path;

    #[test]
    fn prompt_paths_name_language_and_prompt() {
        let p = prompts::prompt(Path::new("/s"), Language::En, "goodbye");
        assert_eq!(p, Path::new("/s/en/goodbye.wav"));
        assert_eq!(
            prompts::music_on_hold(Path::new("/s")),
            Path::new("/s/moh/default.wav")
        );
    }
}
