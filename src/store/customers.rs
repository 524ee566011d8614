//! Customers the ACD must know about (VIP callers go first in a queue; a PIN lets
//! "transfer to verification" check who is calling) and prompts an admin replaced
//! with recordings of their own.
//!
//! All are read into the directory, so a change reaches the running switchboard
//! within a second (the 0005 triggers bump the directory version).
//!
//! The tricky part is the PIN: it is stored only as an argon2id PHC string, and it is
//! checked by the switchboard's call-routing thread while the customer waits on the
//! line, so the hash uses light parameters ([`PIN_M_COST_KIB`], [`PIN_T_COST`],
//! [`PIN_P_COST`]: a few milliseconds) rather than the web passwords' defaults. The
//! digits never appear in an error, a log line or the database.

use std::path::Path;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use rusqlite::params;

use super::rows::time_to_sql;
use super::{Store, StoreError};
use crate::core::Language;

/// The longest prompt name; names are the files of `sounds/<language>/`.
const MAX_PROMPT_NAME: usize = 64;

/// The fewest and most digits of a customer's PIN.
const PIN_DIGITS: std::ops::RangeInclusive<usize> = 4..=12;

/// argon2id memory for a PIN hash, in KiB. Light on purpose: a PIN is verified inside
/// the call-routing thread during a live call and must take a few milliseconds, not
/// the ~50 ms of the web passwords' defaults (19 MiB, t=2). A PIN has so few digits
/// that no cost makes a stolen hash safe; what protects it is keeping the database
/// file private and the IVR's limited tries.
pub const PIN_M_COST_KIB: u32 = 4096;
/// argon2id passes for a PIN hash (see [`PIN_M_COST_KIB`]).
pub const PIN_T_COST: u32 = 1;
/// argon2id lanes for a PIN hash (see [`PIN_M_COST_KIB`]).
pub const PIN_P_COST: u32 = 1;

impl Store {
    /// Marks the customer calling from `number` as a VIP (or not), creating the
    /// customer when new.
    pub fn set_customer_vip(&mut self, number: &str, vip: bool) -> Result<(), StoreError> {
        let number = check_customer_number(number)?;
        self.conn.execute(
            "INSERT INTO customers (number, vip, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (number) DO UPDATE SET vip = excluded.vip",
            params![number, vip, time_to_sql(&chrono::Utc::now())],
        )?;
        Ok(())
    }

    /// Gives the customer calling from `number` a verification PIN of 4-12 digits
    /// (replacing any PIN they had), creating the customer when new. Only its argon2id
    /// hash is stored, with the light parameters of [`PIN_M_COST_KIB`] so that
    /// [`verify_pin`] is quick enough for a live call. A malformed number or PIN is
    /// [`StoreError::Invalid`] naming `number` or `pin` (without echoing the digits).
    pub fn set_customer_pin(&mut self, number: &str, pin: &str) -> Result<(), StoreError> {
        let number = check_customer_number(number)?;
        check_pin(pin)?;
        // Hashed before the write, so the write lock is not held while argon2 works.
        let hash = hash_pin(pin)?;
        self.conn.execute(
            "INSERT INTO customers (number, pin_hash, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (number) DO UPDATE SET pin_hash = excluded.pin_hash",
            params![number, hash, time_to_sql(&chrono::Utc::now())],
        )?;
        Ok(())
    }

    /// Removes the PIN of the customer calling from `number`: they can no longer be
    /// verified by PIN. True when they had one; an unknown customer is not an error.
    pub fn clear_customer_pin(&mut self, number: &str) -> Result<bool, StoreError> {
        let number = check_customer_number(number)?;
        let changed = self.conn.execute(
            "UPDATE customers SET pin_hash = NULL WHERE number = ?1 AND pin_hash IS NOT NULL",
            params![number],
        )?;
        Ok(changed > 0)
    }

