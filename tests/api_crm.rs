//! The customer side of the workspace (S12) against the real daemon: a real call,
//! then its screen pop, customer cards, tickets and ticket types over HTTP.
//!
//! The call: the demo call center (its service number 4008001234 and menu 默认流程,
//! agents 8001 and 8002) with a carrier trunk at 127.0.0.2; a customer (sipp) calls
//! from 13815173333, presses 1, waits in 售前咨询's queue and rings agent 8001's
//! softphone (baresip, answering when told). While it rings and once answered, the
//! pop names the number's 归属地 (江苏省 镇江市 中国移动: what libphonenumber answers,
//! `data/number-location.check.tsv`), the service number and the IVR path; 8002's
//! session gets 403 on it. Then the card round trip, tickets opened from the call and
//! changed, with SQL-looking text kept verbatim and bad input named; the history.
//!
//! `ticket_types_are_admin_only_and_checked` needs no call: the types' CRUD, 404s,
//! 409 for a type in use, and agents' 403s.

mod common;

use std::time::Duration;

use common::TestDir;
use common::baresip::{AnswerMode, Baresip, BaresipOpts};
use common::callbox::{Callbox, Prepared};
use common::center::{CARRIER_IP, carrier};
use common::ports;
use common::session::{Reply, Session, login, send};
use common::sipp::Sipp;
use common::wait::{secs, wait_for};
use serde_json::{Value, json};

const SQLISH: &str = "'; DROP TABLE customers; --";
const CALLER: &str = "13815173333";
const SERVICE: &str = "4008001234";

/// The demo call center with a carrier at 127.0.0.2; the logins of its two agents
/// (number, web password, SIP password).
fn demo(t: &TestDir) -> (Callbox, Vec<(String, String, String)>) {
    let mut p = Prepared::new(t.path()).unwrap();
    let seed = p.store.seed_demo_if_empty().unwrap().expect("the demo");
    assert_eq!(seed.service_number, SERVICE);
    carrier(&mut p.store, ports::free_port());
    let agents = seed
        .agents
        .iter()
        .map(|(n, _, web, sip)| (n.clone(), web.clone(), sip.clone()))
        .collect();
    (p.start().unwrap(), agents)
}

fn call(c: &Callbox, who: Option<&Session>, method: &str, path: &str, body: Value) -> Reply {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    send(c.http, method, &format!("/api/v1{path}"), &body, who)
}

