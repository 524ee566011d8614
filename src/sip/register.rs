//! The registrar's SIP side (REGISTER in, with our own digest check), qualify pings
//! to registered contacts, and our own registrations to trunks.
//!
//! It owns the mapping from a REGISTER to registrar changes and the answer; the table
//! itself lives in `registrar` (pure). It must never tell a scanner whether a user
//! exists: unknown user and wrong password both get the same 403 Forbidden, built by
//! one function. The tricky parts: `stale=true` only for a correct response on an aged
//! nonce, an unknown Authorization scheme is challenged again (RFC 4475 regaut01), and
//! one bad contact expiry (423) refuses the whole REGISTER before anything changes.

use super::calls::fmt_src;
use super::digest::{self, Credentials, NonceState};
use super::ffi::{Event, EventKind, Handle, MsgRef, Opt};
use super::registrar::{Change, ExpiresDecision, decide_expires};
use super::stack::{Aux, Stack, now_secs};
use crate::core::DeviceId;

impl Stack {
    /// An incoming REGISTER, on a fresh handle that is freed once answered.
    pub(super) fn on_register(&mut self, nh: Handle, ev: &Event<'_>) {
        let (Some(nua), Some(sip)) = (self.nua(), ev.sip) else {
            return;
        };
        let Some(req) = nua.current_request() else {
            return;
        };
        let src = nua.current_source();
        let (code, phrase, opts) = match self.register_answer(&sip, req, src) {
            Answer::Challenge { stale } => {
                let c = digest::challenge(&self.cfg.realm, &self.key.make(now_secs()), stale);
                (401, "Unauthorized", vec![OwnedOpt::WwwAuthenticate(c)])
            }
            Answer::Forbidden => forbidden(),
            Answer::TooBrief => (
                423,
                "Interval Too Brief",
                vec![OwnedOpt::MinExpires(self.cfg.min_expires.to_string())],
            ),
            Answer::BadRequest(why) => (400, why, vec![]),
            Answer::Ok(device) => {
                let now = std::time::Instant::now();
                let contacts: Vec<String> = self
                    .registrar
                    .bindings(device, now)
                    .into_iter()
                    .map(|(uri, secs)| format!("<{uri}>;expires={secs}"))
                    .collect();
                self.report_status();
                let opts = if contacts.is_empty() {
                    vec![]
                } else {
                    vec![OwnedOpt::Contact(contacts.join(", "))]
                };
                (200, "OK", opts)
            }
        };
        let mut list = vec![Opt::With(req)];
        list.extend(opts.iter().map(OwnedOpt::as_opt));
        nh.respond(code, phrase, &list);
        nh.destroy();
    }

    fn register_answer(
        &mut self,
        sip: &super::ffi::SipMsg<'_>,
        _req: MsgRef,
        src: Option<std::net::SocketAddr>,
    ) -> Answer {
        let Some(auth) = sip
            .authorization()
            .filter(|a| a.scheme.eq_ignore_ascii_case("Digest"))
        else {
            return Answer::Challenge { stale: false };
        };
        let Some(creds) =
            Credentials::from_params(&auth.params).filter(|c| c.realm == self.cfg.realm)
        else {
            return Answer::Challenge { stale: false };
        };
        let nonce = self
            .key
            .check(&creds.nonce, now_secs(), self.cfg.nonce_lifetime.as_secs());
        if nonce == NonceState::Forged {
            return Answer::Challenge { stale: false };
        }
        let aor_matches = sip.to_user().is_some_and(|u| u == creds.username);
        let device = self
            .dir
            .device_by_user(&creds.username)
            .filter(|d| aor_matches && creds.verify("REGISTER", &d.password))
            .map(|d| d.id);
        let Some(device) = device else {
            log::warn!(
                "sip: REGISTER refused from {}: bad credentials for {:?}",
                fmt_src(src),
                creds.username
            );
            return Answer::Forbidden;
        };
        if nonce == NonceState::Stale {
            return Answer::Challenge { stale: true };
        }
        match self.contact_changes(sip) {
            Ok(changes) => {
                self.registrar
                    .apply(device, &changes, std::time::Instant::now());
                Answer::Ok(device)
            }
            Err(a) => a,
        }
    }

    /// The REGISTER's contacts as registrar changes, or the answer refusing them all.
    fn contact_changes(&self, sip: &super::ffi::SipMsg<'_>) -> Result<Vec<Change>, Answer> {
        let contacts = sip.contacts();
        let header = sip.expires();
        if contacts.iter().any(|c| c.is_star) {
            // RFC 3261 §10.3 step 6: "*" only alone and with Expires: 0.
            return if contacts.len() == 1 && header == Some(0) {
                Ok(vec![Change::RemoveAll])
            } else {
                Err(Answer::BadRequest("Invalid Wildcard Contact"))
            };
        }
        let mut changes = Vec::with_capacity(contacts.len());
        for c in contacts {
            if c.uri.is_empty() {
                return Err(Answer::BadRequest("Invalid Contact"));
            }
            match decide_expires(
                c.expires.as_deref(),
                header,
                self.cfg.min_expires,
                self.cfg.max_expires,
            ) {
                ExpiresDecision::TooBrief => return Err(Answer::TooBrief),
                ExpiresDecision::Secs(0) => changes.push(Change::Remove { uri: c.uri }),
                ExpiresDecision::Secs(expires) => changes.push(Change::Set {
                    uri: c.uri,
                    expires,
                }),
            }
        }
        Ok(changes)
    }

