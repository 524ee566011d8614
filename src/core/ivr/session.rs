//! One caller's walk through an IVR flow.
//!
//! A [`Session`] is told what happens (the prompts ended, a key, the wait for a key
//! ran out, an agent action's outcome) and answers with [`Step`]s for the
//! switchboard to carry out: play, wait, stop the prompts, queue, transfer, hang up.
//! It keeps the menu's tries and the digits being collected; it never sees a leg, a
//! file or a clock (local time is handed in for business-hours nodes).

use std::time::Duration;

use chrono::{Datelike, NaiveDateTime, Timelike};

use super::flow::{AgentAction, Flow, NodeId, NodeKind, OpenHours, is_key, timeout};
use crate::core::ids::GroupId;

/// Nodes entered in a row without waiting for the caller; more means a loop of
/// nodes that play nothing (hours → hours), which ends the call instead of the box.
const MAX_HOPS: u32 = 32;

/// What the switchboard should do for the caller.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Play these prompts in order, replacing what plays now; `barge_in`: a key stops
    /// them.
    Play {
        prompts: Vec<String>,
        barge_in: bool,
    },
    /// Stop the prompts: the caller pressed a key.
    StopPrompts,
    /// Wait this long for a key, then tell the session `timed_out`.
    Wait(Duration),
    Queue(GroupId),
    TransferAgent(String),
    /// Ring a number; `keyed`: the caller keyed it in (so only an extension may be
    /// rung, never an outside number on the company's bill).
    TransferNumber {
        number: String,
        keyed: bool,
    },
    /// Do `action` for the agent `agent` (the digits collected), then tell the session
    /// `agent_done`.
    Agent {
        action: AgentAction,
        agent: Option<String>,
    },
    /// Leave the IVR for the service number's usual destination.
    Continue,
    /// The caller rated the call (a survey).
    Rate(u8),
    Hangup,
}

/// What to do once the prompts playing now have ended.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Then {
    Nothing,
    Enter(NodeId),
    WaitForKey,
    Hangup,
}

/// A caller in a flow.
#[derive(Debug, Clone)]
pub struct Session {
    flow: Flow,
    at: NodeId,
    /// Keys pressed at the current menu or collect node.
    digits: String,
    /// What the last collect node gathered.
    collected: Option<String>,
    tries: u32,
    then: Then,
    /// Prompts are playing that a key may stop.
    interruptible: bool,
    /// The node and the keys that led here, for the call trail ("1 → 售前咨询").
    pub path: Vec<String>,
}

impl Session {
    pub fn new(flow: Flow) -> Session {
        let at = flow.start;
        Session {
            flow,
            at,
            digits: String::new(),
            collected: None,
            tries: 0,
            then: Then::Nothing,
            interruptible: false,
            path: Vec::new(),
        }
    }

    /// A session that starts at `node` instead of the flow's start (转菜单 to any
    /// node); `None` if the flow has no such node.
    pub fn at(flow: Flow, node: NodeId) -> Option<Session> {
        flow.node(node)?;
        let mut session = Session::new(flow);
        session.flow.start = node;
        session.at = node;
        Some(session)
    }

    pub fn flow_name(&self) -> &str {
        &self.flow.name
    }

    /// The first steps.
    pub fn start(&mut self, local: NaiveDateTime) -> Vec<Step> {
        let start = self.flow.start;
        self.enter(start, local)
    }

    /// The prompts asked for last have all played.
    pub fn prompts_done(&mut self, local: NaiveDateTime) -> Vec<Step> {
        self.interruptible = false;
        match std::mem::replace(&mut self.then, Then::Nothing) {
            Then::Nothing => Vec::new(),
            Then::Enter(next) => self.enter(next, local),
            Then::WaitForKey => self.wait_for_key(),
            Then::Hangup => vec![Step::Hangup],
        }
    }

