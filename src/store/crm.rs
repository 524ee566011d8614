//! Customer cards, tickets (工单) and ticket types, and a customer's history
//! (`api/crm.rs`).
