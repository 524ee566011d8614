//! baresip 1.0.0 as a test softphone, driven through its `ctrl_tcp` module.
//!
//! Owns one baresip process per `Baresip`, its config dir (`-f DIR`: `config`,
//! `accounts`), its recordings (`DIR/rec/dump-<local time>-{enc,dec}.wav` from the
//! `sndfile` filter: `dec` is what it heard, `enc` what it sent) and the single
//! control connection. Must never load a sound-card module (alsa, pulse) nor
//! listen outside 127.0.0.1: SIP, RTP (`net_interface 127.0.0.1`) and ctrl_tcp
//! are all bound to loopback.
//!
//! ctrl_tcp facts (measured on 1.0.0): commands are netstrings
//! (`<len>:<json>,`) of `{"command":"dial","params":"sip:..","token":"7"}`;
//! the answer is `{"response":true,"ok":true,"data":"..","token":"7"}`; events
//! are `{"event":true,"type":"CALL_ESTABLISHED","class":"call","accountaor":..,
//! "direction":"incoming|outgoing","peeruri":..,"id":<call id>,"param":..}`.
//! Commands are the `menu` module's long names (`dial`, `accept`, `hangup`,
//! `hold`, `resume`, `sndcode`, `reginfo`, `listcalls`, ...). The tricky part:
//! ctrl_tcp serves ONE connection and sends events only to the newest, so this
//! type keeps exactly one open from start to drop and never probes the port
//! again; a reader thread splits the stream into responses and events.

use std::collections::VecDeque;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::HarnessError;
pub use super::baresip_config::{AnswerMode, AudioSource, BaresipOpts};
use super::baresip_config::{account_line, audio_source, config_text};
pub use super::baresip_ctrl::{Event, Response};
use super::baresip_ctrl::{Frame, read_frames};
use super::ports;
use super::process::ChildGuard;
use super::wait::wait_for;

pub struct Baresip {
    guard: ChildGuard,
    dir: PathBuf,
    rec_dir: PathBuf,
    sip_port: u16,
    user: String,
    ctrl: TcpStream,
    frames: Receiver<Frame>,
    pending: VecDeque<Event>,
    seen: Vec<String>,
    next_token: u64,
    closed: Option<String>,
}

/// How long a single command may take to be answered.
const COMMAND_WAIT: Duration = Duration::from_secs(5);

impl Baresip {
    /// Writes the config into `<parent>/<name>/`, starts baresip and returns once
    /// ctrl_tcp answers (a `reginfo` round trip), within 10 s.
    pub fn start(opts: BaresipOpts, parent: &Path) -> Result<Baresip, HarnessError> {
        let dir = parent.join(&opts.name);
        let rec_dir = dir.join("rec");
        std::fs::create_dir_all(&rec_dir)
            .map_err(|e| HarnessError::io("create baresip dirs", e))?;
        // SIP on sip_port, TLS on sip_port + 1: both must be ours.
        let sip_port = ports::free_port_pair();
        let ctrl_port = ports::free_tcp_port();
        let rtp_base = ports::free_udp_block(16);
        let source = audio_source(&opts.source, &dir)?;

        let config = config_text(&opts, sip_port, ctrl_port, rtp_base, &source, &rec_dir);
        std::fs::write(dir.join("config"), config)
            .map_err(|e| HarnessError::io("write baresip config", e))?;
        std::fs::write(dir.join("accounts"), account_line(&opts))
            .map_err(|e| HarnessError::io("write baresip accounts", e))?;

        let mut cmd = Command::new("baresip");
        cmd.arg("-f").arg(&dir).current_dir(&dir);
        let mut guard = ChildGuard::spawn(cmd, &format!("baresip-{}", opts.name), parent)?;

        let ctrl_addr = SocketAddr::from(([127, 0, 0, 1], ctrl_port));
        let deadline = Instant::now() + Duration::from_secs(10);
        // Connect once and keep it: a probe connection would be the one ctrl_tcp
        // keeps events for, until replaced.
        let ctrl = wait_for(deadline, || {
            if !guard.is_running() {
                return Some(None);
            }
            TcpStream::connect_timeout(&ctrl_addr, Duration::from_millis(100))
                .ok()
                .map(Some)
        })
        .flatten();
        let Some(ctrl) = ctrl else {
            let why = if guard.is_running() {
                "ctrl_tcp never listened"
            } else {
                "baresip exited at start"
            };
            return Err(HarnessError::peer(
                "baresip",
                format!("{why}\n{}", guard.output_tail(30)),
            ));
        };
        let reader = ctrl
            .try_clone()
            .map_err(|e| HarnessError::io("clone ctrl socket", e))?;
        let (tx, frames) = mpsc::channel();
        std::thread::spawn(move || read_frames(reader, tx));

        let mut phone = Baresip {
            guard,
            dir,
            rec_dir,
            sip_port,
            user: opts.user.clone(),
            ctrl,
            frames,
            pending: VecDeque::new(),
            seen: Vec::new(),
            next_token: 1,
            closed: None,
        };
        phone.command("reginfo", None)?;
        Ok(phone)
    }

