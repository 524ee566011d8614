//! Devices (话机) from the console: adding with every field checked, changing any of
//! them, removing one.
//!
//! A device's SIP user is what the phone registers as and what others dial, so it
//! is kept to characters every phone's keypad and config screen can say (letters,
//! digits, `.`, `-`, `_`). The password is SIP digest's and is stored as the
//! registrar needs it (see 0001); it is checked here and never read back by these
//! functions. A static contact (a gateway that never registers) is a `sip:`/`sips:`
//! URI. Removing a device frees whatever pointed at it (agents' desk phone or
//! softphone, a service number): the foreign keys are ON DELETE SET NULL.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::super::agents::invalid;
use super::super::write::duplicate;
use super::super::{NewDevice, Store, StoreError};
use crate::core::DeviceId;

/// A change to a device: `None` keeps a field; `static_contact: Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceChange {
    pub user: Option<String>,
    pub password: Option<String>,
    pub name: Option<String>,
    pub static_contact: Option<Option<String>>,
}

const MAX_USER_CHARS: usize = 32;
const MIN_PASSWORD_CHARS: usize = 6;
const MAX_PASSWORD_CHARS: usize = 64;
const MAX_NAME_CHARS: usize = 64;
const MAX_CONTACT_CHARS: usize = 200;

fn check_user(user: &str) -> Result<(), StoreError> {
    let ok = (1..=MAX_USER_CHARS).contains(&user.len())
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "user",
            format!(
                "expected 1-{MAX_USER_CHARS} of letters, digits, '.', '-' and '_', got {user:?}"
            ),
        ))
    }
}

fn check_password(password: &str) -> Result<(), StoreError> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(invalid(
            "password",
            format!("expected {MIN_PASSWORD_CHARS}-{MAX_PASSWORD_CHARS} characters, got {chars}"),
        ));
    }
    if password.chars().any(char::is_control) {
        return Err(invalid(
            "password",
            "must not hold control characters".into(),
        ));
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), StoreError> {
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(invalid(
            "name",
            format!("expected at most {MAX_NAME_CHARS} characters, got {chars}"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("name", "must not hold control characters".into()));
    }
    Ok(())
}

fn check_contact(contact: &str) -> Result<(), StoreError> {
    let lower = contact.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("sip:")
        .or_else(|| lower.strip_prefix("sips:"))
        .unwrap_or("");
    let ok = !rest.is_empty()
        && contact.len() <= MAX_CONTACT_CHARS
        && contact
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | '"'));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "static_contact",
            format!(
                "expected a SIP URI such as sip:192.168.1.50:5060 (at most {MAX_CONTACT_CHARS} \
                 characters, no spaces), got {contact:?}"
            ),
        ))
    }
}

fn checked(d: &NewDevice) -> Result<(), StoreError> {
    check_user(&d.user)?;
    check_password(&d.password)?;
    check_name(&d.name)?;
    if let Some(c) = &d.static_contact {
        check_contact(c)?;
    }
    Ok(())
}

fn current(conn: &Connection, id: DeviceId) -> Result<NewDevice, StoreError> {
    conn.query_row(
        "SELECT user, password, name, static_contact FROM devices WHERE id = ?1",
        params![id.0],
        |r| {
            Ok(NewDevice {
                user: r.get(0)?,
                password: r.get(1)?,
                name: r.get(2)?,
                static_contact: r.get(3)?,
            })
        },
    )
    .optional()?
    .ok_or_else(|| StoreError::NotFound {
        what: "device",
        value: id.0.to_string(),
    })
}

impl Store {
    /// Adds a device after checking every field ([`StoreError::Invalid`] names the
    /// one refused); a taken user is [`StoreError::Duplicate`].
    pub fn create_device(&mut self, d: &NewDevice) -> Result<DeviceId, StoreError> {
        checked(d)?;
        self.add_device(d)
    }

    /// Changes the device `id` (see [`DeviceChange`]); a registered phone whose user
    /// or password changed must register again with the new ones.
    pub fn change_device(&mut self, id: DeviceId, c: &DeviceChange) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut d = current(&tx, id)?;
        if let Some(u) = &c.user {
            d.user = u.clone();
        }
        if let Some(p) = &c.password {
            d.password = p.clone();
        }
        if let Some(n) = &c.name {
            d.name = n.clone();
        }
        if let Some(s) = &c.static_contact {
            d.static_contact = s.clone();
        }
        checked(&d)?;
        tx.execute(
            "UPDATE devices SET user = ?2, password = ?3, name = ?4, static_contact = ?5
             WHERE id = ?1",
            params![id.0, d.user, d.password, d.name, d.static_contact],
        )
        .map_err(|e| duplicate(e, "device user", &d.user))?;
        tx.commit()?;
        Ok(())
    }

    /// Removes the device `id`; agents and service numbers that used it lose it.
    pub fn remove_device(&mut self, id: DeviceId) -> Result<(), StoreError> {
        let removed = self
            .conn
            .execute("DELETE FROM devices WHERE id = ?1", params![id.0])?;
        if removed == 0 {
            return Err(StoreError::NotFound {
                what: "device",
                value: id.0.to_string(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_fields_are_checked() {
        assert!(check_user("1001").is_ok() && check_user("front-desk_2.a").is_ok());
        for bad in ["", "10 01", "1001@x", "话机", &"1".repeat(33)] {
            assert!(check_user(bad).is_err(), "{bad}");
        }
        assert!(check_password("12345").is_err() && check_password("123456").is_ok());
        assert!(check_password("abc\ndef").is_err());
        assert!(check_contact("sip:192.168.1.50:5060").is_ok());
        assert!(check_contact("SIPS:gw.example;transport=tcp").is_ok());
        for bad in ["192.168.1.50", "sip:", "sip:a b", "sip:<x>"] {
            assert!(check_contact(bad).is_err(), "{bad}");
        }
        assert!(check_name("").is_ok() && check_name(&"名".repeat(65)).is_err());
    }
}
