//! "Why did this call go where it went?" (S9, S20): who was offered the call and what
//! became of each offer, and why the group's other members were not offered it, in
//! words, from the call's trail, the status log and the group's members.
//!
//! Pure: `reads.rs` gathers the [`Facts`] from the store. The offers come from the
//! trail (`agent_offered`, then the agent's `answered` or `agent_no_answer`; an offer
//! with neither was withdrawn: the caller left or another agent answered first, and
//! the status log's row for it says which). A member never offered is explained by
//! the state the status log had them in when the caller joined the queue, and by
//! what the switchboard itself said of them then (the `queued` line names every
//! member's state at that moment). Members are the group's members now: a
//! membership removed since is not seen.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::core::acd::{AgentState, AgentStatusRecord};
use crate::core::{CallEventKind, CallEventRecord, CallRecord};

/// A member of the call's group, and the status-log row in force when the caller
/// joined the queue (`None`: no row yet, never logged in).
#[derive(Debug, Clone)]
pub struct Member {
    pub number: String,
    pub name: String,
    pub then: Option<AgentStatusRecord>,
}

/// Everything the explanation is made from.
#[derive(Debug, Clone)]
pub struct Facts {
    pub call: CallRecord,
    pub trail: Vec<CallEventRecord>,
    pub group_name: Option<String>,
    /// The agent who took the call: number and name.
    pub agent: Option<(String, String)>,
    pub members: Vec<Member>,
    /// Status-log rows the call caused, with the agent's number.
    pub rows: Vec<(String, AgentStatusRecord)>,
}

/// One agent rung for the call.
#[derive(Debug, Clone, PartialEq)]
struct Offer {
    agent: String,
    at: DateTime<Utc>,
    /// answered, no_answer, withdrawn, ringing.
    outcome: &'static str,
    sip_code: Option<u16>,
    detail: String,
    ended: Option<DateTime<Utc>>,
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn clock(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono::Local)
        .format("%H:%M:%S")
        .to_string()
}

/// The agent number in an `answered` line's party ("agent 8002").
fn answered_by(e: &CallEventRecord) -> Option<&str> {
    e.party.strip_prefix("agent ")
}

fn offers(f: &Facts) -> Vec<Offer> {
    let mut out: Vec<Offer> = Vec::new();
    for e in &f.trail {
        let (agent, outcome) = match e.kind {
            CallEventKind::AgentOffered => {
                out.push(Offer {
                    agent: e.party.clone(),
                    at: e.at,
                    outcome: "ringing",
                    sip_code: None,
                    detail: e.detail.clone(),
                    ended: None,
                });
                continue;
            }
            CallEventKind::Answered => (answered_by(e).unwrap_or(""), "answered"),
            CallEventKind::AgentNoAnswer => (e.party.as_str(), "no_answer"),
            _ => continue,
        };
        // The agent's earliest offer still open is the one this line ends.
        if let Some(o) = out
            .iter_mut()
            .find(|o| o.agent == agent && o.outcome == "ringing")
        {
            o.outcome = outcome;
            o.sip_code = e.sip_code;
            o.detail = e.detail.clone();
            o.ended = Some(e.at);
        }
    }
    // What is still "ringing" after the trail was withdrawn, unless the call goes on.
    let over = f.call.ended_at.is_some() || f.call.answered_at.is_some();
    for o in out.iter_mut().filter(|o| o.outcome == "ringing") {
        let withdrawn = f.rows.iter().find(|(n, r)| {
            *n == o.agent && r.at >= o.at && r.detail.starts_with("offer withdrawn")
        });
        if let Some((_, r)) = withdrawn {
            o.outcome = "withdrawn";
            o.detail = r.detail.clone();
            o.ended = Some(r.at);
        } else if over {
            o.outcome = "withdrawn";
            o.detail = "the offer ended when the call did".into();
        }
    }
    out
}