    /// The caller pressed `key`.
    pub fn key(&mut self, key: char, local: NaiveDateTime) -> Vec<Step> {
        if !is_key(key) {
            return Vec::new();
        }
        let mut steps = Vec::new();
        let stop = |steps: &mut Vec<Step>, s: &mut Session| {
            if s.interruptible {
                s.interruptible = false;
                steps.push(Step::StopPrompts);
            }
        };
        match self.node_kind() {
            Some(NodeKind::Menu { choices, .. }) => {
                stop(&mut steps, self);
                self.then = Then::Nothing;
                match choices.iter().find(|c| c.key == key) {
                    Some(choice) => {
                        self.path.push(key.to_string());
                        steps.extend(self.enter(choice.next, local));
                    }
                    None => steps.extend(self.retry("invalid_key", local)),
                }
            }
            Some(NodeKind::Collect {
                max_digits, next, ..
            }) => {
                stop(&mut steps, self);
                if key != '#' {
                    self.digits.push(key);
                }
                let done = key == '#' || self.digits.len() >= max_digits.max(1) as usize;
                if done && !self.digits.is_empty() {
                    self.then = Then::Nothing;
                    self.collected = Some(std::mem::take(&mut self.digits));
                    steps.extend(self.enter(next, local));
                } else if done {
                    steps.extend(self.retry("no_input", local));
                } else if self.then == Then::WaitForKey || self.then == Then::Nothing {
                    // Between keys, the wait starts again.
                    self.then = Then::Nothing;
                    steps.extend(self.wait_for_key());
                }
            }
            _ => {}
        }
        steps
    }

    /// The wait for a key ran out.
    pub fn timed_out(&mut self, local: NaiveDateTime) -> Vec<Step> {
        match self.node_kind() {
            Some(NodeKind::Collect { next, .. }) if !self.digits.is_empty() => {
                self.collected = Some(std::mem::take(&mut self.digits));
                self.enter(next, local)
            }
            Some(NodeKind::Menu { .. } | NodeKind::Collect { .. }) => self.retry("no_input", local),
            _ => Vec::new(),
        }
    }

    /// The agent action asked for is done: `ok`, and anything to say first (the
    /// binding read back).
    pub fn agent_done(&mut self, ok: bool, say: Vec<String>, local: NaiveDateTime) -> Vec<Step> {
        let Some(NodeKind::Agent {
            ok: on_ok, unknown, ..
        }) = self.node_kind()
        else {
            return Vec::new();
        };
        let next = if ok { on_ok } else { unknown };
        if say.is_empty() {
            return self.enter(next, local);
        }
        self.then = Then::Enter(next);
        vec![Step::Play {
            prompts: say,
            barge_in: false,
        }]
    }

    fn node_kind(&self) -> Option<NodeKind> {
        self.flow.node(self.at).map(|n| n.kind.clone())
    }

    /// A wrong key or no key: say so and ask again, or give up after the tries.
    fn retry(&mut self, why: &str, local: NaiveDateTime) -> Vec<Step> {
        self.tries += 1;
        self.digits.clear();
        let (prompts, retries, fail) = match self.node_kind() {
            Some(NodeKind::Menu {
                prompts,
                retries,
                fail,
                ..
            })
            | Some(NodeKind::Collect {
                prompts,
                retries,
                fail,
                ..
            }) => (prompts, retries, fail),
            _ => return Vec::new(),
        };
        if self.tries > retries {
            return match fail {
                Some(fail) => self.enter(fail, local),
                None => self.goodbye(),
            };
        }
        let mut all = vec![why.to_string()];
        all.extend(prompts);
        self.then = Then::WaitForKey;
        self.interruptible = true;
        vec![Step::Play {
            prompts: all,
            barge_in: true,
        }]
    }

    fn goodbye(&mut self) -> Vec<Step> {
        self.then = Then::Hangup;
        vec![Step::Play {
            prompts: vec!["goodbye".into()],
            barge_in: false,
        }]
    }

