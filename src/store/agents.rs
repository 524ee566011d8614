//! Agents, skill groups, memberships and busy reasons: the admin's additions, the web
//! login's password check, and the agent status log read back.
//!
//! Every value is validated here before any SQL runs, so a refusal is a
//! [`StoreError::Invalid`] naming the field as the admin knows it, with what was
//! expected and what came. An id passed on its own (`add_member`'s group) that names
//! no row is [`StoreError::NotFound`], as for devices and trunks.
//!
//! The tricky parts: a web password is stored only as an argon2id PHC string (a web
//! login can check a hash; SIP digest cannot, so the softphone's SIP password lives in
//! `devices` in plaintext like every device's). An agent given a SIP password gets
//! its softphone device row (user = agent number) in the same transaction, so there is
//! never an agent pointing at a missing login nor a login without its agent. The
//! `insert_*` functions take a bare `&Connection` so the demo seed runs them inside its
//! own transaction, through the same validation.

use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, params};

use super::rows::{
    agent_state_from_sql, answer_mode_from_sql, bad, cause_from_sql, secs_to_sql, time_from_sql,
    time_to_sql,
};
use super::{Store, StoreError};
use crate::core::acd::{AgentSnapshot, AgentStatusRecord};
use crate::core::{AgentId, AnswerMode, CallId, DeviceId, GroupId, Language, Overflow, Strategy};

/// An agent to add.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAgent {
    /// The agent number (工号): 1-16 digits.
    pub number: String,
    pub name: String,
    /// The web login's password, at least 6 characters; stored hashed.
    pub web_password: String,
    /// When set, the agent gets a softphone login: a device with user = `number`.
    pub sip_password: Option<String>,
    /// E.164 (`+8613800138000`) or national digits; needed by the direct answer mode,
    /// offline answering and fallback.
    pub direct_number: Option<String>,
    /// The desk phone bound to the agent; a desk phone serves one agent at a time.
    pub bound_device: Option<DeviceId>,
    pub answer_mode: AnswerMode,
    pub offline_answering: bool,
    pub allow_fallback: bool,
    /// Calls to the direct number are put through only after the agent presses 1.
    pub confirm_direct: bool,
}

/// A skill group to add: core's [`SkillGroup`](crate::core::SkillGroup) without its id.
/// Durations are whole seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct NewGroup {
    pub name: String,
    pub strategy: Strategy,
    /// 5-300 s.
    pub ring_timeout: Duration,
    /// 0 = never set an agent busy for not answering.
    pub max_no_answer: u32,
    /// 0-3600 s.
    pub wrap_up: Duration,
    /// 10-86400 s when set.
    pub max_wait: Option<Duration>,
    /// A group must exist; a number is an extension or a phone number.
    pub overflow: Overflow,
    pub join_empty: bool,
    pub leave_empty: bool,
    /// 10-3600 s when set.
    pub announce_every: Option<Duration>,
}

impl NewGroup {
    /// A group with the schema's defaults: longest idle, ring 20 s, busy after 3
    /// unanswered offers, 10 s wrap-up, no wait limit, hang up on overflow, callers may
    /// join an empty queue and are not sent away when it empties, no announcements.
    pub fn new(name: impl Into<String>) -> NewGroup {
        NewGroup {
            name: name.into(),
            strategy: Strategy::LongestIdle,
            ring_timeout: Duration::from_secs(20),
            max_no_answer: 3,
            wrap_up: Duration::from_secs(10),
            max_wait: None,
            overflow: Overflow::Hangup,
            join_empty: true,
            leave_empty: false,
            announce_every: None,
        }
    }
}

/// The longest name of an agent, group or IVR flow, in characters.
const MAX_NAME_CHARS: usize = 64;
/// The shortest web or SIP password accepted.
const MIN_PASSWORD_CHARS: usize = 6;
/// The longest busy reason, in characters (they are buttons in the agent panel).
const MAX_REASON_CHARS: usize = 32;

