//! `callbox backup` and `callbox restore`: the database (and, if asked, the
//! recordings) copied out while the daemon runs, and copied back while it does not.
//!
//! A backup is a directory: `callbox.db`, a self-contained copy taken with SQLite's
//! online backup API, and with `--recordings` a copy of `recordings/`. A restore
//! refuses while a callbox answers `/health` on this configuration's HTTP address
//! (the daemon takes no lock on the data directory; its API is how we know it runs).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use super::CliError;
use super::args::{ArgError, Args};
use crate::api::client::Client;
use crate::config::Config;
use crate::store::{self, Store, StoreError};

const DB_FILE: &str = "callbox.db";
const RECORDINGS: &str = "recordings";

/// `callbox backup PATH [--recordings]`
pub fn backup(config: &Config, rest: &[String]) -> Result<(), CliError> {
    let args = Args::parse(rest, &[], &["recordings"])?;
    let usage = "usage: callbox backup PATH [--recordings]";
    let dest = PathBuf::from(args.at(0, usage)?);
    if args.positional.len() > 1 {
        return Err(ArgError(usage.into()).into());
    }
    let db = config.data_dir.join(DB_FILE);
    if !db.is_file() {
        return Err(StoreError::NotFound {
            what: "database",
            value: db.display().to_string(),
        }
        .into());
    }
    std::fs::create_dir_all(&dest).map_err(|source| StoreError::CreateDir {
        path: dest.clone(),
        source,
    })?;
    let copy = dest.join(DB_FILE);
    Store::open(&db)?.backup_to(&copy)?;
    let check = store::check_backup(&copy)?;
    println!(
        "database backed up to {} (schema {}, {} calls, {} agents)",
        copy.display(),
        check.schema_version,
        check.calls,
        check.agents
    );
    if args.switch("recordings") {
        let (files, bytes) = copy_tree(&config.recordings_dir(), &dest.join(RECORDINGS))?;
        println!(
            "{files} recording file(s), {} MiB, copied to {}",
            bytes / (1024 * 1024),
            dest.join(RECORDINGS).display()
        );
    }
    Ok(())
}

/// `callbox restore PATH`: PATH is a backup directory (or its `callbox.db`).
pub fn restore(config: &Config, rest: &[String]) -> Result<(), CliError> {
    let args = Args::parse(rest, &[], &[])?;
    let usage = "usage: callbox restore PATH";
    let from = PathBuf::from(args.at(0, usage)?);
    if args.positional.len() > 1 {
        return Err(ArgError(usage.into()).into());
    }
    let (backup_db, backup_dir) = if from.is_dir() {
        (from.join(DB_FILE), Some(from.clone()))
    } else {
        (from.clone(), None)
    };
    if let Some(addr) = running_daemon(config) {
        return Err(CliError::Failed(format!(
            "callbox is running (it answers http://{addr}/health): stop it first \
             (systemctl stop callbox), then restore"
        )));
    }
    let check = store::check_backup(&backup_db)?;
    let db = config.data_dir.join(DB_FILE);
    let kept = store::restore_database(&backup_db, &db)?;
    println!(
        "database restored from {} (schema {}, {} calls, {} agents) to {}",
        backup_db.display(),
        check.schema_version,
        check.calls,
        check.agents,
        db.display()
    );
    if let Some(kept) = kept {
        println!("the database it replaced is kept as {}", kept.display());
    }
    if let Some(recordings) = backup_dir
        .map(|d| d.join(RECORDINGS))
        .filter(|r| r.is_dir())
    {
        let (files, _) = copy_tree(&recordings, &config.recordings_dir())?;
        println!(
            "{files} recording file(s) copied back to {}",
            config.recordings_dir().display()
        );
    }
    Ok(())
}

/// The address where a callbox answers `/health` for this configuration, if one does.
pub fn running_daemon(config: &Config) -> Option<SocketAddr> {
    daemon_health(config).map(|_| local_addr(config.http.listen))
}

/// `/health` of the callbox answering on this configuration's HTTP address.
pub fn daemon_health(config: &Config) -> Option<serde_json::Value> {
    let health = Client::new(config.http.listen).get("/health").ok()?;
    health.get("version").is_some().then_some(health)
}

/// Where this machine reaches a listener bound to `listen` (0.0.0.0 is loopback).
pub fn local_addr(listen: SocketAddr) -> SocketAddr {
    if listen.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), listen.port())
    } else {
        listen
    }
}

/// Copies the files under `from` into `to` (merged: files of the same name are
/// replaced, others left), returning how many files and bytes. A file that vanishes
/// while we copy (retention removed it) is skipped.
fn copy_tree(from: &Path, to: &Path) -> Result<(usize, u64), StoreError> {
    let mut done = (0, 0);
    if !from.is_dir() {
        return Ok(done);
    }
    let entries = std::fs::read_dir(from).map_err(file_err("read", from))?;
    std::fs::create_dir_all(to).map_err(|source| StoreError::CreateDir {
        path: to.to_owned(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(file_err("read", from))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(file_err("read", &src))?;
        if kind.is_dir() {
            let (files, bytes) = copy_tree(&src, &dst)?;
            done = (done.0 + files, done.1 + bytes);
        } else if kind.is_file() {
            match std::fs::copy(&src, &dst) {
                Ok(bytes) => done = (done.0 + 1, done.1 + bytes),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(file_err("copy", &src)(e)),
            }
        }
    }
    Ok(done)
}

fn file_err(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.to_owned();
    move |source| StoreError::File { what, path, source }
}
