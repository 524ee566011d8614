//! The fence around Sofia-SIP: raw bindings in, safe values out.
//!
//! This module owns every `unsafe` block of the crate. It turns Sofia's objects into
//! small Copy wrappers ([`Nua`], [`Handle`]) and read-only views ([`Event`],
//! [`SipMsg`]) that hand out Rust strings, and it builds every tag list through
//! [`tags::TagList`]. Nothing above it sees a raw pointer or a tag.
//!
//! It must never be called off the Sofia thread: the wrappers are `!Send` (they hold
//! raw pointers), and `Agent` is created and destroyed on the thread that steps its
//! root. The tricky part is lifetime: a [`Handle`] is a plain pointer copy and stays
//! valid until [`Handle::destroy`], which the stack calls exactly once, after Sofia
//! has reported the dialog terminated (or right away for a handle with no dialog).
//! Views borrow the message of one callback and must not be kept past it.
//!
//! Besides the agent and its handles it offers what Sofia knows without a message:
//! its Replaces parser ([`parse_replaces`], from a home of its own, copied out) and
//! its reason phrases ([`status_phrase`]).

// Every unsafe block says why it is sound; CI's clippy enforces it.
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod bindings;
mod event;
mod log;
mod tags;

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::{NonNull, null_mut};

use bindings as sys;
pub use event::{CallState, Event, EventKind, SipMsg};
use tags::TagList;
pub use tags::{Opt, Substate};