impl Store {
    /// Adds an agent, and their softphone login when `sip_password` is set, in one
    /// transaction. Every refusal is [`StoreError::Invalid`] naming the field, a taken
    /// agent number included.
    pub fn add_agent(&mut self, a: &NewAgent) -> Result<AgentId, StoreError> {
        let tx = self.conn.transaction()?;
        let id = insert_agent(&tx, a)?;
        tx.commit()?;
        Ok(id)
    }

    /// True when `password` is the web password of the agent with this number; false
    /// for a wrong password or an unknown agent.
    pub fn verify_agent_password(&self, number: &str, password: &str) -> Result<bool, StoreError> {
        let Some(hash) = self
            .conn
            .query_row(
                "SELECT web_password FROM agents WHERE number = ?1",
                params![number],
                |r| r.get::<_, String>(0),
            )
            .optional()?
        else {
            return Ok(false);
        };
        match Argon2::default().verify_password(password.as_bytes(), hash.as_str()) {
            Ok(()) => Ok(true),
            Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
            Err(e) => Err(bad(
                "agents",
                &format!("number {number:?}"),
                format!("web_password is not an argon2 PHC string ({e})"),
            )),
        }
    }

    /// The id and name of the agent with this number.
    pub fn agent_by_number(&self, number: &str) -> Result<Option<(AgentId, String)>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, name FROM agents WHERE number = ?1",
                params![number],
                |r| Ok((AgentId(r.get(0)?), r.get(1)?)),
            )
            .optional()?)
    }

    /// Adds a skill group. Every refusal is [`StoreError::Invalid`] naming the field,
    /// a taken name included.
    pub fn add_group(&mut self, g: &NewGroup) -> Result<GroupId, StoreError> {
        insert_group(&self.conn, g)
    }

    /// Puts `agent` in `group` at `level` (1 or more; 1 is offered first by top-down);
    /// for a member already, changes the level.
    pub fn add_member(
        &mut self,
        group: GroupId,
        agent: AgentId,
        level: u32,
    ) -> Result<(), StoreError> {
        insert_member(&self.conn, group, agent, level)
    }

    /// Replaces the busy reasons with `reasons`, in this order. Each is trimmed, 1-32
    /// characters, and listed once; an empty list lets agents give any reason.
    pub fn set_busy_reasons(&mut self, reasons: &[&str]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        replace_busy_reasons(&tx, reasons)?;
        tx.commit()?;
        Ok(())
    }

    /// Sends callers of the service `number` to `group`'s queue (or, with `None`, back
    /// to its device) at `priority` 0-9, hearing prompts in `language`.
    pub fn set_service_number_queue(
        &mut self,
        number: &str,
        group: Option<GroupId>,
        priority: u8,
        language: Language,
    ) -> Result<(), StoreError> {
        if priority > 9 {
            return Err(invalid("priority", format!("expected 0-9, got {priority}")));
        }
        if let Some(g) = group {
            require(&self.conn, "skill_groups", "skill group", g.0)?;
        }
        let changed = self.conn.execute(
            "UPDATE service_numbers SET group_id = ?2, priority = ?3, language = ?4
             WHERE number = ?1",
            params![number, group.map(|g| g.0), priority, language.as_str()],
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: "service number",
                value: format!("{number:?}"),
            });
        }
        Ok(())
    }

    /// Binds `device` as the agent's desk phone (or unbinds with `None`). A desk phone
    /// serves one agent at a time: another agent bound to it loses it. An agent's
    /// softphone login cannot be bound as a desk phone.
    pub fn bind_device(
        &mut self,
        agent: AgentId,
        device: Option<DeviceId>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        bind(&tx, agent, device)?;
        tx.commit()?;
        Ok(())
    }

    /// Sets (or, with `None`, removes) the agent's direct number (E.164 or national
    /// digits; [`StoreError::Invalid`] naming `direct_number` otherwise).
    pub fn set_direct_number(
        &mut self,
        agent: AgentId,
        number: Option<&str>,
    ) -> Result<(), StoreError> {
        if let Some(n) = number {
            check_direct_number(n)?;
        }
        let changed = self.conn.execute(
            "UPDATE agents SET direct_number = ?2 WHERE id = ?1",
            params![agent.0, number],
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: "agent",
                value: agent.0.to_string(),
            });
        }
        Ok(())
    }

    /// Lets the agent with this number listen to, whisper into and barge into other
    /// agents' calls (or stops them). The running daemon picks it up with its next
    /// directory reload (the agents trigger bumps the directory version). An unknown
    /// agent number is [`StoreError::NotFound`].
    pub fn set_supervisor(
        &mut self,
        agent_number: &str,
        supervisor: bool,
    ) -> Result<(), StoreError> {
        let changed = self.conn.execute(
            "UPDATE agents SET supervisor = ?2 WHERE number = ?1",
            params![agent_number, supervisor],
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: "agent",
                value: format!("{agent_number:?}"),
            });
        }
        Ok(())
    }

    /// Each agent's last logged state (their newest status-log row), in agent order,
    /// for a restart to resume from. Agents with no row yet, and rows of removed
    /// agents, are left out.
    pub fn agent_snapshots(&self) -> Result<Vec<AgentSnapshot>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT l.id, l.agent_id, l.to_state, l.reason, l.mode, l.at, l.fallback,
                 l.offline_answering
             FROM agents a JOIN agent_status_log l
                 ON l.id = (SELECT max(id) FROM agent_status_log WHERE agent_id = a.id)
             ORDER BY a.id",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let key = format!("id {}", r.get::<_, i64>(0)?);
            out.push(AgentSnapshot {
                agent: AgentId(r.get(1)?),
                state: agent_state_from_sql(&r.get::<_, String>(2)?, &key)?,
                reason: r.get(3)?,
                mode: r
                    .get::<_, Option<String>>(4)?
                    .map(|m| answer_mode_from_sql(&m, "agent_status_log", &key))
                    .transpose()?,
                since: time_from_sql(&r.get::<_, String>(5)?, "agent_status_log", &key)?,
                fallback: r.get(6)?,
                offline_answering: r.get(7)?,
            });
        }
        Ok(out)
    }

    /// The agent's newest `limit` status-log rows, oldest first.
    pub fn agent_status_log(
        &self,
        agent: AgentId,
        limit: usize,
    ) -> Result<Vec<AgentStatusRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, agent_id, at, from_state, to_state, reason, cause, detail, mode, call_id,
                 fallback, offline_answering
             FROM (SELECT * FROM agent_status_log WHERE agent_id = ?1
                   ORDER BY id DESC LIMIT ?2)
             ORDER BY id",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = stmt.query(params![agent.0, limit])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let key = format!("id {}", r.get::<_, i64>(0)?);
            out.push(AgentStatusRecord {
                agent: AgentId(r.get(1)?),
                at: time_from_sql(&r.get::<_, String>(2)?, "agent_status_log", &key)?,
                from: agent_state_from_sql(&r.get::<_, String>(3)?, &key)?,
                to: agent_state_from_sql(&r.get::<_, String>(4)?, &key)?,
                reason: r.get(5)?,
                cause: cause_from_sql(&r.get::<_, String>(6)?, &key)?,
                detail: r.get(7)?,
                mode: r
                    .get::<_, Option<String>>(8)?
                    .map(|m| answer_mode_from_sql(&m, "agent_status_log", &key))
                    .transpose()?,
                call: r.get::<_, Option<i64>>(9)?.map(CallId),
                fallback: r.get(10)?,
                offline_answering: r.get(11)?,
            });
        }
        Ok(out)
    }
}

