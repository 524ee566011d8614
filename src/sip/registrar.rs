//! The registrar's table: which contacts each device has registered, until when, and
//! whether qualify pings still reach them. Sans-IO: every call takes `now`.
//!
//! It owns bindings and the last status reported per device; it must never talk SIP
//! (the stack parses REGISTER and answers it) nor decide authentication. The tricky
//! part is reporting: the switchboard wants a `DeviceStatus` exactly when a device's
//! contact count or reachability changes, whatever caused it (REGISTER, expiry, a
//! qualify answer, a directory reload), so changes are found by comparing with what
//! was last reported rather than by each caller remembering to emit.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::core::{DeviceId, Directory};

/// Default registration lifetime when the client names none (RFC 3261 §10.3).
const DEFAULT_EXPIRES: u32 = 3600;
/// A device cannot hold more bindings than this; the oldest goes first.
const MAX_BINDINGS: usize = 10;

/// What one Contact of a REGISTER asks for, after expiry policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Set { uri: String, expires: u32 },
    Remove { uri: String },
    RemoveAll,
}

/// Expiry policy outcome for one contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiresDecision {
    /// Keep for this many seconds (0 = remove).
    Secs(u32),
    /// Below our minimum: answer 423 with `Min-Expires`.
    TooBrief,
}

/// The lifetime to grant: the contact's `expires` param wins over the Expires header,
/// then the default; clamped to `max`, refused under `min` (RFC 3261 §10.3 step 7).
pub fn decide_expires(
    param: Option<&str>,
    header: Option<u64>,
    min: u32,
    max: u32,
) -> ExpiresDecision {
    let asked = param
        .and_then(|p| p.trim().parse::<u64>().ok())
        .or(header)
        .unwrap_or(u64::from(DEFAULT_EXPIRES));
    if asked == 0 {
        ExpiresDecision::Secs(0)
    } else if asked < u64::from(min) {
        ExpiresDecision::TooBrief
    } else {
        ExpiresDecision::Secs(asked.min(u64::from(max)) as u32)
    }
}

#[derive(Debug, Clone)]
struct Binding {
    uri: String,
    expires_at: Instant,
    /// Order of the latest REGISTER that set it: the newest is called first.
    seq: u64,
    reachable: bool,
}

#[derive(Debug, Default)]
pub struct Registrar {
    bindings: HashMap<DeviceId, Vec<Binding>>,
    reported: HashMap<DeviceId, (usize, bool)>,
    /// Reachability of static contacts, when qualify pings them.
    static_reachable: HashMap<DeviceId, bool>,
    seq: u64,
}

impl Registrar {
    pub fn new() -> Registrar {
        Registrar::default()
    }

    /// Applies one REGISTER's contact changes for `device`.
    pub fn apply(&mut self, device: DeviceId, changes: &[Change], now: Instant) {
        self.seq += 1;
        let list = self.bindings.entry(device).or_default();
        for change in changes {
            match change {
                Change::RemoveAll => list.clear(),
                Change::Remove { uri } => list.retain(|b| &b.uri != uri),
                Change::Set { uri, expires } => {
                    let expires_at = now + Duration::from_secs(u64::from(*expires));
                    if let Some(b) = list.iter_mut().find(|b| &b.uri == uri) {
                        b.expires_at = expires_at;
                        b.seq = self.seq;
                    } else {
                        list.push(Binding {
                            uri: uri.clone(),
                            expires_at,
                            seq: self.seq,
                            reachable: true,
                        });
                    }
                }
            }
        }
        while list.len() > MAX_BINDINGS {
            if let Some(oldest) = list
                .iter()
                .enumerate()
                .min_by_key(|(_, b)| b.seq)
                .map(|(i, _)| i)
            {
                list.remove(oldest);
            }
        }
        if list.is_empty() {
            self.bindings.remove(&device);
        }
    }

    /// The device's bindings with their remaining seconds, for the 200 OK.
    pub fn bindings(&self, device: DeviceId, now: Instant) -> Vec<(String, u64)> {
        self.bindings
            .get(&device)
            .map(|list| {
                list.iter()
                    .map(|b| {
                        // Rounded up: a binding set for 120 s reads 120, not 119.
                        let left = b.expires_at.saturating_duration_since(now).as_millis();
                        (b.uri.clone(), left.div_ceil(1000) as u64)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The contact to call: the most recently registered one.
    pub fn newest(&self, device: DeviceId) -> Option<&str> {
        self.bindings
            .get(&device)?
            .iter()
            .max_by_key(|b| b.seq)
            .map(|b| b.uri.as_str())
    }

    /// Drops bindings whose time has come.
    pub fn expire(&mut self, now: Instant) {
        for list in self.bindings.values_mut() {
            list.retain(|b| b.expires_at > now);
        }
        self.bindings.retain(|_, list| !list.is_empty());
    }

    pub fn next_expiry(&self) -> Option<Instant> {
        self.bindings.values().flatten().map(|b| b.expires_at).min()
    }

    /// Records a qualify outcome for a registered contact (or the static one).
    pub fn set_reachable(&mut self, device: DeviceId, uri: &str, reachable: bool, is_static: bool) {
        if is_static {
            self.static_reachable.insert(device, reachable);
        } else if let Some(b) = self
            .bindings
            .get_mut(&device)
            .and_then(|l| l.iter_mut().find(|b| b.uri == uri))
        {
            b.reachable = reachable;
        }
    }

    /// Every registered contact, for qualify.
    pub fn all_contacts(&self) -> Vec<(DeviceId, String)> {
        self.bindings
            .iter()
            .flat_map(|(d, l)| l.iter().map(|b| (*d, b.uri.clone())))
            .collect()
    }

    /// Forgets devices that left the directory (after a reload).
    pub fn retain_devices(&mut self, dir: &Directory) {
        self.bindings.retain(|d, _| dir.device(*d).is_some());
        self.static_reachable
            .retain(|d, _| dir.device(*d).is_some_and(|x| x.static_contact.is_some()));
    }

    /// `(device, contacts, reachable)` for every device whose status differs from what
    /// was last reported; marks them reported. A device with a static contact always
    /// counts one contact. Devices that left the directory are forgotten silently.
    pub fn status_changes(&mut self, dir: &Directory) -> Vec<(DeviceId, usize, bool)> {
        let mut out = Vec::new();
        // Runs after every SIP step: one pass over the devices, no lookups by id in
        // the directory's lists (with 1600 devices those made it quadratic and
        // capped the calls per second).
        let mut known = std::collections::HashSet::with_capacity(dir.devices.len());
        for dev in &dir.devices {
            known.insert(dev.id);
            let list = self.bindings.get(&dev.id);
            let (contacts, reachable) = if dev.static_contact.is_some() {
                (
                    1,
                    self.static_reachable.get(&dev.id).copied().unwrap_or(true),
                )
            } else {
                let n = list.map_or(0, Vec::len);
                (n, list.is_some_and(|l| l.iter().any(|b| b.reachable)))
            };
            let before = self.reported.get(&dev.id).copied().unwrap_or((0, false));
            if before != (contacts, reachable) {
                self.reported.insert(dev.id, (contacts, reachable));
                out.push((dev.id, contacts, reachable));
            }
        }
        self.reported.retain(|d, _| known.contains(d));
        out
    }
}

#[cfg(test)]
#[path = "registrar_tests.rs"]
mod tests;
