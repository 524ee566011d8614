//! The demo set-up a fresh database gets, so `make run` is usable at once: two
//! softphone logins, a carrier, a service number whose menu (an IVR flow) leads to one
//! of two skill groups, and two agents in both, each bound to one of the phones and
//! with a softphone login of their own.
//!
//! It runs only on a database that has never held a device, trunk, service number,
//! agent, group or flow, and never twice (a `settings` flag), so deleting the demo
//! devices keeps them gone. All of it is one transaction: a crash leaves all or
//! nothing. The groups, agents and flow go through the same checks as an admin's.
//!
//! The tricky parts: the demo carrier's address, 192.0.2.1 (TEST-NET-1, RFC 5737),
//! reaches no one; a loopback address would make every local softphone look like the
//! carrier, because trunks are recognised by source address. And the demo agents' web
//! passwords: agents store only a hash, but the logins are printed whenever callbox
//! runs in a terminal, so the demo agents' (and only theirs) plaintext passwords are
//! kept in `settings` too, no worse than the demo devices' SIP passwords which
//! `devices` holds in plaintext anyway. Each is kept beside the hash it was seeded
//! with, so once the password changes it is no longer printed.

use std::time::Duration;

use rand::distr::{Alphanumeric, SampleString};
use rusqlite::{Connection, OptionalExtension, params};

use super::agents::{
    NewAgent, NewGroup, insert_agent, insert_group, insert_member, replace_busy_reasons,
};
use super::flows::{NewFlow, insert_flow, set_exit};
use super::rows::{codecs_to_sql, time_to_sql};
use super::{Store, StoreError};
use crate::core::ivr::{Choice, FlowId, Node, NodeId, NodeKind};
use crate::core::{AnswerMode, Codec, DeviceId, GroupId, Language, Overflow, Strategy};

/// The demo devices' user names (also their extensions).
pub const DEMO_USERS: [&str; 2] = ["1001", "1002"];
pub const DEMO_TRUNK_NAME: &str = "demo carrier";
pub const DEMO_TRUNK_HOST: &str = "192.0.2.1:5060";
pub const DEMO_SERVICE_NUMBER: &str = "4008001234";
/// The demo agents' numbers and names; the first is bound to the first demo device,
/// the second to the second.
pub const DEMO_AGENTS: [(&str, &str); 2] = [("8001", "张三"), ("8002", "李四")];
/// The demo skill groups; the demo flow's menu queues for the first with 1, the
/// second with 2, and the first is also where the service number queues without it.
pub const DEMO_GROUP_NAME: &str = "售前咨询";
pub const DEMO_AFTER_SALES_GROUP_NAME: &str = "售后服务";
/// The demo IVR flow, the demo service number's menu.
pub const DEMO_FLOW_NAME: &str = "默认流程";
pub const DEMO_BUSY_REASONS: [&str; 3] = ["会议", "午餐", "培训"];
const DEMO_PEER: &str = "192.0.2.1";
const SEEDED_KEY: &str = "demo_seeded";
/// Followed by the agent number; the value is `<password> <PHC hash>` (see the head).
const AGENT_PASSWORD_KEY: &str = "demo_agent_password:";

/// What was seeded, for the daemon to print.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoSeed {
    /// (user, password) of each demo device.
    pub devices: Vec<(String, String)>,
    /// (number, name, web password, SIP password of the softphone login) of each demo
    /// agent; the SIP password is empty when the softphone login was removed.
    pub agents: Vec<(String, String, String, String)>,
    pub trunk_host: String,
    pub service_number: String,
}

