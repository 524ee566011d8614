//! Read-only views of one NUA callback: which event, its status, and the parsed SIP
//! message (`sip_t`) turned into Rust strings on demand.
//!
//! It owns nothing: every view borrows memory Sofia frees after the callback, so the
//! lifetime `'a` ends with it and accessors copy what they return. It must never
//! write into Sofia's message. The tricky part is that every header may be absent and
//! every string may be NULL or not UTF-8 (peers send anything): accessors return
//! `Option` and decode lossily.

use std::borrow::Cow;
use std::ffi::{c_char, c_int, c_void};
use std::marker::PhantomData;
use std::ptr::NonNull;

use super::bindings as sys;
use super::{Handle, text};

/// The NUA events the stack reacts to; the rest arrive as `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    IInvite,
    ICancel,
    IAck,
    IActive,
    ITerminated,
    IState,
    IBye,
    IOptions,
    IRegister,
    IError,
    IPrack,
    IInfo,
    IUpdate,
    IRefer,
    INotify,
    RInvite,
    RBye,
    RCancel,
    ROptions,
    RRegister,
    RUnregister,
    RShutdown,
    RNotify,
    Other(i32),
}

impl EventKind {
    fn from_raw(e: sys::nua_event_t) -> EventKind {
        match e {
            sys::nua_i_invite => EventKind::IInvite,
            sys::nua_i_cancel => EventKind::ICancel,
            sys::nua_i_ack => EventKind::IAck,
            sys::nua_i_active => EventKind::IActive,
            sys::nua_i_terminated => EventKind::ITerminated,
            sys::nua_i_state => EventKind::IState,
            sys::nua_i_bye => EventKind::IBye,
            sys::nua_i_options => EventKind::IOptions,
            sys::nua_i_register => EventKind::IRegister,
            sys::nua_i_error => EventKind::IError,
            sys::nua_i_prack => EventKind::IPrack,
            sys::nua_i_info => EventKind::IInfo,
            sys::nua_i_update => EventKind::IUpdate,
            sys::nua_i_refer => EventKind::IRefer,
            sys::nua_i_notify => EventKind::INotify,
            sys::nua_r_invite => EventKind::RInvite,
            sys::nua_r_bye => EventKind::RBye,
            sys::nua_r_cancel => EventKind::RCancel,
            sys::nua_r_options => EventKind::ROptions,
            sys::nua_r_register => EventKind::RRegister,
            sys::nua_r_unregister => EventKind::RUnregister,
            sys::nua_r_shutdown => EventKind::RShutdown,
            sys::nua_r_notify => EventKind::RNotify,
            other => EventKind::Other(other),
        }
    }
}

/// One callback's arguments.
pub struct Event<'a> {
    pub kind: EventKind,
    pub status: u16,
    pub phrase: String,
    pub handle: Option<Handle>,
    /// The handle's magic: our id, or 0 for a handle Sofia made and we have not bound.
    pub magic: u64,
    pub sip: Option<SipMsg<'a>>,
    tags: *const sys::tagi_t,
    _life: PhantomData<&'a sys::tagi_t>,
}

impl<'a> Event<'a> {
    /// # Safety
    /// All pointers are the callback's arguments, valid for `'a`.
    pub(super) unsafe fn new(
        event: sys::nua_event_t,
        status: c_int,
        phrase: *const c_char,
        nh: *mut sys::nua_handle_t,
        hmagic: *mut c_void,
        sip: *const sys::sip_t,
        tags: *const sys::tagi_t,
    ) -> Event<'a> {
        Event {
            kind: EventKind::from_raw(event),
            status: status.clamp(0, 999) as u16,
            // SAFETY: phrase is NULL or a C string valid for the callback.
            phrase: unsafe { text(phrase) }
                .map(Cow::into_owned)
                .unwrap_or_default(),
            handle: NonNull::new(nh).map(Handle),
            magic: hmagic as usize as u64,
            // SAFETY: sip is NULL or a parsed message valid for the callback.
            sip: unsafe { sip.as_ref() }.map(SipMsg),
            tags,
            _life: PhantomData,
        }
    }

    /// `NUTAG_CALLSTATE` of an `nua_i_state` event.
    pub fn callstate(&self) -> Option<CallState> {
        if self.tags.is_null() {
            return None;
        }
        // SAFETY: tags is a TAG_END-terminated list valid for the callback; tl_find
        // only reads it.
        let t = unsafe { sys::tl_find(self.tags, (&raw const sys::nutag_callstate).cast()) };
        if t.is_null() {
            return None;
        }
        // SAFETY: tl_find returned an item of that list.
        let v = unsafe { (*t).t_value } as u32;
        Some(match v {
            sys::nua_callstate_terminated => CallState::Terminated,
            sys::nua_callstate_ready => CallState::Ready,
            _ => CallState::Other,
        })
    }

    /// `NUTAG_REFER_EVENT` of an `nua_i_refer` event as header text (`refer;id=2`):
    /// the Event of the implicit subscription Sofia made for the REFER, which the
    /// NOTIFYs must carry to find it.
    pub fn refer_event(&self) -> Option<String> {
        if self.tags.is_null() {
            return None;
        }
        // SAFETY: as in callstate.
        let t = unsafe { sys::tl_find(self.tags, (&raw const sys::nutag_refer_event).cast()) };
        if t.is_null() {
            return None;
        }
        // SAFETY: tl_find returned an item of that list; the value of this tag is a
        // `sip_event_t const *` (or NULL) owned by the handle, alive for the callback.
        let o = hdr(unsafe { (*t).t_value } as *const sys::sip_event_t)?;
        let mut text = s(o.o_type).filter(|t| !t.is_empty())?;
        for p in params(o.o_params) {
            text.push(';');
            text.push_str(&p);
        }
        Some(text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    Ready,
    Terminated,
    Other,
}

/// A contact of a REGISTER, with its `expires` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactView {
    /// `*` (for "remove all") or the URI as text.
    pub uri: String,
    pub is_star: bool,
    pub expires: Option<String>,
}

