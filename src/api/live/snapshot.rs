//! The live views as JSON, and what changed between two of them: the pure heart of
//! the event stream.
//!
//! A [`Snapshot`] is the switchboard's `LiveView` rendered as the API renders it
//! elsewhere (an agent as `GET /agents/{n}`, a call bar as `GET /agents/{n}/call`),
//! keyed by agent number. [`diff`] turns two snapshots into [`Event`]s, [`initial`]
//! gives a new stream the whole picture, and an [`Audience`] says which events a
//! stream may see. Nothing here knows sockets, threads or clocks.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::core::LiveView;
use crate::core::acd::AgentState;

/// One thing that changed, for the streams that may see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// An agent's state (their `GET /agents/{n}` JSON).
    Agent { agent: String, data: Value },
    /// An agent's call bar (`GET /agents/{n}/call`'s JSON), `null` when it ended.
    Call { agent: String, data: Value },
    /// A call reached the agent (ringing, or already answered if that took less
    /// than a tick), not one they dial: `{"call": id, "number": "..."}`.
    Pop { agent: String, data: Value },
    /// Every skill group's queue (callers waiting, longest wait, agents by state).
    Queues { data: Value },
    /// Today's figures (answered, abandoned, service level), per group and in all.
    Today { data: Value },
}

impl Event {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Agent { .. } => "agent",
            Event::Call { .. } => "call",
            Event::Pop { .. } => "pop",
            Event::Queues { .. } => "queues",
            Event::Today { .. } => "today",
        }
    }

    pub fn data(&self) -> &Value {
        match self {
            Event::Agent { data, .. }
            | Event::Call { data, .. }
            | Event::Pop { data, .. }
            | Event::Queues { data }
            | Event::Today { data } => data,
        }
    }
}

/// Who a stream is for: an agent sees their own state, call and pops; supervisors
/// and admins (`all`) every agent's state, the queues and today's figures, and the
/// call and pops of their own agent number if they have one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audience {
    pub agent: Option<String>,
    pub all: bool,
}

impl Audience {
    pub fn wants(&self, event: &Event) -> bool {
        let own = |a: &String| self.agent.as_ref() == Some(a);
        match event {
            Event::Agent { agent, .. } => self.all || own(agent),
            Event::Call { agent, .. } | Event::Pop { agent, .. } => own(agent),
            Event::Queues { .. } | Event::Today { .. } => self.all,
        }
    }
}

/// The live views as JSON, keyed by agent number.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    pub agents: BTreeMap<String, Value>,
    pub calls: BTreeMap<String, Value>,
    /// The `queues` event's data.
    pub queues: Value,
}

/// Every state word with a count of zero, so charts keep their shape.
fn zero_counts() -> serde_json::Map<String, Value> {
    AgentState::ALL
        .iter()
        .map(|s| (s.as_str().to_string(), json!(0)))
        .collect()
}

impl Snapshot {
    pub fn of(view: &LiveView) -> Snapshot {
        let agents: BTreeMap<String, Value> = view
            .agents
            .iter()
            .map(|a| {
                let data = serde_json::to_value(super::super::agents::agent_json(a));
                (a.number.clone(), data.unwrap_or(Value::Null))
            })
            .collect();
        let states: BTreeMap<&str, &'static str> = view
            .agents
            .iter()
            .map(|a| (a.number.as_str(), a.state.as_str()))
            .collect();
        let calls = view
            .calls
            .iter()
            .map(|(agent, call)| (agent.clone(), super::super::calls::call_json(call)))
            .collect();
        let queues = view
            .queues
            .iter()
            .map(|q| {
                let mut counts = zero_counts();
                for member in &q.members {
                    let state = states.get(member.as_str()).copied().unwrap_or("offline");
                    if let Some(Value::Number(n)) = counts.get_mut(state) {
                        *n = (n.as_u64().unwrap_or(0) + 1).into();
                    }
                }
                json!({
                    "group": q.group.0,
                    "name": q.name,
                    "waiting": q.waiting,
                    "longest_wait_secs": q.longest_wait_secs,
                    "longest_since": q.longest_since.map(|t| {
                        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    }),
                    "agents": counts,
                    "members": q.members,
                })
            })
            .collect();
        Snapshot {
            agents,
            calls,
            queues,
        }
    }
}

/// The queues without the figure that moves every second by itself: the client
/// counts the longest wait on from `longest_since`, so that alone is no change.
fn steady(queues: &Value) -> Value {
    let mut v = queues.clone();
    if let Some(list) = v.as_array_mut() {
        for q in list {
            if let Some(o) = q.as_object_mut() {
                o.remove("longest_wait_secs");
            }
        }
    }
    v
}

