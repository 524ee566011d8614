//! Where a new call goes: the fixed routing of the telephony spine.
//!
//! A service number puts the caller in its skill group's queue (or rings its device),
//! a device dials another by extension, and a device dialing the outbound prefix plus
//! a number goes out through a trunk with the service number as caller id. Pure: a `Directory` and the call's addressing in, a
//! `Route` or the reason there is none out.

use super::directory::Directory;
use super::directory::{Language, ServiceNumber};
use super::ids::{DeviceId, GroupId, TrunkId};
use super::ivr::FlowId;
use super::ivr::builtin::FEATURE_CODE;
use super::msg::{CallDirection, CallSource, Target};

/// Where a routed call goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Ring this device or number, bridging the caller to it.
    Ring(Target),
    /// Answer the caller and queue them for this group's agents.
    Queue(GroupId),
    /// Answer the caller and walk them through an IVR flow.
    Ivr(IvrStart),
}

/// Which flow a caller walks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IvrStart {
    /// A flow of the store's.
    Flow(FlowId),
    /// The hotline's sign-in menu, for a caller whose number is an agent's saved
    /// direct number (S4, S13); its "3" goes on to `then`.
    Hotline { then: Box<Destination> },
    /// The 0000 menu of a registered phone (S7).
    Features,
}

/// The decision for a new call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub destination: Destination,
    pub direction: CallDirection,
    /// The caller id to present to the callee.
    pub caller_id: String,
    /// The service number involved (dialled in, or presented out).
    pub service_number: Option<String>,
    pub device: Option<DeviceId>,
    pub trunk: Option<TrunkId>,
    /// Queue priority of the caller (from the service number).
    pub priority: u8,
    /// The language of the prompts the caller hears.
    pub language: Language,
}

/// Why a call could not be routed; each maps to the SIP answer the caller gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoRoute {
    /// Nothing is known by the dialled number.
    UnknownNumber,
    /// The service number exists but nothing is set to answer it.
    ServiceNumberUnassigned,
    /// A device dialled out but no trunk exists.
    NoTrunk,
    /// The source named in the event is no longer in the directory (reloaded away).
    UnknownSource,
}

impl NoRoute {
    pub fn sip_status(&self) -> (u16, &'static str) {
        match self {
            NoRoute::UnknownNumber => (404, "Not Found"),
            NoRoute::ServiceNumberUnassigned => (480, "Temporarily Unavailable"),
            NoRoute::NoTrunk => (503, "Service Unavailable"),
            NoRoute::UnknownSource => (403, "Forbidden"),
        }
    }

    pub fn words(&self) -> &'static str {
        match self {
            NoRoute::UnknownNumber => "no such number",
            NoRoute::ServiceNumberUnassigned => "the service number rings nobody",
            NoRoute::NoTrunk => "no trunk to call out through",
            NoRoute::UnknownSource => "the caller is no longer configured",
        }
    }
}

