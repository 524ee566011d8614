//! Admin reads and changes of trunks, service numbers and uploaded prompts, for the
//! admin console (`api/lines/`); IVR flows are in `flows.rs`.
//!
//! Every write validates each field first and names the one it refuses
//! ([`StoreError::Invalid`]); a taken name or number is [`StoreError::Duplicate`], a
//! row that is not there [`StoreError::NotFound`]. A trunk that service numbers still
//! use is not removed: [`Removal::InUse`] names them, so the admin can move them first
//! (the schema would refuse it anyway: `service_numbers.trunk_id` has no `ON DELETE`).
//!
//! Must not touch the prompt rows' writes (`customers.rs` owns `set_prompt_file` and
//! `clear_prompt_file`); it only reads them back with their lengths.

use std::net::IpAddr;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::agents::{check_name, invalid, require};
use super::rows::{
    codecs_from_sql, codecs_to_sql, language_from_sql, peers_from_sql, peers_to_sql, time_from_sql,
};
use super::write::duplicate;
use super::{NewTrunk, Store, StoreError};
use crate::core::ivr::FlowId;
use crate::core::{DeviceId, GroupId, Language, Trunk, TrunkId, TrunkRegistration};

/// The most inbound peers one trunk lists.
pub const MAX_PEERS: usize = 32;
/// The shortest and longest registration interval to a carrier, in seconds.
pub const REGISTER_EXPIRES: std::ops::RangeInclusive<u32> = 60..=86_400;

/// What removing a row did: removed it, or left it because these still use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    Removed,
    /// The service numbers (or other users, in words) that still point at it.
    InUse(Vec<String>),
}

/// A trunk with the service numbers that come in through it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrunkInfo {
    pub trunk: Trunk,
    pub numbers: Vec<String>,
}

/// A service number to add, or to replace one with.
#[derive(Debug, Clone, PartialEq)]
pub struct NewServiceNumber {
    /// Digits with an optional leading `+`, as the carrier sends it (1-32).
    pub number: String,
    pub trunk: TrunkId,
    /// Where callers go: the flow first, else the group's queue, else the device. At
    /// least one must be set.
    pub flow: Option<FlowId>,
    pub group: Option<GroupId>,
    pub device: Option<DeviceId>,
    /// 0-9: callers of higher priority are served first in a queue.
    pub priority: u8,
    pub language: Language,
}

/// A service number with the names of what it points at.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceNumberInfo {
    pub number: String,
    pub trunk: (TrunkId, String),
    pub flow: Option<(FlowId, String)>,
    pub group: Option<(GroupId, String)>,
    /// The device and its user name (its extension).
    pub device: Option<(DeviceId, String)>,
    pub priority: u8,
    pub language: Language,
}

/// A prompt replaced by an upload.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadedPrompt {
    pub language: Language,
    pub name: String,
    /// Absolute (the row keeps it relative to the data directory).
    pub file: PathBuf,
    pub seconds: f64,
    pub uploaded_at: DateTime<Utc>,
}

