//! Every read: the routing directory, call rows and their trail.
//!
//! Reads never change the database and may run on any connection while the writer
//! writes (WAL). A row holding a value we never write is a `BadRow` error naming the
//! table and key rather than a silently skipped device or trunk: routing around a
//! damaged row would be a harder puzzle for the operator than a clear refusal.

use rusqlite::{OptionalExtension, Row, params};

use super::rows::{
    codecs_from_sql, direction_from_sql, event_kind_from_sql, hangup_by_from_sql, peers_from_sql,
    sip_code_from_sql, time_from_sql,
};
use super::{Store, StoreError};
use crate::core::{
    CallEventRecord, CallId, CallRecord, Device, DeviceId, Directory, ServiceNumber, Trunk,
    TrunkId, TrunkRegistration,
};

const CALL_COLUMNS: &str = "id, direction, from_number, to_number, service_number, device_id,
    trunk_id, sip_call_id, started_at, answered_at, ended_at, hangup_by, end_cause, sip_code,
    recording";

impl Store {
    /// Devices, trunks and service numbers, for routing.
    pub fn load_directory(&self, outbound_prefix: &str) -> Result<Directory, StoreError> {
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

        let service_numbers = self
            .conn
            .prepare("SELECT number, trunk_id, device_id FROM service_numbers ORDER BY number")?
            .query_map([], |r| {
                Ok(ServiceNumber {
                    number: r.get(0)?,
                    trunk: TrunkId(r.get(1)?),
                    device: r.get::<_, Option<i64>>(2)?.map(DeviceId),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;

        Ok(Directory {
            devices,
            trunks,
            service_numbers,
            outbound_prefix: outbound_prefix.to_owned(),
        })
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

fn call_from_row(r: &Row<'_>) -> Result<CallRecord, StoreError> {
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
    })
}
