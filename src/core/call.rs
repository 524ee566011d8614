//! One call in progress: its two legs, where it stands, and the row and trail it
//! writes.
//!
//! A `Call` is created when an INVITE is routed and dropped when both legs are gone.
//! It never emits outputs itself; the switchboard reads and updates it. The trail
//! helpers keep `seq` strictly increasing so the store can order lines within a call.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::command::Watch;
use super::directory::Language;
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
    /// The agent on the agent side (`agent()`: B for calls that came in, A for
    /// click-to-call) was offered this call (a queue, a transfer, a takeover) rather
    /// than rung on their own phone's account: its end is after-call work, not a
    /// return.
    pub agent_b_offered: bool,
    /// The queue the call came through: its agent goes to that group's wrap-up.
    pub queue_group: Option<GroupId>,
    pub next_seq: u32,
    /// The customer's side: A for calls that came in, B for click-to-call.
    pub customer: Side,
    /// The language of the customer's prompts.
    pub language: Language,
    /// Held from the call bar: both sides hear music.
    pub on_hold: bool,
    /// Since when the customer is on hold (call bar or a phone's button).
    pub hold_started: Option<Instant>,
    pub hold_total: Duration,
    /// The party the agent consults, or conferences with.
    pub third: Option<Extra>,
    /// A supervisor listening, whispering or barging in.
    pub watcher: Option<Extra>,
    /// The customer is keying a PIN.
    pub verifying: Option<Verification>,
    /// The last verification's result.
    pub verified: Option<bool>,
    /// Looped sounds (music, tones) playing on legs now, so they are not restarted.
    pub sounds: HashMap<LegId, PathBuf>,
    /// The leg whose recording this call's is (the customer's), once started.
    pub recording_leg: Option<LegId>,
    /// What the media room was last told about who hears whom.
    pub links: Links,
    /// And about the recording: its right channel's legs, and whether it is paused.
    pub rec_others: Vec<LegId>,
    pub rec_paused: bool,
    /// Click-to-call: the agent's leg answered and the customer's is ringing.
    pub dialing: bool,
    /// Click-to-call: where the agent's own leg rings.
    pub agent_target: Option<Target>,
}

/// A third leg on a call: a consulted party or a supervisor.
#[derive(Debug)]
pub struct Extra {
    pub leg: LegId,
    pub media: LegMedia,
    pub target: Target,
    /// The agent rung, when it is one.
    pub agent: Option<AgentId>,
    /// Who it is, for the trail and the call bar ("agent 8002", "13800138000").
    pub label: String,
    pub answered: bool,
    /// Consult: the three talk together. Supervisor: unused.
    pub joined: bool,
    pub mode: Watch,
    pub deadline: Instant,
}

/// PIN entry in progress. The digits live only here, and only until checked.
#[derive(Debug)]
pub struct Verification {
    pub digits: String,
    pub tries: u32,
    /// The tag of the prompt playing to the customer.
    pub playing: Option<u64>,
    pub deadline: Option<Instant>,
    /// Checked: the agent hears the result, then the call goes back to them.
    pub result: Option<bool>,
}

/// Who hears whom, as last sent to the media room.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Links {
    #[default]
    None,
    Bridge(LegId, LegId),
    Mix(Vec<(LegId, Vec<LegId>)>),
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
            customer: Side::A,
            language: Language::default(),
            on_hold: false,
            hold_started: None,
            hold_total: Duration::ZERO,
            third: None,
            watcher: None,
            verifying: None,
            verified: None,
            sounds: HashMap::new(),
            recording_leg: None,
            links: Links::None,
            rec_others: Vec::new(),
            rec_paused: false,
            dialing: false,
            agent_target: None,
        }
    }

    pub fn customer_leg(&self) -> LegId {
        match self.customer {
            Side::A => self.a,
            Side::B => self.b,
        }
    }

    /// The leg of the agent's side (the other one).
    pub fn agent_leg(&self) -> LegId {
        match self.customer {
            Side::A => self.b,
            Side::B => self.a,
        }
    }

    /// The agent on the call's agent side.
    pub fn agent(&self) -> Option<AgentId> {
        match self.customer {
            Side::A => self.agent_b,
            Side::B => self.agent_a,
        }
    }

    /// The agent on the customer's side (an agent's phone calling in, or the party who
    /// stays after the other side's REFER).
    pub fn customer_agent(&self) -> Option<AgentId> {
        match self.customer {
            Side::A => self.agent_a,
            Side::B => self.agent_b,
        }
    }

    /// The extra leg `leg` is (consulted party or supervisor).
    pub fn extra_mut(&mut self, leg: LegId) -> Option<&mut Extra> {
        if self.third.as_ref().is_some_and(|t| t.leg == leg) {
            return self.third.as_mut();
        }
        if self.watcher.as_ref().is_some_and(|t| t.leg == leg) {
            return self.watcher.as_mut();
        }
        None
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
