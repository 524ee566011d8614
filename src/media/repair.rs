//! Repairing a recording cut by a crash or `kill -9`: its WAV header is rewritten to
//! the length of the audio actually on disk.
//!
//! The recording writer rewrites the header only once a second (`record.rs`), so a
//! process killed mid-call leaves a header up to a second short of the data behind it
//! (and a last frame that may be cut in half). This module owns only that fix, on a
//! file by path: which files to repair is the daemon's question (the recordings of
//! calls the store closes as interrupted), asked once at start, before any recording
//! is written. It never shortens audio except to drop a cut-off last frame.

use std::fs::OpenOptions;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// How far into the file the `data` chunk may start.
const HEADER_MAX: usize = 4096;

/// What a repair found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Repair {
    /// The audio's length now, from the data on disk.
    pub seconds: f64,
    /// What the header said before.
    pub header_seconds: f64,
}

impl Repair {
    /// The header was wrong and has been rewritten.
    pub fn changed(&self) -> bool {
        self.seconds != self.header_seconds
    }
}

fn invalid(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.to_string())
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

/// Where the `data` chunk's bytes start, the length its header claims, and the
/// format's block align and byte rate.
struct Layout {
    data_start: u64,
    claimed: u32,
    block_align: u64,
    byte_rate: u64,
}

fn layout(head: &[u8]) -> io::Result<Layout> {
    if head.get(0..4) != Some(b"RIFF") || head.get(8..12) != Some(b"WAVE") {
        return Err(invalid("not a RIFF/WAVE file"));
    }
    let mut at = 12;
    let mut format = None;
    while let (Some(id), Some(size)) = (head.get(at..at + 4), u32_at(head, at + 4)) {
        let body = at + 8;
        if id == b"fmt " {
            let block_align = u16_at(head, body + 12).ok_or_else(|| invalid("short fmt chunk"))?;
            let byte_rate = u32_at(head, body + 8).ok_or_else(|| invalid("short fmt chunk"))?;
            format = Some((u64::from(block_align), u64::from(byte_rate)));
        } else if id == b"data" {
            let (block_align, byte_rate) = format.ok_or_else(|| invalid("data before fmt"))?;
            if block_align == 0 || byte_rate == 0 {
                return Err(invalid("a format with no bytes per frame"));
            }
            return Ok(Layout {
                data_start: body as u64,
                claimed: size,
                block_align,
                byte_rate,
            });
        }
        // Chunks are padded to an even length.
        at = body + size as usize + (size as usize & 1);
    }
    Err(invalid("no data chunk in the first 4 KiB"))
}

/// Rewrites the header of the WAV at `path` to the audio it holds, dropping a last
/// frame cut in half. Files whose header is right are left untouched.
pub fn repair_wav(path: &Path) -> io::Result<Repair> {
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let mut head = Vec::with_capacity(HEADER_MAX);
    (&mut file).take(HEADER_MAX as u64).read_to_end(&mut head)?;
    let l = layout(&head)?;
    let len = file.metadata()?.len();
    let on_disk = len.saturating_sub(l.data_start);
    let whole = (on_disk - on_disk % l.block_align).min(u64::from(u32::MAX) - l.data_start);
    let repair = Repair {
        seconds: whole as f64 / l.byte_rate as f64,
        header_seconds: f64::from(l.claimed) / l.byte_rate as f64,
    };
    if u64::from(l.claimed) == whole && len == l.data_start + whole {
        return Ok(repair);
    }
    file.set_len(l.data_start + whole)?;
    let riff = (l.data_start + whole - 8) as u32;
    file.seek(SeekFrom::Start(4))?;
    file.write_all(&riff.to_le_bytes())?;
    file.seek(SeekFrom::Start(l.data_start - 4))?;
    file.write_all(&(whole as u32).to_le_bytes())?;
    file.sync_all()?;
    Ok(repair)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> hound::WavSpec {
        hound::WavSpec {
            channels: 2,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        }
    }

    /// A recording as a killed writer leaves it: the header flushed after one
    /// second, then another second of samples and half a frame.
    fn cut_recording(path: &Path) {
        let mut wav = hound::WavWriter::create(path, spec()).unwrap();
        for i in 0..16_000 {
            wav.write_sample((i % 100) as i16).unwrap();
        }
        wav.flush().unwrap();
        for i in 0..16_000 {
            wav.write_sample((i % 50) as i16).unwrap();
        }
        wav.flush().unwrap();
        // What the header said at the first flush, and a torn last frame: as if the
        // process died between header rewrites.
        let mut bytes = std::fs::read(path).unwrap();
        std::mem::forget(wav);
        let data_at = bytes.windows(4).position(|w| w == b"data").unwrap() + 8;
        bytes[data_at - 4..data_at].copy_from_slice(&32_000u32.to_le_bytes());
        bytes.extend_from_slice(&[1, 2]);
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn a_cut_recording_gets_its_whole_length_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.wav");
        cut_recording(&path);
        let r = repair_wav(&path).unwrap();
        assert_eq!(r.header_seconds, 1.0);
        assert_eq!(r.seconds, 2.0);
        assert!(r.changed());
        let reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(reader.duration(), 16_000);
        assert_eq!(reader.len(), 32_000);
        // A second pass finds nothing to do.
        let again = repair_wav(&path).unwrap();
        assert!(!again.changed());
        assert_eq!(again.seconds, 2.0);
    }

    #[test]
    fn a_file_that_is_not_a_wav_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.wav");
        std::fs::write(&path, b"hello").unwrap();
        assert_eq!(
            repair_wav(&path).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
    }
}
