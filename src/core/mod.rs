//! The switchboard: every decision about calls, made without I/O.
//!
//! `core` owns calls and legs, routing and the call trail. It never touches a
//! socket, a thread, a clock, SQL, SDP text or Sofia: the driver feeds it
//! [`Input`]s with the current time and carries out its [`Output`]s. That makes
//! every scenario testable in simulated time (see `tests/switchboard.rs`).
//!
//! # The driving contract
//!
//! After every [`Switchboard::handle`], drain [`Switchboard::poll_output`] until it
//! returns `None`, then sleep until [`Switchboard::poll_timeout`] (or the next
//! input) and call `handle(now, Input::Timeout)` when it passes. Time must not go
//! backwards.
//!
//! ```no_run
//! # use callbox::core::*;
//! # fn next_input(_: Option<std::time::Instant>) -> Input { Input::Timeout }
//! # fn carry_out(_: Output) {}
//! # fn run(mut board: Switchboard) {
//! loop {
//!     let input = next_input(board.poll_timeout());
//!     let now = Now { mono: std::time::Instant::now(), wall: chrono::Utc::now() };
//!     board.handle(now, input);
//!     while let Some(out) = board.poll_output() {
//!         carry_out(out);
//!     }
//! }
//! # }
//! ```

pub mod acd;
mod agent_calls;
mod agents;
mod arrange;
mod call;
mod causes;
mod command;
mod controls;
mod dial;
mod directory;
mod extra;
mod held;
mod ids;
pub mod ivr;
mod ivr_calls;
pub mod location;
mod media_desc;
mod msg;
mod offers;
mod prompts;
mod queue;
mod routing;
mod switchboard;
mod verify;

pub use command::{
    AgentView, Availability, CallView, Command, CommandError, Control, LiveView, Party, QueueView,
    Reply, Watch,
};
pub use directory::{
    Agent, AnswerMode, CustomerPin, Device, Directory, Language, Membership, Overflow, PromptFile,
    QueueExit, ServiceNumber, SkillGroup, Strategy, Trunk, TrunkRegistration,
};
pub use ids::{AgentId, CallId, DeviceId, GroupId, LegId, TrunkId};
pub use media_desc::{Codec, Direction, MediaDesc};
pub use msg::{
    AuditRecord, CallDirection, CallEventKind, CallEventRecord, CallRecord, CallSource, HangupBy,
    IncomingCall, MediaCommand, MediaEvent, SipCommand, SipEvent, StoreOp, Target,
};
pub use routing::{Destination, IvrStart, NoRoute, Route, route, same_number};
pub use switchboard::{Switchboard, SwitchboardConfig};

use std::time::Instant;

use chrono::{DateTime, Utc};

/// The two clocks the switchboard reads, given to it with every input: a monotonic one
/// for timers and a wall clock for the rows it writes. The driver reads the real ones;
/// tests give a simulated one.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    pub mono: Instant,
    pub wall: DateTime<Utc>,
}

/// Everything the switchboard reacts to.
#[derive(Debug, Clone)]
pub enum Input {
    Sip(SipEvent),
    Media(MediaEvent),
    /// The time given by `poll_timeout` has come.
    Timeout,
    /// Devices, trunks, service numbers, agents or groups changed in the store.
    Reload(Box<Directory>),
    /// A request from a person; answered by `Output::Reply` with the same `id`.
    Command {
        id: u64,
        command: Command,
    },
}

/// Everything the switchboard asks the world to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Sip(SipCommand),
    Media(MediaCommand),
    Store(StoreOp),
    /// The answer to `Input::Command { id, .. }`.
    Reply {
        id: u64,
        result: Result<Reply, CommandError>,
    },
}