/// The answer is `code`; on 400 and 403, `field` is the field named.
#[track_caller]
fn expect(r: &Reply, code: u16, field: Option<&str>) -> Value {
    let v = r.json();
    assert_eq!(r.code, code, "{}", r.text);
    if let Some(field) = field {
        assert_eq!(v["field"], field, "{}", r.text);
        assert!(
            v["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{}",
            r.text
        );
    }
    v
}

#[test]
fn a_real_call_pops_its_place_source_and_path_and_is_filed_by_its_agent() {
    let t = TestDir::new("api-crm").unwrap();
    let (callbox, agents) = demo(&t);
    let (me, my_pw, my_sip) = agents[0].clone();
    let (other, other_pw, _) = agents[1].clone();
    let c = &callbox;

    let mut phone = Baresip::start(
        BaresipOpts::new("softphone")
            .user(&me)
            .register(c.sip, &my_sip)
            .tone(800)
            .answer(AnswerMode::Manual),
        t.path(),
    )
    .unwrap();
    phone.wait_registered(secs(5)).unwrap();
    let mine = login(c.http, &me, &my_pw);
    let theirs = login(c.http, &other, &other_pw);
    expect(
        &call(
            c,
            Some(&mine),
            "POST",
            &format!("/agents/{me}/login"),
            json!({"mode": "softphone"}),
        ),
        200,
        None,
    );
    let kind = call(
        c,
        None,
        "POST",
        "/ticket-types",
        json!({
            "name": "报修",
            "fields": [
                {"name": "订单号", "required": true},
                {"name": "渠道", "options": ["电话", "微信"]}
            ]
        }),
    );
    let kind = expect(&kind, 201, None)["id"].as_i64().unwrap();

    let customer = Sipp::scenario("customer", "trunk_menu.xml", t.path())
        .substitute("sip:carrier@", &format!("sip:{CALLER}@"))
        .remote(c.sip)
        .local_ip(CARRIER_IP)
        .service(SERVICE)
        .duration_ms(6000)
        .timeout(Duration::from_secs(30))
        .spawn()
        .unwrap();
    phone
        .wait_event("CALL_INCOMING", secs(10))
        .unwrap_or_else(|e| panic!("8001's softphone rings: {e}\n{}", c.log_tail()));
    let bar = expect(
        &call(
            c,
            Some(&mine),
            "GET",
            &format!("/agents/{me}/call"),
            Value::Null,
        ),
        200,
        None,
    );
    assert_eq!(bar["state"], "ringing", "{bar}");
    assert_eq!(bar["customer"], CALLER, "{bar}");
    let id = bar["call"].as_i64().unwrap();
    let pop_path = format!("/calls/{id}/pop");

    // While it rings: the pop, once the store has the IVR's line.
    let pop = wait_for(secs(5), || {
        let v = expect(
            &call(c, Some(&mine), "GET", &pop_path, Value::Null),
            200,
            None,
        );
        (v["ivr"].as_array().is_some_and(|s| !s.is_empty()) && v["queue"].is_object()).then_some(v)
    })
    .unwrap_or_else(|| panic!("the pop shows the IVR path: {}", c.log_tail()));
    assert_eq!(pop["number"], CALLER, "{pop}");
    assert_eq!(pop["state"], "waiting", "{pop}");
    assert_eq!(pop["location"]["province"], "江苏省", "{pop}");
    assert_eq!(pop["location"]["city"], "镇江市", "{pop}");
    assert_eq!(pop["location"]["carrier"], "中国移动", "{pop}");
    assert_eq!(pop["service_number"], SERVICE, "{pop}");
    let step = &pop["ivr"][0];
    assert_eq!(
        (&step["flow"], &step["keys"], &step["to_kind"], &step["to"]),
        (
            &json!("默认流程"),
            &json!(["1"]),
            &json!("queue"),
            &json!("售前咨询")
        ),
        "{pop}"
    );
    assert_eq!(pop["queue"]["group"], "售前咨询", "{pop}");
    assert!(pop["queue"]["wait_secs"].as_i64().is_some(), "{pop}");
    assert_eq!(pop["vip"], false);
    assert!(pop["customer"].is_null(), "a new caller has no card: {pop}");
    assert_eq!(
        (&pop["past_calls"], &pop["open_tickets"]),
        (&json!(0), &json!(0))
    );
    expect(
        &call(c, Some(&theirs), "GET", &pop_path, Value::Null),
        403,
        Some("call"),
    );
    expect(
        &call(
            c,
            Some(&theirs),
            "GET",
            &format!("/customers/{CALLER}"),
            Value::Null,
        ),
        403,
        Some("number"),
    );

    // Answered on the softphone: the pop says so, for the agent and a supervisor.
    phone.answer().unwrap();
    let answered = wait_for(secs(5), || {
        let v = expect(
            &call(c, Some(&mine), "GET", &pop_path, Value::Null),
            200,
            None,
        );
        (v["state"] == "answered").then_some(v)
    })
    .unwrap_or_else(|| panic!("the pop says answered: {}", c.log_tail()));
    assert_eq!(answered["agent"], me.as_str(), "{answered}");
    expect(&call(c, None, "GET", &pop_path, Value::Null), 200, None);
    expect(
        &call(c, Some(&theirs), "GET", &pop_path, Value::Null),
        403,
        Some("call"),
    );

    // The card: none yet; saved by the agent, SQL-looking text kept; VIP is not theirs.
    let card_path = format!("/customers/{CALLER}");
    expect(
        &call(c, Some(&mine), "GET", &card_path, Value::Null),
        404,
        None,
    );
    let card = json!({
        "name": SQLISH, "company": "镇江某某公司", "email": "li@example.com",
        "address": "江苏省镇江市", "notes": format!("第一行\n{SQLISH}"), "tags": ["老客户", "报修"]
    });
    let saved = expect(
        &call(c, Some(&mine), "PUT", &card_path, card.clone()),
        201,
        None,
    );
    for k in ["name", "company", "email", "address", "notes", "tags"] {
        assert_eq!(saved[k], card[k], "{k}: {saved}");
    }
    assert_eq!(saved["updated_by"], me.as_str());
    let read = expect(
        &call(c, Some(&mine), "GET", &card_path, Value::Null),
        200,
        None,
    );
    assert_eq!(read["name"], SQLISH);
    // VIP callers jump the queue: a supervisor's call, not an agent's.
    expect(
        &call(c, Some(&mine), "PUT", &card_path, json!({"vip": true})),
        403,
        Some("vip"),
    );
    for (body, field) in [
        (json!({"email": "not-an-address"}), "email"),
        (json!({"name": "x".repeat(65)}), "name"),
        (json!({"tags": "one"}), "tags"),
        (json!({"tags": ["a", "a"]}), "tags"),
        (json!({"notes": 5}), "notes"),
        (json!({"nickname": "x"}), "nickname"),
        (json!({"address": "a\u{0}b"}), "address"),
    ] {
        expect(
            &call(c, Some(&mine), "PUT", &card_path, body),
            400,
            Some(field),
        );
    }
    expect(
        &call(c, Some(&theirs), "PUT", &card_path, json!({"name": "x"})),
        403,
        Some("number"),
    );
    expect(
        &call(c, Some(&mine), "GET", "/customers/12ab", Value::Null),
        400,
        Some("number"),
    );
    // Search is for supervisors and admins (this machine is an admin).
    expect(
        &call(c, Some(&mine), "GET", "/customers?q=DROP", Value::Null),
        403,
        None,
    );
    let found = expect(
        &call(c, None, "GET", "/customers?q=DROP%20TABLE", Value::Null),
        200,
        None,
    );
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["customers"][0]["name"], SQLISH);
    expect(
        &call(c, None, "GET", "/customers?page=2", Value::Null),
        400,
        Some("page"),
    );
    let vip = expect(
        &call(c, None, "PUT", &card_path, json!({"vip": true})),
        200,
        None,
    );
    assert_eq!(
        (&vip["vip"], &vip["name"]),
        (&json!(true), &json!(SQLISH)),
        "{vip}"
    );

    // A ticket for the call, with bad input named; another agent may not.
    let good = json!({
        "type": kind, "title": "空调不制冷", "priority": "high", "call": id,
        "description": SQLISH, "fields": {"订单号": SQLISH, "渠道": "电话"}
    });
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = good.clone();
        b.as_object_mut().unwrap().remove(k);
        b
    };
    for (body, field) in [
        (without("title"), "title"),
        (without("type"), "type"),
        (with("type", json!(9999)), "type"),
        (with("type", json!("报修")), "type"),
        (with("priority", json!("asap")), "priority"),
        (with("status", json!(3)), "status"),
        (with("call", json!(999_999)), "call"),
        (with("customer", json!("abc")), "customer"),
        (with("fields", json!({"渠道": "电话"})), "fields"),
        (
            with("fields", json!({"渠道": "邮件", "订单号": "1"})),
            "fields",
        ),
        (
            with("fields", json!({"颜色": "红", "订单号": "1"})),
            "fields",
        ),
        (with("agent", json!("8002")), "agent"),
    ] {
        expect(
            &call(c, Some(&mine), "POST", "/tickets", body),
            400,
            Some(field),
        );
    }
    expect(
        &call(c, Some(&theirs), "POST", "/tickets", good.clone()),
        403,
        Some("call"),
    );
    let made = expect(
        &call(c, Some(&mine), "POST", "/tickets", good.clone()),
        201,
        None,
    );
    assert_eq!(made["customer"], CALLER, "the call's caller: {made}");
    assert_eq!(made["agent"], me.as_str(), "the caller's own agent: {made}");
    assert_eq!(made["status"], "open");
    assert_eq!(made["description"], SQLISH);
    assert_eq!(made["fields"]["订单号"], SQLISH);
    let ticket = made["id"].as_i64().unwrap();

    let listed = expect(
        &call(
            c,
            Some(&mine),
            "GET",
            &format!("/tickets?customer={CALLER}"),
            Value::Null,
        ),
        200,
        None,
    );
    assert_eq!(listed["total"], 1, "{listed}");
    let none = expect(
        &call(c, Some(&theirs), "GET", "/tickets", Value::Null),
        200,
        None,
    );
    assert_eq!(none["total"], 0, "another agent sees none: {none}");
    expect(
        &call(
            c,
            Some(&theirs),
            "GET",
            &format!("/tickets/{ticket}"),
            Value::Null,
        ),
        403,
        None,
    );
    expect(
        &call(c, None, "GET", "/tickets?status=done", Value::Null),
        400,
        Some("status"),
    );
    expect(
        &call(c, None, "GET", "/tickets?limit=0", Value::Null),
        400,
        Some("limit"),
    );
    let mine_only = expect(
        &call(
            c,
            None,
            "GET",
            &format!("/tickets?agent={me}&status=open"),
            Value::Null,
        ),
        200,
        None,
    );
    assert_eq!(mine_only["total"], 1, "{mine_only}");

    let ticket_path = format!("/tickets/{ticket}");
    let patched = json!({"status": "processing", "description": format!("{SQLISH} 已派单")});
    let changed = expect(
        &call(c, Some(&mine), "PATCH", &ticket_path, patched.clone()),
        200,
        None,
    );
    assert_eq!(changed["status"], "processing");
    assert_eq!(changed["description"], patched["description"]);
    assert_eq!(changed["fields"], made["fields"], "unchanged fields stay");
    for (body, field) in [
        (json!({"status": "done"}), "status"),
        (json!({"title": ""}), "title"),
        (json!({"fields": {"订单号": ""}}), "fields"),
        (json!({"customer": "139"}), "customer"),
    ] {
        expect(
            &call(c, Some(&mine), "PATCH", &ticket_path, body),
            400,
            Some(field),
        );
    }
    expect(
        &call(
            c,
            Some(&theirs),
            "PATCH",
            &ticket_path,
            json!({"status": "closed"}),
        ),
        403,
        None,
    );
    expect(
        &call(
            c,
            Some(&mine),
            "PATCH",
            "/tickets/999999",
            json!({"status": "closed"}),
        ),
        404,
        None,
    );
    expect(
        &call(c, Some(&mine), "PATCH", "/tickets/abc", json!({})),
        400,
        Some("id"),
    );

    // The call ends; the pop keeps it, now with the card, and the history has it.
    let outcome = customer.finish(secs(30));
    assert!(outcome.all_ok(), "{}\n{}", outcome.describe(), c.log_tail());
    callbox.ended_call(id, Duration::from_secs(5));
    let after = expect(
        &call(c, Some(&mine), "GET", &pop_path, Value::Null),
        200,
        None,
    );
    assert_eq!(after["state"], "ended");
    assert_eq!(after["vip"], true);
    assert_eq!(after["customer"]["name"], SQLISH);
    assert_eq!(after["open_tickets"], 1);
    let history = expect(
        &call(
            c,
            Some(&mine),
            "GET",
            &format!("/customers/{CALLER}/calls"),
            Value::Null,
        ),
        200,
        None,
    );
    assert_eq!(history["total"], 1, "{history}");
    let row = &history["calls"][0];
    assert_eq!(
        (&row["call"], &row["direction"], &row["result"]),
        (&json!(id), &json!("inbound"), &json!("answered")),
        "{row}"
    );
    assert_eq!(row["agent"], me.as_str());
    assert_eq!(row["group"], "售前咨询");
    assert!(row["talk_secs"].as_i64().is_some_and(|s| s >= 1), "{row}");
    expect(
        &call(
            c,
            Some(&theirs),
            "GET",
            &format!("/customers/{CALLER}/calls"),
            Value::Null,
        ),
        403,
        Some("number"),
    );

    // Unknown and malformed calls.
    expect(
        &call(c, Some(&mine), "GET", "/calls/999999/pop", Value::Null),
        404,
        None,
    );
    expect(
        &call(c, Some(&mine), "GET", "/calls/x1/pop", Value::Null),
        400,
        Some("call"),
    );
    phone.quit();
    let status = callbox.stop();
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}

