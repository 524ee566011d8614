//! Outgoing legs: building our INVITE for a device or a trunk, and turning the
//! answers to it into `Progress`, `Answered` and `Rejected`.
//!
//! It owns target resolution (newest registered contact, static contact, trunk host
//! and outbound proxy) and the one retry with credentials when a carrier challenges
//! us. It must never report responses to re-INVITEs or session refreshes Sofia sends
//! on its own, nor anything after we hung the leg up. The tricky part is the race of
//! our CANCEL with the callee's 2xx: Sofia ACKs and BYEs that call itself, so the leg
//! just stays silent until Sofia reports it over.
//!
//! The 2xx also gives the dialog's Call-ID and tags (ours in From, the callee's in
//! To), kept for an attended transfer's `Replaces`; the handle allows REFER so the
//! callee may transfer too.

use super::digest::Credentials;
use super::ffi::{Event, Opt};
use super::refer_to::DialogIds;
use super::sdp;
use super::stack::{LEG_ALLOW, Leg, Stack};
use crate::core::{LegId, MediaDesc, SipEvent, Target};

const SDP: &str = "application/sdp";

impl Stack {
    pub(super) fn invite(
        &mut self,
        leg: LegId,
        target: Target,
        from_user: &str,
        display: Option<&str>,
        media: &MediaDesc,
    ) {
        let Some(nua) = self.nua() else { return };
        if self.legs.contains_key(&leg) {
            log::error!("sip: Invite for {leg}, which exists already");
            return;
        }
        let host = self.our_host();
        let (ruri, to, route, trunk) = match &target {
            Target::Device(id) => {
                let Some(dev) = self.dir.device(*id) else {
                    return self.emit(SipEvent::Rejected {
                        leg,
                        code: 404,
                        reason: "Not Found".into(),
                    });
                };
                let contact = self
                    .registrar
                    .newest(*id)
                    .map(str::to_owned)
                    .or_else(|| dev.static_contact.clone());
                let Some(contact) = contact else {
                    return self.emit(SipEvent::Rejected {
                        leg,
                        code: 480,
                        reason: "Temporarily Unavailable".into(),
                    });
                };
                (contact, format!("<sip:{}@{host}>", dev.user), None, None)
            }
            Target::Trunk { trunk, number } => {
                let Some(t) = self.dir.trunk(*trunk) else {
                    return self.emit(SipEvent::Rejected {
                        leg,
                        code: 503,
                        reason: "Unknown Trunk".into(),
                    });
                };
                let ruri = format!("sip:{number}@{}", t.host);
                let route = t.outbound_proxy.as_ref().map(|p| {
                    let p = if p.starts_with("sip:") {
                        p.clone()
                    } else {
                        format!("sip:{p}")
                    };
                    format!("<{p};lr>")
                });
                (ruri.clone(), format!("<{ruri}>"), route, Some(t.id))
            }
        };
        let from = match display {
            Some(d) => format!(
                "\"{}\" <sip:{from_user}@{host}>",
                d.replace(['"', '\\'], "")
            ),
            None => format!("<sip:{from_user}@{host}>"),
        };
        let handle_opts = [Opt::To(&to), Opt::From(&from), Opt::Allow(LEG_ALLOW)];
        let Some(nh) = nua.handle(leg.0, &handle_opts) else {
            return self.emit(SipEvent::Rejected {
                leg,
                code: 500,
                reason: "Cannot Create Handle".into(),
            });
        };
        let origin = self.new_origin();
        self.legs.insert(
            leg,
            Leg {
                nh,
                incoming: false,
                answered: false,
                silent: false,
                invite: None,
                reinvite: None,
                origin,
                last_sdp: None,
                trunk,
                auth_tried: false,
                dialog: Default::default(),
                refer: None,
            },
        );
        let sdp = self.leg_sdp(leg, media).unwrap_or_default();
        let mut opts = vec![Opt::Url(&ruri), Opt::ContentType(SDP), Opt::Payload(&sdp)];
        if let Some(r) = &route {
            opts.push(Opt::Route(r));
        }
        nh.invite(&opts);
    }

    pub(super) fn on_invite_response(&mut self, leg: LegId, ev: &Event<'_>) {
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        let status = ev.status;
        if l.incoming || l.answered {
            // Responses to re-INVITEs and refreshes Sofia sends itself.
            return;
        }
        if l.silent {
            // Our CANCEL lost the race to a 2xx: Sofia ACKs and BYEs it itself.
            if status >= 300 {
                self.drop_leg(leg);
            }
            return;
        }
        match status {
            0..=100 => {}
            101..=199 => {
                let early = ev
                    .sip
                    .and_then(|s| s.payload())
                    .filter(|b| !b.is_empty())
                    .and_then(|b| sdp::parse(b).ok());
                self.emit(SipEvent::Progress {
                    leg,
                    code: status,
                    early,
                });
            }
            200..=299 => {
                l.answered = true;
                if let Some(sip) = ev.sip {
                    // Our INVITE: From is ours, To the callee's.
                    l.dialog = DialogIds {
                        call_id: sip.call_id(),
                        local_tag: sip.from_tag(),
                        remote_tag: sip.to_tag(),
                    };
                }
                match ev.sip.and_then(|s| s.payload()).map(sdp::parse) {
                    Some(Ok(answer)) => self.emit(SipEvent::Answered { leg, answer }),
                    _ => {
                        log::warn!("sip: {leg} answered without usable SDP; hanging up");
                        l.silent = true;
                        l.nh.bye();
                        self.emit(SipEvent::Rejected {
                            leg,
                            code: 488,
                            reason: "Not Acceptable Here".into(),
                        });
                    }
                }
            }
            401 | 407 if !l.auth_tried => {
                let creds = l
                    .trunk
                    .and_then(|t| self.dir.trunk(t))
                    .and_then(|t| t.register.clone());
                let realm = ev
                    .sip
                    .and_then(|s| s.challenge())
                    .and_then(|c| Credentials::realm_of(&c.params));
                if let (Some(creds), Some(realm)) = (creds, realm) {
                    l.auth_tried = true;
                    let auth = format!("Digest:\"{realm}\":{}:{}", creds.user, creds.password);
                    l.nh.authenticate(&[Opt::Auth(&auth)]);
                } else {
                    self.reject_outgoing(leg, status, &ev.phrase);
                }
            }
            _ => self.reject_outgoing(leg, status, &ev.phrase),
        }
    }

    fn reject_outgoing(&mut self, leg: LegId, code: u16, reason: &str) {
        if let Some(l) = self.legs.get_mut(&leg) {
            l.silent = true;
            self.emit(SipEvent::Rejected {
                leg,
                code,
                reason: reason.to_owned(),
            });
            self.drop_leg(leg);
        }
    }
}
