//! Dialogs: incoming INVITEs (who sent it, is the body usable), our responses,
//! re-INVITEs, hang-ups, and the end of every leg (outgoing INVITEs: `outgoing`).
//!
//! It owns the rules that map NUA events on a leg to `SipEvent`s and `SipCommand`s
//! to NUA calls. It must never report anything for a leg after it went silent (we
//! hung it up, we rejected it, or its end was reported), and never wait on the event
//! channel for a new call. The tricky part is the end of a leg: Sofia reports
//! `terminated` for dialogs, but after a final non-2xx on the initial INVITE it goes
//! back to `init` silently, so those legs are dropped where the final response is
//! sent or received.
//!
//! Each leg also keeps its dialog's Call-ID and tags (for `Replaces`, see `refer`).
//! For an incoming leg NUA does not say which tag it put in our answer, so our tag
//! is read from the To of the peer's first request in the dialog (the ACK).

use super::digest::{self, Credentials, NonceState};
use super::ffi::{CallState, Event, EventKind, Handle, Opt, SipMsg};
use super::refer_to::DialogIds;
use super::sdp;
use super::stack::{LEG_ALLOW, Leg, Stack, now_secs};
use crate::core::{CallSource, IncomingCall, LegId, MediaDesc, SipEvent};

const SDP: &str = "application/sdp";

impl Stack {
    /// A new INVITE on a handle Sofia made for it.
    pub(super) fn on_new_invite(&mut self, nh: Handle, ev: &Event<'_>) {
        let (Some(nua), Some(sip)) = (self.nua(), ev.sip) else {
            return;
        };
        let Some(req) = nua.current_request() else {
            return;
        };
        let src = nua.current_source();
        let reject = |code: u16, phrase: &str, extra: &[Opt<'_>]| {
            let mut opts = vec![Opt::With(req)];
            opts.extend_from_slice(extra);
            nh.respond(code, phrase, &opts);
            nh.destroy();
        };
        if self.refusing_new_calls() {
            log::info!(
                "sip: stopping; INVITE from {} refused with 503",
                fmt_src(src)
            );
            return reject(503, "Service Unavailable", &[]);
        }

        let source = match src.and_then(|a| self.dir.trunk_by_peer(a.ip())) {
            Some(trunk) => CallSource::Trunk(trunk.id),
            None => match self.check_invite_auth(&sip) {
                Ok(device) => CallSource::Device(device),
                Err(AuthOutcome::Challenge { stale }) => {
                    let challenge =
                        digest::challenge(&self.cfg.realm, &self.key.make(now_secs()), stale);
                    return reject(
                        407,
                        "Proxy Authentication Required",
                        &[Opt::ProxyAuthenticate(&challenge)],
                    );
                }
                Err(AuthOutcome::Forbidden(who)) => {
                    log::warn!(
                        "sip: INVITE refused from {}: bad credentials for {who:?}",
                        fmt_src(src)
                    );
                    return reject(403, "Forbidden", &[]);
                }
            },
        };

        let body = sip.payload().filter(|b| !b.is_empty());
        if let Some(ct) = sip.content_type()
            && body.is_some()
            && !ct.eq_ignore_ascii_case(SDP)
        {
            return reject(415, "Unsupported Media Type", &[Opt::Accept(SDP)]);
        }
        if let Some(accept) = sip.accept()
            && !accept.iter().any(|t| accepts_sdp(t))
        {
            return reject(406, "Not Acceptable", &[Opt::Accept(SDP)]);
        }
        let offer = match body.map(sdp::parse) {
            None => None,
            Some(Ok(m)) if !m.codecs.is_empty() => Some(m),
            Some(Ok(_)) => return reject(488, "Not Acceptable Here", &[]),
            Some(Err(e)) => {
                log::debug!("sip: INVITE from {} with unusable SDP: {e}", fmt_src(src));
                return reject(488, "Not Acceptable Here", &[]);
            }
        };

        let leg = self.new_incoming_leg();
        let event = SipEvent::IncomingCall(Box::new(IncomingCall {
            leg,
            source,
            from_user: sip.from_user().unwrap_or_default(),
            from_display: sip.from_display(),
            to_user: sip
                .request_user()
                .filter(|u| !u.is_empty())
                .or_else(|| sip.to_user())
                .unwrap_or_default(),
            offer,
            sip_call_id: sip.call_id().unwrap_or_default(),
        }));
        if self.events.try_send(event).is_err() {
            log::warn!(
                "sip: event queue full; INVITE from {} refused with 503",
                fmt_src(src)
            );
            return reject(503, "Service Unavailable", &[]);
        }
        nh.bind(leg.0);
        // Before any answer, so our 180/200 advertise REFER too.
        nh.set_params(&[Opt::Allow(LEG_ALLOW)]);
        let origin = self.new_origin();
        self.legs.insert(
            leg,
            Leg {
                nh,
                incoming: true,
                answered: false,
                silent: false,
                invite: Some(req),
                reinvite: None,
                origin,
                last_sdp: None,
                trunk: None,
                auth_tried: false,
                // Our tag comes with the peer's first request in the dialog.
                dialog: DialogIds {
                    call_id: sip.call_id(),
                    local_tag: None,
                    remote_tag: sip.from_tag(),
                },
                refer: None,
            },
        );
    }

