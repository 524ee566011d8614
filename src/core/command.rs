//! Requests to the switchboard from people: agents logging in and out, changing
//! state or answer mode, and the questions asked of it (who is where, and why).
//!
//! The api room sends a [`Command`] with an id and gets the [`Output::Reply`]
//! (`super::Output`) with the same id back; the phone menus (hotline sign-in, 0000)
//! make the same changes from inside the switchboard.

use chrono::{DateTime, Utc};

use super::acd::{AgentState, StatusCause, Verdict};
use super::directory::AnswerMode;
use super::ids::{CallId, GroupId};

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
    /// A button of the call bar (S10), on the call the agent is on.
    Control { agent: String, control: Control },
    /// Click-to-call (S11): ring the agent first, then `number` through the trunk.
    Dial { agent: String, number: String },
    /// A supervisor joins the call `agent` is on, on the supervisor's own phone; sent
    /// again with another mode, it switches.
    Supervise {
        supervisor: String,
        agent: String,
        mode: Watch,
    },
    /// The supervisor leaves the call they watch.
    StopSupervising { supervisor: String },
    /// The call the agent is on, as their call bar shows it (a queue call ringing
    /// them included, as `ringing`).
    CallOf { agent: String },
    /// Everything the live views show at once: every agent, every agent's call bar,
    /// every skill group's queue. Cheap (no I/O), so the API's event hub can ask for
    /// it a few times a second and send people the differences.
    Live,
}

/// The call bar's buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// 保持: both sides hear music and not each other.
    Hold,
    /// 恢复.
    Resume,
    /// 转接 (blind): the agent leaves; the customer rings the other agent or joins the
    /// group's queue ahead of new callers.
    Transfer(Party),
    /// 咨询: ring a third party; the agent talks to them while the customer hears music.
    Consult(Party),
    /// Join the customer, the agent and the consulted party in one conversation.
    Conference,
    /// End the consult (or take the third party out of the conference).
    CancelConsult,
    /// The agent leaves the consult or conference; the customer and the third party
    /// go on (attended transfer).
    CompleteTransfer,
    /// 转调查: the agent leaves; the customer rates the call with a key.
    Survey,
    /// 转验证: the customer keys their PIN while the agent waits on hold; the agent
    /// learns only whether it matched.
    Verify,
    /// 转菜单: the agent leaves; the customer goes to an IVR flow (at a node).
    Menu { flow: String, node: Option<u32> },
    /// End the call.
    Hangup,
}

impl Control {
    /// The closed word for the trail and the API.
    pub fn as_str(&self) -> &'static str {
        match self {
            Control::Hold => "hold",
            Control::Resume => "resume",
            Control::Transfer(_) => "transfer",
            Control::Consult(_) => "consult",
            Control::Conference => "conference",
            Control::CancelConsult => "cancel-consult",
            Control::CompleteTransfer => "complete-transfer",
            Control::Survey => "survey",
            Control::Verify => "verify",
            Control::Menu { .. } => "menu",
            Control::Hangup => "hangup",
        }
    }
}

/// Who a transfer or consult goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Party {
    /// An agent, by agent number; must be idle.
    Agent(String),
    /// A skill group, by name: its queue (transfer) or an idle member (consult).
    Group(String),
    /// An extension, or an outside number through the trunk.
    Number(String),
}

/// How a supervisor takes part in a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watch {
    /// 监听: hears both; nobody hears them.
    Listen,
    /// 耳语: hears both; only the agent hears them.
    Whisper,
    /// 强插: a three-way call.
    Barge,
}

impl Watch {
    pub fn parse(s: &str) -> Option<Watch> {
        match s {
            "listen" => Some(Watch::Listen),
            "whisper" => Some(Watch::Whisper),
            "barge" => Some(Watch::Barge),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Watch::Listen => "listen",
            Watch::Whisper => "whisper",
            Watch::Barge => "barge",
        }
    }
}

/// A call as the agent's call bar shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallView {
    pub call: CallId,
    /// ringing, calling (click-to-call, before the customer answers), talking, held,
    /// consulting, conference, verifying.
    pub state: &'static str,
    /// The customer's number.
    pub customer: String,
    pub answered_at: Option<DateTime<Utc>>,
    pub hold_secs: u32,
    /// The consulted party, while there is one.
    pub third: Option<String>,
    /// The last verification's result: passed or not (never the digits).
    pub verified: Option<bool>,
    /// The supervisor on the call and how.
    pub supervisor: Option<(String, Watch)>,
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

/// One skill group's queue as the wallboard shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueView {
    pub group: GroupId,
    pub name: String,
    /// Callers in the queue (being offered to an agent included).
    pub waiting: u32,
    /// When the caller waiting longest started waiting (`None`: nobody waits).
    pub longest_since: Option<DateTime<Utc>>,
    /// The longest wait now, in whole seconds.
    pub longest_wait_secs: u32,
    /// The members' agent numbers, in directory order.
    pub members: Vec<String>,
}

/// A snapshot of what the live views show ([`Command::Live`]).
#[derive(Debug, Clone, PartialEq)]
pub struct LiveView {
    pub at: DateTime<Utc>,
    pub agents: Vec<AgentView>,
    /// Each agent with a call, by agent number, and the call as their bar shows it.
    pub calls: Vec<(String, CallView)>,
    pub queues: Vec<QueueView>,
}

/// The answer to a command.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The change was made (or will be when the call ends); the agent as they stand.
    Agent(Box<AgentView>),
    Why(Vec<Verdict>),
    Agents(Vec<AgentView>),
    Call(Box<CallView>),
    Live(Box<LiveView>),
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
    #[error("agent {0} is not on a call")]
    NoCall(String),
    #[error("agent {agent} is not free to take the call: {state}")]
    NotFree { agent: String, state: String },
    #[error("no skill group is named {0:?}")]
    UnknownGroup(String),
    #[error("no IVR flow is named {0:?}, or it has no node {1:?}")]
    UnknownFlow(String, Option<u32>),
    #[error("{0:?} is not a number that can be called")]
    BadNumber(String),
    #[error("agent {0} is not a supervisor")]
    NotSupervisor(String),
    /// The control does not fit the call as it stands.
    #[error("{0}")]
    NotNow(String),
}
