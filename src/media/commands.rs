//! The media room's commands, carried out on the media thread: legs opened and
//! closed, bridges, prompts and recordings.
//!
//! Commands come from the switchboard, which may be wrong about a leg (already
//! closed, never opened): such a command is logged and ignored, never a panic, and
//! one that a caller waits on (`Open`, `Play`, `Record`) is always answered. Nothing
//! here may block: binding is a syscall per port tried, decoding goes to the loader
//! and files to the writer.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Instant;

use mio::net::UdpSocket;
use mio::{Interest, Token};

use super::engine::Engine;
use super::leg::{Leg, Play};
use super::prompt::Playback;
use super::record::Mix;
use super::stream::OutStream;
use crate::core::{LegId, MediaEvent};

impl Engine {
    pub(super) fn open(&mut self, leg: LegId, now: Instant) {
        if let Some(l) = self.legs.get(&leg) {
            let local = SocketAddr::new(self.config.advertise, l.local_port);
            return self.emit(MediaEvent::Opened { leg, local });
        }
        let Some((mut socket, port)) = self.bind_next() else {
            let reason = format!(
                "no free RTP port in {}..={}",
                self.config.port_min, self.config.port_max
            );
            log::warn!("{leg}: {reason}");
            return self.emit(MediaEvent::OpenFailed { leg, reason });
        };
        let token = Token(self.next_token);
        self.next_token += 1;
        if let Err(e) = self
            .poll
            .registry()
            .register(&mut socket, token, Interest::READABLE)
        {
            return self.emit(MediaEvent::OpenFailed {
                leg,
                reason: format!("poll register: {e}"),
            });
        }
        let out = OutStream::new(rand::random(), rand::random(), rand::random());
        self.legs
            .insert(leg, Leg::new(leg, socket, token, port, out, now));
        self.tokens.insert(token, leg);
        self.counters.legs_open.fetch_add(1, Ordering::Relaxed);
        let local = SocketAddr::new(self.config.advertise, port);
        self.emit(MediaEvent::Opened { leg, local });
    }

    /// Binds the next free even port, going round the range once from where the
    /// last search stopped (so a port just released is not reused at once).
    pub(super) fn bind_next(&mut self) -> Option<(UdpSocket, u16)> {
        let (min, max) = (
            self.config.port_min + self.config.port_min % 2,
            self.config.port_max,
        );
        let count = (u32::from(max) - u32::from(min)) / 2 + 1;
        for _ in 0..count {
            let mut port = self.next_port + self.next_port % 2;
            if port < min || port > max {
                port = min;
            }
            self.next_port = port.checked_add(2).unwrap_or(min);
            match UdpSocket::bind(SocketAddr::new(self.config.bind, port)) {
                Ok(s) => return Some((s, port)),
                Err(e) if e.kind() == ErrorKind::AddrInUse => {}
                Err(e) => log::debug!("bind {port}: {e}"),
            }
        }
        None
    }

    pub(super) fn bridge(&mut self, a: LegId, b: LegId) {
        if a == b || !self.legs.contains_key(&a) || !self.legs.contains_key(&b) {
            log::warn!("cannot bridge {a} with {b}: same or unknown leg");
            return;
        }
        self.unbridge(a);
        self.unbridge(b);
        for (x, y) in [(a, b), (b, a)] {
            if let Some(l) = self.legs.get_mut(&x) {
                l.partner = Some(y);
            }
        }
    }

    pub(super) fn unbridge(&mut self, leg: LegId) {
        let partner = self.legs.get_mut(&leg).and_then(|l| l.partner.take());
        if let Some(p) = partner.and_then(|p| self.legs.get_mut(&p)) {
            p.partner = None;
        }
    }

    pub(super) fn play(&mut self, leg: LegId, file: PathBuf, looped: bool, tag: u64) {
        let Some(l) = self.legs.get_mut(&leg) else {
            log::warn!("Play for unknown {leg}");
            return;
        };
        let id = self.next_id;
        self.next_id += 1;
        l.play = match self.cache.get(&file) {
            Some(prompt) => Play::Playing(Playback::new(prompt, looped, id, tag)),
            None => {
                if self.in_flight.insert(file.clone()) {
                    self.loader.request(file.clone());
                }
                Play::Pending {
                    file,
                    looped,
                    id,
                    tag,
                }
            }
        };
    }

    pub(super) fn drain_loader(&mut self) {
        while let Ok(loaded) = self.loader.done.try_recv() {
            self.in_flight.remove(&loaded.path);
            match &loaded.result {
                Ok(p) => self
                    .cache
                    .insert(loaded.path.clone(), p.clone(), loaded.modified),
                Err(e) => log::warn!("prompt {} unusable: {e}", loaded.path.display()),
            }
            let mut done = Vec::new();
            for l in self.legs.values_mut() {
                let Play::Pending {
                    file,
                    looped,
                    id,
                    tag,
                } = &l.play
                else {
                    continue;
                };
                if *file != loaded.path {
                    continue;
                }
                l.play = match &loaded.result {
                    Ok(p) => Play::Playing(Playback::new(p.clone(), *looped, *id, *tag)),
                    Err(_) => {
                        done.push((l.id, *tag));
                        Play::Idle
                    }
                };
            }
            for (leg, tag) in done {
                self.emit(MediaEvent::PlayDone { leg, tag });
            }
        }
    }

    pub(super) fn record(&mut self, a: LegId, b: LegId, path: PathBuf) {
        if !self.legs.contains_key(&a) || !self.legs.contains_key(&b) {
            log::warn!("cannot record {a} and {b}: unknown leg");
            return self.emit(MediaEvent::RecordingDone { path, seconds: 0.0 });
        }
        let id = self.next_id;
        self.next_id += 1;
        self.writer.open(id, path);
        self.mixes.insert(id, Mix::new(a, b));
        for leg in [a, b] {
            if let Some(l) = self.legs.get_mut(&leg)
                && !l.recordings.contains(&id)
            {
                l.recordings.push(id);
            }
        }
    }

    pub(super) fn close(&mut self, leg: LegId) {
        self.unbridge(leg);
        let Some(mut l) = self.legs.remove(&leg) else {
            return;
        };
        if let Err(e) = self.poll.registry().deregister(&mut l.socket) {
            log::debug!("{leg}: deregister: {e}");
        }
        self.tokens.remove(&l.token);
        self.counters.legs_open.fetch_sub(1, Ordering::Relaxed);
        for rec in l.recordings {
            self.finish_recording(rec);
        }
    }

    pub(super) fn finish_recording(&mut self, rec: u64) {
        let Some(mix) = self.mixes.remove(&rec) else {
            return;
        };
        for leg in [mix.a, mix.b] {
            if let Some(l) = self.legs.get_mut(&leg) {
                l.recordings.retain(|&r| r != rec);
            }
        }
        self.writer.close(rec);
    }
}
