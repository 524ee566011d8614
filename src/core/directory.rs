//! The configuration the switchboard and the SIP room route by: devices, trunks,
//! service numbers, agents and skill groups, as loaded from the store.
//!
//! The driver loads a `Directory` from SQLite at start and hands a copy to each room
//! that needs it; an admin change reloads it. It is plain data so that simulated-time
//! tests can build one by hand.

use std::net::IpAddr;
use std::time::Duration;

use super::ids::{AgentId, DeviceId, GroupId, TrunkId};
use super::ivr::{Flow, FlowId};
use super::media_desc::Codec;

/// Everything routing needs to know, read from the store in one go.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Directory {
    pub devices: Vec<Device>,
    pub trunks: Vec<Trunk>,
    pub service_numbers: Vec<ServiceNumber>,
    pub agents: Vec<Agent>,
    pub groups: Vec<SkillGroup>,
    /// IVR flows that service numbers and queue exit keys lead to.
    pub flows: Vec<Flow>,
    /// The busy reasons (忙碌原因) agents may choose from; any reason when empty.
    pub busy_reasons: Vec<String>,
    /// Numbers of VIP customers, who go ahead of everyone in a queue.
    pub vip_numbers: Vec<String>,
    /// Prompts an admin replaced with a recording of their own.
    pub prompt_files: Vec<PromptFile>,
    /// Customers' verification PINs (hashed), checked by "transfer to verification".
    pub customer_pins: Vec<CustomerPin>,
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
    /// A device rung directly (a reception phone), when no group is set.
    pub device: Option<DeviceId>,
    /// The IVR flow callers go through first; wins over `group` and `device`.
    pub flow: Option<FlowId>,
    /// The skill group whose queue the caller joins; wins over `device`.
    pub group: Option<GroupId>,
    /// Callers of higher priority are served first in a queue (0-9, default 0).
    pub priority: u8,
    /// The language of the prompts callers of this number hear.
    pub language: Language,
}

/// A customer's PIN for identity checks, never stored or held in clear.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerPin {
    /// The customer's phone number, as their calls present it.
    pub number: String,
    /// An argon2 PHC string of the digits.
    pub pin_hash: String,
}

/// A prompt replaced by an upload: `file` plays instead of the built-in one.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptFile {
    pub language: Language,
    pub name: String,
    pub file: std::path::PathBuf,
}

/// The language of a service number's prompts; names the folder under `sounds/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Language {
    #[default]
    ZhCn,
    En,
}

impl Language {
    pub fn parse(s: &str) -> Option<Language> {
        match s {
            "zh-CN" => Some(Language::ZhCn),
            "en" => Some(Language::En),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Language::ZhCn => "zh-CN",
            Language::En => "en",
        }
    }
}

/// Where an agent's calls ring (seed S1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AnswerMode {
    /// The desk phone bound to the agent (语音网关).
    #[default]
    Device,
    /// The agent's own SIP registration, user name = agent number (PC client).
    Softphone,
    /// The agent's direct number or mobile, called out through the trunk (直线).
    Direct,
}

impl AnswerMode {
    pub fn parse(s: &str) -> Option<AnswerMode> {
        match s {
            "device" => Some(AnswerMode::Device),
            "softphone" => Some(AnswerMode::Softphone),
            "direct" => Some(AnswerMode::Direct),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AnswerMode::Device => "device",
            AnswerMode::Softphone => "softphone",
            AnswerMode::Direct => "direct",
        }
    }

    /// What a person calls it: "desk phone", "softphone", "direct line".
    pub fn words(self) -> &'static str {
        match self {
            AnswerMode::Device => "desk phone",
            AnswerMode::Softphone => "softphone",
            AnswerMode::Direct => "direct line",
        }
    }
}

/// A person who takes calls. Their live state is the switchboard's, not this.
#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    pub id: AgentId,
    /// The agent number (工号): digits, dialled and keyed in IVRs.
    pub number: String,
    pub name: String,
    /// E.164 or national digits, reached out through the trunk in `direct` mode.
    pub direct_number: Option<String>,
    /// The desk phone bound to the agent (admin, or hot-desking with 0000).
    pub bound_device: Option<DeviceId>,
    /// The device row of the agent's own softphone login (user = `number`).
    pub softphone: Option<DeviceId>,
    /// The admin's default mode, used when a login names none. (The mode of the
    /// last login lives in the status log and survives a restart from there.)
    pub answer_mode: AnswerMode,
    /// 离线接听: queue calls reach the direct number while logged out.
    pub offline_answering: bool,
    /// Calls may fall back to the direct number when the phone is gone.
    pub allow_fallback: bool,
    /// A call to the direct number waits for the agent to press 1 before the customer
    /// is put through, so a mobile's voicemail never takes a customer.
    pub confirm_direct: bool,
    /// May listen to, whisper into and barge into other agents' calls.
    pub supervisor: bool,
    pub groups: Vec<Membership>,
}

