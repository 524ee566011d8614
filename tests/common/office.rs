//! The small office most end-to-end tests need: the daemon, one registered desk
//! phone (baresip, user 1001, sending a 1000 Hz tone) and one carrier trunk at
//! 127.0.0.2 whose service number rings that phone.
//!
//! The carrier's address is not 127.0.0.1 on purpose: phones live there, and a
//! phone must never be taken for the trunk.

use std::net::IpAddr;

use callbox::core::Codec;
use callbox::store::{NewDevice, NewTrunk};

use super::TestDir;
use super::baresip::{AnswerMode, Baresip, BaresipOpts};
use super::callbox::{Callbox, Prepared};
use super::ports;
use super::wait::secs;

pub const SERVICE: &str = "4008001234";
pub const CARRIER_IP: &str = "127.0.0.2";
/// The tone the desk phone sends.
pub const DESK_TONE: u32 = 1000;

pub struct Office {
    pub callbox: Callbox,
    pub desk: Baresip,
    /// Where the carrier must listen for outbound calls (on `CARRIER_IP`).
    pub carrier_port: u16,
}

impl Office {
    /// Start it all; returns once the desk phone is registered.
    pub fn start(t: &TestDir, answer: AnswerMode) -> Office {
        Office::start_with(t, answer, |_| {})
    }

    /// `start`, with the daemon's settings adjusted first.
    pub fn start_with(
        t: &TestDir,
        answer: AnswerMode,
        adjust: impl FnOnce(&mut Prepared),
    ) -> Office {
        let mut prepared = Prepared::new(t.path()).unwrap();
        adjust(&mut prepared);
        let device = NewDevice {
            user: "1001".into(),
            password: "pw-1001".into(),
            name: "desk".into(),
            static_contact: None,
        };
        let desk_id = prepared.store.add_device(&device).unwrap();
        let carrier_port = ports::free_port();
        let trunk = prepared
            .store
            .add_trunk(&NewTrunk {
                name: "carrier".into(),
                host: format!("{CARRIER_IP}:{carrier_port}"),
                inbound_peers: vec![CARRIER_IP.parse::<IpAddr>().unwrap()],
                outbound_proxy: None,
                register: None,
                caller_id: "4000000000".into(),
                codecs: vec![Codec::Pcma, Codec::Pcmu],
            })
            .unwrap();
        prepared
            .store
            .add_service_number(SERVICE, trunk, Some(desk_id))
            .unwrap();
        let callbox = prepared.start().unwrap();
        let mut desk = Baresip::start(
            BaresipOpts::new("desk")
                .user("1001")
                .register(callbox.sip, "pw-1001")
                .tone(DESK_TONE)
                .answer(answer),
            t.path(),
        )
        .unwrap();
        desk.wait_registered(secs(5)).unwrap();
        Office {
            callbox,
            desk,
            carrier_port,
        }
    }
}
