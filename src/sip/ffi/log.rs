//! Sofia's own log lines, routed into the `log` crate at debug level instead of
//! stderr.
//!
//! It owns the process-wide redirect of `su_log_default` (every Sofia module log falls
//! back to it). It must never block or panic inside Sofia's logger. The tricky part is
//! that Sofia hands us a `va_list` (formatted with `vsnprintf`, which bindgen gives the
//! same `va_list` type) and often prints one line in several pieces, so pieces are
//! kept per thread until a newline arrives.

use std::cell::RefCell;
use std::ffi::{c_char, c_void};
use std::sync::Once;

use super::bindings as sys;

/// Sofia levels go from 0 (fatal) to 9 (everything); 3 keeps errors and warnings
/// without per-message chatter.
const SOFIA_LEVEL: u32 = 3;

pub(super) fn route_sofia_log() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: su_log_redirect/su_log_set_level only store the function pointer and
        // level in Sofia's global default log; NULL means that default log. Done once
        // before any Sofia thread runs.
        unsafe {
            sys::su_log_redirect(
                std::ptr::null_mut(),
                Some(sofia_logger),
                std::ptr::null_mut(),
            );
            sys::su_log_set_level(std::ptr::null_mut(), SOFIA_LEVEL);
        }
    });
}

thread_local! {
    static PENDING: RefCell<String> = const { RefCell::new(String::new()) };
}

unsafe extern "C" fn sofia_logger(
    _stream: *mut c_void,
    fmt: *const c_char,
    ap: *mut sys::__va_list_tag,
) {
    let _ = std::panic::catch_unwind(|| {
        if fmt.is_null() {
            return;
        }
        let mut buf = [0u8; 1024];
        // SAFETY: fmt and ap are the format and arguments Sofia passed us; vsnprintf
        // writes at most buf.len() bytes, NUL included.
        let n =
            unsafe { sys::vsnprintf(buf.as_mut_ptr().cast::<c_char>(), buf.len() as _, fmt, ap) };
        if n < 0 {
            return;
        }
        let len = (n as usize).min(buf.len() - 1);
        let piece = String::from_utf8_lossy(&buf[..len]);
        PENDING.with(|p| {
            let Ok(mut pending) = p.try_borrow_mut() else {
                return;
            };
            pending.push_str(&piece);
            while let Some(i) = pending.find('\n') {
                let line: String = pending.drain(..=i).collect();
                ::log::debug!(target: "sofia", "{}", line.trim_end());
            }
            // A runaway line without newline must not grow forever.
            if pending.len() > 4096 {
                ::log::debug!(target: "sofia", "{}", pending.as_str());
                pending.clear();
            }
        });
    });
}
