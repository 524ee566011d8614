//! The admin side of in-call controls from the command line: customers' verification
//! PINs, supervisors, the audit log of who supervised which call, and an agent's own
//! calls ("My calls"). Written to and read from the database directly; the daemon
//! picks changes up by itself.
//!
//! The tricky part: a PIN's digits arrive on the command line and must never be
//! printed back, not even in an error (the store's messages give only the length).
//! A value the store refuses, or a row it cannot find, is the admin's mistake here,
//! so it exits 2 like any other bad argument.

use chrono::{DateTime, Local, TimeZone, Utc};

use super::CliError;
use super::args::{ArgError, Args};
use crate::config::Config;
use crate::core::CallRecord;
use crate::store::{Store, StoreError};

/// Lines printed when `--limit` is not given.
const DEFAULT_LIMIT: usize = 50;

/// A value refused or a row not found is a usage error (exit 2), naming the argument.
fn usage_if_bad_input(e: StoreError) -> CliError {
    match e {
        StoreError::Invalid { .. } | StoreError::NotFound { .. } => {
            CliError::Usage(ArgError(e.to_string()))
        }
        other => CliError::Store(other),
    }
}

/// `--limit N`, 1 or more.
fn limit(args: &Args) -> Result<usize, ArgError> {
    match args.number::<usize>("limit")? {
        Some(0) => Err(ArgError("--limit: expected 1 or more, got 0".into())),
        Some(n) => Ok(n),
        None => Ok(DEFAULT_LIMIT),
    }
}

/// `customer pin NUMBER DIGITS` or `customer pin NUMBER --clear`
pub fn customer_pin(config: &Config, rest: &[String]) -> Result<(), CliError> {
    let args = Args::parse(rest, &[], &["clear"])?;
    let number = args.at(0, "the customer's number")?;
    let clear = args.switch("clear");
    let digits = args.positional.get(1);
    if args.positional.len() > 2 {
        return Err(ArgError("customer pin takes a number and a PIN, nothing more".into()).into());
    }
    let mut store = Store::open(&config.db_path())?;
    match (digits, clear) {
        (Some(_), true) => Err(ArgError("give the PIN or --clear, not both".into()).into()),
        (None, false) => {
            Err(ArgError("missing the PIN (4-12 digits), or --clear to remove it".into()).into())
        }
        (Some(digits), false) => {
            store
                .set_customer_pin(number, digits)
                .map_err(usage_if_bad_input)?;
            println!("{number} has a new PIN");
            Ok(())
        }
        (None, true) => {
            let had = store
                .clear_customer_pin(number)
                .map_err(usage_if_bad_input)?;
            if had {
                println!("{number} no longer has a PIN");
            } else {
                println!("{number} had no PIN");
            }
            Ok(())
        }
    }
}

/// `agent supervisor NUMBER on|off`
pub fn supervisor(config: &Config, rest: &[String]) -> Result<(), CliError> {
    let args = Args::parse(rest, &[], &[])?;
    let number = args.at(0, "the agent number")?;
    let on = match args.at(1, "on or off")? {
        "on" => true,
        "off" => false,
        other => {
            return Err(ArgError(format!("expected on or off, got {other:?}")).into());
        }
    };
    Store::open(&config.db_path())?
        .set_supervisor(number, on)
        .map_err(usage_if_bad_input)?;
    if on {
        println!("agent {number} is a supervisor: may listen, whisper and barge in");
    } else {
        println!("agent {number} is no longer a supervisor");
    }
    Ok(())
}

/// `audit [--limit N]`: the audit log, newest first.
pub fn audit(config: &Config, rest: &[String]) -> Result<(), CliError> {
    let args = Args::parse(rest, &["limit"], &[])?;
    if let Some(extra) = args.positional.first() {
        return Err(ArgError(format!("audit takes no {extra:?}, only --limit N")).into());
    }
    let limit = limit(&args)?;
    let rows = Store::open(&config.db_path())?.audit_log(limit)?;
    if rows.is_empty() {
        println!("the audit log is empty");
    }
    for row in rows {
        let call = row.call.map_or_else(|| "-".to_string(), |c| c.to_string());
        println!(
            "{}  {:<10} {:<10} {:<10} {}",
            local(&row.at),
            row.actor,
            row.action,
            call,
            row.detail
        );
    }
    Ok(())
}

/// `agent calls NUMBER [--today] [--limit N]`: the agent's calls, newest first.
pub fn agent_calls(config: &Config, rest: &[String]) -> Result<(), CliError> {
    let args = Args::parse(rest, &["limit"], &["today"])?;
    let number = args.at(0, "the agent number")?;
    let limit = limit(&args)?;
    let since = if args.switch("today") {
        Some(start_of_today())
    } else {
        None
    };
    let calls = Store::open(&config.db_path())?
        .agent_calls(number, since, None, limit)
        .map_err(usage_if_bad_input)?;
    if calls.is_empty() {
        let when = if since.is_some() { " today" } else { "" };
        println!("agent {number} has no calls{when}");
    }
    for call in &calls {
        println!("{}", call_line(call));
    }
    Ok(())
}

/// One call on one line: when, which way, who to whom, answered and ended, hold,
/// survey score, and why it ended.
fn call_line(c: &CallRecord) -> String {
    let clock = |t: &Option<DateTime<Utc>>| {
        t.map_or_else(
            || "-".to_string(),
            |t| t.with_timezone(&Local).format("%H:%M:%S").to_string(),
        )
    };
    let survey = c
        .survey_score
        .map_or_else(|| "-".to_string(), |s| s.to_string());
    format!(
        "{} {}  {:<9} {} → {}  answered {}  ended {}  hold {} s  survey {}  {}",
        local(&c.started_at),
        c.id,
        c.direction.as_str(),
        c.from_number,
        c.to_number,
        clock(&c.answered_at),
        clock(&c.ended_at),
        c.hold_secs,
        survey,
        c.end_cause.as_deref().unwrap_or("(in progress)"),
    )
}

/// A time as the office's clock shows it.
fn local(t: &DateTime<Utc>) -> String {
    t.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Midnight today on the office's clock (the machine's time zone, as the daemon uses).
fn start_of_today() -> DateTime<Utc> {
    let today = Local::now().date_naive();
    let midnight = today.and_hms_opt(0, 0, 0).unwrap_or_default();
    // A midnight skipped by a DST change: the earliest time of the day that exists.
    Local
        .from_local_datetime(&midnight)
        .earliest()
        .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
}
