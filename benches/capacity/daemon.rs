//! The box under test: the release `callbox` binary, configured and provisioned
//! for the bench, and what `/proc` and `/health` say about it.
//!
//! It owns the daemon's process (killed by pid on drop), its temporary data
//! directory and configuration file. Provisioning goes through the library's store
//! on the same SQLite file before the daemon starts, exactly as an installer would;
//! it must never touch the database while the daemon runs.
//!
//! The tricky part is knowing the daemon is ready without sleeping: `/health` is
//! polled until it answers, with a deadline, and the daemon's own stderr is kept in
//! the run directory for when it does not.
//!
//! For the ACD phases the plan adds a contact centre: one skill group (longest idle,
//! no wrap-up), agents each with their own desk phone (a device with a static
//! contact at the agents' sipp), and a menu flow on the service number whose '1'
//! joins the group's queue. Agents are logged in through the HTTP API once the
//! daemon is up, as an agent's panel would.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use callbox::core::ivr::{Choice, Node, NodeId, NodeKind};
use callbox::core::{AnswerMode, Codec, Language};
use callbox::store::{NewAgent, NewDevice, NewFlow, NewGroup, NewTrunk, Store};

use crate::procstat;
use crate::sipp::{BenchResult, Guard, free_tcp_port, free_udp_port};

pub const SERVICE_NUMBER: &str = "4008001234";

/// Where the box listens and what it routes.
#[derive(Debug, Clone)]
pub struct Plan {
    pub dir: PathBuf,
    pub box_ip: IpAddr,
    /// Source address of the carrier (the trunk's only inbound peer).
    pub carrier_ip: IpAddr,
    /// The phone's static contact.
    pub phone_sip: SocketAddr,
    pub recording: bool,
    /// Route the service number through a menu to a queue of this many agents.
    pub acd: Option<AcdPlan>,
}

/// The contact centre of the ACD phases.
#[derive(Debug, Clone)]
pub struct AcdPlan {
    pub agents: u32,
    /// Where every agent's desk phone has its static contact (the agents' sipp).
    pub agents_sip: SocketAddr,
}

/// Agent `i` (0-based) has number 7xxxx and desk phone 5xxxx.
pub fn agent_number(i: u32) -> String {
    format!("7{:04}", i + 1)
}

fn desk_phone_user(i: u32) -> String {
    format!("5{:04}", i + 1)
}

pub struct Daemon {
    guard: Guard,
    pub sip: SocketAddr,
    pub http: SocketAddr,
    pub data_dir: PathBuf,
}

/// The `callbox` binary cargo built for this bench (release profile), or `CALLBOX_BIN`.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CALLBOX_BIN") {
        return PathBuf::from(path);
    }
    PathBuf::from(option_env!("CARGO_BIN_EXE_callbox").unwrap_or("target/release/callbox"))
}

