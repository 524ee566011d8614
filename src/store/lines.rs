//! Admin reads and changes of trunks, service numbers, IVR flows, prompts and
//! business hours, for the admin console (`api/lines.rs`).
