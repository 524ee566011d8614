//! Server-sent events on the wire: the response head, one frame per event
//! (`id:`, `event:`, `data:`), keep-alive comments, and HTTP/1.1 chunks around them.
//!
//! Pure text: the stream thread (`hub.rs`) writes what these return. A frame's data
//! is one line of JSON (serde escapes newlines), so no frame can break the framing.

/// How long a browser waits before reconnecting after the stream drops (`retry:`).
pub const RETRY_MS: u32 = 3000;

/// The response head. `chunked`: HTTP/1.1, so the stream can end without closing the
/// connection (an HTTP/1.0 stream ends when the connection closes).
pub fn head(chunked: bool) -> String {
    let framing = if chunked {
        "Transfer-Encoding: chunked\r\n"
    } else {
        "Connection: close\r\n"
    };
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n\
         Cache-Control: no-store\r\nX-Accel-Buffering: no\r\nX-Content-Type-Options: nosniff\r\n\
         {framing}\r\n"
    )
}

/// What a stream starts with: the reconnect delay, and a comment that flushes any
/// proxy's buffer so the browser sees the stream open at once.
pub fn opening() -> String {
    format!("retry: {RETRY_MS}\n: callbox live events\n\n")
}

/// One event. `data` is JSON text on one line.
pub fn frame(id: u64, event: &str, data: &str) -> String {
    format!("id: {id}\nevent: {event}\ndata: {data}\n\n")
}

/// A comment that keeps the connection (and any proxy) from timing out.
pub fn keep_alive() -> &'static str {
    ": keep-alive\n\n"
}

/// `text` as one HTTP/1.1 chunk (or as it is, unchunked).
pub fn chunk(text: &str, chunked: bool) -> Vec<u8> {
    if !chunked {
        return text.as_bytes().to_vec();
    }
    let mut out = format!("{:x}\r\n", text.len()).into_bytes();
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

/// The end of a chunked body.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_sse_and_chunks_carry_their_length() {
        assert_eq!(
            frame(7, "agent", r#"{"a":1}"#),
            "id: 7\nevent: agent\ndata: {\"a\":1}\n\n"
        );
        assert!(opening().starts_with("retry: 3000\n"));
        let c = chunk("hello, 世界", true);
        assert_eq!(c, b"d\r\nhello, \xe4\xb8\x96\xe7\x95\x8c\r\n".to_vec());
        assert_eq!(chunk("x", false), b"x".to_vec());
        assert!(head(true).contains("Transfer-Encoding: chunked\r\n"));
        assert!(head(false).contains("Connection: close\r\n"));
        assert!(head(true).ends_with("\r\n\r\n"));
        assert!(head(true).contains("text/event-stream"));
    }
}