/// What changed from `before` to `after`, in a stable order: agents, calls, pops,
/// queues.
pub fn diff(before: &Snapshot, after: &Snapshot) -> Vec<Event> {
    let mut out = Vec::new();
    for (agent, data) in &after.agents {
        if before.agents.get(agent) != Some(data) {
            out.push(Event::Agent {
                agent: agent.clone(),
                data: data.clone(),
            });
        }
    }
    let mut with_calls: Vec<&String> = before.calls.keys().chain(after.calls.keys()).collect();
    with_calls.sort();
    with_calls.dedup();
    for agent in with_calls {
        let (was, now) = (before.calls.get(agent), after.calls.get(agent));
        if was != now {
            out.push(Event::Call {
                agent: agent.clone(),
                data: now.cloned().unwrap_or(Value::Null),
            });
        }
    }
    // A call new to the agent pops, whatever state it is first seen in (a phone that
    // answers at once skips ringing between two ticks), unless the agent dials it.
    for (agent, data) in &after.calls {
        let was = before.calls.get(agent).map(|d| &d["call"]);
        if was != Some(&data["call"]) && data["state"] != "calling" {
            out.push(pop(agent, data));
        }
    }
    if steady(&before.queues) != steady(&after.queues) {
        out.push(Event::Queues {
            data: after.queues.clone(),
        });
    }
    out
}

fn pop(agent: &str, call: &Value) -> Event {
    Event::Pop {
        agent: agent.to_string(),
        data: json!({ "call": call["call"], "number": call["customer"] }),
    }
}

