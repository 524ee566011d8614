//! From the file as written (`raw.rs`) to a [`Config`] that cannot be wrong.
//!
//! Each key that is present replaces its default after a check that names the key,
//! its line and what was expected. Checks between keys (port_min below port_max, SIP
//! and HTTP on different ports) come after each key is valid on its own.
//!
//! It never looks at the machine (no interface lookups, no binding), so a file checks
//! the same everywhere.

use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use toml::Spanned;

use super::error::Source;
use super::raw::{RawConfig, expected};
use super::{Config, ConfigError, LogLevel};

pub fn lift(text: &str, origin: &str) -> Result<Config, ConfigError> {
    let src = Source { text, origin };
    let raw: RawConfig = toml::from_str(text).map_err(|e| src.toml_error(&e))?;
    let mut c = Config::default();

    if let Some(v) = &raw.data_dir {
        c.data_dir = check(&src, "data_dir", v, |s| {
            (!s.trim().is_empty()).then(|| PathBuf::from(s))
        })?;
    }
    if let Some(v) = &raw.sounds_dir {
        c.sounds_dir = Some(check(&src, "sounds_dir", v, |s| {
            (!s.trim().is_empty()).then(|| PathBuf::from(s))
        })?);
    }
    if let Some(v) = &raw.log_level {
        c.log_level = check(&src, "log_level", v, |s| log_level(s))?;
    }

    let sip = &raw.sip;
    if let Some(v) = &sip.listen {
        c.sip.listen = check(&src, "sip.listen", v, |s| s.parse().ok())?;
    }
    if let Some(v) = &sip.realm {
        c.sip.realm = check(&src, "sip.realm", v, |s| {
            (!s.is_empty() && header_safe(s)).then(|| s.to_owned())
        })?;
    }
    if let Some(v) = &sip.user_agent {
        c.sip.user_agent = check(&src, "sip.user_agent", v, |s| {
            header_safe(s).then(|| s.to_owned())
        })?;
    }
    if let Some(v) = &sip.min_expires {
        c.sip.min_expires = check(&src, "sip.min_expires", v, |n| secs(*n, 1..=86400))?;
    }
    if let Some(v) = &sip.max_expires {
        c.sip.max_expires = check(&src, "sip.max_expires", v, |n| secs(*n, 1..=86400))?;
    }
    if let Some(v) = &sip.nonce_lifetime {
        c.sip.nonce_lifetime = check(&src, "sip.nonce_lifetime", v, |n| secs(*n, 1..=86400))?;
    }
    if let Some(v) = &sip.qualify_interval {
        c.sip.qualify_interval = check(&src, "sip.qualify_interval", v, |n| {
            off_or_secs(*n, 1..=86400)
        })?;
    }
    if let Some(v) = &sip.session_expires {
        // RFC 4028 §4: Min-SE may not be below 90 seconds.
        c.sip.session_expires = check(&src, "sip.session_expires", v, |n| {
            off_or_secs(*n, 90..=86400)
        })?;
    }
    if let Some(v) = &sip.outbound_prefix {
        c.sip.outbound_prefix = check(&src, "sip.outbound_prefix", v, |s| {
            (matches!(s.len(), 1..=4) && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.to_owned())
        })?;
    }
    if c.sip.min_expires > c.sip.max_expires {
        return Err(out_of_order(
            &src,
            (
                "sip.min_expires",
                sip.min_expires.as_ref(),
                c.sip.min_expires.as_secs(),
            ),
            (
                "sip.max_expires",
                sip.max_expires.as_ref(),
                c.sip.max_expires.as_secs(),
            ),
        ));
    }

    let rtp = &raw.rtp;
    if let Some(v) = &rtp.bind {
        c.rtp.bind = check(&src, "rtp.bind", v, |s| s.parse().ok())?;
    }
    if let Some(v) = &rtp.advertise {
        c.rtp.advertise = check(&src, "rtp.advertise", v, |s| match s.trim() {
            "" => Some(None),
            s => s
                .parse::<IpAddr>()
                .ok()
                .filter(|ip| !ip.is_unspecified())
                .map(Some),
        })?;
    }
    if let Some(v) = &rtp.port_min {
        c.rtp.port_min = check(&src, "rtp.port_min", v, |n| port(*n))?;
    }
    if let Some(v) = &rtp.port_max {
        c.rtp.port_max = check(&src, "rtp.port_max", v, |n| port(*n))?;
    }
    if c.rtp.port_min >= c.rtp.port_max {
        // An RTP leg takes an even port; fewer than two ports would hold no call.
        return Err(out_of_order(
            &src,
            ("rtp.port_min", rtp.port_min.as_ref(), c.rtp.port_min.into()),
            ("rtp.port_max", rtp.port_max.as_ref(), c.rtp.port_max.into()),
        ));
    }
    if let Some(v) = &rtp.timeout {
        c.rtp.timeout = check(&src, "rtp.timeout", v, |n| secs(*n, 1..=3600))?;
    }

    if let Some(v) = &raw.http.listen {
        c.http.listen = check(&src, "http.listen", v, |s| s.parse().ok())?;
    }
    if let Some(v) = &raw.recording.enabled {
        c.recording.enabled = *v.get_ref();
    }
    if let Some(v) = &raw.recording.keep_days {
        c.recording.keep_days = check(&src, "recording.keep_days", v, |n| {
            u32::try_from(*n).ok().filter(|n| *n <= 36500)
        })?;
    }
    if let Some(v) = &raw.recording.min_free_mb {
        c.recording.min_free_mb = check(&src, "recording.min_free_mb", v, |n| {
            u64::try_from(*n).ok().filter(|n| *n <= 1_048_576)
        })?;
    }
    if let Some(v) = &raw.shutdown.drain_secs {
        c.shutdown.drain = check(&src, "shutdown.drain_secs", v, |n| secs(*n, 0..=86400))?;
    }
    if let Some(v) = &raw.survey.scale {
        c.survey.scale = check(&src, "survey.scale", v, |n| {
            u8::try_from(*n).ok().filter(|n| (1..=9).contains(n))
        })?;
    }

    if clash(c.sip.listen, c.http.listen) {
        let v = raw.http.listen.as_ref().or(raw.sip.listen.as_ref());
        let problem = format!(
            "the same port as sip.listen ({}); SIP also listens on TCP",
            c.sip.listen
        );
        return Err(match v {
            Some(v) => src.invalid("http.listen", &v.span(), problem),
            None => no_line(&src, "http.listen", problem),
        });
    }
    Ok(c)
}