/// Validates and inserts an agent and, with a SIP password, their softphone device.
/// Run it inside a transaction: it writes two rows.
pub(super) fn insert_agent(conn: &Connection, a: &NewAgent) -> Result<AgentId, StoreError> {
    check_agent_number(&a.number)?;
    check_name("name", &a.name)?;
    check_password("web_password", &a.web_password)?;
    if let Some(p) = &a.sip_password {
        check_password("sip_password", p)?;
    }
    if let Some(n) = &a.direct_number {
        check_direct_number(n)?;
    } else if a.answer_mode == AnswerMode::Direct || a.offline_answering || a.allow_fallback {
        return Err(invalid(
            "direct_number",
            "required by the direct answer mode, offline answering and fallback".into(),
        ));
    }
    if a.answer_mode == AnswerMode::Softphone && a.sip_password.is_none() {
        return Err(invalid(
            "sip_password",
            "required by the softphone answer mode (it is the softphone's login)".into(),
        ));
    }

    let taken: Option<String> = conn
        .query_row(
            "SELECT name FROM agents WHERE number = ?1",
            params![a.number],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(name) = taken {
        return Err(invalid(
            "number",
            format!("agent number {:?} is taken (by {name})", a.number),
        ));
    }
    if let Some(d) = a.bound_device {
        let exists: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM devices WHERE id = ?1)",
            params![d.0],
            |r| r.get(0),
        )?;
        if !exists {
            return Err(invalid(
                "bound_device",
                format!("device {} does not exist", d.0),
            ));
        }
        refuse_softphone(conn, d)?;
        let holder: Option<String> = conn
            .query_row(
                "SELECT number FROM agents WHERE bound_device_id = ?1",
                params![d.0],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(holder) = holder {
            return Err(invalid(
                "bound_device",
                format!("device {} is already bound to agent {holder}", d.0),
            ));
        }
    }

    if a.sip_password.is_some() {
        let clash: Option<i64> = conn
            .query_row(
                "SELECT id FROM devices WHERE user = ?1",
                params![a.number],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(device) = clash {
            return Err(invalid(
                "number",
                format!(
                    "the softphone login would be device user {:?}, which device {device} has",
                    a.number
                ),
            ));
        }
    }

    // Hashed after the checks (a refusal costs nothing) and before the first write, so
    // the write lock is not held while argon2 works.
    let web_hash = hash_password(&a.web_password)?;
    let now = time_to_sql(&Utc::now());
    let mut softphone = None;
    if let Some(sip_password) = &a.sip_password {
        conn.execute(
            "INSERT INTO devices (user, password, name, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                a.number,
                sip_password,
                format!("softphone of {}", a.name),
                now
            ],
        )?;
        softphone = Some(conn.last_insert_rowid());
    }
    conn.execute(
        "INSERT INTO agents (number, name, web_password, direct_number, bound_device_id,
             softphone_device_id, answer_mode, offline_answering, allow_fallback,
             confirm_direct, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            a.number,
            a.name,
            web_hash,
            a.direct_number,
            a.bound_device.map(|d| d.0),
            softphone,
            a.answer_mode.as_str(),
            a.offline_answering,
            a.allow_fallback,
            a.confirm_direct,
            now,
        ],
    )?;
    Ok(AgentId(conn.last_insert_rowid()))
}

