//! The configuration file (`callbox.toml`): what must be known before the database
//! opens — addresses, ports, the data directory, the log level.
//!
//! It owns reading and checking that file into a typed [`Config`]; it never opens
//! sockets or the database, and holds nothing an admin edits at run time (devices,
//! trunks... live in the store). Parse, don't validate: `raw.rs` is the file as
//! written, `lift.rs` turns it into values that cannot be wrong, so the rest of the
//! daemon never re-checks a port range.
//!
//! The tricky part is error messages: every rejection names the file, the line, the
//! key and what was expected (see `error.rs`). The defaults live in one place,
//! [`Config::default`], and are listed in `docs/configuration.md`.

mod error;
mod lift;
mod raw;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::ConfigError;

/// Where the packaged daemon looks when no `--config` is given.
pub const DEFAULT_PATH: &str = "/etc/callbox/callbox.toml";

/// Where the package installs the prompts.
pub const INSTALLED_SOUNDS: &str = "/usr/share/callbox/sounds";

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Holds `callbox.db` and `recordings/`.
    pub data_dir: PathBuf,
    /// The prompts and music on hold; `None` = the built-in place (see
    /// [`Config::sounds_dir`]).
    pub sounds_dir: Option<PathBuf>,
    pub log_level: LogLevel,
    pub sip: SipConfig,
    pub rtp: RtpConfig,
    pub http: HttpConfig,
    pub recording: RecordingConfig,
    pub survey: SurveyConfig,
    pub shutdown: ShutdownConfig,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ShutdownConfig {
    /// On SIGTERM, calls in progress may go on this long before they are ended.
    pub drain: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SurveyConfig {
    /// The keys a customer rates with: 1 to `scale`.
    pub scale: u8,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SipConfig {
    /// UDP and TCP.
    pub listen: SocketAddr,
    pub realm: String,
    pub user_agent: String,
    pub min_expires: Duration,
    pub max_expires: Duration,
    pub nonce_lifetime: Duration,
    /// OPTIONS pings to registered devices; `None` = off.
    pub qualify_interval: Option<Duration>,
    /// RFC 4028 session timer; `None` = off.
    pub session_expires: Option<Duration>,
    /// Digits a device dials before an outside number.
    pub outbound_prefix: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RtpConfig {
    pub bind: IpAddr,
    /// The address written into SDP; `None` = find it (see [`RtpConfig::advertise_ip`]).
    pub advertise: Option<IpAddr>,
    pub port_min: u16,
    /// Inclusive; always above `port_min`.
    pub port_max: u16,
    /// Without RTP for this long (and not on hold), a call is ended.
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpConfig {
    pub listen: SocketAddr,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RecordingConfig {
    pub enabled: bool,
    /// Recordings older than this many days are removed; 0 = kept forever.
    pub keep_days: u32,
    /// Below this much free disk space (MiB) the oldest recordings go, and when none
    /// are left to remove, recording stops (with an alarm) rather than fill the disk.
    pub min_free_mb: u64,
}

/// `log_level` in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub fn filter(self) -> log::LevelFilter {
        match self {
            LogLevel::Error => log::LevelFilter::Error,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Debug => log::LevelFilter::Debug,
            LogLevel::Trace => log::LevelFilter::Trace,
        }
    }
}

impl From<LogLevel> for log::LevelFilter {
    fn from(l: LogLevel) -> log::LevelFilter {
        l.filter()
    }
}

impl Default for Config {
    /// The built-in defaults: what `make run` uses, and what every key not in a file
    /// takes.
    fn default() -> Config {
        let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        Config {
            data_dir: PathBuf::from("./var"),
            sounds_dir: None,
            log_level: LogLevel::Info,
            sip: SipConfig {
                listen: SocketAddr::new(any, 5060),
                realm: "callbox".into(),
                user_agent: "callbox".into(),
                min_expires: Duration::from_secs(60),
                max_expires: Duration::from_secs(3600),
                nonce_lifetime: Duration::from_secs(300),
                qualify_interval: None,
                session_expires: Some(Duration::from_secs(1800)),
                outbound_prefix: "9".into(),
            },
            rtp: RtpConfig {
                bind: any,
                advertise: None,
                port_min: 10000,
                port_max: 20000,
                timeout: Duration::from_secs(60),
            },
            http: HttpConfig {
                listen: SocketAddr::new(any, 8080),
            },
            recording: RecordingConfig {
                enabled: true,
                keep_days: 0,
                min_free_mb: 1024,
            },
            survey: SurveyConfig { scale: 3 },
            shutdown: ShutdownConfig {
                drain: Duration::from_secs(30),
            },
        }
    }
}

impl Config {
    /// Reads and checks the file at `path`; errors name it as given.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text, &path.display().to_string())
    }

    /// Checks `text`; `origin` names it in errors (usually the file name). Keys not
    /// in the text keep their defaults.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        lift::lift(text, origin)
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("callbox.db")
    }

    pub fn recordings_dir(&self) -> PathBuf {
        self.data_dir.join("recordings")
    }

    /// Where prompts are read from: the `sounds_dir` key; else the package's
    /// `/usr/share/callbox/sounds` when installed; else the `sounds/` folder of the
    /// source tree this binary was built from (`make run`).
    pub fn sounds_dir(&self) -> PathBuf {
        if let Some(dir) = &self.sounds_dir {
            return dir.clone();
        }
        let installed = PathBuf::from(INSTALLED_SOUNDS);
        if installed.is_dir() {
            return installed;
        }
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sounds")
    }
}

impl RtpConfig {
    /// The address to put in SDP: `advertise` when set; else `bind` when it is a
    /// specific address; else the machine's first non-loopback IPv4 address; else
    /// 127.0.0.1 (a machine with no network can still call itself).
    pub fn advertise_ip(&self) -> IpAddr {
        if let Some(ip) = self.advertise {
            return ip;
        }
        if !self.bind.is_unspecified() {
            return self.bind;
        }
        first_lan_ipv4().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
    }
}

fn first_lan_ipv4() -> Option<IpAddr> {
    let ifaces = match if_addrs::get_if_addrs() {
        Ok(ifaces) => ifaces,
        Err(e) => {
            log::warn!("config: cannot list network interfaces ({e}); advertising 127.0.0.1");
            return None;
        }
    };
    ifaces
        .into_iter()
        .filter_map(|i| match i.ip() {
            // Link-local (169.254/16) is what a machine has when DHCP failed: no peer
            // on the LAN could reach it.
            IpAddr::V4(v4) if !v4.is_loopback() && !v4.is_link_local() && !v4.is_unspecified() => {
                Some(IpAddr::V4(v4))
            }
            _ => None,
        })
        .next()
}
