//! Which request gets which answer, and the JSON bodies.
//!
//! `route` takes the request as plain values ([`Asked`]) and gives the answer
//! ([`Answer`]), so every answer is testable without a socket; `handle` only carries
//! it to tiny_http. Every answer, errors included, is JSON (`{"error": "...",
//! "field": "..."}`), so a client never has to guess the format: a malformed body or a
//! missing or bad field is 400 naming the field, no session 401, a role's limit or a
//! missing CSRF token 403, an unknown route 404, the login rate limit 429.
//!
//! Under `/api/`, who is asking is settled first (`auth.rs`: this machine without a
//! cookie, or a session), then whether their role reaches the route, then the route;
//! a change made through a session leaves an audit row with its answer's code.

use std::io::Read;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crossbeam_channel::Sender;
use serde::Serialize;
use tiny_http::{Header, Method, Request, Response};

use super::Status;
use super::agents::CommandRequest;
use super::auth::{self, Auth};
use super::call_log::CallLog;
use super::table::{Ctx, Route, Who};

/// The largest request body read; a bigger one is refused with 413.
const MAX_BODY: u64 = 256 * 1024;
/// The largest upload (a prompt's audio file, under `/api/v1/prompts/`).
pub const MAX_UPLOAD: u64 = 16 * 1024 * 1024;

/// One answer: status code, body (JSON unless `content_type` says otherwise), whether
/// to say which methods are allowed, and any other headers (cookies, caching).
#[derive(Debug, PartialEq, Default)]
pub struct Answer {
    pub code: u16,
    pub body: String,
    pub allow: Option<&'static str>,
    /// A body that is not text (an embedded file); sent instead of `body`.
    pub bytes: Option<std::borrow::Cow<'static, [u8]>>,
    /// `None`: application/json.
    pub content_type: Option<&'static str>,
    pub headers: Vec<(&'static str, String)>,
    /// Something other than a body to answer with (boxed: it is rare, and every
    /// `Result<_, Answer>` carries the room for it).
    pub deliver: Option<Box<Deliver>>,
}

/// What an answer delivers instead of a body.
#[derive(Debug)]
pub enum Deliver {
    /// A file on disk (a recording, an export, a prompt): sent as it is read, never
    /// held whole, with `Range:` honoured (206) so players can seek.
    File(std::path::PathBuf),
    /// An event stream to open (`live/`): `handle` hands the connection to the live
    /// hub, so no worker waits on it.
    Stream(super::live::Ticket),
}

impl PartialEq for Deliver {
    /// Files compare by path; streams are never equal (each is one connection).
    fn eq(&self, other: &Deliver) -> bool {
        matches!((self, other), (Deliver::File(a), Deliver::File(b)) if a == b)
    }
}

impl Answer {
    pub fn json<T: Serialize>(code: u16, value: &T) -> Answer {
        Answer {
            code,
            body: json(value),
            ..Answer::default()
        }
    }

    /// The same answer with one more header (`Set-Cookie`, `Cache-Control`, …).
    pub fn with_header(mut self, name: &'static str, value: String) -> Answer {
        self.headers.push((name, value));
        self
    }
}

#[derive(Serialize)]
struct Health<'a> {
    status: &'a str,
    version: &'a str,
    calls_active: usize,
    devices_registered: usize,
    callers_waiting: usize,
    agents_logged_in: usize,
    uptime_secs: u64,
    alarms: Vec<super::Alarm>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
}

/// A JSON error answer; `field` names the offending field of the request.
pub fn error(code: u16, message: &str, field: Option<&str>) -> Answer {
    error_owned(code, message, field.map(str::to_string))
}

pub fn error_owned(code: u16, message: &str, field: Option<String>) -> Answer {
    Answer::json(
        code,
        &ErrorBody {
            error: message,
            field,
        },
    )
}

