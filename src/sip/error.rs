//! The SIP room's error type: what went wrong, and whose fault it was.
//!
//! It owns the classification only; it must never carry Sofia pointers or peer bytes
//! of unbounded size. The tricky part is keeping a peer's mistakes (bad SDP, bad
//! digest) apart from ours (cannot bind) and the caller's (room already stopped), so
//! the stack can map the first kind to a SIP status instead of logging it as a fault.

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum SipError {
    /// The configured address could not be bound (in use, or not local). Operator.
    #[error("cannot listen for SIP on {addr}: {reason}")]
    Bind { addr: SocketAddr, reason: String },
    /// Sofia or the OS refused to start the stack. Environment.
    #[error("cannot start the SIP stack: {0}")]
    Start(String),
    /// The room has stopped (shut down or its thread died). Caller.
    #[error("the SIP room has stopped")]
    Stopped,
    /// The command queue stayed full: the Sofia thread is not keeping up. Ours.
    #[error("the SIP room's command queue is full")]
    Overloaded,
    /// A peer sent something we cannot use; answered with a SIP status, never fatal.
    #[error("peer error: {0}")]
    Peer(#[from] PeerError),
}

/// A peer's mistake, each mapped to the status it is answered with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerError {
    #[error("SDP has no audio stream")]
    NoAudio,
    #[error("SDP line is malformed: {0}")]
    BadSdp(&'static str),
    #[error("SDP offers no codec we support")]
    NoCommonCodec,
}

impl PeerError {
    /// The SIP status that answers an INVITE carrying this mistake.
    pub fn status(&self) -> (u16, &'static str) {
        (488, "Not Acceptable Here")
    }
}
