//! `callbox doctor`: one line per check, `ok`, `warn` or `fail`, with what to do
//! about anything that is not ok. Exit 0 when nothing failed, 1 otherwise.
//!
//! It reads what an admin would look at by hand: the configuration (already read by
//! the time we run: a bad file stops `callbox` earlier with the key and line), the
//! SIP and HTTP ports (free, or held by our daemon, which answers `/health`), each
//! trunk (a SIP OPTIONS, answered within a second and a half), the phones the running
//! daemon sees registered, free disk against `recording.min_free_mb`, the clock
//! against the newest call row, and the database's integrity. It changes nothing.

use std::net::{SocketAddr, TcpListener, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

use chrono::{Datelike, Utc};

use super::CliError;
use super::args::Args;
use super::ops::{daemon_health, local_addr};
use crate::config::Config;
use crate::core::Trunk;
use crate::store::{self, Store};

/// How long a trunk has to answer OPTIONS.
const TRUNK_TIMEOUT: Duration = Duration::from_millis(1500);
/// A clock this much behind the newest call row has gone back.
const CLOCK_SLACK: chrono::Duration = chrono::Duration::minutes(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Ok,
    Warn,
    Fail,
}

struct Check {
    verdict: Verdict,
    name: String,
    what: String,
    fix: Option<String>,
}

fn ok(name: &str, what: String) -> Check {
    Check {
        verdict: Verdict::Ok,
        name: name.into(),
        what,
        fix: None,
    }
}

fn bad(verdict: Verdict, name: &str, what: String, fix: &str) -> Check {
    Check {
        verdict,
        name: name.into(),
        what,
        fix: Some(fix.into()),
    }
}

/// `callbox doctor`
pub fn doctor(config: &Config, rest: &[String]) -> Result<(), CliError> {
    Args::parse(rest, &[], &[])?;
    let mut checks = vec![ok(
        "config",
        format!("valid (data in {})", config.data_dir.display()),
    )];
    let health = daemon_health(config);
    checks.extend(ports(config, health.is_some()));
    let db = config.data_dir.join("callbox.db");
    let store = if db.is_file() {
        match Store::open(&db) {
            Ok(s) => Some(s),
            Err(e) => {
                checks.push(bad(
                    Verdict::Fail,
                    "database",
                    e.to_string(),
                    "restore a backup (callbox restore PATH)",
                ));
                None
            }
        }
    } else {
        checks.push(bad(
            Verdict::Warn,
            "database",
            format!("none yet at {}", db.display()),
            "callbox serve creates it at first start",
        ));
        None
    };
    let directory = store
        .as_ref()
        .and_then(|s| s.load_directory(&config.sip.outbound_prefix).ok());
    if let Some(d) = &directory {
        checks.extend(d.trunks.iter().map(trunk));
    }
    checks.push(devices(
        health.as_ref(),
        directory.as_ref().map(|d| d.devices.len()),
    ));
    checks.extend(alarms(health.as_ref()));
    checks.push(disk(config));
    if let Some(s) = &store {
        checks.push(clock(s));
        checks.push(integrity(s));
    }

    let mut failed = 0;
    for c in &checks {
        let word = match c.verdict {
            Verdict::Ok => "ok",
            Verdict::Warn => "warn",
            Verdict::Fail => {
                failed += 1;
                "fail"
            }
        };
        match &c.fix {
            Some(fix) => println!("{word:<4} {}: {}; fix: {fix}", c.name, c.what),
            None => println!("{word:<4} {}: {}", c.name, c.what),
        }
    }
    match failed {
        0 => Ok(()),
        n => Err(CliError::Failed(format!("doctor: {n} check(s) failed"))),
    }
}

fn ports(config: &Config, ours: bool) -> Vec<Check> {
    let http = config.http.listen;
    let sip = config.sip.listen;
    if ours {
        let at = local_addr(http);
        return vec![
            ok(
                "http",
                format!("{http} is our running daemon (http://{at}/health)"),
            ),
            ok("sip", format!("{sip} belongs to our running daemon")),
        ];
    }
    let taken = |what: &str, addr: SocketAddr, key: &str, free: std::io::Result<()>| match free {
        Ok(()) => ok(what, format!("{addr} is free (no callbox is running)")),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => bad(
            Verdict::Warn,
            what,
            format!("{addr} cannot be tried without privileges: {e}"),
            "run doctor as the callbox user or root",
        ),
        Err(e) => bad(
            Verdict::Fail,
            what,
            format!("{addr} is taken by another program and no callbox answers /health: {e}"),
            &format!(
                "stop that program (ss -lntup | grep {}) or change {key}",
                addr.port()
            ),
        ),
    };
    vec![
        taken(
            "http",
            http,
            "http.listen",
            TcpListener::bind(http).map(drop),
        ),
        taken(
            "sip",
            sip,
            "sip.listen",
            UdpSocket::bind(sip)
                .and_then(|_u| TcpListener::bind(sip))
                .map(drop),
        ),
    ]
}

fn trunk(t: &Trunk) -> Check {
    let name = format!("trunk {}", t.name);
    let target = t.outbound_proxy.as_deref().unwrap_or(&t.host);
    let demo = t.host == store::DEMO_TRUNK_HOST;
    match options(target) {
        Ok((code, took)) => ok(
            &name,
            format!(
                "{target} answered OPTIONS with {code} in {} ms",
                took.as_millis()
            ),
        ),
        Err(why) if demo => bad(
            Verdict::Warn,
            &name,
            format!("{target} is the demo carrier, which reaches no one ({why})"),
            "replace it with your carrier's host",
        ),
        Err(why) => bad(
            Verdict::Fail,
            &name,
            format!("{target}: {why}"),
            "check the trunk's host and port, the network and the carrier's firewall",
        ),
    }
}

/// Sends OPTIONS over UDP to `target` (`host[:port]`, `sip:` and parameters
/// allowed) and returns the first status code and how long it took.
fn options(target: &str) -> Result<(u16, Duration), String> {
    let hostport = target
        .trim_start_matches("sips:")
        .trim_start_matches("sip:")
        .split([';', '>'])
        .next()
        .unwrap_or("");
    let with_port = if hostport
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        && !hostport.ends_with(']')
    {
        hostport.to_string()
    } else {
        format!("{hostport}:5060")
    };
    let addr = with_port
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {hostport}: {e}"))?
        .next()
        .ok_or_else(|| format!("{hostport} has no address"))?;
    let bind: SocketAddr = if addr.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let io = |e: std::io::Error| e.to_string();
    let sock = UdpSocket::bind(bind).map_err(io)?;
    sock.connect(addr).map_err(io)?;
    let local = sock.local_addr().map_err(io)?;
    let tag: u64 = rand::random();
    let request = format!(
        "OPTIONS sip:{hostport} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK{tag:x};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:doctor@{ip}>;tag={tag:x}\r\n\
         To: <sip:{hostport}>\r\n\
         Call-ID: {tag:x}@{ip}\r\n\
         CSeq: 1 OPTIONS\r\n\
         User-Agent: callbox-doctor\r\n\
         Accept: application/sdp\r\n\
         Content-Length: 0\r\n\r\n",
        ip = local.ip()
    );
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    let mut sends = 0;
    while start.elapsed() < TRUNK_TIMEOUT {
        // Two sends, as UDP may lose one: at once and after half a second.
        if sends == 0 || (sends == 1 && start.elapsed() >= Duration::from_millis(500)) {
            sock.send(request.as_bytes()).map_err(io)?;
            sends += 1;
        }
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .map_err(io)?;
        match sock.recv(&mut buf) {
            Ok(n) => {
                let text = String::from_utf8_lossy(&buf[..n]);
                let code = text
                    .strip_prefix("SIP/2.0 ")
                    .and_then(|r| r.get(..3))
                    .and_then(|c| c.parse::<u16>().ok());
                if let Some(code) = code.filter(|c| *c >= 200) {
                    return Ok((code, start.elapsed()));
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            // ICMP port unreachable: nothing listens there.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                return Err(format!("{addr} refused (nothing listens there)"));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Err(format!(
        "no answer to OPTIONS from {addr} within {} ms",
        TRUNK_TIMEOUT.as_millis()
    ))
}

fn devices(health: Option<&serde_json::Value>, total: Option<usize>) -> Check {
    let Some(health) = health else {
        return bad(
            Verdict::Warn,
            "devices",
            "callbox is not running: registrations unknown".into(),
            "start it (systemctl start callbox)",
        );
    };
    let registered = health["devices_registered"].as_u64().unwrap_or(0);
    match total {
        Some(0) => bad(
            Verdict::Warn,
            "devices",
            "no devices are provisioned".into(),
            "add the phones to the database",
        ),
        Some(total) if registered < total as u64 => bad(
            Verdict::Warn,
            "devices",
            format!("{registered} of {total} reachable (registered or static)"),
            "check the phones' server address, user and password",
        ),
        Some(total) => ok("devices", format!("all {total} reachable")),
        None => ok("devices", format!("{registered} reachable")),
    }
}

fn alarms(health: Option<&serde_json::Value>) -> Vec<Check> {
    let list = health
        .and_then(|h| h["alarms"].as_array())
        .cloned()
        .unwrap_or_default();
    list.iter()
        .map(|a| {
            bad(
                Verdict::Fail,
                &format!("alarm {}", a["name"].as_str().unwrap_or("?")),
                a["message"].as_str().unwrap_or("").to_string(),
                "see the daemon's log",
            )
        })
        .collect()
}

fn disk(config: &Config) -> Check {
    let dir = config.recordings_dir();
    let floor = config.recording.min_free_mb;
    match store::free_space(&dir) {
        Err(e) => bad(
            Verdict::Warn,
            "disk",
            format!("cannot read the free space of {}: {e}", dir.display()),
            "check the data directory exists and is readable",
        ),
        Ok(free) => {
            let mb = free / (1024 * 1024);
            let what = format!("{mb} MiB free for {}, floor {floor} MiB", dir.display());
            if mb < floor {
                bad(
                    Verdict::Fail,
                    "disk",
                    what,
                    "free disk space: below the floor old recordings go, then recording stops",
                )
            } else if mb < floor.saturating_mul(2) {
                bad(
                    Verdict::Warn,
                    "disk",
                    what,
                    "free disk space soon, or set recording.keep_days",
                )
            } else {
                ok("disk", what)
            }
        }
    }
}

fn clock(store: &Store) -> Check {
    let now = Utc::now();
    if now.year() < 2025 {
        return bad(
            Verdict::Fail,
            "clock",
            format!("the system clock says {}", now.format("%Y-%m-%d %H:%M UTC")),
            "set the time (timedatectl set-ntp true)",
        );
    }
    match store.recent_calls(1) {
        Ok(calls) => match calls.first() {
            Some(c) if c.started_at > now + CLOCK_SLACK => bad(
                Verdict::Fail,
                "clock",
                format!(
                    "call {} started at {}, after the clock's {}: the clock went back",
                    c.id.0,
                    c.started_at.format("%Y-%m-%d %H:%M UTC"),
                    now.format("%Y-%m-%d %H:%M UTC")
                ),
                "set the time (timedatectl set-ntp true)",
            ),
            Some(c) => ok(
                "clock",
                format!(
                    "{}, newest call at {}",
                    now.format("%Y-%m-%d %H:%M UTC"),
                    c.started_at.format("%Y-%m-%d %H:%M UTC")
                ),
            ),
            None => ok(
                "clock",
                format!("{} (no calls yet)", now.format("%Y-%m-%d %H:%M UTC")),
            ),
        },
        Err(e) => bad(
            Verdict::Warn,
            "clock",
            format!("cannot read the newest call: {e}"),
            "check the database",
        ),
    }
}

fn integrity(store: &Store) -> Check {
    match store.integrity_problems() {
        Ok(problems) if problems.is_empty() => ok("database", "integrity check ok".into()),
        Ok(problems) => bad(
            Verdict::Fail,
            "database",
            format!("integrity check: {}", problems.join("; ")),
            "restore a backup (callbox restore PATH)",
        ),
        Err(e) => bad(
            Verdict::Fail,
            "database",
            e.to_string(),
            "restore a backup (callbox restore PATH)",
        ),
    }
}
