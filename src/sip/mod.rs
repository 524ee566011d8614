//! The SIP room: Sofia-SIP (NUA) on its own thread, speaking to the rest of callbox
//! only in [`SipEvent`]s out and [`SipCommand`]s in, keyed by our own [`LegId`]s.
//!
//! It owns the registrar (contacts, digest checks with stateless nonces, qualify),
//! authentication of incoming INVITEs (trunk peers by source address, devices by
//! digest), every dialog and its SDP, and outbound registration to trunks. It must
//! never block its thread on a new call (a full event queue answers 503, and so does
//! every new INVITE once [`SipHandle::refuse_new_calls`] was called), never let a
//! peer's bytes panic it, and never call Sofia from another thread: [`SipHandle::send`]
//! queues the command and writes an eventfd the Sofia root polls.
//!
//! Layout: `ffi/` is the only code that may use `unsafe` (bindings, tag lists, callbacks); `stack`
//! runs the thread and dispatches events; `calls` (incoming and common dialog
//! logic), `outgoing`, `refer` (transfers: REFER in, NOTIFY out) and `register` hold
//! the rest; `registrar`, `digest`, `sdp` and `refer_to` are pure and unit-tested.
//!
//! [`LegId`]: crate::core::LegId

mod calls;
mod digest;
mod error;
#[allow(unsafe_code)]
mod ffi;
mod outgoing;
mod refer;
mod refer_to;
mod register;
mod registrar;
mod sdp;
mod stack;

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded};

use crate::core::{Directory, SipCommand, SipEvent};
pub use error::{PeerError, SipError};

/// How the SIP room listens and what policy its registrar applies.
#[derive(Debug, Clone)]
pub struct SipConfig {
    /// UDP and TCP are bound on this address and port; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Digest realm, e.g. "callbox".
    pub realm: String,
    /// Our User-Agent and Server header (Sofia's own name is never sent).
    pub user_agent: String,
    /// REGISTER asking for less than this gets 423 Interval Too Brief.
    pub min_expires: u32,
    /// Longer registrations are granted only this long.
    pub max_expires: u32,
    /// Older nonces are answered 401/407 with `stale=true`.
    pub nonce_lifetime: Duration,
    /// OPTIONS ping to every registered (and static) contact this often.
    pub qualify_interval: Option<Duration>,
    /// RFC 4028 session interval we offer and accept; 0 turns our side off.
    pub session_expires: u32,
}

/// Commands queued to the Sofia thread.
pub(crate) enum Cmd {
    Sip(SipCommand),
    Shutdown,
}

/// How many commands may wait for the Sofia thread.
const COMMAND_QUEUE: usize = 1024;
/// How long `send` waits for room in a full queue before calling it overload.
const SEND_TIMEOUT: Duration = Duration::from_secs(1);

/// The running room. Dropping it shuts the stack down like [`SipHandle::shutdown`].
pub struct SipHandle {
    tx: Sender<Cmd>,
    wake: Arc<ffi::EventFd>,
    local: SocketAddr,
    /// Set on shutdown's drain: new INVITEs are answered 503.
    refusing: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Starts Sofia on its own thread; returns once it listens on UDP and TCP (or with
/// the address that could not be bound).
pub fn spawn(
    config: SipConfig,
    directory: Directory,
    events: Sender<SipEvent>,
) -> Result<SipHandle, SipError> {
    // Port 0: Sofia would bind UDP and TCP to two different ephemeral ports, so pick
    // one free for both first. Another process can take it in between; retry then.
    let tries = if config.listen.port() == 0 { 5 } else { 1 };
    let mut last = None;
    for _ in 0..tries {
        let listen = if config.listen.port() == 0 {
            free_port(config.listen)?
        } else {
            config.listen
        };
        match start(listen, config.clone(), directory.clone(), events.clone()) {
            Ok(h) => return Ok(h),
            Err(e @ SipError::Bind { .. }) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or(SipError::Start("no attempt made".into())))
}

fn start(
    listen: SocketAddr,
    mut config: SipConfig,
    directory: Directory,
    events: Sender<SipEvent>,
) -> Result<SipHandle, SipError> {
    config.listen = listen;
    let wake = Arc::new(ffi::EventFd::new().map_err(|e| SipError::Start(format!("eventfd: {e}")))?);
    let (tx, rx): (Sender<Cmd>, Receiver<Cmd>) = bounded(COMMAND_QUEUE);
    let (ready_tx, ready_rx) = bounded::<Result<(), String>>(1);
    let thread_wake = Arc::clone(&wake);
    let refusing = Arc::new(AtomicBool::new(false));
    let thread_refusing = Arc::clone(&refusing);
    let thread = std::thread::Builder::new()
        .name("sip".into())
        .spawn(move || {
            let io = stack::Io {
                events,
                commands: rx,
                wake: thread_wake,
                refusing: thread_refusing,
            };
            stack::run(config, directory, io, ready_tx)
        })
        .map_err(|e| SipError::Start(format!("thread: {e}")))?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(SipHandle {
            tx,
            wake,
            local: listen,
            refusing,
            thread: Some(thread),
        }),
        Ok(Err(reason)) => {
            let _ = thread.join();
            Err(SipError::Bind {
                addr: listen,
                reason,
            })
        }
        Err(_) => {
            let _ = thread.join();
            Err(SipError::Start("the SIP thread died while starting".into()))
        }
    }
}

/// A port free on `addr`'s IP for both UDP and TCP.
fn free_port(addr: SocketAddr) -> Result<SocketAddr, SipError> {
    let bind_err = |e: std::io::Error| SipError::Bind {
        addr,
        reason: e.to_string(),
    };
    for _ in 0..20 {
        let udp = UdpSocket::bind(SocketAddr::new(addr.ip(), 0)).map_err(bind_err)?;
        let candidate = udp.local_addr().map_err(bind_err)?;
        if TcpListener::bind(candidate).is_ok() {
            return Ok(candidate);
        }
    }
    Err(SipError::Bind {
        addr,
        reason: "no port free for both UDP and TCP".into(),
    })
}

impl SipHandle {
    /// Queues a command and wakes the Sofia thread.
    pub fn send(&self, cmd: SipCommand) -> Result<(), SipError> {
        self.tx
            .send_timeout(Cmd::Sip(cmd), SEND_TIMEOUT)
            .map_err(|e| match e {
                crossbeam_channel::SendTimeoutError::Timeout(_) => SipError::Overloaded,
                crossbeam_channel::SendTimeoutError::Disconnected(_) => SipError::Stopped,
            })?;
        self.wake.notify();
        Ok(())
    }

    /// From now on every new INVITE is answered 503 Service Unavailable (the daemon
    /// stops taking calls while those in progress drain); dialogs go on as before.
    pub fn refuse_new_calls(&self) {
        self.refusing.store(true, Ordering::SeqCst);
        self.wake.notify();
    }

    /// The address actually bound (the real port when the config said 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Ends every dialog and registration (`nua_shutdown`), waits for Sofia to confirm,
    /// tears the stack down and joins the thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(thread) = self.thread.take() {
            // A full queue still gets the request: the thread also stops when the
            // channel is closed, which dropping `tx` below does not need here.
            let _ = self.tx.send_timeout(Cmd::Shutdown, SEND_TIMEOUT);
            self.wake.notify();
            if thread.join().is_err() {
                log::error!("sip: the Sofia thread panicked");
            }
        }
    }
}

impl Drop for SipHandle {
    fn drop(&mut self) {
        self.stop();
    }
}
