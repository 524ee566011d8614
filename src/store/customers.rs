//! Customers the ACD must know about (VIP callers go first in a queue) and prompts an
//! admin replaced with recordings of their own.
//!
//! Both are read into the directory, so a change reaches the running switchboard
//! within a second (the 0005 triggers bump the directory version).

use std::path::Path;

use rusqlite::params;

use super::rows::time_to_sql;
use super::{Store, StoreError};
use crate::core::Language;

/// The longest prompt name; names are the files of `sounds/<language>/`.
const MAX_PROMPT_NAME: usize = 64;

impl Store {
    /// Marks the customer calling from `number` as a VIP (or not), creating the
    /// customer when new.
    pub fn set_customer_vip(&mut self, number: &str, vip: bool) -> Result<(), StoreError> {
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
        self.conn.execute(
            "INSERT INTO customers (number, vip, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (number) DO UPDATE SET vip = excluded.vip",
            params![number, vip, time_to_sql(&chrono::Utc::now())],
        )?;
        Ok(())
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