impl Store {
    /// Every trunk in id order, each with the service numbers it brings in.
    pub fn trunks(&self) -> Result<Vec<TrunkInfo>, StoreError> {
        let mut stmt = self.conn.prepare(&format!("{TRUNK_SELECT} ORDER BY id"))?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let trunk = trunk_row(r)?;
            let numbers = numbers_of_trunk(&self.conn, trunk.id)?;
            out.push(TrunkInfo { trunk, numbers });
        }
        Ok(out)
    }

    /// The trunk `id`, if there is one.
    pub fn trunk(&self, id: TrunkId) -> Result<Option<TrunkInfo>, StoreError> {
        let trunk = self
            .conn
            .query_row(
                &format!("{TRUNK_SELECT} WHERE id = ?1"),
                params![id.0],
                |r| Ok(trunk_row(r)),
            )
            .optional()?
            .transpose()?;
        match trunk {
            Some(trunk) => Ok(Some(TrunkInfo {
                numbers: numbers_of_trunk(&self.conn, trunk.id)?,
                trunk,
            })),
            None => Ok(None),
        }
    }

    /// Adds a trunk (`id` none) or replaces trunk `id` whole, after checking every field
    /// ([`check_trunk`]). A taken name is [`StoreError::Duplicate`].
    pub fn save_trunk(&mut self, id: Option<TrunkId>, t: &NewTrunk) -> Result<TrunkId, StoreError> {
        check_trunk(t)?;
        let Some(id) = id else {
            return self.add_trunk(t);
        };
        let reg = t.register.as_ref();
        let changed = self
            .conn
            .execute(
                "UPDATE trunks SET name = ?2, host = ?3, inbound_peers = ?4, outbound_proxy = ?5,
                     register_user = ?6, register_password = ?7, register_expires = ?8,
                     caller_id = ?9, codecs = ?10
                 WHERE id = ?1",
                params![
                    id.0,
                    t.name,
                    t.host,
                    peers_to_sql(&t.inbound_peers),
                    t.outbound_proxy,
                    reg.map(|r| &r.user),
                    reg.map(|r| &r.password),
                    reg.map(|r| r.expires_secs),
                    t.caller_id,
                    codecs_to_sql(&t.codecs),
                ],
            )
            .map_err(|e| duplicate(e, "trunk name", &t.name))?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: "trunk",
                value: id.0.to_string(),
            });
        }
        Ok(id)
    }

    /// Removes trunk `id`, unless service numbers still come in through it.
    pub fn remove_trunk(&mut self, id: TrunkId) -> Result<Removal, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        require(&tx, "trunks", "trunk", id.0)?;
        let numbers = numbers_of_trunk(&tx, id)?;
        if !numbers.is_empty() {
            return Ok(Removal::InUse(numbers));
        }
        tx.execute("DELETE FROM trunks WHERE id = ?1", params![id.0])?;
        tx.commit()?;
        Ok(Removal::Removed)
    }

    /// Every service number, in number order, with the names of what it points at.
    pub fn service_numbers(&self) -> Result<Vec<ServiceNumberInfo>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!("{NUMBER_SELECT} ORDER BY s.number"))?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(number_row(r)?);
        }
        Ok(out)
    }

    /// The service number `number`, if there is one.
    pub fn service_number(&self, number: &str) -> Result<Option<ServiceNumberInfo>, StoreError> {
        self.conn
            .query_row(
                &format!("{NUMBER_SELECT} WHERE s.number = ?1"),
                params![number],
                |r| Ok(number_row(r)),
            )
            .optional()?
            .transpose()
    }

    /// Adds a service number (`old` none) or replaces the number `old` whole (which
    /// may rename it). Fields are checked first; the trunk, flow, group and device
    /// must exist ([`StoreError::NotFound`] names which); a number already taken is
    /// [`StoreError::Duplicate`].
    pub fn save_service_number(
        &mut self,
        old: Option<&str>,
        n: &NewServiceNumber,
    ) -> Result<(), StoreError> {
        check_service_number(n)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        require(&tx, "trunks", "trunk", n.trunk.0)?;
        if let Some(f) = n.flow {
            require(&tx, "ivr_flows", "IVR flow", f.0)?;
        }
        if let Some(g) = n.group {
            require(&tx, "skill_groups", "skill group", g.0)?;
        }
        if let Some(d) = n.device {
            require(&tx, "devices", "device", d.0)?;
        }
        let changed = match old {
            None => tx.execute(
                "INSERT INTO service_numbers (number, trunk_id, device_id, group_id, priority,
                     language, flow_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    n.number,
                    n.trunk.0,
                    n.device.map(|d| d.0),
                    n.group.map(|g| g.0),
                    n.priority,
                    n.language.as_str(),
                    n.flow.map(|f| f.0),
                ],
            ),
            Some(old) => tx.execute(
                "UPDATE service_numbers SET number = ?1, trunk_id = ?2, device_id = ?3,
                     group_id = ?4, priority = ?5, language = ?6, flow_id = ?7
                 WHERE number = ?8",
                params![
                    n.number,
                    n.trunk.0,
                    n.device.map(|d| d.0),
                    n.group.map(|g| g.0),
                    n.priority,
                    n.language.as_str(),
                    n.flow.map(|f| f.0),
                    old,
                ],
            ),
        }
        .map_err(|e| duplicate(e, "service number", &n.number))?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: "service number",
                value: format!("{:?}", old.unwrap_or_default()),
            });
        }
        tx.commit()?;
        Ok(())
    }

    /// Removes the service number `number`; calls to it are refused from then on.
    pub fn remove_service_number(&mut self, number: &str) -> Result<(), StoreError> {
        let changed = self.conn.execute(
            "DELETE FROM service_numbers WHERE number = ?1",
            params![number],
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: "service number",
                value: format!("{number:?}"),
            });
        }
        Ok(())
    }

    /// The names of the skill groups, by id (for the labels of queue nodes).
    pub fn group_names(&self) -> Result<Vec<(GroupId, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, name FROM skill_groups ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((GroupId(r.get(0)?), r.get(1)?)))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Every prompt an admin replaced with an upload, by language and name.
    pub fn uploaded_prompts(&self) -> Result<Vec<UploadedPrompt>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT language, name, file, seconds, uploaded_at FROM prompts
             ORDER BY language, name",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let language: String = r.get(0)?;
            let name: String = r.get(1)?;
            let key = format!("{language}/{name}");
            let language = Language::parse(&language).ok_or_else(|| StoreError::BadRow {
                table: "prompts",
                key: key.clone(),
                what: format!("unknown language {language:?}"),
            })?;
            let file: String = r.get(2)?;
            out.push(UploadedPrompt {
                language,
                name,
                file: self.data_dir.join(file),
                seconds: r.get(3)?,
                uploaded_at: time_from_sql(&r.get::<_, String>(4)?, "prompts", &key)?,
            });
        }
        Ok(out)
    }
}

