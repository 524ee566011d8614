//! The web panel (web/, embedded by src/api/web.rs) against the real daemon.
//!
//! `the_app_s_own_unit_tests_pass` runs the app's vitest tests (the API client, the
//! two languages). `an_agent_signs_in_changes_state_and_sees_the_call_bar` seeds the
//! demo call center, starts the daemon and runs `tests/web/workspace.mjs`, which
//! drives Debian's Chromium with playwright-core and saves a screenshot of each page
//! under `target/web-screenshots/`; the script's exit code and output decide.
//! Both need `make web` first (`make test` does it): the built app in web/dist and
//! web/node_modules; and Chromium at /usr/bin/chromium (`make test-deps`).
//! The browser is stopped by its pid (the script kills it, and so does this test
//! with the pids the script wrote), the script and the daemon by theirs.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::TestDir;
use common::callbox::Prepared;
use common::http;
use common::process::ChildGuard;

const CHROMIUM: &str = "/usr/bin/chromium";
/// The script times itself out before this; this is for a script that hangs anyway.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(150);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The built app and its node_modules, or a panic saying what to run.
fn web_is_built() -> PathBuf {
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
    web
}

/// Runs `cmd` to its end under a guard; returns its success and its output.
fn run(cmd: Command, name: &str, dir: &Path, deadline: Duration) -> (bool, String) {
    let mut child = ChildGuard::spawn(cmd, name, dir).expect("the process starts");
    let status = child.wait_exit(Instant::now() + deadline);
    if status.is_none() {
        child.kill();
    }
    let out = child.output_tail(200);
    match status {
        Some(s) => (s.success(), format!("{name} exited with {s}\n{out}")),
        None => (
            false,
            format!("{name} did not finish in {deadline:?}\n{out}"),
        ),
    }
}

#[test]
fn the_app_s_own_unit_tests_pass() {
    let web = web_is_built();
    let t = TestDir::new("web-unit").unwrap();
    let mut cmd = Command::new("npm");
    cmd.args(["test", "--silent"])
        .current_dir(&web)
        .env("CI", "1")
        .env("NO_COLOR", "1");
    let (ok, out) = run(cmd, "vitest", t.path(), Duration::from_secs(120));
    assert!(ok, "{out}");
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

#[test]
fn an_agent_signs_in_changes_state_and_sees_the_call_bar() {
    let web = web_is_built();
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: `make test-deps` installs Debian's chromium"
    );
    let t = TestDir::new("web").unwrap();
    let mut prepared = Prepared::new(t.path()).unwrap();
    let seed = prepared
        .store
        .seed_demo_if_empty()
        .expect("the demo seeds")
        .expect("a fresh database gets the demo");
    let (agent, _, password, _) = seed.agents.first().expect("a demo agent").clone();
    let callbox = prepared.start().unwrap();
    let base = format!("http://{}", callbox.http);

    let shots = root().join("target").join("web-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let profile = t.sub("chromium-profile").unwrap();
    let pid_file = t.path().join("chromium.pids");
    let _browser = BrowserPids(pid_file.clone());
    let mut cmd = Command::new("node");
    cmd.arg(root().join("tests/web/workspace.mjs"))
        .current_dir(&web)
        .env("CALLBOX_URL", &base)
        .env("AGENT", &agent)
        .env("AGENT_PASSWORD", &password)
        .env("PROFILE_DIR", &profile)
        .env("SCREENSHOTS", &shots)
        .env("PID_FILE", &pid_file)
        .env("TIMEOUT_MS", "120000");
    let (ok, out) = run(cmd, "workspace", t.path(), SCRIPT_DEADLINE);
    eprintln!("{out}");
    assert!(ok, "{out}\n{}", callbox.log_tail());
    assert!(!out.contains("FAIL"), "{out}");

    // The script logged the agent out at its end, through the page.
    let (code, agents) = http::json(callbox.http, "GET", "/api/v1/agents", "");
    assert_eq!(code, 200, "{agents}");
    let me = agents
        .as_array()
        .and_then(|a| a.iter().find(|a| a["number"] == agent.as_str()))
        .cloned()
        .unwrap_or_default();
    assert_eq!(me["state"], "offline", "{me}");
    let status = callbox.stop();
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}
