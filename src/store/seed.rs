//! The demo set-up a fresh database gets, so `make run` is usable at once: two
//! softphone logins, a carrier, and a service number.
//!
//! It runs only on a database that has never held a device, trunk or service number,
//! and never twice (a `settings` flag), so deleting the demo devices keeps them gone.
//!
//! The tricky part is the demo carrier's address: 192.0.2.1 (TEST-NET-1, RFC 5737)
//! reaches no one. A loopback address would make every local softphone look like the
//! carrier, because trunks are recognised by source address.

use rand::distr::{Alphanumeric, SampleString};
use rusqlite::{OptionalExtension, params};

use super::rows::{codecs_to_sql, time_to_sql};
use super::{Store, StoreError};
use crate::core::Codec;

/// The demo devices' user names (also their extensions).
pub const DEMO_USERS: [&str; 2] = ["1001", "1002"];
pub const DEMO_TRUNK_NAME: &str = "demo carrier";
pub const DEMO_TRUNK_HOST: &str = "192.0.2.1:5060";
pub const DEMO_SERVICE_NUMBER: &str = "4008001234";
const DEMO_PEER: &str = "192.0.2.1";
const SEEDED_KEY: &str = "demo_seeded";

/// What was seeded, for the daemon to print.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoSeed {
    /// (user, password) of each demo device.
    pub devices: Vec<(String, String)>,
    pub trunk_host: String,
    pub service_number: String,
}

impl Store {
    /// Seeds the demo devices, trunk and service number on a database that has never
    /// had any. Returns what it seeded, or `None` when it did nothing.
    pub fn seed_demo_if_empty(&mut self) -> Result<Option<DemoSeed>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let seeded: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM settings WHERE key = ?1)
                 OR EXISTS (SELECT 1 FROM devices)
                 OR EXISTS (SELECT 1 FROM trunks)
                 OR EXISTS (SELECT 1 FROM service_numbers)",
            params![SEEDED_KEY],
            |r| r.get(0),
        )?;
        if seeded {
            return Ok(None);
        }
        let now = time_to_sql(&chrono::Utc::now());
        let mut devices = Vec::new();
        let mut first_device = None;
        for user in DEMO_USERS {
            let password = Alphanumeric.sample_string(&mut rand::rng(), 10);
            tx.execute(
                "INSERT INTO devices (user, password, name, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![user, password, format!("Demo phone {user}"), now],
            )?;
            first_device.get_or_insert(tx.last_insert_rowid());
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
        tx.execute(
            "INSERT INTO service_numbers (number, trunk_id, device_id) VALUES (?1, ?2, ?3)",
            params![DEMO_SERVICE_NUMBER, trunk, first_device],
        )?;
        tx.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)",
            params![SEEDED_KEY, now],
        )?;
        tx.commit()?;
        log::info!("store: seeded the demo devices {}", DEMO_USERS.join(", "));
        Ok(Some(DemoSeed {
            devices,
            trunk_host: DEMO_TRUNK_HOST.to_owned(),
            service_number: DEMO_SERVICE_NUMBER.to_owned(),
        }))
    }

    /// The demo logins as they stand now (an admin may have changed or removed them),
    /// so the daemon can print them at every start; `None` when the database was never
    /// seeded or no demo device is left.
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
        if devices.is_empty() {
            return Ok(None);
        }
        Ok(Some(DemoSeed {
            devices,
            trunk_host: DEMO_TRUNK_HOST.to_owned(),
            service_number: DEMO_SERVICE_NUMBER.to_owned(),
        }))
    }
}