impl Store {
    /// Seeds the demo devices, trunk, service number, busy reasons, group and agents on
    /// a database that has never had any. Returns what it seeded, or `None` when it did
    /// nothing.
    pub fn seed_demo_if_empty(&mut self) -> Result<Option<DemoSeed>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let seeded: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM settings WHERE key = ?1)
                 OR EXISTS (SELECT 1 FROM devices)
                 OR EXISTS (SELECT 1 FROM trunks)
                 OR EXISTS (SELECT 1 FROM service_numbers)
                 OR EXISTS (SELECT 1 FROM agents)
                 OR EXISTS (SELECT 1 FROM skill_groups)
                 OR EXISTS (SELECT 1 FROM ivr_flows)",
            params![SEEDED_KEY],
            |r| r.get(0),
        )?;
        if seeded {
            return Ok(None);
        }
        let now = time_to_sql(&chrono::Utc::now());
        let mut devices = Vec::new();
        let mut device_ids = Vec::new();
        for user in DEMO_USERS {
            let password = random_password();
            tx.execute(
                "INSERT INTO devices (user, password, name, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![user, password, format!("Demo phone {user}"), now],
            )?;
            device_ids.push(DeviceId(tx.last_insert_rowid()));
            devices.push((user.to_owned(), password));
        }
        tx.execute(
            "INSERT INTO trunks (name, host, inbound_peers, caller_id, codecs, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                DEMO_TRUNK_NAME,
                DEMO_TRUNK_HOST,
                DEMO_PEER,
                DEMO_SERVICE_NUMBER,
                codecs_to_sql(&[Codec::Pcmu, Codec::Pcma]),
                now
            ],
        )?;
        let trunk = tx.last_insert_rowid();
        let agents = seed_call_center(&tx, &device_ids)?;
        let flow = seed_flow(&tx, agents.presales, agents.after_sales)?;
        // The group and the device stay set: the group is queued for if the flow is
        // ever taken off the number, the device rung if the group is too.
        tx.execute(
            "INSERT INTO service_numbers (number, trunk_id, device_id, group_id, priority,
                 language, flow_id)
             VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6)",
            params![
                DEMO_SERVICE_NUMBER,
                trunk,
                device_ids.first().map(|d| d.0),
                agents.presales.0,
                Language::ZhCn.as_str(),
                flow.0
            ],
        )?;
        tx.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)",
            params![SEEDED_KEY, now],
        )?;
        tx.commit()?;
        log::info!(
            "store: seeded the demo devices {}, agents {} and flow {DEMO_FLOW_NAME}",
            DEMO_USERS.join(", "),
            DEMO_AGENTS.map(|(n, _)| n).join(", ")
        );
        Ok(Some(DemoSeed {
            devices,
            agents: agents.logins,
            trunk_host: DEMO_TRUNK_HOST.to_owned(),
            service_number: DEMO_SERVICE_NUMBER.to_owned(),
        }))
    }

    /// The demo logins as they stand now (an admin may have changed or removed them),
    /// so the daemon can print them at every start; `None` when the database was never
    /// seeded or no demo device or agent is left.
    pub fn demo_seed(&self) -> Result<Option<DemoSeed>, StoreError> {
        let seeded = self
            .conn
            .query_row(
                "SELECT 1 FROM settings WHERE key = ?1",
                params![SEEDED_KEY],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if !seeded {
            return Ok(None);
        }
        let mut devices = Vec::new();
        for user in DEMO_USERS {
            let password: Option<String> = self
                .conn
                .query_row(
                    "SELECT password FROM devices WHERE user = ?1",
                    params![user],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(password) = password {
                devices.push((user.to_owned(), password));
            }
        }
        let mut agents = Vec::new();
        for (number, _) in DEMO_AGENTS {
            if let Some(login) = self.demo_agent_login(number)? {
                agents.push(login);
            }
        }
        if devices.is_empty() && agents.is_empty() {
            return Ok(None);
        }
        Ok(Some(DemoSeed {
            devices,
            agents,
            trunk_host: DEMO_TRUNK_HOST.to_owned(),
            service_number: DEMO_SERVICE_NUMBER.to_owned(),
        }))
    }

    /// A demo agent's (number, name, web password, SIP password), while the agent
    /// exists and still has the web password it was seeded with.
    fn demo_agent_login(
        &self,
        number: &str,
    ) -> Result<Option<(String, String, String, String)>, StoreError> {
        let Some((name, hash, sip_password)) = self
            .conn
            .query_row(
                "SELECT a.name, a.web_password, d.password
                 FROM agents a LEFT JOIN devices d ON d.id = a.softphone_device_id
                 WHERE a.number = ?1",
                params![number],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                    ))
                },
            )
            .optional()?
        else {
            return Ok(None);
        };
        let kept: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM settings WHERE key = ?1",
                params![format!("{AGENT_PASSWORD_KEY}{number}")],
                |r| r.get(0),
            )
            .optional()?;
        // Comparing the hashes is cheap; verifying the password again would not be.
        let Some(password) = kept.as_deref().and_then(|v| {
            v.split_once(' ')
                .filter(|(_, seeded)| *seeded == hash)
                .map(|(p, _)| p.to_owned())
        }) else {
            return Ok(None);
        };
        Ok(Some((
            number.to_owned(),
            name,
            password,
            sip_password.unwrap_or_default(),
        )))
    }
}

