//! Requests to the switchboard from people: agents logging in and out, changing
//! state or answer mode, and the questions asked of it (who is where, and why).
//!
//! The api room sends a [`Command`] with an id and gets the [`Output::Reply`]
//! (`super::Output`) with the same id back; the phone menus (hotline sign-in, 0000)
//! make the same changes from inside the switchboard.

use chrono::{DateTime, Utc};

use super::acd::{AgentState, StatusCause, Verdict};
use super::directory::AnswerMode;
use super::ids::CallId;

/// The states an agent or admin may choose; the others are the calls' to set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    Idle,
    /// Busy, with one of the admin's reasons (or none).
    Busy(Option<String>),
    Rest,
}

/// A request to the switchboard. Agents are named by their agent number (工号).
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Log in (签入), in `mode` or the agent's default mode, and become idle.
    Login {
        agent: String,
        mode: Option<AnswerMode>,
        by: StatusCause,
    },
    /// Log out (签出); during a call, when the call ends.
    Logout { agent: String, by: StatusCause },
    /// Idle (ending wrap-up early), busy or rest; during a call, when it ends.
    SetState {
        agent: String,
        state: Availability,
        by: StatusCause,
    },
    /// Switch the answer mode while logged in (S4).
    SetMode {
        agent: String,
        mode: AnswerMode,
        by: StatusCause,
    },
    /// Why would or wouldn't the agent get the next call (S9)?
    Why { agent: String },
    /// Every agent as the switchboard sees them now.
    Agents,
}

/// An agent as the switchboard sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentView {
    pub number: String,
    pub name: String,
    pub state: AgentState,
    pub reason: Option<String>,
    pub since: DateTime<Utc>,
    /// The mode calls ring in now (`None` when logged out without offline answering).
    pub mode: Option<AnswerMode>,
    pub fallback: bool,
    pub call: Option<CallId>,
}

/// The answer to a command.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The change was made (or will be when the call ends); the agent as they stand.
    Agent(Box<AgentView>),
    Why(Vec<Verdict>),
    Agents(Vec<AgentView>),
}

/// Why a command was refused, in words an agent or admin can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("no agent has the number {0}")]
    UnknownAgent(String),
    #[error("agent {agent} cannot take calls in {mode} mode: {why}")]
    CannotRing {
        agent: String,
        mode: &'static str,
        why: String,
    },
    #[error("{0:?} is not one of the busy reasons set by the admin")]
    UnknownBusyReason(String),
    #[error("agent {0} is not logged in")]
    NotLoggedIn(String),
}
