//! IVR flows: their shape (`flow.rs`), the seed's own menus built in (`builtin.rs`),
//! and one caller's walk through a flow (`session.rs`).
//!
//! Pure like the rest of `core`: a session is told of keys, prompt ends and timeouts
//! and answers with what to do next; the switchboard plays, queues and transfers.

pub mod builtin;
mod flow;
mod session;

pub use flow::{
    AgentAction, Choice, Flow, FlowId, Node, NodeId, NodeKind, OpenHours, is_key, timeout,
};
pub use session::{Session, Step, is_open};