/// What the request is, as far as routing goes.
pub struct Asked<'a> {
    pub method: &'a Method,
    pub url: &'a str,
    /// The body as text; "" when it is not UTF-8 (then only `raw` has it).
    pub body: &'a str,
    /// The body's bytes, for uploads.
    pub raw: &'a [u8],
    /// The peer is this machine (see [`auth::is_this_machine`]).
    pub local: bool,
    /// The peer's address, for the login rate limit.
    pub peer: Option<IpAddr>,
    /// The request came over TLS (the session cookie is then `Secure`).
    pub secure: bool,
    /// The `Host` header, if any.
    pub host: Option<&'a str>,
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// The `Cookie` header, if any.
    pub cookie: Option<&'a str>,
    /// The `X-CSRF-Token` header, if any.
    pub csrf: Option<&'a str>,
}

/// What the routes answer from: the other rooms and the API thread's own state.
pub struct Rooms<'a> {
    pub status: &'a Status,
    pub commands: &'a Sender<CommandRequest>,
    pub log: &'a CallLog,
    pub auth: &'a Auth,
    /// The live event hub (`GET /api/v1/events`).
    pub live: &'a super::live::Hub,
    /// Where the built-in prompts are (`sounds_dir` in the configuration).
    pub sounds: &'a std::path::Path,
}

pub fn route(asked: &Asked<'_>, rooms: &Rooms<'_>) -> Answer {
    let url = asked.url;
    let path = url.split(['?', '#']).next().unwrap_or(url);
    if path == "/api" || path.starts_with("/api/") {
        let now = Instant::now();
        if path == "/api/v1/session" {
            return rooms.auth.route(asked, rooms.log, now);
        }
        let caller = match rooms.auth.caller(asked, rooms.log, now) {
            Ok(caller) => caller,
            Err(answer) => return answer,
        };
        let parts: Vec<&str> = match path.strip_prefix("/api/v1") {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                rest.split('/').filter(|p| !p.is_empty()).collect()
            }
            _ => return error(404, "not found", None),
        };
        let query = url.split_once('?').map_or("", |(_, q)| q);
        let query = query.split('#').next().unwrap_or("");
        let answer = super::table::dispatch(asked, &parts, query, &caller, rooms);
        if let Some(account) = &caller.account
            && auth::is_change(asked.method)
        {
            let detail = format!("{} {path} -> {}", asked.method, answer.code);
            auth::audit(rooms.log, &account.user, &auth::action_of(&parts), &detail);
        }
        return answer;
    }
    match (path, asked.method) {
        ("/health", Method::Get | Method::Head) => {
            let status = rooms.status;
            Answer::json(
                200,
                &Health {
                    status: "ok",
                    version: status.version(),
                    calls_active: status.calls_active.load(Ordering::Relaxed),
                    devices_registered: status.devices_registered.load(Ordering::Relaxed),
                    callers_waiting: status.callers_waiting.load(Ordering::Relaxed),
                    agents_logged_in: status.agents_logged_in.load(Ordering::Relaxed),
                    uptime_secs: status.uptime().as_secs(),
                    alarms: status.alarms(),
                },
            )
        }
        ("/health", _) => Answer {
            allow: Some("GET, HEAD"),
            ..error(405, "method not allowed", None)
        },
        // Everything outside /api and /health is the web app's (index.html, assets).
        (_, Method::Get | Method::Head) => super::web::serve(path),
        _ => error(404, "not found", None),
    }
}

/// The daemon's own routes (`table.rs`).
pub const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/log-level",
        who: Who::Admin,
        run: run_log_level,
    },
    Route {
        method: "POST",
        path: "/log-level",
        who: Who::Admin,
        run: run_log_level,
    },
];