/// Binds `device` to `agent` (or unbinds with `None`), taking it from any other agent:
/// [`Store::bind_device`], and the writer's `StoreOp::BindDevice` (0000 hot-desking).
/// Run it inside a transaction: it may write two rows.
pub(super) fn bind(
    conn: &Connection,
    agent: AgentId,
    device: Option<DeviceId>,
) -> Result<(), StoreError> {
    require(conn, "agents", "agent", agent.0)?;
    if let Some(d) = device {
        require(conn, "devices", "device", d.0)?;
        refuse_softphone(conn, d)?;
        let moved = conn
            .prepare_cached(
                "UPDATE agents SET bound_device_id = NULL
                 WHERE bound_device_id = ?1 AND id <> ?2",
            )?
            .execute(params![d.0, agent.0])?;
        if moved > 0 {
            log::info!("store: device {} moves to agent {}", d.0, agent.0);
        }
    }
    conn.prepare_cached("UPDATE agents SET bound_device_id = ?2 WHERE id = ?1")?
        .execute(params![agent.0, device.map(|d| d.0)])?;
    Ok(())
}

/// A skill group's values as its columns hold them, once checked.
pub(super) struct GroupColumns<'a> {
    pub ring: i64,
    pub wrap_up: i64,
    pub max_wait: Option<i64>,
    pub announce: Option<i64>,
    pub overflow_group: Option<i64>,
    pub overflow_number: Option<&'a str>,
}

