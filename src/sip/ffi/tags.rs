//! Sofia tag lists, built in one place: [`Opt`] names what we want to say, and
//! [`TagList`] turns a slice of them into the `tagi_t` array Sofia reads.
//!
//! It owns the conversion from Rust values to `(tag_type_t, tag_value_t)` pairs and the
//! lifetime of the C strings they point at. It must never let a pointer outlive the
//! `TagList` that owns its text: NUA copies every value into its own memory before the
//! call returns, so a list only has to live across one call.
//!
//! The tricky part is variadic C: instead of building argument lists of varying length
//! we always pass `TAG_NEXT(list), TAG_END()`. Sofia's `ta_start` follows a leading
//! `tag_next` into the array, so every wrapper calls its C function with the same fixed
//! tail of four arguments whatever the number of options.

use std::ffi::CString;

use super::bindings as sys;

/// One thing to put in a Sofia tag list. Text that cannot be a C string (it holds a
/// NUL) is left out of the list and logged: it only ever comes from a peer.
#[derive(Debug, Clone, Copy)]
pub enum Opt<'a> {
    /// `NUTAG_URL`: the bind address for the agent, the request URI for a request.
    Url(&'a str),
    /// `SIPTAG_USER_AGENT_STR`: the whole header, without Sofia's own name appended
    /// (which `NUTAG_USER_AGENT` does).
    UserAgent(&'a str),

    /// `NUTAG_APPL_METHOD`: methods the application answers itself (REGISTER).
    ApplMethod(&'a str),
    /// `NUTAG_ALLOW`: methods added to the Allow list (default or inherited).
    Allow(&'a str),
    /// `SIPTAG_ALLOW_STR`: the whole Allow list, replacing Sofia's default.
    AllowOnly(&'a str),
    MediaEnable(bool),
    AutoAnswer(bool),
    AutoAlert(bool),
    /// `NUTAG_SESSION_TIMER`: RFC 4028 interval in seconds (0 = off).
    SessionTimer(u32),
    MinSe(u32),
    /// `NUTAG_WITH`: the request a response answers.
    With(super::MsgRef),
    /// `NUTAG_AUTH`: `scheme:"realm":user:password`.
    Auth(&'a str),
    /// `NUTAG_REGISTRAR`: where an outgoing REGISTER goes.
    Registrar(&'a str),
    /// `NUTAG_M_USERNAME`: user part of the Contact Sofia builds.
    MUsername(&'a str),
    /// `NUTAG_OUTBOUND`: RFC 5626 options; "no-options-keepalive, no-validate" etc.
    Outbound(&'a str),
    To(&'a str),
    From(&'a str),
    Route(&'a str),
    Contact(&'a str),
    Expires(&'a str),
    MinExpires(&'a str),
    Accept(&'a str),
    ContentType(&'a str),
    Payload(&'a str),
    WwwAuthenticate(&'a str),
    ProxyAuthenticate(&'a str),
    /// `SIPTAG_EVENT_STR`: the Event of a NOTIFY (`refer;id=2`), which is how NUA
    /// finds the subscription the NOTIFY belongs to.
    Event(&'a str),
    /// `NUTAG_SUBSTATE`: the subscription state a NOTIFY reports (and leaves).
    Substate(Substate),
}

/// Subscription states we put in a NOTIFY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Substate {
    Active,
    Terminated,
}

/// A `tagi_t` array ending with `TAG_END`, plus the C strings it points into.
pub struct TagList {
    items: Vec<sys::tagi_t>,
    // The items point into these; a CString's buffer stays put when the Vec grows.
    _strings: Vec<CString>,
}

impl TagList {
    pub fn new(opts: &[Opt<'_>]) -> TagList {
        let mut items = Vec::with_capacity(opts.len() + 1);
        let mut strings = Vec::new();
        for opt in opts {
            let (tag, value) = match *opt {
                Opt::Url(s) => (tag_ptr(&raw const sys::nutag_url), Val::Str(s)),
                Opt::UserAgent(s) => (tag_ptr(&raw const sys::siptag_user_agent_str), Val::Str(s)),
                Opt::ApplMethod(s) => (tag_ptr(&raw const sys::nutag_appl_method), Val::Str(s)),
                Opt::Allow(s) => (tag_ptr(&raw const sys::nutag_allow), Val::Str(s)),
                Opt::AllowOnly(s) => (tag_ptr(&raw const sys::siptag_allow_str), Val::Str(s)),
                Opt::MediaEnable(b) => (
                    tag_ptr(&raw const sys::nutag_media_enable),
                    Val::Int(b as isize),
                ),
                Opt::AutoAnswer(b) => (
                    tag_ptr(&raw const sys::nutag_autoanswer),
                    Val::Int(b as isize),
                ),
                Opt::AutoAlert(b) => (
                    tag_ptr(&raw const sys::nutag_autoalert),
                    Val::Int(b as isize),
                ),
                Opt::SessionTimer(n) => (
                    tag_ptr(&raw const sys::nutag_session_timer),
                    Val::Int(n as isize),
                ),
                Opt::MinSe(n) => (tag_ptr(&raw const sys::nutag_min_se), Val::Int(n as isize)),
                Opt::With(m) => (tag_ptr(&raw const sys::nutag_with), Val::Int(m.0 as isize)),
                Opt::Auth(s) => (tag_ptr(&raw const sys::nutag_auth), Val::Str(s)),
                Opt::Registrar(s) => (tag_ptr(&raw const sys::nutag_registrar), Val::Str(s)),
                Opt::MUsername(s) => (tag_ptr(&raw const sys::nutag_m_username), Val::Str(s)),
                Opt::Outbound(s) => (tag_ptr(&raw const sys::nutag_outbound), Val::Str(s)),
                Opt::To(s) => (tag_ptr(&raw const sys::siptag_to_str), Val::Str(s)),
                Opt::From(s) => (tag_ptr(&raw const sys::siptag_from_str), Val::Str(s)),
                Opt::Route(s) => (tag_ptr(&raw const sys::siptag_route_str), Val::Str(s)),
                Opt::Contact(s) => (tag_ptr(&raw const sys::siptag_contact_str), Val::Str(s)),
                Opt::Expires(s) => (tag_ptr(&raw const sys::siptag_expires_str), Val::Str(s)),
                Opt::MinExpires(s) => {
                    (tag_ptr(&raw const sys::siptag_min_expires_str), Val::Str(s))
                }
                Opt::Accept(s) => (tag_ptr(&raw const sys::siptag_accept_str), Val::Str(s)),
                Opt::ContentType(s) => (
                    tag_ptr(&raw const sys::siptag_content_type_str),
                    Val::Str(s),
                ),
                Opt::Payload(s) => (tag_ptr(&raw const sys::siptag_payload_str), Val::Str(s)),
                Opt::WwwAuthenticate(s) => (
                    tag_ptr(&raw const sys::siptag_www_authenticate_str),
                    Val::Str(s),
                ),
                Opt::ProxyAuthenticate(s) => (
                    tag_ptr(&raw const sys::siptag_proxy_authenticate_str),
                    Val::Str(s),
                ),
                Opt::Event(s) => (tag_ptr(&raw const sys::siptag_event_str), Val::Str(s)),
                Opt::Substate(st) => (
                    tag_ptr(&raw const sys::nutag_substate),
                    Val::Int(match st {
                        Substate::Active => sys::nua_substate_active,
                        Substate::Terminated => sys::nua_substate_terminated,
                    } as isize),
                ),
            };
            let value = match value {
                Val::Int(i) => i,
                Val::Str(s) => match CString::new(s) {
                    Ok(c) => {
                        let p = c.as_ptr() as sys::tag_value_t;
                        strings.push(c);
                        p
                    }
                    Err(_) => {
                        log::debug!("sip: left a tag with an embedded NUL out of a tag list");
                        continue;
                    }
                },
            };
            items.push(sys::tagi_t {
                t_tag: tag,
                t_value: value,
            });
        }
        items.push(sys::tagi_t {
            t_tag: tag_ptr(&raw const sys::tag_null),
            t_value: 0,
        });
        TagList {
            items,
            _strings: strings,
        }
    }

    /// The `TAG_NEXT` pair to pass as the first (tag, value) of a variadic call.
    pub fn next_pair(&self) -> (sys::tag_type_t, sys::tag_value_t) {
        (
            tag_ptr(&raw const sys::tag_next),
            self.items.as_ptr() as sys::tag_value_t,
        )
    }

    /// The `TAG_END` pair every variadic call ends with.
    pub fn end_pair() -> (sys::tag_type_t, sys::tag_value_t) {
        (tag_ptr(&raw const sys::tag_null), 0)
    }
}

enum Val<'a> {
    Int(isize),
    Str(&'a str),
}

/// The tag pointer for a `tag_typedef_t` static (a one-element array).
fn tag_ptr(t: *const sys::tag_typedef_t) -> sys::tag_type_t {
    t.cast()
}
