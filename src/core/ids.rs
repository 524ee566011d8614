//! Identifiers shared by every room.
//!
//! They are plain numbers so that they cross threads and FFI (a leg id rides in
//! Sofia's handle magic as a pointer-sized integer) without allocation.

use std::fmt;

/// One SIP dialog and its RTP endpoint: the caller's side and the callee's side of a
/// call are two legs. Never reused within a process.
///
/// Two rooms allocate them without asking each other: the SIP room numbers the legs of
/// incoming INVITEs with the top bit set (`LegId::INCOMING | n`), the switchboard numbers
/// the legs it creates from 1 upward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LegId(pub u64);

impl LegId {
    /// The bit that marks a leg created by the SIP room for an incoming INVITE.
    pub const INCOMING: u64 = 1 << 63;

    pub fn is_incoming(self) -> bool {
        self.0 & LegId::INCOMING != 0
    }
}

/// A call row in the store (`calls.id`). The switchboard allocates them, starting
/// after the highest id the store holds, so rows can be written without a round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub i64);

/// A device row (`devices.id`): a desk phone, softphone or gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId(pub i64);

/// A trunk row (`trunks.id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrunkId(pub i64);

/// An agent row (`agents.id`); the agent's own number (工号) is `Agent::number`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgentId(pub i64);

/// A skill group row (`skill_groups.id`); each group is one queue. Serialisable
/// because IVR flows name the groups they queue for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct GroupId(pub i64);

impl fmt::Display for LegId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_incoming() {
            write!(f, "leg-in-{}", self.0 & !LegId::INCOMING)
        } else {
            write!(f, "leg-out-{}", self.0)
        }
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "call-{}", self.0)
    }
}