fn run_log_level(ctx: &Ctx<'_>) -> Answer {
    log_level_route(ctx.asked.method, ctx.body())
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LogLevelBody {
    level: String,
}

#[derive(Serialize)]
struct LogLevelAnswer {
    level: String,
}

fn level_answer(level: log::LevelFilter) -> Answer {
    Answer::json(
        200,
        &LogLevelAnswer {
            level: level.to_string().to_ascii_lowercase(),
        },
    )
}

/// `GET|POST /api/v1/log-level`: the daemon's log level now, or a new one
/// (`{"level":"debug"}`), in effect at once and until the next start.
fn log_level_route(method: &Method, body: &str) -> Answer {
    match method {
        Method::Get => level_answer(log::max_level()),
        Method::Post => {
            let asked: LogLevelBody = match super::agents::parse_body(body, "") {
                Ok(b) => b,
                Err(answer) => return answer,
            };
            let level = match asked.level.parse::<log::LevelFilter>() {
                Ok(level) if level != log::LevelFilter::Off => level,
                _ => {
                    return error(
                        400,
                        "expected \"error\", \"warn\", \"info\", \"debug\" or \"trace\"",
                        Some("level"),
                    );
                }
            };
            let before = log::max_level();
            log::set_max_level(level);
            // Said at warn so that it shows whatever the new level is.
            log::warn!("api: log level {before} -> {level}");
            level_answer(level)
        }
        _ => Answer {
            allow: Some("GET, POST"),
            ..error(405, "method not allowed", None)
        },
    }
}

pub fn handle(mut request: Request, rooms: &Rooms<'_>) {
    let peer = request.remote_addr().map(|a| a.ip());
    let local = peer.is_some_and(auth::is_this_machine);
    let header_of = |name: &str| {
        request
            .headers()
            .iter()
            .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str().to_string())
    };
    let (host, content_type) = (header_of("Host"), header_of("Content-Type"));
    let (cookie, csrf) = (header_of("Cookie"), header_of("X-CSRF-Token"));
    let range = header_of("Range");
    // A body must say its length: a chunked one could hold a worker for as long as
    // the sender likes. Uploads may be larger than other bodies.
    let streamed = header_of("Transfer-Encoding").is_some();
    let limit = if request.url().starts_with("/api/v1/prompts/") {
        MAX_UPLOAD
    } else {
        MAX_BODY
    };
    let mut raw = Vec::new();
    let too_big = request.body_length().is_some_and(|n| n as u64 > limit);
    let read = if !too_big && !streamed {
        request
            .as_reader()
            .take(limit + 1)
            .read_to_end(&mut raw)
            .map(|_| ())
    } else {
        Ok(())
    };
    let body = std::str::from_utf8(&raw).unwrap_or("");
    let mut answer = if streamed {
        error(
            411,
            "send the body with a Content-Length, not chunked",
            None,
        )
    } else if too_big || raw.len() as u64 > limit {
        error_owned(
            413,
            &format!("the request body is larger than {} KiB", limit / 1024),
            None,
        )
    } else if read.is_err() {
        error(400, "the request body could not be read", None)
    } else {
        let asked = Asked {
            method: request.method(),
            url: request.url(),
            body,
            raw: &raw,
            local,
            peer,
            secure: request.secure(),
            host: host.as_deref(),
            content_type: content_type.as_deref(),
            cookie: cookie.as_deref(),
            csrf: csrf.as_deref(),
        };
        route(&asked, rooms)
    };
    log::debug!(
        "api: {} {} -> {}",
        request.method(),
        request.url(),
        answer.code
    );
    let content_type = answer.content_type.unwrap_or("application/json");
    match answer.deliver.take().map(|d| *d) {
        Some(Deliver::Stream(ticket)) => return rooms.live.hand_over(request, ticket),
        Some(Deliver::File(path)) => {
            return send_file(request, &path, range.as_deref(), content_type, &answer);
        }
        None => {}
    }
    let body = match answer.bytes {
        Some(bytes) => bytes.into_owned(),
        None => answer.body.into_bytes(),
    };
    let mut response = Response::from_data(body)
        .with_status_code(answer.code)
        .with_header(header("Content-Type", content_type));
    if let Some(allow) = answer.allow {
        response.add_header(header("Allow", allow));
    }
    for (name, value) in &answer.headers {
        // Our own header values; one a peer could have shaped into invalid bytes is
        // dropped rather than sent.
        match Header::from_bytes(*name, value.as_bytes()) {
            Ok(h) => response.add_header(h),
            Err(()) => log::warn!("api: header {name} not sent: not valid"),
        }
    }
    if let Err(e) = request.respond(response) {
        // The client went away; nothing to tell it.
        log::debug!("api: could not send response: {e}");
    }
}

