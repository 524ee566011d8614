//! Provisioning from the command line: agents, skill groups, and which service number
//! queues for which group. Written straight to the database; the store checks every
//! value and names the field it refuses.

use std::time::Duration;

use super::CliError;
use super::args::{ArgError, Args};
use crate::config::Config;
use crate::core::{AnswerMode, Directory, Language, Overflow, Strategy};
use crate::store::{NewAgent, NewGroup, Store};

fn open(config: &Config) -> Result<(Store, Directory), CliError> {
    let store = Store::open(&config.db_path())?;
    let directory = store.load_directory(&config.sip.outbound_prefix)?;
    Ok((store, directory))
}

fn group_id(dir: &Directory, name: &str) -> Result<crate::core::GroupId, ArgError> {
    dir.groups
        .iter()
        .find(|g| g.name == name)
        .map(|g| g.id)
        .ok_or_else(|| ArgError(format!("no skill group is named {name:?}")))
}

/// `agent add NUMBER NAME --password PW ...`
pub fn add_agent(config: &Config, rest: &[String]) -> Result<(), CliError> {
    let args = Args::parse(
        rest,
        &[
            "password",
            "sip-password",
            "direct",
            "device",
            "mode",
            "group",
        ],
        &["offline-answering", "fallback", "no-confirm"],
    )?;
    let (mut store, dir) = open(config)?;
    let number = args.at(0, "the agent number")?.to_string();
    let name = args.at(1, "the agent's name")?.to_string();
    let web_password = args
        .one("password")
        .ok_or_else(|| ArgError("--password is needed (the web login's password)".into()))?
        .to_string();
    let bound_device = match args.one("device") {
        Some(user) => Some(
            dir.device_by_user(user)
                .map(|d| d.id)
                .ok_or_else(|| ArgError(format!("--device: no device has the user {user:?}")))?,
        ),
        None => None,
    };
    let answer_mode = match args.one("mode") {
        Some(m) => AnswerMode::parse(m).ok_or_else(|| {
            ArgError(format!(
                "--mode: expected device, softphone or direct, got {m:?}"
            ))
        })?,
        None => AnswerMode::Device,
    };
    let mut groups = Vec::new();
    for spec in args.all("group") {
        let (group, level) = match spec.rsplit_once(':') {
            Some((g, l)) => (
                g,
                l.parse::<u32>()
                    .map_err(|_| ArgError(format!("--group {spec}: the level must be a number")))?,
            ),
            None => (spec.as_str(), 1),
        };
        groups.push((group_id(&dir, group)?, level));
    }
    let agent = store.add_agent(&NewAgent {
        number: number.clone(),
        name,
        web_password,
        sip_password: args.one("sip-password").map(str::to_string),
        direct_number: args.one("direct").map(str::to_string),
        bound_device,
        answer_mode,
        offline_answering: args.switch("offline-answering"),
        allow_fallback: args.switch("fallback"),
        confirm_direct: !args.switch("no-confirm"),
    })?;
    for (group, level) in groups {
        store.add_member(group, agent, level)?;
    }
    println!("agent {number} added");
    Ok(())
}

/// `group add NAME [--strategy S] ...`
pub fn add_group(config: &Config, rest: &[String]) -> Result<(), CliError> {
    let args = Args::parse(
        rest,
        &[
            "strategy",
            "ring-timeout",
            "wrap-up",
            "max-wait",
            "overflow",
            "max-no-answer",
            "announce",
        ],
        &["no-join-empty", "leave-empty"],
    )?;
    let (mut store, dir) = open(config)?;
    let name = args.at(0, "the group's name")?;
    let mut g = NewGroup::new(name);
    if let Some(s) = args.one("strategy") {
        g.strategy = Strategy::parse(s).ok_or_else(|| {
            let all: Vec<&str> = Strategy::ALL.iter().map(|s| s.as_str()).collect();
            ArgError(format!(
                "--strategy: expected one of {}, got {s:?}",
                all.join(", ")
            ))
        })?;
    }
    let secs = |name: &str| -> Result<Option<Duration>, ArgError> {
        Ok(args.number::<u64>(name)?.map(Duration::from_secs))
    };
    if let Some(d) = secs("ring-timeout")? {
        g.ring_timeout = d;
    }
    if let Some(d) = secs("wrap-up")? {
        g.wrap_up = d;
    }
    g.max_wait = secs("max-wait")?;
    g.announce_every = secs("announce")?;
    if let Some(n) = args.number("max-no-answer")? {
        g.max_no_answer = n;
    }
    g.join_empty = !args.switch("no-join-empty");
    g.leave_empty = args.switch("leave-empty");
    if let Some(o) = args.one("overflow") {
        g.overflow = match o.split_once(':') {
            None if o == "hangup" => Overflow::Hangup,
            Some(("group", other)) => Overflow::Group(group_id(&dir, other)?),
            Some(("number", n)) => Overflow::Number(n.to_string()),
            _ => {
                return Err(ArgError(format!(
                    "--overflow: expected hangup, group:NAME or number:N, got {o:?}"
                ))
                .into());
            }
        };
    }
    store.add_group(&g)?;
    println!("skill group {name} added");
    Ok(())
}

/// `number queue SERVICE_NUMBER GROUP [--priority N] [--language L]`
pub fn queue_number(config: &Config, rest: &[String]) -> Result<(), CliError> {
    let args = Args::parse(rest, &["priority", "language"], &[])?;
    let (mut store, dir) = open(config)?;
    let number = args.at(0, "the service number")?;
    let group = group_id(&dir, args.at(1, "the skill group's name")?)?;
    let priority = args.number::<u8>("priority")?.unwrap_or(0);
    let language = match args.one("language") {
        Some(l) => Language::parse(l)
            .ok_or_else(|| ArgError(format!("--language: expected zh-CN or en, got {l:?}")))?,
        None => Language::ZhCn,
    };
    store.set_service_number_queue(number, Some(group), priority, language)?;
    println!("{number} now queues for {}", args.at(1, "")?);
    Ok(())
}

