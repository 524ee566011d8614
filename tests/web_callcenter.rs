//! The whole call center as one browser story (issue 5's test list):
//! `tests/web/callcenter.mjs` in Debian's Chromium against the real daemon, a real
//! desk phone (baresip) and a real customer (sipp). Owns only this story; the pages
//! and their areas' own tests are not touched here.
//!
//! The store starts with the demo call center, a carrier at 127.0.0.2, an admin, and
//! a few earlier calls from other numbers (so the query has something to narrow).
//! Everything else is made in the browser: the admin creates a skill group, a desk
//! phone, a service number into the group's queue, a ticket type and an agent in the
//! group on that phone, then the script says `phone` (a file in SIGNAL_DIR) and this
//! test starts baresip with the login the admin typed. The agent signs in with
//! 坐席话机 and the script says `ready`: a customer on a Chengdu mobile calls the new
//! number. While the phone rings the pop shows the 归属地 and the service number;
//! then the script says `answer` and the phone answers, sending a tone. The agent
//! saves the card and a ticket, the customer hangs up after a few seconds; the call
//! is in 我的通话 and in the admin's query with its recording and trail, both exports
//! download, and the UI goes to English and back. This test then checks the call's
//! row, the customer and ticket over the API, the XLSX's rows, and the agent's tone
//! in the recording. Screenshots: `target/web-screenshots/callcenter-*.png`.
//! Needs `make web` (web/dist, node_modules) and Chromium.

mod common;

use std::io::Read;
use std::path::Path;
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::Utc;

use callbox::core::{CallDirection, CallId, CallRecord, HangupBy, StoreOp};
use callbox::store::{Role, Store};
use common::TestDir;
use common::audio::{has_tone, read_channel};
use common::baresip::{AnswerMode, Baresip, BaresipOpts};
use common::browser::run_script;
use common::callbox::{Callbox, Prepared};
use common::center::{CARRIER_IP, agent_view, carrier};
use common::http;
use common::live::rms;
use common::ports;
use common::sipp::{Sipp, SippRun};
use common::wait::{secs, wait_until};

const ADMIN: (&str, &str) = ("boss", "boss-password-1");
const GROUP: &str = "大客户服务";
const DEVICE: (&str, &str) = ("2801", "desk-pass-2801");
const AGENT: (&str, &str, &str) = ("8801", "王小明", "agent-pass-8801");
const SERVICE: &str = "4008009999";
const TICKET_TYPE: &str = "投诉";
/// A mobile the location table places in Chengdu (data/number-location.check.tsv).
const CALLER: &str = "15008433333";
const PLACE: &str = "四川省 成都市 · 中国移动";
/// What the desk phone sends: the agent's side of the recording.
const TONE: u32 = 1300;
/// How long the customer talks after the answer before hanging up.
const TALK_MS: u64 = 8000;
/// Earlier calls, from other numbers, to the demo's number (ids 1..=EARLIER).
const EARLIER: i64 = 5;

/// Waits for the script to say `name` (a file in `dir`), or to finish.
fn said(dir: &Path, name: &str, script: &JoinHandle<(bool, String)>) -> bool {
    wait_until(secs(90), || dir.join(name).exists() || script.is_finished())
        && dir.join(name).exists()
}

/// Calls of an hour ago from other numbers, answered by demo agent 8001 or not.
fn earlier_calls(store: &mut Store) {
    let demo = store.agent_record("8001").unwrap().expect("the demo agent");
    let at = Utc::now() - chrono::Duration::hours(1);
    for id in 1..=EARLIER {
        let start = at + chrono::Duration::minutes(id);
        let mut c = CallRecord::begun(
            CallId(id),
            CallDirection::Inbound,
            format!("1390000{id:04}"),
            "4008001234".into(),
            start,
        );
        c.service_number = Some("4008001234".into());
        c.ended_at = Some(start + chrono::Duration::seconds(40));
        c.hangup_by = Some(HangupBy::Caller);
        c.sip_code = Some(200);
        if id % 2 == 1 {
            c.agent = Some(demo.id);
            c.answered_at = Some(start + chrono::Duration::seconds(6));
        }
        store.apply(&StoreOp::Call(Box::new(c))).unwrap();
    }
}

