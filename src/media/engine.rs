//! The media thread: one `mio` poll over every leg socket, the command queue and a
//! 20 ms tick; commands are carried out here and packets handed to `relay`.
//!
//! It must never block on anything but the event queue to the switchboard: disks and
//! decoders live on their own threads, and a socket that keeps the loop busy is read
//! in bursts ([`BURST`] datagrams, then the others get their turn) so one flooded leg
//! cannot starve the rest or the tick. The tick is scheduled from the previous tick,
//! not from "now", so prompts keep an exact 20 ms cadence; when the thread falls far
//! behind it skips ahead instead of bursting frames.
//!
//! Everything runs on one thread, so leg state needs no locks. To shard later, run
//! several engines, each with its own legs, and route commands by leg id.

use std::collections::{HashMap, HashSet};
use std::io::ErrorKind;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use mio::{Events, Poll, Token, Waker};

use super::leg::{Leg, PeerConfig, Play};
use super::loader::Loader;
use super::mix::{self, Mix};
use super::prompt::PromptCache;
use super::record::{Recording, Writer};
use super::stats::{Counters, bump};
use super::{Inbox, MediaConfig, MediaError, MediaHandle};
use crate::core::{LegId, MediaCommand, MediaEvent};

/// The pacing tick: one prompt frame, one mix frame and one recording frame per tick.
pub const TICK: Duration = Duration::from_millis(20);
/// Behind by more than this, the tick skips ahead rather than catch up.
const MAX_LATE: Duration = Duration::from_millis(100);
/// Datagrams read from one socket before the others get a turn.
const BURST: usize = 64;
/// Receive and send buffer size; larger datagrams are cut (and then fail validation).
pub const BUF: usize = 2048;
const WAKER: Token = Token(0);

pub(super) struct Engine {
    pub(super) config: MediaConfig,
    pub(super) poll: Poll,
    pub(super) events: Sender<MediaEvent>,
    pub(super) rx: Receiver<Inbox>,
    pub(super) counters: Arc<Counters>,
    pub(super) legs: HashMap<LegId, Leg>,
    pub(super) tokens: HashMap<Token, LegId>,
    pub(super) next_token: usize,
    pub(super) next_port: u16,
    pub(super) cache: PromptCache,
    pub(super) in_flight: HashSet<PathBuf>,
    pub(super) loader: Loader,
    pub(super) writer: Writer,
    /// Recordings by their own number (also the writer's file id).
    pub(super) recordings: HashMap<u64, Recording>,
    /// Mixes by the switchboard's room number.
    pub(super) mixes: HashMap<u64, Mix>,
    /// Numbers plays, recordings and mixes.
    pub(super) next_id: u64,
    pub(super) tx_buf: Vec<u8>,
    /// Sockets read up to [`BURST`] and not yet drained.
    pub(super) rearm: Vec<Token>,
    pub(super) ready: Vec<Token>,
    /// Shutdown was read from the queue.
    pub(super) stopping: bool,
}

pub(super) fn spawn(
    config: MediaConfig,
    events: Sender<MediaEvent>,
) -> Result<MediaHandle, MediaError> {
    validate(&config)?;
    let poll = Poll::new()?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
    let (tx, rx) = crossbeam_channel::bounded(super::QUEUE);
    let counters = Arc::new(Counters::default());
    let engine = Engine {
        next_port: config.port_min,
        config,
        poll,
        events: events.clone(),
        rx,
        counters: counters.clone(),
        legs: HashMap::new(),
        tokens: HashMap::new(),
        next_token: 1,
        cache: PromptCache::default(),
        in_flight: HashSet::new(),
        loader: Loader::spawn(waker.clone())?,
        writer: Writer::spawn(events)?,
        recordings: HashMap::new(),
        mixes: HashMap::new(),
        next_id: 1,
        tx_buf: vec![0; BUF],
        rearm: Vec::new(),
        ready: Vec::new(),
        stopping: false,
    };
    let thread = std::thread::Builder::new()
        .name("media".into())
        .spawn(move || engine.run())?;
    Ok(MediaHandle {
        tx,
        waker,
        counters,
        thread: Some(thread),
    })
}

fn validate(c: &MediaConfig) -> Result<(), MediaError> {
    let first_even = c.port_min.checked_add(c.port_min % 2);
    if c.port_min == 0 || first_even.is_none_or(|p| p > c.port_max) {
        return Err(MediaError::Config(format!(
            "no even port in {}..={}",
            c.port_min, c.port_max
        )));
    }
    if c.rtp_timeout.is_zero() {
        return Err(MediaError::Config("rtp_timeout must be above zero".into()));
    }
    Ok(())
}

impl Engine {
    fn run(mut self) {
        let mut events = Events::with_capacity(256);
        let mut next_tick = Instant::now() + TICK;
        loop {
            crate::heartbeat::tick(crate::heartbeat::Loop::Media);
            let timeout = if self.rearm.is_empty() {
                next_tick.saturating_duration_since(Instant::now())
            } else {
                Duration::ZERO
            };
            if let Err(e) = self.poll.poll(&mut events, Some(timeout))
                && e.kind() != ErrorKind::Interrupted
            {
                log::error!("media poll failed: {e}");
            }
            self.ready.clear();
            self.ready.append(&mut self.rearm);
            self.ready
                .extend(events.iter().map(|e| e.token()).filter(|&t| t != WAKER));
            for i in 0..self.ready.len() {
                let token = self.ready[i];
                self.drain_socket(token);
            }
            self.drain_commands();
            if self.stopping {
                break;
            }
            self.drain_loader();
            let now = Instant::now();
            if now >= next_tick {
                self.tick(now);
                next_tick += TICK;
                if now > next_tick + MAX_LATE {
                    bump(&self.counters.ticks_late);
                    next_tick = now + TICK;
                }
            }
        }
        self.shutdown();
    }

