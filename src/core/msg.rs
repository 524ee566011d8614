//! The messages between the rooms: what the SIP and media rooms tell the switchboard,
//! what the switchboard tells them, and what it asks the store to write.
//!
//! They are defined here, in `core`, so that `core` depends on no other room: `sip`,
//! `media` and `store` implement these commands and produce these events. Every
//! variant is plain data (no handles, no text protocols).

use std::net::SocketAddr;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::acd::AgentStatusRecord;
use super::directory::Directory;
use super::ids::{AgentId, CallId, DeviceId, GroupId, LegId, TrunkId};
use super::media_desc::{Codec, MediaDesc};

// ---------------------------------------------------------------- SIP

/// Who sent an incoming INVITE, as established by the SIP room (digest-authenticated
/// device, or a trunk matched by source address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallSource {
    Device(DeviceId),
    Trunk(TrunkId),
}

/// Where an outgoing INVITE goes. The SIP room resolves a device to its newest
/// registered contact (or static contact) and a trunk to its host or proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Device(DeviceId),
    Trunk { trunk: TrunkId, number: String },
}

/// A new INVITE as the switchboard needs it: who, to whom, with what media.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingCall {
    pub leg: LegId,
    pub source: CallSource,
    /// User part of the From URI (the caller's number or extension).
    pub from_user: String,
    /// Display name of the From header, if any.
    pub from_display: Option<String>,
    /// User part of the request URI (falls back to To's user when empty).
    pub to_user: String,
    /// The SDP offer; `None` for an offerless INVITE (answered with an offer in
    /// 200 and the answer in ACK — not supported yet, refused with 488).
    pub offer: Option<MediaDesc>,
    /// The SIP Call-ID header, for the call trail.
    pub sip_call_id: String,
}

/// Events from the SIP room, keyed by our own leg ids.
#[derive(Debug, Clone, PartialEq)]
pub enum SipEvent {
    /// A new INVITE, authenticated. The SIP room has sent 100 Trying; the switchboard
    /// must answer with `SipCommand::Respond` (final) eventually.
    IncomingCall(Box<IncomingCall>),
    /// A provisional response to our INVITE (180, 183), with early media if 183 had SDP.
    Progress {
        leg: LegId,
        code: u16,
        early: Option<MediaDesc>,
    },
    /// A 2xx to our INVITE; Sofia has sent the ACK.
    Answered { leg: LegId, answer: MediaDesc },
    /// A final non-2xx to our INVITE (including 408 on timeout, 487 after our CANCEL).
    Rejected {
        leg: LegId,
        code: u16,
        reason: String,
    },
    /// The peer ended an established dialog (BYE), or cancelled its INVITE.
    HungUp { leg: LegId, cancelled: bool },
    /// A re-INVITE on an established dialog: hold (sendonly/inactive), resume, or a new
    /// address. Answered by `SipCommand::AnswerReoffer`.
    Reoffer { leg: LegId, offer: MediaDesc },
    /// A REFER on an established dialog (a phone's transfer button), already
    /// accepted with 202. `to_user` is the user part of Refer-To. `replaces` is our
    /// leg whose dialog the Refer-To's `Replaces` names (attended transfer), when the
    /// SIP room knows that dialog. Answered by `SipCommand::ReferOutcome`.
    Refer {
        leg: LegId,
        to_user: String,
        replaces: Option<LegId>,
    },
    /// A device's reachability changed: `contacts` registered (or static) contacts,
    /// `reachable` false when qualify pings go unanswered.
    DeviceStatus {
        device: DeviceId,
        contacts: usize,
        reachable: bool,
    },
}

/// Commands to the SIP room.
#[derive(Debug, Clone, PartialEq)]
pub enum SipCommand {
    /// Answer an incoming INVITE: 180/183 (183 carries `media` as early media) or a
    /// final answer. A 2xx must carry `media`.
    Respond {
        leg: LegId,
        code: u16,
        reason: String,
        media: Option<MediaDesc>,
    },
    /// Start an outgoing leg.
    Invite {
        leg: LegId,
        target: Target,
        /// Caller id: user part of From.
        from_user: String,
        from_display: Option<String>,
        media: MediaDesc,
    },
    /// Answer a `SipEvent::Reoffer` with 200 and this SDP.
    AnswerReoffer { leg: LegId, media: MediaDesc },
    /// End a leg whatever its state: BYE when established, CANCEL when our INVITE is
    /// still ringing, 480 when an incoming INVITE is unanswered. The SIP room reports
    /// nothing more for this leg.
    Hangup { leg: LegId },
    /// Tell the phone that sent a REFER on `leg` how the transfer went: a NOTIFY
    /// with the `message/sipfrag` "SIP/2.0 code" that ends the implicit subscription.
    ReferOutcome { leg: LegId, code: u16 },
    /// New devices, trunks or passwords from the store.
    Reload(Box<Directory>),
}