/// Everything a new (or reconnected) stream for `who` starts with, so it needs no
/// replay of what it missed: every agent it may see, its own call (or `null`) and
/// a pop if that call is ringing, and the queues.
pub fn initial(snapshot: &Snapshot, who: &Audience) -> Vec<Event> {
    let mut out: Vec<Event> = snapshot
        .agents
        .iter()
        .map(|(agent, data)| Event::Agent {
            agent: agent.clone(),
            data: data.clone(),
        })
        .filter(|e| who.wants(e))
        .collect();
    if let Some(own) = &who.agent
        && snapshot.agents.contains_key(own)
    {
        out.push(Event::Call {
            agent: own.clone(),
            data: snapshot.calls.get(own).cloned().unwrap_or(Value::Null),
        });
        if let Some(call) = snapshot.calls.get(own).filter(|c| c["state"] == "ringing") {
            out.push(pop(own, call));
        }
    }
    if who.all {
        out.push(Event::Queues {
            data: snapshot.queues.clone(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{AgentView, CallId, CallView, GroupId, QueueView};
    use chrono::{TimeZone, Utc};

    fn agent(number: &str, state: AgentState) -> AgentView {
        AgentView {
            number: number.into(),
            name: format!("agent {number}"),
            state,
            reason: None,
            since: Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap(),
            mode: Some(crate::core::AnswerMode::Device),
            fallback: false,
            call: None,
        }
    }

    fn call(id: i64, state: &'static str) -> CallView {
        CallView {
            call: CallId(id),
            state,
            customer: "13800138000".into(),
            answered_at: None,
            hold_secs: 0,
            third: None,
            verified: None,
            supervisor: None,
        }
    }

    fn view(agents: Vec<AgentView>, calls: Vec<(&str, CallView)>, waiting: u32) -> LiveView {
        LiveView {
            at: Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 5).unwrap(),
            agents,
            calls: calls.into_iter().map(|(a, c)| (a.to_string(), c)).collect(),
            queues: vec![QueueView {
                group: GroupId(1),
                name: "售前".into(),
                waiting,
                longest_since: (waiting > 0)
                    .then(|| Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 1).unwrap()),
                longest_wait_secs: waiting * 4,
                members: vec!["8001".into(), "8002".into()],
            }],
        }
    }

    fn names(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .map(|e| match e {
                Event::Agent { agent, data } => format!("agent {agent} {}", data["state"]),
                Event::Call { agent, data } => format!("call {agent} {}", data["state"]),
                Event::Pop { agent, data } => format!("pop {agent} {}", data["call"]),
                Event::Queues { data } => format!("queues {}", data[0]["waiting"]),
                Event::Today { .. } => "today".into(),
            })
            .collect()
    }

    /// A caller queues, rings 8001, 8001 answers, talks, hangs up: each step's
    /// difference is exactly what changed, and nothing is said twice.
    #[test]
    fn a_call_s_life_is_a_sequence_of_differences() {
        use AgentState::*;
        let steps = [
            view(vec![agent("8001", Idle), agent("8002", Busy)], vec![], 0),
            view(vec![agent("8001", Idle), agent("8002", Busy)], vec![], 1),
            view(
                vec![agent("8001", Ringing), agent("8002", Busy)],
                vec![("8001", call(7, "ringing"))],
                1,
            ),
            view(
                vec![agent("8001", Talking), agent("8002", Busy)],
                vec![("8001", call(7, "talking"))],
                0,
            ),
            view(
                vec![agent("8001", Talking), agent("8002", Busy)],
                vec![("8001", call(7, "talking"))],
                0,
            ),
            view(vec![agent("8001", WrapUp), agent("8002", Busy)], vec![], 0),
        ];
        let snaps: Vec<Snapshot> = steps.iter().map(Snapshot::of).collect();
        let seen: Vec<Vec<String>> = snaps
            .windows(2)
            .map(|w| names(&diff(&w[0], &w[1])))
            .collect();
        assert_eq!(
            seen,
            vec![
                vec!["queues 1".to_string()],
                vec![
                    "agent 8001 \"ringing\"".into(),
                    "call 8001 \"ringing\"".into(),
                    "pop 8001 7".into(),
                    "queues 1".into(),
                ],
                vec![
                    "agent 8001 \"talking\"".into(),
                    "call 8001 \"talking\"".into(),
                    "queues 0".into(),
                ],
                vec![],
                vec![
                    "agent 8001 \"wrap_up\"".into(),
                    "call 8001 null".into(),
                    "queues 0".into()
                ],
            ]
        );
        // The queue's counts follow the members' states.
        assert_eq!(snaps[2].queues[0]["agents"]["ringing"], 1);
        assert_eq!(snaps[2].queues[0]["agents"]["busy"], 1);
        assert_eq!(snaps[2].queues[0]["agents"]["idle"], 0);
        assert_eq!(snaps[1].queues[0]["longest_since"], "2026-03-01T09:00:01Z");
    }

    #[test]
    fn the_longest_wait_ticking_on_is_no_change() {
        let a = Snapshot::of(&view(vec![agent("8001", AgentState::Idle)], vec![], 1));
        let mut later = view(vec![agent("8001", AgentState::Idle)], vec![], 1);
        later.queues[0].longest_wait_secs = 99;
        assert!(diff(&a, &Snapshot::of(&later)).is_empty());
    }

    #[test]
    fn a_second_call_ringing_pops_again() {
        let ring = |id| {
            Snapshot::of(&view(
                vec![agent("8001", AgentState::Ringing)],
                vec![("8001", call(id, "ringing"))],
                1,
            ))
        };
        assert!(diff(&ring(7), &ring(7)).is_empty());
        assert_eq!(
            names(&diff(&ring(7), &ring(8))),
            ["call 8001 \"ringing\"", "pop 8001 8"]
        );
    }

    /// A phone that answers within a tick is never seen ringing: the call pops
    /// anyway; a call the agent dials does not pop, not even once answered.
    #[test]
    fn a_call_answered_between_ticks_pops_and_a_dialled_one_does_not() {
        let on = |c: Option<CallView>| {
            let calls = c.map(|c| vec![("8001", c)]).unwrap_or_default();
            Snapshot::of(&view(vec![agent("8001", AgentState::Talking)], calls, 0))
        };
        let idle = on(None);
        let fast = names(&diff(&idle, &on(Some(call(9, "talking")))));
        assert!(fast.contains(&"pop 8001 9".to_string()), "{fast:?}");
        let dialling = on(Some(call(10, "calling")));
        assert!(
            !names(&diff(&idle, &dialling))
                .iter()
                .any(|n| n.starts_with("pop"))
        );
        let answered = names(&diff(&dialling, &on(Some(call(10, "talking")))));
        assert!(
            !answered.iter().any(|n| n.starts_with("pop")),
            "{answered:?}"
        );
    }

    #[test]
    fn audiences_see_only_what_is_theirs() {
        let agent_8001 = Audience {
            agent: Some("8001".into()),
            all: false,
        };
        let supervisor = Audience {
            agent: None,
            all: true,
        };
        let snap = Snapshot::of(&view(
            vec![
                agent("8001", AgentState::Ringing),
                agent("8002", AgentState::Ringing),
            ],
            vec![("8001", call(7, "ringing")), ("8002", call(8, "ringing"))],
            2,
        ));
        let mine = names(&initial(&snap, &agent_8001));
        assert_eq!(
            mine,
            [
                "agent 8001 \"ringing\"",
                "call 8001 \"ringing\"",
                "pop 8001 7"
            ]
        );
        let theirs = names(&initial(&snap, &supervisor));
        assert_eq!(
            theirs,
            [
                "agent 8001 \"ringing\"",
                "agent 8002 \"ringing\"",
                "queues 2"
            ]
        );
        let other = Event::Call {
            agent: "8002".into(),
            data: Value::Null,
        };
        assert!(!agent_8001.wants(&other) && !supervisor.wants(&other));
        assert!(!agent_8001.wants(&Event::Queues { data: Value::Null }));
        // An agent with no call starts with `call: null`.
        let idle = Snapshot::of(&view(vec![agent("8001", AgentState::Idle)], vec![], 0));
        assert_eq!(
            names(&initial(&idle, &agent_8001)),
            ["agent 8001 \"idle\"", "call 8001 null"]
        );
    }
}
