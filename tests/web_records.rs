//! The records pages in Chromium (tests/web/records.mjs) against the real daemon: a
//! real recorded call (sipp as the carrier, baresip as agent 8001's desk phone) and
//! a dozen older calls written through the store, then 我的通话, 通话记录, exports,
//! 未接来电 and English, as an agent and an admin would use them.
//!
//! The script downloads both exports; this test reads them back (the CSV's lines,
//! the XLSX's sheet XML) and checks each holds the query's rows. Needs `make web`
//! and Chromium (see tests/web.rs).

mod common;

use std::io::Read;
use std::time::Duration;

use chrono::Utc;

use callbox::core::{
    AgentId, CallDirection, CallId, CallRecord, GroupId, HangupBy, Language, StoreOp,
};
use callbox::store::{NewGroup, Role, Store};
use common::TestDir;
use common::browser::run_script;
use common::callbox::Prepared;
use common::center::{self, CARRIER_IP, agent, agent_state, carrier, desk, desk_phone};
use common::http;
use common::sipp::Sipp;
use common::wait::{secs, wait_until};

const SERVICE: &str = "4008001234";
const ADMIN: (&str, &str) = ("admin", "admin-pass-123");

/// Calls of yesterday: inbound ones through 售后服务 (answered by 8002, abandoned in
/// the queue, no agent), outbound ones by 8002. Ids 1-12; the real call comes after.
fn older_calls(store: &mut Store, group: GroupId, a2: AgentId) {
    let yesterday = Utc::now() - chrono::Duration::days(1);
    for id in 1..=12i64 {
        let at = yesterday + chrono::Duration::minutes(id);
        let direction = if id % 4 == 0 {
            CallDirection::Outbound
        } else {
            CallDirection::Inbound
        };
        let mut c = CallRecord::begun(
            CallId(id),
            direction,
            format!("1390000{id:04}"),
            SERVICE.into(),
            at,
        );
        c.ended_at = Some(at + chrono::Duration::seconds(60));
        c.hangup_by = Some(HangupBy::Caller);
        c.sip_code = Some(200);
        match (direction, id % 4) {
            (CallDirection::Outbound, _) => {
                c.agent = Some(a2);
                c.answered_at = Some(at + chrono::Duration::seconds(5));
            }
            (_, 1) => {
                c.group = Some(group);
                c.wait_secs = Some(30);
                c.end_cause = Some("abandoned: the caller hung up after waiting 30 s".into());
            }
            (_, 2) => {
                c.group = Some(group);
                c.hangup_by = Some(HangupBy::System);
                c.end_cause = Some("nobody is logged in to 售后服务".into());
            }
            _ => {
                c.group = Some(group);
                c.agent = Some(a2);
                c.answered_at = Some(at + chrono::Duration::seconds(8));
            }
        }
        store.apply(&StoreOp::Call(Box::new(c))).unwrap();
    }
}

/// The first cells (call ids) of an XLSX's rows after the header.
fn xlsx_ids(path: &std::path::Path) -> Vec<String> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).expect("a zip");
    let mut xml = String::new();
    zip.by_name("xl/worksheets/sheet1.xml")
        .expect("the sheet")
        .read_to_string(&mut xml)
        .unwrap();
    xml.split("<row ")
        .skip(2)
        .map(|row| {
            let v = row.split("<v>").nth(1).unwrap_or_default();
            v.split("</v>").next().unwrap_or_default().to_string()
        })
        .collect()
}

#[test]
fn my_calls_the_advanced_query_exports_and_missed_calls_in_the_browser() {
    let t = TestDir::new("web-records").unwrap();
    let mut p = Prepared::new(t.path()).unwrap();
    let phone = desk(&mut p.store, "1001");
    let trunk = carrier(&mut p.store, 5999);
    p.store.add_service_number(SERVICE, trunk, None).unwrap();
    let mut group = NewGroup::new("售后服务");
    group.wrap_up = Duration::from_secs(1);
    let group = p.store.add_group(&group).unwrap();
    p.store
        .set_service_number_queue(SERVICE, Some(group), 0, Language::ZhCn)
        .unwrap();
    let a1 = agent(&mut p.store, "8001", Some(phone), None);
    let a2 = agent(&mut p.store, "8002", None, None);
    p.store.add_member(group, a1, 1).unwrap();
    p.store
        .set_user_password(ADMIN.0, ADMIN.1, Some(Role::Admin))
        .unwrap();
    older_calls(&mut p.store, group, a2);
    let callbox = p.start().unwrap();
    let mut desk1 = desk_phone(&t, &callbox, "1001", 1000);
    center::login(&callbox, "8001", Some("device"));

    // The real call: the carrier calls the service number, 8001's phone answers.
    let carrier = Sipp::scenario("carrier", "trunk_call.xml", t.path())
        .remote(callbox.sip)
        .local_ip(CARRIER_IP)
        .service(SERVICE)
        .duration_ms(3000)
        .timeout(Duration::from_secs(30))
        .spawn()
        .unwrap();
    desk1
        .wait_event("CALL_ESTABLISHED", secs(10))
        .unwrap_or_else(|e| panic!("8001's phone answers: {e}\n{}", callbox.log_tail()));
    let outcome = carrier.finish(secs(30));
    assert!(outcome.all_ok(), "{}", outcome.describe());
    let id = 13;
    let call = callbox.ended_call(id, Duration::from_secs(5));
    let store = callbox.store();
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
    // The browser signs the agent in again, as they would next morning.
    assert!(wait_until(secs(5), || agent_state(&callbox, "8001") == "idle"));
    let (code, body) = http::json(callbox.http, "POST", "/api/v1/agents/8001/logout", "{}");
    assert_eq!(code, 200, "{body}");

    let out = t.sub("downloads").unwrap();
    let id_text = id.to_string();
    let base = format!("http://{}", callbox.http);
    let (ok, output) = run_script(
        "records.mjs",
        &base,
        &[
            ("AGENT", "8001"),
            ("AGENT_PASSWORD", "secret-pw"),
            ("ADMIN", ADMIN.0),
            ("ADMIN_PASSWORD", ADMIN.1),
            ("CALL", &id_text),
            ("OUT", &out.to_string_lossy()),
        ],
        t.path(),
    );
    assert!(ok, "{output}\n{}", callbox.log_tail());

    // What the browser downloaded holds the query's rows.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let inbound = summary["inbound"].as_u64().unwrap() as usize;
    let (code, page) = http::json(
        callbox.http,
        "GET",
        "/api/v1/calls?direction=inbound&limit=500",
        "",
    );
    assert_eq!(code, 200);
    let want: Vec<String> = page["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["call"].to_string())
        .collect();
    assert_eq!(want.len(), inbound, "the page's total is the query's");
    assert!(
        want.contains(&id_text),
        "the real call is inbound: {want:?}"
    );
    let xlsx = xlsx_ids(std::path::Path::new(summary["xlsx"].as_str().unwrap()));
    assert_eq!(xlsx, want, "the XLSX's rows are the query's");
    let csv = std::fs::read_to_string(summary["csv"].as_str().unwrap()).unwrap();
    let csv_ids: Vec<String> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap_or_default().to_string())
        .collect();
    assert_eq!(csv_ids, want, "the CSV's rows are the query's");
    desk1.quit();
    assert!(callbox.stop().is_some());
}
