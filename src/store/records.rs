//! Queries over calls after the fact: the advanced query, missed calls, one call's
//! detail, and the export tasks' rows, read without holding them all in memory
//! (`api/records.rs`).
