//! Audio for tests: make tones with sox, read WAVs with hound, find tones with Goertzel.
//!
//! Owns the question "does this recording hold that tone?", asked of files a peer
//! wrote (baresip's sndfile dumps, the daemon's recordings). Must never call a
//! recording a match on absolute level alone: a tone counts only when its energy
//! is a large share of the block's total, so silence, noise and other tones fail.
//! The tricky part: recordings start with silence (before RTP flows) and G.711
//! adds quantisation noise, so the check works on 50 ms blocks, skips silent
//! ones, and needs the tone in a share of the loud blocks, not in every sample.

use std::path::Path;
use std::process::Command;

use super::HarnessError;

/// Block length for the per-block tone check: 20 Hz bins, short enough that a
/// call's first silent packets do not dilute the verdict.
const BLOCK_SECS: f64 = 0.05;
/// A block is "loud" above this RMS (about -50 dBFS); quieter ones are silence.
const SILENCE_RMS: f64 = 0.003;
/// Share of a loud block's energy a tone must carry. A pure tone gives ~0.9
/// (window leakage), each of two equal tones ~0.45, white noise ~0.01.
const TONE_SHARE: f64 = 0.25;
/// Share of loud blocks that must carry the tone.
const BLOCKS_WITH_TONE: f64 = 0.5;

/// One channel of a WAV, as floats in [-1, 1].
#[derive(Debug, Clone)]
pub struct Samples {
    pub rate: u32,
    pub data: Vec<f32>,
}