/// `why call ID`: the call row and its trail, as an admin asks "why did this call go
/// where it went?" (who was offered it, in what order, who missed it and why).
pub fn why_call(config: &Config, rest: &[String]) -> Result<(), CliError> {
    let args = Args::parse(rest, &[], &[])?;
    let raw = args.at(0, "the call id")?;
    let id: i64 = raw
        .parse()
        .map_err(|_| ArgError(format!("a call id is a number, got {raw:?}")))?;
    let store = Store::open(&config.db_path())?;
    let Some(call) = store.call(crate::core::CallId(id))? else {
        return Err(ArgError(format!("no call has the id {id}")).into());
    };
    println!(
        "call {id}: {} {} → {}, started {}",
        call.direction.as_str(),
        call.from_number,
        call.to_number,
        call.started_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    if let Some(cause) = &call.end_cause {
        let by = call.hangup_by.map_or("?", |b| b.as_str());
        println!("  ended: {cause} (by the {by})");
    }
    for e in store.call_events(crate::core::CallId(id))? {
        let code = e.sip_code.map(|c| format!(" [{c}]")).unwrap_or_default();
        println!(
            "  {} {:<16} {}{code}",
            e.at.format("%H:%M:%S"),
            e.kind.as_str(),
            e.detail
        );
    }
    Ok(())
}

fn agent_id(store: &Store, number: &str) -> Result<crate::core::AgentId, CliError> {
    Ok(store
        .agent_by_number(number)?
        .ok_or_else(|| ArgError(format!("no agent has the number {number}")))?
        .0)
}

/// `agent bind NUMBER DEVICE_USER|none`: the desk phone the agent answers on.
pub fn bind(config: &Config, rest: &[String]) -> Result<(), CliError> {
    let args = Args::parse(rest, &[], &[])?;
    let (mut store, dir) = open(config)?;
    let number = args.at(0, "the agent number")?;
    let agent = agent_id(&store, number)?;
    let device = match args.at(1, "the phone's user (or none)")? {
        "none" => None,
        user => Some(
            dir.device_by_user(user)
                .map(|d| d.id)
                .ok_or_else(|| ArgError(format!("no device has the user {user:?}")))?,
        ),
    };
    store.bind_device(agent, device)?;
    println!("agent {number} bound to {}", args.at(1, "")?);
    Ok(())
}

/// `agent join NUMBER GROUP[:LEVEL]`: a membership, or a new level for one.
pub fn join(config: &Config, rest: &[String]) -> Result<(), CliError> {
    let args = Args::parse(rest, &[], &[])?;
    let (mut store, dir) = open(config)?;
    let number = args.at(0, "the agent number")?;
    let agent = agent_id(&store, number)?;
    let spec = args.at(1, "the skill group (NAME or NAME:LEVEL)")?;
    let (name, level) = match spec.rsplit_once(':') {
        Some((g, l)) => (
            g,
            l.parse::<u32>()
                .map_err(|_| ArgError(format!("{spec}: the level must be a number")))?,
        ),
        None => (spec, 1),
    };
    store.add_member(group_id(&dir, name)?, agent, level)?;
    println!("agent {number} is in {name} at level {level}");
    Ok(())
}

/// `agent log NUMBER [--limit N]`: the status log, oldest first (S20: why did I get
/// calls while off duty?).
pub fn log(config: &Config, rest: &[String]) -> Result<(), CliError> {
    let args = Args::parse(rest, &["limit"], &[])?;
    let store = Store::open(&config.db_path())?;
    let number = args.at(0, "the agent number")?;
    let agent = agent_id(&store, number)?;
    let limit = args.number::<usize>("limit")?.unwrap_or(50);
    for row in store.agent_status_log(agent, limit)? {
        let reason = row.reason.map(|r| format!(" ({r})")).unwrap_or_default();
        let mode = row.mode.map_or("-", |m| m.as_str());
        let call = row.call.map(|c| format!(" {c}")).unwrap_or_default();
        println!(
            "{} {} → {}{reason}  [{} · {mode}{call}] {}",
            row.at.format("%Y-%m-%d %H:%M:%S"),
            row.from.as_str(),
            row.to.as_str(),
            row.cause.as_str(),
            row.detail
        );
    }
    Ok(())
}

/// `busy-reasons REASON...`: the reasons agents may choose when busy (replaces the
/// list; none: any reason).
pub fn busy_reasons(config: &Config, rest: &[String]) -> Result<(), CliError> {
    let args = Args::parse(rest, &[], &[])?;
    let reasons: Vec<&str> = args.positional.iter().map(String::as_str).collect();
    Store::open(&config.db_path())?.set_busy_reasons(&reasons)?;
    println!("busy reasons: {}", reasons.join(", "));
    Ok(())
}

/// `agent direct NUMBER PHONE_NUMBER|none`: the agent's direct line (mobile), for the
/// direct answer mode, offline answering, fallback and the hotline sign-in.
pub fn direct(config: &Config, rest: &[String]) -> Result<(), CliError> {
    let args = Args::parse(rest, &[], &[])?;
    let mut store = Store::open(&config.db_path())?;
    let number = args.at(0, "the agent number")?;
    let agent = agent_id(&store, number)?;
    let line = match args.at(1, "the direct number (or none)")? {
        "none" => None,
        n => Some(n),
    };
    store.set_direct_number(agent, line)?;
    println!("agent {number}'s direct line: {}", line.unwrap_or("none"));
    Ok(())
}
