//! `callbox log-level [LEVEL]`: reads or sets the running daemon's log level over its
//! loopback API (`/api/v1/log-level`); the change lasts until the next start, when
//! `log_level` in the configuration applies again.

use serde_json::json;

use super::CliError;
use super::args::Args;
use crate::api::client::Client;
use crate::config::Config;

pub fn run(config: &Config, rest: &[String]) -> Result<(), CliError> {
    let args = Args::parse(rest, &[], &[])?;
    let client = Client::new(config.http.listen);
    let answer = match args.positional.first() {
        Some(level) => client.post("/api/v1/log-level", &json!({ "level": level }))?,
        None => client.get("/api/v1/log-level")?,
    };
    println!("log level: {}", answer["level"].as_str().unwrap_or("?"));
    Ok(())
}
