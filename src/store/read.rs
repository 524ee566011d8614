//! Every read: the routing directory (devices, trunks, service numbers, agents,
//! skill groups, IVR flows, busy reasons, customers' VIP marks and PIN hashes), call
//! rows and their trail, an agent's own calls, and the audit log.
//!
//! Reads never change the database and may run on any connection while the writer
//! writes (WAL). A row holding a value we never write is a `BadRow` error naming the
//! table and key rather than a silently skipped device or trunk: routing around a
//! damaged row would be a harder puzzle for the operator than a clear refusal.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};

use super::flows::exit_from_sql;
use super::rows::{
    answer_mode_from_sql, bad, codecs_from_sql, direction_from_sql, event_kind_from_sql,
    hangup_by_from_sql, language_from_sql, peers_from_sql, secs_from_sql, sip_code_from_sql,
    strategy_from_sql, time_from_sql, time_to_sql, u32_from_sql,
};
use super::{Store, StoreError};
use crate::core::ivr::FlowId;
use crate::core::{
    Agent, AgentId, AuditRecord, CallEventRecord, CallId, CallRecord, CustomerPin, Device,
    DeviceId, Directory, GroupId, Language, Membership, Overflow, PromptFile, ServiceNumber,
    SkillGroup, Trunk, TrunkId, TrunkRegistration,
};

pub(super) const CALL_COLUMNS: &str =
    "id, direction, from_number, to_number, service_number, device_id,
    trunk_id, sip_call_id, started_at, answered_at, ended_at, hangup_by, end_cause, sip_code,
    recording, agent_id, group_id, wait_secs, hold_secs, survey_score";

