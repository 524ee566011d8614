//! The switchboard's driver: the one thread that owns the `Switchboard`.
//!
//! It waits on the SIP and media event channels and the next timer, feeds the
//! switchboard, and carries out what it asks, in order. It is the only place where
//! the pure core meets real time; everything here is plumbing, no decisions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, select};

use crate::api::Status;
use crate::core::{Input, MediaEvent, Now, Output, SipEvent, Switchboard};
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
    pub stop: Receiver<()>,
    pub sip: &'a SipHandle,
    pub media: &'a MediaHandle,
    pub store: &'a StoreWriter,
    pub status: Arc<Status>,
}

/// Run until `stop` fires or a room's channel closes.
pub fn run(board: &mut Switchboard, wiring: Wiring<'_>) {
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
            recv(wiring.stop) -> _ => {
                board.shutdown(real_now());
                while let Some(output) = board.poll_output() {
                    carry_out(&wiring, output);
                }
                return;
            }
            recv(crossbeam_channel::at(wake)) -> _ => Input::Timeout,
        };
        board.handle(real_now(), input);
        while let Some(output) = board.poll_output() {
            carry_out(&wiring, output);
        }
        wiring.status.set_calls_active(board.active_calls());
        wiring
            .status
            .set_devices_registered(board.devices_reachable());
    }
}

fn carry_out(wiring: &Wiring<'_>, output: Output) {
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
    }
}

/// The real clocks. This is the only place the switchboard's time comes from.
fn real_now() -> Now {
    Now {
        mono: Instant::now(),
        wall: chrono::Utc::now(),
    }
}
