//! `make bench` (its export part): does the daemon's memory grow with the rows an
//! export holds? 100,000 calls are written through the store's own writer, the
//! release daemon starts on them, and exports of 10,000 rows (the outbound calls) and
//! of 100,000 (all) run to CSV and to XLSX while the bench reads the daemon's VmRSS
//! and VmHWM (peak) from /proc/<pid>/status after each. Last, one download of the
//! 100,000-row XLSX, whose answer is held whole in memory by the API (said apart).
//!
//! It reports; it never asserts. It binds loopback only, picks free ports, waits on
//! the API with deadlines, and kills the daemon by pid when done.
//!
//! Usage: cargo bench --bench export

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};

use callbox::core::{CallDirection, CallId, CallRecord, HangupBy, StoreOp};
use callbox::store::{Store, spawn_writer};

const CALLS: i64 = 100_000;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The daemon, killed by pid when dropped.
struct Daemon {
    child: Child,
    http: SocketAddr,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> PathBuf {
    std::env::var_os("CALLBOX_BIN").map_or_else(
        || PathBuf::from(option_env!("CARGO_BIN_EXE_callbox").unwrap_or("target/release/callbox")),
        PathBuf::from,
    )
}

fn free_tcp() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A base port with `n` free UDP ports from it.
fn free_udp_block(n: u16) -> Result<u16> {
    for base in (30_000..60_000u16).step_by(256) {
        let held: Vec<_> = (0..n)
            .map_while(|i| UdpSocket::bind(("127.0.0.1", base + i)).ok())
            .collect();
        if held.len() == usize::from(n) {
            return Ok(base);
        }
    }
    Err("no free block of UDP ports".into())
}

fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One request from this machine (admin rights); (status, body).
fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no HTTP head")?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or("no status")?;
    Ok((code, raw[split + 4..].to_vec()))
}

fn json(addr: SocketAddr, method: &str, path: &str, body: &str) -> Result<serde_json::Value> {
    let (code, bytes) = request(addr, method, path, body)?;
    let v: serde_json::Value = serde_json::from_slice(&bytes)?;
    if code >= 300 {
        return Err(format!("{method} {path}: {code} {v}").into());
    }
    Ok(v)
}

fn seed(db: &Path) -> Result<()> {
    let writer = spawn_writer(db)?;
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 8, 0, 0).unwrap();
    for id in 1..=CALLS {
        let at = start + chrono::Duration::seconds(id * 20);
        let outbound = id % 10 == 0;
        let mut c = CallRecord::begun(
            CallId(id),
            if outbound {
                CallDirection::Outbound
            } else {
                CallDirection::Inbound
            },
            format!("139{id:08}"),
            "4008001234".into(),
            at,
        );
        c.service_number = Some("4008001234".into());
        c.answered_at = (id % 3 != 0).then(|| at + chrono::Duration::seconds(6));
        c.ended_at = Some(at + chrono::Duration::seconds(120));
        c.hangup_by = Some(HangupBy::Caller);
        c.sip_code = Some(200);
        c.end_cause = Some("the caller hung up".into());
        c.wait_secs = Some(u32::try_from(id % 60).unwrap_or(0));
        writer.send(StoreOp::Call(Box::new(c)));
    }
    writer.shutdown();
    Ok(())
}

