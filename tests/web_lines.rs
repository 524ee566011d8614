//! The admin console's lines pages in the browser against the real daemon: the demo
//! call center and an admin whose password the test sets, then `tests/web/lines.mjs`
//! in Debian's Chromium (see `tests/common/browser.rs`): the admin adds a trunk, builds
//! a flow in the IVR editor (a menu with two keys), routes a new service number through
//! that trunk into it, uploads a prompt (a WAV made here: a 2 s tone) and sees its
//! length, changes the flow's business hours, and saves the demo flow unchanged.
//! Screenshots go to `target/web-screenshots/lines-*.png`. Needs `make web` first (the
//! built app and web/node_modules) and Chromium.

mod common;

use callbox::store::Role;
use common::TestDir;
use common::audio::tone_wav;
use common::browser::run_script;
use common::callbox::Prepared;

const ADMIN: (&str, &str) = ("admin", "admin-pass-lines1");

#[test]
fn an_admin_sets_up_trunk_number_flow_prompt_and_hours_from_the_pages() {
    let t = TestDir::new("web-lines").unwrap();
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
    let wav = t.path().join("notice.wav");
    tone_wav(&wav, 700, 2.0, 8000).unwrap();
    let callbox = prepared.start().unwrap();
    let base = format!("http://{}", callbox.http);
    let wav_path = wav.to_string_lossy().into_owned();
    let (ok, out) = run_script(
        "lines.mjs",
        &base,
        &[
            ("ADMIN_USER", ADMIN.0),
            ("ADMIN_PASSWORD", ADMIN.1),
            ("PROMPT_WAV", &wav_path),
        ],
        t.path(),
    );
    assert!(ok, "{out}\n{}", callbox.log_tail());

    // What the pages made is in the store as the switchboard will read it.
    let store = callbox.store();
    let number = store
        .service_number("4008007777")
        .unwrap()
        .expect("the number made in the browser");
    assert_eq!(number.trunk.1, "测试中继");
    assert_eq!(number.priority, 5);
    let (flow, name) = number.flow.expect("the number goes through a flow");
    assert_eq!(name, "测试菜单");
    let flow = store.flow(flow).unwrap().expect("the flow");
    assert_eq!(flow.nodes.len(), 5, "menu, queue, goodbye, hours, closed");
    let uploads = store.uploaded_prompts().unwrap();
    assert_eq!(
        uploads.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
        ["test_notice"],
        "the new prompt stays; welcome_menu went back to the built-in one"
    );
    assert!(uploads[0].file.is_file());
    let status = callbox.stop();
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}
