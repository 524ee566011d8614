//! Commands answered by the running daemon: agents' live state, log in and out,
//! state and mode changes, and "why" (S9).

use serde_json::{Value, json};

use super::CliError;
use super::args::{ArgError, Args};
use crate::api::client::Client;
use crate::config::Config;

fn client(config: &Config) -> Client {
    Client::new(config.http.listen)
}

pub fn agents(config: &Config) -> Result<(), CliError> {
    let list = client(config).get("/api/v1/agents")?;
    for a in list.as_array().map_or(&[][..], Vec::as_slice) {
        println!("{}", agent_line(a));
    }
    Ok(())
}

pub fn why(config: &Config, rest: &[String]) -> Result<(), CliError> {
    let args = Args::parse(rest, &[], &[])?;
    let number = args.at(0, "the agent number")?;
    let answer = client(config).get(&format!("/api/v1/agents/{number}/why"))?;
    for g in answer["groups"].as_array().map_or(&[][..], Vec::as_slice) {
        let name = g["name"].as_str().unwrap_or("");
        let head = if g["group"].is_null() {
            format!("agent {number}")
        } else {
            format!("agent {number} in {name}")
        };
        let verdict = if g["gets_next_call"].as_bool() == Some(true) {
            "gets the next call"
        } else {
            "does not get calls"
        };
        println!("{head}: {verdict}");
        for reason in g["reasons"].as_array().map_or(&[][..], Vec::as_slice) {
            println!("  - {}", reason.as_str().unwrap_or(""));
        }
    }
    Ok(())
}

/// `agent login|logout|state|mode NUMBER ...`
pub fn control(config: &Config, action: &str, rest: &[String]) -> Result<(), CliError> {
    let args = Args::parse(rest, &[], &[])?;
    let number = args.at(0, "the agent number")?;
    let body = match action {
        "login" => match args.positional.get(1) {
            Some(mode) => json!({ "mode": mode }),
            None => json!({}),
        },
        "logout" => json!({}),
        "state" => {
            let state = args.at(1, "the state (idle, busy or rest)")?;
            match args.positional.get(2) {
                Some(reason) => json!({ "state": state, "reason": reason }),
                None => json!({ "state": state }),
            }
        }
        "mode" => json!({ "mode": args.at(1, "the mode (device, softphone or direct)")? }),
        other => return Err(ArgError(format!("unknown agent action {other}")).into()),
    };
    let agent = client(config).post(&format!("/api/v1/agents/{number}/{action}"), &body)?;
    println!("{}", agent_line(&agent));
    Ok(())
}

/// "8001 张三  idle (空闲)  device  since 2026-12-01T09:00:00+00:00"
fn agent_line(a: &Value) -> String {
    let s = |k: &str| a[k].as_str().unwrap_or("").to_string();
    let reason = a["reason"]
        .as_str()
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    let mode = a["mode"].as_str().unwrap_or("-");
    let fallback = if a["fallback"].as_bool() == Some(true) {
        " (fallback)"
    } else {
        ""
    };
    format!(
        "{} {}  {} ({}{reason})  {mode}{fallback}  since {}",
        s("number"),
        s("name"),
        s("state"),
        s("state_zh"),
        s("since")
    )
}
