//! Callers waiting in a skill group's queue, and the ACD that hands them to agents.
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

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::Now;
use super::acd::{self, AgentState, Candidate, Change};
use super::call::{Call, LegMedia, Phase, trail_line};
use super::directory::{AnswerMode, Language, Overflow};
use super::ids::{AgentId, CallId, GroupId, LegId};
use super::media_desc::MediaDesc;
use super::msg::{CallEventKind, CallRecord, HangupBy, MediaCommand, SipCommand, StoreOp, Target};
use super::prompts;
use super::switchboard::{SUPPORTED, Switchboard, Timer};

/// How many times a caller may overflow from group to group before the box gives up
/// (two groups overflowing into each other would otherwise pass a caller forever).
const MAX_OVERFLOWS: u32 = 3;

/// How long the goodbye prompt may take before the caller is hung up anyway.
const LEAVE_GRACE: Duration = Duration::from_secs(30);

/// How long a caller waits before the agents who already missed them ring again.
const RETRY_DELAY: Duration = Duration::from_secs(5);

/// The handle time assumed for the expected-wait announcement before a group has
/// finished any call.
const DEFAULT_HANDLE_TIME: Duration = Duration::from_secs(180);

/// A caller the box has answered and holds in a queue.
#[derive(Debug)]
pub struct Waiting {
    pub record: CallRecord,
    pub next_seq: u32,
    pub a: LegId,
    pub a_media: LegMedia,
    pub a_offer: MediaDesc,
    pub language: Language,
    pub group: GroupId,
    pub priority: u8,
    /// When the caller first joined a queue (their wait) and joined this one.
    pub joined: Instant,
    pub group_joined: Instant,
    /// The box has sent 200 to the caller.
    pub answered: bool,
    /// Agents (or an overflow number) being rung for this caller.
    pub offers: Vec<Offer>,
    /// Agents who were rung for this caller and did not answer.
    pub tried: Vec<AgentId>,
    /// Prompts still to play before the music resumes.
    pub playlist: VecDeque<PathBuf>,
    pub overflows: u32,
    /// Playing the goodbye prompt; hung up when it ends.
    pub leaving: Option<String>,
    /// Agents who missed this caller are not rung again before this.
    pub retry_at: Option<Instant>,
    /// The caller is an agent calling from their own phone (never offered their own
    /// call, and calling while it lasts).
    pub caller_agent: Option<AgentId>,
}

/// One leg ringing on a waiting caller's behalf.
#[derive(Debug)]
pub struct Offer {
    pub leg: LegId,
    /// `None` for an overflow number, which is not an agent.
    pub agent: Option<AgentId>,
    pub target: Target,
    pub media: LegMedia,
    pub deadline: Instant,
}

impl Waiting {
    /// A caller routed to `group`, not yet answered.
    pub fn new(
        now: Now,
        mut record: CallRecord,
        a: LegId,
        offer: MediaDesc,
        route: &super::routing::Route,
        group: GroupId,
        caller_agent: Option<AgentId>,
    ) -> Waiting {
        record.group = Some(group);
        let mut a_media = LegMedia::default();
        a_media.learn(&offer);
        Waiting {
            record,
            next_seq: 0,
            a,
            a_media,
            a_offer: offer,
            language: route.language,
            group,
            priority: route.priority,
            joined: now.mono,
            group_joined: now.mono,
            answered: false,
            offers: Vec::new(),
            tried: Vec::new(),
            playlist: VecDeque::new(),
            overflows: 0,
            leaving: None,
            retry_at: None,
            caller_agent,
        }
    }

    fn trail(
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

    fn waited(&self, now: Now) -> Duration {
        now.mono.saturating_duration_since(self.joined)
    }

    fn offer_of(&self, leg: LegId) -> Option<&Offer> {
        self.offers.iter().find(|o| o.leg == leg)
    }
}

impl Switchboard {
    // ------------------------------------------------------------ joining

    /// A routed caller for `group`: open their RTP endpoint; the box answers when it
    /// is open.
    pub(super) fn enqueue(&mut self, now: Now, mut w: Waiting, caller: &str) {
        let (id, a, group, caller_agent) = (w.record.id, w.a, w.group, w.caller_agent);
        let name = self.group_name(group);
        let detail = format!("{caller} called {} → queue {name}", w.record.to_number);
        let line = w.trail(now, CallEventKind::Offered, caller, None, detail);
        self.legs.insert(a, id);
        self.store(StoreOp::Call(Box::new(w.record.clone())));
        self.store(line);
        self.waiting.insert(id, w);
        self.media(MediaCommand::Open { leg: a });
        if let Some(agent) = caller_agent {
            self.personal_call(now, agent, AgentState::Calling, id);
        }
    }

