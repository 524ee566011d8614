//! Placeholder for the sip room.
