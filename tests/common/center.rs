//! Provisioning a call center for end-to-end tests, through the library on the
//! daemon's own SQLite file: desk phones, the carrier trunk at 127.0.0.2, agents; and
//! the API calls a test makes as an agent (log in, read the live states).
//!
//! Every desk phone `USER` has the password `pw-USER`, so the baresip or sipp that
//! plays it knows its login.

use std::net::IpAddr;

use callbox::core::{AgentId, AnswerMode, Codec, DeviceId, TrunkId};
use callbox::store::{NewAgent, NewDevice, NewTrunk, Store};

use super::TestDir;
use super::baresip::{self, Baresip, BaresipOpts};
use super::callbox::Callbox;
use super::http::json;
use super::wait::secs;

/// The carrier's address: not 127.0.0.1, where the phones are, so no phone is ever
/// taken for the trunk.
pub const CARRIER_IP: &str = "127.0.0.2";

/// A desk phone that registers as `user` with the password `pw-<user>`.
pub fn desk(store: &mut Store, user: &str) -> DeviceId {
    store
        .add_device(&NewDevice {
            user: user.into(),
            password: format!("pw-{user}"),
            name: format!("desk {user}"),
            static_contact: None,
        })
        .expect("the desk phone is added")
}

/// The carrier: calls from `CARRIER_IP` come in through it, calls out go to
/// `CARRIER_IP:port`.
pub fn carrier(store: &mut Store, port: u16) -> TrunkId {
    carrier_from(store, port, &[])
}

/// The carrier, also taking calls from 127.0.0.1: a customer played by baresip,
/// which binds 127.0.0.1 only, comes in through it.
pub fn carrier_for_softphones(store: &mut Store, port: u16) -> TrunkId {
    carrier_from(store, port, &[IpAddr::from([127, 0, 0, 1])])
}

fn carrier_from(store: &mut Store, port: u16, also: &[IpAddr]) -> TrunkId {
    let mut peers = vec![CARRIER_IP.parse::<IpAddr>().expect("an IP address")];
    peers.extend_from_slice(also);
    store
        .add_trunk(&NewTrunk {
            name: "carrier".into(),
            host: format!("{CARRIER_IP}:{port}"),
            inbound_peers: peers,
            outbound_proxy: None,
            register: None,
            caller_id: "4000000000".into(),
            codecs: vec![Codec::Pcma, Codec::Pcmu],
        })
        .expect("the carrier is added")
}

/// Agent `number` on desk phone `phone`, reachable on `direct` (confirming calls
/// there with 1), web password `secret-pw`.
pub fn agent(
    store: &mut Store,
    number: &str,
    phone: Option<DeviceId>,
    direct: Option<&str>,
) -> AgentId {
    store
        .add_agent(&NewAgent {
            number: number.into(),
            name: format!("agent {number}"),
            web_password: "secret-pw".into(),
            sip_password: None,
            direct_number: direct.map(str::to_string),
            bound_device: phone,
            answer_mode: AnswerMode::Device,
            offline_answering: false,
            allow_fallback: false,
            confirm_direct: true,
        })
        .expect("the agent is added")
}

/// baresip registered as desk phone `user`, sending a `tone` Hz tone and answering
/// by itself.
pub fn desk_phone(t: &TestDir, callbox: &Callbox, user: &str, tone: u32) -> Baresip {
    let mut phone = Baresip::start(
        BaresipOpts::new(&format!("desk{user}"))
            .user(user)
            .register(callbox.sip, &format!("pw-{user}"))
            .tone(tone)
            .answer(baresip::AnswerMode::Auto),
        t.path(),
    )
    .expect("baresip starts");
    phone.wait_registered(secs(5)).expect("the phone registers");
    phone
}

/// Log agent `number` in over the API, in `mode` (`{}` body when `None`).
pub fn login(callbox: &Callbox, number: &str, mode: Option<&str>) -> serde_json::Value {
    let body = mode.map_or_else(|| "{}".to_string(), |m| format!(r#"{{"mode":"{m}"}}"#));
    let (code, answer) = json(
        callbox.http,
        "POST",
        &format!("/api/v1/agents/{number}/login"),
        &body,
    );
    assert_eq!(
        code,
        200,
        "{number} logs in: {answer}\n{}",
        callbox.log_tail()
    );
    answer
}

/// Agent `number` as `GET /api/v1/agents` shows them (`null` when unknown).
pub fn agent_view(callbox: &Callbox, number: &str) -> serde_json::Value {
    let (code, list) = json(callbox.http, "GET", "/api/v1/agents", "");
    assert_eq!(code, 200, "{list}");
    list.as_array()
        .and_then(|l| l.iter().find(|a| a["number"] == number).cloned())
        .unwrap_or_default()
}

/// Agent `number`'s state word ("idle", "talking", ...).
pub fn agent_state(callbox: &Callbox, number: &str) -> String {
    agent_view(callbox, number)["state"]
        .as_str()
        .unwrap_or("")
        .to_string()
}
