//! Placeholder for the media room.