impl Store {
    /// Devices, trunks, service numbers, agents (with their memberships), skill groups,
    /// IVR flows and busy reasons, for routing. Each list is in id order (service
    /// numbers by number, busy reasons in their shown order).
    pub fn load_directory(&self, outbound_prefix: &str) -> Result<Directory, StoreError> {
        // One read transaction, so an admin change committed half-way through the
        // reads (an agent and its membership) is seen whole or not at all. Dropping
        // it ends it; nothing was written.
        let _snapshot = self.conn.unchecked_transaction()?;
        let devices = self
            .conn
            .prepare("SELECT id, user, password, name, static_contact FROM devices ORDER BY id")?
            .query_map([], |r| {
                Ok(Device {
                    id: DeviceId(r.get(0)?),
                    user: r.get(1)?,
                    password: r.get(2)?,
                    name: r.get(3)?,
                    static_contact: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;

        let mut trunks = Vec::new();
        let mut stmt = self.conn.prepare(
            "SELECT id, name, host, inbound_peers, outbound_proxy, register_user,
                 register_password, register_expires, caller_id, codecs
             FROM trunks ORDER BY id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            trunks.push(trunk_from_row(r)?);
        }

        let mut service_numbers = Vec::new();
        let mut stmt = self.conn.prepare(
            "SELECT number, trunk_id, device_id, group_id, priority, language, flow_id
             FROM service_numbers ORDER BY number",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            service_numbers.push(service_number_from_row(r)?);
        }

        Ok(Directory {
            devices,
            trunks,
            service_numbers,
            agents: self.load_agents()?,
            groups: self.load_groups()?,
            flows: self.load_flows()?,
            customer_pins: self
                .conn
                .prepare(
                    "SELECT number, pin_hash FROM customers WHERE pin_hash IS NOT NULL
                     ORDER BY number",
                )?
                .query_map([], |r| {
                    Ok(CustomerPin {
                        number: r.get(0)?,
                        pin_hash: r.get(1)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?,
            busy_reasons: self
                .conn
                .prepare("SELECT reason FROM busy_reasons ORDER BY position")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<_>, _>>()?,
            vip_numbers: self
                .conn
                .prepare("SELECT number FROM customers WHERE vip = 1 ORDER BY number")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<_>, _>>()?,
            prompt_files: self.load_prompt_files()?,
            outbound_prefix: outbound_prefix.to_owned(),
        })
    }

    /// Prompts replaced by uploads, with their files made absolute.
    fn load_prompt_files(&self) -> Result<Vec<PromptFile>, StoreError> {
        let mut out = Vec::new();
        let mut stmt = self
            .conn
            .prepare("SELECT language, name, file FROM prompts ORDER BY language, name")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let lang: String = r.get(0)?;
            let name: String = r.get(1)?;
            let language = Language::parse(&lang).ok_or_else(|| StoreError::BadRow {
                table: "prompts",
                key: format!("{lang}/{name}"),
                what: format!("unknown language {lang:?}"),
            })?;
            let file: String = r.get(2)?;
            out.push(PromptFile {
                language,
                name,
                file: self.data_dir.join(file),
            });
        }
        Ok(out)
    }

    /// Agents in id order, each with their memberships in group order.
    fn load_agents(&self) -> Result<Vec<Agent>, StoreError> {
        let mut agents = Vec::new();
        let mut stmt = self.conn.prepare(
            "SELECT id, number, name, direct_number, bound_device_id, softphone_device_id,
                 answer_mode, offline_answering, allow_fallback, confirm_direct, supervisor
             FROM agents ORDER BY id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            agents.push(Agent {
                id: AgentId(id),
                number: r.get(1)?,
                name: r.get(2)?,
                direct_number: r.get(3)?,
                bound_device: r.get::<_, Option<i64>>(4)?.map(DeviceId),
                softphone: r.get::<_, Option<i64>>(5)?.map(DeviceId),
                answer_mode: answer_mode_from_sql(
                    &r.get::<_, String>(6)?,
                    "agents",
                    &format!("id {id}"),
                )?,
                offline_answering: r.get(7)?,
                allow_fallback: r.get(8)?,
                confirm_direct: r.get(9)?,
                supervisor: r.get(10)?,
                groups: Vec::new(),
            });
        }
        let mut stmt = self.conn.prepare(
            "SELECT agent_id, group_id, level FROM group_members ORDER BY agent_id, group_id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let (agent, group): (i64, i64) = (r.get(0)?, r.get(1)?);
            let key = format!("group {group} agent {agent}");
            let level = u32_from_sql(r.get(2)?, "group_members", &key, "level")?;
            // Foreign keys guarantee the agent; agents are sorted by id.
            let i = agents.binary_search_by_key(&AgentId(agent), |a| a.id);
            if let Some(a) = i.ok().and_then(|i| agents.get_mut(i)) {
                a.groups.push(Membership {
                    group: GroupId(group),
                    level,
                });
            }
        }
        Ok(agents)
    }

    /// Skill groups in id order.
    fn load_groups(&self) -> Result<Vec<SkillGroup>, StoreError> {
        let mut groups = Vec::new();
        let mut stmt = self.conn.prepare(
            "SELECT id, name, strategy, ring_timeout_secs, max_no_answer, wrap_up_secs,
                 max_wait_secs, overflow, overflow_group_id, overflow_number, join_empty,
                 leave_empty, announce_every_secs, exit_key, exit_flow_id
             FROM skill_groups ORDER BY id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            groups.push(group_from_row(r)?);
        }
        Ok(groups)
    }

    /// A number that moves whenever devices, trunks, service numbers, agents, groups,
    /// busy reasons, IVR flows, customers or prompts change (the triggers of migrations
    /// 0003 to 0005): poll it to know when to reload the directory.
    pub fn directory_version(&self) -> Result<i64, StoreError> {
        let text: String = self.conn.query_row(
            "SELECT value FROM settings WHERE key = 'directory_version'",
            [],
            |r| r.get(0),
        )?;
        Ok(text.parse().unwrap_or(0))
    }

    /// The id for the next call: one past the highest stored, at least 1.
    pub fn next_call_id(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT coalesce(max(id), 0) + 1 FROM calls", [], |r| {
                r.get(0)
            })?)
    }

    pub fn call(&self, id: CallId) -> Result<Option<CallRecord>, StoreError> {
        let sql = format!("SELECT {CALL_COLUMNS} FROM calls WHERE id = ?1");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params![id.0])?;
        rows.next()?.map(call_from_row).transpose()
    }

    /// The call's trail in `seq` order.
    pub fn call_events(&self, id: CallId) -> Result<Vec<CallEventRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT call_id, seq, at, kind, party, sip_code, detail
             FROM call_events WHERE call_id = ?1 ORDER BY seq",
        )?;
        let mut rows = stmt.query(params![id.0])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let key = format!("call {} seq {}", r.get::<_, i64>(0)?, r.get::<_, i64>(1)?);
            out.push(CallEventRecord {
                call: CallId(r.get(0)?),
                seq: r.get(1)?,
                at: time_from_sql(&r.get::<_, String>(2)?, "call_events", &key)?,
                kind: event_kind_from_sql(&r.get::<_, String>(3)?, &key)?,
                party: r.get(4)?,
                sip_code: sip_code_from_sql(r.get(5)?, "call_events", &key)?,
                detail: r.get(6)?,
            });
        }
        Ok(out)
    }