    fn drain_socket(&mut self, token: Token) {
        let Some(&id) = self.tokens.get(&token) else {
            return;
        };
        let mut buf = [0u8; BUF];
        for _ in 0..BURST {
            let got = match self.legs.get(&id) {
                Some(leg) => leg.socket.recv_from(&mut buf),
                None => return,
            };
            match got {
                Ok((n, from)) => {
                    // Commands queued before this packet was sent apply to it: a
                    // switchboard that configures a leg and then sees its phone's first
                    // packet must not find that packet dropped as unconfigured. One
                    // empty-queue check per packet is an atomic load.
                    self.drain_commands();
                    if self.stopping {
                        return;
                    }
                    self.on_datagram(id, &buf[..n], from, Instant::now());
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    // ICMP errors surface here; they say nothing about the next packet.
                    log::debug!("{id}: receive failed: {e}");
                }
            }
        }
        self.rearm.push(token);
    }

    /// Carries out queued commands, up to a shutdown.
    fn drain_commands(&mut self) {
        while !self.stopping {
            match self.rx.try_recv() {
                Ok(Inbox::Cmd(cmd)) => self.command(cmd, Instant::now()),
                Ok(Inbox::Shutdown) | Err(TryRecvError::Disconnected) => self.stopping = true,
                Err(TryRecvError::Empty) => return,
            }
        }
    }

    fn command(&mut self, cmd: MediaCommand, now: Instant) {
        log::debug!("media command {cmd:?}");
        match cmd {
            MediaCommand::Open { leg } => self.open(leg, now),
            MediaCommand::Configure {
                leg,
                remote,
                codec,
                dtmf_pt,
            } => match self.legs.get_mut(&leg) {
                Some(l) => l.configure(
                    PeerConfig {
                        remote,
                        codec,
                        dtmf_pt,
                    },
                    now,
                ),
                None => log::warn!("Configure for unknown {leg}"),
            },
            MediaCommand::Bridge { a, b } => self.bridge(a, b),
            MediaCommand::Unbridge { leg } => self.unbridge(leg),
            MediaCommand::Hold { leg, on } => match self.legs.get_mut(&leg) {
                Some(l) => {
                    l.held = on;
                    l.restart_timer(now);
                }
                None => log::warn!("Hold for unknown {leg}"),
            },
            MediaCommand::Play {
                leg,
                file,
                looped,
                tag,
            } => self.play(leg, file, looped, tag),
            MediaCommand::StopPlay { leg } => {
                if let Some(l) = self.legs.get_mut(&leg) {
                    l.play = Play::Idle;
                }
            }
            MediaCommand::Mix { room, hears } => self.mix(room, hears),
            MediaCommand::Unmix { room } => self.unmix(room),
            MediaCommand::Record { a, b, path } => self.record(a, b, path),
            MediaCommand::RecordOthers { a, others } => self.record_others(a, &others),
            MediaCommand::PauseRecording { a, paused } => self.pause_recording(a, paused),
            MediaCommand::Close { leg } => self.close(leg),
        }
    }

    pub(super) fn emit(&self, event: MediaEvent) {
        // Blocks when the switchboard is behind: signalling is never dropped. An error
        // means the switchboard is gone, and then nobody is listening anyway.
        let _ = self.events.send(event);
    }

    fn tick(&mut self, now: Instant) {
        let timeout = self.config.rtp_timeout;
        let mut emitted = Vec::new();
        for leg in self.legs.values_mut() {
            if leg.config.is_some()
                && !leg.held
                && !leg.timed_out
                && now.saturating_duration_since(leg.last_rx) >= timeout
            {
                leg.timed_out = true;
                emitted.push(MediaEvent::RtpTimeout { leg: leg.id });
            }
            let tag = match &leg.play {
                Play::Playing(pb) => pb.tag,
                _ => 0,
            };
            if super::relay::play_frame(leg, &mut self.tx_buf, &self.counters, now) {
                leg.play = Play::Idle;
                emitted.push(MediaEvent::PlayDone { leg: leg.id, tag });
            }
        }
        for event in emitted {
            self.emit(event);
        }
        for m in self.mixes.values_mut() {
            mix::send_frames(m, &mut self.legs, &mut self.tx_buf, &self.counters, now);
        }
        for (&id, rec) in &mut self.recordings {
            if let Some(frame) = rec.take_frame()
                && !self.writer.frame(id, frame)
            {
                bump(&self.counters.record_frames_dropped);
            }
        }
    }

    fn shutdown(mut self) {
        let recs: Vec<u64> = self.recordings.keys().copied().collect();
        for rec in recs {
            self.finish_recording(rec);
        }
        self.counters.legs_open.store(0, Ordering::Relaxed);
        // Dropping the writer joins it after it has finalised every file and sent
        // each RecordingDone; the loader finishes its current file.
    }
}