/// Checks a group's values; `own` is the group being changed (it may not overflow
/// into itself).
pub(super) fn checked_group<'a>(
    conn: &Connection,
    g: &'a NewGroup,
    own: Option<GroupId>,
) -> Result<GroupColumns<'a>, StoreError> {
    check_name("name", &g.name)?;
    let ring = whole_secs("ring_timeout", g.ring_timeout, 5, 300)?;
    let wrap_up = whole_secs("wrap_up", g.wrap_up, 0, 3600)?;
    let max_wait = g
        .max_wait
        .map(|d| whole_secs("max_wait", d, 10, 86_400))
        .transpose()?;
    let announce = g
        .announce_every
        .map(|d| whole_secs("announce_every", d, 10, 3600))
        .transpose()?;
    if g.max_no_answer > 100 {
        return Err(invalid(
            "max_no_answer",
            format!("expected 0-100, got {}", g.max_no_answer),
        ));
    }
    let (overflow_group, overflow_number) = match &g.overflow {
        Overflow::Hangup => (None, None),
        Overflow::Group(to) if Some(*to) == own => {
            return Err(invalid(
                "overflow",
                "a group cannot overflow into itself".into(),
            ));
        }
        Overflow::Group(to) => {
            let exists: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM skill_groups WHERE id = ?1)",
                params![to.0],
                |r| r.get(0),
            )?;
            if !exists {
                return Err(invalid(
                    "overflow",
                    format!("group {} does not exist", to.0),
                ));
            }
            (Some(to.0), None)
        }
        Overflow::Number(n) => {
            if !is_dialable(n) {
                return Err(invalid(
                    "overflow",
                    format!(
                        "expected an extension or phone number (digits, or + and 8-15 digits), \
                         got {n:?}"
                    ),
                ));
            }
            (None, Some(n.as_str()))
        }
    };
    Ok(GroupColumns {
        ring,
        wrap_up,
        max_wait,
        announce,
        overflow_group,
        overflow_number,
    })
}

/// The refusal of a taken group name.
pub(super) fn group_name_taken(e: rusqlite::Error, name: &str) -> StoreError {
    if StoreError::is_unique_violation(&e) {
        invalid(
            "name",
            format!("a skill group named {name:?} already exists"),
        )
    } else {
        StoreError::Sqlite(e)
    }
}

/// Validates and inserts a skill group.
pub(super) fn insert_group(conn: &Connection, g: &NewGroup) -> Result<GroupId, StoreError> {
    let c = checked_group(conn, g, None)?;
    conn.execute(
        "INSERT INTO skill_groups (name, strategy, ring_timeout_secs, max_no_answer,
             wrap_up_secs, max_wait_secs, overflow, overflow_group_id, overflow_number,
             join_empty, leave_empty, announce_every_secs, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            g.name,
            g.strategy.as_str(),
            c.ring,
            g.max_no_answer,
            c.wrap_up,
            c.max_wait,
            overflow_word(&g.overflow),
            c.overflow_group,
            c.overflow_number,
            g.join_empty,
            g.leave_empty,
            c.announce,
            time_to_sql(&Utc::now()),
        ],
    )
    .map_err(|e| group_name_taken(e, &g.name))?;
    Ok(GroupId(conn.last_insert_rowid()))
}