impl Daemon {
    pub fn start(plan: &Plan) -> BenchResult<Daemon> {
        let sip = SocketAddr::new(plan.box_ip, free_udp_port(plan.box_ip)?);
        let http = SocketAddr::new(plan.box_ip, free_tcp_port(plan.box_ip)?);
        let data_dir = plan.dir.join("var");
        std::fs::create_dir_all(&data_dir)?;
        provision(&data_dir.join("callbox.db"), plan)?;
        if let Some(acd) = &plan.acd {
            provision_acd(&data_dir.join("callbox.db"), acd)?;
        }
        let config = plan.dir.join("callbox.toml");
        std::fs::write(&config, config_text(plan, &data_dir, sip, http))?;
        let stderr = std::fs::File::create(plan.dir.join("callbox.err"))?;
        let stdout = std::fs::File::create(plan.dir.join("callbox.out"))?;
        let guard = Guard::spawn(
            "callbox",
            Command::new(binary())
                .arg("serve")
                .arg("--config")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(stdout)
                .stderr(stderr),
        )?;
        let mut daemon = Daemon {
            guard,
            sip,
            http,
            data_dir,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while daemon.calls_active().is_none() {
            if Instant::now() > deadline || daemon.guard.wait_until(Instant::now()).is_some() {
                let err = std::fs::read_to_string(plan.dir.join("callbox.err")).unwrap_or_default();
                return Err(format!("callbox did not come up on {http}: {}", err.trim()).into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(daemon)
    }

    pub fn pid(&self) -> u32 {
        self.guard.pid()
    }

    pub fn cpu(&self) -> Option<Duration> {
        procstat::process_cpu(self.pid())
    }

    pub fn rss_kb(&self) -> Option<u64> {
        procstat::status_kb(self.pid(), "VmRSS")
    }

    pub fn hwm_kb(&self) -> Option<u64> {
        procstat::status_kb(self.pid(), "VmHWM")
    }

    /// `calls_active` from `GET /health`, or `None` when it does not answer.
    pub fn calls_active(&self) -> Option<u64> {
        let body = http_get(self.http, "/health").ok()?;
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        v.get("calls_active")?.as_u64()
    }

    /// Logs agent `number` in, answering on their desk phone.
    pub fn login(&self, number: &str) -> BenchResult<()> {
        let path = format!("/api/v1/agents/{number}/login");
        let (code, body) = http_request(
            self.http,
            "POST",
            &path,
            r#"{"mode":"device"}"#,
            // The API waits up to 5 s for the switchboard.
            Duration::from_secs(6),
        )?;
        if code != 200 {
            return Err(format!("login of agent {number}: HTTP {code}: {}", body.trim()).into());
        }
        Ok(())
    }

    /// Waits until the box holds no call (or the deadline passes); true if idle.
    pub fn wait_idle(&self, deadline: Instant) -> bool {
        loop {
            if self.calls_active() == Some(0) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the daemon with SIGTERM (killed if it lingers) and says how it went.
    pub fn stop(mut self) -> String {
        match self.guard.terminate(Duration::from_secs(10)) {
            Some(status) => format!("callbox exited: {status}"),
            None => "callbox did not stop within 10 s of SIGTERM; killed".into(),
        }
    }

    /// Bytes and number of recordings under the data directory.
    pub fn recordings(&self) -> (u64, u64) {
        fn walk(dir: &Path, acc: &mut (u64, u64)) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for e in entries.filter_map(Result::ok) {
                let path = e.path();
                if path.is_dir() {
                    walk(&path, acc);
                } else if path.extension().is_some_and(|x| x == "wav") {
                    acc.0 += e.metadata().map_or(0, |m| m.len());
                    acc.1 += 1;
                }
            }
        }
        let mut acc = (0, 0);
        walk(&self.data_dir, &mut acc);
        acc
    }
}

fn provision(db: &Path, plan: &Plan) -> BenchResult<()> {
    let mut store = Store::open(db)?;
    let phone = store.add_device(&NewDevice {
        user: "2001".into(),
        password: "bench-2001-x".into(),
        name: "bench phone".into(),
        static_contact: Some(format!("sip:2001@{}", plan.phone_sip)),
    })?;
    let trunk = store.add_trunk(&NewTrunk {
        name: "bench carrier".into(),
        host: format!("{}:5060", plan.carrier_ip),
        inbound_peers: vec![plan.carrier_ip],
        outbound_proxy: None,
        register: None,
        caller_id: "4000".into(),
        // PCMA first: the carrier sends A-law, so a relay needs no transcoding.
        codecs: vec![Codec::Pcma, Codec::Pcmu],
    })?;
    store.add_service_number(SERVICE_NUMBER, trunk, Some(phone))?;
    Ok(())
}

fn config_text(plan: &Plan, data_dir: &Path, sip: SocketAddr, http: SocketAddr) -> String {
    // The ACD box reads its prompts from the source tree, whatever is installed.
    let sounds = if plan.acd.is_some() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sounds");
        format!("sounds_dir = \"{}\"\n", dir.display())
    } else {
        String::new()
    };
    format!(
        r#"data_dir = "{data}"
log_level = "warn"
{sounds}
[sip]
listen = "{sip}"
realm = "callbox"
outbound_prefix = "9"

[rtp]
bind = "{ip}"
advertise = "{ip}"
port_min = 20000
port_max = 30000
timeout = 60

[http]
listen = "{http}"

[recording]
enabled = {rec}
"#,
        data = data_dir.display(),
        ip = plan.box_ip,
        rec = plan.recording,
    )
}

/// The group, the agents with their desk phones, and the menu in front of the queue.
fn provision_acd(db: &Path, acd: &AcdPlan) -> BenchResult<()> {
    let mut store = Store::open(db)?;
    let mut group = NewGroup::new("bench queue");
    group.wrap_up = Duration::ZERO;
    // A phone that fails an offer must not leave the queue short of agents.
    group.max_no_answer = 0;
    let group = store.add_group(&group)?;
    for i in 0..acd.agents {
        let user = desk_phone_user(i);
        let phone = store.add_device(&NewDevice {
            user: user.clone(),
            password: format!("bench-{user}-x"),
            name: format!("desk {user}"),
            static_contact: Some(format!("sip:{user}@{}", acd.agents_sip)),
        })?;
        let number = agent_number(i);
        let agent = store.add_agent(&NewAgent {
            number: number.clone(),
            name: format!("agent {number}"),
            web_password: "bench-agent".into(),
            sip_password: None,
            direct_number: None,
            bound_device: Some(phone),
            answer_mode: AnswerMode::Device,
            offline_answering: false,
            allow_fallback: false,
            confirm_direct: false,
        })?;
        store.add_member(group, agent, 1)?;
    }
    store.set_service_number_queue(SERVICE_NUMBER, Some(group), 0, Language::ZhCn)?;
    let flow = store.add_flow(&NewFlow {
        name: "bench menu".into(),
        start: NodeId(1),
        nodes: vec![
            Node {
                id: NodeId(1),
                kind: NodeKind::Menu {
                    prompts: vec!["welcome_menu".into()],
                    choices: vec![Choice {
                        key: '1',
                        next: NodeId(2),
                    }],
                    timeout_secs: 10,
                    retries: 0,
                    fail: None,
                },
            },
            Node {
                id: NodeId(2),
                kind: NodeKind::Queue { group },
            },
        ],
    })?;
    store.set_service_number_flow(SERVICE_NUMBER, Some(flow))?;
    Ok(())
}

/// A tiny HTTP/1.0 GET: enough for `/health`, with a short timeout.
fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<String> {
    http_request(addr, "GET", path, "", Duration::from_secs(2)).map(|(_, body)| body)
}

/// A tiny HTTP/1.0 request: the status code and the body.
fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    timeout: Duration,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500))?;
    stream.set_read_timeout(Some(timeout))?;
    let headers = if body.is_empty() {
        String::new()
    } else {
        format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        )
    };
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n{body}"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let code = response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or("");
    Ok((code, body.to_string()))
}