    /// Digest check of an INVITE's Proxy-Authorization against the directory.
    fn check_invite_auth(&self, sip: &SipMsg<'_>) -> Result<crate::core::DeviceId, AuthOutcome> {
        let Some(auth) = sip
            .proxy_authorization()
            .filter(|a| a.scheme.eq_ignore_ascii_case("Digest"))
        else {
            return Err(AuthOutcome::Challenge { stale: false });
        };
        let Some(creds) =
            Credentials::from_params(&auth.params).filter(|c| c.realm == self.cfg.realm)
        else {
            return Err(AuthOutcome::Challenge { stale: false });
        };
        let nonce = self
            .key
            .check(&creds.nonce, now_secs(), self.cfg.nonce_lifetime.as_secs());
        if nonce == NonceState::Forged {
            return Err(AuthOutcome::Challenge { stale: false });
        }
        let device = self
            .dir
            .device_by_user(&creds.username)
            .filter(|d| creds.verify("INVITE", &d.password));
        match (device, nonce) {
            (None, _) => Err(AuthOutcome::Forbidden(creds.username)),
            (Some(_), NonceState::Stale) => Err(AuthOutcome::Challenge { stale: true }),
            (Some(d), _) => Ok(d.id),
        }
    }

    /// Every event on a handle bound to one of our legs.
    pub(super) fn leg_event(&mut self, leg: LegId, ev: &Event<'_>) {
        if let Some(sip) = ev.sip
            && matches!(ev.kind, EventKind::IAck | EventKind::IInvite)
        {
            self.learn_local_tag(leg, &sip);
        }
        match ev.kind {
            EventKind::IInvite => self.on_reinvite(leg, ev),
            EventKind::IRefer => self.on_refer(leg, ev),
            EventKind::RNotify if ev.status >= 300 => {
                log::debug!("sip: NOTIFY on {leg} failed: {} {}", ev.status, ev.phrase)
            }
            EventKind::ICancel => self.peer_ended(leg, true),
            EventKind::IBye => self.peer_ended(leg, false),
            EventKind::RInvite => self.on_invite_response(leg, ev),
            EventKind::IState | EventKind::ITerminated => {
                let over = ev.kind == EventKind::ITerminated
                    || ev.callstate() == Some(CallState::Terminated);
                if over {
                    self.leg_over(leg, ev.status, &ev.phrase);
                }
            }
            _ => {}
        }
    }

    /// The peer ended the leg (BYE, or CANCEL before we answered).
    fn peer_ended(&mut self, leg: LegId, cancelled: bool) {
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        if !l.silent {
            l.silent = true;
            self.emit(SipEvent::HungUp { leg, cancelled });
        }
    }

    /// Sofia says the dialog is over: report it if nobody has, then free the handle.
    fn leg_over(&mut self, leg: LegId, status: u16, phrase: &str) {
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        if !l.silent {
            l.silent = true;
            let ev = match (l.incoming, l.answered) {
                (true, false) => SipEvent::HungUp {
                    leg,
                    cancelled: true,
                },
                (_, true) => SipEvent::HungUp {
                    leg,
                    cancelled: false,
                },
                (false, false) => {
                    let code = if status >= 300 { status } else { 408 };
                    let reason = if status >= 300 {
                        phrase.to_owned()
                    } else {
                        "Request Timeout".into()
                    };
                    SipEvent::Rejected { leg, code, reason }
                }
            };
            self.emit(ev);
        }
        self.drop_leg(leg);
    }