    /// Sends OPTIONS to every registered and static contact.
    pub(super) fn qualify_round(&mut self) {
        let Some(nua) = self.nua() else { return };
        let mut targets: Vec<(DeviceId, String, bool)> = self
            .registrar
            .all_contacts()
            .into_iter()
            .map(|(d, u)| (d, u, false))
            .collect();
        targets.extend(
            self.dir
                .devices
                .iter()
                .filter_map(|d| Some((d.id, d.static_contact.clone()?, true))),
        );
        for (device, uri, is_static) in targets {
            // One ping in flight per contact.
            let busy = self
                .aux
                .values()
                .any(|a| matches!(a, Aux::Qualify { uri: u, .. } if *u == uri));
            if busy {
                continue;
            }
            let Some(nh) = nua.handle(0, &[Opt::To(&format!("<{uri}>"))]) else {
                continue;
            };
            nh.options(&[Opt::Url(&uri)]);
            self.aux.insert(
                nh,
                Aux::Qualify {
                    device,
                    uri,
                    is_static,
                },
            );
        }
    }

    /// Events on qualify and trunk-registration handles.
    pub(super) fn aux_event(&mut self, nh: Handle, ev: &Event<'_>) {
        match (ev.kind, self.aux.get_mut(&nh)) {
            (
                EventKind::ROptions,
                Some(Aux::Qualify {
                    device,
                    uri,
                    is_static,
                }),
            ) if ev.status >= 200 => {
                // No answer (408) or no route (503, Sofia's own) is "unreachable"; any
                // other answer, even an error, proves the device is there.
                let reachable = !matches!(ev.status, 408 | 503);
                let (device, uri, is_static) = (*device, uri.clone(), *is_static);
                if !reachable {
                    log::info!("sip: qualify of {uri} got {} {}", ev.status, ev.phrase);
                }
                self.registrar
                    .set_reachable(device, &uri, reachable, is_static);
                self.aux.remove(&nh);
                nh.destroy();
                self.report_status();
            }
            (EventKind::RRegister, Some(Aux::TrunkRegister { trunk, auth_tries })) => {
                let trunk = *trunk;
                let Some(t) = self.dir.trunk(trunk) else {
                    return;
                };
                match ev.status {
                    200..=299 => {
                        *auth_tries = 0;
                        log::info!("sip: registered to trunk {}", t.name);
                    }
                    401 | 407 if *auth_tries < 2 => {
                        *auth_tries += 1;
                        let realm = ev
                            .sip
                            .and_then(|s| s.challenge())
                            .and_then(|c| Credentials::realm_of(&c.params));
                        if let (Some(realm), Some(reg)) = (realm, &t.register) {
                            let auth = format!("Digest:\"{realm}\":{}:{}", reg.user, reg.password);
                            nh.authenticate(&[Opt::Auth(&auth)]);
                        }
                    }
                    s if s >= 300 => log::warn!(
                        "sip: registration to trunk {} failed: {s} {}",
                        t.name,
                        ev.phrase
                    ),
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// Starts registrations for trunks that have credentials and drops those that no
    /// longer do (after a reload).
    pub(super) fn sync_trunk_registrations(&mut self) {
        let Some(nua) = self.nua() else { return };
        let wanted: Vec<_> = self
            .dir
            .trunks
            .iter()
            .filter(|t| t.register.is_some())
            .map(|t| t.id)
            .collect();
        let stale: Vec<_> = self
            .trunk_regs
            .keys()
            .filter(|id| !wanted.contains(id))
            .copied()
            .collect();
        for id in stale {
            if let Some(nh) = self.trunk_regs.remove(&id) {
                self.aux.remove(&nh);
                nh.destroy();
            }
        }
        for id in wanted {
            if self.trunk_regs.contains_key(&id) {
                continue;
            }
            let Some(t) = self.dir.trunk(id) else {
                continue;
            };
            let Some(reg) = &t.register else { continue };
            let aor = format!("<sip:{}@{}>", reg.user, t.host);
            let Some(nh) = nua.handle(0, &[Opt::To(&aor), Opt::From(&aor)]) else {
                continue;
            };
            let registrar = format!("sip:{}", t.host);
            let expires = reg.expires_secs.to_string();
            nh.register(&[
                Opt::Registrar(&registrar),
                Opt::MUsername(&reg.user),
                Opt::Expires(&expires),
            ]);
            self.aux.insert(
                nh,
                Aux::TrunkRegister {
                    trunk: id,
                    auth_tries: 0,
                },
            );
            self.trunk_regs.insert(id, nh);
        }
    }
}

enum Answer {
    Challenge { stale: bool },
    Forbidden,
    TooBrief,
    BadRequest(&'static str),
    Ok(DeviceId),
}

/// The one answer for unknown user and wrong password alike.
fn forbidden() -> (u16, &'static str, Vec<OwnedOpt>) {
    (403, "Forbidden", vec![])
}

/// Header values built for an answer, kept alive until the respond call.
enum OwnedOpt {
    WwwAuthenticate(String),
    MinExpires(String),
    Contact(String),
}

impl OwnedOpt {
    fn as_opt(&self) -> Opt<'_> {
        match self {
            OwnedOpt::WwwAuthenticate(s) => Opt::WwwAuthenticate(s),
            OwnedOpt::MinExpires(s) => Opt::MinExpires(s),
            OwnedOpt::Contact(s) => Opt::Contact(s),
        }
    }
}
