//! The live pages in headless Chromium against the real daemon: the wallboard, the
//! workspace fed by the event stream, the agent status log and the why page
//! (`tests/web/live.mjs` drives them; screenshots go to `target/web-screenshots/`).
//!
//! The call center: 售前 with 8001 (logged out) and 8002 (busy), and 8003, a
//! supervisor outside the group; all answer on their direct numbers through the
//! carrier. Before the browser starts, one caller (sipp) waits in 售前's queue with
//! nobody free and hangs up: an abandoned call for the wallboard and the why page.
//! Needs `make web` first (web/dist, web/node_modules) and Chromium, as tests/web.rs.

mod common;

use std::time::Duration;

use callbox::core::{Language, Strategy};
use callbox::store::NewGroup;
use common::TestDir;
use common::browser::run_script;
use common::callbox::Prepared;
use common::center::{self, CARRIER_IP, agent, carrier};
use common::http::json;
use common::sipp::Sipp;
use common::wait::secs;

const SERVICE: &str = "4008001234";

#[test]
fn the_wallboard_workspace_status_log_and_why_pages_are_live() {
    let t = TestDir::new("web-live").unwrap();
    let mut p = Prepared::new(t.path()).unwrap();
    let trunk = carrier(&mut p.store, 5999);
    p.store.add_service_number(SERVICE, trunk, None).unwrap();
    let mut group = NewGroup::new("售前");
    group.strategy = Strategy::LongestIdle;
    let sales = p.store.add_group(&group).unwrap();
    p.store
        .set_service_number_queue(SERVICE, Some(sales), 0, Language::ZhCn)
        .unwrap();
    for (i, number) in ["8001", "8002", "8003"].iter().enumerate() {
        let direct = format!("1390000000{i}");
        let id = agent(&mut p.store, number, None, Some(&direct));
        if *number != "8003" {
            p.store.add_member(sales, id, 1).unwrap();
        }
    }
    p.store.set_supervisor("8003", true).unwrap();
    let callbox = p.start().unwrap();
    center::login(&callbox, "8002", Some("direct"));
    let (code, body) = json(
        callbox.http,
        "POST",
        "/api/v1/agents/8002/state",
        r#"{"state":"busy"}"#,
    );
    assert_eq!(code, 200, "{body}");

    let caller = Sipp::scenario("carrier", "trunk_call.xml", t.path())
        .remote(callbox.sip)
        .local_ip(CARRIER_IP)
        .service(SERVICE)
        .duration_ms(1000)
        .timeout(Duration::from_secs(20))
        .spawn()
        .unwrap();
    let outcome = caller.finish(secs(20));
    assert!(
        outcome.all_ok(),
        "{}\n{}",
        outcome.describe(),
        callbox.log_tail()
    );
    let call = callbox.ended_call(1, Duration::from_secs(5));
    assert!(call.answered_at.is_none(), "nobody was free: {call:?}");

    let base = format!("http://{}", callbox.http);
    let (ok, out) = run_script(
        "live.mjs",
        &base,
        &[
            ("SUPERVISOR", "8003"),
            ("AGENT", "8001"),
            ("OTHER", "8002"),
            ("PASSWORD", "secret-pw"),
            ("CALL", "1"),
            ("TIMEOUT_MS", "90000"),
        ],
        t.path(),
    );
    assert!(ok, "{out}\n{}", callbox.log_tail());
}
