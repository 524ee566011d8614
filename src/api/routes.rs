//! Which request gets which answer, and the JSON bodies.
//!
//! `route` is pure (method, path, status in; status code and body out) so every
//! answer is testable without a socket; `handle` only carries it to tiny_http. Every
//! answer, errors included, is JSON, so a client never has to guess the format.

use std::io::Read;
use std::sync::atomic::Ordering;

use crossbeam_channel::Sender;
use serde::Serialize;
use tiny_http::{Header, Method, Request, Response};

use super::Status;
use super::agents::{self, CommandRequest};
use super::call_log::CallLog;

/// The largest request body read; a bigger one is refused with 413.
const MAX_BODY: u64 = 64 * 1024;

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
    pub body: &'a str,
    /// The peer is this machine.
    pub local: bool,
    /// The `Host` header, if any.
    pub host: Option<&'a str>,
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
}

/// A `Host` that names this machine by address or as localhost. Anything else on a
/// loopback connection is a web page's script reaching us through DNS rebinding.
fn host_is_this_machine(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok()
}

pub fn route(
    asked: &Asked<'_>,
    status: &Status,
    commands: &Sender<CommandRequest>,
    log: &CallLog,
) -> Answer {
    let url = asked.url;
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let calls = path == "/api/v1/calls";
    let log_level = path == "/api/v1/log-level";
    if let Some(rest) = path
        .strip_prefix("/api/v1/agents")
        .or((calls || log_level).then_some(""))
    {
        if !rest.is_empty() && !rest.starts_with('/') {
            return error(404, "not found", None);
        }
        if !asked.local {
            return error(
                403,
                "agent control answers only this machine until web accounts exist",
                None,
            );
        }
        if !asked.host.is_some_and(host_is_this_machine) {
            return error(403, "the Host header must name this machine", None);
        }
        // A form on a web page cannot send JSON without asking first (CORS), so a
        // change demands it.
        let json = asked
            .content_type
            .is_some_and(|t| t.trim_start().starts_with("application/json"));
        if *asked.method == Method::Post && !json {
            return error(415, "send the body as application/json", None);
        }
        if calls {
            return super::calls::dial_route(asked.method.as_str(), asked.body, commands);
        }
        if log_level {
            return log_level_route(asked.method, asked.body);
        }
        let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
        if let [agent, "calls"] = parts.as_slice() {
            if *asked.method != Method::Get {
                return error(405, "method not allowed", None);
            }
            let query = url.split_once('?').map_or("", |(_, q)| q);
            return log.agent_calls(agent, query);
        }
        return agents::route(asked.method.as_str(), rest, asked.body, commands);
    }
    match (path, asked.method) {
        ("/health", Method::Get | Method::Head) => Answer::json(
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
        ),
        ("/health", _) => Answer {
            allow: Some("GET, HEAD"),
            ..error(405, "method not allowed", None)
        },
        // Everything outside /api and /health is the web app's (index.html, assets).
        (_, Method::Get | Method::Head) if !path.starts_with("/api/") => super::web::serve(path),
        _ => error(404, "not found", None),
    }
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

pub fn handle(
    mut request: Request,
    status: &Status,
    commands: &Sender<CommandRequest>,
    log: &CallLog,
) {
    let local = request.remote_addr().is_some_and(|a| a.ip().is_loopback());
    let header_of = |name: &str| {
        request
            .headers()
            .iter()
            .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str().to_string())
    };
    let (host, content_type) = (header_of("Host"), header_of("Content-Type"));
    // Only this machine's requests have a body worth reading: another peer's is never
    // waited for (one slow sender must not hold the API thread).
    let mut body = String::new();
    let too_big = request.body_length().is_some_and(|n| n as u64 > MAX_BODY);
    let read = if local && !too_big {
        request
            .as_reader()
            .take(MAX_BODY + 1)
            .read_to_string(&mut body)
            .map(|_| ())
    } else {
        Ok(())
    };
    let answer = if local && (too_big || body.len() as u64 > MAX_BODY) {
        error(413, "the request body is larger than 64 KiB", None)
    } else if read.is_err() {
        error(400, "the request body is not UTF-8 text", None)
    } else {
        let asked = Asked {
            method: request.method(),
            url: request.url(),
            body: &body,
            local,
            host: host.as_deref(),
            content_type: content_type.as_deref(),
        };
        route(&asked, status, commands, log)
    };
    log::debug!(
        "api: {} {} -> {}",
        request.method(),
        request.url(),
        answer.code
    );
    let content_type = answer.content_type.unwrap_or("application/json");
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

    fn get(method: &Method, url: &str, local: bool, status: &Status) -> Answer {
        let (tx, _rx) = crossbeam_channel::bounded(1);
        let asked = Asked {
            method,
            url,
            body: "",
            local,
            host: Some("127.0.0.1:8080"),
            content_type: Some("application/json"),
        };
        route(&asked, status, &tx, &CallLog::none())
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
        assert_eq!(get(&Method::Get, "/healthz", true, &status).code, 404);
        assert_eq!(
            get(&Method::Get, "/", true, &status).body,
            r#"{"error":"not found"}"#
        );
        assert_eq!(
            get(&Method::Get, "/api/v1/agentsx", true, &status).code,
            404
        );
    }

    #[test]
    fn the_log_level_is_read_and_set_with_bad_levels_named() {
        let (tx, _rx) = crossbeam_channel::bounded(1);
        let status = Status::new();
        let ask = |method: &Method, body: &str| {
            let asked = Asked {
                method,
                url: "/api/v1/log-level",
                body,
                local: true,
                host: Some("127.0.0.1:8080"),
                content_type: Some("application/json"),
            };
            route(&asked, &status, &tx, &CallLog::none())
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
        assert_eq!(
            get(&Method::Get, "/api/v1/log-level", false, &status).code,
            403
        );
    }

    #[test]
    fn agent_control_is_refused_to_other_machines() {
        let status = Status::new();
        assert_eq!(
            get(&Method::Get, "/api/v1/agents", false, &status).code,
            403
        );
        assert_eq!(get(&Method::Get, "/health", false, &status).code, 200);
    }

    #[test]
    fn pages_of_other_sites_cannot_drive_agents_through_the_browser() {
        let (tx, _rx) = crossbeam_channel::bounded(1);
        let status = Status::new();
        let ask = |host: Option<&str>, content_type: Option<&str>| {
            let asked = Asked {
                method: &Method::Post,
                url: "/api/v1/agents/8001/logout",
                body: "{}",
                local: true,
                host,
                content_type,
            };
            route(&asked, &status, &tx, &CallLog::none()).code
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
        assert!(host_is_this_machine("192.168.1.10:8080"));
        assert!(!host_is_this_machine("callbox.evil.example"));
    }
}
