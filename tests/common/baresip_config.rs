//! baresip's on-disk setup: the options a test gives, and the `config` and
//! `accounts` files they become.
//!
//! Owns the translation from `BaresipOpts` to baresip 1.0.0 config lines. Must
//! never produce a config that loads a sound-card module or binds outside
//! 127.0.0.1. The tricky parts, measured on 1.0.0: `ausine` only runs at 48 kHz
//! stereo and the source rate is global (`ausrc_srate`), so every source, WAVs
//! included, is 48 kHz stereo and baresip resamples to 8 kHz for G.711;
//! `aufile` is a source only (no player in 1.0.0) and ends the call at EOF;
//! without `net_interface 127.0.0.1` the SDP carries the host's LAN address.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::HarnessError;
use super::audio;

/// What the softphone sends into a call.
#[derive(Debug, Clone)]
pub enum AudioSource {
    /// `ausine`: a continuous sine at this frequency (10..20000 Hz).
    Tone(u32),
    /// `aufile`: this file (any sox-readable audio), converted to 48 kHz stereo.
    /// At its end baresip raises AUDIO_ERROR and hangs the call up.
    Wav(PathBuf),
    /// `aufile` with 120 s of generated silence (then the call ends, as for a WAV).
    Silence,
}

/// How incoming calls are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerMode {
    /// Ring until `answer()`.
    Manual,
    /// Answer at once.
    Auto,
}

/// Options for one softphone.
#[derive(Debug, Clone)]
pub struct BaresipOpts {
    pub name: String,
    pub user: String,
    /// Register as `user` at this registrar with this password (None: no registration,
    /// peer-to-peer dialing only).
    pub registrar: Option<(SocketAddr, String)>,
    /// Re-registration interval in seconds when registering.
    pub regint: u32,
    pub source: AudioSource,
    pub answer: AnswerMode,
    /// Raw `config` lines appended last (later lines win in baresip's config).
    pub extra_config: Vec<String>,
}

impl BaresipOpts {
    /// A silent, auto-answering phone `name` that does not register.
    pub fn new(name: &str) -> BaresipOpts {
        BaresipOpts {
            name: name.to_string(),
            user: name.to_string(),
            registrar: None,
            regint: 60,
            source: AudioSource::Silence,
            answer: AnswerMode::Auto,
            extra_config: Vec::new(),
        }
    }

    pub fn user(mut self, user: &str) -> Self {
        self.user = user.to_string();
        self
    }

    pub fn register(mut self, registrar: SocketAddr, password: &str) -> Self {
        self.registrar = Some((registrar, password.to_string()));
        self
    }

    pub fn tone(mut self, hz: u32) -> Self {
        self.source = AudioSource::Tone(hz);
        self
    }

    pub fn wav(mut self, path: &Path) -> Self {
        self.source = AudioSource::Wav(path.to_path_buf());
        self
    }

    pub fn answer(mut self, mode: AnswerMode) -> Self {
        self.answer = mode;
        self
    }

    pub fn config_line(mut self, line: &str) -> Self {
        self.extra_config.push(line.to_string());
        self
    }
}

/// 120 s of 48 kHz stereo silence (23 MB), made once per machine in the temp
/// dir and shared by every silent phone: written under a unique name, then
/// renamed, so parallel tests never read a half-written file.
fn shared_silence() -> Result<PathBuf, HarnessError> {
    let path = std::env::temp_dir().join("callbox-test-silence-48k-stereo-120s.wav");
    if path.exists() {
        return Ok(path);
    }
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = std::env::temp_dir().join(format!(
        "callbox-test-silence-{}-{n}.wav",
        std::process::id()
    ));
    audio::silence_wav(&tmp, 120.0, 48000, 2)?;
    std::fs::rename(&tmp, &path).map_err(|e| HarnessError::io("rename the silence file", e))?;
    Ok(path)
}

/// The `audio_source` value, preparing the WAV aufile needs (48 kHz stereo,
/// because ausine only runs at 48 kHz stereo and the source rate is global).
pub(super) fn audio_source(source: &AudioSource, dir: &Path) -> Result<String, HarnessError> {
    Ok(match source {
        AudioSource::Tone(hz) => format!("ausine,{hz}"),
        AudioSource::Wav(path) => {
            let out = dir.join("source.wav");
            audio::convert_wav(path, &out, 48000, 2)?;
            format!("aufile,{}", out.display())
        }
        AudioSource::Silence => format!("aufile,{}", shared_silence()?.display()),
    })
}

pub(super) fn config_text(
    opts: &BaresipOpts,
    sip_port: u16,
    ctrl_port: u16,
    rtp_base: u16,
    source: &str,
    rec_dir: &Path,
) -> String {
    let mut lines = vec![
        "poll_method epoll".to_string(),
        format!("sip_listen 127.0.0.1:{sip_port}"),
        // Without this, SDP carries the first non-loopback interface address.
        "net_interface 127.0.0.1".to_string(),
        "call_local_timeout 120".to_string(),
        "call_max_calls 4".to_string(),
        format!("audio_source {source}"),
        // No audio_player: nothing plays; sndfile still sees the decoded audio.
        "ausrc_srate 48000".to_string(),
        "ausrc_channels 2".to_string(),
        "audio_buffer 20-160".to_string(),
        format!("rtp_ports {}-{}", rtp_base, rtp_base + 15),
        "rtcp_mux no".to_string(),
        "jitter_buffer_delay 2-10".to_string(),
        "module_path /usr/lib/baresip/modules".to_string(),
        "module g711.so".to_string(),
        "module ausine.so".to_string(),
        "module aufile.so".to_string(),
        "module sndfile.so".to_string(),
        "module_tmp account.so".to_string(),
        "module_app menu.so".to_string(),
        "module_app ctrl_tcp.so".to_string(),
        format!("ctrl_tcp_listen 127.0.0.1:{ctrl_port}"),
        format!("snd_path {}", rec_dir.display()),
        "statmode_default off".to_string(),
    ];
    lines.extend(opts.extra_config.iter().cloned());
    lines.join("\n") + "\n"
}

pub(super) fn account_line(opts: &BaresipOpts) -> String {
    let answer = match opts.answer {
        AnswerMode::Manual => "manual",
        AnswerMode::Auto => "auto",
    };
    match &opts.registrar {
        Some((addr, password)) => format!(
            "<sip:{user}@{addr}>;auth_user={user};auth_pass={password};regint={regint};answermode={answer}\n",
            user = opts.user,
            regint = opts.regint,
        ),
        None => format!(
            "<sip:{}@127.0.0.1>;regint=0;answermode={answer}\n",
            opts.user
        ),
    }
}