/// What [`seed_call_center`] made.
struct SeededAgents {
    presales: GroupId,
    after_sales: GroupId,
    logins: Vec<(String, String, String, String)>,
}

/// The settings of both demo groups.
fn demo_group(name: &str) -> NewGroup {
    NewGroup {
        strategy: Strategy::LongestIdle,
        ring_timeout: Duration::from_secs(20),
        max_no_answer: 3,
        wrap_up: Duration::from_secs(10),
        max_wait: Some(Duration::from_secs(300)),
        overflow: Overflow::Hangup,
        join_empty: true,
        leave_empty: false,
        announce_every: Some(Duration::from_secs(45)),
        ..NewGroup::new(name)
    }
}

/// The busy reasons, the two demo groups and their two agents (members of both), each
/// bound to one of `devices` with a softphone login of their own.
fn seed_call_center(conn: &Connection, devices: &[DeviceId]) -> Result<SeededAgents, StoreError> {
    replace_busy_reasons(conn, &DEMO_BUSY_REASONS)?;
    let presales = insert_group(conn, &demo_group(DEMO_GROUP_NAME))?;
    let after_sales = insert_group(conn, &demo_group(DEMO_AFTER_SALES_GROUP_NAME))?;
    let mut logins = Vec::new();
    for ((number, name), device) in DEMO_AGENTS.into_iter().zip(devices) {
        let web_password = random_password();
        let sip_password = random_password();
        let agent = insert_agent(
            conn,
            &NewAgent {
                number: number.to_owned(),
                name: name.to_owned(),
                web_password: web_password.clone(),
                sip_password: Some(sip_password.clone()),
                direct_number: None,
                bound_device: Some(*device),
                answer_mode: AnswerMode::Device,
                offline_answering: false,
                allow_fallback: false,
                confirm_direct: true,
            },
        )?;
        insert_member(conn, presales, agent, 1)?;
        insert_member(conn, after_sales, agent, 1)?;
        let hash: String = conn.query_row(
            "SELECT web_password FROM agents WHERE id = ?1",
            params![agent.0],
            |r| r.get(0),
        )?;
        conn.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)",
            params![
                format!("{AGENT_PASSWORD_KEY}{number}"),
                format!("{web_password} {hash}")
            ],
        )?;
        logins.push((
            number.to_owned(),
            name.to_owned(),
            web_password,
            sip_password,
        ));
    }
    Ok(SeededAgents {
        presales,
        after_sales,
        logins,
    })
}

/// The demo menu: 1 queues for `presales`, 2 for `after_sales`; no key (8 s) or a
/// wrong one is asked again twice, then the caller queues for `presales`. A caller
/// waiting in `presales` gets back to the menu with `*` (the prompt `exit_key_hint`
/// says so).
fn seed_flow(
    conn: &Connection,
    presales: GroupId,
    after_sales: GroupId,
) -> Result<FlowId, StoreError> {
    let node = |id, kind| Node {
        id: NodeId(id),
        kind,
    };
    let flow = insert_flow(
        conn,
        &NewFlow {
            name: DEMO_FLOW_NAME.to_owned(),
            start: NodeId(1),
            nodes: vec![
                node(
                    1,
                    NodeKind::Menu {
                        prompts: vec!["welcome_menu".to_owned()],
                        choices: vec![
                            Choice {
                                key: '1',
                                next: NodeId(2),
                            },
                            Choice {
                                key: '2',
                                next: NodeId(3),
                            },
                        ],
                        timeout_secs: 8,
                        retries: 2,
                        fail: Some(NodeId(2)),
                    },
                ),
                node(2, NodeKind::Queue { group: presales }),
                node(3, NodeKind::Queue { group: after_sales }),
            ],
        },
    )?;
    set_exit(conn, presales, Some(('*', flow)))?;
    Ok(flow)
}

/// Ten letters and digits: easy to type into a softphone, about 60 bits.
fn random_password() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 10)
}