const TRUNK_SELECT: &str = "SELECT id, name, host, inbound_peers, outbound_proxy, register_user,
     register_password, register_expires, caller_id, codecs FROM trunks";

const NUMBER_SELECT: &str = "SELECT s.number, s.trunk_id, t.name, s.flow_id, f.name, s.group_id,
     g.name, s.device_id, d.user, s.priority, s.language
     FROM service_numbers s JOIN trunks t ON t.id = s.trunk_id
     LEFT JOIN ivr_flows f ON f.id = s.flow_id
     LEFT JOIN skill_groups g ON g.id = s.group_id
     LEFT JOIN devices d ON d.id = s.device_id";

fn numbers_of_trunk(conn: &Connection, trunk: TrunkId) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT number FROM service_numbers WHERE trunk_id = ?1 ORDER BY number")?;
    let rows = stmt.query_map(params![trunk.0], |r| r.get(0))?;
    Ok(rows.collect::<Result<Vec<String>, _>>()?)
}

fn trunk_row(r: &Row<'_>) -> Result<Trunk, StoreError> {
    let id: i64 = r.get(0)?;
    let key = format!("id {id}");
    let user: Option<String> = r.get(5)?;
    let password: Option<String> = r.get(6)?;
    let expires: Option<i64> = r.get(7)?;
    let register = match (user, password, expires) {
        (Some(user), Some(password), Some(e)) => Some(TrunkRegistration {
            user,
            password,
            expires_secs: u32::try_from(e).map_err(|_| StoreError::BadRow {
                table: "trunks",
                key: key.clone(),
                what: format!("register_expires {e}"),
            })?,
        }),
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

fn number_row(r: &Row<'_>) -> Result<ServiceNumberInfo, StoreError> {
    let number: String = r.get(0)?;
    let key = format!("number {number:?}");
    let pair = |id: usize| -> rusqlite::Result<Option<(i64, String)>> {
        Ok(
            match (
                r.get::<_, Option<i64>>(id)?,
                r.get::<_, Option<String>>(id + 1)?,
            ) {
                (Some(id), Some(name)) => Some((id, name)),
                _ => None,
            },
        )
    };
    let priority: i64 = r.get(9)?;
    let priority = u8::try_from(priority)
        .ok()
        .filter(|p| *p <= 9)
        .ok_or_else(|| super::rows::bad("service_numbers", &key, format!("priority {priority}")))?;
    Ok(ServiceNumberInfo {
        trunk: (TrunkId(r.get(1)?), r.get(2)?),
        flow: pair(3)?.map(|(id, n)| (FlowId(id), n)),
        group: pair(5)?.map(|(id, n)| (GroupId(id), n)),
        device: pair(7)?.map(|(id, n)| (DeviceId(id), n)),
        priority,
        language: language_from_sql(&r.get::<_, String>(10)?, &key)?,
        number,
    })
}

/// Every field of a trunk: a name, a `host[:port]` to send calls to, at most
/// [`MAX_PEERS`] distinct inbound peers, an outbound proxy that is a `sip:` URI,
/// registration credentials that are whole, a caller id that is a phone number (or
/// none), and at least one codec, each once.
pub fn check_trunk(t: &NewTrunk) -> Result<(), StoreError> {
    check_name("name", &t.name)?;
    check_host("host", &t.host)?;
    if t.inbound_peers.len() > MAX_PEERS {
        return Err(invalid(
            "inbound_peers",
            format!(
                "expected at most {MAX_PEERS} addresses, got {}",
                t.inbound_peers.len()
            ),
        ));
    }
    let mut seen: Vec<IpAddr> = Vec::new();
    for p in &t.inbound_peers {
        if seen.contains(p) {
            return Err(invalid("inbound_peers", format!("{p} is listed twice")));
        }
        if p.is_unspecified() || p.is_multicast() {
            return Err(invalid(
                "inbound_peers",
                format!("{p} is not the address of one carrier"),
            ));
        }
        seen.push(*p);
    }
    if let Some(proxy) = &t.outbound_proxy {
        let rest = proxy
            .strip_prefix("sip:")
            .or_else(|| proxy.strip_prefix("sips:"));
        match rest {
            Some(rest) => check_host("outbound_proxy", rest.split(';').next().unwrap_or(""))?,
            None => {
                return Err(invalid(
                    "outbound_proxy",
                    format!("expected a SIP URI such as sip:proxy.example.com:5060, got {proxy:?}"),
                ));
            }
        }
    }
    if let Some(reg) = &t.register {
        let user_ok = (1..=64).contains(&reg.user.chars().count())
            && !reg
                .user
                .chars()
                .any(|c| c.is_whitespace() || c == '@' || c == ':');
        if !user_ok {
            return Err(invalid(
                "register_user",
                format!(
                    "expected a user name of 1-64 characters without spaces, @ or :, got {:?}",
                    reg.user
                ),
            ));
        }
        let chars = reg.password.chars().count();
        if !(1..=128).contains(&chars) || reg.password.chars().any(char::is_control) {
            return Err(invalid(
                "register_password",
                format!("expected 1-128 printable characters, got {chars} characters"),
            ));
        }
        if !REGISTER_EXPIRES.contains(&reg.expires_secs) {
            return Err(invalid(
                "register_expires",
                format!(
                    "expected {}-{} seconds, got {}",
                    REGISTER_EXPIRES.start(),
                    REGISTER_EXPIRES.end(),
                    reg.expires_secs
                ),
            ));
        }
    }
    if !t.caller_id.is_empty() && !is_phone_number(&t.caller_id) {
        return Err(invalid(
            "caller_id",
            format!(
                "expected a phone number (digits, an optional leading +), got {:?}",
                t.caller_id
            ),
        ));
    }
    if t.codecs.is_empty() {
        return Err(invalid(
            "codecs",
            "expected at least one of PCMU, PCMA".into(),
        ));
    }
    if t.codecs
        .iter()
        .enumerate()
        .any(|(i, c)| t.codecs[..i].contains(c))
    {
        return Err(invalid("codecs", "each codec may be listed once".into()));
    }
    Ok(())
}

/// `host[:port]`: a DNS name, an IPv4 address, or an IPv6 address in brackets, and a
/// port 1-65535.
fn check_host(field: &'static str, s: &str) -> Result<(), StoreError> {
    let refuse = || {
        Err(invalid(
            field,
            format!("expected host[:port] such as sip.carrier.cn:5060 or 192.0.2.1, got {s:?}"),
        ))
    };
    if s.is_empty() || s.len() > 255 {
        return refuse();
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return refuse();
        };
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return refuse();
        }
        match after {
            "" => (v6, None),
            _ => match after.strip_prefix(':') {
                Some(p) => (v6, Some(p)),
                None => return refuse(),
            },
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let name_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b':')
        && !host.starts_with(['.', '-'])
        && !host.ends_with('-');
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    if name_ok && port_ok { Ok(()) } else { refuse() }
}

/// Digits with an optional leading `+`, 1-32 characters in all.
pub fn is_phone_number(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or(s);
    !digits.is_empty() && s.len() <= 32 && digits.bytes().all(|b| b.is_ascii_digit())
}

fn check_service_number(n: &NewServiceNumber) -> Result<(), StoreError> {
    if !is_phone_number(&n.number) {
        return Err(invalid(
            "number",
            format!(
                "expected the number as the carrier sends it (digits, an optional leading +, \
                 at most 32), got {:?}",
                n.number
            ),
        ));
    }
    if n.priority > 9 {
        return Err(invalid(
            "priority",
            format!("expected 0-9, got {}", n.priority),
        ));
    }
    if n.flow.is_none() && n.group.is_none() && n.device.is_none() {
        return Err(invalid(
            "flow_id",
            "a service number needs somewhere to send its callers: an IVR flow (flow_id), a \
             skill group's queue (group_id) or a device (device_id)"
                .into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Codec;

    fn trunk() -> NewTrunk {
        NewTrunk {
            name: "电信".into(),
            host: "sip.carrier.cn:5060".into(),
            inbound_peers: vec!["192.0.2.7".parse().unwrap()],
            outbound_proxy: None,
            register: None,
            caller_id: "+862112345678".into(),
            codecs: vec![Codec::Pcma, Codec::Pcmu],
        }
    }

    fn field_of(r: Result<(), StoreError>) -> &'static str {
        match r {
            Err(StoreError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn trunk_fields_are_checked_one_by_one() {
        assert!(check_trunk(&trunk()).is_ok());
        for host in [
            "192.0.2.1",
            "[2001:db8::1]:5060",
            "carrier-1.example.com:5080",
        ] {
            assert!(
                check_trunk(&NewTrunk {
                    host: host.into(),
                    ..trunk()
                })
                .is_ok(),
                "{host}"
            );
        }
        for host in ["", "a b", "sip:x", "x:0", "x:70000", "[::1", "-x", "x;y"] {
            let t = NewTrunk {
                host: host.into(),
                ..trunk()
            };
            assert_eq!(field_of(check_trunk(&t)), "host", "{host:?}");
        }
        let t = NewTrunk {
            outbound_proxy: Some("proxy:5060".into()),
            ..trunk()
        };
        assert_eq!(field_of(check_trunk(&t)), "outbound_proxy");
        let t = NewTrunk {
            outbound_proxy: Some("sip:proxy:5060;lr".into()),
            ..trunk()
        };
        assert!(check_trunk(&t).is_ok());
        let peer: IpAddr = "192.0.2.7".parse().unwrap();
        let t = NewTrunk {
            inbound_peers: vec![peer, peer],
            ..trunk()
        };
        assert_eq!(field_of(check_trunk(&t)), "inbound_peers");
        let t = NewTrunk {
            codecs: vec![],
            ..trunk()
        };
        assert_eq!(field_of(check_trunk(&t)), "codecs");
        let t = NewTrunk {
            codecs: vec![Codec::Pcmu, Codec::Pcmu],
            ..trunk()
        };
        assert_eq!(field_of(check_trunk(&t)), "codecs");
        let t = NewTrunk {
            caller_id: "400-800".into(),
            ..trunk()
        };
        assert_eq!(field_of(check_trunk(&t)), "caller_id");
        let reg = |user: &str, password: &str, expires_secs| TrunkRegistration {
            user: user.into(),
            password: password.into(),
            expires_secs,
        };
        for (r, field) in [
            (reg("", "pw", 3600), "register_user"),
            (reg("a b", "pw", 3600), "register_user"),
            (reg("u", "", 3600), "register_password"),
            (reg("u", "pw", 10), "register_expires"),
        ] {
            let t = NewTrunk {
                register: Some(r),
                ..trunk()
            };
            assert_eq!(field_of(check_trunk(&t)), field);
        }
    }

    #[test]
    fn phone_numbers_are_digits_with_an_optional_plus() {
        for ok in ["4008001234", "+8613800138000", "1"] {
            assert!(is_phone_number(ok), "{ok}");
        }
        for no in [
            "",
            "+",
            "400 800",
            "400-800",
            "'; DROP TABLE x",
            &"1".repeat(33),
        ] {
            assert!(!is_phone_number(no), "{no}");
        }
    }
}
