//! The wire side of baresip's ctrl_tcp: netstring framing, JSON decoding, the
//! reader thread.
//!
//! Owns the bytes between baresip and `Baresip`: it turns the TCP stream into
//! `Frame`s (an event, a command's response, or the end of the stream). Must
//! never panic on what baresip sends: a bad length, a missing comma or bad JSON
//! ends the stream with `Frame::Closed` saying why. The tricky part is that
//! several netstrings may arrive in one read and one may span reads, so the
//! buffer is drained frame by frame before reading again.

use std::io::Read;
use std::net::TcpStream;
use std::sync::mpsc;

use serde_json::Value;

/// One ctrl_tcp event.
#[derive(Debug, Clone)]
pub struct Event {
    /// `type`: CALL_INCOMING, CALL_RINGING, CALL_PROGRESS, CALL_ESTABLISHED,
    /// CALL_CLOSED, CALL_DTMF_START/END, CALL_RTPESTAB, CALL_RTCP,
    /// CALL_LOCAL_SDP/REMOTE_SDP, REGISTER_OK, REGISTER_FAIL, AUDIO_ERROR, ...
    pub kind: String,
    pub peer_uri: String,
    /// The event's detail: peer URI, close reason, DTMF digit, "offer"/"answer".
    pub param: String,
    /// The call id baresip gave the call (absent on some events).
    pub call_id: Option<String>,
    pub raw: Value,
}

/// One command's answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub ok: bool,
    pub data: String,
}

pub enum Frame {
    Event(Event),
    Response(String, Response),
    /// The connection ended or sent garbage; the text says which.
    Closed(String),
}

/// Reader thread: netstrings of JSON from ctrl_tcp, until EOF or garbage.
pub fn read_frames(mut sock: TcpStream, tx: mpsc::Sender<Frame>) {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        loop {
            match take_netstring(&mut buf) {
                Ok(Some(payload)) => {
                    if tx.send(decode(&payload)).is_err() {
                        return;
                    }
                }
                Ok(None) => break,
                Err(why) => {
                    let _ = tx.send(Frame::Closed(why));
                    return;
                }
            }
        }
        match sock.read(&mut chunk) {
            Ok(0) => {
                let _ = tx.send(Frame::Closed("EOF".into()));
                return;
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => {
                let _ = tx.send(Frame::Closed(e.to_string()));
                return;
            }
        }
    }
}

/// Takes one complete `<len>:<payload>,` off the front of `buf`.
fn take_netstring(buf: &mut Vec<u8>) -> Result<Option<Vec<u8>>, String> {
    let Some(colon) = buf.iter().position(|&b| b == b':') else {
        if buf.len() > 10 || buf.iter().any(|b| !b.is_ascii_digit()) {
            return Err(format!(
                "bad netstring start {:?}",
                String::from_utf8_lossy(buf)
            ));
        }
        return Ok(None);
    };
    let len: usize = std::str::from_utf8(&buf[..colon])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            format!(
                "bad netstring length {:?}",
                String::from_utf8_lossy(&buf[..colon])
            )
        })?;
    let end = colon + 1 + len;
    if buf.len() < end + 1 {
        return Ok(None);
    }
    if buf[end] != b',' {
        return Err("netstring without trailing comma".into());
    }
    let payload = buf[colon + 1..end].to_vec();
    buf.drain(..=end);
    Ok(Some(payload))
}

fn decode(payload: &[u8]) -> Frame {
    let Ok(v) = serde_json::from_slice::<Value>(payload) else {
        return Frame::Closed(format!("bad JSON {:?}", String::from_utf8_lossy(payload)));
    };
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    if v.get("event").and_then(Value::as_bool) == Some(true) {
        Frame::Event(Event {
            kind: s("type"),
            peer_uri: s("peeruri"),
            param: s("param"),
            call_id: v.get("id").and_then(Value::as_str).map(str::to_string),
            raw: v,
        })
    } else {
        let ok = v.get("ok").and_then(Value::as_bool).unwrap_or(false);
        Frame::Response(
            s("token"),
            Response {
                ok,
                data: s("data"),
            },
        )
    }
}
