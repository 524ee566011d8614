//! Customers: what the ACD must know about them (VIP callers go first in a queue; a
//! PIN lets "transfer to verification" check who is calling), their cards (客户资料:
//! name, company, email, address, notes, tags; the screen pop's, S12), and prompts an
//! admin replaced with recordings of their own.
//!
//! VIP marks, PINs and prompts are read into the directory, so a change reaches the
//! running switchboard within a second (triggers bump the directory version); card
//! edits are not routing data and bump nothing (the 0010 triggers fire only when
//! `vip` or `pin_hash` change). A card is keyed by the number exactly as stored.
//!
//! The tricky part is the PIN: it is stored only as an argon2id PHC string, and it is
//! checked by the switchboard's call-routing thread while the customer waits on the
//! line, so the hash uses light parameters ([`PIN_M_COST_KIB`], [`PIN_T_COST`],
//! [`PIN_P_COST`]: a few milliseconds) rather than the web passwords' defaults. The
//! digits never appear in an error, a log line or the database.

use std::path::Path;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Utc};
use rusqlite::{TransactionBehavior, params};

use super::rows::{bad, time_from_sql, time_to_sql};
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

/// A customer card (客户资料) as the screen pop and the customer list show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerCard {
    pub number: String,
    pub name: String,
    pub company: String,
    pub email: String,
    pub address: String,
    pub notes: String,
    pub tags: Vec<String>,
    pub vip: bool,
    pub created_at: DateTime<Utc>,
    /// When the card was last saved (`None`: only a VIP mark or PIN was ever set).
    pub updated_at: Option<DateTime<Utc>>,
    /// Who saved it last (a login name; "" for the command line).
    pub updated_by: String,
}

/// A change to a card: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CardChange {
    pub name: Option<String>,
    pub company: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub notes: Option<String>,
    pub tags: Option<Vec<String>>,
    pub vip: Option<bool>,
}

/// The most characters of each card field, and of the tags.
pub const CARD_NAME_CHARS: usize = 64;
pub const CARD_COMPANY_CHARS: usize = 100;
pub const CARD_EMAIL_CHARS: usize = 254;
pub const CARD_ADDRESS_CHARS: usize = 200;
pub const CARD_NOTES_CHARS: usize = 2000;
pub const CARD_TAGS: usize = 10;
pub const CARD_TAG_CHARS: usize = 16;

const CARD_COLUMNS: &str =
    "number, name, company, email, address, notes, tags, vip, created_at, updated_at, updated_by";

impl Store {
    /// The card of the customer calling from `number` (exactly as stored), if any.
    pub fn customer(&self, number: &str) -> Result<Option<CustomerCard>, StoreError> {
        let number = check_customer_number(number)?;
        let sql = format!("SELECT {CARD_COLUMNS} FROM customers WHERE number = ?1");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params![number])?;
        rows.next()?.map(card_from_row).transpose()
    }

    /// Saves the card of `number` (created when new) with `change` applied, as `by`
    /// (a login name). Every field is checked before anything is written; a refusal
    /// is [`StoreError::Invalid`] naming the field. Text is kept exactly as given.
    pub fn save_customer(
        &mut self,
        number: &str,
        change: &CardChange,
        by: &str,
    ) -> Result<CustomerCard, StoreError> {
        let number = check_customer_number(number)?.to_owned();
        check_card(change)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = time_to_sql(&Utc::now());
        let tags = change
            .tags
            .as_ref()
            .map(|t| serde_json::Value::from(t.clone()).to_string());
        // An absent field keeps the stored value (or the column's default when new).
        tx.execute(
            "INSERT INTO customers (number, name, company, email, address, notes, tags, vip,
                                    created_at, updated_at, updated_by)
             VALUES (?1, coalesce(?2, ''), coalesce(?3, ''), coalesce(?4, ''),
                     coalesce(?5, ''), coalesce(?6, ''), coalesce(?7, '[]'),
                     coalesce(?8, 0), ?9, ?9, ?10)
             ON CONFLICT (number) DO UPDATE SET
                 name = coalesce(?2, name), company = coalesce(?3, company),
                 email = coalesce(?4, email), address = coalesce(?5, address),
                 notes = coalesce(?6, notes), tags = coalesce(?7, tags),
                 vip = coalesce(?8, vip), updated_at = ?9, updated_by = ?10",
            params![
                number,
                change.name,
                change.company,
                change.email,
                change.address,
                change.notes,
                tags,
                change.vip,
                now,
                by
            ],
        )?;
        tx.commit()?;
        self.customer(&number)?.ok_or_else(|| StoreError::NotFound {
            what: "customer",
            value: number.clone(),
        })
    }

    /// Cards whose number, name, company, email, address, notes or tags hold `query`
    /// (every card for ""), most recently saved first: a page of at most `limit`
    /// from `offset`, and how many match in all.
    pub fn customers(
        &self,
        query: &str,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<CustomerCard>, u64), StoreError> {
        // instr, not LIKE: the caller's % and _ are text, not wildcards.
        let filter = "(?1 = '' OR instr(lower(number || ' ' || name || ' ' || company || ' '
                       || email || ' ' || address || ' ' || notes || ' ' || tags),
                       lower(?1)) > 0)";
        let total: i64 = self.conn.query_row(
            &format!("SELECT count(*) FROM customers WHERE {filter}"),
            params![query],
            |r| r.get(0),
        )?;
        let sql = format!(
            "SELECT {CARD_COLUMNS} FROM customers WHERE {filter}
             ORDER BY coalesce(updated_at, created_at) DESC, number LIMIT ?2 OFFSET ?3"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params![
            query,
            i64::try_from(limit).unwrap_or(i64::MAX),
            i64::try_from(offset).unwrap_or(i64::MAX)
        ])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(card_from_row(r)?);
        }
        Ok((out, u64::try_from(total).unwrap_or(0)))
    }
}

