//! The configuration file as written: every key optional, every value as TOML typed
//! it, with its place in the file.
//!
//! Only serde touches this shape. `deny_unknown_fields` turns a misspelt key into an
//! error instead of a silently ignored setting; the spans let `lift.rs` name the line
//! of a value that parses but makes no sense (a port of 70000). Numbers are taken as
//! TOML's i64 so that range errors are ours to word, not serde's.

use serde::Deserialize;
use toml::Spanned;

pub type Val<T> = Option<Spanned<T>>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub data_dir: Val<String>,
    pub sounds_dir: Val<String>,
    pub log_level: Val<String>,
    #[serde(default)]
    pub sip: RawSip,
    #[serde(default)]
    pub rtp: RawRtp,
    #[serde(default)]
    pub http: RawHttp,
    #[serde(default)]
    pub recording: RawRecording,
    #[serde(default)]
    pub survey: RawSurvey,
    #[serde(default)]
    pub shutdown: RawShutdown,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSip {
    pub listen: Val<String>,
    pub realm: Val<String>,
    pub user_agent: Val<String>,
    pub min_expires: Val<i64>,
    pub max_expires: Val<i64>,
    pub nonce_lifetime: Val<i64>,
    pub qualify_interval: Val<i64>,
    pub session_expires: Val<i64>,
    pub outbound_prefix: Val<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRtp {
    pub bind: Val<String>,
    pub advertise: Val<String>,
    pub port_min: Val<i64>,
    pub port_max: Val<i64>,
    pub timeout: Val<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    pub listen: Val<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRecording {
    pub enabled: Val<bool>,
    pub keep_days: Val<i64>,
    pub min_free_mb: Val<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawShutdown {
    pub drain_secs: Val<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSurvey {
    pub scale: Val<i64>,
}

/// What a key's value must be, in words, for error messages. One place, so a type
/// error from serde and a range error from `lift.rs` read the same.
pub fn expected(key: &str) -> &'static str {
    match key {
        "data_dir" => "a directory path, such as \"/var/lib/callbox\"",
        "sounds_dir" => "a directory path, such as \"/usr/share/callbox/sounds\"",
        "log_level" => "one of \"error\", \"warn\", \"info\", \"debug\", \"trace\"",
        "sip.listen" => "an address and port, such as \"0.0.0.0:5060\"",
        "http.listen" => "an address and port, such as \"0.0.0.0:8080\"",
        "sip.realm" => "a non-empty name without quotes or backslashes",
        "sip.user_agent" => "text without quotes, backslashes or control characters",
        "sip.min_expires" | "sip.max_expires" => "a number of seconds 1-86400",
        "sip.nonce_lifetime" => "a number of seconds 1-86400",
        "sip.qualify_interval" => "a number of seconds 0-86400 (0 = off)",
        "sip.session_expires" => "0 (off) or a number of seconds 90-86400 (RFC 4028)",
        "sip.outbound_prefix" => "1 to 4 digits, such as \"9\"",
        "rtp.bind" => "an IP address, such as \"0.0.0.0\"",
        "rtp.advertise" => {
            "an IP address other than 0.0.0.0 or ::, or \"\" to use the machine's own"
        }
        "rtp.port_min" | "rtp.port_max" => "a port number 1024-65535",
        "rtp.timeout" => "a number of seconds 1-3600",
        "recording.enabled" => "true or false",
        "recording.keep_days" => "a number of days 0-36500 (0 = keep recordings forever)",
        "recording.min_free_mb" => "a number of megabytes 0-1048576 (0 = no floor)",
        "shutdown.drain_secs" => "a number of seconds 0-86400",
        "survey.scale" => "a number of keys 1-9 (3: satisfied, neutral, dissatisfied)",
        _ => "a valid value",
    }
}
