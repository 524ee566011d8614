//! What a phone hears right now: its baresip recording read while the call goes on.
//!
//! baresip writes the WAV header's length only when the call closes, so these read
//! the growing file by size: 8 kHz mono 16-bit after a 44-byte header. Shared by the
//! call-control tests, which check what each party hears after each button.

use std::path::{Path, PathBuf};

use super::audio::{Samples, samples_have_tone};
use super::baresip::Baresip;
use super::wait::{secs, wait_for, wait_until};

/// Bytes of audio one second of a baresip recording takes.
pub const BYTES_PER_SEC: u64 = 16000;

/// Bytes of 16-bit PCM in a growing baresip recording (header not yet final).
pub fn pcm_len(path: &Path) -> u64 {
    std::fs::metadata(path)
        .map(|m| m.len().saturating_sub(44))
        .unwrap_or(0)
}

/// Waits until `path` holds `from + len` bytes of audio and returns those `len`.
pub fn heard_between(path: &Path, from: u64, len: u64) -> Samples {
    let ok = wait_until(secs(15), || pcm_len(path) >= from + len);
    assert!(
        ok,
        "{} stopped growing at {}",
        path.display(),
        pcm_len(path)
    );
    let raw = std::fs::read(path).unwrap_or_default();
    let start = ((44 + from) as usize & !1).min(raw.len());
    let end = (start + len as usize).min(raw.len()) & !1;
    let data = raw[start..end.max(start)]
        .chunks_exact(2)
        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
        .collect();
    Samples { rate: 8000, data }
}

/// The root mean square of the samples (0 for none): music is loud, a cut path is 0.
pub fn rms(s: &Samples) -> f64 {
    if s.data.is_empty() {
        return 0.0;
    }
    (s.data
        .iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        / s.data.len() as f64)
        .sqrt()
}

/// The tone `hz` is in the samples.
pub fn has(s: &Samples, hz: u32) -> bool {
    samples_have_tone(s, f64::from(hz), 0.5)
}

/// The newest `-dec.wav` of a phone, once it exists.
pub fn live_recording(phone: &Baresip) -> PathBuf {
    wait_for(secs(5), || phone.recording_path())
        .unwrap_or_else(|| panic!("no recording yet: {}", phone.context()))
}
