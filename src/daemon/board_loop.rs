//! The switchboard's driver: the one thread that owns the `Switchboard`.
//!
//! It waits on the SIP and media event channels and the next timer, feeds the
//! switchboard, and carries out what it asks, in order. It is the only place where
//! the pure core meets real time; everything here is plumbing, no decisions.
//!
//! It also paces the daemon's life: after its first turn it calls `on_ready` (every
//! room is up: systemd's `READY=1`), it ticks its heartbeat every turn and wakes at
//! least every [`IDLE_WAKE`] so the watchdog sees it alive, and it drains on stop: the
//! first signal calls `on_stop` (new calls refused, `STOPPING=1`) and lets calls in
//! progress go on for up to `drain`; when they are all over, the drain runs out or a
//! second signal comes, the switchboard ends what is left and the loop returns.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, select};

use crate::api::{CommandRequest, Status};
use crate::core::{
    Command, CommandError, Directory, Input, MediaEvent, Now, Output, Reply, SipCommand, SipEvent,
    Switchboard,
};
use crate::heartbeat::{self, Loop};
use crate::media::MediaHandle;
use crate::sip::SipHandle;
use crate::store::StoreWriter;

/// The longest the loop sleeps: it bounds how stale the health figures can get and
/// keeps the heartbeat moving for the watchdog (which checks every half of systemd's
/// interval, a second at the shortest we expect).
const IDLE_WAKE: Duration = Duration::from_millis(250);

/// The channels and handles the loop works with.
pub struct Wiring<'a> {
    pub sip_events: Receiver<SipEvent>,
    pub media_events: Receiver<MediaEvent>,
    pub commands: Receiver<CommandRequest>,
    /// A new directory after an admin change (from the watcher).
    pub reloads: Receiver<Directory>,
    /// One message per SIGTERM/SIGINT.
    pub stop: Receiver<()>,
    pub sip: &'a SipHandle,
    pub media: &'a MediaHandle,
    pub store: &'a StoreWriter,
    pub status: Arc<Status>,
    /// How long calls in progress may go on after the first stop signal.
    pub drain: Duration,
    /// Called once, after the first turn.
    pub on_ready: Option<Box<dyn FnOnce() + 'a>>,
    /// Called once, on the first stop signal, with the calls in progress.
    pub on_stop: Option<Box<dyn FnOnce(usize) + 'a>>,
}

