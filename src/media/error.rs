//! The media room's one error type, for callers of its public API.
//!
//! Each variant says whose fault it was: the caller's configuration, the host (a
//! socket or thread could not be had), or load (the command queue is full). Peer
//! input never becomes a `MediaError`: a bad RTP packet is counted in
//! [`MediaStats`](super::MediaStats) and dropped, because one hostile peer must not be
//! able to make the room fail for every other call.

use thiserror::Error;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The caller gave a configuration the room cannot run with (an empty port range,
    /// a zero timeout).
    #[error("invalid media configuration: {0}")]
    Config(String),
    /// The host refused us a resource at start (poll, waker, thread).
    #[error("media room could not start: {0}")]
    Io(#[from] std::io::Error),
    /// The command queue stayed full: the media thread is overloaded or stuck. The
    /// command was not taken; the caller decides whether to retry.
    #[error("media command queue is full")]
    QueueFull,
    /// The media thread has stopped (shut down, or it died).
    #[error("media room has stopped")]
    Stopped,
    /// A recording offered as a prompt cannot be played.
    #[error("{path}: {reason}")]
    Unplayable {
        path: std::path::PathBuf,
        reason: String,
    },
}