/// Runs `f` on the value; `None` is an error saying what `key` expects.
fn check<T, U>(
    src: &Source<'_>,
    key: &str,
    v: &Spanned<T>,
    f: impl FnOnce(&T) -> Option<U>,
) -> Result<U, ConfigError> {
    f(v.get_ref()).ok_or_else(|| src.invalid(key, &v.span(), format!("expected {}", expected(key))))
}

/// The pair `lo` < `hi` (or <=) is out of order: reported on `hi` when the file sets
/// it, else on `lo` (the other one is then at its default).
fn out_of_order<T>(
    src: &Source<'_>,
    (lo, lo_val, lo_now): (&str, Option<&Spanned<T>>, u64),
    (hi, hi_val, hi_now): (&str, Option<&Spanned<T>>, u64),
) -> ConfigError {
    match (hi_val, lo_val) {
        (Some(v), _) => src.invalid(
            hi,
            &v.span(),
            format!("expected a value above {lo} ({lo_now})"),
        ),
        (None, Some(v)) => src.invalid(
            lo,
            &v.span(),
            format!("expected a value below {hi} ({hi_now})"),
        ),
        // Both at their defaults, which are in order: unreachable but worded anyway.
        (None, None) => no_line(src, hi, format!("expected a value above {lo} ({lo_now})")),
    }
}

fn no_line(src: &Source<'_>, key: &str, problem: String) -> ConfigError {
    ConfigError::Invalid {
        origin: src.origin.to_owned(),
        line: None,
        key: key.to_owned(),
        value: None,
        problem,
    }
}

fn log_level(s: &str) -> Option<LogLevel> {
    Some(match s.to_ascii_lowercase().as_str() {
        "error" => LogLevel::Error,
        "warn" => LogLevel::Warn,
        "info" => LogLevel::Info,
        "debug" => LogLevel::Debug,
        "trace" => LogLevel::Trace,
        _ => return None,
    })
}

/// Text that can sit inside a quoted SIP header value unescaped.
fn header_safe(s: &str) -> bool {
    !s.chars().any(|c| c == '"' || c == '\\' || c.is_control())
}

fn secs(n: i64, range: RangeInclusive<u64>) -> Option<Duration> {
    u64::try_from(n)
        .ok()
        .filter(|n| range.contains(n))
        .map(Duration::from_secs)
}

fn off_or_secs(n: i64, range: RangeInclusive<u64>) -> Option<Option<Duration>> {
    if n == 0 {
        Some(None)
    } else {
        secs(n, range).map(Some)
    }
}

/// Ports below 1024 need root, which the daemon does not run as.
fn port(n: i64) -> Option<u16> {
    u16::try_from(n).ok().filter(|p| *p >= 1024)
}

/// True when two TCP listeners would fight over one port.
fn clash(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() != 0
        && a.port() == b.port()
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}