/// Adds a membership, or changes its level.
pub(super) fn insert_member(
    conn: &Connection,
    group: GroupId,
    agent: AgentId,
    level: u32,
) -> Result<(), StoreError> {
    if level == 0 {
        return Err(invalid("level", "expected 1 or more, got 0".into()));
    }
    require(conn, "skill_groups", "skill group", group.0)?;
    require(conn, "agents", "agent", agent.0)?;
    conn.execute(
        "INSERT INTO group_members (group_id, agent_id, level) VALUES (?1, ?2, ?3)
         ON CONFLICT (group_id, agent_id) DO UPDATE SET level = excluded.level",
        params![group.0, agent.0, level],
    )?;
    Ok(())
}

/// Validates `reasons` and makes them the whole list. Run it inside a transaction.
pub(super) fn replace_busy_reasons(conn: &Connection, reasons: &[&str]) -> Result<(), StoreError> {
    let mut clean: Vec<&str> = Vec::with_capacity(reasons.len());
    for reason in reasons {
        let r = reason.trim();
        let chars = r.chars().count();
        if chars == 0 || chars > MAX_REASON_CHARS {
            return Err(invalid(
                "busy_reasons",
                format!("expected 1-{MAX_REASON_CHARS} characters, got {reason:?}"),
            ));
        }
        if clean.contains(&r) {
            return Err(invalid("busy_reasons", format!("{r:?} is listed twice")));
        }
        clean.push(r);
    }
    conn.execute("DELETE FROM busy_reasons", [])?;
    let mut stmt =
        conn.prepare_cached("INSERT INTO busy_reasons (reason, position) VALUES (?1, ?2)")?;
    for (position, reason) in clean.iter().enumerate() {
        stmt.execute(params![reason, i64::try_from(position).unwrap_or(i64::MAX)])?;
    }
    Ok(())
}

/// The argon2id PHC string of `password`, with default parameters and a fresh salt.
pub(super) fn hash_password(password: &str) -> Result<String, StoreError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(StoreError::PasswordHash)
}

pub(super) fn overflow_word(o: &Overflow) -> &'static str {
    match o {
        Overflow::Hangup => "hangup",
        Overflow::Group(_) => "group",
        Overflow::Number(_) => "number",
    }
}

pub(super) fn invalid(field: &'static str, message: String) -> StoreError {
    StoreError::Invalid { field, message }
}

/// `NotFound` unless `table` has a row with this id. `table` is one of ours, never
/// the caller's text.
pub(super) fn require(
    conn: &Connection,
    table: &str,
    what: &'static str,
    id: i64,
) -> Result<(), StoreError> {
    let sql = format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE id = ?1)");
    let exists: bool = conn
        .prepare_cached(&sql)?
        .query_row(params![id], |r| r.get(0))?;
    if exists {
        Ok(())
    } else {
        Err(StoreError::NotFound {
            what,
            value: id.to_string(),
        })
    }
}

/// An agent's softphone login is theirs alone, never someone's desk phone.
pub(super) fn refuse_softphone(conn: &Connection, device: DeviceId) -> Result<(), StoreError> {
    let owner: Option<String> = conn
        .query_row(
            "SELECT number FROM agents WHERE softphone_device_id = ?1",
            params![device.0],
            |r| r.get(0),
        )
        .optional()?;
    match owner {
        Some(owner) => Err(invalid(
            "bound_device",
            format!(
                "device {} is the softphone login of agent {owner}",
                device.0
            ),
        )),
        None => Ok(()),
    }
}

pub(super) fn check_agent_number(n: &str) -> Result<(), StoreError> {
    if (1..=16).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(invalid(
            "number",
            format!("expected 1-16 digits, got {n:?}"),
        ))
    }
}