fn offer_words(o: &Offer, name: &str) -> String {
    let who = format!("agent {} {name}", o.agent).trim_end().to_string();
    match o.outcome {
        "answered" => format!("{who} was rung at {} and answered", clock(o.at)),
        "no_answer" => {
            let code = o.sip_code.map(|c| format!(" [{c}]")).unwrap_or_default();
            format!(
                "{who} was rung at {} and did not answer{code}: {}",
                clock(o.at),
                o.detail
            )
        }
        "withdrawn" => format!(
            "{who} was rung at {} but the offer was withdrawn ({})",
            clock(o.at),
            o.detail.trim_start_matches("offer withdrawn: ")
        ),
        _ => format!("{who} is being rung since {}", clock(o.at)),
    }
}

/// What the `queued` line said of `number` ("8003 logged out"), if it named them.
fn said_of(queued: Option<&CallEventRecord>, number: &str) -> Option<String> {
    let detail = &queued?.detail;
    let inner = detail.split_once('(')?.1.strip_suffix(')')?;
    inner
        .split("; ")
        .find(|part| part.split_once(' ').is_some_and(|(n, _)| n == number))
        .map(str::to_string)
}

fn state_words(row: Option<&AgentStatusRecord>) -> String {
    let Some(r) = row else {
        return "had never logged in".into();
    };
    let since = format!("since {}", clock(r.at));
    match r.to {
        AgentState::Offline if r.offline_answering => {
            format!("was logged out and answering offline {since}")
        }
        AgentState::Offline => format!("was logged out {since}"),
        AgentState::Idle => format!("was idle {since}"),
        AgentState::Busy => match &r.reason {
            Some(reason) => format!("was busy ({reason}) {since}"),
            None => format!("was busy {since}"),
        },
        AgentState::Rest => format!("was on a break {since}"),
        AgentState::WrapUp => format!("was in after-call work {since}"),
        AgentState::Ringing => format!("was ringing with another call {since}"),
        AgentState::Calling => format!("was calling out {since}"),
        AgentState::Talking => format!("was on another call {since}"),
    }
}

/// The explanation as the API answers it.
pub fn explain(f: &Facts) -> Value {
    let c = &f.call;
    let queued = f.trail.iter().find(|e| e.kind == CallEventKind::Queued);
    let list = offers(f);
    let name_of = |number: &str| {
        f.members
            .iter()
            .find(|m| m.number == number)
            .map(|m| m.name.clone())
            .or_else(|| {
                f.agent
                    .as_ref()
                    .filter(|(n, _)| n == number)
                    .map(|(_, name)| name.clone())
            })
            .unwrap_or_default()
    };
    let mut summary = Vec::new();
    let group = match (c.group, &f.group_name) {
        (Some(g), name) => {
            let name = name.clone().unwrap_or_default();
            summary.push(match queued {
                Some(q) => format!("the caller joined queue {name} at {}", clock(q.at)),
                None => format!("the call was for queue {name}"),
            });
            json!({ "id": g.0, "name": name })
        }
        (None, _) => {
            summary.push("the call did not go through a skill group's queue".into());
            Value::Null
        }
    };
    let offers_json: Vec<Value> = list
        .iter()
        .map(|o| {
            let name = name_of(&o.agent);
            let words = offer_words(o, &name);
            summary.push(words.clone());
            json!({
                "agent": o.agent,
                "name": name,
                "at": time(o.at),
                "ended": o.ended.map(time),
                "outcome": o.outcome,
                "sip_code": o.sip_code,
                "detail": o.detail,
                "words": words,
            })
        })
        .collect();
    let answerer = list.iter().find(|o| o.outcome == "answered");
    let not_offered: Vec<Value> = f
        .members
        .iter()
        .filter(|m| !list.iter().any(|o| o.agent == m.number))
        .map(|m| {
            let said = said_of(queued, &m.number);
            let mut words = format!(
                "agent {} {} {}",
                m.number,
                m.name,
                state_words(m.then.as_ref())
            );
            let idle = m.then.as_ref().is_some_and(|r| r.to == AgentState::Idle);
            if idle {
                match answerer {
                    Some(a) => words.push_str(&format!(
                        ", but agent {} was picked first and answered",
                        a.agent
                    )),
                    None => words.push_str(", but the call ended before their turn"),
                }
            }
            if let Some(s) = &said {
                words.push_str(&format!(" (when the caller queued: {s})"));
            }
            summary.push(words.clone());
            json!({
                "agent": m.number,
                "name": m.name,
                "state": m.then.as_ref().map(|r| r.to.as_str()),
                "reason": m.then.as_ref().and_then(|r| r.reason.clone()),
                "since": m.then.as_ref().map(|r| time(r.at)),
                "offline_answering": m.then.as_ref().is_some_and(|r| r.offline_answering),
                "said": said,
                "words": words,
            })
        })
        .collect();
    if let Some(cause) = &c.end_cause {
        summary.push(format!("the call ended: {cause}"));
    }
    json!({
        "call": {
            "id": c.id.0,
            "direction": c.direction.as_str(),
            "from": c.from_number,
            "to": c.to_number,
            "service_number": c.service_number,
            "started_at": time(c.started_at),
            "answered_at": c.answered_at.map(time),
            "ended_at": c.ended_at.map(time),
            "hangup_by": c.hangup_by.map(|h| h.as_str()),
            "end_cause": c.end_cause,
            "wait_secs": c.wait_secs,
        },
        "group": group,
        "answered_by": f.agent.as_ref().map(|(n, name)| json!({ "agent": n, "name": name })),
        "queued_at": queued.map(|q| time(q.at)),
        "offers": offers_json,
        "not_offered": not_offered,
        "summary": summary,
        "trail": f.trail.iter().map(|e| json!({
            "at": time(e.at),
            "kind": e.kind.as_str(),
            "party": e.party,
            "sip_code": e.sip_code,
            "detail": e.detail,
        })).collect::<Vec<_>>(),
    })
}