/// The extra headers of `answer`, those a peer could have shaped badly dropped.
fn extra_headers(answer: &Answer) -> Vec<Header> {
    answer
        .headers
        .iter()
        .filter_map(
            |(name, value)| match Header::from_bytes(*name, value.as_bytes()) {
                Ok(h) => Some(h),
                Err(()) => {
                    log::warn!("api: header {name} not sent: not valid");
                    None
                }
            },
        )
        .collect()
}

/// Sends the file at `path` (all of it, or the part `range` asks for) as it reads it.
fn send_file(
    request: Request,
    path: &std::path::Path,
    range: Option<&str>,
    content_type: &'static str,
    answer: &Answer,
) {
    use std::io::{Seek, SeekFrom};
    let opened = std::fs::File::open(path).and_then(|f| Ok((f.metadata()?.len(), f)));
    let (len, mut file) = match opened {
        Ok(found) => found,
        Err(e) => {
            log::warn!("api: {}: {e}", path.display());
            let gone = error(404, "the file is gone", None);
            let _ = request.respond(Response::from_string(gone.body).with_status_code(404));
            return;
        }
    };
    let mut headers = extra_headers(answer);
    headers.push(header("Content-Type", content_type));
    headers.push(header("Accept-Ranges", "bytes"));
    let (code, start, count) = match range.map(|r| byte_range(r, len)) {
        None | Some(Ok(None)) => (answer.code, 0, len),
        Some(Ok(Some((start, end)))) => {
            if let Ok(h) = Header::from_bytes("Content-Range", format!("bytes {start}-{end}/{len}"))
            {
                headers.push(h);
            }
            (206, start, end - start + 1)
        }
        Some(Err(())) => {
            let mut refusal =
                Response::from_string(error(416, "the range is outside the file", None).body)
                    .with_status_code(416)
                    .with_header(header("Content-Type", "application/json"));
            if let Ok(h) = Header::from_bytes("Content-Range", format!("bytes */{len}")) {
                refusal.add_header(h);
            }
            let _ = request.respond(refusal);
            return;
        }
    };
    if let Err(e) = file.seek(SeekFrom::Start(start)) {
        log::warn!("api: {}: {e}", path.display());
        let _ = request.respond(Response::from_string("").with_status_code(500));
        return;
    }
    let body = std::io::Read::take(file, count);
    let response = Response::new(
        code.into(),
        headers,
        body,
        usize::try_from(count).ok(),
        None,
    );
    if let Err(e) = request.respond(response) {
        log::debug!("api: could not send {}: {e}", path.display());
    }
}

/// The first range of a `Range: bytes=…` header over a file of `len` bytes, as
/// inclusive offsets: `Ok(None)` when the header is not one we honour (the whole
/// file is sent), `Err` when it asks for bytes the file does not have (416).
pub fn byte_range(header: &str, len: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    let first = spec.split(',').next().unwrap_or("").trim();
    let Some((from, to)) = first.split_once('-') else {
        return Ok(None);
    };
    let (from, to) = (from.trim(), to.trim());
    let parsed = |s: &str| s.parse::<u64>().map_err(|_| ());
    let (start, end) = match (from.is_empty(), to.is_empty()) {
        // bytes=-N: the last N bytes.
        (true, false) => {
            let n = parsed(to)?;
            if n == 0 {
                return Err(());
            }
            (len.saturating_sub(n), len.checked_sub(1).ok_or(())?)
        }
        (false, true) => (parsed(from)?, len.checked_sub(1).ok_or(())?),
        (false, false) => (parsed(from)?, parsed(to)?.min(len.saturating_sub(1))),
        (true, true) => return Ok(None),
    };
    if start >= len || start > end {
        return Err(());
    }
    Ok(Some((start, end)))
}

