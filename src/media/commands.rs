//! The media room's commands, carried out on the media thread: legs opened and
//! closed, bridges and mixes, prompts and recordings.
//!
//! A leg hears from one place at a time: its bridge partner or its mix, so entering
//! one leaves the other. A recording belongs to its `a` leg and follows it; its other
//! legs come and go.
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
use super::mix::Mix;
use super::prompt::Playback;
use super::record::Recording;
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
        for leg in [a, b] {
            self.unbridge(leg);
            self.leave_mix(leg);
        }
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

    /// Sets (or replaces) the arrangement of mix `room`. Unknown legs are left out;
    /// every leg named leaves its bridge and any other mix.
    pub(super) fn mix(&mut self, room: u64, hears: Vec<(LegId, Vec<LegId>)>) {
        let known = |leg: &LegId| {
            let ok = self.legs.contains_key(leg);
            if !ok {
                log::warn!("Mix {room}: unknown {leg} left out");
            }
            ok
        };
        let hears: Vec<(LegId, Vec<LegId>)> = hears
            .into_iter()
            .filter(|(leg, _)| known(leg))
            .map(|(leg, hs)| (leg, hs.into_iter().filter(known).collect()))
            .collect();
        if hears.is_empty() {
            return self.unmix(room);
        }
        let named: Vec<LegId> = hears
            .iter()
            .flat_map(|(l, hs)| std::iter::once(l).chain(hs))
            .copied()
            .collect();
        for &leg in &named {
            self.unbridge(leg);
            if self.legs.get(&leg).and_then(|l| l.mix) != Some(room) {
                self.leave_mix(leg);
            }
        }
        if !self.mixes.contains_key(&room) {
            let id = self.next_id;
            self.next_id += 1;
            self.mixes.insert(room, Mix::new(id));
        }
        let Some(mix) = self.mixes.get_mut(&room) else {
            return;
        };
        for leg in mix.arrange(&hears) {
            if let Some(l) = self.legs.get_mut(&leg) {
                l.mix = None;
            }
        }
        for leg in mix.legs() {
            if let Some(l) = self.legs.get_mut(&leg) {
                l.mix = Some(room);
            }
        }
    }

    pub(super) fn unmix(&mut self, room: u64) {
        let Some(mix) = self.mixes.remove(&room) else {
            return;
        };
        for leg in mix.legs() {
            if let Some(l) = self.legs.get_mut(&leg) {
                l.mix = None;
            }
        }
    }

    /// Takes `leg` out of its mix; a mix left with nobody ends.
    pub(super) fn leave_mix(&mut self, leg: LegId) {
        let Some(room) = self.legs.get_mut(&leg).and_then(|l| l.mix.take()) else {
            return;
        };
        if let Some(mix) = self.mixes.get_mut(&room) {
            mix.remove(leg);
            if mix.is_empty() {
                self.mixes.remove(&room);
            }
        }
    }

    /// Starts `a`'s recording, replacing (and finalising) one it already has. An
    /// unknown `b` only leaves the right channel silent.
    pub(super) fn record(&mut self, a: LegId, b: LegId, path: PathBuf) {
        if !self.legs.contains_key(&a) {
            log::warn!("cannot record {a}: unknown leg");
            return self.emit(MediaEvent::RecordingDone { path, seconds: 0.0 });
        }
        if let Some(old) = self.recording_of(a) {
            log::info!("{a}: new recording replaces the one in progress");
            self.finish_recording(old);
        }
        let id = self.next_id;
        self.next_id += 1;
        self.writer.open(id, path);
        self.recordings.insert(id, Recording::new(a, &[]));
        self.feed(a, id);
        self.record_others(a, &[b]);
    }

    /// Replaces what the right channel of `a`'s recording hears.
    pub(super) fn record_others(&mut self, a: LegId, others: &[LegId]) {
        let Some(rec) = self.recording_of(a) else {
            log::warn!("RecordOthers for {a}, which has no recording");
            return;
        };
        let others: Vec<LegId> = others
            .iter()
            .copied()
            .filter(|leg| {
                let ok = self.legs.contains_key(leg);
                if !ok {
                    log::warn!("{a}'s recording: unknown {leg} left out");
                }
                ok
            })
            .collect();
        let Some(r) = self.recordings.get_mut(&rec) else {
            return;
        };
        let before: Vec<LegId> = r.others().collect();
        r.set_others(&others);
        let after: Vec<LegId> = r.others().collect();
        for leg in before.iter().filter(|l| !after.contains(l)) {
            if let Some(l) = self.legs.get_mut(leg) {
                l.recordings.retain(|&x| x != rec);
            }
        }
        for &leg in &after {
            self.feed(leg, rec);
        }
    }

    pub(super) fn pause_recording(&mut self, a: LegId, paused: bool) {
        match self
            .recording_of(a)
            .and_then(|rec| self.recordings.get_mut(&rec))
        {
            Some(r) => r.pause(paused),
            None => log::warn!("PauseRecording for {a}, which has no recording"),
        }
    }

    /// The recording `leg` is the left channel of.
    pub(super) fn recording_of(&self, leg: LegId) -> Option<u64> {
        let l = self.legs.get(&leg)?;
        l.recordings
            .iter()
            .copied()
            .find(|r| self.recordings.get(r).is_some_and(|r| r.a == leg))
    }

    fn feed(&mut self, leg: LegId, rec: u64) {
        if let Some(l) = self.legs.get_mut(&leg)
            && !l.recordings.contains(&rec)
        {
            l.recordings.push(rec);
        }
    }

    pub(super) fn close(&mut self, leg: LegId) {
        self.unbridge(leg);
        self.leave_mix(leg);
        let Some(mut l) = self.legs.remove(&leg) else {
            return;
        };
        if let Err(e) = self.poll.registry().deregister(&mut l.socket) {
            log::debug!("{leg}: deregister: {e}");
        }
        self.tokens.remove(&l.token);
        self.counters.legs_open.fetch_sub(1, Ordering::Relaxed);
        // Its own recording ends; in the others' it only falls silent.
        for rec in l.recordings {
            match self.recordings.get_mut(&rec) {
                Some(r) if r.a == leg => self.finish_recording(rec),
                Some(r) => r.remove_other(leg),
                None => {}
            }
        }
    }

    pub(super) fn finish_recording(&mut self, rec: u64) {
        let Some(r) = self.recordings.remove(&rec) else {
            return;
        };
        for leg in std::iter::once(r.a).chain(r.others()) {
            if let Some(l) = self.legs.get_mut(&leg) {
                l.recordings.retain(|&x| x != rec);
            }
        }
        self.writer.close(rec);
    }
}
