//! Call recording: two legs' received audio side by side in a stereo 8 kHz WAV.
//!
//! Two parts. [`Mix`] is pure: it buffers what each side sent and, once per 20 ms
//! tick, hands out one stereo frame (left = `a`, right = `b`), filling a side that sent
//! nothing with silence so the channels stay aligned in time; a side that sends faster
//! than the tick (clock drift, a burst) is trimmed to a short backlog. The
//! [`Writer`] thread owns the files: the media thread never waits on a disk, it
//! `try_send`s frames and counts the ones a stalled disk made it drop.
//!
//! The tricky part is surviving a crash: a WAV header states its data length, so a
//! process killed mid-call would leave a header claiming no audio. The writer
//! rewrites the header every second (hound's `flush`), so a kill -9 loses at most the
//! last second and the file stays playable.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, TrySendError};

use super::prompt::FRAME;
use crate::core::{LegId, MediaEvent};

/// Most audio a side may buffer ahead of the tick before the oldest is dropped.
const MAX_BACKLOG: usize = 8 * FRAME;
/// Frames between header rewrites: one second.
const FLUSH_EVERY: u32 = 50;
/// Frames the writer queue holds (20 s of audio) before the media thread drops.
const QUEUE_FRAMES: usize = 1000;

/// One recording's alignment buffers.
#[derive(Debug)]
pub struct Mix {
    pub a: LegId,
    pub b: LegId,
    left: VecDeque<i16>,
    right: VecDeque<i16>,
}

impl Mix {
    pub fn new(a: LegId, b: LegId) -> Mix {
        Mix {
            a,
            b,
            left: VecDeque::with_capacity(MAX_BACKLOG),
            right: VecDeque::with_capacity(MAX_BACKLOG),
        }
    }

    /// Audio received from `leg`, if it is one of ours.
    pub fn push(&mut self, leg: LegId, samples: impl Iterator<Item = i16>) {
        let side = if leg == self.a {
            &mut self.left
        } else if leg == self.b {
            &mut self.right
        } else {
            return;
        };
        side.extend(samples);
        if side.len() > MAX_BACKLOG {
            side.drain(..side.len() - MAX_BACKLOG);
        }
    }

    /// One 20 ms stereo frame, interleaved left/right.
    pub fn take_frame(&mut self) -> Vec<i16> {
        let mut out = Vec::with_capacity(2 * FRAME);
        for _ in 0..FRAME {
            out.push(self.left.pop_front().unwrap_or(0));
            out.push(self.right.pop_front().unwrap_or(0));
        }
        out
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

    #[test]
    fn aligns_sides_and_fills_silence() {
        let mut m = Mix::new(LegId(1), LegId(2));
        m.push(LegId(1), std::iter::repeat_n(7, 160));
        m.push(LegId(3), std::iter::repeat_n(9, 160));
        let f = m.take_frame();
        assert_eq!(f.len(), 320);
        assert!(f.chunks(2).all(|s| s == [7, 0]));
        // Two packets from b in one tick: the second waits for the next frame.
        m.push(LegId(2), std::iter::repeat_n(5, 320));
        assert!(m.take_frame().chunks(2).all(|s| s == [0, 5]));
        assert!(m.take_frame().chunks(2).all(|s| s == [0, 5]));
        assert!(m.take_frame().iter().all(|&s| s == 0));
    }

    #[test]
    fn a_fast_side_keeps_a_bounded_backlog() {
        let mut m = Mix::new(LegId(1), LegId(2));
        for i in 0..100 {
            m.push(LegId(1), std::iter::repeat_n(i, 160));
        }
        // Only the newest 8 frames remain: the first one out is packet 92.
        assert_eq!(m.take_frame()[0], 92);
    }
}
