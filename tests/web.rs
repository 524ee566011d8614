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

use std::process::Command;
use std::time::Duration;

use common::TestDir;
use common::browser::{run, run_script, web_is_built};
use common::callbox::Prepared;
use common::http;

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

#[test]
fn an_agent_signs_in_changes_state_and_sees_the_call_bar() {
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

    let (ok, out) = run_script(
        "workspace.mjs",
        &base,
        &[("AGENT", &agent), ("AGENT_PASSWORD", &password)],
        t.path(),
    );
    assert!(ok, "{out}\n{}", callbox.log_tail());

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
