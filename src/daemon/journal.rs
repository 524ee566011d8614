//! The journal's native protocol, without libsystemd: one datagram per entry to
//! `/run/systemd/journal/socket`, each field a `KEY=VALUE` line (or, for a value with
//! a line break, the key, a newline, its length as 64-bit little endian, the value and
//! a newline).
//!
//! It owns knowing whether stderr is the journal (`$JOURNAL_STREAM` holds the
//! device and inode of the stream systemd connected, which must be stderr's own),
//! turning a log record into fields (`PRIORITY`, `MESSAGE`, `CALLBOX_ROOM`, and
//! `CALL_ID`/`AGENT_ID` when the message names a call as `call-N` or an agent as
//! `agent N`), and sending them. It never blocks: a datagram that cannot be sent is
//! reported to the caller, who writes the line to stderr instead.

use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;

/// Where journald reads native entries.
pub const SOCKET: &str = "/run/systemd/journal/socket";

/// `$JOURNAL_STREAM`'s `device:inode`.
pub fn parse_stream(value: &str) -> Option<(u64, u64)> {
    let (dev, ino) = value.trim().split_once(':')?;
    Some((dev.parse().ok()?, ino.parse().ok()?))
}

/// True when stderr is the stream `$JOURNAL_STREAM` names (so not redirected to a
/// file or terminal by whoever started us under systemd).
pub fn stderr_is_journal() -> bool {
    let Some((dev, ino)) = std::env::var("JOURNAL_STREAM")
        .ok()
        .as_deref()
        .and_then(parse_stream)
    else {
        return false;
    };
    let Ok(fd) = io::stderr().as_fd().try_clone_to_owned() else {
        return false;
    };
    match std::fs::File::from(fd).metadata() {
        Ok(m) => m.dev() == dev && m.ino() == ino,
        Err(_) => false,
    }
}

/// The syslog priority of a log level.
pub fn priority(level: log::Level) -> u8 {
    match level {
        log::Level::Error => 3,
        log::Level::Warn => 4,
        log::Level::Info => 6,
        log::Level::Debug | log::Level::Trace => 7,
    }
}

/// The call (`call-12` → `12`) and agent (`agent 8001` → `8001`) a message names
/// first, if any.
pub fn ids(message: &str) -> (Option<&str>, Option<&str>) {
    (after(message, "call-"), after(message, "agent "))
}

/// The digits right after the first `prefix` that starts a word and is followed by
/// one.
fn after<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(i) = text[from..].find(prefix) {
        let start = from + i;
        let digits_at = start + prefix.len();
        let word_start = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric() && c != '_' && c != '-');
        let len = text[digits_at..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len() - digits_at);
        if word_start && len > 0 {
            return Some(&text[digits_at..digits_at + len]);
        }
        from = digits_at;
    }
    None
}

/// Appends one field in the native format.
pub fn push_field(out: &mut Vec<u8>, key: &str, value: &str) {
    out.extend_from_slice(key.as_bytes());
    if value.contains('\n') {
        out.push(b'\n');
        out.extend_from_slice(&(value.len() as u64).to_le_bytes());
        out.extend_from_slice(value.as_bytes());
    } else {
        out.push(b'=');
        out.extend_from_slice(value.as_bytes());
    }
    out.push(b'\n');
}

/// One entry: what a log line says, as journal fields.
pub struct Entry<'a> {
    pub level: log::Level,
    /// The room (`sip`, `media`, `core`, ...).
    pub room: &'a str,
    /// The module path under the crate, e.g. `daemon::board_loop`.
    pub target: &'a str,
    pub message: &'a str,
    pub file: Option<&'a str>,
    pub line: Option<u32>,
}

impl Entry<'_> {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.message.len() + 160);
        push_field(&mut out, "PRIORITY", &priority(self.level).to_string());
        push_field(&mut out, "SYSLOG_IDENTIFIER", "callbox");
        push_field(&mut out, "MESSAGE", self.message);
        push_field(&mut out, "CALLBOX_ROOM", self.room);
        push_field(&mut out, "CALLBOX_TARGET", self.target);
        let (call, agent) = ids(self.message);
        if let Some(call) = call {
            push_field(&mut out, "CALL_ID", call);
        }
        if let Some(agent) = agent {
            push_field(&mut out, "AGENT_ID", agent);
        }
        if let Some(file) = self.file {
            push_field(&mut out, "CODE_FILE", file);
        }
        if let Some(line) = self.line {
            push_field(&mut out, "CODE_LINE", &line.to_string());
        }
        out
    }
}

/// A connected sender to journald.
pub struct Journal {
    socket: UnixDatagram,
}

impl Journal {
    pub fn connect() -> io::Result<Journal> {
        let socket = UnixDatagram::unbound()?;
        socket.connect(SOCKET)?;
        socket.set_nonblocking(true)?;
        Ok(Journal { socket })
    }

    pub fn send(&self, entry: &[u8]) -> io::Result<()> {
        self.socket.send(entry).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_stream_is_device_colon_inode() {
        assert_eq!(parse_stream("8:1234"), Some((8, 1234)));
        assert_eq!(parse_stream("8:x"), None);
        assert_eq!(parse_stream(""), None);
    }

    #[test]
    fn ids_are_read_from_the_switchboards_prefixes() {
        assert_eq!(ids("call-12: the customer was held"), (Some("12"), None));
        assert_eq!(
            ids("call-7: agent 8001 waits in queue sales"),
            (Some("7"), Some("8001"))
        );
        assert_eq!(
            ids("the status of agent 3 (call-4)"),
            (Some("4"), Some("3"))
        );
        assert_eq!(ids("recall-5 and call-x and agent none"), (None, None));
        assert_eq!(ids("leg-in-3: RTP"), (None, None));
    }

    #[test]
    fn fields_are_key_value_lines_and_multi_line_values_are_framed() {
        let entry = Entry {
            level: log::Level::Warn,
            room: "core",
            target: "core::queue",
            message: "call-9: agent 8001 missed it",
            file: Some("src/core/queue.rs"),
            line: Some(85),
        };
        let text = String::from_utf8(entry.encode()).unwrap();
        assert_eq!(
            text,
            "PRIORITY=4\nSYSLOG_IDENTIFIER=callbox\nMESSAGE=call-9: agent 8001 missed it\n\
             CALLBOX_ROOM=core\nCALLBOX_TARGET=core::queue\nCALL_ID=9\nAGENT_ID=8001\n\
             CODE_FILE=src/core/queue.rs\nCODE_LINE=85\n"
        );
        let mut out = Vec::new();
        push_field(&mut out, "MESSAGE", "a\nb");
        assert_eq!(out, b"MESSAGE\n\x03\0\0\0\0\0\0\0a\nb\n");
    }
}