/// E.164 (`+` then 8-15 digits) or national digits (5-20); no spaces or dashes, so
/// the number is dialled exactly as stored.
pub(super) fn check_direct_number(n: &str) -> Result<(), StoreError> {
    let digits = |s: &str, lo: usize, hi: usize| {
        (lo..=hi).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    let ok = match n.strip_prefix('+') {
        Some(rest) => digits(rest, 8, 15),
        None => digits(n, 5, 20),
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "direct_number",
            format!("expected E.164 (+8613800138000) or national digits, got {n:?}"),
        ))
    }
}

/// An extension (1-20 digits) or an E.164 number.
pub(super) fn is_dialable(n: &str) -> bool {
    let (rest, lo, hi) = match n.strip_prefix('+') {
        Some(rest) => (rest, 8, 15),
        None => (n, 1, 20),
    };
    (lo..=hi).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_digit())
}

pub(super) fn check_name(field: &'static str, name: &str) -> Result<(), StoreError> {
    let chars = name.chars().count();
    if name.trim().is_empty() {
        Err(invalid(field, "must not be empty".into()))
    } else if chars > MAX_NAME_CHARS {
        Err(invalid(
            field,
            format!("expected at most {MAX_NAME_CHARS} characters, got {chars}"),
        ))
    } else {
        Ok(())
    }
}

/// Passwords are never echoed in the message, only their length.
pub(super) fn check_password(field: &'static str, password: &str) -> Result<(), StoreError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        Err(invalid(
            field,
            format!("expected at least {MIN_PASSWORD_CHARS} characters, got {chars}"),
        ))
    } else {
        Ok(())
    }
}

/// A duration as whole seconds within `lo..=hi`.
pub(super) fn whole_secs(
    field: &'static str,
    d: Duration,
    lo: u64,
    hi: u64,
) -> Result<i64, StoreError> {
    if d.subsec_nanos() == 0 && (lo..=hi).contains(&d.as_secs()) {
        Ok(secs_to_sql(d))
    } else {
        Err(invalid(
            field,
            format!("expected {lo}-{hi} whole seconds, got {d:?}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_checked_without_spaces_or_dashes() {
        assert!(check_agent_number("8001").is_ok());
        assert!(check_agent_number("").is_err());
        assert!(check_agent_number("12345678901234567").is_err());
        assert!(check_agent_number("80 1").is_err());
        for ok in ["+8613800138000", "13800138000", "01012345"] {
            assert!(check_direct_number(ok).is_ok(), "{ok}");
        }
        for bad in ["12ab", "+86", "138-0013-8000", "138 0013 8000", "1234", "+"] {
            assert!(check_direct_number(bad).is_err(), "{bad}");
        }
        let err = check_direct_number("12ab").unwrap_err().to_string();
        assert_eq!(
            err,
            "direct_number: expected E.164 (+8613800138000) or national digits, got \"12ab\""
        );
        assert!(is_dialable("1002") && is_dialable("+8613800138000"));
        assert!(!is_dialable("") && !is_dialable("+123") && !is_dialable("10 02"));
    }

    #[test]
    fn durations_must_be_whole_seconds_in_range() {
        assert_eq!(
            whole_secs("ring_timeout", Duration::from_secs(20), 5, 300).unwrap(),
            20
        );
        assert!(whole_secs("ring_timeout", Duration::from_secs(4), 5, 300).is_err());
        assert!(whole_secs("ring_timeout", Duration::from_millis(5500), 5, 300).is_err());
        let err = whole_secs("wrap_up", Duration::from_secs(3601), 0, 3600).unwrap_err();
        assert!(err.to_string().starts_with("wrap_up: "), "{err}");
    }

    #[test]
    fn names_and_passwords() {
        assert!(check_name("name", "张三").is_ok());
        assert!(check_name("name", " ").is_err());
        assert!(check_name("name", &"字".repeat(65)).is_err());
        assert!(check_password("web_password", "12345").is_err());
        assert!(check_password("web_password", "123456").is_ok());
    }
}
