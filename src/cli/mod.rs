//! The admin's commands besides `serve`: live agent control and "why", which ask the
//! running daemon over its API, and provisioning (agents, skill groups, queue
//! routing, customers' PINs, supervisors), which writes the database directly; the
//! daemon picks changes up by itself. The audit log and an agent's calls are read
//! from the database too.
//!
//! It owns argument reading and printing only: every rule (what a valid agent number
//! is, what a login needs) lives in the store or the switchboard, which answer with
//! the reason.

mod accounts;
mod admin;
mod args;
mod controls;
mod doctor;
mod ivr;
mod live;
mod log_level;
mod ops;
mod prompts;

use crate::config::Config;

pub use args::ArgError;

/// The help text of these commands, for the binary's usage.
pub const USAGE: &str =
    "  agents                          every agent's live state (asks the running daemon)
  why agent NUMBER                why the agent does or does not get the next call
  agent login NUMBER [MODE]       log in; MODE = device, softphone or direct
  agent logout NUMBER
  agent state NUMBER idle|rest|busy [REASON]
  agent mode NUMBER MODE
  agent log NUMBER [--limit N]    the agent's status log, with the cause of each change
  agent calls NUMBER [--today] [--limit N]   the agent's calls, newest first
  agent supervisor NUMBER on|off  may listen to, whisper into and barge into calls
  agent bind NUMBER PHONE|none    the desk phone the agent answers on
  agent direct NUMBER LINE|none   the agent's direct line (mobile), E.164 or national
  agent join NUMBER GROUP[:LEVEL] put the agent in a skill group
  agent add NUMBER NAME --password PW [--sip-password PW] [--direct NUMBER]
            [--device USER] [--mode MODE] [--group NAME[:LEVEL]]...
            [--offline-answering] [--fallback] [--no-confirm]
  group add NAME [--strategy S] [--ring-timeout S] [--wrap-up S] [--max-wait S]
            [--overflow hangup|group:NAME|number:N] [--max-no-answer N]
            [--announce S] [--no-join-empty] [--leave-empty]
  number queue SERVICE_NUMBER GROUP [--priority 0-9] [--language zh-CN|en]
  number flow SERVICE_NUMBER FLOW|none
  number language SERVICE_NUMBER zh-CN|en
  flow import NAME FILE.json      add or replace an IVR flow (start node and nodes, JSON)
  flow export NAME
  group exit GROUP KEY FLOW|none  a key that takes waiting callers to a flow
  prompt set NAME FILE [--language zh-CN|en]   replace a prompt (WAV, MP3, OGG, FLAC)
  prompt reset NAME [--language zh-CN|en]
  customer vip NUMBER [--off]     VIP callers go first in every queue
  customer pin NUMBER DIGITS|--clear   the customer's verification PIN (4-12 digits)
  audit [--limit N]               who supervised which call, newest first
  admin passwd [NAME] [--role admin|supervisor]   set a web account's password (read
                                  from stdin), creating the account; NAME: admin
  busy-reasons REASON...          the busy reasons agents choose from
  why call ID                     the call's trail: who was offered it, and why
  backup PATH [--recordings]      copy the database (and recordings) into the directory
                                  PATH while callbox runs
  restore PATH                    put a backup back (callbox must be stopped); the
                                  replaced database is kept as callbox.db.before-restore
  doctor                          check ports, trunks, phones, disk, clock, database
  log-level [error|warn|info|debug|trace]   the running daemon's log level (read or set)";

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line itself is wrong: exit code 2.
    #[error(transparent)]
    Usage(#[from] ArgError),
    #[error(transparent)]
    Daemon(#[from] crate::api::client::ClientError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The command ran and found something wrong (doctor's fails, a running daemon).
    #[error("{0}")]
    Failed(String),
}

/// Is `command` one of these?
pub fn handles(command: &str) -> bool {
    matches!(
        command,
        "agents"
            | "why"
            | "agent"
            | "group"
            | "number"
            | "flow"
            | "prompt"
            | "customer"
            | "busy-reasons"
            | "audit"
            | "admin"
            | "log-level"
            | "backup"
            | "restore"
            | "doctor"
    )
}

/// Run `command` with its arguments `rest`.
pub fn run(command: &str, rest: &[String], config: &Config) -> Result<(), CliError> {
    let sub = rest.first().map(String::as_str).unwrap_or("");
    let tail = rest.get(1..).unwrap_or(&[]);
    match (command, sub) {
        ("agents", _) => live::agents(config),
        ("why", "agent") => live::why(config, tail),
        ("why", "call") => admin::why_call(config, tail),
        ("why", _) => Err(ArgError("usage: callbox why agent NUMBER | why call ID".into()).into()),
        ("agent", "add") => admin::add_agent(config, tail),
        ("agent", "bind") => admin::bind(config, tail),
        ("agent", "direct") => admin::direct(config, tail),
        ("agent", "join") => admin::join(config, tail),
        ("agent", "log") => admin::log(config, tail),
        ("agent", "calls") => controls::agent_calls(config, tail),
        ("agent", "supervisor") => controls::supervisor(config, tail),
        ("audit", _) => controls::audit(config, rest),
        ("admin", "passwd") => accounts::passwd(config, tail),
        ("log-level", _) => log_level::run(config, rest),
        ("busy-reasons", _) => admin::busy_reasons(config, rest),
        ("agent", "login" | "logout" | "state" | "mode") => live::control(config, sub, tail),
        ("group", "add") => admin::add_group(config, tail),
        ("group", "exit") => ivr::group_exit(config, tail),
        ("number", "queue") => admin::queue_number(config, tail),
        ("number", "flow") => ivr::number_flow(config, tail),
        ("number", "language") => prompts::number_language(config, tail),
        ("flow", "import") => ivr::import(config, tail),
        ("flow", "export") => ivr::export(config, tail),
        ("prompt", "set") => prompts::set(config, tail),
        ("prompt", "reset") => prompts::reset(config, tail),
        ("customer", "vip") => prompts::vip(config, tail),
        ("customer", "pin") => controls::customer_pin(config, tail),
        ("backup", _) => ops::backup(config, rest),
        ("restore", _) => ops::restore(config, rest),
        ("doctor", _) => doctor::doctor(config, rest),
        (_, other) => Err(ArgError(format!("unknown command: {command} {other}")).into()),
    }
}