    fn on_reinvite(&mut self, leg: LegId, ev: &Event<'_>) {
        let Some(req) = self.nua().and_then(|n| n.current_request()) else {
            return;
        };
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        let nh = l.nh;
        if l.silent {
            nh.respond(481, "Call/Transaction Does Not Exist", &[Opt::With(req)]);
            return;
        }
        let body = ev.sip.and_then(|s| s.payload()).filter(|b| !b.is_empty());
        match body.map(sdp::parse) {
            Some(Ok(offer)) if !offer.codecs.is_empty() => {
                l.reinvite = Some(req);
                self.emit(SipEvent::Reoffer { leg, offer });
            }
            // Offerless re-INVITE (a session refresh): offer what we have.
            None if l.last_sdp.is_some() => {
                let sdp = l.last_sdp.clone().unwrap_or_default();
                nh.respond(
                    200,
                    "OK",
                    &[Opt::With(req), Opt::ContentType(SDP), Opt::Payload(&sdp)],
                );
            }
            _ => nh.respond(488, "Not Acceptable Here", &[Opt::With(req)]),
        }
    }

    pub(super) fn respond(
        &mut self,
        leg: LegId,
        code: u16,
        reason: &str,
        media: Option<MediaDesc>,
    ) {
        let sdp = media.as_ref().and_then(|m| self.leg_sdp(leg, m));
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        let Some(req) = l.invite.filter(|_| l.incoming && !l.answered && !l.silent) else {
            log::debug!("sip: Respond {code} for {leg}, which is not waiting for an answer");
            return;
        };
        let mut opts = vec![Opt::With(req)];
        if let Some(sdp) = &sdp {
            opts.extend([Opt::ContentType(SDP), Opt::Payload(sdp)]);
        }
        match code {
            100..=199 => l.nh.respond(code, reason, &opts),
            200..=299 if sdp.is_none() => {
                log::error!("sip: Respond {code} for {leg} without media; answering 500");
                l.silent = true;
                l.nh.respond(500, "Internal Server Error", &[Opt::With(req)]);
                self.drop_leg(leg);
            }
            200..=299 => {
                l.answered = true;
                l.invite = None;
                l.nh.respond(code, reason, &opts);
            }
            _ => {
                l.silent = true;
                l.nh.respond(code, reason, &[Opt::With(req)]);
                self.drop_leg(leg);
            }
        }
    }

    pub(super) fn answer_reoffer(&mut self, leg: LegId, media: &MediaDesc) {
        let Some(sdp) = self.leg_sdp(leg, media) else {
            return;
        };
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        let Some(req) = l.reinvite.take() else {
            log::debug!("sip: AnswerReoffer for {leg} with no re-INVITE pending");
            return;
        };
        l.nh.respond(
            200,
            "OK",
            &[Opt::With(req), Opt::ContentType(SDP), Opt::Payload(&sdp)],
        );
    }

    pub(super) fn hangup(&mut self, leg: LegId) {
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        if l.silent {
            return;
        }
        l.silent = true;
        match (l.incoming, l.answered, l.invite) {
            (true, false, Some(req)) => {
                l.nh.respond(480, "Temporarily Unavailable", &[Opt::With(req)]);
                self.drop_leg(leg);
            }
            (false, false, _) => l.nh.cancel(),
            _ => l.nh.bye(),
        }
    }
}

enum AuthOutcome {
    Challenge { stale: bool },
    Forbidden(String),
}

/// True for a media range of Accept that admits application/sdp.
fn accepts_sdp(range: &str) -> bool {
    let r = range.split(';').next().unwrap_or(range).trim();
    r.eq_ignore_ascii_case(SDP) || r.eq_ignore_ascii_case("application/*") || r == "*/*"
}

pub(super) fn fmt_src(src: Option<std::net::SocketAddr>) -> String {
    src.map_or_else(|| "an unknown address".into(), |a| a.to_string())
}
