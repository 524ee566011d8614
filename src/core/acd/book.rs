//! The live state of every agent, and the one place that changes it.
//!
//! Every change goes through [`AgentBook::set`], which returns the status-log row to
//! write; so the log can never miss a change or break its chain (each row's `from`
//! is the state the book held). The book knows nothing of calls beyond their ids.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::core::Now;
use crate::core::directory::AnswerMode;
use crate::core::ids::{AgentId, CallId};

use super::state::{AgentSnapshot, AgentState, AgentStatusRecord, StatusCause};

/// One agent, live.
#[derive(Debug, Clone)]
pub struct AgentLive {
    pub state: AgentState,
    pub reason: Option<String>,
    /// When the state last changed (the header's timer).
    pub since: Instant,
    pub since_wall: chrono::DateTime<chrono::Utc>,
    /// The mode in force while logged in.
    pub mode: AnswerMode,
    /// When the agent last became ready after work (login, wrap-up, a break): what
    /// longest-idle compares. An unanswered ring does not reset it.
    pub idle_since: Instant,
    /// Unanswered queue offers in a row.
    pub unanswered: u32,
    /// Queue calls answered and talk time since logging in.
    pub calls_taken: u32,
    pub talk_time: Duration,
    /// When wrap-up ends on its own.
    pub wrap_until: Option<Instant>,
    /// The call ringing or holding the agent.
    pub call: Option<CallId>,
    /// When the current call was answered, for talk time.
    pub talk_started: Option<Instant>,
    /// A state asked for during a call, taken when it ends.
    pub after_call: Option<(AgentState, Option<String>, StatusCause)>,
    /// The personal (non-queue) call holding the agent, and where it returns them.
    pub resume: Option<(CallId, AgentState, Option<String>)>,
    /// Calls reach the direct number because the phone is gone (S3).
    pub fallback: bool,
    /// Ringing or talking on the direct number while logged out (S20).
    pub offline_answering: bool,
}

impl AgentLive {
    fn new(now: Now) -> AgentLive {
        AgentLive {
            state: AgentState::Offline,
            reason: None,
            since: now.mono,
            since_wall: now.wall,
            mode: AnswerMode::Device,
            idle_since: now.mono,
            unanswered: 0,
            calls_taken: 0,
            talk_time: Duration::ZERO,
            wrap_until: None,
            call: None,
            talk_started: None,
            after_call: None,
            resume: None,
            fallback: false,
            offline_answering: false,
        }
    }

    pub fn logged_in(&self) -> bool {
        self.state != AgentState::Offline || self.offline_answering
    }

    /// The mode a logged-in agent's calls ring in: the chosen one, or the direct
    /// line while the phone is gone. The ACD, transfers and `why` all ask this.
    pub fn ringing_mode(&self) -> AnswerMode {
        if self.fallback {
            AnswerMode::Direct
        } else {
            self.mode
        }
    }

    /// The mode calls ring in now, `None` when logged out (and not answering offline).
    pub fn effective_mode(&self) -> Option<AnswerMode> {
        if self.offline_answering {
            Some(AnswerMode::Direct)
        } else {
            (self.state != AgentState::Offline).then(|| self.ringing_mode())
        }
    }
}

/// A state change to make: everything the status-log row needs besides the times.
#[derive(Debug, Clone)]
pub struct Change {
    pub to: AgentState,
    pub reason: Option<String>,
    pub cause: StatusCause,
    pub detail: String,
    pub call: Option<CallId>,
    /// A new answer mode (login, a switch).
    pub mode: Option<AnswerMode>,
    /// Start or end the fallback to the direct number.
    pub fallback: Option<bool>,
}

impl Change {
    pub fn system(to: AgentState, detail: impl Into<String>, call: Option<CallId>) -> Change {
        Change::by(StatusCause::System, to, detail, call)
    }

    pub fn by(
        cause: StatusCause,
        to: AgentState,
        detail: impl Into<String>,
        call: Option<CallId>,
    ) -> Change {
        Change {
            to,
            reason: None,
            cause,
            detail: detail.into(),
            call,
            mode: None,
            fallback: None,
        }
    }

    pub fn reason(mut self, reason: Option<String>) -> Change {
        self.reason = reason;
        self
    }

    pub fn mode(mut self, mode: AnswerMode) -> Change {
        self.mode = Some(mode);
        self
    }

