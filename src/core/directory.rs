//! The configuration the switchboard and the SIP room route by: devices, trunks and
//! service numbers, as loaded from the store.
//!
//! The driver loads a `Directory` from SQLite at start and hands a copy to each room
//! that needs it; an admin change reloads it. It is plain data so that simulated-time
//! tests can build one by hand.

use std::net::IpAddr;

use super::ids::{DeviceId, TrunkId};
use super::media_desc::Codec;

/// Everything routing needs to know, read from the store in one go.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Directory {
    pub devices: Vec<Device>,
    pub trunks: Vec<Trunk>,
    pub service_numbers: Vec<ServiceNumber>,
    /// Digits a device dials before an outside number (default "9").
    pub outbound_prefix: String,
}

/// A SIP endpoint that authenticates with a user name and password: a desk phone, a
/// softphone, or a gateway reached at a static contact.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    pub id: DeviceId,
    /// SIP user name, also the extension other devices dial.
    pub user: String,
    pub password: String,
    pub name: String,
    /// A fixed contact URI (`sip:host:port`) for devices that never register.
    pub static_contact: Option<String>,
}

/// A carrier or gateway that brings service numbers in and takes calls out.
#[derive(Debug, Clone, PartialEq)]
pub struct Trunk {
    pub id: TrunkId,
    pub name: String,
    /// Where calls go out: `host[:port]` of the carrier.
    pub host: String,
    /// Addresses allowed to send us INVITEs as this trunk.
    pub inbound_peers: Vec<IpAddr>,
    /// Send out-of-dialog requests through this proxy (`sip:host:port`), if set.
    pub outbound_proxy: Option<String>,
    /// Register to the carrier with these credentials, if set.
    pub register: Option<TrunkRegistration>,
    /// The caller id presented on outbound calls when no service number applies.
    pub caller_id: String,
    /// Codecs offered to the carrier, in order.
    pub codecs: Vec<Codec>,
}

/// Credentials for registering to a carrier.
#[derive(Debug, Clone, PartialEq)]
pub struct TrunkRegistration {
    pub user: String,
    pub password: String,
    pub expires_secs: u32,
}

/// A public number (DID) that reaches the box through a trunk.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceNumber {
    /// The number as the carrier sends it in the request URI or To.
    pub number: String,
    pub trunk: TrunkId,
    /// The device that rings for now (the ACD and IVR come later).
    pub device: Option<DeviceId>,
}

impl Directory {
    pub fn device(&self, id: DeviceId) -> Option<&Device> {
        self.devices.iter().find(|d| d.id == id)
    }

    pub fn device_by_user(&self, user: &str) -> Option<&Device> {
        self.devices.iter().find(|d| d.user == user)
    }

    pub fn trunk(&self, id: TrunkId) -> Option<&Trunk> {
        self.trunks.iter().find(|t| t.id == id)
    }

    /// The trunk whose inbound peers include `addr`.
    pub fn trunk_by_peer(&self, addr: IpAddr) -> Option<&Trunk> {
        self.trunks.iter().find(|t| t.inbound_peers.contains(&addr))
    }

    pub fn service_number(&self, number: &str) -> Option<&ServiceNumber> {
        self.service_numbers.iter().find(|s| s.number == number)
    }

    /// The service number presented as caller id for calls out of `trunk`.
    pub fn outbound_caller_id(&self, trunk: &Trunk) -> String {
        self.service_numbers
            .iter()
            .find(|s| s.trunk == trunk.id)
            .map(|s| s.number.clone())
            .unwrap_or_else(|| trunk.caller_id.clone())
    }
}
