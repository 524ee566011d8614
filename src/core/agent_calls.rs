//! How calls move agents through their states: rung, talking, after-call work, and
//! back; and the one door every change goes through, so each lands in the status log.
//!
//! Queue calls end in the group's wrap-up; an agent's own calls (their phone rings
//! or dials outside the queues) return them to where they were. A change the agent
//! asked for during a call waits here until the call ends.

use std::time::Duration;

use super::Now;
use super::acd::{AgentState, Change, StatusCause};
use super::ids::{AgentId, CallId, GroupId};
use super::msg::StoreOp;
use super::switchboard::{Switchboard, Timer};

impl Switchboard {
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

    /// A call an agent was offered (from a queue, or an IVR transfer) ended: the
    /// group's after-call work, then idle; an agent answering offline goes back to
    /// logged out (or logs in, if they asked to during the call).
    pub(super) fn agent_call_ended(
        &mut self,
        now: Now,
        agent: AgentId,
        group: Option<GroupId>,
        id: CallId,
    ) {
        let live = self.agents.entry(now, agent);
        if live.call != Some(id) {
            return;
        }
        if live.offline_answering {
            let change = Change::system(
                AgentState::Offline,
                "offline answering: the call ended",
                Some(id),
            );
            self.free_agent(now, agent, change);
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
        self.timers.retain(|(_, t)| *t != Timer::WrapUp(agent));
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

    /// Wrap-up time is over (a timer of an earlier wrap-up changes nothing).
    pub(super) fn wrap_up_over(&mut self, now: Now, agent: AgentId) {
        let over = self.agents.get(agent).is_some_and(|l| {
            l.state == AgentState::WrapUp && l.wrap_until.is_some_and(|t| t <= now.mono)
        });
        if over {
            let change = Change::system(AgentState::Idle, "after-call work time is over", None);
            self.free_agent(now, agent, change);
        }
    }

    /// Log the agent out now, or when the call they are on ends.
    pub(super) fn log_out(&mut self, now: Now, agent: AgentId, by: StatusCause, detail: String) {
        let state = self.agents.state(agent);
        if self.agents.get(agent).is_some_and(|l| l.offline_answering) {
            // Logged out already: whatever was asked for during the call is off.
            self.agents.entry(now, agent).after_call = None;
        } else if state.on_a_call() {
            self.agents.entry(now, agent).after_call = Some((AgentState::Offline, None, by));
        } else if state != AgentState::Offline {
            self.timers.retain(|(_, t)| *t != Timer::WrapUp(agent));
            self.set_agent(
                now,
                agent,
                Change::by(by, AgentState::Offline, detail, None),
            );
        }
    }

    /// An agent's own phone rings or calls outside the queues: the state follows the
    /// call (so the ACD leaves them alone) and returns when that call ends. Logged-out
    /// agents and agents already on a call are left as they are.
    pub(super) fn personal_call(&mut self, now: Now, agent: AgentId, to: AgentState, id: CallId) {
        let Some(live) = self.agents.get(agent) else {
            return;
        };
        if live.state == AgentState::Offline || live.state.on_a_call() {
            return;
        }
        let saved = (id, live.state, live.reason.clone());
        self.agents.entry(now, agent).resume = Some(saved);
        let detail = match to {
            AgentState::Calling => "calling from their phone",
            _ => "a direct call rings their phone",
        };
        self.set_agent(now, agent, Change::system(to, detail, Some(id)));
    }

    /// A personal call answered: the agent is talking.
    pub(super) fn personal_answered(&mut self, now: Now, agent: Option<AgentId>, id: CallId) {
        let Some(agent) = agent else {
            return;
        };
        if self
            .agents
            .get(agent)
            .is_some_and(|l| l.resume.as_ref().is_some_and(|r| r.0 == id))
        {
            let change = Change::system(AgentState::Talking, "the call was answered", Some(id));
            self.set_agent(now, agent, change);
        }
    }

    /// The personal call `id` ended: the agent returns to where they were before it
    /// (another call of theirs ending changes nothing).
    pub(super) fn release_personal(&mut self, now: Now, agent: AgentId, id: CallId) {
        let live = self.agents.entry(now, agent);
        if live.resume.as_ref().is_none_or(|r| r.0 != id) {
            return;
        }
        let Some((_, mut to, reason)) = live.resume.take() else {
            return;
        };
        // Wrap-up does not survive a call made meanwhile: its timer was cleared.
        if to == AgentState::WrapUp {
            to = AgentState::Idle;
            self.timers.retain(|(_, t)| *t != Timer::WrapUp(agent));
        }
        let change = Change::system(to, "the call ended", Some(id)).reason(reason);
        self.free_agent(now, agent, change);
    }
}
