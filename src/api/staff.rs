//! The admin console's people and phones: agents (groups, passwords, device binding,
//! direct numbers), devices (SIP credentials, live registration), skill groups and
//! their queue settings, busy reasons, web users.

use super::table::Route;

/// This area's routes (`table.rs`).
pub const ROUTES: &[Route] = &[];
