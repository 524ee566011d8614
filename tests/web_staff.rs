//! The admin console's staff pages in the browser against the real daemon: the demo
//! call center and an admin whose password the test sets, then
//! `tests/web/staff.mjs` in Debian's Chromium (see `tests/common/browser.rs`): the
//! admin creates a skill group, a phone and an agent in that group from the pages,
//! edits a busy reason, and the new agent signs in with the softphone mode and lands
//! in the workspace. Screenshots go to `target/web-screenshots/staff-*.png`.
//! Needs `make web` first (the built app and web/node_modules) and Chromium.

mod common;

use callbox::store::Role;
use common::TestDir;
use common::browser::run_script;
use common::callbox::Prepared;

const ADMIN: (&str, &str) = ("admin", "admin-pass-web1");

#[test]
fn an_admin_sets_up_a_group_and_an_agent_who_then_signs_in() {
    let t = TestDir::new("web-staff").unwrap();
    let mut prepared = Prepared::new(t.path()).unwrap();
    prepared
        .store
        .seed_demo_if_empty()
        .expect("the demo seeds")
        .expect("a fresh database gets the demo");
    prepared
        .store
        .set_user_password(ADMIN.0, ADMIN.1, Some(Role::Admin))
        .unwrap();
    let callbox = prepared.start().unwrap();
    let base = format!("http://{}", callbox.http);
    let (ok, out) = run_script(
        "staff.mjs",
        &base,
        &[("ADMIN_USER", ADMIN.0), ("ADMIN_PASSWORD", ADMIN.1)],
        t.path(),
    );
    assert!(ok, "{out}\n{}", callbox.log_tail());

    // What the pages made is in the store as an admin would read it.
    let store = callbox.store();
    let agent = store
        .agent_record("8601")
        .unwrap()
        .expect("the agent made in the browser");
    assert_eq!(agent.name, "测试坐席");
    assert_eq!(
        agent.bound_device.as_ref().map(|d| d.user.as_str()),
        Some("2601")
    );
    assert_eq!(
        agent
            .groups
            .iter()
            .map(|g| g.key.as_str())
            .collect::<Vec<_>>(),
        ["测试技能组"]
    );
    let reasons = store.busy_reasons().unwrap();
    assert!(reasons.contains(&"部门会议".to_string()), "{reasons:?}");
    let status = callbox.stop();
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}
