//! The screen pop in the browser (S12): `tests/web/crm.mjs` in Debian's Chromium
//! against the real daemon, with a real call.
//!
//! The demo call center with a carrier at 127.0.0.2 and an admin `boss`. The script
//! has the admin make a ticket type on the 工单类型 page, then signs agent 8001 in on
//! the softphone (baresip here, registered with the agent's SIP login, answering
//! when told) and says `ready` (a file in SIGNAL_DIR); this test then has a customer
//! (sipp) call 4008001234 from 13815173333 and press 1. The script checks that the
//! panel pops the number's 归属地, the service number and the IVR path while it
//! rings, then says `answer`, and this test answers on the softphone. The agent
//! saves the card and a ticket of the admin's type and finds both in the history
//! tabs; the customer hangs up; the pop stays. Screenshots go to
//! `target/web-screenshots/crm-*.png`. Needs `make web` (web/dist, node_modules).

mod common;

use std::path::Path;
use std::time::Duration;

use callbox::store::Role;
use common::TestDir;
use common::baresip::{AnswerMode, Baresip, BaresipOpts};
use common::browser::run_script;
use common::callbox::Prepared;
use common::center::{CARRIER_IP, carrier};
use common::http;
use common::ports;
use common::sipp::Sipp;
use common::wait::{secs, wait_until};

const CALLER: &str = "13815173333";
const ADMIN: (&str, &str) = ("boss", "boss-password-1");

/// Waits for the script to say `name` (a file in `dir`), or for it to finish.
fn said(dir: &Path, name: &str, script: &std::thread::JoinHandle<(bool, String)>) -> bool {
    wait_until(secs(60), || dir.join(name).exists() || script.is_finished())
        && dir.join(name).exists()
}

#[test]
fn the_panel_pops_a_ringing_call_and_files_its_card_and_ticket() {
    let t = TestDir::new("web-crm").unwrap();
    let signals = t.sub("signals").unwrap();
    let mut p = Prepared::new(t.path()).unwrap();
    let seed = p.store.seed_demo_if_empty().unwrap().expect("the demo");
    carrier(&mut p.store, ports::free_port());
    p.store
        .set_user_password(ADMIN.0, ADMIN.1, Some(Role::Admin))
        .unwrap();
    let (agent, _, password, sip_password) = seed.agents[0].clone();
    let service = seed.service_number.clone();
    let callbox = p.start().unwrap();
    let mut phone = Baresip::start(
        BaresipOpts::new("softphone")
            .user(&agent)
            .register(callbox.sip, &sip_password)
            .tone(800)
            .answer(AnswerMode::Manual),
        t.path(),
    )
    .unwrap();
    phone.wait_registered(secs(5)).unwrap();

    let base = format!("http://{}", callbox.http);
    let dir = t.path().to_path_buf();
    let env: Vec<(String, String)> = [
        ("AGENT", agent.as_str()),
        ("AGENT_PASSWORD", password.as_str()),
        ("ADMIN_USER", ADMIN.0),
        ("ADMIN_PASSWORD", ADMIN.1),
        ("CALLER", CALLER),
        ("SERVICE", service.as_str()),
        ("SIGNAL_DIR", signals.to_str().unwrap()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let script = std::thread::spawn(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run_script("crm.mjs", &base, &env, &dir)
    });

    let mut customer = None;
    if said(&signals, "ready", &script) {
        customer = Some(
            Sipp::scenario("customer", "trunk_menu.xml", t.path())
                .substitute("sip:carrier@", &format!("sip:{CALLER}@"))
                .remote(callbox.sip)
                .local_ip(CARRIER_IP)
                .service(&service)
                .duration_ms(15000)
                .timeout(Duration::from_secs(60))
                .spawn()
                .unwrap(),
        );
        let rang = phone.wait_event("CALL_INCOMING", secs(15));
        assert!(
            rang.is_ok(),
            "the softphone rings: {rang:?}\n{}",
            callbox.log_tail()
        );
        if said(&signals, "answer", &script) {
            phone.answer().unwrap();
        }
    }
    let (ok, out) = script.join().expect("the script's thread");
    assert!(ok, "{out}\n{}", callbox.log_tail());
    let customer = customer.expect("the script said ready");
    let outcome = customer.finish(secs(30));
    assert!(
        outcome.all_ok(),
        "{}\n{}",
        outcome.describe(),
        callbox.log_tail()
    );

    // What the page saved is what the API has.
    let (code, card) = http::json(
        callbox.http,
        "GET",
        &format!("/api/v1/customers/{CALLER}"),
        "",
    );
    assert_eq!(code, 200, "{card}");
    assert_eq!(card["name"], "李先生", "{card}");
    let (code, tickets) = http::json(
        callbox.http,
        "GET",
        &format!("/api/v1/tickets?customer={CALLER}"),
        "",
    );
    assert_eq!(code, 200, "{tickets}");
    assert_eq!(tickets["total"], 1, "{tickets}");
    let ticket = &tickets["tickets"][0];
    assert_eq!(ticket["agent"], agent.as_str(), "{ticket}");
    assert_eq!(ticket["type_name"], "报修", "{ticket}");
    assert_eq!(ticket["fields"]["订单号"], "SO-2026-001", "{ticket}");
    assert_eq!(ticket["status"], "processing", "{ticket}");
    phone.quit();
    let status = callbox.stop();
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}
