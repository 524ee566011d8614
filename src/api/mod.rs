//! The api room: HTTP for people and scripts: `GET /health`, web sessions at
//! `/api/v1/session` (see `auth.rs`), agent control under `/api/v1/agents` (see
//! `agents.rs`), and the daemon's log level at `/api/v1/log-level` (admins only).
//!
//! It owns the HTTP listener and its thread, and is the only room that knows HTTP or
//! JSON: other rooms hand it plain values ([`Status`]) and it renders them. It must
//! never hold call state of its own or block the rooms that feed it: the daemon
//! updates `Status` with atomic stores and the API only loads them.
//!
//! The tricky part is shutdown: tiny_http's `recv` blocks, so `ApiHandle::shutdown`
//! marks the stop and unblocks the server, and the loop tells that wake-up apart from
//! an accept error (which it logs and survives). It waits at most a quarter second at
//! a time, so its heartbeat (for the systemd watchdog) moves while idle.

mod agents;
mod auth;
mod call_log;
mod calls;
pub mod client;
mod crm;
mod error;
mod lines;
mod live;
mod location;
mod openapi;
mod records;
mod routes;
mod staff;
mod table;
mod web;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

pub use agents::CommandRequest;
pub use error::ApiError;

/// The longest the server waits for a request before its heartbeat ticks again.
const HEARTBEAT_WAKE: Duration = Duration::from_millis(250);

/// What `/health` reports, updated by the daemon as things change.
#[derive(Debug)]
pub struct Status {
    pub calls_active: AtomicUsize,
    pub devices_registered: AtomicUsize,
    pub callers_waiting: AtomicUsize,
    pub agents_logged_in: AtomicUsize,
    /// Conditions an operator must act on (`/health`'s `alarms`), by name; raised and
    /// cleared by the thread that watches the condition.
    alarms: Mutex<Vec<Alarm>>,
    /// Set while the disk floor keeps new calls from being recorded.
    recording_paused: AtomicBool,
    /// Each device's registration as the SIP room last reported it, by device id
    /// (the daemon copies `DeviceStatus` here as it passes; `GET /devices` reads it).
    registrations: Mutex<HashMap<i64, DeviceRegistration>>,
    started_at: Instant,
    version: &'static str,
}

/// A device's registration as `GET /api/v1/devices` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceRegistration {
    /// Registered (or static) contacts.
    pub contacts: usize,
    /// False while qualify pings go unanswered.
    pub reachable: bool,
    /// When this was last reported changed.
    pub since: chrono::DateTime<chrono::Utc>,
}

/// A condition an operator must act on, as `/health` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Alarm {
    /// A stable name for scripts (`recording_stopped`).
    pub name: &'static str,
    /// What is wrong and what to do, in words.
    pub message: String,
}

impl Status {
    /// A status starting now, with this binary's version.
    pub fn new() -> Status {
        Status {
            calls_active: AtomicUsize::new(0),
            devices_registered: AtomicUsize::new(0),
            callers_waiting: AtomicUsize::new(0),
            agents_logged_in: AtomicUsize::new(0),
            alarms: Mutex::new(Vec::new()),
            recording_paused: AtomicBool::new(false),
            registrations: Mutex::new(HashMap::new()),
            started_at: Instant::now(),
            version: env!("CARGO_PKG_VERSION"),
        }
    }

    pub fn set_calls_active(&self, n: usize) {
        self.calls_active.store(n, Ordering::Relaxed);
    }

    pub fn set_devices_registered(&self, n: usize) {
        self.devices_registered.store(n, Ordering::Relaxed);
    }

    pub fn set_callers_waiting(&self, n: usize) {
        self.callers_waiting.store(n, Ordering::Relaxed);
    }

    pub fn set_agents_logged_in(&self, n: usize) {
        self.agents_logged_in.store(n, Ordering::Relaxed);
    }

    /// Records a device's registration as the SIP room just reported it.
    pub fn set_device_registration(&self, device: i64, contacts: usize, reachable: bool) {
        let mut map = self.registrations.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(
            device,
            DeviceRegistration {
                contacts,
                reachable,
                since: chrono::Utc::now(),
            },
        );
    }

    /// Forgets the registrations of devices not in `devices` (removed ones: the SIP
    /// room forgets them silently, and a new device may get a removed one's id).
    pub fn keep_device_registrations(&self, devices: &[i64]) {
        let mut map = self.registrations.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|d, _| devices.contains(d));
    }

    /// Every device's registration as last reported (a device never reported has none).
    pub fn device_registrations(&self) -> HashMap<i64, DeviceRegistration> {
        self.registrations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Raises the alarm `name` (or replaces its message).
    pub fn raise_alarm(&self, name: &'static str, message: String) {
        let mut alarms = self.alarms.lock().unwrap_or_else(|p| p.into_inner());
        match alarms.iter_mut().find(|a| a.name == name) {
            Some(alarm) => alarm.message = message,
            None => alarms.push(Alarm { name, message }),
        }
    }

    /// Clears the alarm `name`; true if it was raised.
    pub fn clear_alarm(&self, name: &str) -> bool {
        let mut alarms = self.alarms.lock().unwrap_or_else(|p| p.into_inner());
        let before = alarms.len();
        alarms.retain(|a| a.name != name);
        alarms.len() != before
    }

    /// The alarms raised now, oldest first.
    pub fn alarms(&self) -> Vec<Alarm> {
        self.alarms
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Stops (true) or resumes (false) recording new calls: the disk floor's switch.
    pub fn set_recording_paused(&self, paused: bool) {
        self.recording_paused.store(paused, Ordering::Relaxed);
    }

    /// True while new calls must not be recorded for want of disk space.
    pub fn recording_paused(&self) -> bool {
        self.recording_paused.load(Ordering::Relaxed)
    }

    pub fn version(&self) -> &'static str {
        self.version
    }

    pub fn uptime(&self) -> Duration {
        self.started_at.elapsed()
    }
}

