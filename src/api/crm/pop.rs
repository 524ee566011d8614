//! `GET /api/v1/calls/{call}/pop`: the screen pop (来电弹屏, S12) of one call: who
//! is calling (the number and its 归属地), where from (the service number and the
//! IVR path), how long they queued and for which skill group, whether they are a
//! VIP, and their customer card with how many past calls and open tickets they have.
//!
//! Everything comes from the store: the call's row and its trail, written by the
//! switchboard as the call goes (the trail's words are the switchboard's, see
//! `core/ivr_calls.rs` and `core/queue.rs`); the place from `core::location`. The
//! IVR path is read back from the trail's "IVR <flow> (<keys>) → <where>" lines by
//! [`ivr_steps`], which is pure. Who may ask: see `mod.rs`.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{answer, may_see_call, path_id, time, with_store};
use crate::api::routes::{Answer, error_owned};
use crate::api::table::Ctx;
use crate::core::location;
use crate::core::{CallEventKind, CallEventRecord, CallId};

pub fn run(ctx: &Ctx<'_>) -> Answer {
    answer(pop(ctx))
}

fn pop(ctx: &Ctx<'_>) -> Result<Answer, Answer> {
    let id = path_id(ctx, "call")?;
    let facts = with_store(ctx, |s| s.call_facts(CallId(id)))?
        .ok_or_else(|| error_owned(404, &format!("no call has the id {id}"), None))?;
    may_see_call(ctx, id)?;
    let call = &facts.call;
    let number = call.customer_number().to_string();
    let (card, counts) = with_store(ctx, |s| {
        // A number that is no phone number (a SIP user name) has no card.
        let card = s.customer(&number).ok().flatten();
        let counts = s.customer_counts(&number, Some(CallId(id)))?;
        Ok((card, counts))
    })?;
    let now = Utc::now();
    let queue = queue_of(
        &facts.trail,
        call.group.as_deref(),
        call.wait_secs,
        call.answered_at.or(call.ended_at),
        now,
    );
    let state = match (call.answered_at, call.ended_at) {
        (_, Some(_)) => "ended",
        (Some(_), None) => "answered",
        (None, None) => "waiting",
    };
    Ok(Answer::json(
        200,
        &json!({
            "call": call.id,
            "state": state,
            "direction": call.direction,
            "number": number,
            "location": location_of(&number),
            "service_number": call.service_number,
            "ivr": ivr_steps(&facts.trail).iter().map(IvrStep::json).collect::<Vec<_>>(),
            "queue": queue,
            "agent": call.agent,
            "started_at": call.started_at.to_rfc3339(),
            "answered_at": time(call.answered_at),
            "ended_at": time(call.ended_at),
            "vip": card.as_ref().is_some_and(|c| c.vip),
            "customer": card.as_ref().map(super::customers::card_json),
            "past_calls": counts.0,
            "open_tickets": counts.1,
        }),
    ))
}

/// The number's 归属地, or null when it names no known place (a foreign or
/// unknown number, or no phone number at all).
fn location_of(number: &str) -> Value {
    match location::lookup(number) {
        Ok(l) if l.province.is_some() => json!({
            "province": l.province,
            "city": l.city,
            "carrier": l.carrier,
            "kind": l.kind.as_str(),
        }),
        _ => Value::Null,
    }
}

/// The skill group the caller queued for and for how long: the row's wait once an
/// agent answered, else from the trail's "queued" line to the end or to now.
fn queue_of(
    trail: &[CallEventRecord],
    group: Option<&str>,
    wait_secs: Option<u32>,
    until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Value {
    let queued = trail.iter().find(|e| e.kind == CallEventKind::Queued);
    let name = group.map(str::to_string).or_else(|| {
        queued.and_then(|e| {
            let rest = e.detail.strip_prefix("waiting in queue ")?;
            Some(rest.rsplit_once(" (").map_or(rest, |(n, _)| n).to_string())
        })
    });
    let Some(name) = name else {
        return Value::Null;
    };
    let waited = match (wait_secs, queued) {
        (Some(w), _) => Some(i64::from(w)),
        (None, Some(q)) => Some((until.unwrap_or(now) - q.at).num_seconds().max(0)),
        (None, None) => None,
    };
    json!({ "group": name, "wait_secs": waited })
}

/// One pass through an IVR flow: the flow, the keys pressed in it, where it led.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IvrStep {
    pub flow: String,
    pub keys: Vec<String>,
    /// "queue", "agent", "ivr" or "number"; "" when the words did not say.
    pub to_kind: &'static str,
    pub to: String,
    /// The trail's own words.
    pub words: String,
}

impl IvrStep {
    fn json(&self) -> Value {
        json!({
            "flow": self.flow,
            "keys": self.keys,
            "to_kind": self.to_kind,
            "to": self.to,
            "words": self.words,
        })
    }
}

