//! The media room: every RTP socket of the box, and everything done to audio.
//!
//! It owns legs (one UDP socket each, bound from a port range), mixes (who hears whom
//! among several legs) and files (prompts it plays, recordings it writes). It carries
//! out [`MediaCommand`]s and reports [`MediaEvent`]s. It knows legs and files, never
//! calls or agents: which legs are bridged or mixed, what is played, whose recording
//! it is and when a call ends are the switchboard's decisions.
//!
//! Two ways to hear another leg. A bridge pairs two legs and relays each packet as it
//! comes, without decoding: the common case stays cheap. A mix serves three or more
//! (conference, listen, whisper, barge), whose sum only exists per 20 ms, so it
//! decodes, sums and sends on the tick. A leg is in at most one of them at a time.
//!
//! Threads: one media thread polls every leg socket with `mio` and runs a 20 ms tick
//! (prompt pacing, mix frames, recording frames, inactivity timers); a loader thread
//! decodes prompts; a writer thread writes recordings. The relay path — receive,
//! validate, rewrite, transcode, send — is ours and allocation-free, and so is what a
//! packet does to a mix or a recording (decode into a preallocated buffer). The media
//! thread never blocks on a disk or a decoder; it blocks only to hand an event to the
//! switchboard, because a full queue may drop media but never signalling.
//!
//! Peer input never panics: every datagram is validated (`rtp`), and a bad one is
//! counted in [`MediaStats`] and dropped.
//!
//! Files: `engine` (the thread and its loop), `commands`, `relay` (the per-packet
//! path), `leg` (per-leg state, symmetric RTP), `stream` (SSRC/sequence/timestamp
//! rewriting), `mix` (mixes), `backlog` (decoded audio waiting for the tick), `rtp`,
//! `g711`, `dtmf` (RFC 4733), `prompt` and `loader`, `record`, `repair` (a recording
//! cut by a crash gets its header back at the next start), `stats`, `error`.

mod backlog;
mod commands;
mod dtmf;
mod engine;
mod error;
mod g711;
mod leg;
mod loader;
mod mix;
mod prompt;
mod record;
mod relay;
pub mod repair;
mod rtp;
mod stats;
mod stream;

use std::net::IpAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{SendTimeoutError, Sender};
use mio::Waker;

pub use error::MediaError;

/// Decodes `path` the way a prompt is decoded for playing (WAV, MP3, OGG or FLAC, any
/// rate, to 8 kHz mono) and returns its length in seconds: the check an upload must
/// pass before it replaces a prompt. Slow for long files; not for the media thread.
pub fn check_prompt(path: &std::path::Path) -> Result<f64, MediaError> {
    let prompt = prompt::load(path).map_err(|reason| MediaError::Unplayable {
        path: path.to_path_buf(),
        reason,
    })?;
    Ok(prompt.frames() as f64 * 0.02)
}
pub use stats::MediaStats;

use crate::core::{MediaCommand, MediaEvent};

/// How the room binds and times out.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// Address the RTP sockets bind to.
    pub bind: IpAddr,
    /// Address put in `Opened.local`, which goes into SDP (the public or LAN address
    /// when `bind` is a wildcard).
    pub advertise: IpAddr,
    /// RTP uses the even ports of this range (RTCP's odd port is not bound).
    pub port_min: u16,
    pub port_max: u16,
    /// No RTP for this long on a configured leg not on hold → `RtpTimeout`.
    pub rtp_timeout: Duration,
}

/// Commands waiting for the media thread.
const QUEUE: usize = 4096;
/// How long `send` waits for room in a full queue before refusing.
const SEND_WAIT: Duration = Duration::from_millis(50);

/// What travels on the command queue: commands, and the order to stop behind them.
enum Inbox {
    Cmd(MediaCommand),
    Shutdown,
}

/// The switchboard's handle on the room. Dropping it shuts the room down like
/// [`MediaHandle::shutdown`].
pub struct MediaHandle {
    tx: Sender<Inbox>,
    waker: Arc<Waker>,
    counters: Arc<stats::Counters>,
    thread: Option<JoinHandle<()>>,
}

/// Starts the media room; events go to `events`.
pub fn spawn(config: MediaConfig, events: Sender<MediaEvent>) -> Result<MediaHandle, MediaError> {
    engine::spawn(config, events)
}

impl MediaHandle {
    /// Queues a command. Waits briefly when the queue is full, then refuses with
    /// [`MediaError::QueueFull`] (counted) rather than stall the caller.
    pub fn send(&self, cmd: MediaCommand) -> Result<(), MediaError> {
        match self.tx.send_timeout(Inbox::Cmd(cmd), SEND_WAIT) {
            Ok(()) => {}
            Err(SendTimeoutError::Timeout(_)) => {
                stats::bump(&self.counters.commands_refused);
                return Err(MediaError::QueueFull);
            }
            Err(SendTimeoutError::Disconnected(_)) => return Err(MediaError::Stopped),
        }
        self.waker.wake().map_err(|_| MediaError::Stopped)
    }

    /// The counters now.
    pub fn stats(&self) -> MediaStats {
        self.counters.snapshot()
    }

    /// Finalises recordings (each reports `RecordingDone`), closes every socket and
    /// joins the threads. Commands sent before are carried out first.
    pub fn shutdown(self) {
        // Drop does the work, so that a handle dropped by an unwinding caller stops
        // the threads too.
    }
}

impl Drop for MediaHandle {
    fn drop(&mut self) {
        // A blocking send: Shutdown must queue behind the commands already sent.
        if self.tx.send(Inbox::Shutdown).is_ok() {
            let _ = self.waker.wake();
        }
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            log::error!("media thread panicked");
        }
    }
}
