//! Calls after the fact: the advanced query over all calls, one call's detail and
//! trail, recordings (an agent only their own), missed calls, and export tasks.

use super::table::Route;

/// This area's routes (`table.rs`).
pub const ROUTES: &[Route] = &[];
