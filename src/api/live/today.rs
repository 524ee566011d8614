//! Today's queue figures for the wallboard: answered, abandoned, service level, per
//! skill group and in all, over the calls of the office's day.
//!
//! The office's day is the machine's local time zone, as the switchboard's business
//! hours are (China keeps no summer time). Service level: of the queue calls offered
//! today that are over or answered, the share an agent answered within
//! [`SERVICE_LEVEL_SECS`] of joining the queue (calls still waiting do not count yet).

use chrono::{DateTime, Local, TimeZone, Utc};
use serde_json::{Value, json};

use super::super::call_log::CallLog;
use crate::core::LiveView;
use crate::store::QueueFigures;

/// The service level's threshold (DESIGN names none; 20 s is the usual 80/20 rule's).
pub const SERVICE_LEVEL_SECS: u32 = 20;

/// The start and end (UTC) of the local day `at` falls in, and its date.
pub fn local_day(at: DateTime<Local>) -> (DateTime<Utc>, DateTime<Utc>, String) {
    let date = at.date_naive();
    let start = |d: chrono::NaiveDate| {
        let midnight = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        Local
            .from_local_datetime(&midnight)
            .earliest()
            .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
    };
    let next = date.succ_opt().unwrap_or(date);
    (
        start(date),
        start(next),
        date.format("%Y-%m-%d").to_string(),
    )
}

/// One group's (or the total's) figures as JSON, with the service level.
pub fn figures_json(f: &QueueFigures) -> Value {
    let done = f.answered + f.abandoned + f.unanswered;
    let level = (done > 0).then(|| {
        let share = f64::from(f.answered_in_time) / f64::from(done);
        (share * 1000.0).round() / 1000.0
    });
    json!({
        "offered": f.offered,
        "answered": f.answered,
        "answered_in_time": f.answered_in_time,
        "abandoned": f.abandoned,
        "unanswered": f.unanswered,
        "service_level": level,
    })
}

/// The `today` event's data from the store's figures and the groups the view names.
pub fn today_json(day: &str, rows: &[QueueFigures], view: &LiveView) -> Value {
    let mut total = QueueFigures::default();
    for r in rows {
        total.offered += r.offered;
        total.answered += r.answered;
        total.answered_in_time += r.answered_in_time;
        total.abandoned += r.abandoned;
        total.unanswered += r.unanswered;
    }
    let mut groups: Vec<Value> = view
        .queues
        .iter()
        .map(|q| {
            let f = rows
                .iter()
                .find(|r| r.group == Some(q.group))
                .copied()
                .unwrap_or_default();
            let mut v = figures_json(&f);
            v["group"] = json!(q.group.0);
            v["name"] = json!(q.name);
            v
        })
        .collect();
    // Calls of a group removed since still count in the total, under no name.
    for r in rows {
        if !view.queues.iter().any(|q| Some(q.group) == r.group) {
            let mut v = figures_json(r);
            v["group"] = json!(r.group.map(|g| g.0));
            v["name"] = json!("");
            groups.push(v);
        }
    }
    json!({
        "day": day,
        "service_level_secs": SERVICE_LEVEL_SECS,
        "total": figures_json(&total),
        "groups": groups,
    })
}

/// Today's figures now, or `None` when the store cannot be read (logged).
pub fn figures(db: &CallLog, view: &LiveView) -> Option<Value> {
    let (since, until, day) = local_day(Local::now());
    match db.with_store(|s| s.queue_figures(since, until, SERVICE_LEVEL_SECS)) {
        Ok(rows) => Some(today_json(&day, &rows, view)),
        Err(Some(e)) => {
            log::error!("api: reading today's queue figures: {e}");
            None
        }
        Err(None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{GroupId, QueueView};

    #[test]
    fn service_level_counts_calls_over_or_answered() {
        let f = QueueFigures {
            group: Some(GroupId(1)),
            offered: 6,
            answered: 3,
            answered_in_time: 2,
            abandoned: 1,
            unanswered: 0,
        };
        let v = figures_json(&f);
        assert_eq!(v["service_level"], 0.5);
        assert_eq!(
            figures_json(&QueueFigures::default())["service_level"],
            Value::Null
        );
        let view = LiveView {
            at: Utc::now(),
            agents: vec![],
            calls: vec![],
            queues: vec![QueueView {
                group: GroupId(2),
                name: "售后".into(),
                waiting: 0,
                longest_since: None,
                longest_wait_secs: 0,
                members: vec![],
            }],
        };
        let t = today_json("2026-03-01", &[f], &view);
        assert_eq!(t["total"]["answered"], 3);
        assert_eq!(t["groups"][0]["name"], "售后");
        assert_eq!(t["groups"][0]["offered"], 0);
        assert_eq!(t["groups"][1]["group"], 1, "a removed group still counts");
    }

    #[test]
    fn the_local_day_is_24_hours_long_here() {
        let (a, b, day) = local_day(Local::now());
        assert_eq!((b - a).num_hours(), 24);
        assert_eq!(day.len(), 10);
    }
}