/// What the Sofia thread's state implements to receive callbacks.
pub trait Sink {
    /// A NUA event. Called on the Sofia thread from inside `Agent::step`.
    fn on_event(&mut self, event: &Event<'_>);
    /// The eventfd was written: commands are waiting.
    fn on_wake(&mut self);
}

/// Identity of a received request, for `NUTAG_WITH`. Sofia only compares it with the
/// requests it still holds, so a stale value is harmless (the respond fails with an
/// `nua_i_error` event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsgRef(usize);

/// The NUA agent of this thread. Copy, like a reference; valid until `Agent::destroy`.
#[derive(Debug, Clone, Copy)]
pub struct Nua(NonNull<sys::nua_t>);

/// One NUA handle (a dialog or a transaction). Valid until `destroy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Handle(NonNull<sys::nua_handle_t>);

/// The su root, the eventfd waiter registered on it and the NUA agent.
pub struct Agent {
    root: NonNull<sys::su_root_t>,
    nua: Nua,
    wait_index: c_int,
}

impl Agent {
    /// Creates root and agent on the calling thread (which must then be the only one
    /// to step it). `sink` must stay at this address until `destroy` returns.
    pub fn create<S: Sink>(
        sink: &RefCell<S>,
        wake_fd: RawFd,
        opts: &[Opt<'_>],
    ) -> Result<Agent, String> {
        log::route_sofia_log();
        let magic = (sink as *const RefCell<S>).cast_mut().cast::<c_void>();
        // SAFETY: su_init/su_root_create have no preconditions; the root is used only on
        // this thread. su_root_threading(0) keeps NUA's stack on this same thread.
        let root = unsafe {
            if sys::su_init() != 0 {
                return Err("su_init failed".into());
            }
            let root = sys::su_root_create(null_mut());
            match NonNull::new(root) {
                Some(r) => {
                    sys::su_root_threading(r.as_ptr(), 0);
                    r
                }
                None => {
                    sys::su_deinit();
                    return Err("su_root_create failed".into());
                }
            }
        };
        let mut wait = sys::su_wait_t::default();
        // SAFETY: `wait` is a plain pollfd filled by su_wait_create and copied by
        // su_root_register; `magic` points at the caller's RefCell, which outlives the
        // registration (deregistered in destroy before the caller drops it).
        let wait_index = unsafe {
            sys::su_wait_create(&mut wait, wake_fd, libc::POLLIN as c_int);
            sys::su_root_register(root.as_ptr(), &mut wait, Some(on_wake::<S>), magic, 0)
        };
        if wait_index < 0 {
            // SAFETY: the root was created above and nothing else refers to it.
            unsafe {
                sys::su_root_destroy(root.as_ptr());
                sys::su_deinit();
            }
            return Err("su_root_register failed for the wake-up eventfd".into());
        }
        let list = TagList::new(opts);
        let (t, v) = list.next_pair();
        let (te, ve) = TagList::end_pair();
        // SAFETY: the tag list and its strings live across the call; `magic` as above.
        let nua =
            unsafe { sys::nua_create(root.as_ptr(), Some(nua_callback::<S>), magic, t, v, te, ve) };
        let Some(nua) = NonNull::new(nua) else {
            // SAFETY: tearing down what was built above, in reverse order.
            unsafe {
                sys::su_root_deregister(root.as_ptr(), wait_index);
                sys::su_root_destroy(root.as_ptr());
                sys::su_deinit();
            }
            return Err("nua_create failed (address in use or not local?)".into());
        };
        Ok(Agent {
            root,
            nua: Nua(nua),
            wait_index,
        })
    }

    pub fn nua(&self) -> Nua {
        self.nua
    }

    /// Runs Sofia for up to `timeout_ms`; callbacks fire from in here.
    pub fn step(&self, timeout_ms: i64) {
        // SAFETY: root is alive and stepped on its own thread; no Rust borrow of the
        // sink is held by the caller across this call (callbacks borrow it themselves).
        unsafe {
            sys::su_root_step(self.root.as_ptr(), timeout_ms as sys::su_duration_t);
        }
    }

    /// Frees agent and root. Every `Handle` becomes invalid.
    pub fn destroy(self) {
        // SAFETY: the order from Sofia's docs: agent, then our waiter, then root, then
        // the su library. Nothing uses these pointers afterwards (self is consumed).
        unsafe {
            sys::nua_destroy(self.nua.0.as_ptr());
            sys::su_root_deregister(self.root.as_ptr(), self.wait_index);
            sys::su_root_destroy(self.root.as_ptr());
            sys::su_deinit();
        }
    }
}

impl Nua {
    /// A new handle for an outgoing request, with our id as its magic.
    pub fn handle(self, magic: u64, opts: &[Opt<'_>]) -> Option<Handle> {
        let list = TagList::new(opts);
        let (t, v) = list.next_pair();
        let (te, ve) = TagList::end_pair();
        // SAFETY: agent alive (Nua copies die with the Agent); list outlives the call.
        // The magic is an integer in pointer clothing, never dereferenced.
        let nh = unsafe {
            sys::nua_handle(self.0.as_ptr(), magic as usize as *mut c_void, t, v, te, ve)
        };
        NonNull::new(nh).map(Handle)
    }

    /// Asks NUA to end every dialog and registration; `nua_r_shutdown` follows.
    pub fn shutdown(self) {
        // SAFETY: agent alive, own thread.
        unsafe { sys::nua_shutdown(self.0.as_ptr()) }
    }

    /// The request being delivered by the current callback.
    pub fn current_request(self) -> Option<MsgRef> {
        // SAFETY: agent alive; returns NULL outside a request callback.
        let msg = unsafe { sys::nua_current_request(self.0.as_ptr()) };
        (!msg.is_null()).then_some(MsgRef(msg as usize))
    }

    /// Where the current request came from (address and port as received).
    pub fn current_source(self) -> Option<SocketAddr> {
        // SAFETY: agent alive; msg_addrinfo reads the message's own addrinfo, whose
        // ai_addr holds ai_addrlen bytes of a sockaddr of family ai_family.
        unsafe {
            let msg = sys::nua_current_request(self.0.as_ptr());
            if msg.is_null() {
                return None;
            }
            let ai = sys::msg_addrinfo(msg);
            if ai.is_null() || (*ai).ai_addr.is_null() {
                return None;
            }
            sockaddr_to_std(
                (*ai).ai_addr.cast::<libc::sockaddr>(),
                (*ai).ai_addrlen as usize,
            )
        }
    }
}

impl Handle {
    fn ptr(self) -> *mut sys::nua_handle_t {
        self.0.as_ptr()
    }

    /// Sets the handle's magic to our id (for handles Sofia created for a request).
    pub fn bind(self, magic: u64) {
        // SAFETY: handle alive; the magic is an integer, never dereferenced.
        unsafe { sys::nua_handle_bind(self.ptr(), magic as usize as *mut c_void) }
    }

