//! The config room's error: what is wrong, where in the file, and what was expected.
//!
//! It must read well on a terminal without help: `callbox.toml:7: rtp.port_min =
//! 70000: expected a port number 1024-65535`. The tricky part is serde's errors, which
//! know a byte span but not which key they are about (the toml crate keeps the key path
//! private); the key is read back from the file's text at that span.

use std::ops::Range;
use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read (missing, permissions): the operator's environment.
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The file says something we do not accept: the operator's text.
    #[error("{}", invalid_line(.origin, *.line, .key, .value.as_deref(), .problem))]
    Invalid {
        /// The file name, or whatever the text came from.
        origin: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// Dotted key, such as `rtp.port_min`; empty when the error is not about a key.
        key: String,
        /// The value as written, when there is one.
        value: Option<String>,
        /// What is wrong, or what was expected.
        problem: String,
    },
}

fn invalid_line(
    origin: &str,
    line: Option<usize>,
    key: &str,
    value: Option<&str>,
    problem: &str,
) -> String {
    let mut s = origin.to_owned();
    if let Some(line) = line {
        s.push_str(&format!(":{line}"));
    }
    s.push_str(": ");
    if !key.is_empty() {
        s.push_str(key);
        if let Some(value) = value {
            s.push_str(&format!(" = {value}"));
        }
        s.push_str(": ");
    }
    s.push_str(problem);
    s
}

impl ConfigError {
    /// The line this error points at, if any (for tests and editors).
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Read { .. } => None,
            ConfigError::Invalid { line, .. } => *line,
        }
    }

    /// The dotted key this error is about, if any.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Read { .. } => None,
            ConfigError::Invalid { key, .. } => {
                Some(key).filter(|k| !k.is_empty()).map(|k| k.as_str())
            }
        }
    }
}

/// The source text, for turning spans into lines, keys and values.
pub struct Source<'a> {
    pub text: &'a str,
    pub origin: &'a str,
}

impl Source<'_> {
    pub fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        // A span from the parser may fall inside a multi-byte character only if the
        // parser is wrong; counting bytes needs no char boundary anyway.
        self.text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    pub fn slice(&self, span: &Range<usize>) -> Option<String> {
        self.text.get(span.clone()).map(|s| s.trim().to_owned())
    }

    /// An error about the value at `span` under `key`.
    pub fn invalid(&self, key: &str, span: &Range<usize>, problem: String) -> ConfigError {
        ConfigError::Invalid {
            origin: self.origin.to_owned(),
            line: Some(self.line_of(span.start)),
            key: key.to_owned(),
            value: self.slice(span),
            problem,
        }
    }

    /// Turns the toml crate's error into ours, recovering the key from the text.
    pub fn toml_error(&self, err: &toml::de::Error) -> ConfigError {
        let message = err.message().trim().replace('\n', "; ");
        let Some(span) = err.span() else {
            return ConfigError::Invalid {
                origin: self.origin.to_owned(),
                line: None,
                key: String::new(),
                value: None,
                problem: message,
            };
        };
        let line = self.line_of(span.start);
        let key = self.key_on_line(line).unwrap_or_default();
        let (value, problem) = if let Some(rest) = message.strip_prefix("unknown field ") {
            // "unknown field `x`, expected one of `a`, `b`"
            let expected = rest
                .split_once(", ")
                .map_or("", |(_, e)| e)
                .replace('`', "");
            (None, format!("unknown key; {expected}"))
        } else if message.starts_with("invalid type") && !key.is_empty() {
            (
                self.slice(&span),
                format!("expected {}", super::raw::expected(&key)),
            )
        } else {
            (None, message)
        };
        ConfigError::Invalid {
            origin: self.origin.to_owned(),
            line: Some(line),
            key,
            value,
            problem,
        }
    }

    /// The dotted key written on `line` (1-based): `section.key` for `key = ...` under a
    /// `[section]` header, or the section name for the header line itself.
    fn key_on_line(&self, line: usize) -> Option<String> {
        let lines: Vec<&str> = self.text.lines().collect();
        let this = lines.get(line.checked_sub(1)?)?.trim();
        if let Some(header) = table_header(this) {
            return Some(header);
        }
        let key = unquote(this.split_once('=')?.0.trim());
        let section = lines[..line - 1]
            .iter()
            .rev()
            .find_map(|l| table_header(l.trim()));
        Some(match section {
            Some(s) => format!("{s}.{key}"),
            None => key,
        })
    }
}

fn table_header(line: &str) -> Option<String> {
    let inner = line.strip_prefix('[')?.split(']').next()?;
    (!inner.starts_with('[')).then(|| unquote(inner.trim()))
}

fn unquote(key: &str) -> String {
    key.split('.')
        .map(|part| part.trim().trim_matches('"').trim_matches('\''))
        .collect::<Vec<_>>()
        .join(".")
}
