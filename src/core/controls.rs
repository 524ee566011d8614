//! In-call controls on an answered call: hold, transfer, consult and conference,
//! survey, verification, menu; and the phone's own buttons (re-INVITE hold, REFER).
//!
//! Owns nothing of its own: it rearranges a [`Call`](super::call::Call)'s legs and
//! what each hears. Must not touch SIP or media beyond emitting commands.

use super::Now;
use super::ids::LegId;
use super::msg::SipCommand;
use super::switchboard::Switchboard;

impl Switchboard {
    /// A phone's transfer button: REFER on one of our legs.
    pub(super) fn refer(
        &mut self,
        _now: Now,
        leg: LegId,
        _to_user: &str,
        _replaces: Option<LegId>,
    ) {
        self.sip(SipCommand::ReferOutcome { leg, code: 501 });
    }
}