fn json<T: Serialize>(value: &T) -> String {
    // Serializing these plain structs of strings and integers cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| String::from("{}"))
}

fn header(name: &'static str, value: &'static str) -> Header {
    // Both halves are ASCII constants written above, which from_bytes always accepts.
    Header::from_bytes(name, value).expect("a constant ASCII header")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges_are_read_as_players_send_them() {
        assert_eq!(byte_range("bytes=0-", 100), Ok(Some((0, 99))));
        assert_eq!(byte_range("bytes=10-19", 100), Ok(Some((10, 19))));
        assert_eq!(byte_range("bytes=90-200", 100), Ok(Some((90, 99))));
        assert_eq!(byte_range("bytes=-10", 100), Ok(Some((90, 99))));
        assert_eq!(byte_range("bytes=100-", 100), Err(()));
        assert_eq!(byte_range("bytes=5-1", 100), Err(()));
        assert_eq!(byte_range("bytes=x-1", 100), Err(()));
        assert_eq!(byte_range("items=0-1", 100), Ok(None));
        assert_eq!(byte_range("bytes=0-", 0), Err(()));
    }

    /// A request from this machine (`local`) or another, with JSON and a good Host.
    fn asked<'a>(method: &'a Method, url: &'a str, body: &'a str, local: bool) -> Asked<'a> {
        Asked {
            method,
            url,
            body,
            raw: body.as_bytes(),
            local,
            peer: Some(
                if local {
                    [127, 0, 0, 1]
                } else {
                    [192, 168, 1, 20]
                }
                .into(),
            ),
            secure: false,
            host: Some("127.0.0.1:8080"),
            content_type: Some("application/json"),
            cookie: None,
            csrf: None,
        }
    }

    /// Routes with a switchboard that is gone (a request that passes every guard
    /// answers 503) and the database `log`.
    fn with_rooms<T>(log: &CallLog, f: impl FnOnce(&Rooms<'_>) -> T) -> T {
        let (tx, rx) = crossbeam_channel::bounded(1);
        drop(rx);
        let status = Status::new();
        let auth = Auth::new();
        let live = super::super::live::Hub::idle();
        let sounds = crate::config::Config::default().sounds_dir();
        let rooms = Rooms {
            status: &status,
            commands: &tx,
            log,
            auth: &auth,
            live: &live,
            sounds: &sounds,
        };
        f(&rooms)
    }

    fn get(method: &Method, url: &str, local: bool, status: &Status) -> Answer {
        let (tx, _rx) = crossbeam_channel::bounded(1);
        let log = CallLog::none();
        let auth = Auth::new();
        let live = super::super::live::Hub::idle();
        let sounds = crate::config::Config::default().sounds_dir();
        let rooms = Rooms {
            status,
            commands: &tx,
            log: &log,
            auth: &auth,
            live: &live,
            sounds: &sounds,
        };
        route(&asked(method, url, "", local), &rooms)
    }

    #[test]
    fn health_counts_and_unknown_routes() {
        let status = Status::new();
        status.set_calls_active(3);
        let r = get(&Method::Get, "/health?verbose=1", true, &status);
        assert_eq!(r.code, 200);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["calls_active"], 3);
        assert_eq!(get(&Method::Post, "/health", true, &status).code, 405);
        // Other paths are the web app's (web.rs); under /api/ nothing else answers.
        assert_eq!(get(&Method::Post, "/healthz", true, &status).code, 404);
        assert_eq!(
            get(&Method::Get, "/api/v1/agentsx", true, &status).body,
            r#"{"error":"no such route (GET /api/v1/openapi.json lists them)"}"#
        );
        for url in [
            "/api/v1/agentsx",
            "/api/v1",
            "/api/v2/agents",
            "/api/v1/nothing",
        ] {
            assert_eq!(get(&Method::Get, url, true, &status).code, 404, "{url}");
        }
    }

    #[test]
    fn the_log_level_is_read_and_set_with_bad_levels_named() {
        let status = Status::new();
        let log = CallLog::none();
        with_rooms(&log, |rooms| {
            let ask = |method: &Method, body: &str| {
                route(&asked(method, "/api/v1/log-level", body, true), rooms)
            };
            let before = log::max_level();
            let set = ask(&Method::Post, r#"{"level":"Debug"}"#);
            assert_eq!((set.code, set.body.as_str()), (200, r#"{"level":"debug"}"#));
            assert_eq!(log::max_level(), log::LevelFilter::Debug);
            assert_eq!(ask(&Method::Get, "").body, r#"{"level":"debug"}"#);
            for bad in [
                r#"{"level":"loud"}"#,
                r#"{"level":"off"}"#,
                "{}",
                r#"{"lvl":"info"}"#,
            ] {
                let r = ask(&Method::Post, bad);
                assert_eq!(r.code, 400, "{bad}: {}", r.body);
                assert!(r.body.contains(r#""field":"l"#), "{bad}: {}", r.body);
            }
            assert_eq!(ask(&Method::Delete, "").code, 405);
            log::set_max_level(before);
        });
        assert_eq!(
            get(&Method::Get, "/api/v1/log-level", false, &status).code,
            401
        );
    }

    #[test]
    fn other_machines_need_a_session() {
        let status = Status::new();
        for url in [
            "/api/v1/agents",
            "/api/v1/agents/8001/calls",
            "/api/v1/nothing",
        ] {
            let r = get(&Method::Get, url, false, &status);
            assert_eq!(r.code, 401, "{url}: {}", r.body);
        }
        assert_eq!(get(&Method::Get, "/health", false, &status).code, 200);
        assert_eq!(
            get(&Method::Get, "/api/v1/session", true, &status).code,
            401
        );
    }

    #[test]
    fn pages_of_other_sites_cannot_drive_agents_through_the_browser() {
        let log = CallLog::none();
        with_rooms(&log, |rooms| {
            let ask = |host: Option<&str>, content_type: Option<&str>| {
                let mut a = asked(&Method::Post, "/api/v1/agents/8001/logout", "{}", true);
                a.host = host;
                a.content_type = content_type;
                route(&a, rooms).code
            };
            assert_eq!(
                ask(Some("evil.example:8080"), Some("application/json")),
                403
            );
            assert_eq!(ask(None, Some("application/json")), 403);
            assert_eq!(ask(Some("localhost:8080"), Some("text/plain")), 415);
            assert_eq!(ask(Some("127.0.0.1"), None), 415);
            // Well-formed: passes the guards and meets a switchboard that is not there.
            assert_eq!(ask(Some("[::1]:8080"), Some("application/json")), 503);
        });
        assert!(auth::host_is_this_machine("192.168.1.10:8080"));
        assert!(!auth::host_is_this_machine("callbox.evil.example"));
    }

    fn cookie_of(answer: &Answer) -> String {
        let set = answer
            .headers
            .iter()
            .find(|(n, _)| *n == "Set-Cookie")
            .map(|(_, v)| v.clone())
            .expect("a Set-Cookie header");
        set.split(';').next().unwrap().to_string()
    }

    #[test]
    fn a_remote_session_reaches_what_its_role_allows() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("callbox.db");
        {
            let mut store = crate::store::Store::open(&db).unwrap();
            for (number, name) in [("8001", "张三"), ("8002", "李四")] {
                store
                    .add_agent(&crate::store::NewAgent {
                        number: number.into(),
                        name: name.into(),
                        web_password: format!("pw-{number}"),
                        sip_password: None,
                        direct_number: None,
                        bound_device: None,
                        answer_mode: crate::core::AnswerMode::Device,
                        offline_answering: false,
                        allow_fallback: false,
                        confirm_direct: false,
                    })
                    .unwrap();
            }
        }
        let log = CallLog::new(db);
        with_rooms(&log, |rooms| {
            let login = asked(
                &Method::Post,
                "/api/v1/session",
                r#"{"user":"8001","password":"pw-8001"}"#,
                false,
            );
            let r = route(&login, rooms);
            assert_eq!(r.code, 200, "{}", r.body);
            let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            assert_eq!(
                (v["role"].as_str(), v["agent"].as_str()),
                (Some("agent"), Some("8001"))
            );
            let csrf = v["csrf"].as_str().unwrap().to_string();
            let cookie = cookie_of(&r);
            let set = &r
                .headers
                .iter()
                .find(|(n, _)| *n == "Set-Cookie")
                .unwrap()
                .1;
            assert!(
                set.ends_with("; HttpOnly; SameSite=Strict; Path=/"),
                "{set}"
            );
            let ask = |method: &Method, url: &str, body: &str, csrf: Option<&str>| {
                let mut a = asked(method, url, body, false);
                a.cookie = Some(&cookie);
                a.csrf = csrf;
                a.host = Some("callbox.lan:8080");
                route(&a, rooms)
            };
            let post = |url: &str, body: &str| ask(&Method::Post, url, body, Some(&csrf)).code;
            // 503: allowed, and the (absent) switchboard was asked.
            assert_eq!(
                post("/api/v1/agents/8001/state", r#"{"state":"rest"}"#),
                503
            );
            assert_eq!(post("/api/v1/agents/8001/call/hold", ""), 503);
            assert_eq!(post("/api/v1/agents/8002/call/hold", ""), 403);
            assert_eq!(post("/api/v1/agents/8001/supervise", "{}"), 403);
            assert_eq!(
                post(
                    "/api/v1/calls",
                    r#"{"agent":"8002","number":"13800138000"}"#
                ),
                403
            );
            assert_eq!(
                post(
                    "/api/v1/calls",
                    r#"{"agent":"8001","number":"13800138000"}"#
                ),
                503
            );
            assert_eq!(post("/api/v1/log-level", r#"{"level":"info"}"#), 403);
            let own = ask(&Method::Get, "/api/v1/agents/8001/calls", "", None);
            assert_eq!(own.code, 200, "{}", own.body);
            assert_eq!(
                ask(&Method::Get, "/api/v1/agents/8002/calls", "", None).code,
                403
            );
            // Every role reads the live list (an agent a brief one): 503 here, asked.
            assert_eq!(ask(&Method::Get, "/api/v1/agents", "", None).code, 503);
            // CSRF: missing or wrong is 403, whatever the route.
            for token in [None, Some("0123"), Some(&csrf[1..])] {
                let r = ask(&Method::Post, "/api/v1/agents/8001/logout", "{}", token);
                assert_eq!(r.code, 403, "{token:?}");
                assert!(
                    r.body.contains("csrf") || r.body.contains("CSRF"),
                    "{}",
                    r.body
                );
            }
            let me = ask(&Method::Get, "/api/v1/session", "", None);
            assert_eq!(me.code, 200);
            assert!(me.body.contains(r#""name":"张三""#), "{}", me.body);
            assert_eq!(ask(&Method::Delete, "/api/v1/session", "", None).code, 403);
            assert_eq!(
                ask(&Method::Delete, "/api/v1/session", "", Some(&csrf)).code,
                200
            );
            assert_eq!(ask(&Method::Get, "/api/v1/session", "", None).code, 401);
            assert_eq!(
                ask(&Method::Get, "/api/v1/agents/8001/calls", "", None).code,
                401
            );
        });
        let audit = log.with_store(|s| s.audit_log(10)).unwrap();
        let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
        assert!(
            actions.contains(&"session-login") && actions.contains(&"hold"),
            "{actions:?}"
        );
        assert!(audit.iter().all(|a| a.actor == "8001"));
        assert!(
            audit
                .iter()
                .any(|a| a.detail == "POST /api/v1/agents/8002/call/hold -> 403"),
            "{audit:?}"
        );
    }
}