    /// Plays `file` (under the data directory) wherever prompt `name` in `language`
    /// would play. The caller has checked that the file decodes.
    pub fn set_prompt_file(
        &mut self,
        language: Language,
        name: &str,
        file: &Path,
        seconds: f64,
    ) -> Result<(), StoreError> {
        let valid = !name.is_empty()
            && name.len() <= MAX_PROMPT_NAME
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(StoreError::Invalid {
                field: "name",
                message: format!("expected a prompt name of a-z, 0-9 and _, got {name:?}"),
            });
        }
        let stored = super::write::stored_path(&self.data_dir, file);
        self.conn.execute(
            "INSERT INTO prompts (language, name, file, seconds, uploaded_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (language, name) DO UPDATE SET
                 file = excluded.file, seconds = excluded.seconds,
                 uploaded_at = excluded.uploaded_at",
            params![
                language.as_str(),
                name,
                stored,
                seconds,
                time_to_sql(&chrono::Utc::now())
            ],
        )?;
        Ok(())
    }

    /// Goes back to the built-in prompt.
    pub fn clear_prompt_file(&mut self, language: Language, name: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "DELETE FROM prompts WHERE language = ?1 AND name = ?2",
            params![language.as_str(), name],
        )?;
        Ok(())
    }

    /// The language the callers of service `number` hear prompts in.
    pub fn set_service_number_language(
        &mut self,
        number: &str,
        language: Language,
    ) -> Result<(), StoreError> {
        let changed = self.conn.execute(
            "UPDATE service_numbers SET language = ?2 WHERE number = ?1",
            params![number, language.as_str()],
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: "service number",
                value: format!("{number:?}"),
            });
        }
        Ok(())
    }

    /// The data directory recordings and uploaded prompts live under.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}

/// True when `digits` is the PIN whose hash is `pin_hash` (a PHC string as
/// [`Store::set_customer_pin`] stores it and `Directory::customer_pin` hands out);
/// false for wrong digits, digits that could never be a PIN, and a hash that does not
/// parse. Pure and quick (a few milliseconds: the parameters are read from the hash),
/// so the switchboard may call the same check during a live call; `core` cannot import
/// the store, so it repeats these few lines.
pub fn verify_pin(pin_hash: &str, digits: &str) -> bool {
    // Not a PIN at all: refused without spending argon2's time on it.
    if check_pin(digits).is_err() {
        return false;
    }
    Argon2::default()
        .verify_password(digits.as_bytes(), pin_hash)
        .is_ok()
}

/// A customer's number as the carrier sends it: digits and an optional +, at most 32.
fn check_customer_number(number: &str) -> Result<&str, StoreError> {
    let number = number.trim();
    if number.is_empty()
        || number.len() > 32
        || !number.chars().all(|c| c.is_ascii_digit() || c == '+')
    {
        return Err(StoreError::Invalid {
            field: "number",
            message: format!("expected a phone number (digits, an optional +), got {number:?}"),
        });
    }
    Ok(number)
}

/// 4-12 ASCII digits. The message gives the length only, never the digits.
fn check_pin(pin: &str) -> Result<(), StoreError> {
    let len = pin.chars().count();
    let message = if !pin.bytes().all(|b| b.is_ascii_digit()) {
        format!("expected 4-12 digits (0-9), got {len} characters that are not all digits")
    } else if !PIN_DIGITS.contains(&len) {
        format!("expected 4-12 digits, got {len}")
    } else {
        return Ok(());
    };
    Err(StoreError::Invalid {
        field: "pin",
        message,
    })
}

/// The argon2id PHC string of `pin` with the light PIN parameters and a fresh salt.
fn hash_pin(pin: &str) -> Result<String, StoreError> {
    let params = Params::new(PIN_M_COST_KIB, PIN_T_COST, PIN_P_COST, None)
        .map_err(|e| StoreError::PasswordHash(e.into()))?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(pin.as_bytes())
        .map(|h| h.to_string())
        .map_err(StoreError::PasswordHash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_4_to_12_digits_and_errors_never_echo_them() {
        for ok in ["0000", "123456", "123456789012"] {
            assert!(check_pin(ok).is_ok(), "{ok}");
        }
        for bad in ["", "123", "1234567890123", "12a4", "12 34", "１２３４"] {
            let err = check_pin(bad).unwrap_err().to_string();
            assert!(err.starts_with("pin: "), "{err}");
            assert!(bad.is_empty() || !err.contains(bad), "{err}");
        }
    }

    #[test]
    fn a_pin_hash_is_light_argon2id_and_verifies_only_its_digits() {
        let hash = hash_pin("4321").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=4096,t=1,p=1$"), "{hash}");
        assert!(!hash.contains("4321"), "{hash}");
        assert!(verify_pin(&hash, "4321"));
        assert!(!verify_pin(&hash, "4322"));
        assert!(!verify_pin(&hash, "43210"));
        assert!(!verify_pin(&hash, ""));
        assert!(!verify_pin("not a hash", "4321"));
        // A fresh salt each time.
        assert_ne!(hash, hash_pin("4321").unwrap());
    }
}