    /// The newest `limit` calls, newest first.
    pub fn recent_calls(&self, limit: usize) -> Result<Vec<CallRecord>, StoreError> {
        let sql =
            format!("SELECT {CALL_COLUMNS} FROM calls ORDER BY started_at DESC, id DESC LIMIT ?1");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = stmt.query(params![limit])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(call_from_row(r)?);
        }
        Ok(out)
    }

    /// The calls the agent with this number took or made ("My calls"), newest first:
    /// those started at or after `since` and before `until` (either bound may be left
    /// open), at most `limit`. An unknown agent number is [`StoreError::NotFound`].
    pub fn agent_calls(
        &self,
        agent_number: &str,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        limit: usize,
    ) -> Result<Vec<CallRecord>, StoreError> {
        let Some((agent, _)) = self.agent_by_number(agent_number)? else {
            return Err(StoreError::NotFound {
                what: "agent",
                value: format!("{agent_number:?}"),
            });
        };
        // Times are fixed-width text, so text comparison is time comparison.
        let sql = format!(
            "SELECT {CALL_COLUMNS} FROM calls
             WHERE agent_id = ?1 AND (?2 IS NULL OR started_at >= ?2)
                 AND (?3 IS NULL OR started_at < ?3)
             ORDER BY started_at DESC, id DESC LIMIT ?4"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = stmt.query(params![
            agent.0,
            since.as_ref().map(time_to_sql),
            until.as_ref().map(time_to_sql),
            limit
        ])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(call_from_row(r)?);
        }
        Ok(out)
    }

    /// The newest `limit` lines of the audit log (who listened to, whispered into or
    /// barged into which call), newest first.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, at, actor, action, call_id, detail FROM audit_log
             ORDER BY at DESC, id DESC LIMIT ?1",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = stmt.query(params![limit])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let key = format!("id {}", r.get::<_, i64>(0)?);
            out.push(AuditRecord {
                at: time_from_sql(&r.get::<_, String>(1)?, "audit_log", &key)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                call: r.get::<_, Option<i64>>(4)?.map(CallId),
                detail: r.get(5)?,
            });
        }
        Ok(out)
    }

    /// The calls a previous run left open that name a recording, with the file's path
    /// (under the data directory): what to repair before
    /// [`Store::close_interrupted_calls`] closes them.
    pub fn open_recorded_calls(&self) -> Result<Vec<(CallId, std::path::PathBuf)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, recording FROM calls
             WHERE ended_at IS NULL AND recording IS NOT NULL ORDER BY id",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let path: String = r.get(1)?;
            out.push((CallId(r.get(0)?), self.data_dir.join(path)));
        }
        Ok(out)
    }

    /// The seconds of audio recorded at `path`, once the media room has closed it.
    pub fn recording_seconds(&self, path: &std::path::Path) -> Result<Option<f64>, StoreError> {
        let stored = super::write::stored_path(&self.data_dir, path);
        Ok(self
            .conn
            .query_row(
                "SELECT seconds FROM recordings WHERE path = ?1",
                params![stored],
                |r| r.get::<_, Option<f64>>(0),
            )
            .optional()?
            .flatten())
    }
}

fn trunk_from_row(r: &Row<'_>) -> Result<Trunk, StoreError> {
    let id: i64 = r.get(0)?;
    let key = format!("id {id}");
    let register = match (
        r.get::<_, Option<String>>(5)?,
        r.get::<_, Option<String>>(6)?,
    ) {
        (Some(user), Some(password)) => {
            let expires: Option<i64> = r.get(7)?;
            let expires_secs =
                expires
                    .and_then(|e| u32::try_from(e).ok())
                    .ok_or_else(|| StoreError::BadRow {
                        table: "trunks",
                        key: key.clone(),
                        what: format!("register_expires {expires:?}"),
                    })?;
            Some(TrunkRegistration {
                user,
                password,
                expires_secs,
            })
        }
        _ => None,
    };
    Ok(Trunk {
        id: TrunkId(id),
        name: r.get(1)?,
        host: r.get(2)?,
        inbound_peers: peers_from_sql(&r.get::<_, String>(3)?, &key)?,
        outbound_proxy: r.get(4)?,
        register,
        caller_id: r.get(8)?,
        codecs: codecs_from_sql(&r.get::<_, String>(9)?, &key)?,
    })
}