    /// The caller's RTP endpoint is open: answer, and join the queue.
    pub(super) fn waiting_media_opened(&mut self, now: Now, id: CallId) {
        let Some(w) = self.waiting.get_mut(&id) else {
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
            dtmf_pt: self.waiting.get(&id).and_then(|w| w.a_media.dtmf_pt),
        });
        self.sip(SipCommand::Respond {
            leg: a,
            code: 200,
            reason: "OK".into(),
            media: answer,
        });
        let group = self.waiting.get(&id).map(|w| w.group);
        if let Some(group) = group {
            self.join(now, id, group, "please_wait");
        }
    }

    /// Put a caller in `group`'s queue: the trail names who could take the call, the
    /// caller hears `greeting` then music, and the group's timers start. A group with
    /// nobody logged in that does not take callers then sends them on at once.
    fn join(&mut self, now: Now, id: CallId, group: GroupId, greeting: &str) {
        let Some(settings) = self.directory.group(group).cloned() else {
            self.leave(now, id, "the queue's skill group no longer exists".into());
            return;
        };
        let members = self.members_summary(now, group);
        let available = self.group_has_agents(group);
        let sounds = self.config.sounds_dir.clone();
        let Some(w) = self.waiting.get_mut(&id) else {
            return;
        };
        w.group = group;
        w.group_joined = now.mono;
        w.record.group = Some(group);
        let detail = format!("waiting in queue {} ({members})", settings.name);
        let line = w.trail(now, CallEventKind::Queued, "system", None, detail);
        w.playlist = [prompts::prompt(&sounds, w.language, greeting)].into();
        let a = w.a;
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
        let mut order: Vec<(std::cmp::Reverse<u8>, Instant, CallId)> = self
            .waiting
            .values()
            .filter(|w| w.answered && w.leaving.is_none() && w.offers.is_empty())
            .map(|w| (std::cmp::Reverse(w.priority), w.joined, w.record.id))
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
        let Some(w) = self.waiting.get(&id) else {
            return;
        };
        let group = w.group;
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
            if let Some(w) = self.waiting.get_mut(&id) {
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
    fn ring_agent(
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
        let (number, name) = self
            .directory
            .agent(agent)
            .map(|a| (a.number.clone(), a.name.clone()))
            .unwrap_or_default();
        let Some(w) = self.waiting.get_mut(&id) else {
            return;
        };
        w.offers.push(Offer {
            leg,
            agent: Some(agent),
            target: endpoint.target.clone(),
            media: LegMedia::default(),
            deadline,
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
        let Some(w) = self.waiting.get_mut(&id) else {
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
        let Some(mut w) = self.waiting.remove(&id) else {
            return;
        };
        let Some(index) = w.offers.iter().position(|o| o.leg == leg) else {
            self.waiting.insert(id, w);
            return;
        };
        let mut offer = w.offers.remove(index);
        for other in std::mem::take(&mut w.offers) {
            self.cancel_offer(now, id, other, "another agent answered first");
        }
        self.timers.remove(&(offer.deadline, Timer::Offer(leg)));
        self.clear_call_timers(id);
        offer.media.learn(&answer);
        offer.media.codec = Some(codec);
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
        self.media(MediaCommand::Configure {
            leg,
            remote: answer.addr,
            codec,
            dtmf_pt: answer.dtmf_pt,
        });
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
        call.queue_group = Some(w.group);
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
        let Some(w) = self.waiting.get_mut(&id) else {
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
        let Some(w) = self.waiting.get_mut(&id) else {
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
        match offer.agent {
            Some(agent) => self.agent_missed(now, agent, group, code, &why, id),
            None => self.leave(
                now,
                id,
                format!("the overflow number did not answer: {why}"),
            ),
        }
    }

    /// The agent did not take an offer: count it, and set them busy after too many.
    fn agent_missed(
        &mut self,
        now: Now,
        agent: AgentId,
        group: GroupId,
        code: u16,
        why: &str,
        id: CallId,
    ) {
        let max = self.directory.group(group).map_or(0, |g| g.max_no_answer);
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
    fn cancel_offer(&mut self, now: Now, id: CallId, offer: Offer, why: &str) {
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

    /// Play the next queued prompt to the caller, or the music when none is left.
    fn play_next(&mut self, id: CallId) {
        let moh = prompts::music_on_hold(&self.config.sounds_dir);
        let Some(w) = self.waiting.get_mut(&id) else {
            return;
        };
        let a = w.a;
        let command = match w.playlist.pop_front() {
            Some(file) => MediaCommand::Play {
                leg: a,
                file,
                looped: false,
            },
            None => MediaCommand::Play {
                leg: a,
                file: moh,
                looped: true,
            },
        };
        self.media(command);
    }

    /// A prompt to a waiting caller ended.
    pub(super) fn waiting_play_done(&mut self, now: Now, id: CallId) {
        let Some(w) = self.waiting.get(&id) else {
            return;
        };
        match w.leaving.clone() {
            Some(cause) => {
                if let Some(w) = self.waiting.get_mut(&id) {
                    let words = "the box hung up after saying no one is available".to_string();
                    let line = w.trail(now, CallEventKind::HungUp, "system", None, words);
                    self.store(line);
                }
                self.end_waiting(now, id, HangupBy::System, cause, 200)
            }
            None => self.play_next(id),
        }
    }

    /// Tell the caller their position and the expected wait.
    pub(super) fn announce(&mut self, now: Now, id: CallId) {
        let Some(w) = self.waiting.get(&id) else {
            return;
        };
        if w.leaving.is_some() {
            return;
        }
        let group = w.group;
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
        let sounds = self.config.sounds_dir.clone();
        let every = self.directory.group(group).and_then(|g| g.announce_every);
        let Some(w) = self.waiting.get_mut(&id) else {
            return;
        };
        let lang = w.language;
        let mut names = vec!["position_before".to_string()];
        names.extend(prompts::number(position as u32));
        names.push("position_after".into());
        names.push("wait_before".into());
        names.extend(prompts::number(u32::try_from(minutes).unwrap_or(99)));
        names.push("wait_after".into());
        w.playlist = names
            .iter()
            .map(|n| prompts::prompt(&sounds, lang, n))
            .collect();
        self.play_next(id);
        if let Some(every) = every {
            self.timers.insert((now.mono + every, Timer::Announce(id)));
        }
    }

    /// The caller's place in their queue, 1 for the next to be served.
    pub(super) fn position(&self, id: CallId) -> Option<usize> {
        let w = self.waiting.get(&id)?;
        let key = |w: &Waiting| (std::cmp::Reverse(w.priority), w.joined, w.record.id);
        let mine = key(w);
        Some(
            self.waiting
                .values()
                .filter(|o| o.group == w.group && o.leaving.is_none() && key(o) < mine)
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
        let Some(w) = self.waiting.get_mut(&id) else {
            return;
        };
        let offers = std::mem::take(&mut w.offers);
        let group = w.group;
        for offer in offers {
            self.cancel_offer(now, id, offer, "the caller left the queue");
        }
        let overflow = self
            .directory
            .group(group)
            .map(|g| g.overflow.clone())
            .unwrap_or_default();
        let overflows = match self.waiting.get_mut(&id) {
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
        let Some(w) = self.waiting.get_mut(&id) else {
            return;
        };
        let line = w.trail(now, CallEventKind::Overflowed, "system", None, detail);
        self.store(line);
        match (next, overflow, target) {
            (Some(next), _, _) => {
                if let Some(w) = self.waiting.get_mut(&id) {
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
    fn overflow_target(&self, number: &str) -> Option<Target> {
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
    fn ring_number(&mut self, now: Now, id: CallId, target: Target) {
        let leg = self.new_leg();
        let deadline = now.mono + self.config.ring_timeout;
        let Some(w) = self.waiting.get_mut(&id) else {
            return;
        };
        w.offers.push(Offer {
            leg,
            agent: None,
            target,
            media: LegMedia::default(),
            deadline,
        });
        self.legs.insert(leg, id);
        self.timers.insert((deadline, Timer::Offer(leg)));
        self.media(MediaCommand::Open { leg });
    }

    /// Say "no one is available" and hang up when it has been said.
    fn leave(&mut self, now: Now, id: CallId, cause: String) {
        let sounds = self.config.sounds_dir.clone();
        let Some(w) = self.waiting.get_mut(&id) else {
            return;
        };
        let offers = std::mem::take(&mut w.offers);
        w.playlist = [prompts::prompt(&sounds, w.language, "no_agents")].into();
        w.leaving = Some(cause);
        for offer in offers {
            self.cancel_offer(now, id, offer, "the caller left the queue");
        }
        self.clear_call_timers(id);
        self.timers
            .insert((now.mono + LEAVE_GRACE, Timer::Leave(id)));
        self.play_next(id);
    }

    /// Agents of `group` logged out: callers of a group that lets them go leave.
    pub(super) fn check_empty_groups(&mut self, now: Now) {
        let stranded: Vec<(CallId, GroupId)> = self
            .waiting
            .values()
            .filter(|w| w.answered && w.leaving.is_none())
            .filter(|w| self.directory.group(w.group).is_some_and(|g| g.leave_empty))
            .filter(|w| !self.group_has_agents(w.group))
            .map(|w| (w.record.id, w.group))
            .collect();
        for (id, group) in stranded {
            let why = format!("the last agent of {} logged out", self.group_name(group));
            self.overflow(now, id, why);
        }
    }

    // ------------------------------------------------------------ leaving

    /// The caller hung up while waiting: an abandoned call, with where and how long.
    pub(super) fn waiting_hung_up(&mut self, now: Now, id: CallId) {
        let position = self.position(id).unwrap_or(1);
        let name = self
            .waiting
            .get(&id)
            .map(|w| self.group_name(w.group))
            .unwrap_or_default();
        let Some(w) = self.waiting.get_mut(&id) else {
            return;
        };
        let waited = w.waited(now).as_secs();
        let a = w.a;
        let (kind, cause) = if w.leaving.is_some() {
            (
                CallEventKind::HungUp,
                "the caller hung up during the goodbye".to_string(),
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
        self.end_waiting(now, id, HangupBy::Caller, cause, 200);
    }

    /// End a waiting caller's call: withdraw offers, hang the caller up (a final
    /// response if the box never answered), close the row.
    pub(super) fn end_waiting(
        &mut self,
        now: Now,
        id: CallId,
        by: HangupBy,
        cause: String,
        code: u16,
    ) {
        let Some(mut w) = self.waiting.remove(&id) else {
            return;
        };
        for offer in std::mem::take(&mut w.offers) {
            self.cancel_offer(now, id, offer, "the caller's call ended");
        }
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
            self.release_agent(now, agent, None, id);
        }
    }

    fn clear_call_timers(&mut self, id: CallId) {
        self.timers.retain(|(_, t)| {
            !matches!(t, Timer::MaxWait(c) | Timer::Announce(c) | Timer::Leave(c) | Timer::Retry(c) if *c == id)
        });
    }

    /// Is `leg` an offer of waiting call `id` (and not its caller)?
    pub(super) fn is_offer(&self, id: CallId, leg: LegId) -> bool {
        self.waiting
            .get(&id)
            .is_some_and(|w| w.offer_of(leg).is_some())
    }

    fn offer_party(&self, offer: &Offer) -> String {
        match offer.agent.and_then(|a| self.directory.agent(a)) {
            Some(a) => format!("agent {}", a.number),
            None => self.describe_target(&offer.target),
        }
    }

    pub(super) fn group_name(&self, group: GroupId) -> String {
        self.directory
            .group(group)
            .map_or_else(|| format!("#{}", group.0), |g| g.name.clone())
    }

    // ------------------------------------------------------------ agents

    /// Change an agent's state and log it.
    pub(super) fn set_agent(&mut self, now: Now, agent: AgentId, change: Change) {
        if let Some(row) = self.agents.set(now, agent, change) {
            self.store(StoreOp::AgentStatus(Box::new(row)));
        }
    }

    /// The agent is done with a call or an offer: take the state they asked for
    /// meanwhile, or `default`.
    pub(super) fn free_agent(&mut self, now: Now, agent: AgentId, default: Change) {
        let pending = self.agents.entry(now, agent).after_call.take();
        let change = match pending {
            Some((to, reason, cause)) => {
                let detail = format!("{}; as asked during the call", default.detail);
                let mut change = Change::by(cause, to, detail, default.call).reason(reason);
                change.fallback = default.fallback;
                change
            }
            None => default,
        };
        self.set_agent(now, agent, change);
    }

    /// A call an agent took from a queue ended: after-call work, then idle.
    pub(super) fn agent_call_ended(
        &mut self,
        now: Now,
        agent: AgentId,
        group: Option<GroupId>,
        id: CallId,
    ) {
        let live = self.agents.entry(now, agent);
        if live.offline_answering {
            let change = Change::system(
                AgentState::Offline,
                "offline answering: the call ended",
                Some(id),
            );
            self.set_agent(now, agent, change);
            return;
        }
        if let (Some(g), Some(started)) = (group, live.talk_started) {
            let talked = now.mono.saturating_duration_since(started);
            let stats = self.handle_stats.entry(g).or_insert((0, Duration::ZERO));
            stats.0 += 1;
            stats.1 += talked;
        }
        let wrap = group
            .and_then(|g| self.directory.group(g))
            .map_or(Duration::ZERO, |g| g.wrap_up);
        if wrap.is_zero() {
            self.free_agent(
                now,
                agent,
                Change::system(AgentState::Idle, "the call ended", Some(id)),
            );
            return;
        }
        let until = now.mono + wrap;
        let detail = format!("the call ended; after-call work for {} s", wrap.as_secs());
        self.set_agent(
            now,
            agent,
            Change::system(AgentState::WrapUp, detail, Some(id)),
        );
        self.agents.entry(now, agent).wrap_until = Some(until);
        self.timers.insert((until, Timer::WrapUp(agent)));
    }

    /// Wrap-up time is over.
    pub(super) fn wrap_up_over(&mut self, now: Now, agent: AgentId) {
        if self.agents.state(agent) != AgentState::WrapUp {
            return;
        }
        let change = Change::system(AgentState::Idle, "after-call work time is over", None);
        self.free_agent(now, agent, change);
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
