//! Placeholder for the api room.
