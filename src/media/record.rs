//! Call recording: a customer leg's audio and what it hears, side by side in a stereo
//! 8 kHz WAV.
//!
//! A recording belongs to its left leg `a` (the customer) and lasts until `a` closes:
//! the people `a` talks to change during a call (transfer, consult, conference, hold),
//! and the file must follow the customer, not one bridge. The right channel is the sum
//! of what the current `others` send; one of them closing only takes it out. A paused
//! recording writes nothing at all, and drops what it had buffered, so that what was
//! said during the pause (a PIN) can never reach the file; the file is that much
//! shorter.
//!
//! Two parts. [`Recording`] is pure: it buffers what each leg sent (a [`Backlog`] per
//! leg) and, once per 20 ms tick, hands out one stereo frame, filling silence where a
//! leg sent nothing so the channels stay aligned in time. The [`Writer`] thread owns
//! the files: the media thread never waits on a disk, it `try_send`s frames and counts
//! the ones a stalled disk made it drop.
//!
//! The tricky part is surviving a crash: a WAV header states its data length, so a
//! process killed mid-call would leave a header claiming no audio. The writer
//! rewrites the header every second (hound's `flush`), so a kill -9 loses at most the
//! last second and the file stays playable.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, TrySendError};

use super::backlog::Backlog;
use super::prompt::FRAME;
use crate::core::{Codec, LegId, MediaEvent};

/// Most audio a leg may buffer ahead of the tick before the oldest is dropped.
const MAX_BACKLOG: usize = 8 * FRAME;
/// Frames between header rewrites: one second.
const FLUSH_EVERY: u32 = 50;
/// Frames the writer queue holds (20 s of audio) before the media thread drops.
const QUEUE_FRAMES: usize = 1000;

/// One recording's alignment buffers: `a` on the left, the sum of `others` on the
/// right.
#[derive(Debug)]
pub struct Recording {
    pub a: LegId,
    left: Backlog,
    others: Vec<(LegId, Backlog)>,
    paused: bool,
}

impl Recording {
    pub fn new(a: LegId, others: &[LegId]) -> Recording {
        let mut r = Recording {
            a,
            left: Backlog::new(MAX_BACKLOG),
            others: Vec::new(),
            paused: false,
        };
        r.set_others(others);
        r
    }

    /// The legs on the right channel now.
    pub fn others(&self) -> impl Iterator<Item = LegId> + '_ {
        self.others.iter().map(|(leg, _)| *leg)
    }

    /// Replaces the right channel's legs, keeping what those that stay have buffered.
    /// `a` itself and repeats are left out.
    pub fn set_others(&mut self, others: &[LegId]) {
        let mut old = std::mem::take(&mut self.others);
        for &leg in others {
            if leg == self.a || self.others.iter().any(|(l, _)| *l == leg) {
                continue;
            }
            let backlog = match old.iter().position(|(l, _)| *l == leg) {
                Some(i) => old.swap_remove(i).1,
                None => Backlog::new(MAX_BACKLOG),
            };
            self.others.push((leg, backlog));
        }
    }

    pub fn remove_other(&mut self, leg: LegId) {
        self.others.retain(|(l, _)| *l != leg);
    }

    /// Pausing drops what was buffered, so nothing said while paused is written.
    pub fn pause(&mut self, paused: bool) {
        self.paused = paused;
        self.left.clear();
        for (_, b) in &mut self.others {
            b.clear();
        }
    }

    /// Audio received from `leg`, if it is one of ours and we are not paused.
    pub fn push(&mut self, leg: LegId, codec: Codec, payload: &[u8]) {
        if self.paused {
            return;
        }
        if leg == self.a {
            self.left.push(codec, payload);
        } else if let Some((_, b)) = self.others.iter_mut().find(|(l, _)| *l == leg) {
            b.push(codec, payload);
        }
    }

    /// One 20 ms stereo frame, interleaved left/right; `None` while paused.
    pub fn take_frame(&mut self) -> Option<Vec<i16>> {
        if self.paused {
            return None;
        }
        let mut left = [0i16; FRAME];
        self.left.take(&mut left);
        let mut right = [0i32; FRAME];
        let mut one = [0i16; FRAME];
        for (_, b) in &mut self.others {
            b.take(&mut one);
            for (sum, &s) in right.iter_mut().zip(&one) {
                *sum += i32::from(s);
            }
        }
        let mut out = Vec::with_capacity(2 * FRAME);
        for (&l, &r) in left.iter().zip(&right) {
            out.push(l);
            out.push(r.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16);
        }
        Some(out)
    }
}

