//! Agent states and the status-log rows that record every change of one.
//!
//! The words here are stored (`agent_status_log.from_state`, `to_state`, `cause`) and
//! shown in the web panel, so each has a stable `as_str` and its `parse` inverse.

use chrono::{DateTime, Utc};

use crate::core::directory::AnswerMode;
use crate::core::ids::{AgentId, CallId};

/// Where an agent stands. Only `Idle` agents are offered queue calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgentState {
    /// Logged out (签出).
    Offline,
    /// 空闲: ready for the next call.
    Idle,
    /// 忙碌, with a reason from the admin's list (or the system's own).
    Busy,
    /// 小休: a short break.
    Rest,
    /// 话后处理: after-call work, ended by its timer or by the agent.
    WrapUp,
    /// 振铃: a call is ringing the agent.
    Ringing,
    /// 呼叫中: the agent is calling out and the far end has not answered.
    Calling,
    /// 通话中: on a call.
    Talking,
}

impl AgentState {
    pub const ALL: [AgentState; 8] = [
        AgentState::Offline,
        AgentState::Idle,
        AgentState::Busy,
        AgentState::Rest,
        AgentState::WrapUp,
        AgentState::Ringing,
        AgentState::Calling,
        AgentState::Talking,
    ];

    pub fn parse(s: &str) -> Option<AgentState> {
        AgentState::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::Offline => "offline",
            AgentState::Idle => "idle",
            AgentState::Busy => "busy",
            AgentState::Rest => "rest",
            AgentState::WrapUp => "wrap_up",
            AgentState::Ringing => "ringing",
            AgentState::Calling => "calling",
            AgentState::Talking => "talking",
        }
    }

    /// The word an agent sees in the panel header.
    pub fn chinese(self) -> &'static str {
        match self {
            AgentState::Offline => "签出",
            AgentState::Idle => "空闲",
            AgentState::Busy => "忙碌",
            AgentState::Rest => "小休",
            AgentState::WrapUp => "话后处理",
            AgentState::Ringing => "振铃",
            AgentState::Calling => "呼叫中",
            AgentState::Talking => "通话中",
        }
    }

    /// Ringing, calling or talking: a call holds the agent.
    pub fn on_a_call(self) -> bool {
        matches!(
            self,
            AgentState::Ringing | AgentState::Calling | AgentState::Talking
        )
    }
}

/// Who made a state change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusCause {
    /// The agent, from the web panel, a phone menu or the API on their behalf.
    Agent,
    /// An admin or supervisor.
    Admin,
    /// callbox itself: calls, timers, fallbacks, restarts. The detail says which.
    System,
}

impl StatusCause {
    pub fn parse(s: &str) -> Option<StatusCause> {
        match s {
            "agent" => Some(StatusCause::Agent),
            "admin" => Some(StatusCause::Admin),
            "system" => Some(StatusCause::System),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StatusCause::Agent => "agent",
            StatusCause::Admin => "admin",
            StatusCause::System => "system",
        }
    }
}

/// One row of the agent status log. Each agent's rows chain: a row's `from` is the
/// previous row's `to`.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentStatusRecord {
    pub agent: AgentId,
    pub at: DateTime<Utc>,
    pub from: AgentState,
    pub to: AgentState,
    /// The busy reason, when `to` is busy.
    pub reason: Option<String>,
    pub cause: StatusCause,
    /// Plain words: "3 unanswered offers in a row → busy", "offline answering".
    pub detail: String,
    /// The answer mode the agent chose (`None` when logged out).
    pub mode: Option<AnswerMode>,
    /// Calls ring the direct line instead: the phone is gone (S3).
    pub fallback: bool,
    /// Ringing or talking on the direct line while logged out (离线接听, S20).
    pub offline_answering: bool,
    /// The call that caused the change, if any.
    pub call: Option<CallId>,
}

/// An agent's last logged state, read back at start so that a restart keeps agents
/// logged in.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentSnapshot {
    pub agent: AgentId,
    pub state: AgentState,
    pub reason: Option<String>,
    pub mode: Option<AnswerMode>,
    pub fallback: bool,
    pub offline_answering: bool,
    pub since: DateTime<Utc>,
}