    pub fn fallback(mut self, on: bool) -> Change {
        self.fallback = Some(on);
        self
    }
}

/// Every agent the switchboard has seen, by id.
#[derive(Debug, Default)]
pub struct AgentBook {
    agents: HashMap<AgentId, AgentLive>,
}

impl AgentBook {
    pub fn get(&self, id: AgentId) -> Option<&AgentLive> {
        self.agents.get(&id)
    }

    /// The agent's live entry, created offline on first use.
    pub fn entry(&mut self, now: Now, id: AgentId) -> &mut AgentLive {
        self.agents.entry(id).or_insert_with(|| AgentLive::new(now))
    }

    pub fn state(&self, id: AgentId) -> AgentState {
        self.agents
            .get(&id)
            .map_or(AgentState::Offline, |a| a.state)
    }

    pub fn ids(&self) -> impl Iterator<Item = AgentId> + '_ {
        self.agents.keys().copied()
    }

    /// Logged-in agents (offline answering counts).
    pub fn logged_in(&self) -> usize {
        self.agents.values().filter(|a| a.logged_in()).count()
    }

    /// Change an agent's state or mode; the row to log, or `None` when nothing
    /// changed.
    pub fn set(&mut self, now: Now, id: AgentId, change: Change) -> Option<AgentStatusRecord> {
        let live = self.entry(now, id);
        let before_mode = live.effective_mode();
        let from = live.state;
        if let Some(mode) = change.mode {
            live.mode = mode;
        }
        if let Some(on) = change.fallback {
            live.fallback = on;
        }
        let state_changed = from != change.to || live.reason != change.reason;
        if !state_changed && live.effective_mode() == before_mode {
            return None;
        }
        if state_changed {
            if change.to == AgentState::Idle && from != AgentState::Ringing {
                live.idle_since = now.mono;
            }
            if from == AgentState::Talking
                && let Some(started) = live.talk_started.take()
            {
                live.talk_time += now.mono.saturating_duration_since(started);
            }
            if change.to == AgentState::Talking {
                live.talk_started = Some(now.mono);
            }
            if change.to != AgentState::WrapUp {
                live.wrap_until = None;
            }
            if change.to == AgentState::Offline {
                live.unanswered = 0;
                live.calls_taken = 0;
                live.talk_time = Duration::ZERO;
                live.after_call = None;
                live.resume = None;
                live.fallback = false;
            }
            if !change.to.on_a_call() {
                live.call = None;
                live.offline_answering = false;
            } else if change.call.is_some() {
                live.call = change.call;
            }
            live.state = change.to;
            live.reason = change.reason.clone();
            live.since = now.mono;
            live.since_wall = now.wall;
        }
        Some(AgentStatusRecord {
            agent: id,
            at: now.wall,
            from,
            to: change.to,
            reason: change.reason,
            cause: change.cause,
            detail: change.detail,
            mode: (live.state != AgentState::Offline && !live.offline_answering)
                .then_some(live.mode),
            fallback: live.fallback,
            offline_answering: live.offline_answering,
            call: change.call,
        })
    }

    /// Take back the states logged before a restart. Agents caught on a call are
    /// made idle (the call was cut), the others keep their state; the rows for those
    /// changes are returned.
    pub fn restore(&mut self, now: Now, snapshots: &[AgentSnapshot]) -> Vec<AgentStatusRecord> {
        let mut rows = Vec::new();
        for snap in snapshots {
            if snap.state == AgentState::Offline {
                continue;
            }
            let live = self.entry(now, snap.agent);
            live.state = snap.state;
            live.reason = snap.reason.clone();
            live.since_wall = snap.since;
            if snap.offline_answering {
                // Logged out, answering on the direct line: logged out it stays.
                live.offline_answering = true;
                let detail = "callbox restarted; the offline-answering call was cut";
                let change = Change::system(AgentState::Offline, detail, None);
                rows.extend(self.set(now, snap.agent, change));
                continue;
            }
            live.mode = snap.mode.unwrap_or_default();
            live.fallback = snap.fallback;
            let detail = if snap.state.on_a_call() {
                "callbox restarted; the call in progress was cut"
            } else if snap.state == AgentState::WrapUp {
                "callbox restarted during after-call work"
            } else {
                continue;
            };
            let change = Change::system(AgentState::Idle, detail, None);
            rows.extend(self.set(now, snap.agent, change));
        }
        rows
    }
}
