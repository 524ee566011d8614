//! Heartbeats: one counter per long-running loop (SIP, media, switchboard, store
//! writer, HTTP), ticked once per loop turn and read by the watchdog (`notify.rs`),
//! which pings systemd only while every loop has moved since the last ping.
//!
//! It owns the counters and nothing else; a loop that blocks must wake at least
//! every second (a poll or receive timeout) so an idle loop still ticks. The counters
//! are process-wide statics rather than handles threaded through every room's
//! `spawn`: a tick is one relaxed atomic add, and the rooms stay free of daemon types.
//!
//! Debug builds only: `CALLBOX_TEST_STALL=<loop>[:<secs>]` makes that loop's ticks
//! stop counting `secs` (default 0) seconds after [`arm_test_stall`], so tests can
//! watch the watchdog withhold its ping. Release builds have no such hook.

use std::sync::atomic::{AtomicU64, Ordering};

/// The loops the watchdog watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loop {
    Sip,
    Media,
    Board,
    Store,
    Http,
}

impl Loop {
    pub const ALL: [Loop; 5] = [Loop::Sip, Loop::Media, Loop::Board, Loop::Store, Loop::Http];

    /// The name in logs (and in `CALLBOX_TEST_STALL`).
    pub fn name(self) -> &'static str {
        match self {
            Loop::Sip => "sip",
            Loop::Media => "media",
            Loop::Board => "board",
            Loop::Store => "store",
            Loop::Http => "http",
        }
    }

    pub fn from_name(name: &str) -> Option<Loop> {
        Loop::ALL.into_iter().find(|l| l.name() == name)
    }

    fn index(self) -> usize {
        self as usize
    }
}

static BEATS: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];

/// One turn of `which`'s loop.
#[inline]
pub fn tick(which: Loop) {
    #[cfg(debug_assertions)]
    if test_stall::stalled(which) {
        return;
    }
    BEATS[which.index()].fetch_add(1, Ordering::Relaxed);
}

/// Every loop's count now, in [`Loop::ALL`] order.
pub fn snapshot() -> [u64; 5] {
    std::array::from_fn(|i| BEATS[i].load(Ordering::Relaxed))
}

/// The loops whose count has not moved from `before` to `now`.
pub fn stalled_since(before: &[u64; 5], now: &[u64; 5]) -> Vec<Loop> {
    Loop::ALL
        .into_iter()
        .filter(|l| now[l.index()] == before[l.index()])
        .collect()
}

/// Starts the test stall's clock (the daemon calls it when it is ready). Does nothing
/// in release builds or without `CALLBOX_TEST_STALL`.
pub fn arm_test_stall() {
    #[cfg(debug_assertions)]
    test_stall::arm();
}

#[cfg(debug_assertions)]
mod test_stall {
    use std::sync::OnceLock;
    use std::time::{Duration, Instant};

    use super::Loop;

    /// The loop to stall and from when, set once when armed.
    static STALL: OnceLock<Option<(Loop, Instant)>> = OnceLock::new();

    pub fn arm() {
        STALL.get_or_init(|| {
            let spec = std::env::var("CALLBOX_TEST_STALL").ok()?;
            let (name, secs) = spec.split_once(':').unwrap_or((spec.as_str(), "0"));
            let Some(which) = Loop::from_name(name.trim()) else {
                log::warn!("CALLBOX_TEST_STALL={spec}: no such loop");
                return None;
            };
            let secs: u64 = secs.trim().parse().unwrap_or(0);
            log::warn!(
                "test hook: the {} loop stops ticking in {secs} s",
                which.name()
            );
            Some((which, Instant::now() + Duration::from_secs(secs)))
        });
    }

    pub fn stalled(which: Loop) -> bool {
        matches!(STALL.get(), Some(Some((l, from))) if *l == which && Instant::now() >= *from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_stalls_are_found() {
        for l in Loop::ALL {
            assert_eq!(Loop::from_name(l.name()), Some(l));
        }
        assert_eq!(Loop::from_name("disk"), None);
        let before = [1, 2, 3, 4, 5];
        let now = [2, 2, 4, 5, 5];
        assert_eq!(stalled_since(&before, &now), [Loop::Media, Loop::Http]);
        assert!(stalled_since(&now, &[3, 3, 5, 6, 6]).is_empty());
    }
}