/// An Authorization (or Proxy-Authorization, or a challenge) header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthView {
    pub scheme: String,
    /// `name=value`, quoted values with their quotes, as Sofia splits them.
    pub params: Vec<String>,
}

/// The Refer-To header of a REFER, its URI taken apart by Sofia's parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferToView {
    /// `sip:`, `sips:` or `tel:`; anything else (or no scheme) is false.
    pub phone_uri: bool,
    /// The user part (still %-escaped, as received); for `tel:` the number.
    pub user: Option<String>,
    /// The URI's `?headers` without the `?`, still %-escaped
    /// (`Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2`).
    pub headers: Option<String>,
}

/// A view of a parsed SIP message.
#[derive(Clone, Copy)]
pub struct SipMsg<'a>(&'a sys::sip_t);

/// A header of the viewed message.
fn hdr<'a, T>(p: *const T) -> Option<&'a T> {
    // SAFETY: only called with header pointers of a `SipMsg<'a>` (or their `next`
    // links), which are NULL or point at parsed headers that live as long as the
    // message, i.e. for 'a.
    unsafe { p.as_ref() }
}

/// A string field of a header of the viewed message.
fn s(p: *const c_char) -> Option<String> {
    // SAFETY: only called with string fields of headers reached through `hdr`: NULL
    // or NUL-terminated text inside the message.
    unsafe { text(p) }.map(Cow::into_owned)
}

// `from_user`/`to_user` are named after the From and To headers, not conversions.
#[allow(clippy::wrong_self_convention)]
impl<'a> SipMsg<'a> {
    pub fn request_user(&self) -> Option<String> {
        s(hdr(self.0.sip_request)?.rq_url[0].url_user)
    }

    pub fn from_user(&self) -> Option<String> {
        s(hdr(self.0.sip_from)?.a_url[0].url_user)
    }

    pub fn from_display(&self) -> Option<String> {
        let d = s(hdr(self.0.sip_from)?.a_display)?;
        let d = d.trim().trim_matches('"').trim();
        (!d.is_empty()).then(|| d.to_owned())
    }

    pub fn to_user(&self) -> Option<String> {
        s(hdr(self.0.sip_to)?.a_url[0].url_user)
    }

    /// The `tag` parameter of From.
    pub fn from_tag(&self) -> Option<String> {
        s(hdr(self.0.sip_from)?.a_tag).filter(|t| !t.is_empty())
    }

    /// The `tag` parameter of To.
    pub fn to_tag(&self) -> Option<String> {
        s(hdr(self.0.sip_to)?.a_tag).filter(|t| !t.is_empty())
    }

    /// True when the message has a header called one of `names` (give the compact
    /// form too) that Sofia could not parse: it keeps those in a list of its own.
    pub fn has_bad_header(&self, names: &[&str]) -> bool {
        let mut e = self.0.sip_error;
        for _ in 0..64 {
            let Some(h) = hdr(e) else { return false };
            if s(h.er_name).is_some_and(|n| names.iter().any(|x| x.eq_ignore_ascii_case(n.trim())))
            {
                return true;
            }
            e = h.er_next;
        }
        false
    }