/// Run until a stop has drained (see the module doc) or a room's channel closes.
pub fn run(board: &mut Switchboard, mut wiring: Wiring<'_>) {
    let mut replies = Replies::default();
    // A room that went away leaves a closed channel, which is always ready: swap it for
    // one that never is, or the loop would spin.
    let mut reloads = wiring.reloads.clone();
    let mut commands = wiring.commands.clone();
    // What the switchboard said before the first input (the agents restored at start).
    while let Some(output) = board.poll_output() {
        carry_out(&wiring, &mut replies, output);
    }
    // Set by the first stop signal: when the calls left are ended.
    let mut drain_until: Option<Instant> = None;
    loop {
        heartbeat::tick(Loop::Board);
        let now = Instant::now();
        let mut wake = board
            .poll_timeout()
            .map_or(now + IDLE_WAKE, |t| t.min(now + IDLE_WAKE));
        if let Some(until) = drain_until {
            wake = wake.min(until);
        }
        if wiring.on_ready.is_some() {
            // The first turn: nothing to wait for before saying we are up.
            wake = now;
        }
        let wake = wake.max(now);
        // Retention sets this when the disk reaches its floor (and clears it).
        board.pause_recording(wiring.status.recording_paused());
        let input = select! {
            recv(wiring.sip_events) -> event => match event {
                Ok(event) => {
                    // The console shows each device's registration (`GET /devices`).
                    if let SipEvent::DeviceStatus { device, contacts, reachable } = &event {
                        wiring.status.set_device_registration(device.0, *contacts, *reachable);
                    }
                    Input::Sip(event)
                }
                Err(_) => { log::error!("the SIP room stopped"); return; }
            },
            recv(wiring.media_events) -> event => match event {
                Ok(event) => {
                    if let MediaEvent::RecordingDone { path, seconds } = &event {
                        wiring.store.send_recording(path.clone(), *seconds);
                    }
                    Input::Media(event)
                }
                Err(_) => { log::error!("the media room stopped"); return; }
            },
            recv(reloads) -> directory => match directory {
                Ok(directory) => {
                    let devices: Vec<i64> = directory.devices.iter().map(|d| d.id.0).collect();
                    wiring.status.keep_device_registrations(&devices);
                    if let Err(e) = wiring.sip.send(SipCommand::Reload(Box::new(directory.clone()))) {
                        log::error!("SIP reload lost: {e}");
                    }
                    Input::Reload(Box::new(directory))
                }
                Err(_) => {
                    log::error!("the directory watcher stopped: admin changes need a restart");
                    reloads = crossbeam_channel::never();
                    continue;
                }
            },
            recv(commands) -> request => match request {
                Ok((command, reply)) => replies.input(command, reply),
                Err(_) => {
                    log::error!("the API stopped taking requests");
                    commands = crossbeam_channel::never();
                    continue;
                }
            },
            recv(wiring.stop) -> signal => {
                let calls = board.active_calls();
                if drain_until.is_some() || signal.is_err() {
                    log::warn!("stopping now: ending {calls} call(s) in progress");
                    return finish(board, &wiring, &mut replies);
                }
                log::info!(
                    "stopping: new calls are refused; {calls} call(s) in progress may go on for up to {} s",
                    wiring.drain.as_secs()
                );
                drain_until = Some(Instant::now() + wiring.drain);
                if let Some(on_stop) = wiring.on_stop.take() {
                    on_stop(calls);
                }
                Input::Timeout
            }
            recv(crossbeam_channel::at(wake)) -> _ => Input::Timeout,
        };
        board.handle(real_now(), input);
        while let Some(output) = board.poll_output() {
            carry_out(&wiring, &mut replies, output);
        }
        if let Some(until) = drain_until {
            let calls = board.active_calls();
            if calls == 0 {
                log::info!("stopping: no call left");
                return finish(board, &wiring, &mut replies);
            }
            if Instant::now() >= until {
                log::info!("stopping: the drain time is up; ending {calls} call(s)");
                return finish(board, &wiring, &mut replies);
            }
        }
        if let Some(on_ready) = wiring.on_ready.take() {
            on_ready();
        }
        wiring.status.set_calls_active(board.active_calls());
        wiring
            .status
            .set_devices_registered(board.devices_reachable());
        wiring.status.set_callers_waiting(board.callers_waiting());
        wiring.status.set_agents_logged_in(board.agents_logged_in());
    }
}

/// Ends every call left (rows closed, BYEs sent, recordings closed) and carries out
/// what that takes.
fn finish(board: &mut Switchboard, wiring: &Wiring<'_>, replies: &mut Replies) {
    board.shutdown(real_now());
    while let Some(output) = board.poll_output() {
        carry_out(wiring, replies, output);
    }
    wiring.status.set_calls_active(board.active_calls());
}

/// The reply channels of commands in the switchboard's hands, by command id.
#[derive(Default)]
struct Replies {
    next: u64,
    waiting: HashMap<u64, Sender<Result<Reply, CommandError>>>,
}

impl Replies {
    fn input(&mut self, command: Command, reply: Sender<Result<Reply, CommandError>>) -> Input {
        self.next += 1;
        self.waiting.insert(self.next, reply);
        Input::Command {
            id: self.next,
            command,
        }
    }
}

fn carry_out(wiring: &Wiring<'_>, replies: &mut Replies, output: Output) {
    match output {
        Output::Sip(command) => {
            if let Err(e) = wiring.sip.send(command) {
                log::error!("SIP command lost: {e}");
            }
        }
        Output::Media(command) => {
            if let Err(e) = wiring.media.send(command) {
                log::error!("media command lost: {e}");
            }
        }
        Output::Store(op) => wiring.store.send(op),
        Output::Reply { id, result } => {
            // The asker may have given up (a closed HTTP connection): nothing to do.
            if let Some(reply) = replies.waiting.remove(&id) {
                let _ = reply.send(result);
            }
        }
    }
}

/// The real clocks. This is the only place the switchboard's time comes from.
pub fn real_now() -> Now {
    Now {
        mono: Instant::now(),
        wall: chrono::Utc::now(),
    }
}