// ---------------------------------------------------------------- media

/// Commands to the media room. It knows legs and files, never calls or agents.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaCommand {
    /// Bind an RTP socket for `leg` from the port range; answered by `Opened` or
    /// `OpenFailed`.
    Open {
        leg: LegId,
    },
    /// Where to send and how to encode, from the peer's SDP. Until set, nothing is sent.
    /// `dtmf_pt` is the peer's telephone-event payload type.
    Configure {
        leg: LegId,
        remote: SocketAddr,
        codec: Codec,
        dtmf_pt: Option<u8>,
    },
    /// Relay audio between two legs (both ways), transcoding when codecs differ and
    /// passing telephone-events on. Replaces any earlier bridge of either leg.
    Bridge {
        a: LegId,
        b: LegId,
    },
    /// Stop relaying between `leg` and its partner.
    Unbridge {
        leg: LegId,
    },
    /// Hold: the leg neither sends nor expects audio, and its inactivity timer stops.
    Hold {
        leg: LegId,
        on: bool,
    },
    /// Play a prompt (decoded and cached) to `leg`, replacing what it hears; `looped`
    /// repeats it until `StopPlay`. `tag` comes back in its `PlayDone`, so a prompt's
    /// end that crossed the next `Play` is not taken for the new one's.
    Play {
        leg: LegId,
        file: PathBuf,
        looped: bool,
        tag: u64,
    },
    StopPlay {
        leg: LegId,
    },
    /// Mix audio among legs (conference, consult, listen, whisper, barge): in room
    /// `room`, each listed leg hears the sum of what the legs it lists send, in its
    /// own codec, 20 ms at a time. Sent again with the same `room`, it replaces the
    /// arrangement. A leg enters a mix leaving its bridge or other mix; a `Bridge`
    /// takes it out of the mix. A leg listing nobody hears nothing but may be heard.
    /// A leg hearing a prompt hears only the prompt, as with a bridge.
    /// Telephone-events are reported as `Dtmf`, never mixed.
    Mix {
        room: u64,
        hears: Vec<(LegId, Vec<LegId>)>,
    },
    /// End the mix: its legs hear nothing until bridged or mixed again.
    Unmix {
        room: u64,
    },
    /// Record the customer leg `a` (left channel: what `a` sent) and `b` (right) to a
    /// stereo 8 kHz WAV at `path`, readable even if the process dies mid-call. The
    /// recording belongs to `a`: it lasts until `a` closes, whoever `a` talks to.
    Record {
        a: LegId,
        b: LegId,
        path: PathBuf,
    },
    /// From now on the right channel of `a`'s recording is the sum of what `others`
    /// send (after a transfer, a consult, a conference; empty while `a` is on hold or
    /// in a queue). Closing one of `others` just takes it out.
    RecordOthers {
        a: LegId,
        others: Vec<LegId>,
    },
    /// While paused, `a`'s recording writes nothing (PIN entry must not be on it);
    /// the file is shorter by that time.
    PauseRecording {
        a: LegId,
        paused: bool,
    },
    /// Release the socket; a recording that involves the leg is finalised.
    Close {
        leg: LegId,
    },
}

/// Events from the media room.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaEvent {
    Opened {
        leg: LegId,
        local: SocketAddr,
    },
    OpenFailed {
        leg: LegId,
        reason: String,
    },
    /// An RFC 4733 digit ended (end bit seen), with its duration.
    Dtmf {
        leg: LegId,
        digit: char,
        duration_ms: u32,
    },
    /// No RTP for the configured time on a leg that is not on hold.
    RtpTimeout {
        leg: LegId,
    },
    /// A non-looped prompt finished (or could not be decoded): the `tag` of its
    /// `Play`.
    PlayDone {
        leg: LegId,
        tag: u64,
    },
    /// A recording was closed; `seconds` of audio were written.
    RecordingDone {
        path: PathBuf,
        seconds: f64,
    },
}