/// Route a call from `source` to the dialled `to_user`.
pub fn route(
    directory: &Directory,
    source: CallSource,
    from_user: &str,
    to_user: &str,
) -> Result<Route, NoRoute> {
    match source {
        CallSource::Trunk(trunk) => {
            if directory.trunk(trunk).is_none() {
                return Err(NoRoute::UnknownSource);
            }
            let number = directory
                .service_number(to_user)
                .ok_or(NoRoute::UnknownNumber)?;
            let (mut destination, device) =
                service_destination(directory, number).ok_or(NoRoute::ServiceNumberUnassigned)?;
            let from_an_agent = directory.agents.iter().any(|a| {
                a.direct_number
                    .as_deref()
                    .is_some_and(|n| same_number(n, from_user))
            });
            if from_an_agent {
                destination = Destination::Ivr(IvrStart::Hotline {
                    then: Box::new(destination),
                });
            }
            Ok(Route {
                destination,
                direction: CallDirection::Inbound,
                caller_id: from_user.to_string(),
                service_number: Some(number.number.clone()),
                device,
                trunk: Some(trunk),
                priority: number.priority,
                language: number.language,
            })
        }
        CallSource::Device(caller) => {
            if directory.device(caller).is_none() {
                return Err(NoRoute::UnknownSource);
            }
            // An extension wins over the prefix, so extension 9001 stays reachable.
            if let Some(callee) = directory.device_by_user(to_user) {
                return Ok(Route {
                    destination: Destination::Ring(Target::Device(callee.id)),
                    direction: CallDirection::Internal,
                    caller_id: from_user.to_string(),
                    service_number: None,
                    device: Some(callee.id),
                    trunk: None,
                    priority: 0,
                    language: Language::default(),
                });
            }
            if to_user == FEATURE_CODE {
                return Ok(Route {
                    destination: Destination::Ivr(IvrStart::Features),
                    direction: CallDirection::Internal,
                    caller_id: from_user.to_string(),
                    service_number: None,
                    device: Some(caller),
                    trunk: None,
                    priority: 0,
                    language: Language::default(),
                });
            }
            // A phone calling the company's own hotline goes where a customer would.
            if let Some(number) = directory.service_number(to_user)
                && let Some((destination, _)) = service_destination(directory, number)
                    .filter(|(d, _)| !matches!(d, Destination::Ring(_)))
            {
                return Ok(Route {
                    destination,
                    direction: CallDirection::Internal,
                    caller_id: from_user.to_string(),
                    service_number: Some(number.number.clone()),
                    device: Some(caller),
                    trunk: None,
                    priority: number.priority,
                    language: number.language,
                });
            }
            let outside = outside_number(&directory.outbound_prefix, to_user)
                .ok_or(NoRoute::UnknownNumber)?;
            let trunk = directory.trunks.first().ok_or(NoRoute::NoTrunk)?;
            let caller_id = directory.outbound_caller_id(trunk);
            Ok(Route {
                destination: Destination::Ring(Target::Trunk {
                    trunk: trunk.id,
                    number: outside.to_string(),
                }),
                direction: CallDirection::Outbound,
                service_number: Some(caller_id.clone()),
                caller_id,
                device: Some(caller),
                trunk: Some(trunk.id),
                priority: 0,
                language: Language::default(),
            })
        }
    }
}

/// Where a service number sends its callers: its flow, else its group's queue, else
/// its device (with the device, for the call row).
fn service_destination(
    directory: &Directory,
    number: &ServiceNumber,
) -> Option<(Destination, Option<DeviceId>)> {
    if let Some(flow) = number.flow.filter(|f| directory.flow(*f).is_some()) {
        return Some((Destination::Ivr(IvrStart::Flow(flow)), None));
    }
    if let Some(group) = number.group.filter(|g| directory.group(*g).is_some()) {
        return Some((Destination::Queue(group), None));
    }
    number
        .device
        .map(|d| (Destination::Ring(Target::Device(d)), Some(d)))
}

/// Are these the same phone number, written with or without the country code or
/// trunk prefix ("+8613800138000", "8613800138000", "013800138000", "13800138000")?
pub fn same_number(a: &str, b: &str) -> bool {
    let digits = |s: &str| -> String { s.chars().filter(char::is_ascii_digit).collect() };
    let (a, b) = (digits(a), digits(b));
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    // Up to 3 more leading digits are a country code; the rest must be a whole number.
    !short.is_empty()
        && (long == short
            || (short.len() >= 7 && long.ends_with(short) && long.len() - short.len() <= 3))
}

/// The number after the outbound prefix, if `dialled` is prefix + a phone number.
fn outside_number<'a>(prefix: &str, dialled: &'a str) -> Option<&'a str> {
    let rest = dialled.strip_prefix(prefix)?;
    let digits = rest.strip_prefix('+').unwrap_or(rest);
    let plausible =
        !digits.is_empty() && digits.len() <= 20 && digits.bytes().all(|b| b.is_ascii_digit());
    plausible.then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_with_or_without_country_code_and_prefix() {
        assert!(same_number("13800138000", "+8613800138000"));
        assert!(same_number("+8613800138000", "013800138000"));
        assert!(same_number("13800138000", "13800138000"));
        assert!(!same_number("13800138000", "13800138001"));
        assert!(
            !same_number("138000", "99138000"),
            "a short number is not a suffix match"
        );
        assert!(!same_number("", "123"));
    }

    #[test]
    fn outside_numbers_need_the_prefix_and_digits() {
        assert_eq!(outside_number("9", "913800138000"), Some("13800138000"));
        assert_eq!(
            outside_number("9", "9+8613800138000"),
            Some("+8613800138000")
        );
        assert_eq!(outside_number("9", "9"), None);
        assert_eq!(outside_number("9", "9abc"), None);
        assert_eq!(outside_number("9", "813800138000"), None);
        assert_eq!(outside_number("", "13800138000"), Some("13800138000"));
    }
}
