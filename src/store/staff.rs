//! Admin reads and changes of agents, devices, skill groups, busy reasons and web
//! users, for the admin console (`api/staff.rs`).