    /// The Refer-To header; `None` when the REFER has none, or one Sofia could not
    /// parse (that one sits in the message's list of bad headers instead).
    pub fn refer_to(&self) -> Option<ReferToView> {
        let r = hdr(self.0.sip_refer_to)?;
        let url = &r.r_url[0];
        let kind = i32::from(url.url_type);
        let tel = kind == sys::url_tel;
        let phone_uri = kind == sys::url_sip || kind == sys::url_sips || tel;
        // Sofia keeps a tel: number in the host field.
        let user = s(url.url_user)
            .or_else(|| if tel { s(url.url_host) } else { None })
            .filter(|u| !u.is_empty());
        Some(ReferToView {
            phone_uri,
            user,
            headers: s(url.url_headers).filter(|h| !h.is_empty()),
        })
    }

    pub fn call_id(&self) -> Option<String> {
        s(hdr(self.0.sip_call_id)?.i_id)
    }

    /// `Expires:` delta seconds.
    pub fn expires(&self) -> Option<u64> {
        Some(hdr(self.0.sip_expires)?.ex_delta)
    }

    pub fn contacts(&self) -> Vec<ContactView> {
        let mut out = Vec::new();
        let mut m = self.0.sip_contact;
        // Bounded: a peer could send thousands; the registrar caps them anyway.
        while out.len() < 64 {
            let Some(c) = hdr(m) else { break };
            let is_star = c.m_url[0].url_type == sys::url_any as i8;
            let uri = if is_star {
                "*".to_owned()
            } else {
                url_text(&c.m_url[0])
            };
            out.push(ContactView {
                uri,
                is_star,
                expires: s(c.m_expires),
            });
            m = c.m_next;
        }
        out
    }

    pub fn authorization(&self) -> Option<AuthView> {
        auth_view(hdr(self.0.sip_authorization)?)
    }

    pub fn proxy_authorization(&self) -> Option<AuthView> {
        auth_view(hdr(self.0.sip_proxy_authorization)?)
    }

    /// The first WWW- or Proxy-Authenticate challenge of a 401/407.
    pub fn challenge(&self) -> Option<AuthView> {
        hdr(self.0.sip_www_authenticate)
            .or_else(|| hdr(self.0.sip_proxy_authenticate))
            .and_then(auth_view)
    }

    /// `type/subtype` of Content-Type.
    pub fn content_type(&self) -> Option<String> {
        s(hdr(self.0.sip_content_type)?.c_type)
    }

    /// The media types of every Accept header, `None` when there is none.
    pub fn accept(&self) -> Option<Vec<String>> {
        let mut a = hdr(self.0.sip_accept)?;
        let mut out = Vec::new();
        while out.len() < 64 {
            out.extend(s(a.ac_type));
            let Some(next) = hdr(a.ac_next) else { break };
            a = next;
        }
        Some(out)
    }

    pub fn payload(&self) -> Option<&'a [u8]> {
        let p = hdr(self.0.sip_payload)?;
        if p.pl_data.is_null() {
            return None;
        }
        // SAFETY: pl_data holds pl_len bytes of the message body, alive for 'a.
        Some(unsafe { std::slice::from_raw_parts(p.pl_data.cast::<u8>(), p.pl_len as usize) })
    }
}

/// The items of a NULL-terminated `msg_param_t` array inside the viewed message,
/// at most 32 of them.
fn params(mut p: *const sys::msg_param_t) -> Vec<String> {
    let mut out = Vec::new();
    while !p.is_null() && out.len() < 32 {
        // SAFETY: a params array of a header of the message: NULL-terminated C
        // strings; we stop at the NULL and never step past it.
        let item = unsafe { *p };
        let Some(text) = s(item) else { break };
        out.push(text);
        // SAFETY: the current element was not the terminator, so the next exists.
        p = unsafe { p.add(1) };
    }
    out
}

fn auth_view(h: &sys::msg_auth_t) -> Option<AuthView> {
    Some(AuthView {
        scheme: s(h.au_scheme).unwrap_or_default(),
        params: params(h.au_params),
    })
}

/// A URL as text (`sip:user@host:port;params`).
fn url_text(url: &sys::url_t) -> String {
    let mut buf = vec![0u8; 512];
    for _ in 0..2 {
        // SAFETY: url_e writes at most `len` bytes (NUL included) into buf and returns
        // the length the full text needs.
        let n = unsafe {
            sys::url_e(
                buf.as_mut_ptr().cast::<c_char>(),
                buf.len() as sys::isize_t,
                url,
            )
        };
        if n < 0 {
            return String::new();
        }
        let n = n as usize;
        if n < buf.len() {
            return String::from_utf8_lossy(&buf[..n]).into_owned();
        }
        buf.resize(n + 1, 0);
    }
    String::new()
}