// ---------------------------------------------------------------- store

/// Which way a call went, from the box's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallDirection {
    /// From a trunk to the box.
    Inbound,
    /// From a device out through a trunk.
    Outbound,
    /// Device to device.
    Internal,
}

impl CallDirection {
    /// The inverse of `as_str`, for reading rows back.
    pub fn parse(s: &str) -> Option<CallDirection> {
        match s {
            "inbound" => Some(CallDirection::Inbound),
            "outbound" => Some(CallDirection::Outbound),
            "internal" => Some(CallDirection::Internal),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CallDirection::Inbound => "inbound",
            CallDirection::Outbound => "outbound",
            CallDirection::Internal => "internal",
        }
    }
}

/// Who ended a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HangupBy {
    Caller,
    Callee,
    System,
}

impl HangupBy {
    /// The inverse of `as_str`, for reading rows back.
    pub fn parse(s: &str) -> Option<HangupBy> {
        match s {
            "caller" => Some(HangupBy::Caller),
            "callee" => Some(HangupBy::Callee),
            "system" => Some(HangupBy::System),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            HangupBy::Caller => "caller",
            HangupBy::Callee => "callee",
            HangupBy::System => "system",
        }
    }
}

/// One `calls` row as it stands; written whole each time it changes (an upsert), so
/// the store never needs to merge.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    pub id: CallId,
    pub direction: CallDirection,
    pub from_number: String,
    pub to_number: String,
    pub service_number: Option<String>,
    pub device: Option<DeviceId>,
    pub trunk: Option<TrunkId>,
    pub sip_call_id: String,
    pub started_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub hangup_by: Option<HangupBy>,
    /// The end cause in words ("callee busy", "caller hung up", "no RTP for 60 s").
    pub end_cause: Option<String>,
    /// The SIP status that ended it (200 for a normal BYE after answer).
    pub sip_code: Option<u16>,
    /// Relative to the data directory.
    pub recording: Option<PathBuf>,
    /// The agent who took the call (or made it).
    pub agent: Option<AgentId>,
    /// The skill group whose queue the caller joined (the last one, after overflows).
    pub group: Option<GroupId>,
    /// Seconds the caller waited in queues before an agent answered or they left.
    pub wait_secs: Option<u32>,
    /// Seconds the customer spent on hold (from the call bar or a phone's button).
    pub hold_secs: u32,
    /// The key the customer rated the call with in the satisfaction survey.
    pub survey_score: Option<u8>,
}

impl CallRecord {
    /// The row of a call that has just begun: nothing answered, ended or recorded.
    pub fn begun(
        id: CallId,
        direction: CallDirection,
        from_number: String,
        to_number: String,
        started_at: DateTime<Utc>,
    ) -> CallRecord {
        CallRecord {
            id,
            direction,
            from_number,
            to_number,
            service_number: None,
            device: None,
            trunk: None,
            sip_call_id: String::new(),
            started_at,
            answered_at: None,
            ended_at: None,
            hangup_by: None,
            end_cause: None,
            sip_code: None,
            recording: None,
            agent: None,
            group: None,
            wait_secs: None,
            hold_secs: 0,
            survey_score: None,
        }
    }
}

/// What happened on a call, in the call trail's closed vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEventKind {
    Offered,
    Ringing,
    EarlyMedia,
    Answered,
    Held,
    Resumed,
    Dtmf,
    Rejected,
    Cancelled,
    HungUp,
    RecordingStarted,
    RecordingDone,
    Failed,
    /// The box answered the caller, who now waits in a queue.
    Queued,
    /// The ACD rang an agent (or an overflow number) for the caller.
    AgentOffered,
    /// That agent did not answer, or their phone refused.
    AgentNoAnswer,
    /// The caller hung up while waiting.
    Abandoned,
    /// The caller left the queue for its overflow destination.
    Overflowed,
    /// A call control was used (transfer, consult, conference, survey, verification,
    /// menu, click-to-call): the party says who, the detail what.
    Control,
    /// A supervisor listened, whispered or barged in.
    Supervised,
}

