//! One call in progress: its two legs, where it stands, and the row and trail it
//! writes.
//!
//! A `Call` is created when an INVITE is routed and dropped when both legs are gone.
//! It never emits outputs itself; the switchboard reads and updates it. The trail
//! helpers keep `seq` strictly increasing so the store can order lines within a call.

use std::net::SocketAddr;
use std::time::Instant;

use chrono::{DateTime, Utc};

use super::ids::{AgentId, CallId, GroupId, LegId};
use super::media_desc::{Codec, Direction, MediaDesc};
use super::msg::{CallEventKind, CallEventRecord, CallRecord, HangupBy, Target};

/// Where a call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the media room to open both RTP endpoints.
    OpeningMedia,
    /// The callee's INVITE is out; nothing or 180 heard.
    Ringing,
    /// The callee sent 183 with SDP; the caller hears the callee's media.
    EarlyMedia,
    Answered,
}

/// Which side of a call a leg is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The caller: the incoming INVITE.
    A,
    /// The callee: our outgoing INVITE.
    B,
}

impl Side {
    pub fn hangup_by(self) -> HangupBy {
        match self {
            Side::A => HangupBy::Caller,
            Side::B => HangupBy::Callee,
        }
    }

    pub fn party(self) -> &'static str {
        match self {
            Side::A => "caller",
            Side::B => "callee",
        }
    }
}

/// What we know of one leg's media.
#[derive(Debug, Clone, Default)]
pub struct LegMedia {
    /// Our RTP address for this leg, once the media room opened it.
    pub local: Option<SocketAddr>,
    /// The codec this leg speaks.
    pub codec: Option<Codec>,
    /// The peer's telephone-event payload type.
    pub dtmf_pt: Option<u8>,
    /// The peer's RTP address.
    pub remote: Option<SocketAddr>,
    /// The peer put us on hold.
    pub held: bool,
}

impl LegMedia {
    /// Take the peer's offer or answer into account.
    pub fn learn(&mut self, desc: &MediaDesc) {
        self.remote = Some(desc.addr);
        self.dtmf_pt = desc.dtmf_pt;
        if let Some(codec) = desc.codecs.first() {
            self.codec = Some(*codec);
        }
    }

    /// Our SDP for this leg: our address, the chosen codec, the peer's DTMF type.
    pub fn describe(&self, direction: Direction) -> Option<MediaDesc> {
        Some(MediaDesc {
            addr: self.local?,
            codecs: vec![self.codec?],
            dtmf_pt: self.dtmf_pt,
            direction,
        })
    }
}

/// A call in progress.
#[derive(Debug)]
pub struct Call {
    pub record: CallRecord,
    pub phase: Phase,
    pub a: LegId,
    pub b: LegId,
    pub target: Target,
    pub a_media: LegMedia,
    pub b_media: LegMedia,
    /// The caller's original offer: its direction is answered, its DTMF type reused.
    pub a_offer: MediaDesc,
    /// 180 (or 183) has been passed to the caller.
    pub ringing_sent: bool,
    /// When an unanswered callee is given up.
    pub ring_deadline: Option<Instant>,
    /// The agent whose phone placed the call (A) or is rung or talking (B).
    pub agent_a: Option<AgentId>,
    pub agent_b: Option<AgentId>,
    /// `agent_b` was offered this call (a queue, an IVR transfer) rather than rung
    /// on their own phone's account: its end is after-call work, not a return.
    pub agent_b_offered: bool,
    /// The queue the call came through: its agent goes to that group's wrap-up.
    pub queue_group: Option<GroupId>,
    pub next_seq: u32,
}

impl Call {
    pub fn new(record: CallRecord, a: LegId, b: LegId, target: Target, a_offer: MediaDesc) -> Call {
        let mut a_media = LegMedia::default();
        a_media.learn(&a_offer);
        Call {
            record,
            phase: Phase::OpeningMedia,
            a,
            b,
            target,
            a_media,
            b_media: LegMedia::default(),
            a_offer,
            ringing_sent: false,
            ring_deadline: None,
            agent_a: None,
            agent_b: None,
            agent_b_offered: false,
            queue_group: None,
            next_seq: 0,
        }
    }

    pub fn id(&self) -> CallId {
        self.record.id
    }

    pub fn side_of(&self, leg: LegId) -> Option<Side> {
        if leg == self.a {
            Some(Side::A)
        } else if leg == self.b {
            Some(Side::B)
        } else {
            None
        }
    }

    pub fn media_mut(&mut self, side: Side) -> &mut LegMedia {
        match side {
            Side::A => &mut self.a_media,
            Side::B => &mut self.b_media,
        }
    }

    /// A new line of the call trail, numbered after the last.
    pub fn trail(
        &mut self,
        at: DateTime<Utc>,
        kind: CallEventKind,
        party: &str,
        sip_code: Option<u16>,
        detail: String,
    ) -> CallEventRecord {
        trail_line(
            self.record.id,
            &mut self.next_seq,
            at,
            kind,
            party,
            sip_code,
            detail,
        )
    }

    /// Close the row: who ended it, why, with which SIP status.
    pub fn close(&mut self, at: DateTime<Utc>, by: HangupBy, cause: String, sip_code: u16) {
        self.record.ended_at = Some(at);
        self.record.hangup_by = Some(by);
        self.record.end_cause = Some(cause);
        self.record.sip_code = Some(sip_code);
    }
}

/// A line of call `call`'s trail, numbered `*next` (which moves on by one), for calls
/// and callers waiting in a queue alike.
pub fn trail_line(
    call: CallId,
    next: &mut u32,
    at: DateTime<Utc>,
    kind: CallEventKind,
    party: &str,
    sip_code: Option<u16>,
    detail: String,
) -> CallEventRecord {
    let seq = *next;
    *next += 1;
    CallEventRecord {
        call,
        seq,
        at,
        kind,
        party: party.to_string(),
        sip_code,
        detail,
    }
}
