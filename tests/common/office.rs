//! The small office most end-to-end tests need: the daemon, one registered desk
//! phone (baresip, user 1001, sending a 1000 Hz tone) and one carrier trunk at
//! 127.0.0.2 whose service number rings that phone.
//!
//! The carrier's address is not 127.0.0.1 on purpose: phones live there, and a
//! phone must never be taken for the trunk.

use super::TestDir;
use super::baresip::{AnswerMode, Baresip, BaresipOpts};
use super::callbox::{Callbox, Prepared};
use super::center;
use super::ports;
use super::wait::secs;

pub const SERVICE: &str = "4008001234";
pub use super::center::CARRIER_IP;
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
        let desk_id = center::desk(&mut prepared.store, "1001");
        let carrier_port = ports::free_port();
        let trunk = center::carrier(&mut prepared.store, carrier_port);
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