impl CallEventKind {
    /// The inverse of `as_str`, for reading the trail back.
    pub fn parse(s: &str) -> Option<CallEventKind> {
        use CallEventKind::*;
        Some(match s {
            "offered" => Offered,
            "ringing" => Ringing,
            "early_media" => EarlyMedia,
            "answered" => Answered,
            "held" => Held,
            "resumed" => Resumed,
            "dtmf" => Dtmf,
            "rejected" => Rejected,
            "cancelled" => Cancelled,
            "hung_up" => HungUp,
            "recording_started" => RecordingStarted,
            "recording_done" => RecordingDone,
            "failed" => Failed,
            "queued" => Queued,
            "agent_offered" => AgentOffered,
            "agent_no_answer" => AgentNoAnswer,
            "abandoned" => Abandoned,
            "overflowed" => Overflowed,
            "control" => Control,
            "supervised" => Supervised,
            _ => return None,
        })
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            CallEventKind::Offered => "offered",
            CallEventKind::Ringing => "ringing",
            CallEventKind::EarlyMedia => "early_media",
            CallEventKind::Answered => "answered",
            CallEventKind::Held => "held",
            CallEventKind::Resumed => "resumed",
            CallEventKind::Dtmf => "dtmf",
            CallEventKind::Rejected => "rejected",
            CallEventKind::Cancelled => "cancelled",
            CallEventKind::HungUp => "hung_up",
            CallEventKind::RecordingStarted => "recording_started",
            CallEventKind::RecordingDone => "recording_done",
            CallEventKind::Failed => "failed",
            CallEventKind::Queued => "queued",
            CallEventKind::AgentOffered => "agent_offered",
            CallEventKind::AgentNoAnswer => "agent_no_answer",
            CallEventKind::Abandoned => "abandoned",
            CallEventKind::Overflowed => "overflowed",
            CallEventKind::Control => "control",
            CallEventKind::Supervised => "supervised",
        }
    }
}

/// One line of the call trail (`call_events`). `seq` orders lines within a call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallEventRecord {
    pub call: CallId,
    pub seq: u32,
    pub at: DateTime<Utc>,
    pub kind: CallEventKind,
    /// Who or what: "caller", "callee", "system", a device user, a trunk name.
    pub party: String,
    pub sip_code: Option<u16>,
    /// Plain words for a person reading the trail.
    pub detail: String,
}

/// What the switchboard asks the store to write. Writes are fire-and-forget: the store
/// thread applies them in order.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreOp {
    Call(Box<CallRecord>),
    CallEvent(Box<CallEventRecord>),
    AgentStatus(Box<AgentStatusRecord>),
    /// Bind `device` to `agent` (0000 hot-desking), taking it from any other agent.
    BindDevice {
        agent: AgentId,
        device: DeviceId,
    },
    /// A line of the audit log: who did what to which call (supervision).
    Audit(Box<AuditRecord>),
}

/// One `audit_log` row: a person's action that others may need to account for.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub at: DateTime<Utc>,
    /// Who: an agent number, "admin", or a user name.
    pub actor: String,
    /// A closed word: "listen", "whisper", "barge", …
    pub action: String,
    /// The call it was about, if any.
    pub call: Option<CallId>,
    /// Plain words.
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stored_word_reads_back() {
        use CallEventKind::*;
        let kinds = [
            Offered,
            Ringing,
            EarlyMedia,
            Answered,
            Held,
            Resumed,
            Dtmf,
            Rejected,
            Cancelled,
            HungUp,
            RecordingStarted,
            RecordingDone,
            Failed,
            Queued,
            AgentOffered,
            AgentNoAnswer,
            Abandoned,
            Overflowed,
            Control,
            Supervised,
        ];
        for kind in kinds {
            // A new variant must be added above: this match stops the build otherwise.
            match kind {
                Offered | Ringing | EarlyMedia | Answered | Held | Resumed | Dtmf | Rejected
                | Cancelled | HungUp | RecordingStarted | RecordingDone | Failed | Queued
                | AgentOffered | AgentNoAnswer | Abandoned | Overflowed | Control | Supervised => {}
            }
            assert_eq!(CallEventKind::parse(kind.as_str()), Some(kind));
        }
        for by in [HangupBy::Caller, HangupBy::Callee, HangupBy::System] {
            assert_eq!(HangupBy::parse(by.as_str()), Some(by));
        }
        for d in [
            CallDirection::Inbound,
            CallDirection::Outbound,
            CallDirection::Internal,
        ] {
            assert_eq!(CallDirection::parse(d.as_str()), Some(d));
        }
        assert_eq!(CallEventKind::parse("Offered"), None);
    }
}