fn sox(args: &[&str]) -> Result<String, HarnessError> {
    let out = Command::new("sox")
        .args(args)
        .output()
        .map_err(|e| HarnessError::io("run sox", e))?;
    if !out.status.success() {
        return Err(HarnessError::peer(
            "sox",
            format!(
                "sox {args:?} exited {:?}: {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A mono 16-bit WAV holding a sine of `freq_hz` at half scale.
pub fn tone_wav(path: &Path, freq_hz: u32, seconds: f64, rate: u32) -> Result<(), HarnessError> {
    synth_wav(path, Some(freq_hz), seconds, rate, 1)
}

/// A 16-bit WAV of silence.
pub fn silence_wav(
    path: &Path,
    seconds: f64,
    rate: u32,
    channels: u16,
) -> Result<(), HarnessError> {
    synth_wav(path, None, seconds, rate, channels)
}

/// A 16-bit WAV with `channels` channels, a sine at half scale or silence.
pub fn synth_wav(
    path: &Path,
    freq_hz: Option<u32>,
    seconds: f64,
    rate: u32,
    channels: u16,
) -> Result<(), HarnessError> {
    let p = path.to_string_lossy();
    let (r, c, s) = (rate.to_string(), channels.to_string(), seconds.to_string());
    let mut args = vec![
        "-n",
        "-r",
        &r,
        "-c",
        &c,
        "-b",
        "16",
        "-e",
        "signed-integer",
        &p,
    ];
    let f;
    match freq_hz {
        Some(hz) => {
            f = hz.to_string();
            args.extend(["synth", &s, "sine", &f, "vol", "0.5"]);
        }
        None => args.extend(["trim", "0", &s]),
    }
    sox(&args).map(|_| ())
}

/// Re-encodes any sox-readable file as 16-bit PCM WAV at `rate` with `channels`.
pub fn convert_wav(
    input: &Path,
    output: &Path,
    rate: u32,
    channels: u16,
) -> Result<(), HarnessError> {
    let (i, o) = (input.to_string_lossy(), output.to_string_lossy());
    let (r, c) = (rate.to_string(), channels.to_string());
    sox(&[
        &i,
        "-r",
        &r,
        "-c",
        &c,
        "-b",
        "16",
        "-e",
        "signed-integer",
        &o,
    ])
    .map(|_| ())
}

/// `sox --i` of a file: Ok(description) if sox can read it.
pub fn sox_info(path: &Path) -> Result<String, HarnessError> {
    sox(&["--i", &path.to_string_lossy()])
}

/// Duration in seconds, from the WAV header.
pub fn wav_duration(path: &Path) -> Result<f64, HarnessError> {
    let r = hound::WavReader::open(path).map_err(|e| wav_err(path, e))?;
    let spec = r.spec();
    Ok(f64::from(r.duration()) / f64::from(spec.sample_rate))
}

fn wav_err(path: &Path, e: hound::Error) -> HarnessError {
    HarnessError::peer("wav", format!("{}: {e}", path.display()))
}

/// Channel `channel` (0-based) of a WAV: 8/16/24/32-bit integer or float.
pub fn read_channel(path: &Path, channel: u16) -> Result<Samples, HarnessError> {
    let mut r = hound::WavReader::open(path).map_err(|e| wav_err(path, e))?;
    let spec = r.spec();
    if channel >= spec.channels {
        return Err(HarnessError::peer(
            "wav",
            format!(
                "{}: no channel {channel} in {} channels",
                path.display(),
                spec.channels
            ),
        ));
    }
    let step = usize::from(spec.channels);
    let pick = usize::from(channel);
    let data: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => r
            .samples::<f32>()
            .skip(pick)
            .step_by(step)
            .collect::<Result<_, _>>()
            .map_err(|e| wav_err(path, e))?,
        hound::SampleFormat::Int => {
            let scale = (1u64 << (spec.bits_per_sample.saturating_sub(1))) as f32;
            r.samples::<i32>()
                .skip(pick)
                .step_by(step)
                .map(|s| s.map(|v| v as f32 / scale))
                .collect::<Result<_, _>>()
                .map_err(|e| wav_err(path, e))?
        }
    };
    Ok(Samples {
        rate: spec.sample_rate,
        data,
    })
}

/// Goertzel power of `freq` in `samples`, normalised so that a full-block sine
/// of amplitude A gives about A^2/2 (the same unit as mean square energy).
pub fn goertzel_power(samples: &[f32], rate: u32, freq: f64) -> f64 {
    let n = samples.len();
    if n == 0 || rate == 0 {
        return 0.0;
    }
    let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let mag2 = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * mag2 / (n as f64 * n as f64)
}

fn mean_square(samples: &[f32]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples
        .iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        / samples.len() as f64
}

/// The loud blocks of a signal (RMS above the silence floor).
fn loud_blocks(s: &Samples) -> Vec<&[f32]> {
    let len = ((f64::from(s.rate) * BLOCK_SECS) as usize).max(1);
    s.data
        .chunks_exact(len)
        .filter(|b| mean_square(b).sqrt() > SILENCE_RMS)
        .collect()
}

/// Share of a block's energy at `freq` (0..~1).
fn tone_share(block: &[f32], rate: u32, freq: f64) -> f64 {
    let total = mean_square(block);
    if total <= 0.0 {
        return 0.0;
    }
    goertzel_power(block, rate, freq) / total
}

/// Per-signal verdict: the tone is in at least half of the loud blocks, and
/// there are loud blocks worth at least `min_secs` seconds.
pub fn samples_have_tone(s: &Samples, freq: f64, min_secs: f64) -> bool {
    let blocks = loud_blocks(s);
    if (blocks.len() as f64) * BLOCK_SECS < min_secs {
        return false;
    }
    let with = blocks
        .iter()
        .filter(|b| tone_share(b, s.rate, freq) >= TONE_SHARE)
        .count();
    with as f64 >= BLOCKS_WITH_TONE * blocks.len() as f64
}

/// True if channel `channel` of the WAV holds `freq_hz` for at least 0.5 s of its
/// loud part. Silence, noise and other tones give false.
pub fn has_tone(wav_path: &Path, channel: u16, freq_hz: f64) -> Result<bool, HarnessError> {
    let s = read_channel(wav_path, channel)?;
    Ok(samples_have_tone(&s, freq_hz, 0.5))
}

/// The strongest frequency (10 Hz steps, 100..3400 Hz, the telephone band) over
/// the loud blocks, with its average energy share; `None` for silence or when
/// no frequency carries a clear share (noise, speech).
pub fn dominant_tone(wav_path: &Path, channel: u16) -> Result<Option<(f64, f64)>, HarnessError> {
    let s = read_channel(wav_path, channel)?;
    Ok(samples_dominant_tone(&s))
}

pub fn samples_dominant_tone(s: &Samples) -> Option<(f64, f64)> {
    let blocks = loud_blocks(s);
    if blocks.is_empty() {
        return None;
    }
    // At most 12 blocks spread over the signal: enough to be sure, cheap in a
    // debug build at 48 kHz.
    let stride = blocks.len().div_ceil(12);
    let picked: Vec<&[f32]> = blocks.iter().step_by(stride).copied().collect();
    let top = f64::from(s.rate / 2).min(3400.0);
    let mut best = (0.0, 0.0);
    let mut f = 100.0;
    while f <= top {
        let share =
            picked.iter().map(|b| tone_share(b, s.rate, f)).sum::<f64>() / picked.len() as f64;
        if share > best.1 {
            best = (f, share);
        }
        f += 10.0;
    }
    (best.1 >= TONE_SHARE).then_some(best)
}
