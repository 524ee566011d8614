//! Prompts: decode a sound file once, keep it as 8 kHz mono, hand out 20 ms frames.
//!
//! Decoding (rodio's decoder: WAV, MP3, Ogg Vorbis) and resampling (rubato's sinc
//! resampler, which low-passes before it decimates so 44.1 kHz music does not alias
//! into the phone band) are slow, so they run on a loader thread, never on the media
//! thread: a `Play` of a file not yet cached waits for the loader while every other
//! leg keeps relaying. Decoded prompts are cached by path, shared by every leg that
//! plays them, and re-read when the file's modification time changes.
//!
//! A file is trusted no more than a packet: a corrupt or empty one is an `Err` with the
//! reason, never a panic.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use rodio::Source;
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Async, FixedAsync, Resampler, SincInterpolationParameters, WindowFunction};

use super::g711;
use super::stream::CLOCK_RATE;
use crate::core::Codec;

/// Samples in one 20 ms frame at 8 kHz.
pub const FRAME: usize = 160;

/// A decoded prompt, pre-encoded in both laws so playback is a copy.
#[derive(Debug)]
pub struct Prompt {
    pcmu: Vec<u8>,
    pcma: Vec<u8>,
}

impl Prompt {
    /// Builds a prompt from 8 kHz mono samples; `None` when there are none.
    pub fn from_pcm(pcm: &[i16]) -> Option<Prompt> {
        if pcm.is_empty() {
            return None;
        }
        // Pad to whole frames so every frame is a full 20 ms.
        let frames = pcm.len().div_ceil(FRAME);
        let encode = |codec| {
            let mut v: Vec<u8> = pcm.iter().map(|&s| g711::encode(codec, s)).collect();
            v.resize(frames * FRAME, g711::silence(codec));
            v
        };
        Some(Prompt {
            pcmu: encode(Codec::Pcmu),
            pcma: encode(Codec::Pcma),
        })
    }

    pub fn frames(&self) -> usize {
        self.pcmu.len() / FRAME
    }

    /// Frame `i` (0-based) encoded in `codec`; `None` past the end.
    pub fn frame(&self, codec: Codec, i: usize) -> Option<&[u8]> {
        let all = match codec {
            Codec::Pcmu => &self.pcmu,
            Codec::Pcma => &self.pcma,
        };
        all.get(i * FRAME..(i + 1) * FRAME)
    }
}

/// Decodes `path` to 8 kHz mono. Slow: call it off the media thread.
pub fn load(path: &Path) -> Result<Prompt, String> {
    let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let decoder =
        rodio::Decoder::new(BufReader::new(file)).map_err(|e| format!("cannot decode: {e}"))?;
    let channels = usize::from(decoder.channels().get());
    let rate = decoder.sample_rate().get();
    // Downmix by averaging. Formats whose channel count changes mid-file are not
    // supported; they would come out garbled, not crash.
    let samples: Vec<f32> = decoder.collect();
    let mono: Vec<f32> = samples
        .chunks(channels)
        .map(|c| c.iter().sum::<f32>() / c.len() as f32)
        .collect();
    let resampled = resample(&mono, rate)?;
    let pcm: Vec<i16> = resampled
        .iter()
        .map(|&s| (s.clamp(-1.0, 1.0) * 32767.0) as i16)
        .collect();
    Prompt::from_pcm(&pcm).ok_or_else(|| "no audio in file".to_string())
}

fn resample(mono: &[f32], rate: u32) -> Result<Vec<f32>, String> {
    if rate == CLOCK_RATE || mono.is_empty() {
        return Ok(mono.to_vec());
    }
    let ratio = f64::from(CLOCK_RATE) / f64::from(rate);
    // A 128-tap sinc keeps decoding a minute of music under a second in debug builds
    // while still rejecting aliases well below what G.711 can carry.
    let params = SincInterpolationParameters::new(128, WindowFunction::BlackmanHarris2);
    let mut resampler = Async::<f32>::new_sinc(ratio, 1.0, &params, 1024, 1, FixedAsync::Input)
        .map_err(|e| format!("resampler for {rate} Hz: {e}"))?;
    let input =
        InterleavedSlice::new(mono, 1, mono.len()).map_err(|e| format!("resampler input: {e}"))?;
    let out = resampler
        .process_all(&input, mono.len(), None)
        .map_err(|e| format!("resampling: {e}"))?;
    Ok(out.take_data())
}

