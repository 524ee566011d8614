//! The admin console's lines: trunks, service numbers, IVR flows, prompts (upload and
//! preview), business hours.

use super::table::Route;

/// This area's routes (`table.rs`).
pub const ROUTES: &[Route] = &[];
