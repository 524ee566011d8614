//! Browser tests: the built web app, Debian's Chromium and a node script from
//! `tests/web/` (which uses `tests/web/lib.mjs`), run to its end under a guard.
//!
//! The script prints "ok - …" per step and "FAIL: …" at the first failure; its exit
//! code and output decide. Screenshots go to `target/web-screenshots/`. The browser
//! is stopped by its pids (the script kills it, and so does [`run_script`] with the
//! pids the script wrote), the script by its own guard.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::process::ChildGuard;

pub const CHROMIUM: &str = "/usr/bin/chromium";
/// The script times itself out before this; this is for a script that hangs anyway.
pub const SCRIPT_DEADLINE: Duration = Duration::from_secs(240);

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The built app and its node_modules (or a panic saying what to run), and Chromium.
pub fn web_is_built() -> PathBuf {
    let web = root().join("web");
    let index = std::fs::read_to_string(web.join("dist/index.html")).unwrap_or_default();
    assert!(
        index.contains("<div id=\"app\">"),
        "web/dist holds no built app: run `make web` (make test does)"
    );
    assert!(
        web.join("node_modules/playwright-core/package.json")
            .exists()
            && web.join("node_modules/vitest/package.json").exists(),
        "web/node_modules is missing: run `make web` (make test does)"
    );
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: `make test-deps` installs Debian's chromium"
    );
    web
}

/// Where screenshots are kept (created).
pub fn screenshots() -> PathBuf {
    let shots = root().join("target").join("web-screenshots");
    std::fs::create_dir_all(&shots).expect("target/web-screenshots can be made");
    shots
}

/// Runs `cmd` to its end under a guard; returns its success and its output.
pub fn run(cmd: Command, name: &str, dir: &Path, deadline: Duration) -> (bool, String) {
    let mut child = ChildGuard::spawn(cmd, name, dir).expect("the process starts");
    let status = child.wait_exit(Instant::now() + deadline);
    if status.is_none() {
        child.kill();
    }
    let out = child.output_tail(300);
    match status {
        Some(s) => (s.success(), format!("{name} exited with {s}\n{out}")),
        None => (
            false,
            format!("{name} did not finish in {deadline:?}\n{out}"),
        ),
    }
}

/// Kills what is left of the browser whose pids the script wrote.
struct BrowserPids(PathBuf);

impl Drop for BrowserPids {
    fn drop(&mut self) {
        let pids = std::fs::read_to_string(&self.0).unwrap_or_default();
        for pid in pids.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            if pid > 1 {
                // Its process group first (playwright starts it detached), then itself.
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{pid}"), &pid.to_string()])
                    .stderr(std::process::Stdio::null())
                    .status();
            }
        }
    }
}

/// Runs `tests/web/{script}` against the daemon at `base` with `env` added, in
/// `dir` (a test directory: the Chromium profile and the pid file go there).
/// Returns the script's success and its output (printed too).
pub fn run_script(script: &str, base: &str, env: &[(&str, &str)], dir: &Path) -> (bool, String) {
    let web = web_is_built();
    let profile = dir.join(format!("chromium-profile-{script}"));
    std::fs::create_dir_all(&profile).expect("the profile directory can be made");
    let pid_file = dir.join(format!("{script}.pids"));
    let _browser = BrowserPids(pid_file.clone());
    let mut cmd = Command::new("node");
    cmd.arg(root().join("tests/web").join(script))
        .current_dir(&web)
        .env("CALLBOX_URL", base)
        .env("PROFILE_DIR", &profile)
        .env("SCREENSHOTS", screenshots())
        .env("PID_FILE", &pid_file)
        .env("TIMEOUT_MS", "200000");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let (ok, out) = run(cmd, script, dir, SCRIPT_DEADLINE);
    eprintln!("{out}");
    let ok = ok && !out.contains("FAIL");
    (ok, out)
}
