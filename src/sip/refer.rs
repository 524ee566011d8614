//! REFER (a phone's transfer button): the answer to it, the `SipEvent::Refer` it
//! becomes, and the NOTIFY that `SipCommand::ReferOutcome` sends back.
//!
//! It owns the REFER rules: only an established leg may transfer (481 otherwise),
//! one REFER at a time per leg (491 while one waits for its outcome), a Refer-To
//! that is missing or unusable gets 400; none of these reaches the switchboard. A
//! REFER outside our dialogs never gets here: only legs' handles allow REFER, so
//! Sofia answers it 405 (`stack::ALLOW` says why). It also resolves an attended
//! transfer's `Replaces` to the leg it names, from the dialog identifiers every leg
//! keeps (`Leg::dialog`).
//!
//! Why it answers REFER itself: left to itself NUA accepts every REFER with 202
//! before the application sees it (only methods in `NUTAG_APPL_METHOD` wait for
//! `nua_respond`), so a REFER without Refer-To would be accepted too. With REFER in
//! that list, `nua_i_refer` arrives with status 100 and the implicit subscription
//! NUA made for it (the `refer;id=<CSeq>` event of `NUTAG_REFER_EVENT`); the NOTIFY
//! must carry that Event, or NUA finds no subscription and sends nothing, and NUA
//! writes its Subscription-State from `NUTAG_SUBSTATE`. The tricky part is the
//! NOTIFY after a hang-up: once the leg is silent its dialog is ending, so an
//! outcome that comes later is dropped, and NUA itself ends the subscription.

use super::ffi::{self, Event, Handle, Opt, Substate};
use super::refer_to::{ReplacesIds, refer_target, sipfrag};
use super::stack::Stack;
use crate::core::{LegId, SipEvent};

const SIPFRAG: &str = "message/sipfrag";

impl Stack {
    /// A REFER on one of our legs.
    pub(super) fn on_refer(&mut self, leg: LegId, ev: &Event<'_>) {
        let (Some(nua), Some(sip)) = (self.nua(), ev.sip) else {
            return;
        };
        let Some(req) = nua.current_request() else {
            return;
        };
        self.learn_local_tag(leg, &sip);
        let Some(l) = self.legs.get(&leg) else {
            return;
        };
        let nh = l.nh;
        let refuse = |code: u16, phrase: &str| nh.respond(code, phrase, &[Opt::With(req)]);
        if l.silent || !l.answered {
            return refuse(481, "Call/Transaction Does Not Exist");
        }
        if l.refer.is_some() {
            return refuse(491, "Request Pending");
        }
        let Some(view) = sip.refer_to() else {
            let bad = sip.has_bad_header(&["Refer-To", "r"]);
            log::debug!("sip: REFER on {leg} without a Refer-To Sofia could parse");
            return refuse(
                400,
                if bad {
                    "Bad Refer-To"
                } else {
                    "Missing Refer-To"
                },
            );
        };
        let target = match refer_target(
            view.phone_uri,
            view.user.as_deref(),
            view.headers.as_deref(),
        ) {
            Ok(t) => t,
            Err(why) => {
                log::debug!("sip: REFER on {leg}: {why:?} in {view:?}");
                return refuse(400, why.phrase());
            }
        };
        let replaces = match target.replaces.as_deref().map(ffi::parse_replaces) {
            None => None,
            Some(None) => return refuse(400, "Bad Replaces"),
            Some(Some(rp)) => self.leg_named_by(
                leg,
                &ReplacesIds {
                    call_id: &rp.call_id,
                    to_tag: rp.to_tag.as_deref(),
                    from_tag: rp.from_tag.as_deref(),
                },
            ),
        };
        // refer_with_id is on by default, so this is `refer;id=<CSeq>`.
        let event = ev.refer_event().unwrap_or_else(|| "refer".into());
        nh.respond(202, "Accepted", &[Opt::With(req)]);
        if let Some(l) = self.legs.get_mut(&leg) {
            l.refer = Some(event);
        }
        self.emit(SipEvent::Refer {
            leg,
            to_user: target.user,
            replaces,
        });
    }

    /// A REFER on a handle that is none of our legs. The agent-wide Allow leaves
    /// REFER out, so Sofia refuses those with 405 first; this is the fallback.
    pub(super) fn refuse_refer(&mut self, nh: Handle) {
        if let Some(req) = self.nua().and_then(|n| n.current_request()) {
            nh.respond(403, "Forbidden", &[Opt::With(req)]);
        }
        nh.destroy();
    }

    /// The leg, other than `referrer`, whose dialog `r` names.
    fn leg_named_by(&self, referrer: LegId, r: &ReplacesIds<'_>) -> Option<LegId> {
        self.legs
            .iter()
            .find(|(id, l)| **id != referrer && !l.silent && l.dialog.named_by(r))
            .map(|(id, _)| *id)
    }

    /// Our tag of an incoming leg, from the To of a request the peer sent in its
    /// dialog (the ACK, a re-INVITE, a REFER): NUA does not tell us which tag it put
    /// in our answer.
    pub(super) fn learn_local_tag(&mut self, leg: LegId, sip: &ffi::SipMsg<'_>) {
        if let Some(l) = self.legs.get_mut(&leg)
            && l.incoming
            && l.dialog.local_tag.is_none()
        {
            l.dialog.local_tag = sip.to_tag();
        }
    }

    /// `SipCommand::ReferOutcome`: the NOTIFY for the REFER waiting on `leg`. A
    /// final code ends the implicit subscription; a provisional one keeps it.
    pub(super) fn refer_outcome(&mut self, leg: LegId, code: u16) {
        let Some(l) = self.legs.get_mut(&leg) else {
            log::warn!("sip: ReferOutcome {code} for {leg}, which we do not know; dropped");
            return;
        };
        if l.silent {
            log::debug!("sip: ReferOutcome {code} for {leg}, which is over; dropped");
            return;
        }
        let Some(event) = l.refer.clone() else {
            log::warn!("sip: ReferOutcome {code} for {leg} with no REFER waiting; dropped");
            return;
        };
        let code = if (100..=699).contains(&code) {
            code
        } else {
            log::error!("sip: ReferOutcome with status {code}; reporting 500");
            500
        };
        let last = code >= 200;
        let body = sipfrag(code, ffi::status_phrase(code));
        l.nh.notify(&[
            Opt::Event(&event),
            Opt::Substate(if last {
                Substate::Terminated
            } else {
                Substate::Active
            }),
            Opt::ContentType(SIPFRAG),
            Opt::Payload(&body),
        ]);
        if last {
            l.refer = None;
        }
    }
}
