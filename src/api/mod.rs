//! The api room: HTTP for people and scripts: `GET /health`, and agent control under
//! `/api/v1/agents` (see `agents.rs`).
//!
//! It owns the HTTP listener and its thread, and is the only room that knows HTTP or
//! JSON: other rooms hand it plain values ([`Status`]) and it renders them. It must
//! never hold call state of its own or block the rooms that feed it: the daemon
//! updates `Status` with atomic stores and the API only loads them.
//!
//! The tricky part is shutdown: tiny_http's `recv` blocks, so `ApiHandle::shutdown`
//! marks the stop and unblocks the server, and the loop tells that wake-up apart from
//! an accept error (which it logs and survives).

mod agents;
mod call_log;
mod calls;
pub mod client;
mod error;
mod routes;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

pub use agents::CommandRequest;
pub use error::ApiError;

/// What `/health` reports, updated by the daemon as things change.
#[derive(Debug)]
pub struct Status {
    pub calls_active: AtomicUsize,
    pub devices_registered: AtomicUsize,
    pub callers_waiting: AtomicUsize,
    pub agents_logged_in: AtomicUsize,
    started_at: Instant,
    version: &'static str,
}

impl Status {
    /// A status starting now, with this binary's version.
    pub fn new() -> Status {
        Status {
            calls_active: AtomicUsize::new(0),
            devices_registered: AtomicUsize::new(0),
            callers_waiting: AtomicUsize::new(0),
            agents_logged_in: AtomicUsize::new(0),
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
    thread: Option<JoinHandle<()>>,
}

/// Listens on `listen` (port 0 picks a free port; see [`ApiHandle::local_addr`]) and
/// serves requests on a new thread; agent commands go to the switchboard through
/// `commands`.
pub fn spawn(
    listen: SocketAddr,
    status: Arc<Status>,
    commands: Sender<CommandRequest>,
    db: std::path::PathBuf,
) -> Result<ApiHandle, ApiError> {
    let server = tiny_http::Server::http(listen).map_err(|source| ApiError::Bind {
        addr: listen,
        source,
    })?;
    // An IP listener always reports an IP address; the fallback is for form's sake.
    let local_addr = server.server_addr().to_ip().unwrap_or(listen);
    let server = Arc::new(server);
    let stopping = Arc::new(AtomicBool::new(false));
    let thread = {
        let (server, stopping) = (server.clone(), stopping.clone());
        std::thread::Builder::new()
            .name("api".into())
            .spawn(move || {
                let log = call_log::CallLog::new(db);
                serve(&server, &status, &commands, &log, &stopping)
            })
            .map_err(ApiError::Spawn)?
    };
    log::info!("api: listening on http://{local_addr}");
    Ok(ApiHandle {
        server,
        local_addr,
        stopping,
        thread: Some(thread),
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
        self.server.unblock();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            log::error!("api: server thread panicked");
        }
    }
}

fn serve(
    server: &tiny_http::Server,
    status: &Status,
    commands: &Sender<CommandRequest>,
    log: &call_log::CallLog,
    stopping: &AtomicBool,
) {
    loop {
        match server.recv() {
            Ok(request) => routes::handle(request, status, commands, log),
            Err(_) if stopping.load(Ordering::SeqCst) => break,
            // An accept failure (out of file descriptors, a reset connection) ends
            // one connection, not the server.
            Err(e) => log::warn!("api: {e}"),
        }
    }
    log::debug!("api: stopped");
}
