//! The agent's customer side: the screen pop of a ringing call, customer cards,
//! tickets (工单) and their admin-defined types, a customer's history.

use super::table::Route;

/// This area's routes (`table.rs`).
pub const ROUTES: &[Route] = &[];
