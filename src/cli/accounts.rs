//! `callbox admin passwd [NAME] [--role admin|supervisor]`: sets or resets the web
//! password of an admin or supervisor account (NAME defaults to `admin`), creating the
//! account when missing. Written straight to the database; sessions opened with the
//! old password end at their next request.
//!
//! The password is read from stdin, never from the command line (where `ps` and the
//! shell's history would show it): at a terminal twice, without echo (`stty -echo`),
//! otherwise the first line, so a script can pipe it in.

use std::io::{BufRead, IsTerminal, Write};
use std::process::{Command, Stdio};

use super::CliError;
use super::args::{ArgError, Args};
use crate::config::Config;
use crate::store::{FIRST_ADMIN, Role, Store};

/// `admin passwd [NAME] [--role admin|supervisor]`
pub fn passwd(config: &Config, rest: &[String]) -> Result<(), CliError> {
    let args = Args::parse(rest, &["role"], &[])?;
    if args.positional.len() > 1 {
        return Err(ArgError(
            "usage: callbox admin passwd [NAME] [--role admin|supervisor] (the password is read from stdin)"
                .into(),
        )
        .into());
    }
    let name = args.positional.first().map_or(FIRST_ADMIN, String::as_str);
    let role = args
        .one("role")
        .map(|r| {
            Role::parse_user_role(r)
                .ok_or_else(|| ArgError(format!("--role: expected admin or supervisor, got {r:?}")))
        })
        .transpose()?;
    let password = read_password(name)?;
    let mut store = Store::open(&config.db_path())?;
    let created = store.set_user_password(name, &password, role)?;
    let role = store.account(name)?.map_or("admin", |a| a.role.as_str());
    if created {
        println!("created the web account {name} ({role})");
    } else {
        println!("the web password of {name} ({role}) is set; its open sessions have ended");
    }
    Ok(())
}

fn read_password(name: &str) -> Result<String, CliError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| CliError::Failed(format!("cannot read the password from stdin: {e}")))?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    let first = prompt(&format!("New web password for {name}: "))?;
    let second = prompt("Again: ")?;
    if first != second {
        return Err(CliError::Failed(
            "the two passwords differ; nothing changed".into(),
        ));
    }
    Ok(first)
}

/// One line from the terminal with its echo off (restored even on a read error).
fn prompt(text: &str) -> Result<String, CliError> {
    let stty = |arg: &str| {
        Command::new("stty")
            .arg(arg)
            .stdin(Stdio::inherit())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    print!("{text}");
    let _ = std::io::stdout().flush();
    let silenced = stty("-echo");
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if silenced {
        stty("echo");
    }
    println!();
    read.map_err(|e| CliError::Failed(format!("cannot read the password: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}
