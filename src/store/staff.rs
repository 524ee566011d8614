//! The admin console's people and phones as the store keeps them: agents with their
//! groups and phones, devices, skill groups with their members, for `api/staff/`.
//! Reads come back as the records below; changes are partial (`None` keeps a field).
//!
//! Every value is validated before any SQL runs and a refusal names the field as the
//! console sends it (`number`, `bound_device`, `ring_timeout`...), as in `agents.rs`,
//! whose checks these share. A name or number another row has is
//! [`StoreError::Duplicate`]; a change the state of other rows forbids (removing a
//! group an IVR flow queues for) is a [`Conflict`] answered beside the result, so
//! nothing is written then. It must not know the live state (logged in, on a call):
//! the API asks the switchboard before it removes or renumbers an agent.
//!
//! The submodules: `agent_edit.rs` (an agent's changes and removal), `devices.rs`,
//! `groups.rs` (queue settings and members), `lists.rs` (the reads).

mod agent_edit;
mod devices;
mod groups;
mod lists;

use crate::core::{AgentId, AnswerMode, DeviceId, GroupId, Overflow, QueueExit, Strategy};

pub use agent_edit::AgentChange;
pub use devices::DeviceChange;
pub use groups::GroupChange;

/// Refused because of other rows or the last admin: the words, and the field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub field: Option<&'static str>,
    pub message: String,
}

impl Conflict {
    pub fn new(field: Option<&'static str>, message: impl Into<String>) -> Conflict {
        Conflict {
            field,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A device as another row shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRef {
    pub id: DeviceId,
    pub user: String,
    pub name: String,
}

/// An agent (or group) and a membership level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub id: i64,
    /// The agent number, or the group name.
    pub key: String,
    /// The agent's name (empty for a group).
    pub name: String,
    pub level: u32,
}

/// An agent's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentRecord {
    pub id: AgentId,
    pub number: String,
    pub name: String,
    pub direct_number: Option<String>,
    pub bound_device: Option<DeviceRef>,
    pub softphone_device: Option<DeviceRef>,
    pub answer_mode: AnswerMode,
    pub offline_answering: bool,
    pub allow_fallback: bool,
    pub confirm_direct: bool,
    pub supervisor: bool,
    /// Groups (`key` is the group's name) in group order.
    pub groups: Vec<Named>,
}

/// A device; its password is never read out here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    pub id: DeviceId,
    pub user: String,
    pub name: String,
    pub static_contact: Option<String>,
    /// The agent whose desk phone it is (number, name).
    pub desk_of: Option<(String, String)>,
    /// The agent whose softphone login it is (number, name).
    pub softphone_of: Option<(String, String)>,
}

/// A skill group with its queue settings and members.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRecord {
    pub id: GroupId,
    pub name: String,
    pub strategy: Strategy,
    pub ring_timeout_secs: u64,
    pub max_no_answer: u32,
    pub wrap_up_secs: u64,
    pub max_wait_secs: Option<u64>,
    pub overflow: Overflow,
    pub join_empty: bool,
    pub leave_empty: bool,
    pub announce_every_secs: Option<u64>,
    pub exit: Option<QueueExit>,
    /// Members (`key` is the agent number) by level, then number.
    pub members: Vec<Named>,
}