    fn wait_for_key(&mut self) -> Vec<Step> {
        match self.node_kind() {
            Some(NodeKind::Menu { timeout_secs, .. } | NodeKind::Collect { timeout_secs, .. }) => {
                vec![Step::Wait(timeout(timeout_secs))]
            }
            _ => Vec::new(),
        }
    }

    /// Go to `node` and do what it says, following nodes that need no caller.
    fn enter(&mut self, node: NodeId, local: NaiveDateTime) -> Vec<Step> {
        let mut rated = Vec::new();
        let mut steps = self.enter_node(node, local, &mut rated);
        rated.append(&mut steps);
        rated
    }

    /// `enter`'s walk; ratings passed on the way are pushed to `rated`.
    fn enter_node(
        &mut self,
        node: NodeId,
        local: NaiveDateTime,
        rated: &mut Vec<Step>,
    ) -> Vec<Step> {
        let mut next = node;
        for _ in 0..MAX_HOPS {
            self.at = next;
            self.digits.clear();
            let Some(kind) = self.node_kind() else {
                return vec![Step::Hangup];
            };
            match kind {
                NodeKind::Play { prompts, next: n } => {
                    let then = n.map_or(Then::Hangup, Then::Enter);
                    if prompts.is_empty() {
                        match n {
                            Some(n) => {
                                next = n;
                                continue;
                            }
                            None => return vec![Step::Hangup],
                        }
                    }
                    self.then = then;
                    return vec![Step::Play {
                        prompts,
                        barge_in: false,
                    }];
                }
                NodeKind::Menu { prompts, .. } | NodeKind::Collect { prompts, .. } => {
                    self.tries = 0;
                    if prompts.is_empty() {
                        return self.wait_for_key();
                    }
                    self.then = Then::WaitForKey;
                    self.interruptible = true;
                    return vec![Step::Play {
                        prompts,
                        barge_in: true,
                    }];
                }
                NodeKind::Hours {
                    schedule,
                    holidays,
                    open,
                    closed,
                } => {
                    next = if is_open(&schedule, &holidays, local) {
                        open
                    } else {
                        closed
                    };
                }
                NodeKind::Queue { group } => return vec![Step::Queue(group)],
                NodeKind::TransferAgent { agent } => {
                    return match agent.or_else(|| self.collected.clone()) {
                        Some(a) => vec![Step::TransferAgent(a)],
                        None => self.goodbye(),
                    };
                }
                NodeKind::TransferNumber { number } => {
                    let keyed = number.is_none();
                    return match number.or_else(|| self.collected.clone()) {
                        Some(number) => vec![Step::TransferNumber { number, keyed }],
                        None => self.goodbye(),
                    };
                }
                NodeKind::Hangup { prompts } if prompts.is_empty() => return vec![Step::Hangup],
                NodeKind::Hangup { prompts } => {
                    self.then = Then::Hangup;
                    return vec![Step::Play {
                        prompts,
                        barge_in: false,
                    }];
                }
                NodeKind::Agent { action, .. } => {
                    return vec![Step::Agent {
                        action,
                        agent: self.collected.clone(),
                    }];
                }
                NodeKind::Continue => return vec![Step::Continue],
                NodeKind::Rate { score, next: n } => {
                    rated.push(Step::Rate(score));
                    match n {
                        Some(n) => next = n,
                        None => return vec![Step::Hangup],
                    }
                }
            }
        }
        vec![Step::Hangup]
    }
}

/// Is the business open at `local`?
pub fn is_open(
    schedule: &[OpenHours],
    holidays: &[chrono::NaiveDate],
    local: NaiveDateTime,
) -> bool {
    if holidays.contains(&local.date()) {
        return false;
    }
    let minute = local.hour() * 60 + local.minute();
    schedule
        .iter()
        .any(|h| h.day == local.weekday() && h.from <= minute && minute < h.to)
}
