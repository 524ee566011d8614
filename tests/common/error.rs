//! The harness's one error type: whose fault a failed step was.
//!
//! `Setup` is ours or the machine's (a port, a temp file, a missing tool);
//! `Peer` is the real peer not doing what the test expected (baresip refused a
//! command, sipp exited badly); `Timeout` is a deadline passing while waiting on an
//! event. Messages carry the peer's log tail so a red test explains itself.
//! Never used for the daemon's own errors: tests assert on those directly.

use std::fmt;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// The harness or the machine failed (IO on our own files and sockets).
    #[error("harness setup: {what}: {source}")]
    Setup {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The peer (sipp, baresip, sox) misbehaved or said no.
    #[error("peer {peer}: {detail}")]
    Peer { peer: String, detail: String },
    /// A deadline passed while waiting for something.
    #[error("timed out waiting for {what}{}", Tail(.context))]
    Timeout { what: String, context: String },
}

struct Tail<'a>(&'a str);

impl fmt::Display for Tail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, "\n--- context ---\n{}", self.0)
        }
    }
}

impl HarnessError {
    pub fn io(what: &str, source: std::io::Error) -> HarnessError {
        HarnessError::Setup {
            what: what.to_string(),
            source,
        }
    }

    pub fn peer(peer: &str, detail: impl Into<String>) -> HarnessError {
        HarnessError::Peer {
            peer: peer.to_string(),
            detail: detail.into(),
        }
    }

    pub fn timeout(what: impl Into<String>, context: impl Into<String>) -> HarnessError {
        HarnessError::Timeout {
            what: what.into(),
            context: context.into(),
        }
    }
}
