//! Placeholder for the store room.