    /// Its SIP address, 127.0.0.1:<port> (UDP and TCP).
    pub fn sip_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.sip_port))
    }

    /// A URI that reaches this phone directly: `sip:<user>@127.0.0.1:<port>`.
    pub fn direct_uri(&self) -> String {
        format!("sip:{}@127.0.0.1:{}", self.user, self.sip_port)
    }

    pub fn pid(&self) -> u32 {
        self.guard.pid()
    }

    pub fn config_dir(&self) -> &Path {
        &self.dir
    }

    /// Sends one command and waits for its answer; `Err` if baresip says not ok.
    pub fn command(
        &mut self,
        command: &str,
        params: Option<&str>,
    ) -> Result<Response, HarnessError> {
        let token = self.next_token.to_string();
        self.next_token += 1;
        let mut msg = serde_json::json!({ "command": command, "token": token });
        if let Some(p) = params {
            msg["params"] = Value::String(p.to_string());
        }
        let body = msg.to_string();
        let frame = format!("{}:{},", body.len(), body);
        self.ctrl
            .write_all(frame.as_bytes())
            .map_err(|e| HarnessError::io("write to baresip ctrl_tcp", e))?;
        let deadline = Instant::now() + COMMAND_WAIT;
        loop {
            match self.next_frame(deadline)? {
                Frame::Response(t, r) if t == token => {
                    return if r.ok {
                        Ok(r)
                    } else {
                        Err(HarnessError::peer(
                            "baresip",
                            format!("{command} {params:?} refused: {}", r.data),
                        ))
                    };
                }
                // Answers to earlier commands we stopped waiting for.
                Frame::Response(..) => {}
                Frame::Event(e) => self.pending.push_back(e),
                Frame::Closed(why) => return Err(self.closed_error(why)),
            }
        }
    }

    fn next_frame(&mut self, deadline: Instant) -> Result<Frame, HarnessError> {
        if let Some(why) = &self.closed {
            return Ok(Frame::Closed(why.clone()));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match self.frames.recv_timeout(left) {
            Ok(Frame::Closed(why)) => {
                self.closed = Some(why.clone());
                Ok(Frame::Closed(why))
            }
            Ok(f) => Ok(f),
            Err(RecvTimeoutError::Timeout) => Err(HarnessError::timeout(
                "a baresip ctrl_tcp message",
                self.context(),
            )),
            Err(RecvTimeoutError::Disconnected) => Ok(Frame::Closed("reader gone".into())),
        }
    }

    fn closed_error(&self, why: String) -> HarnessError {
        HarnessError::peer(
            "baresip",
            format!("ctrl_tcp closed: {why}\n{}", self.context()),
        )
    }

    /// Events seen so far and the process output, for failure messages.
    pub fn context(&self) -> String {
        format!(
            "events seen: {:?}\n{}",
            self.seen,
            self.guard.output_tail(25)
        )
    }

    /// Waits for the next event of type `kind`; earlier events of other types are
    /// consumed (and listed in `context()`).
    pub fn wait_event(&mut self, kind: &str, deadline: Instant) -> Result<Event, HarnessError> {
        self.wait_event_of(&[kind], deadline)
    }

    /// Waits until `reginfo` shows the account registered ("OK"); an "ERR"
    /// (refused, e.g. 403 or a failed challenge) is an error at once. Polls
    /// `reginfo` rather than waiting for REGISTER_OK because the first REGISTER
    /// goes out at start, before our ctrl connection exists to hear the event.
    pub fn wait_registered(&mut self, deadline: Instant) -> Result<(), HarnessError> {
        loop {
            let status = self.register_status()?;
            if status.contains(" OK ") {
                return Ok(());
            }
            if status.contains("ERR") {
                return Err(HarnessError::peer(
                    "baresip",
                    format!("registration refused: {status}\n{}", self.context()),
                ));
            }
            if Instant::now() >= deadline {
                return Err(HarnessError::timeout(
                    format!("baresip registration ({status})"),
                    self.context(),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the first event whose type is any of `kinds`.
    pub fn wait_event_of(
        &mut self,
        kinds: &[&str],
        deadline: Instant,
    ) -> Result<Event, HarnessError> {
        loop {
            let next = self.pending.pop_front().map(Frame::Event);
            let frame = match next {
                Some(f) => f,
                None => match self.next_frame(deadline) {
                    Ok(f) => f,
                    Err(HarnessError::Timeout { context, .. }) => {
                        return Err(HarnessError::timeout(
                            format!("baresip event among {kinds:?}"),
                            context,
                        ));
                    }
                    Err(e) => return Err(e),
                },
            };
            match frame {
                Frame::Event(e) => {
                    self.seen.push(e.kind.clone());
                    if kinds.contains(&e.kind.as_str()) {
                        return Ok(e);
                    }
                }
                Frame::Response(..) => {}
                Frame::Closed(why) => return Err(self.closed_error(why)),
            }
        }
    }

    /// The `reginfo` text without colour codes: one line per user agent,
    /// `> sip:1001@127.0.0.1:5060   OK   Expires 60s` once registered, `ERR`
    /// after a refusal, no state before the first answer.
    pub fn register_status(&mut self) -> Result<String, HarnessError> {
        Ok(strip_ansi(&self.command("reginfo", None)?.data))
    }

    pub fn dial(&mut self, uri: &str) -> Result<(), HarnessError> {
        self.command("dial", Some(uri)).map(|_| ())
    }

    /// Accepts the ringing incoming call (menu's `accept`).
    pub fn answer(&mut self) -> Result<(), HarnessError> {
        self.command("accept", None).map(|_| ())
    }

    pub fn hangup(&mut self) -> Result<(), HarnessError> {
        self.command("hangup", None).map(|_| ())
    }

    /// Re-INVITE with a=sendonly.
    pub fn hold(&mut self) -> Result<(), HarnessError> {
        self.command("hold", None).map(|_| ())
    }

    /// Re-INVITE with a=sendrecv.
    pub fn resume(&mut self) -> Result<(), HarnessError> {
        self.command("resume", None).map(|_| ())
    }

    /// Sends one DTMF digit as RFC 2833 (`sndcode`); the far baresip reports
    /// CALL_DTMF_START with the digit as param.
    pub fn send_dtmf(&mut self, digit: char) -> Result<(), HarnessError> {
        self.command("sndcode", Some(&digit.to_string()))
            .map(|_| ())
    }

    /// The newest recording of what it heard (`*-dec.wav`), if any. Files are
    /// named by local time to the second: two calls in one second share one.
    pub fn recording_path(&self) -> Option<PathBuf> {
        newest(&self.rec_dir, "-dec.wav")
    }

    /// The newest recording of what it sent (`*-enc.wav`).
    pub fn sent_path(&self) -> Option<PathBuf> {
        newest(&self.rec_dir, "-enc.wav")
    }

    /// Waits until the newest `-dec.wav` is complete (sndfile writes its header
    /// sizes when the call's audio closes, after CALL_CLOSED) and returns it.
    pub fn wait_recording(&self, deadline: Instant) -> Result<PathBuf, HarnessError> {
        wait_for(deadline, || {
            let p = self.recording_path()?;
            let len = std::fs::metadata(&p).ok()?.len();
            let r = hound::WavReader::open(&p).ok()?;
            let bytes = u64::from(r.len()) * u64::from(r.spec().bits_per_sample / 8);
            // Header finalised: the data chunk size covers the file body.
            (bytes > 0 && bytes + 44 >= len).then_some(p)
        })
        .ok_or_else(|| HarnessError::timeout("a finished baresip recording", self.context()))
    }

    /// Asks baresip to quit and waits a little; the guard kills it otherwise.
    pub fn quit(mut self) {
        let _ = self.command("quit", None);
        self.guard
            .wait_exit(Instant::now() + Duration::from_secs(2));
    }
}

/// Removes ANSI escape sequences (`ESC [ ... letter`) that baresip colours text with.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip up to and including the final letter of the sequence.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn newest(dir: &Path, suffix: &str) -> Option<PathBuf> {
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    files.sort();
    files.pop().map(|(_, p)| p)
}