fn start(dir: &Path) -> Result<Daemon> {
    let data_dir = dir.join("var");
    let (sip, http, rtp) = (free_tcp()?, free_tcp()?, free_udp_block(16)?);
    let config = dir.join("callbox.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {data_dir:?}\nlog_level = \"warn\"\n[sip]\nlisten = \"127.0.0.1:{sip}\"\n\
             [rtp]\nbind = \"127.0.0.1\"\nadvertise = \"127.0.0.1\"\nport_min = {rtp}\nport_max = {}\n\
             [http]\nlisten = \"127.0.0.1:{http}\"\n",
            rtp + 15
        ),
    )?;
    let child = Command::new(binary())
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join("callbox.out"))?)
        .stderr(std::fs::File::create(dir.join("callbox.err"))?)
        .spawn()?;
    let daemon = Daemon {
        child,
        http: SocketAddr::from(([127, 0, 0, 1], http)),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while request(daemon.http, "GET", "/health", "").is_err() {
        if Instant::now() > deadline {
            let err = std::fs::read_to_string(dir.join("callbox.err")).unwrap_or_default();
            return Err(format!("callbox did not come up: {err}").into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(daemon)
}

/// Runs one export to its end; (rows, bytes, seconds).
fn export(d: &Daemon, format: &str, filter: &str) -> Result<(u64, u64, f64)> {
    let body = format!(r#"{{"format":"{format}"{filter}}}"#);
    let started = Instant::now();
    let task = json(d.http, "POST", "/api/v1/exports", &body)?;
    let id = task["id"].as_i64().ok_or("no task id")?;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let t = json(d.http, "GET", &format!("/api/v1/exports/{id}"), "")?;
        match t["state"].as_str() {
            Some("done") => {
                return Ok((
                    t["rows"].as_u64().unwrap_or(0),
                    t["bytes"].as_u64().unwrap_or(0),
                    started.elapsed().as_secs_f64(),
                ));
            }
            Some("failed") => return Err(format!("export {id} failed: {t}").into()),
            _ if Instant::now() > deadline => return Err(format!("export {id}: {t}").into()),
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn run() -> Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("callbox-bench-export-")
        .tempdir()?;
    let db = dir.path().join("var").join("callbox.db");
    drop(Store::open(&db)?);
    let seeding = Instant::now();
    seed(&db)?;
    println!(
        "export bench: {CALLS} calls written in {:.1} s; daemon {}",
        seeding.elapsed().as_secs_f64(),
        binary().display()
    );
    let d = start(dir.path())?;
    let pid = d.child.id();
    let mem = || {
        (
            status_kb(pid, "VmRSS").unwrap_or(0),
            status_kb(pid, "VmHWM").unwrap_or(0),
        )
    };
    // The API's first answers open each worker's connection; warm them before the
    // baseline.
    for _ in 0..8 {
        json(d.http, "GET", "/api/v1/calls?limit=1", "")?;
    }
    let (rss, hwm) = mem();
    println!(
        "{:<26} {:>8} {:>8} {:>9} {:>11} {:>11}",
        "phase", "rows", "secs", "file MB", "VmRSS MB", "VmHWM MB"
    );
    let mb = |kb: u64| kb as f64 / 1024.0;
    println!(
        "{:<26} {:>8} {:>8} {:>9} {:>11.1} {:>11.1}",
        "idle, before exports",
        "-",
        "-",
        "-",
        mb(rss),
        mb(hwm)
    );
    for (name, format, filter) in [
        ("10,000 rows to CSV", "csv", r#","direction":"outbound""#),
        ("10,000 rows to XLSX", "xlsx", r#","direction":"outbound""#),
        ("100,000 rows to CSV", "csv", ""),
        ("100,000 rows to XLSX", "xlsx", ""),
    ] {
        let (rows, bytes, secs) = export(&d, format, filter)?;
        let (rss, hwm) = mem();
        println!(
            "{name:<26} {rows:>8} {secs:>8.1} {:>9.1} {:>11.1} {:>11.1}",
            bytes as f64 / 1e6,
            mb(rss),
            mb(hwm)
        );
    }
    let tasks = json(d.http, "GET", "/api/v1/exports", "")?;
    let last = tasks[0]["id"].as_i64().ok_or("no task")?;
    let (code, body) = request(d.http, "GET", &format!("/api/v1/exports/{last}/file"), "")?;
    let (rss, hwm) = mem();
    println!(
        "{:<26} {:>8} {:>8} {:>9.1} {:>11.1} {:>11.1}",
        format!("download of it (HTTP {code})"),
        "-",
        "-",
        body.len() as f64 / 1e6,
        mb(rss),
        mb(hwm)
    );
    println!(
        "(the export thread streams rows; a download is read whole into memory by the API, \
         so its peak is the file's size)"
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("export bench: {e}");
            ExitCode::FAILURE
        }
    }
}