const ARROW: &str = " → ";

/// The IVR steps of a trail, in order: each "IVR <flow> (<k1> → <k2>) → <where>"
/// line the switchboard writes when a caller leaves a flow (for a queue, an agent,
/// a number or another flow). A line that does not read so is skipped.
pub fn ivr_steps(trail: &[CallEventRecord]) -> Vec<IvrStep> {
    trail
        .iter()
        .filter(|e| e.kind == CallEventKind::Overflowed)
        .filter_map(|e| parse_step(&e.detail))
        .collect()
}

fn parse_step(words: &str) -> Option<IvrStep> {
    let rest = words.strip_prefix("IVR ")?;
    let keys_end = format!("){ARROW}");
    let (flow, keys, to) = match rest.find(&keys_end) {
        Some(close) if rest[..close].contains(" (") => {
            let open = rest[..close].rfind(" (")?;
            let keys = rest[open + 2..close]
                .split(ARROW)
                .filter(|k| !k.is_empty())
                .map(str::to_string)
                .collect();
            (&rest[..open], keys, &rest[close + keys_end.len()..])
        }
        _ => {
            let (flow, to) = rest.split_once(ARROW)?;
            (flow, Vec::new(), to)
        }
    };
    let (to_kind, to) = if let Some(g) = to.strip_prefix("queue ") {
        ("queue", g)
    } else if let Some(a) = to.strip_prefix("agent ") {
        ("agent", a)
    } else if let Some(f) = to.strip_prefix("IVR ") {
        ("ivr", f)
    } else if !to.is_empty() && to.chars().all(|c| c.is_ascii_digit() || c == '+') {
        ("number", to)
    } else {
        ("", to)
    };
    Some(IvrStep {
        flow: flow.to_string(),
        keys,
        to_kind,
        to: to.to_string(),
        words: words.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(kind: CallEventKind, detail: &str, secs: i64) -> CallEventRecord {
        CallEventRecord {
            call: CallId(1),
            seq: 0,
            at: DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap(),
            kind,
            party: "system".into(),
            sip_code: None,
            detail: detail.into(),
        }
    }

    #[test]
    fn the_ivr_path_is_read_from_the_trail() {
        let trail = [
            line(
                CallEventKind::Offered,
                "13812345678 called 4008001234 → IVR 默认流程",
                0,
            ),
            line(
                CallEventKind::Overflowed,
                "IVR 默认流程 (1) → queue 售前咨询",
                3,
            ),
            line(
                CallEventKind::Queued,
                "waiting in queue 售前咨询 (2 members, 1 free)",
                3,
            ),
            line(
                CallEventKind::Overflowed,
                "the caller pressed the exit key → IVR 默认流程",
                9,
            ),
            line(
                CallEventKind::Overflowed,
                "IVR 菜单 (2 → 1) → agent 8002",
                12,
            ),
            line(CallEventKind::Overflowed, "IVR 签入 → IVR 默认流程", 13),
            line(CallEventKind::Overflowed, "IVR 转号 (9) → 1003", 14),
        ];
        let steps = ivr_steps(&trail);
        let short: Vec<_> = steps
            .iter()
            .map(|s| (s.flow.as_str(), s.keys.join(","), s.to_kind, s.to.as_str()))
            .collect();
        assert_eq!(
            short,
            [
                ("默认流程", "1".to_string(), "queue", "售前咨询"),
                ("菜单", "2,1".to_string(), "agent", "8002"),
                ("签入", String::new(), "ivr", "默认流程"),
                ("转号", "9".to_string(), "number", "1003"),
            ]
        );
        assert_eq!(steps[0].words, "IVR 默认流程 (1) → queue 售前咨询");
        assert!(parse_step("something else").is_none());
        assert!(parse_step("IVR no arrow").is_none());
    }

    #[test]
    fn the_wait_is_the_row_s_or_runs_from_the_queued_line() {
        let trail = [line(
            CallEventKind::Queued,
            "waiting in queue 售后服务 (1 member)",
            10,
        )];
        let now = DateTime::from_timestamp(1_700_000_025, 0).unwrap();
        let q = queue_of(&trail, None, None, None, now);
        assert_eq!(q, json!({ "group": "售后服务", "wait_secs": 15 }));
        let q = queue_of(&trail, Some("售前"), Some(4), None, now);
        assert_eq!(q, json!({ "group": "售前", "wait_secs": 4 }));
        assert_eq!(queue_of(&[], None, None, None, now), Value::Null);
    }

    #[test]
    fn a_place_only_for_known_numbers() {
        let l = location_of("13800138000");
        assert!(l["province"].is_string(), "{l}");
        assert_eq!(l["kind"], "mobile");
        assert_eq!(location_of("88888888"), Value::Null);
        assert_eq!(location_of("carrier"), Value::Null);
        assert_eq!(location_of("+12025550123"), Value::Null);
    }
}
