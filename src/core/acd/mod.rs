//! The automatic call distributor's own logic: agent states and their log, the queue
//! strategies, where an agent rings, and why an agent does or does not get calls.
//!
//! Pure like the rest of `core`: the switchboard owns an [`AgentBook`] and asks these
//! functions for decisions; nothing here emits outputs, holds calls, or reads a clock.
//! The switchboard's queue code (`core/queue.rs`) is where calls meet agents.

mod book;
mod reach;
mod state;
mod strategy;

pub use book::{AgentBook, AgentLive, Change};
pub use reach::{Endpoint, Reachability, Unreachable, Verdict, endpoint, why};
pub use state::{AgentSnapshot, AgentState, AgentStatusRecord, StatusCause};
pub use strategy::{Candidate, Dice, pick};