fn card_from_row(r: &rusqlite::Row<'_>) -> Result<CustomerCard, StoreError> {
    let number: String = r.get(0)?;
    let key = format!("number {number:?}");
    let tags_text: String = r.get(6)?;
    let tags = serde_json::from_str::<Vec<String>>(&tags_text)
        .map_err(|e| bad("customers", &key, format!("tags {tags_text:?}: {e}")))?;
    Ok(CustomerCard {
        name: r.get(1)?,
        company: r.get(2)?,
        email: r.get(3)?,
        address: r.get(4)?,
        notes: r.get(5)?,
        tags,
        vip: r.get(7)?,
        created_at: time_from_sql(&r.get::<_, String>(8)?, "customers", &key)?,
        updated_at: r
            .get::<_, Option<String>>(9)?
            .map(|t| time_from_sql(&t, "customers", &key))
            .transpose()?,
        updated_by: r.get(10)?,
        number,
    })
}

/// Every field of a card change against its limits.
fn check_card(c: &CardChange) -> Result<(), StoreError> {
    let line = |field, value: &Option<String>, max| match value {
        Some(v) => super::crm::check_line(field, v, max, false),
        None => Ok(()),
    };
    line("name", &c.name, CARD_NAME_CHARS)?;
    line("company", &c.company, CARD_COMPANY_CHARS)?;
    line("address", &c.address, CARD_ADDRESS_CHARS)?;
    if let Some(email) = &c.email {
        super::crm::check_line("email", email, CARD_EMAIL_CHARS, false)?;
        let ok = email.is_empty()
            || email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
                    && !email.chars().any(char::is_whitespace)
            });
        if !ok {
            return Err(StoreError::Invalid {
                field: "email",
                message: format!("expected an address such as name@example.com, got {email:?}"),
            });
        }
    }
    if let Some(notes) = &c.notes {
        super::crm::check_text("notes", notes, CARD_NOTES_CHARS)?;
    }
    if let Some(tags) = &c.tags {
        if tags.len() > CARD_TAGS {
            return Err(StoreError::Invalid {
                field: "tags",
                message: format!("expected at most {CARD_TAGS} tags, got {}", tags.len()),
            });
        }
        for (i, tag) in tags.iter().enumerate() {
            super::crm::check_line("tags", tag, CARD_TAG_CHARS, true)?;
            if tags[..i].contains(tag) {
                return Err(StoreError::Invalid {
                    field: "tags",
                    message: format!("the tag {tag:?} is given twice"),
                });
            }
        }
    }
    Ok(())
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
    check_number_field("number", number)
}

/// [`check_customer_number`] for a request field named otherwise (`customer`).
pub(super) fn check_number_field<'a>(
    field: &'static str,
    number: &'a str,
) -> Result<&'a str, StoreError> {
    let number = number.trim();
    let plus = number.strip_prefix('+').unwrap_or(number);
    if plus.is_empty() || number.len() > 32 || !plus.chars().all(|c| c.is_ascii_digit()) {
        return Err(StoreError::Invalid {
            field,
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