impl Default for Status {
    fn default() -> Status {
        Status::new()
    }
}

/// The running HTTP server. Dropping it (or `shutdown`) stops the server and joins its
/// thread.
pub struct ApiHandle {
    server: Arc<tiny_http::Server>,
    local_addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// Dropped after the workers: its streams end with an `end` event.
    _hub: Arc<live::Hub>,
}

/// Threads answering requests: one slow request (an export, a slow sender) holds
/// one of them, not the API.
const WORKERS: usize = 4;

/// Listens on `listen` (port 0 picks a free port; see [`ApiHandle::local_addr`]) and
/// serves requests on a new thread; agent commands go to the switchboard through
/// `commands`.
pub fn spawn(
    listen: SocketAddr,
    status: Arc<Status>,
    commands: Sender<CommandRequest>,
    db: std::path::PathBuf,
    sounds: std::path::PathBuf,
) -> Result<ApiHandle, ApiError> {
    let server = tiny_http::Server::http(listen).map_err(|source| ApiError::Bind {
        addr: listen,
        source,
    })?;
    // An IP listener always reports an IP address; the fallback is for form's sake.
    let local_addr = server.server_addr().to_ip().unwrap_or(listen);
    let server = Arc::new(server);
    let stopping = Arc::new(AtomicBool::new(false));
    // Sessions are shared; each worker has its own read connection to the store.
    let sessions = Arc::new(auth::Auth::new());
    // Live event streams: their own threads, never a worker's (live/hub.rs).
    let hub = Arc::new(
        live::Hub::spawn(commands.clone(), sessions.clone(), db.clone())
            .map_err(ApiError::Spawn)?,
    );
    // Exports run on their own thread (records/export.rs), stopped with the workers.
    let (exports, exporter) =
        records::spawn_exports(db.clone(), stopping.clone()).map_err(ApiError::Spawn)?;
    let mut threads = Vec::with_capacity(WORKERS + 1);
    threads.push(exporter);
    for n in 0..WORKERS {
        let exports = exports.clone();
        let (server, stop) = (server.clone(), stopping.clone());
        let (status, commands, db) = (status.clone(), commands.clone(), db.clone());
        let (sessions, hub, sounds) = (sessions.clone(), hub.clone(), sounds.clone());
        let thread = std::thread::Builder::new()
            .name(format!("api-{n}"))
            .spawn(move || {
                let log = call_log::CallLog::new(db).with_exports(exports);
                let rooms = routes::Rooms {
                    status: &status,
                    commands: &commands,
                    log: &log,
                    auth: &sessions,
                    live: &hub,
                    sounds: &sounds,
                };
                serve(&server, &rooms, &stop)
            });
        match thread {
            Ok(t) => threads.push(t),
            Err(e) => {
                stopping.store(true, Ordering::SeqCst);
                for t in threads {
                    let _ = t.join();
                }
                return Err(ApiError::Spawn(e));
            }
        }
    }
    log::info!("api: listening on http://{local_addr}");
    Ok(ApiHandle {
        server,
        local_addr,
        stopping,
        threads,
        _hub: hub,
    })
}

impl ApiHandle {
    /// The address actually bound (the real port when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting requests and waits for the server thread to end.
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for ApiHandle {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Each worker wakes within HEARTBEAT_WAKE and sees the stop.
        self.server.unblock();
        for thread in self.threads.drain(..) {
            if thread.join().is_err() {
                log::error!("api: a server thread panicked");
            }
        }
    }
}

fn serve(server: &tiny_http::Server, rooms: &routes::Rooms<'_>, stopping: &AtomicBool) {
    loop {
        crate::heartbeat::tick(crate::heartbeat::Loop::Http);
        // The timeout wakes an idle server so its heartbeat still moves.
        match server.recv_timeout(HEARTBEAT_WAKE) {
            Ok(Some(request)) => routes::handle(request, rooms),
            Ok(None) if stopping.load(Ordering::SeqCst) => break,
            Ok(None) => {}
            Err(_) if stopping.load(Ordering::SeqCst) => break,
            // An accept failure (out of file descriptors, a reset connection) ends
            // one connection, not the server.
            Err(e) => log::warn!("api: {e}"),
        }
    }
    log::debug!("api: stopped");
}
