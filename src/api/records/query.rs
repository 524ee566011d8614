//! The advanced query's parameters (S17), read from a query string or an export's
//! JSON body into a [`CallFilter`], every bad one refused with a 400 that names it.
//!
//! Pure: no store, no clock but the local time zone a bare date is read in (the
//! office's, as the daemon's business hours use). A skill group given by name is
//! resolved by the caller's `group_id` lookup.
//!
//! Times: `from` and `to` take an RFC 3339 time (`2026-12-01T09:00:00+08:00`), a
//! local time (`2026-12-01 09:00`), or a date (`2026-12-01`: from its midnight; as
//! `to`, up to the end of that day). `since`/`until` are the older names of my calls.

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone, Utc};

use crate::core::CallDirection;
use crate::store::{CallFilter, CallResult, ResultFilter};

use super::super::routes::{Answer, error_owned};

/// The most rows one page returns.
pub const MAX_LIMIT: usize = 500;
/// The rows a page has when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 50;
/// Past this many rows a page is not worth asking for (an export is).
const MAX_OFFSET: usize = 10_000_000;
/// Numbers and names are at most this long.
const MAX_TEXT: usize = 64;
/// A day: the longest wait worth filtering on.
const MAX_WAIT: u32 = 86_400;

/// Where the parameters come from: a page of calls, or an export (every row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    Page,
    Export,
}

/// The language of the words in an answer or an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    ZhCn,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "zh-CN" | "zh" => Some(Lang::ZhCn),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub filter: CallFilter,
    pub limit: usize,
    pub offset: usize,
    pub lang: Lang,
    /// The filters as given (empty ones dropped, the group as its id): what an
    /// export stores and parses again.
    pub canonical: Vec<(String, String)>,
}

fn bad(field: &str, message: String) -> Answer {
    error_owned(400, &message, Some(field.to_string()))
}

/// Reads `pairs` for `usage`. `group_id` finds a skill group by name.
pub fn parse(
    pairs: &[(String, String)],
    usage: Use,
    group_id: &dyn Fn(&str) -> Result<Option<i64>, Answer>,
) -> Result<Query, Answer> {
    let mut q = Query {
        filter: CallFilter::default(),
        limit: DEFAULT_LIMIT,
        offset: 0,
        lang: Lang::ZhCn,
        canonical: Vec::new(),
    };
    let mut seen: Vec<&str> = Vec::new();
    for (key, value) in pairs {
        let key = key.as_str();
        let value = value.trim();
        if seen.contains(&key) {
            return Err(bad(key, format!("{key} is given twice")));
        }
        seen.push(key);
        // An empty field of a form means "any".
        if value.is_empty() {
            continue;
        }
        let mut keep = true;
        let f = &mut q.filter;
        match key {
            "from" | "since" => f.from = Some(time(key, value, false)?),
            "to" | "until" => f.to = Some(time(key, value, true)?),
            "number" => f.number = Some(text(key, value)?),
            "direction" => {
                f.direction = Some(CallDirection::parse(value).ok_or_else(|| {
                    bad(
                        key,
                        format!("expected inbound, outbound or internal, got {value:?}"),
                    )
                })?)
            }
            "result" => {
                f.result = Some(match value {
                    "missed" | "unanswered" => ResultFilter::Unanswered,
                    other => ResultFilter::Is(CallResult::parse(other).ok_or_else(|| {
                        bad(
                            key,
                            format!(
                                "expected answered, missed, abandoned, no_answer, busy, \
                                 refused or ongoing, got {value:?}"
                            ),
                        )
                    })?),
                })
            }
            "agent" => {
                if value.len() > 16 || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad(
                        key,
                        format!("expected an agent number (digits), got {value:?}"),
                    ));
                }
                f.agent = Some(value.to_string());
            }
            "group" => {
                let id = match value.parse::<i64>() {
                    Ok(id) if id > 0 => id,
                    _ => group_id(&text(key, value)?)?
                        .ok_or_else(|| bad(key, format!("no skill group is named {value:?}")))?,
                };
                f.group = Some(id);
                q.canonical.push((key.to_string(), id.to_string()));
                keep = false;
            }
            "service_number" => f.service_number = Some(text(key, value)?),
            "min_wait" => {
                f.min_wait_secs = Some(
                    value
                        .parse::<u32>()
                        .ok()
                        .filter(|s| *s <= MAX_WAIT)
                        .ok_or_else(|| {
                            bad(
                                key,
                                format!("expected whole seconds 0-{MAX_WAIT}, got {value:?}"),
                            )
                        })?,
                )
            }
            "recorded" => f.recorded = Some(boolean(key, value)?),
            "missed" => f.missed = boolean(key, value)?,
            "handled" => f.handled = Some(boolean(key, value)?),
            "lang" => {
                q.lang = Lang::parse(value)
                    .ok_or_else(|| bad(key, format!("expected zh-CN or en, got {value:?}")))?;
                keep = false;
            }
            "limit" | "offset" if usage == Use::Export => {
                return Err(bad(
                    key,
                    format!("an export holds every matching call: leave {key} out"),
                ));
            }
            "limit" => {
                q.limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        bad(
                            key,
                            format!("expected a number of rows 1-{MAX_LIMIT}, got {value:?}"),
                        )
                    })?;
                keep = false;
            }
            "offset" => {
                q.offset = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n <= MAX_OFFSET)
                    .ok_or_else(|| {
                        bad(
                            key,
                            format!(
                                "expected a number of rows to skip 0-{MAX_OFFSET}, got {value:?}"
                            ),
                        )
                    })?;
                keep = false;
            }
            _ => return Err(bad(key, format!("unknown query parameter {key:?}"))),
        }
        if keep {
            q.canonical.push((key.to_string(), value.to_string()));
        }
    }
    if let (Some(from), Some(to)) = (q.filter.from, q.filter.to)
        && to <= from
    {
        let field = if seen.contains(&"until") {
            "until"
        } else {
            "to"
        };
        return Err(bad(
            field,
            "the end of the time range is before its start".into(),
        ));
    }
    Ok(q)
}