enum Msg {
    Open { id: u64, path: PathBuf },
    Frame { id: u64, samples: Vec<i16> },
    Close { id: u64 },
}

/// The disk writer thread. Dropping it closes every open file and joins the thread.
pub struct Writer {
    tx: Option<Sender<Msg>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    pub fn spawn(events: Sender<MediaEvent>) -> std::io::Result<Writer> {
        let (tx, rx) = crossbeam_channel::bounded(QUEUE_FRAMES);
        let thread = std::thread::Builder::new()
            .name("media-rec".into())
            .spawn(move || run(rx, events))?;
        Ok(Writer {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Starts a file. Blocks if the queue is full: opening is rare and must not be lost.
    pub fn open(&self, id: u64, path: PathBuf) {
        self.send(Msg::Open { id, path });
    }

    /// Queues a frame; `false` if the writer is behind and the frame was dropped.
    pub fn frame(&self, id: u64, samples: Vec<i16>) -> bool {
        match &self.tx {
            Some(tx) => match tx.try_send(Msg::Frame { id, samples }) {
                Ok(()) => true,
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
            },
            None => false,
        }
    }

    /// Finalises a file; the writer then emits `RecordingDone`.
    pub fn close(&self, id: u64) {
        self.send(Msg::Close { id });
    }

    fn send(&self, msg: Msg) {
        if let Some(tx) = &self.tx
            && tx.send(msg).is_err()
        {
            log::error!("recording writer thread is gone");
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            log::error!("recording writer thread panicked");
        }
    }
}

struct Open {
    path: PathBuf,
    /// `None` when the file could not be created: frames are discarded, and the close
    /// still reports, with zero seconds, so the switchboard is not left waiting.
    wav: Option<hound::WavWriter<BufWriter<File>>>,
    since_flush: u32,
}

fn run(rx: Receiver<Msg>, events: Sender<MediaEvent>) {
    let mut files: HashMap<u64, Open> = HashMap::new();
    for msg in rx.iter() {
        match msg {
            Msg::Open { id, path } => {
                let wav = create(&path)
                    .map_err(|e| log::warn!("cannot create recording {}: {e}", path.display()))
                    .ok();
                files.insert(
                    id,
                    Open {
                        path,
                        wav,
                        since_flush: 0,
                    },
                );
            }
            Msg::Frame { id, samples } => {
                if let Some(f) = files.get_mut(&id) {
                    write_frame(f, &samples);
                }
            }
            Msg::Close { id } => {
                if let Some(f) = files.remove(&id) {
                    finish(f, &events);
                }
            }
        }
    }
    // The media thread closes every recording before it drops us; anything left is
    // finalised all the same.
    for (_, f) in files.drain() {
        finish(f, &events);
    }
}

fn create(path: &std::path::Path) -> Result<hound::WavWriter<BufWriter<File>>, String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut wav = hound::WavWriter::create(path, spec).map_err(|e| e.to_string())?;
    // A valid (empty) header on disk at once, so even a very early kill leaves a WAV.
    wav.flush().map_err(|e| e.to_string())?;
    Ok(wav)
}

fn write_frame(f: &mut Open, samples: &[i16]) {
    let Some(wav) = &mut f.wav else { return };
    let written = samples
        .iter()
        .try_for_each(|&s| wav.write_sample(s))
        .and_then(|()| {
            f.since_flush += 1;
            if f.since_flush >= FLUSH_EVERY {
                f.since_flush = 0;
                wav.flush()
            } else {
                Ok(())
            }
        });
    if let Err(e) = written {
        log::warn!("recording {} stopped: {e}", f.path.display());
        f.wav = None;
    }
}

fn finish(f: Open, events: &Sender<MediaEvent>) {
    let seconds = match f.wav {
        Some(wav) => {
            let seconds = f64::from(wav.duration()) / 8000.0;
            match wav.finalize() {
                Ok(()) => seconds,
                Err(e) => {
                    log::warn!("recording {} not finalised: {e}", f.path.display());
                    seconds
                }
            }
        }
        None => 0.0,
    };
    // The receiver may be gone at shutdown; the file is complete either way.
    let _ = events.send(MediaEvent::RecordingDone {
        path: f.path,
        seconds,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::g711;

    fn packet(sample: i16, n: usize) -> Vec<u8> {
        vec![g711::encode(Codec::Pcmu, sample); n]
    }

    fn level(sample: i16) -> i16 {
        g711::decode(Codec::Pcmu, g711::encode(Codec::Pcmu, sample))
    }

    #[test]
    fn aligns_sides_and_fills_silence() {
        let mut m = Recording::new(LegId(1), &[LegId(2)]);
        m.push(LegId(1), Codec::Pcmu, &packet(1000, 160));
        m.push(LegId(3), Codec::Pcmu, &packet(900, 160));
        let f = m.take_frame().unwrap();
        assert_eq!(f.len(), 320);
        assert!(f.chunks(2).all(|s| s == [level(1000), 0]));
        // Two packets from b in one tick: the second waits for the next frame.
        m.push(LegId(2), Codec::Pcmu, &packet(500, 320));
        for _ in 0..2 {
            let f = m.take_frame().unwrap();
            assert!(f.chunks(2).all(|s| s == [0, level(500)]));
        }
        assert!(m.take_frame().unwrap().iter().all(|&s| s == 0));
    }

    #[test]
    fn a_fast_side_keeps_a_bounded_backlog() {
        let mut m = Recording::new(LegId(1), &[LegId(2)]);
        for i in 0..100 {
            m.push(LegId(1), Codec::Pcmu, &packet(i * 100, 160));
        }
        // Only the newest 8 frames remain: the first one out is packet 92.
        assert_eq!(m.take_frame().unwrap()[0], level(9200));
    }

    #[test]
    fn the_right_channel_is_the_sum_of_the_others() {
        let mut m = Recording::new(LegId(1), &[LegId(2), LegId(1), LegId(3), LegId(2)]);
        assert_eq!(m.others().collect::<Vec<_>>(), [LegId(2), LegId(3)]);
        m.push(LegId(2), Codec::Pcmu, &packet(30_000, 160));
        m.push(LegId(3), Codec::Pcmu, &packet(30_000, 160));
        let f = m.take_frame().unwrap();
        assert_eq!(f[1], i16::MAX, "summed and saturated");
        // Leg 3 stays with what it buffered; leg 2 goes.
        m.push(LegId(3), Codec::Pcmu, &packet(2000, 160));
        m.set_others(&[LegId(3), LegId(4)]);
        m.push(LegId(2), Codec::Pcmu, &packet(1000, 160));
        assert_eq!(m.take_frame().unwrap()[1], level(2000));
    }

    #[test]
    fn a_paused_recording_writes_and_keeps_nothing() {
        let mut m = Recording::new(LegId(1), &[LegId(2)]);
        m.push(LegId(1), Codec::Pcmu, &packet(1000, 160));
        m.pause(true);
        m.push(LegId(2), Codec::Pcmu, &packet(1000, 160));
        assert_eq!(m.take_frame(), None);
        m.pause(false);
        assert!(m.take_frame().unwrap().iter().all(|&s| s == 0));
    }
}