pub(super) fn call_from_row(r: &Row<'_>) -> Result<CallRecord, StoreError> {
    let id: i64 = r.get(0)?;
    let key = format!("id {id}");
    let time = |i: usize| -> Result<Option<_>, StoreError> {
        r.get::<_, Option<String>>(i)?
            .map(|s| time_from_sql(&s, "calls", &key))
            .transpose()
    };
    Ok(CallRecord {
        id: CallId(id),
        direction: direction_from_sql(&r.get::<_, String>(1)?, &key)?,
        from_number: r.get(2)?,
        to_number: r.get(3)?,
        service_number: r.get(4)?,
        device: r.get::<_, Option<i64>>(5)?.map(DeviceId),
        trunk: r.get::<_, Option<i64>>(6)?.map(TrunkId),
        sip_call_id: r.get(7)?,
        started_at: time_from_sql(&r.get::<_, String>(8)?, "calls", &key)?,
        answered_at: time(9)?,
        ended_at: time(10)?,
        hangup_by: r
            .get::<_, Option<String>>(11)?
            .map(|s| hangup_by_from_sql(&s, &key))
            .transpose()?,
        end_cause: r.get(12)?,
        sip_code: sip_code_from_sql(r.get(13)?, "calls", &key)?,
        recording: r.get::<_, Option<String>>(14)?.map(Into::into),
        agent: r.get::<_, Option<i64>>(15)?.map(AgentId),
        group: r.get::<_, Option<i64>>(16)?.map(GroupId),
        wait_secs: r
            .get::<_, Option<i64>>(17)?
            .map(|w| u32_from_sql(w, "calls", &key, "wait_secs"))
            .transpose()?,
        hold_secs: u32_from_sql(r.get(18)?, "calls", &key, "hold_secs")?,
        survey_score: r
            .get::<_, Option<i64>>(19)?
            .map(|s| {
                u8::try_from(s)
                    .ok()
                    .filter(|s| *s <= 9)
                    .ok_or_else(|| bad("calls", &key, format!("survey_score {s}")))
            })
            .transpose()?,
    })
}

fn service_number_from_row(r: &Row<'_>) -> Result<ServiceNumber, StoreError> {
    let number: String = r.get(0)?;
    let key = format!("number {number:?}");
    let priority: i64 = r.get(4)?;
    let priority = u8::try_from(priority)
        .ok()
        .filter(|p| *p <= 9)
        .ok_or_else(|| bad("service_numbers", &key, format!("priority {priority}")))?;
    Ok(ServiceNumber {
        trunk: TrunkId(r.get(1)?),
        device: r.get::<_, Option<i64>>(2)?.map(DeviceId),
        group: r.get::<_, Option<i64>>(3)?.map(GroupId),
        flow: r.get::<_, Option<i64>>(6)?.map(FlowId),
        priority,
        language: language_from_sql(&r.get::<_, String>(5)?, &key)?,
        number,
    })
}

fn group_from_row(r: &Row<'_>) -> Result<SkillGroup, StoreError> {
    let id: i64 = r.get(0)?;
    let key = format!("id {id}");
    let secs = |i: usize, column: &str| -> Result<_, StoreError> {
        secs_from_sql(r.get(i)?, "skill_groups", &key, column)
    };
    let maybe_secs = |i: usize, column: &str| -> Result<_, StoreError> {
        r.get::<_, Option<i64>>(i)?
            .map(|v| secs_from_sql(v, "skill_groups", &key, column))
            .transpose()
    };
    let overflow_kind: String = r.get(7)?;
    let overflow = match (
        overflow_kind.as_str(),
        r.get::<_, Option<i64>>(8)?,
        r.get::<_, Option<String>>(9)?,
    ) {
        ("hangup", _, _) => Overflow::Hangup,
        ("group", Some(group), _) => Overflow::Group(GroupId(group)),
        // The overflow group was removed (ON DELETE SET NULL): nowhere left to go.
        ("group", None, _) => Overflow::Hangup,
        ("number", _, Some(number)) => Overflow::Number(number),
        (other, group, number) => {
            return Err(bad(
                "skill_groups",
                &key,
                format!("overflow {other:?} (group {group:?}, number {number:?})"),
            ));
        }
    };
    Ok(SkillGroup {
        id: GroupId(id),
        name: r.get(1)?,
        strategy: strategy_from_sql(&r.get::<_, String>(2)?, &key)?,
        ring_timeout: secs(3, "ring_timeout_secs")?,
        max_no_answer: u32_from_sql(r.get(4)?, "skill_groups", &key, "max_no_answer")?,
        wrap_up: secs(5, "wrap_up_secs")?,
        max_wait: maybe_secs(6, "max_wait_secs")?,
        overflow,
        join_empty: r.get(10)?,
        leave_empty: r.get(11)?,
        announce_every: maybe_secs(12, "announce_every_secs")?,
        exit: exit_from_sql(r.get(13)?, r.get(14)?, &key)?,
    })
}
