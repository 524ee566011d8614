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
use super::acd::{self, AgentState, Candidate};
use super::directory::{AnswerMode, Overflow};
use super::held::Held;
use super::ids::{CallId, GroupId};
use super::msg::{CallEventKind, Target};
use super::prompts;
use super::switchboard::{Switchboard, Timer};

/// How many times a caller may overflow from group to group before the box gives up
/// (two groups overflowing into each other would otherwise pass a caller forever).
const MAX_OVERFLOWS: u32 = 3;

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
        let (members, free) = self.members_summary(now, group);
        let available = self.group_has_agents(group);
        let ahead = self
            .held
            .values()
            .filter(|o| o.group == Some(group) && o.queued() && o.record.id != id)
            .count();
        // "坐席正忙" only when nobody is free for this caller; else "正在为您转接".
        let greeting = if greeting == "please_wait" && free > ahead {
            "transferring"
        } else {
            greeting
        };
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
    /// The trail's words, and how many members are free now.
    fn members_summary(&self, now: Now, group: GroupId) -> (String, usize) {
        let mut parts = Vec::new();
        let mut free = 0;
        for agent in self.directory.agents.iter() {
            if !agent.groups.iter().any(|m| m.group == group) {
                continue;
            }
            let verdicts = acd::why(now, &self.directory, &self.devices, &self.agents, agent);
            let verdict = verdicts.iter().find(|v| v.group == Some(group));
            match verdict {
                Some(v) if v.gets_next_call => {
                    free += 1;
                    parts.push(format!("{} free", agent.number));
                }
                Some(v) => parts.push(format!("{} {}", agent.number, v.reasons.join(", "))),
                None => {}
            }
        }
        let words = if parts.is_empty() {
            "the group has no members".into()
        } else {
            parts.join("; ")
        };
        (words, free)
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
                AgentState::Idle => live.map_or(AnswerMode::Device, |l| l.ringing_mode()),
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
        let Some(group) = self.held.get(&id).and_then(|w| w.group) else {
            return;
        };
        self.withdraw_offers(now, id, "the caller left the queue");
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
            (None, Overflow::Number(_), Some(target)) => {
                // Out of the queue: no more announcements, offers or empty-queue checks.
                if let Some(w) = self.held.get_mut(&id) {
                    w.group = None;
                }
                self.clear_call_timers(id);
                self.ring_number(now, id, target);
            }
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