fn text(key: &str, value: &str) -> Result<String, Answer> {
    if value.chars().count() > MAX_TEXT || value.chars().any(char::is_control) {
        return Err(bad(
            key,
            format!("expected at most {MAX_TEXT} characters, no control characters"),
        ));
    }
    Ok(value.to_string())
}

fn boolean(key: &str, value: &str) -> Result<bool, Answer> {
    match value {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(bad(key, format!("expected true or false, got {value:?}"))),
    }
}

/// A time bound: RFC 3339, a local time, or a date (`end`: the day after it).
fn time(key: &str, value: &str, end: bool) -> Result<DateTime<Utc>, Answer> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    let local = |t: NaiveDateTime| Local.from_local_datetime(&t).earliest();
    for format in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Some(t) = NaiveDateTime::parse_from_str(value, format)
            .ok()
            .and_then(local)
        {
            return Ok(t.with_timezone(&Utc));
        }
    }
    if let Ok(day) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        let day = if end { day.succ_opt() } else { Some(day) };
        if let Some(t) = day.and_then(|d| d.and_hms_opt(0, 0, 0)).and_then(local) {
            return Ok(t.with_timezone(&Utc));
        }
    }
    Err(bad(
        key,
        format!(
            "expected a date (2026-12-01), a local time (2026-12-01 09:30) or an RFC 3339 \
             time (2026-12-01T09:30:00+08:00), got {value:?}"
        ),
    ))
}