/// The text of every cell of an XLSX's rows after the header (numbers and inline
/// strings alike), as rust_xlsxwriter's constant-memory sheet writes them.
fn xlsx_rows(path: &Path) -> Vec<Vec<String>> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).expect("a zip");
    let mut xml = String::new();
    zip.by_name("xl/worksheets/sheet1.xml")
        .expect("the sheet")
        .read_to_string(&mut xml)
        .unwrap();
    xml.split("<row ")
        .skip(2)
        .map(|row| {
            row.split("<c ")
                .skip(1)
                .map(|cell| {
                    let open = cell.find("<v>").map(|i| (i, "<v>", "</v>"));
                    let open = open.or(cell.find("<t>").map(|i| (i, "<t>", "</t>")));
                    open.and_then(|(i, tag, close)| {
                        let rest = &cell[i + tag.len()..];
                        rest.find(close).map(|j| rest[..j].to_string())
                    })
                    .unwrap_or_default()
                })
                .collect()
        })
        .collect()
}

/// The desk phone and the customer, started when the script says so.
#[derive(Default)]
struct Peers {
    phone: Option<Baresip>,
    caller: Option<SippRun>,
}

impl Peers {
    /// Plays the phone and the customer at the script's signals. A failure here is
    /// returned, not panicked, so the script (which then fails its own step within
    /// its deadline) is joined and its browser stopped before the test fails.
    fn play(
        &mut self,
        t: &TestDir,
        callbox: &Callbox,
        signals: &Path,
        script: &JoinHandle<(bool, String)>,
    ) -> Result<(), String> {
        if !said(signals, "phone", script) {
            return Ok(());
        }
        // The switchboard knows the agent made last, so the SIP room has the
        // directory with the phone made before it (it gets each directory first).
        if !wait_until(secs(10), || !agent_view(callbox, AGENT.0).is_null()) {
            return Err("the daemon never loaded the agent made in the browser".into());
        }
        let desk = Baresip::start(
            BaresipOpts::new("desk")
                .user(DEVICE.0)
                .register(callbox.sip, DEVICE.1)
                .tone(TONE)
                .answer(AnswerMode::Manual),
            t.path(),
        )
        .map_err(|e| format!("baresip starts: {e}"))?;
        let desk = self.phone.insert(desk);
        desk.wait_registered(secs(10))
            .map_err(|e| format!("the desk phone registers: {e}"))?;
        if !said(signals, "ready", script) {
            return Ok(());
        }
        // The customer: sipp as the carrier, calling the new number from CALLER.
        let caller = Sipp::scenario("customer", "trunk_call.xml", t.path())
            .substitute("sip:carrier@", &format!("sip:{CALLER}@"))
            .remote(callbox.sip)
            .local_ip(CARRIER_IP)
            .service(SERVICE)
            .duration_ms(TALK_MS)
            .timeout(Duration::from_secs(60))
            .spawn()
            .map_err(|e| format!("sipp starts: {e}"))?;
        self.caller = Some(caller);
        desk.wait_event("CALL_INCOMING", secs(15))
            .map_err(|e| format!("the desk phone rings: {e}"))?;
        if said(signals, "answer", script) {
            desk.answer()
                .map_err(|e| format!("the desk phone answers: {e}"))?;
        }
        Ok(())
    }
}