/// Where one leg is in a prompt.
#[derive(Debug)]
pub struct Playback {
    pub prompt: Arc<Prompt>,
    pub looped: bool,
    /// Distinguishes plays in the outgoing stream (see `stream::Source::Prompt`).
    pub id: u64,
    /// The switchboard's tag for this play, echoed in `PlayDone`.
    pub tag: u64,
    next: usize,
    sent: u64,
}

impl Playback {
    pub fn new(prompt: Arc<Prompt>, looped: bool, id: u64, tag: u64) -> Playback {
        Playback {
            prompt,
            looped,
            id,
            tag,
            next: 0,
            sent: 0,
        }
    }

    /// The next frame's index and how many frames came before it in this play (which
    /// keeps counting across loops, for sequence numbers); `None` once a non-looped
    /// prompt is done.
    pub fn advance(&mut self) -> Option<(usize, u64)> {
        if self.next >= self.prompt.frames() {
            if !self.looped {
                return None;
            }
            self.next = 0;
        }
        let i = self.next;
        self.next += 1;
        self.sent += 1;
        Some((i, self.sent - 1))
    }
}

/// Decoded prompts by path, with the file's modification time when decoded.
#[derive(Debug, Default)]
pub struct PromptCache {
    entries: HashMap<PathBuf, (Arc<Prompt>, Option<SystemTime>)>,
}

impl PromptCache {
    /// The cached prompt for `path`, unless the file changed since it was decoded.
    pub fn get(&self, path: &Path) -> Option<Arc<Prompt>> {
        let (prompt, modified) = self.entries.get(path)?;
        (*modified == modified_time(path)).then(|| prompt.clone())
    }

    pub fn insert(&mut self, path: PathBuf, prompt: Arc<Prompt>, modified: Option<SystemTime>) {
        self.entries.insert(path, (prompt, modified));
    }
}

pub fn modified_time(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_padded_with_silence() {
        let p = Prompt::from_pcm(&[1000; 200]).unwrap();
        assert_eq!(p.frames(), 2);
        let last = p.frame(Codec::Pcma, 1).unwrap();
        assert_eq!(last[39], g711::encode(Codec::Pcma, 1000));
        assert_eq!(last[40], g711::silence(Codec::Pcma));
        assert!(p.frame(Codec::Pcmu, 2).is_none());
        assert!(Prompt::from_pcm(&[]).is_none());
    }

    #[test]
    fn playback_ends_or_loops() {
        let p = Arc::new(Prompt::from_pcm(&[0; 320]).unwrap());
        let mut once = Playback::new(p.clone(), false, 1, 0);
        assert_eq!(
            (once.advance(), once.advance(), once.advance()),
            (Some((0, 0)), Some((1, 1)), None)
        );
        let mut looped = Playback::new(p, true, 2, 0);
        let got: Vec<_> = (0..5).map(|_| looped.advance().unwrap()).collect();
        assert_eq!(got, vec![(0, 0), (1, 1), (0, 2), (1, 3), (0, 4)]);
    }

    #[test]
    fn resampling_keeps_a_tone_and_its_length() {
        let rate = 44_100u32;
        let tone: Vec<f32> = (0..rate)
            .map(|i| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / rate as f32).sin() * 0.5)
            .collect();
        let out = resample(&tone, rate).unwrap();
        assert!((7900..=8100).contains(&out.len()), "{} samples", out.len());
        // Count zero crossings in the middle: 440 Hz gives 880 per second.
        let mid = &out[1000..7000];
        let crossings = mid
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count();
        assert!(
            (640..=680).contains(&crossings),
            "{crossings} crossings in 0.75 s"
        );
    }

    #[test]
    fn unreadable_files_are_errors() {
        let dir = std::env::temp_dir().join(format!("callbox-prompt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let junk = dir.join("junk.wav");
        std::fs::write(&junk, b"RIFF\x10\0\0\0WAVEjunkjunk").unwrap();
        assert!(load(&junk).is_err());
        assert!(load(&dir.join("missing.wav")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