/// A JSON object's members as query pairs (strings, numbers and booleans as text;
/// null as absent); anything else is refused naming the member.
pub fn pairs_of_json(
    object: &serde_json::Map<String, serde_json::Value>,
    skip: &[&str],
) -> Result<Vec<(String, String)>, Answer> {
    use serde_json::Value;
    let mut out = Vec::new();
    for (k, v) in object {
        if skip.contains(&k.as_str()) {
            continue;
        }
        let text = match v {
            Value::Null => continue,
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Array(_) | Value::Object(_) => {
                return Err(bad(
                    k,
                    format!("expected a string, a number or true/false for {k}"),
                ));
            }
        };
        out.push((k.clone(), text));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        super::super::super::table::query_pairs(q)
    }

    fn groups(name: &str) -> Result<Option<i64>, Answer> {
        Ok((name == "售后服务").then_some(7))
    }

    fn field_of(a: &Answer) -> String {
        let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
        assert_eq!(a.code, 400, "{}", a.body);
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()));
        v["field"].as_str().unwrap_or("").to_string()
    }

    #[test]
    fn every_filter_is_read() {
        let q = parse(
            &pairs(
                "from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z&number=138&direction=inbound\
                 &result=missed&agent=8001&group=%E5%94%AE%E5%90%8E%E6%9C%8D%E5%8A%A1\
                 &service_number=4008001234&min_wait=30&recorded=true&handled=false&limit=20\
                 &offset=40&lang=en",
            ),
            Use::Page,
            &groups,
        )
        .unwrap();
        let f = &q.filter;
        assert_eq!(f.number.as_deref(), Some("138"));
        assert_eq!(f.direction, Some(CallDirection::Inbound));
        assert_eq!(f.result, Some(ResultFilter::Unanswered));
        assert_eq!(f.agent.as_deref(), Some("8001"));
        assert_eq!(f.group, Some(7));
        assert_eq!(f.min_wait_secs, Some(30));
        assert_eq!((f.recorded, f.handled), (Some(true), Some(false)));
        assert_eq!((q.limit, q.offset, q.lang), (20, 40, Lang::En));
        assert!(q.canonical.contains(&("group".into(), "7".into())));
        assert!(!q.canonical.iter().any(|(k, _)| k == "limit"));
    }

    #[test]
    fn dates_cover_whole_days() {
        let q = parse(&pairs("from=2026-12-01&to=2026-12-01"), Use::Page, &groups).unwrap();
        let (from, to) = (q.filter.from.unwrap(), q.filter.to.unwrap());
        assert_eq!(to - from, chrono::Duration::days(1));
        let q = parse(&pairs("from=2026-12-01+09%3A30"), Use::Page, &groups).unwrap();
        assert!(q.filter.from.is_some());
    }

    #[test]
    fn bad_parameters_are_named() {
        for (query, field) in [
            ("from=yesterday", "from"),
            ("to=2026-13-01", "to"),
            ("from=2026-12-02&to=2026-12-01T00:00:00Z", "to"),
            ("direction=sideways", "direction"),
            ("result=lost", "result"),
            ("agent=80a1", "agent"),
            ("group=nobody", "group"),
            ("min_wait=-1", "min_wait"),
            ("min_wait=100000", "min_wait"),
            ("recorded=maybe", "recorded"),
            ("limit=0", "limit"),
            ("limit=501", "limit"),
            ("offset=x", "offset"),
            ("lang=fr", "lang"),
            ("colour=red", "colour"),
            ("number=1&number=2", "number"),
        ] {
            let e = parse(&pairs(query), Use::Page, &groups).unwrap_err();
            assert_eq!(field_of(&e), field, "{query}");
        }
        let e = parse(&pairs("limit=10"), Use::Export, &groups).unwrap_err();
        assert_eq!(field_of(&e), "limit");
        let long = format!("number={}", "1".repeat(65));
        assert_eq!(
            field_of(&parse(&pairs(&long), Use::Page, &groups).unwrap_err()),
            "number"
        );
    }

    #[test]
    fn sql_looking_numbers_are_kept_verbatim() {
        let q = parse(&pairs("number=%27%20OR%201%3D1--"), Use::Page, &groups).unwrap();
        assert_eq!(q.filter.number.as_deref(), Some("' OR 1=1--"));
    }

    #[test]
    fn json_bodies_become_pairs() {
        let v = serde_json::json!({"format": "csv", "min_wait": 30, "recorded": true, "to": null});
        let p = pairs_of_json(v.as_object().unwrap(), &["format"]).unwrap();
        assert_eq!(
            p,
            vec![
                ("min_wait".into(), "30".into()),
                ("recorded".into(), "true".into())
            ]
        );
        let v = serde_json::json!({"number": ["1"]});
        assert_eq!(
            field_of(&pairs_of_json(v.as_object().unwrap(), &[]).unwrap_err()),
            "number"
        );
    }
}
