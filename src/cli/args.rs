//! A small reader of `callbox` sub-command arguments: positionals and `--flag value`
//! options, with errors that name the argument.

use std::collections::BTreeMap;

/// What a sub-command was given.
#[derive(Debug, Default)]
pub struct Args {
    pub positional: Vec<String>,
    options: BTreeMap<String, Vec<String>>,
    switches: Vec<String>,
}

/// A usage mistake, in words for the person at the terminal.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ArgError(pub String);

impl Args {
    /// Read `raw`: `--name value` for each name in `takes_value`, `--name` alone for
    /// each name in `switches`, everything else positional.
    pub fn parse(
        raw: &[String],
        takes_value: &[&str],
        switches: &[&str],
    ) -> Result<Args, ArgError> {
        let mut args = Args::default();
        let mut it = raw.iter();
        while let Some(arg) = it.next() {
            match arg.strip_prefix("--") {
                Some(name) if takes_value.contains(&name) => {
                    let value = it
                        .next()
                        .ok_or_else(|| ArgError(format!("--{name} needs a value")))?;
                    args.options
                        .entry(name.to_string())
                        .or_default()
                        .push(value.clone());
                }
                Some(name) if switches.contains(&name) => args.switches.push(name.to_string()),
                Some(name) => return Err(ArgError(format!("unknown option --{name}"))),
                None => args.positional.push(arg.clone()),
            }
        }
        Ok(args)
    }

    pub fn one(&self, name: &str) -> Option<&str> {
        self.options
            .get(name)
            .and_then(|v| v.last())
            .map(String::as_str)
    }

    pub fn all(&self, name: &str) -> &[String] {
        self.options.get(name).map_or(&[], Vec::as_slice)
    }

    pub fn switch(&self, name: &str) -> bool {
        self.switches.iter().any(|s| s == name)
    }

    /// The `index`th positional, named `what` in the error when missing.
    pub fn at(&self, index: usize, what: &str) -> Result<&str, ArgError> {
        self.positional
            .get(index)
            .map(String::as_str)
            .ok_or_else(|| ArgError(format!("missing {what}")))
    }

    /// `--name` as a number, if given.
    pub fn number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, ArgError> {
        self.one(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| ArgError(format!("--{name}: expected a number, got {v:?}")))
            })
            .transpose()
    }
}
