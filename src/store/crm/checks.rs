//! The checks every ticket, ticket type and card field goes through: one-line and
//! multi-line text with limits, the closed word lists, a type's extra fields, and
//! a ticket's values against its type. Pure; each refusal is
//! [`StoreError::Invalid`] naming the field.

use super::{
    FIELD_NAME_CHARS, FIELD_OPTIONS, FIELD_VALUE_CHARS, NewTicketType, OPTION_CHARS, TITLE_CHARS,
    TYPE_FIELDS, TYPE_NAME_CHARS, TicketField,
};
use crate::store::StoreError;

fn invalid(field: &'static str, message: String) -> StoreError {
    StoreError::Invalid { field, message }
}

/// A one-line text of at most `max` characters, without control characters;
/// `required`: not empty (nor only spaces).
pub(in crate::store) fn check_line(
    field: &'static str,
    value: &str,
    max: usize,
    required: bool,
) -> Result<(), StoreError> {
    if value.chars().any(char::is_control) {
        return Err(invalid(
            field,
            "must be one line without control characters".into(),
        ));
    }
    check_length(field, value, max, required)
}

/// A text of at most `max` characters that may hold line breaks and tabs but no
/// other control characters.
pub(in crate::store) fn check_text(
    field: &'static str,
    value: &str,
    max: usize,
) -> Result<(), StoreError> {
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(invalid(
            field,
            "must not hold control characters other than line breaks and tabs".into(),
        ));
    }
    check_length(field, value, max, false)
}

fn check_length(
    field: &'static str,
    value: &str,
    max: usize,
    required: bool,
) -> Result<(), StoreError> {
    let chars = value.chars().count();
    if required && value.trim().is_empty() {
        Err(invalid(field, "must not be empty".into()))
    } else if chars > max {
        Err(invalid(
            field,
            format!("expected at most {max} characters, got {chars}"),
        ))
    } else {
        Ok(())
    }
}

pub(super) fn check_title(title: &str) -> Result<(), StoreError> {
    check_line("title", title, TITLE_CHARS, true)
}

pub(super) fn check_word(
    field: &'static str,
    value: &str,
    words: &[&str],
) -> Result<(), StoreError> {
    if words.contains(&value) {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("expected one of {}, got {value:?}", words.join(", ")),
        ))
    }
}

pub(super) fn check_type(t: &NewTicketType) -> Result<(), StoreError> {
    check_line("name", &t.name, TYPE_NAME_CHARS, true)?;
    if t.fields.len() > TYPE_FIELDS {
        return Err(invalid(
            "fields",
            format!(
                "expected at most {TYPE_FIELDS} fields, got {}",
                t.fields.len()
            ),
        ));
    }
    for (i, f) in t.fields.iter().enumerate() {
        check_line("fields", &f.name, FIELD_NAME_CHARS, true)
            .map_err(|e| sub_field(e, &format!("field {}", i + 1)))?;
        if t.fields[..i].iter().any(|g| g.name == f.name) {
            return Err(invalid(
                "fields",
                format!("the field {:?} is given twice", f.name),
            ));
        }
        if f.options.len() > FIELD_OPTIONS {
            return Err(invalid(
                "fields",
                format!(
                    "{:?}: expected at most {FIELD_OPTIONS} options, got {}",
                    f.name,
                    f.options.len()
                ),
            ));
        }
        for (j, o) in f.options.iter().enumerate() {
            check_line("fields", o, OPTION_CHARS, true)
                .map_err(|e| sub_field(e, &format!("{:?}'s option {}", f.name, j + 1)))?;
            if f.options[..j].contains(o) {
                return Err(invalid(
                    "fields",
                    format!("{:?}: the option {o:?} is given twice", f.name),
                ));
            }
        }
    }
    Ok(())
}

/// An `Invalid` error's message prefixed with where in a list it was.
pub(super) fn sub_field(e: StoreError, at: &str) -> StoreError {
    match e {
        StoreError::Invalid { field, message } => invalid(field, format!("{at}: {message}")),
        other => other,
    }
}

/// A ticket's extra values against its type's fields: every name one of the type's,
/// each at most once, every required one filled, a choice one of its options. The
/// values come back in the type's order; empty optional ones are dropped.
pub(super) fn check_values(
    fields: &[TicketField],
    values: &[(String, String)],
) -> Result<Vec<(String, String)>, StoreError> {
    for (i, (name, value)) in values.iter().enumerate() {
        let Some(field) = fields.iter().find(|f| &f.name == name) else {
            return Err(invalid(
                "fields",
                format!("the ticket type has no field {name:?}"),
            ));
        };
        if values[..i].iter().any(|(n, _)| n == name) {
            return Err(invalid("fields", format!("{name:?} is given twice")));
        }
        check_text("fields", value, FIELD_VALUE_CHARS).map_err(|e| sub_field(e, name))?;
        if !field.options.is_empty() && !value.is_empty() && !field.options.contains(value) {
            return Err(invalid(
                "fields",
                format!(
                    "{name:?}: expected one of {}, got {value:?}",
                    field.options.join(", ")
                ),
            ));
        }
    }
    let mut out = Vec::new();
    for field in fields {
        let value = values
            .iter()
            .find(|(n, _)| n == &field.name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        if field.required && value.trim().is_empty() {
            return Err(invalid(
                "fields",
                format!("{:?} must be filled in", field.name),
            ));
        }
        if !value.is_empty() {
            out.push((field.name.clone(), value));
        }
    }
    Ok(out)
}