/// An agent's place in a skill group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership {
    pub group: GroupId,
    /// 1 is offered first by the top-down strategy; larger numbers later.
    pub level: u32,
}

/// How a queue picks the agent for its next caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Every idle member rings at once; the first to answer takes the call.
    RingAll,
    /// The member idle for the longest time.
    #[default]
    LongestIdle,
    /// Members in turn, starting after the last one offered.
    RoundRobin,
    /// The member who has taken the fewest calls since logging in.
    FewestCalls,
    /// The member with the least talk time since logging in.
    LeastTalkTime,
    /// The lowest level first; members of one level in their listed order.
    TopDown,
    Random,
}

impl Strategy {
    pub const ALL: [Strategy; 7] = [
        Strategy::RingAll,
        Strategy::LongestIdle,
        Strategy::RoundRobin,
        Strategy::FewestCalls,
        Strategy::LeastTalkTime,
        Strategy::TopDown,
        Strategy::Random,
    ];

    pub fn parse(s: &str) -> Option<Strategy> {
        Strategy::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::RingAll => "ring-all",
            Strategy::LongestIdle => "longest-idle",
            Strategy::RoundRobin => "round-robin",
            Strategy::FewestCalls => "fewest-calls",
            Strategy::LeastTalkTime => "least-talk-time",
            Strategy::TopDown => "top-down",
            Strategy::Random => "random",
        }
    }
}

/// Where a caller goes who has waited too long, or finds nobody to wait for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Overflow {
    /// The "no one is available" prompt, then hang up.
    #[default]
    Hangup,
    /// Join another group's queue, keeping the priority.
    Group(GroupId),
    /// Ring a number: a device's extension, or an outside number through the trunk.
    Number(String),
}

/// A skill group (技能组) and the settings of its queue.
#[derive(Debug, Clone, PartialEq)]
pub struct SkillGroup {
    pub id: GroupId,
    pub name: String,
    pub strategy: Strategy,
    /// How long one agent rings before the next is tried.
    pub ring_timeout: Duration,
    /// Unanswered offers in a row after which the agent is set busy; 0 = never.
    pub max_no_answer: u32,
    /// After-call work (话后处理) after each call from this queue.
    pub wrap_up: Duration,
    /// How long a caller waits before `overflow`; `None` = as long as it takes.
    pub max_wait: Option<Duration>,
    pub overflow: Overflow,
    /// Callers may join when no member is logged in (otherwise: overflow at once).
    pub join_empty: bool,
    /// Waiting callers overflow when the last member logs out.
    pub leave_empty: bool,
    /// How often a waiting caller hears their position and the expected wait.
    pub announce_every: Option<Duration>,
    /// A key that takes a waiting caller out of the queue into a flow (a menu).
    pub exit: Option<QueueExit>,
}

/// A waiting caller pressing `key` leaves the queue for `flow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueExit {
    pub key: char,
    pub flow: FlowId,
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

    pub fn agent(&self, id: AgentId) -> Option<&Agent> {
        self.agents.iter().find(|a| a.id == id)
    }

    pub fn agent_by_number(&self, number: &str) -> Option<&Agent> {
        self.agents.iter().find(|a| a.number == number)
    }

    pub fn flow(&self, id: FlowId) -> Option<&Flow> {
        self.flows.iter().find(|f| f.id == id)
    }

    pub fn group(&self, id: GroupId) -> Option<&SkillGroup> {
        self.groups.iter().find(|g| g.id == id)
    }

    /// The agent whose desk phone or softphone this device is.
    pub fn agent_of_device(&self, device: DeviceId) -> Option<&Agent> {
        self.agents
            .iter()
            .find(|a| a.bound_device == Some(device) || a.softphone == Some(device))
    }

    /// The PIN hash of the customer calling from `number`.
    pub fn customer_pin(&self, number: &str) -> Option<&str> {
        self.customer_pins
            .iter()
            .find(|c| c.number == number)
            .map(|c| c.pin_hash.as_str())
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
