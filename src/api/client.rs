//! The other end of the API, for the command line: `callbox why agent 8001` asks
//! the running daemon over HTTP on this machine, as a script with curl would.
//!
//! It speaks to loopback only (the agent routes answer nothing else) and turns the
//! daemon's JSON errors into their message, so the command line can print them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Why a request to the daemon failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("callbox does not answer on http://{addr} (is it running?): {detail}")]
    Unreachable { addr: SocketAddr, detail: String },
    /// The daemon refused, with its own words.
    #[error("{message}")]
    Refused { code: u16, message: String },
    #[error("callbox answered something that is not JSON: {0}")]
    NotJson(String),
}

/// A client for the daemon whose HTTP listener is `listen` (an unspecified address
/// such as 0.0.0.0 is reached on loopback).
pub struct Client {
    addr: SocketAddr,
    agent: ureq::Agent,
}

impl Client {
    pub fn new(listen: SocketAddr) -> Client {
        let ip = if listen.ip().is_unspecified() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            listen.ip()
        };
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .build();
        Client {
            addr: SocketAddr::new(ip, listen.port()),
            agent: config.into(),
        }
    }

    pub fn get(&self, path: &str) -> Result<serde_json::Value, ClientError> {
        let url = format!("http://{}{path}", self.addr);
        let response = self.agent.get(&url).call();
        self.answer(response)
    }

    pub fn post(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, ClientError> {
        let url = format!("http://{}{path}", self.addr);
        let response = self
            .agent
            .post(&url)
            .header("Content-Type", "application/json")
            .send(body.to_string());
        self.answer(response)
    }

    fn answer(
        &self,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<serde_json::Value, ClientError> {
        let mut response = response.map_err(|e| ClientError::Unreachable {
            addr: self.addr,
            detail: e.to_string(),
        })?;
        let code = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| ClientError::NotJson(e.to_string()))?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|_| ClientError::NotJson(text.clone()))?;
        if (200..300).contains(&code) {
            return Ok(value);
        }
        let message = value["error"].as_str().unwrap_or("refused").to_string();
        Err(ClientError::Refused { code, message })
    }
}
