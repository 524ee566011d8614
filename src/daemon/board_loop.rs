//! The switchboard's driver: the one thread that owns the `Switchboard`.
//!
//! It waits on the SIP and media event channels and the next timer, feeds the
//! switchboard, and carries out what it asks, in order. It is the only place where
//! the pure core meets real time; everything here is plumbing, no decisions.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, select};

use crate::api::{CommandRequest, Status};
use crate::core::{
    Command, CommandError, Directory, Input, MediaEvent, Now, Output, Reply, SipCommand, SipEvent,
    Switchboard,
};
use crate::media::MediaHandle;
use crate::sip::SipHandle;
use crate::store::StoreWriter;

/// How long the loop sleeps when no timer is due; it bounds how stale the health
/// figures can get, nothing else.
const IDLE_WAKE: Duration = Duration::from_secs(1);

/// The channels and handles the loop works with.
pub struct Wiring<'a> {
    pub sip_events: Receiver<SipEvent>,
    pub media_events: Receiver<MediaEvent>,
    pub commands: Receiver<CommandRequest>,
    /// A new directory after an admin change (from the watcher).
    pub reloads: Receiver<Directory>,
    pub stop: Receiver<()>,
    pub sip: &'a SipHandle,
    pub media: &'a MediaHandle,
    pub store: &'a StoreWriter,
    pub status: Arc<Status>,
}

/// Run until `stop` fires or a room's channel closes.
pub fn run(board: &mut Switchboard, wiring: Wiring<'_>) {
    let mut replies = Replies::default();
    // A room that went away leaves a closed channel, which is always ready: swap it for
    // one that never is, or the loop would spin.
    let mut reloads = wiring.reloads.clone();
    let mut commands = wiring.commands.clone();
    // What the switchboard said before the first input (the agents restored at start).
    while let Some(output) = board.poll_output() {
        carry_out(&wiring, &mut replies, output);
    }
    loop {
        let now = Instant::now();
        let wake = board.poll_timeout().unwrap_or(now + IDLE_WAKE).max(now);
        let input = select! {
            recv(wiring.sip_events) -> event => match event {
                Ok(event) => Input::Sip(event),
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
            recv(wiring.stop) -> _ => {
                board.shutdown(real_now());
                while let Some(output) = board.poll_output() {
                    carry_out(&wiring, &mut replies, output);
                }
                return;
            }
            recv(crossbeam_channel::at(wake)) -> _ => Input::Timeout,
        };
        board.handle(real_now(), input);
        while let Some(output) = board.poll_output() {
            carry_out(&wiring, &mut replies, output);
        }
        wiring.status.set_calls_active(board.active_calls());
        wiring
            .status
            .set_devices_registered(board.devices_reachable());
        wiring.status.set_callers_waiting(board.callers_waiting());
        wiring.status.set_agents_logged_in(board.agents_logged_in());
    }
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