#[test]
fn ticket_types_are_admin_only_and_checked() {
    let t = TestDir::new("api-crm-types").unwrap();
    let (callbox, agents) = demo(&t);
    let c = &callbox;
    let agent = login(c.http, &agents[0].0, &agents[0].1);

    let made = expect(
        &call(c, None, "POST", "/ticket-types", json!({"name": SQLISH})),
        201,
        None,
    );
    assert_eq!(
        (&made["name"], &made["enabled"], &made["fields"]),
        (&json!(SQLISH), &json!(true), &json!([]))
    );
    let id = made["id"].as_i64().unwrap();
    for (body, field) in [
        (json!({"name": SQLISH}), "name"),
        (json!({"name": ""}), "name"),
        (json!({}), "name"),
        (json!({"name": 7}), "name"),
        (json!({"name": "咨询", "enabled": "yes"}), "enabled"),
        (json!({"name": "咨询", "fields": "订单号"}), "fields"),
        (json!({"name": "咨询", "fields": [{"name": ""}]}), "fields"),
        (
            json!({"name": "咨询", "fields": [{"name": "a"}, {"name": "a"}]}),
            "fields",
        ),
        (
            json!({"name": "咨询", "fields": [{"name": "a", "kind": "x"}]}),
            "fields",
        ),
        (
            json!({"name": "咨询", "fields": [{"name": "a", "options": [1]}]}),
            "fields",
        ),
        (json!({"name": "咨询", "colour": "red"}), "colour"),
    ] {
        expect(
            &call(c, None, "POST", "/ticket-types", body),
            400,
            Some(field),
        );
    }
    let path = format!("/ticket-types/{id}");
    let renamed = expect(
        &call(
            c,
            None,
            "PUT",
            &path,
            json!({
                "name": "咨询", "enabled": false, "fields": [{"name": "产品", "required": true, "options": ["空调", "冰箱"]}]
            }),
        ),
        200,
        None,
    );
    assert_eq!(renamed["fields"][0]["options"], json!(["空调", "冰箱"]));
    assert_eq!(
        expect(&call(c, Some(&agent), "GET", &path, Value::Null), 200, None)["name"],
        "咨询"
    );
    let enabled = expect(
        &call(
            c,
            Some(&agent),
            "GET",
            "/ticket-types?enabled=true",
            Value::Null,
        ),
        200,
        None,
    );
    assert_eq!(enabled, json!([]), "a disabled type is not offered");
    expect(
        &call(c, None, "GET", "/ticket-types?enabled=maybe", Value::Null),
        400,
        Some("enabled"),
    );
    let disabled = json!({"type": id, "title": "x", "fields": {"产品": "空调"}});
    expect(
        &call(c, None, "POST", "/tickets", disabled.clone()),
        400,
        Some("type"),
    );
    expect(
        &call(
            c,
            None,
            "PUT",
            &path,
            json!({"name": "咨询", "fields": [{"name": "产品", "required": true, "options": ["空调", "冰箱"]}]}),
        ),
        200,
        None,
    );
    let used = expect(&call(c, None, "POST", "/tickets", disabled), 201, None);
    assert!(
        used["agent"].is_null() && used["customer"].is_null(),
        "{used}"
    );
    expect(&call(c, None, "DELETE", &path, Value::Null), 409, None);

    // Agents read types but never change them.
    expect(
        &call(
            c,
            Some(&agent),
            "POST",
            "/ticket-types",
            json!({"name": "投诉"}),
        ),
        403,
        None,
    );
    expect(
        &call(c, Some(&agent), "PUT", &path, json!({"name": "投诉"})),
        403,
        None,
    );
    expect(
        &call(c, Some(&agent), "DELETE", &path, Value::Null),
        403,
        None,
    );
    expect(
        &call(c, Some(&agent), "GET", "/customers", Value::Null),
        403,
        None,
    );
    let list = expect(
        &call(c, Some(&agent), "GET", "/ticket-types", Value::Null),
        200,
        None,
    );
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["tickets"], 1);

    let spare = expect(
        &call(c, None, "POST", "/ticket-types", json!({"name": "投诉"})),
        201,
        None,
    );
    let spare_path = format!("/ticket-types/{}", spare["id"]);
    expect(
        &call(c, None, "DELETE", &spare_path, Value::Null),
        200,
        None,
    );
    for (method, body) in [
        ("GET", Value::Null),
        ("PUT", json!({"name": "x"})),
        ("DELETE", Value::Null),
    ] {
        expect(&call(c, None, method, &spare_path, body), 404, None);
    }
    expect(
        &call(c, None, "GET", "/ticket-types/abc", Value::Null),
        400,
        Some("id"),
    );
    let status = callbox.stop();
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}
