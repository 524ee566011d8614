//! callbox: a call center in a box.
//!
//! One process, five rooms, each owning its state and talking by messages
//! (see `docs/ARCHITECTURE.md`):
//!
//! - [`sip`]: Sofia-SIP on its own thread; registrar, digest auth, dialogs. The only
//!   `unsafe` in the crate.
//! - [`media`]: every RTP socket; relay, transcoding, DTMF, prompts, recording.
//! - [`core`]: the switchboard, pure: `handle(now, input)` then drain outputs.
//! - [`store`]: SQLite, migrations, the one writer thread.
//! - [`api`]: HTTP (health for now).
//!
//! [`daemon`] wires them together; `main.rs` only parses the command line.

pub mod api;
pub mod config;
pub mod core;
pub mod daemon;
pub mod media;
pub mod sip;
pub mod store;
