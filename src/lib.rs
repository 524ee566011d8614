//! callbox: a call center in a box.
//!
//! One process, five rooms, each owning its state and talking by messages
//! (see `docs/ARCHITECTURE.md`):
//!
//! - [`sip`]: Sofia-SIP on its own thread; registrar, digest auth, dialogs. Its
//!   `ffi` module is the only code allowed to opt out of the crate-wide
//!   `deny(unsafe_code)`.
//! - [`media`]: every RTP socket; relay, transcoding, DTMF, prompts, recording.
//! - [`core`]: the switchboard, pure: `handle(now, input)` then drain outputs.
//! - [`store`]: SQLite, migrations, the one writer thread.
//! - [`api`]: HTTP: health, agent control and "why" under `/api/v1/agents`.
//!
//! [`daemon`] wires them together; [`cli`] holds the admin commands; `main.rs` only
//! parses the command line.

#![deny(unsafe_code)]

pub mod api;
pub mod cli;
pub mod config;
pub mod core;
pub mod daemon;
pub mod heartbeat;
pub mod media;
pub mod sip;
pub mod store;
