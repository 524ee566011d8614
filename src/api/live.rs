//! Live events as server-sent events per logged-in user (agent state, call bar,
//! screen pop, queue figures), and the wallboard's figures.

use super::table::Route;

/// This area's routes (`table.rs`).
pub const ROUTES: &[Route] = &[];
