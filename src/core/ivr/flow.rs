//! IVR flows as data: a graph of nodes (play, menu, collect digits, business hours,
//! queue, transfer, hang up) that an admin builds and the store keeps as JSON.
//!
//! Only the shape lives here; `session.rs` walks a flow for one caller. Node kinds
//! are tagged (`{"type": "menu", ...}`) so a stored flow reads like what it does.

use std::time::Duration;

use chrono::{NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use crate::core::ids::GroupId;

/// A flow row (`ivr_flows.id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FlowId(pub i64);

/// A node's number within its flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub u32);

/// An IVR flow: where it starts and its nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    pub id: FlowId,
    pub name: String,
    pub start: NodeId,
    pub nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub id: NodeId,
    #[serde(flatten)]
    pub kind: NodeKind,
}

/// What a node does. Prompts are names of files under the sounds directory
/// (`welcome_menu` plays `sounds/<language>/welcome_menu.wav`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum NodeKind {
    /// Play the prompts, then go on (hang up when `next` is none).
    Play {
        prompts: Vec<String>,
        next: Option<NodeId>,
    },
    /// Play the prompts and take one key. A key not listed plays `invalid_key`, no key
    /// within `timeout_secs` plays `no_input`; either counts a try, and after `retries`
    /// more tries the caller goes to `fail` (hung up when none).
    Menu {
        prompts: Vec<String>,
        choices: Vec<Choice>,
        timeout_secs: u32,
        retries: u32,
        fail: Option<NodeId>,
    },
    /// Play the prompts and collect up to `max_digits` keys; `#` ends early. The
    /// digits are what a following transfer or sign-in uses.
    Collect {
        prompts: Vec<String>,
        max_digits: u32,
        timeout_secs: u32,
        retries: u32,
        next: NodeId,
        fail: Option<NodeId>,
    },
    /// Open or closed now, by the weekly schedule in local time and the holidays.
    Hours {
        schedule: Vec<OpenHours>,
        holidays: Vec<NaiveDate>,
        open: NodeId,
        closed: NodeId,
    },
    /// Join a skill group's queue.
    Queue { group: GroupId },
    /// Ring an agent by number, or the agent whose number was just collected.
    TransferAgent { agent: Option<String> },
    /// Ring an extension or outside number, or the digits just collected.
    TransferNumber { number: Option<String> },
    /// Play the prompts (if any), then hang up.
    Hangup { prompts: Vec<String> },
    /// Seed S4/S13, S7: sign the agent whose number was collected in or out, bind
    /// this phone to them, or read the binding back. `ok` on success, `unknown`
    /// when no such agent may do that from here.
    Agent {
        action: AgentAction,
        ok: NodeId,
        unknown: NodeId,
    },
    /// Leave the IVR for where the service number goes normally (the hotline's "3").
    Continue,
    /// Store `score` as the call's satisfaction rating (a survey's key), then go on.
    Rate { score: u8, next: Option<NodeId> },
}

/// One key of a menu and where it leads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub key: char,
    pub next: NodeId,
}

/// Opening hours on one weekday, local time, `from` included, `to` excluded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenHours {
    pub day: Weekday,
    /// Minutes after midnight.
    pub from: u32,
    pub to: u32,
}

/// What an `Agent` node does, with the agent whose number was collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentAction {
    /// Log in answering on the direct number (the hotline, from that number).
    SignInDirect,
    /// Log in answering on the phone that called (0000).
    SignInHere,
    SignOut,
    /// Bind the phone that called to the agent (hot-desking).
    Bind,
    /// Say which agent the phone that called is bound to; `unknown` when none.
    ReadBinding,
}

impl Flow {
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// Every node another node leads to, with the node that leads there: what a flow
    /// must contain to be whole.
    pub fn edges(&self) -> Vec<(NodeId, NodeId)> {
        let mut out = vec![(self.start, self.start)];
        for node in &self.nodes {
            let mut to = |n: NodeId| out.push((node.id, n));
            match &node.kind {
                NodeKind::Play { next, .. } => next.iter().copied().for_each(&mut to),
                NodeKind::Menu { choices, fail, .. } => {
                    choices.iter().for_each(|c| to(c.next));
                    fail.iter().copied().for_each(&mut to);
                }
                NodeKind::Collect { next, fail, .. } => {
                    to(*next);
                    fail.iter().copied().for_each(&mut to);
                }
                NodeKind::Hours { open, closed, .. } => {
                    to(*open);
                    to(*closed);
                }
                NodeKind::Agent { ok, unknown, .. } => {
                    to(*ok);
                    to(*unknown);
                }
                NodeKind::Rate { next, .. } => next.iter().copied().for_each(&mut to),
                NodeKind::Queue { .. }
                | NodeKind::TransferAgent { .. }
                | NodeKind::TransferNumber { .. }
                | NodeKind::Hangup { .. }
                | NodeKind::Continue => {}
            }
        }
        out
    }

    /// The first problem that makes the flow unusable: a missing start, a node that
    /// leads nowhere, two nodes with one id, a menu key that is not a phone key.
    pub fn check(&self) -> Result<(), String> {
        let mut ids: Vec<NodeId> = self.nodes.iter().map(|n| n.id).collect();
        ids.sort();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("node {} is defined twice", w[0].0));
        }
        for (from, to) in self.edges() {
            if self.node(to).is_none() {
                return Err(format!(
                    "node {} leads to node {}, which does not exist",
                    from.0, to.0
                ));
            }
        }
        for node in &self.nodes {
            if let NodeKind::Menu { choices, .. } = &node.kind
                && let Some(c) = choices.iter().find(|c| !is_key(c.key))
            {
                return Err(format!(
                    "node {}: {:?} is not a phone key",
                    node.id.0, c.key
                ));
            }
            if let NodeKind::Rate { score, .. } = &node.kind
                && *score > 9
            {
                return Err(format!("node {}: a rating is 0-9, not {score}", node.id.0));
            }
            if let NodeKind::Hours { schedule, .. } = &node.kind
                && let Some(h) = schedule.iter().find(|h| h.from >= h.to || h.to > 24 * 60)
            {
                return Err(format!(
                    "node {}: opening hours {}-{} on {} are not a time range within a day",
                    node.id.0, h.from, h.to, h.day
                ));
            }
        }
        Ok(())
    }
}

/// 0-9, * and #.
pub fn is_key(c: char) -> bool {
    c.is_ascii_digit() || c == '*' || c == '#'
}

/// How long a menu or collect node waits for a key.
pub fn timeout(secs: u32) -> Duration {
    Duration::from_secs(u64::from(secs.clamp(1, 120)))
}
