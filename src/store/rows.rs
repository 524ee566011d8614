//! How core's values are written as SQL text and read back.
//!
//! Each conversion has both directions side by side so they cannot drift. Reading is
//! strict: a value we would never write is a `BadRow` naming the table and key,
//! not a guess, because it means someone edited the file by hand.

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

use super::StoreError;
use crate::core::acd::{AgentState, StatusCause};
use crate::core::{AnswerMode, CallDirection, CallEventKind, Codec, HangupBy, Language, Strategy};

/// ISO-8601 UTC, fixed width (nine fractional digits), so text order is time order.
pub fn time_to_sql(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

pub fn time_from_sql(s: &str, table: &'static str, key: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| bad(table, key, format!("time {s:?}: {e}")))
}

pub fn direction_from_sql(s: &str, key: &str) -> Result<CallDirection, StoreError> {
    CallDirection::parse(s).ok_or_else(|| bad("calls", key, format!("direction {s:?}")))
}

pub fn hangup_by_from_sql(s: &str, key: &str) -> Result<HangupBy, StoreError> {
    HangupBy::parse(s).ok_or_else(|| bad("calls", key, format!("hangup_by {s:?}")))
}

pub fn event_kind_from_sql(s: &str, key: &str) -> Result<CallEventKind, StoreError> {
    CallEventKind::parse(s).ok_or_else(|| bad("call_events", key, format!("kind {s:?}")))
}

pub fn codecs_to_sql(codecs: &[Codec]) -> String {
    codecs
        .iter()
        .map(|c| c.name())
        .collect::<Vec<_>>()
        .join(",")
}

pub fn codecs_from_sql(s: &str, key: &str) -> Result<Vec<Codec>, StoreError> {
    list_items(s)
        .map(|name| {
            [Codec::Pcmu, Codec::Pcma]
                .into_iter()
                .find(|c| c.name().eq_ignore_ascii_case(name))
                .ok_or_else(|| bad("trunks", key, format!("codec {name:?} (known: PCMU, PCMA)")))
        })
        .collect()
}

pub fn peers_to_sql(peers: &[IpAddr]) -> String {
    peers
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

pub fn peers_from_sql(s: &str, key: &str) -> Result<Vec<IpAddr>, StoreError> {
    list_items(s)
        .map(|p| {
            p.parse()
                .map_err(|_| bad("trunks", key, format!("inbound peer {p:?}")))
        })
        .collect()
}

/// SIP status codes are 100-699; anything else in a row is damage.
pub fn sip_code_from_sql(
    v: Option<i64>,
    table: &'static str,
    key: &str,
) -> Result<Option<u16>, StoreError> {
    v.map(|c| {
        u16::try_from(c)
            .ok()
            .filter(|c| (100..700).contains(c))
            .ok_or_else(|| bad(table, key, format!("sip_code {c}")))
    })
    .transpose()
}

pub fn strategy_from_sql(s: &str, key: &str) -> Result<Strategy, StoreError> {
    Strategy::parse(s).ok_or_else(|| bad("skill_groups", key, format!("strategy {s:?}")))
}

pub fn answer_mode_from_sql(
    s: &str,
    table: &'static str,
    key: &str,
) -> Result<AnswerMode, StoreError> {
    AnswerMode::parse(s).ok_or_else(|| bad(table, key, format!("answer mode {s:?}")))
}

pub fn language_from_sql(s: &str, key: &str) -> Result<Language, StoreError> {
    Language::parse(s).ok_or_else(|| bad("service_numbers", key, format!("language {s:?}")))
}

pub fn agent_state_from_sql(s: &str, key: &str) -> Result<AgentState, StoreError> {
    AgentState::parse(s).ok_or_else(|| bad("agent_status_log", key, format!("state {s:?}")))
}

pub fn cause_from_sql(s: &str, key: &str) -> Result<StatusCause, StoreError> {
    StatusCause::parse(s).ok_or_else(|| bad("agent_status_log", key, format!("cause {s:?}")))
}

/// Durations are stored as whole seconds; callers validate before writing, so the
/// fraction `as_secs` drops is always zero.
pub fn secs_to_sql(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

pub fn secs_from_sql(
    v: i64,
    table: &'static str,
    key: &str,
    column: &str,
) -> Result<Duration, StoreError> {
    u64::try_from(v)
        .map(Duration::from_secs)
        .map_err(|_| bad(table, key, format!("{column} {v}")))
}

/// A count or number of seconds that must fit a `u32`.
pub fn u32_from_sql(
    v: i64,
    table: &'static str,
    key: &str,
    column: &str,
) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| bad(table, key, format!("{column} {v}")))
}

fn list_items(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim).filter(|p| !p.is_empty())
}

pub fn bad(table: &'static str, key: &str, what: String) -> StoreError {
    StoreError::BadRow {
        table,
        key: key.to_owned(),
        what,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_round_trip_and_sort_as_text() {
        let a =
            Utc.with_ymd_and_hms(2025, 3, 1, 9, 30, 0).unwrap() + chrono::Duration::nanoseconds(5);
        let b = a + chrono::Duration::milliseconds(1);
        assert_eq!(time_to_sql(&a), "2025-03-01T09:30:00.000000005Z");
        assert_eq!(time_from_sql(&time_to_sql(&a), "t", "k").unwrap(), a);
        assert!(time_to_sql(&a) < time_to_sql(&b));
    }

    #[test]
    fn every_event_kind_reads_back() {
        for k in [
            CallEventKind::EarlyMedia,
            CallEventKind::RecordingDone,
            CallEventKind::HungUp,
        ] {
            assert_eq!(event_kind_from_sql(k.as_str(), "k").unwrap(), k);
        }
        assert!(event_kind_from_sql("exploded", "k").is_err());
    }

    #[test]
    fn stored_words_read_back_and_strangers_are_refused() {
        for s in Strategy::ALL {
            assert_eq!(strategy_from_sql(s.as_str(), "k").unwrap(), s);
        }
        for s in AgentState::ALL {
            assert_eq!(agent_state_from_sql(s.as_str(), "k").unwrap(), s);
        }
        assert!(strategy_from_sql("longest_idle", "k").is_err());
        assert!(answer_mode_from_sql("phone", "agents", "k").is_err());
        assert!(language_from_sql("zh", "k").is_err());
        assert!(cause_from_sql("robot", "k").is_err());
        assert!(secs_from_sql(-1, "t", "k", "wrap_up_secs").is_err());
        assert_eq!(
            secs_from_sql(secs_to_sql(Duration::from_secs(45)), "t", "k", "c").unwrap(),
            Duration::from_secs(45)
        );
    }

    #[test]
    fn codec_and_peer_lists() {
        assert_eq!(
            codecs_from_sql(" pcma, PCMU ", "k").unwrap(),
            vec![Codec::Pcma, Codec::Pcmu]
        );
        assert!(codecs_from_sql("G729", "k").is_err());
        let peers = peers_from_sql("192.0.2.1,::1", "k").unwrap();
        assert_eq!(peers_to_sql(&peers), "192.0.2.1,::1");
        assert!(peers_from_sql("192.0.2.300", "k").is_err());
    }
}