#[test]
fn an_admin_sets_up_a_call_center_and_an_agent_takes_and_files_a_call() {
    let t = TestDir::new("web-callcenter").unwrap();
    let signals = t.sub("signals").unwrap();
    let out = t.sub("downloads").unwrap();
    let mut p = Prepared::new(t.path()).unwrap();
    p.store.seed_demo_if_empty().unwrap().expect("the demo");
    carrier(&mut p.store, ports::free_port());
    p.store
        .set_user_password(ADMIN.0, ADMIN.1, Some(Role::Admin))
        .unwrap();
    earlier_calls(&mut p.store);
    let callbox = p.start().unwrap();

    let base = format!("http://{}", callbox.http);
    let dir = t.path().to_path_buf();
    let env: Vec<(String, String)> = [
        ("ADMIN_USER", ADMIN.0),
        ("ADMIN_PASSWORD", ADMIN.1),
        ("GROUP", GROUP),
        ("DEVICE_USER", DEVICE.0),
        ("DEVICE_PASSWORD", DEVICE.1),
        ("AGENT", AGENT.0),
        ("AGENT_NAME", AGENT.1),
        ("AGENT_PASSWORD", AGENT.2),
        ("SERVICE", SERVICE),
        ("TRUNK", "carrier"),
        ("TICKET_TYPE", TICKET_TYPE),
        ("CALLER", CALLER),
        ("PLACE", PLACE),
        ("SIGNAL_DIR", signals.to_str().unwrap()),
        ("OUT", out.to_str().unwrap()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let script = std::thread::spawn(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run_script("callcenter.mjs", &base, &env, &dir)
    });

    let mut peers = Peers::default();
    let trouble = peers.play(&t, &callbox, &signals, &script).err();
    let (ok, output) = script.join().expect("the script's thread");
    assert!(
        trouble.is_none(),
        "{trouble:?}\n{output}\n{}",
        callbox.log_tail()
    );
    assert!(ok, "{output}\n{}", callbox.log_tail());
    let outcome = peers
        .caller
        .expect("the script said ready")
        .finish(secs(30));
    assert!(
        outcome.all_ok(),
        "{}\n{}",
        outcome.describe(),
        callbox.log_tail()
    );

    // The call's row: answered by the new agent, the customer hung up.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let id = summary["call"].as_i64().expect("the call's id");
    assert_eq!(
        id,
        EARLIER + 1,
        "the story's call is the one after the earlier ones"
    );
    let call = callbox.ended_call(id, Duration::from_secs(5));
    let store = callbox.store();
    let agent = store.agent_record(AGENT.0).unwrap().expect("the agent");
    assert_eq!(call.from_number, CALLER, "{call:?}");
    assert_eq!(call.service_number.as_deref(), Some(SERVICE), "{call:?}");
    assert!(call.answered_at.is_some(), "answered: {call:?}");
    assert_eq!(call.agent, Some(agent.id), "taken by {}: {call:?}", AGENT.0);
    assert_eq!(call.hangup_by, Some(HangupBy::Caller), "{call:?}");

    // What the pages saved is what the API has.
    let (code, card) = http::json(
        callbox.http,
        "GET",
        &format!("/api/v1/customers/{CALLER}"),
        "",
    );
    assert_eq!(code, 200, "{card}");
    assert_eq!(card["name"], "刘女士", "{card}");
    assert_eq!(card["company"], "成都某某科技有限公司", "{card}");
    let (code, tickets) = http::json(
        callbox.http,
        "GET",
        &format!("/api/v1/tickets?customer={CALLER}"),
        "",
    );
    assert_eq!(code, 200, "{tickets}");
    assert_eq!(tickets["total"], 1, "{tickets}");
    let ticket = &tickets["tickets"][0];
    assert_eq!(ticket["type_name"], TICKET_TYPE, "{ticket}");
    assert_eq!(ticket["agent"], AGENT.0, "{ticket}");
    assert_eq!(ticket["title"], "发票抬头错误", "{ticket}");
    assert_eq!(ticket["fields"]["订单号"], "SO-2026-088", "{ticket}");
    assert_eq!(ticket["call"], id, "the ticket is the call's: {ticket}");

    // The XLSX the browser downloaded holds the query's one row.
    assert_eq!(summary["total"], 1, "{summary}");
    let rows = xlsx_rows(Path::new(summary["xlsx"].as_str().unwrap()));
    let (code, query) = http::json(
        callbox.http,
        "GET",
        &format!(
            "/api/v1/calls?number={CALLER}&direction=inbound&agent={}&limit=100",
            AGENT.0
        ),
        "",
    );
    assert_eq!(code, 200, "{query}");
    let want: Vec<String> = query["calls"]
        .as_array()
        .map(|calls| calls.iter().map(|c| c["call"].to_string()).collect())
        .unwrap_or_default();
    let got: Vec<String> = rows.iter().map(|r| r[0].clone()).collect();
    assert_eq!(got, want, "the XLSX's calls are the query's");
    assert_eq!(got, [id.to_string()], "{rows:?}");
    assert!(rows[0].iter().any(|c| c == CALLER), "{rows:?}");
    assert!(rows[0].iter().any(|c| c == AGENT.0), "{rows:?}");

    // The recording: the phone's tone on the agent's side, not on the customer's.
    let wav = callbox
        .data_dir
        .join(call.recording.as_ref().expect("recorded"));
    assert!(
        wait_until(secs(5), || store
            .recording_seconds(&wav)
            .ok()
            .flatten()
            .is_some()),
        "the recording is closed"
    );
    assert!(
        has_tone(&wav, 1, f64::from(TONE)).unwrap(),
        "right: the desk phone's tone"
    );
    assert!(
        !has_tone(&wav, 0, f64::from(TONE)).unwrap(),
        "left: the customer"
    );

    // And the phone heard the customer (sipp's recorded speech), not silence.
    let desk = peers.phone.expect("the phone ran");
    let heard = desk.wait_recording(secs(5)).unwrap();
    let heard = read_channel(&heard, 0).unwrap();
    assert!(
        rms(&heard) > 0.01,
        "the desk phone heard the customer: rms {}",
        rms(&heard)
    );
    desk.quit();
    let status = callbox.stop();
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}
