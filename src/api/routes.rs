//! Which request gets which answer, and the JSON bodies.
//!
//! `route` is pure (method, path, status in; status code and body out) so every
//! answer is testable without a socket; `handle` only carries it to tiny_http. Every
//! answer, errors included, is JSON, so a client never has to guess the format.

use std::sync::atomic::Ordering;

use serde::Serialize;
use tiny_http::{Header, Method, Request, Response};

use super::Status;

/// One answer: status code, JSON body, and whether to say which methods are allowed.
#[derive(Debug, PartialEq)]
pub struct Reply {
    pub code: u16,
    pub body: String,
    pub allow: Option<&'static str>,
}

#[derive(Serialize)]
struct Health<'a> {
    status: &'a str,
    version: &'a str,
    calls_active: usize,
    devices_registered: usize,
    uptime_secs: u64,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

pub fn route(method: &Method, url: &str, status: &Status) -> Reply {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    match (path, method) {
        ("/health", Method::Get | Method::Head) => Reply {
            code: 200,
            body: json(&Health {
                status: "ok",
                version: status.version(),
                calls_active: status.calls_active.load(Ordering::Relaxed),
                devices_registered: status.devices_registered.load(Ordering::Relaxed),
                uptime_secs: status.uptime().as_secs(),
            }),
            allow: None,
        },
        ("/health", _) => Reply {
            code: 405,
            body: json(&ErrorBody {
                error: "method not allowed",
            }),
            allow: Some("GET, HEAD"),
        },
        _ => Reply {
            code: 404,
            body: json(&ErrorBody { error: "not found" }),
            allow: None,
        },
    }
}

pub fn handle(request: Request, status: &Status) {
    let reply = route(request.method(), request.url(), status);
    log::debug!(
        "api: {} {} -> {}",
        request.method(),
        request.url(),
        reply.code
    );
    let mut response = Response::from_string(reply.body)
        .with_status_code(reply.code)
        .with_header(header("Content-Type", "application/json"));
    if let Some(allow) = reply.allow {
        response.add_header(header("Allow", allow));
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

    #[test]
    fn health_counts_and_unknown_routes() {
        let status = Status::new();
        status.set_calls_active(3);
        let r = route(&Method::Get, "/health?verbose=1", &status);
        assert_eq!(r.code, 200);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["calls_active"], 3);
        assert_eq!(route(&Method::Post, "/health", &status).code, 405);
        assert_eq!(route(&Method::Get, "/healthz", &status).code, 404);
        assert_eq!(
            route(&Method::Get, "/", &status).body,
            r#"{"error":"not found"}"#
        );
    }
}