/// The agent numbers the explanation concerns (rung, or the one who took it): an
/// agent may read the why of such a call only.
pub fn concerns(v: &Value, agent: &str) -> bool {
    v["answered_by"]["agent"] == agent
        || v["offers"]
            .as_array()
            .is_some_and(|l| l.iter().any(|o| o["agent"] == agent))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::acd::StatusCause;
    use crate::core::{AgentId, CallDirection, CallId, GroupId, HangupBy};
    use chrono::TimeZone;

    fn at(s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, s).unwrap()
    }

    fn line(
        seq: u32,
        s: u32,
        kind: CallEventKind,
        party: &str,
        code: Option<u16>,
        detail: &str,
    ) -> CallEventRecord {
        CallEventRecord {
            call: CallId(1),
            seq,
            at: at(s),
            kind,
            party: party.into(),
            sip_code: code,
            detail: detail.into(),
        }
    }

    fn row(
        agent: i64,
        s: u32,
        to: AgentState,
        reason: Option<&str>,
        detail: &str,
    ) -> AgentStatusRecord {
        AgentStatusRecord {
            agent: AgentId(agent),
            at: at(s),
            from: AgentState::Idle,
            to,
            reason: reason.map(str::to_string),
            cause: StatusCause::System,
            detail: detail.into(),
            mode: None,
            fallback: false,
            offline_answering: false,
            call: Some(CallId(1)),
        }
    }

    fn facts() -> Facts {
        let mut call = CallRecord::begun(
            CallId(1),
            CallDirection::Inbound,
            "13800138000".into(),
            "4008001234".into(),
            at(0),
        );
        call.group = Some(GroupId(1));
        call.answered_at = Some(at(30));
        call.ended_at = Some(at(50));
        call.hangup_by = Some(HangupBy::Caller);
        call.end_cause = Some("the caller hung up".into());
        use CallEventKind::*;
        Facts {
            call,
            trail: vec![
                line(0, 0, Offered, "caller", None, "call from 13800138000"),
                line(
                    1,
                    1,
                    Queued,
                    "system",
                    None,
                    "waiting in queue 售前 (8001 free; 8002 free; 8003 busy (lunch) since 2026-03-01 08:00:00 UTC (3600 s ago); 8004 logged out)",
                ),
                line(
                    2,
                    1,
                    AgentOffered,
                    "8001",
                    None,
                    "rang agent 8001 张三 on phone 1001 (longest-idle)",
                ),
                line(
                    3,
                    21,
                    AgentNoAnswer,
                    "8001",
                    Some(480),
                    "agent 8001 did not answer: rang 20 s",
                ),
                line(
                    4,
                    26,
                    AgentOffered,
                    "8002",
                    None,
                    "rang agent 8002 李四 on phone 1002 (longest-idle)",
                ),
                line(
                    5,
                    30,
                    Answered,
                    "agent 8002",
                    Some(200),
                    "agent 8002 answered after the caller waited 29 s",
                ),
            ],
            group_name: Some("售前".into()),
            agent: Some(("8002".into(), "李四".into())),
            members: vec![
                Member {
                    number: "8001".into(),
                    name: "张三".into(),
                    then: Some(row(1, 0, AgentState::Idle, None, "ready")),
                },
                Member {
                    number: "8002".into(),
                    name: "李四".into(),
                    then: Some(row(2, 0, AgentState::Idle, None, "ready")),
                },
                Member {
                    number: "8003".into(),
                    name: "王五".into(),
                    then: Some(row(3, 0, AgentState::Busy, Some("lunch"), "busy")),
                },
                Member {
                    number: "8004".into(),
                    name: "赵六".into(),
                    then: None,
                },
                Member {
                    number: "8005".into(),
                    name: "钱七".into(),
                    then: Some(row(5, 0, AgentState::Idle, None, "ready")),
                },
            ],
            rows: vec![],
        }
    }

    #[test]
    fn the_answerer_the_miss_and_the_members_not_offered_are_named() {
        let v = explain(&facts());
        let offers = v["offers"].as_array().unwrap();
        assert_eq!(offers.len(), 2);
        assert_eq!(
            (offers[0]["agent"].as_str(), offers[0]["outcome"].as_str()),
            (Some("8001"), Some("no_answer"))
        );
        assert_eq!(offers[0]["sip_code"], 480);
        assert_eq!(
            (offers[1]["agent"].as_str(), offers[1]["outcome"].as_str()),
            (Some("8002"), Some("answered"))
        );
        assert_eq!(v["answered_by"]["agent"], "8002");
        let not = v["not_offered"].as_array().unwrap();
        let by = |n: &str| not.iter().find(|m| m["agent"] == n).unwrap().clone();
        assert_eq!(by("8003")["state"], "busy");
        assert_eq!(by("8003")["reason"], "lunch");
        assert!(
            by("8003")["said"]
                .as_str()
                .unwrap()
                .starts_with("8003 busy (lunch)")
        );
        assert_eq!(by("8004")["state"], Value::Null);
        assert!(
            by("8004")["words"]
                .as_str()
                .unwrap()
                .contains("never logged in")
        );
        assert!(
            by("8004")["words"]
                .as_str()
                .unwrap()
                .contains("8004 logged out")
        );
        assert!(
            by("8005")["words"]
                .as_str()
                .unwrap()
                .contains("agent 8002 was picked first")
        );
        let summary = v["summary"].to_string();
        assert!(summary.contains("did not answer [480]"), "{summary}");
        assert!(concerns(&v, "8001") && concerns(&v, "8002") && !concerns(&v, "8003"));
    }

    #[test]
    fn an_offer_left_open_was_withdrawn_and_the_status_log_says_why() {
        let mut f = facts();
        f.trail.truncate(3); // 8001 rang; then the caller hung up
        f.call.answered_at = None;
        f.agent = None;
        f.rows = vec![(
            "8001".into(),
            row(
                1,
                9,
                AgentState::Idle,
                None,
                "offer withdrawn: the caller hung up",
            ),
        )];
        let v = explain(&f);
        assert_eq!(v["offers"][0]["outcome"], "withdrawn");
        assert!(
            v["offers"][0]["words"]
                .as_str()
                .unwrap()
                .contains("withdrawn (the caller hung up)")
        );
        assert!(
            v["not_offered"]
                .to_string()
                .contains("the call ended before their turn")
        );
    }

    #[test]
    fn a_call_outside_any_queue_says_so() {
        let mut f = facts();
        f.call.group = None;
        f.trail.truncate(1);
        f.members.clear();
        let v = explain(&f);
        assert_eq!(v["group"], Value::Null);
        assert!(
            v["summary"][0]
                .as_str()
                .unwrap()
                .contains("did not go through")
        );
        assert_eq!(v["offers"].as_array().unwrap().len(), 0);
    }
}