    pub fn respond(self, status: u16, phrase: &str, opts: &[Opt<'_>]) {
        let phrase = static_phrase(phrase);
        let list = TagList::new(opts);
        let (t, v) = list.next_pair();
        let (te, ve) = TagList::end_pair();
        // SAFETY: handle alive; phrase and list outlive the call (NUA copies them).
        unsafe {
            sys::nua_respond(
                self.ptr(),
                c_int::from(status),
                phrase.as_ptr(),
                t,
                v,
                te,
                ve,
            )
        }
    }

    pub fn invite(self, opts: &[Opt<'_>]) {
        with_tags(opts, |t, v, te, ve| {
            // SAFETY: handle alive; tags valid for the call (see with_tags).
            unsafe { sys::nua_invite(self.ptr(), t, v, te, ve) }
        })
    }

    pub fn bye(self) {
        with_tags(&[], |t, v, te, ve| {
            // SAFETY: as in invite.
            unsafe { sys::nua_bye(self.ptr(), t, v, te, ve) }
        })
    }

    pub fn cancel(self) {
        with_tags(&[], |t, v, te, ve| {
            // SAFETY: as in invite.
            unsafe { sys::nua_cancel(self.ptr(), t, v, te, ve) }
        })
    }

    pub fn authenticate(self, opts: &[Opt<'_>]) {
        with_tags(opts, |t, v, te, ve| {
            // SAFETY: as in invite.
            unsafe { sys::nua_authenticate(self.ptr(), t, v, te, ve) }
        })
    }

    pub fn register(self, opts: &[Opt<'_>]) {
        with_tags(opts, |t, v, te, ve| {
            // SAFETY: as in invite.
            unsafe { sys::nua_register(self.ptr(), t, v, te, ve) }
        })
    }

    pub fn options(self, opts: &[Opt<'_>]) {
        with_tags(opts, |t, v, te, ve| {
            // SAFETY: as in invite.
            unsafe { sys::nua_options(self.ptr(), t, v, te, ve) }
        })
    }

    /// Handle-specific parameters (`nua_set_hparams`), e.g. its own Allow list;
    /// `nua_r_set_params` follows.
    pub fn set_params(self, opts: &[Opt<'_>]) {
        with_tags(opts, |t, v, te, ve| {
            // SAFETY: as in invite.
            unsafe { sys::nua_set_hparams(self.ptr(), t, v, te, ve) }
        })
    }

    /// A NOTIFY in the handle's dialog; `Opt::Event` names the subscription.
    pub fn notify(self, opts: &[Opt<'_>]) {
        with_tags(opts, |t, v, te, ve| {
            // SAFETY: as in invite.
            unsafe { sys::nua_notify(self.ptr(), t, v, te, ve) }
        })
    }

    /// Frees the handle. The caller forgets every copy of it.
    pub fn destroy(self) {
        // SAFETY: handle alive; the stack removes it from its maps before calling, so
        // no copy is used again.
        unsafe { sys::nua_handle_destroy(self.ptr()) }
    }
}

/// A Replaces header (RFC 3891) taken apart by Sofia's own parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplacesView {
    pub call_id: String,
    pub to_tag: Option<String>,
    pub from_tag: Option<String>,
}

/// Parses the value of a Replaces header (`call-id;to-tag=a;from-tag=b`) with
/// Sofia's `sip_replaces` class; `None` when Sofia refuses it.
pub fn parse_replaces(value: &str) -> Option<ReplacesView> {
    let text = CString::new(value).ok()?;
    // The header class is not exported as a variable we bind, but it is the magic
    // of its header tag: SIPHDRTAG_TYPEDEF(replaces) is
    // `{ ns, "replaces", siphdrtag_class, (tag_value_t)sip_replaces_class }`.
    // SAFETY: reading a field of an initialised static tag definition.
    let class = unsafe { (*(&raw const sys::siptag_replaces).cast::<sys::tag_type_s>()).tt_magic }
        as *const sys::msg_hclass_s;
    if class.is_null() {
        return None;
    }
    // SAFETY: a fresh reference-counted home of the size Sofia expects; every
    // allocation below comes from it and dies with the unref at the end, after
    // the strings were copied out.
    unsafe {
        let home =
            sys::su_home_new(size_of::<sys::su_home_t>() as sys::isize_t).cast::<sys::su_home_t>();
        if home.is_null() {
            return None;
        }
        let h = sys::msg_header_make(home, class, text.as_ptr()).cast::<sys::sip_replaces_t>();
        let view = h.as_ref().and_then(|rp| {
            let call_id = text_of(rp.rp_call_id).filter(|c| !c.is_empty())?;
            Some(ReplacesView {
                call_id,
                to_tag: text_of(rp.rp_to_tag),
                from_tag: text_of(rp.rp_from_tag),
            })
        });
        sys::su_home_unref(home);
        view
    }
}

/// Sofia's reason phrase for a status code (`sip_status_phrase`), if it has one.
pub fn status_phrase(code: u16) -> Option<&'static str> {
    // SAFETY: returns NULL or one of the library's static phrase strings, which
    // live as long as the process.
    let p = unsafe { sys::sip_status_phrase(c_int::from(code)) };
    if p.is_null() {
        return None;
    }
    // SAFETY: as above: a NUL-terminated static string.
    unsafe { CStr::from_ptr(p) }.to_str().ok()
}

/// An owned copy of a C string that is NULL or NUL-terminated.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string alive for the call.
unsafe fn text_of(p: *const c_char) -> Option<String> {
    // SAFETY: per the contract above.
    unsafe { text(p) }.map(std::borrow::Cow::into_owned)
}

/// Most reason phrases we may send; beyond this many distinct ones, new ones are
/// replaced by a generic phrase (they would otherwise be leaked without bound).
const MAX_PHRASES: usize = 512;

/// A reason phrase that lives for the rest of the process.
///
/// `nua_respond` keeps the phrase *pointer* in its signal and reads it later, when the
/// root next runs (unlike tag values, which it copies), so the text must outlive the
/// call. Phrases come from a small set (standard ones and the switchboard's), so each
/// distinct one is leaked once and reused.
fn static_phrase(phrase: &str) -> &'static CStr {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static PHRASES: Mutex<Option<HashMap<String, &'static CStr>>> = Mutex::new(None);
    let Ok(mut guard) = PHRASES.lock() else {
        return c"Unknown";
    };
    let map = guard.get_or_insert_with(HashMap::new);
    if let Some(p) = map.get(phrase) {
        return p;
    }
    if map.len() >= MAX_PHRASES {
        return c"Unknown";
    }
    let Ok(c) = CString::new(phrase) else {
        return c"Unknown";
    };
    let leaked: &'static CStr = Box::leak(c.into_boxed_c_str());
    map.insert(phrase.to_owned(), leaked);
    leaked
}

/// Runs `f` with the (TAG_NEXT, list, TAG_END) arguments of a variadic NUA call.
fn with_tags(
    opts: &[Opt<'_>],
    f: impl FnOnce(sys::tag_type_t, sys::tag_value_t, sys::tag_type_t, sys::tag_value_t),
) {
    let list = TagList::new(opts);
    let (t, v) = list.next_pair();
    let (te, ve) = TagList::end_pair();
    f(t, v, te, ve);
    drop(list);
}

/// A non-blocking eventfd other threads write to wake the Sofia root.
#[derive(Debug)]
pub struct EventFd(OwnedFd);

impl EventFd {
    pub fn new() -> std::io::Result<EventFd> {
        // SAFETY: plain syscall; a non-negative result is a new fd we own.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: fd is valid and owned by nobody else.
        Ok(EventFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    pub fn raw(&self) -> RawFd {
        self.0.as_raw_fd()
    }

    /// Adds one to the counter; the root's poll sees the fd readable.
    pub fn notify(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our own fd. A full counter
        // (EAGAIN) already means "readable", so the result can be ignored.
        unsafe {
            libc::write(self.raw(), (&raw const one).cast::<c_void>(), 8);
        }
    }
}

fn drain_eventfd(fd: RawFd) {
    let mut buf: u64 = 0;
    // SAFETY: reads at most 8 bytes into a live u64; non-blocking fd.
    unsafe {
        libc::read(fd, (&raw mut buf).cast::<c_void>(), 8);
    }
}

/// # Safety
/// `sa` points at `len` readable bytes of a socket address.
unsafe fn sockaddr_to_std(sa: *const libc::sockaddr, len: usize) -> Option<SocketAddr> {
    // SAFETY: family read from a valid sockaddr; the cast struct fits in `len`.
    unsafe {
        match c_int::from((*sa).sa_family) {
            libc::AF_INET if len >= size_of::<libc::sockaddr_in>() => {
                let sin = &*sa.cast::<libc::sockaddr_in>();
                let ip = std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                Some(SocketAddr::from((ip, u16::from_be(sin.sin_port))))
            }
            libc::AF_INET6 if len >= size_of::<libc::sockaddr_in6>() => {
                let sin6 = &*sa.cast::<libc::sockaddr_in6>();
                let ip = std::net::Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                Some(SocketAddr::from((ip, u16::from_be(sin6.sin6_port))))
            }
            _ => None,
        }
    }
}

/// Text of a C string, lossily; `None` for NULL.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string alive for `'a`.
unsafe fn text<'a>(p: *const c_char) -> Option<std::borrow::Cow<'a, str>> {
    if p.is_null() {
        return None;
    }
    // SAFETY: per the contract above.
    Some(unsafe { CStr::from_ptr(p) }.to_string_lossy())
}

/// The eventfd callback: drain the counter, then let the sink read its commands.
unsafe extern "C" fn on_wake<S: Sink>(
    _root_magic: *mut c_void,
    w: *mut sys::su_wait_t,
    arg: *mut c_void,
) -> c_int {
    let r = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `w` is the waiter Sofia polled, `arg` the RefCell registered in
        // Agent::create, alive until Agent::destroy.
        let (fd, cell) = unsafe { ((*w).fd, &*(arg as *const RefCell<S>)) };
        drain_eventfd(fd);
        match cell.try_borrow_mut() {
            Ok(mut sink) => sink.on_wake(),
            Err(_) => ::log::error!("sip: wake-up re-entered the Sofia state; commands wait"),
        }
    }));
    if r.is_err() {
        ::log::error!("sip: panic while running commands (caught)");
    }
    0
}

/// The NUA callback: wrap the arguments in a view and hand it to the sink.
#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn nua_callback<S: Sink>(
    event: sys::nua_event_t,
    status: c_int,
    phrase: *const c_char,
    _nua: *mut sys::nua_t,
    magic: *mut c_void,
    nh: *mut sys::nua_handle_t,
    hmagic: *mut c_void,
    sip: *const sys::sip_t,
    tags: *mut sys::tagi_t,
) {
    let r = catch_unwind(AssertUnwindSafe(|| {
        if magic.is_null() {
            return;
        }
        // SAFETY: `magic` is the RefCell given to nua_create, alive until destroy;
        // `sip`, `phrase` and `tags` are valid for this callback only, and the Event
        // borrowing them is dropped before we return.
        let (cell, ev) = unsafe {
            let cell = &*(magic as *const RefCell<S>);
            let ev = Event::new(event, status, phrase, nh, hmagic, sip, tags);
            (cell, ev)
        };
        match cell.try_borrow_mut() {
            Ok(mut sink) => sink.on_event(&ev),
            Err(_) => ::log::error!("sip: NUA callback re-entered; {:?} dropped", ev.kind),
        }
    }));
    if r.is_err() {
        ::log::error!("sip: panic in the NUA callback (caught; event dropped)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_values_are_parsed_by_sofia() {
        let rp = parse_replaces("abc@host;to-tag=1;from-tag=2;early-only").unwrap();
        assert_eq!(rp.call_id, "abc@host");
        assert_eq!(rp.to_tag.as_deref(), Some("1"));
        assert_eq!(rp.from_tag.as_deref(), Some("2"));
        let rp = parse_replaces("abc@host").unwrap();
        assert_eq!((rp.to_tag, rp.from_tag), (None, None));
        for bad in ["", ";to-tag=1", "a\0b"] {
            assert_eq!(parse_replaces(bad), None, "{bad:?}");
        }
        // Sofia takes up a blank as part of the Call-ID word, tags and all; such a
        // Replaces names no dialog (tags are required to match), so it is harmless.
        let odd = parse_replaces("a b;to-tag=1").unwrap();
        assert_eq!(odd.to_tag, None);
    }

    #[test]
    fn status_phrases_come_from_sofia() {
        assert_eq!(status_phrase(200), Some("OK"));
        assert_eq!(status_phrase(486), Some("Busy Here"));
        assert_eq!(status_phrase(799), None);
    }
}
