//! The console's people and phones against the real daemon on a temp data dir:
//! agents, devices, skill groups, busy reasons and web users made, changed and
//! removed over HTTP by an admin's session; every write refusing bad input with a 400
//! that names the field; an agent's session refused the console (403) but reading
//! the workspace's lists (brief); SQL-looking names kept verbatim; an agent made
//! through the API logging in to the web and the ACD and showing idle in its group;
//! and a softphone registering and showing `registered: true` in `GET /devices`.

mod common;

use callbox::store::{NewDevice, Role};
use common::TestDir;
use common::baresip::{Baresip, BaresipOpts};
use common::callbox::{Callbox, Prepared};
use common::session::{Session, login, send};
use common::wait::{secs, wait_for};
use serde_json::{Value, json};

const SQLISH: &str = "'; DROP TABLE agents; --";
const ADMIN: (&str, &str) = ("boss", "boss-secret-1");

/// A daemon with one admin user and one spare device (which keeps the demo call
/// center from being seeded: it seeds only a database that never held anything).
fn empty_center(t: &TestDir) -> Callbox {
    let mut p = Prepared::new(t.path()).unwrap();
    p.store
        .add_device(&NewDevice {
            user: "9000".into(),
            password: "spare-secret".into(),
            name: "spare".into(),
            static_contact: None,
        })
        .unwrap();
    p.store
        .set_user_password(ADMIN.0, ADMIN.1, Some(Role::Admin))
        .unwrap();
    p.start().unwrap()
}

/// One request of `s` with a JSON body (`Value::Null`: none); status and JSON answer.
fn call(c: &Callbox, s: &Session, method: &str, path: &str, body: Value) -> (u16, Value) {
    let text = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let r = send(c.http, method, &format!("/api/v1{path}"), &text, Some(s));
    (r.code, r.json())
}

/// Like `call`, but the status must be `want`.
fn must(c: &Callbox, s: &Session, want: u16, method: &str, path: &str, body: Value) -> Value {
    let (code, v) = call(c, s, method, path, body.clone());
    assert_eq!(code, want, "{method} {path} {body} -> {code} {v}");
    v
}

fn field(v: &Value) -> &str {
    v["field"].as_str().unwrap_or("")
}

#[test]
fn an_admin_makes_changes_and_removes_each_kind_and_the_new_agent_works() {
    let t = TestDir::new("staff-crud").unwrap();
    let c = empty_center(&t);
    let admin = login(c.http, ADMIN.0, ADMIN.1);

    // Devices.
    let desk = must(
        &c,
        &admin,
        201,
        "POST",
        "/devices",
        json!({"user": "1101", "password": "desk-secret", "name": "前台话机"}),
    );
    assert_eq!(desk["user"], "1101");
    assert_eq!(desk["registration"]["registered"], false);
    assert!(
        desk.get("password").is_none(),
        "passwords are never answered: {desk}"
    );
    let desk_id = desk["id"].as_i64().unwrap();
    let gw = must(
        &c,
        &admin,
        201,
        "POST",
        "/devices",
        json!({"user": "gw1", "password": "gw-secret", "static_contact": "sip:127.0.0.1:5999"}),
    );
    let gw_id = gw["id"].as_i64().unwrap();
    let v = must(
        &c,
        &admin,
        409,
        "POST",
        "/devices",
        json!({"user": "1101", "password": "another1"}),
    );
    assert_eq!(field(&v), "user");
    let v = must(
        &c,
        &admin,
        200,
        "PATCH",
        &format!("/devices/{gw_id}"),
        json!({"name": "网关", "static_contact": null}),
    );
    assert_eq!(
        (v["name"].as_str(), v["static_contact"].as_str()),
        (Some("网关"), None)
    );

    // A skill group with every queue setting.
    let g = must(
        &c,
        &admin,
        201,
        "POST",
        "/groups",
        json!({
            "name": "售前咨询", "strategy": "top-down", "ring_timeout": 15, "max_no_answer": 2,
            "wrap_up": 5, "max_wait": 120, "overflow": "number", "overflow_number": "13800138000",
            "join_empty": false, "leave_empty": true, "announce_every": 30
        }),
    );
    let gid = g["id"].as_i64().unwrap();
    assert_eq!(
        (
            g["strategy"].as_str(),
            g["ring_timeout"].as_i64(),
            g["overflow"].as_str(),
            g["overflow_number"].as_str(),
            g["announce_every"].as_i64(),
            g["join_empty"].as_bool()
        ),
        (
            Some("top-down"),
            Some(15),
            Some("number"),
            Some("13800138000"),
            Some(30),
            Some(false)
        )
    );
    let v = must(
        &c,
        &admin,
        409,
        "POST",
        "/groups",
        json!({"name": "售前咨询"}),
    );
    assert_eq!(field(&v), "name");
    let other = must(
        &c,
        &admin,
        201,
        "POST",
        "/groups",
        json!({"name": "售后服务"}),
    );
    let other_id = other["id"].as_i64().unwrap();

    // An agent in that group, on the desk phone, with a direct number.
    let a = must(
        &c,
        &admin,
        201,
        "POST",
        "/staff/agents",
        json!({
            "number": "8101", "name": "赵六", "web_password": "agent-pw-1",
            "bound_device": desk_id, "direct_number": "13900139000",
            "groups": [{"group": gid, "level": 2}], "allow_fallback": true, "confirm_direct": false
        }),
    );
    assert_eq!(a["bound_device"]["user"], "1101");
    assert_eq!(a["groups"][0]["name"], "售前咨询");
    assert_eq!(a["groups"][0]["level"], 2);
    assert_eq!(
        (a["allow_fallback"].as_bool(), a["confirm_direct"].as_bool()),
        (Some(true), Some(false))
    );
    assert!(a.get("web_password").is_none());
    let v = must(
        &c,
        &admin,
        409,
        "POST",
        "/staff/agents",
        json!({"number": "8101", "name": "x", "web_password": "agent-pw-2"}),
    );
    assert_eq!(field(&v), "number");
    // A desk phone serves one agent.
    let v = must(
        &c,
        &admin,
        400,
        "POST",
        "/staff/agents",
        json!({"number": "8102", "name": "孙七", "web_password": "agent-pw-2", "bound_device": desk_id}),
    );
    assert_eq!(field(&v), "bound_device");
    // Softphone mode with a login of its own; the group's members follow.
    let a = must(
        &c,
        &admin,
        200,
        "PATCH",
        "/staff/agents/8101",
        json!({
            "answer_mode": "softphone", "sip_password": "soft-secret", "supervisor": true,
            "groups": [{"group": gid, "level": 1}, {"group": other_id}]
        }),
    );
    assert_eq!(a["softphone_device"]["user"], "8101", "{a}");
    assert_eq!(
        (a["answer_mode"].as_str(), a["supervisor"].as_bool()),
        (Some("softphone"), Some(true))
    );
    let g = must(
        &c,
        &admin,
        200,
        "GET",
        &format!("/groups/{gid}"),
        Value::Null,
    );
    assert_eq!(g["members"][0]["agent"], "8101");
    assert_eq!(g["members"][0]["level"], 1);
    let devices = must(&c, &admin, 200, "GET", "/devices", Value::Null);
    let soft = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["user"] == "8101")
        .cloned()
        .unwrap();
    assert_eq!(soft["softphone_of"]["number"], "8101", "{devices}");
    let a = must(
        &c,
        &admin,
        200,
        "PATCH",
        "/staff/agents/8101",
        json!({"supervisor": false}),
    );
    assert_eq!(a["supervisor"], false);

    // The new agent logs in to the web (number + password) and to the ACD; the
    // directory reloads on its own within a moment.
    let agent = wait_for(secs(10), || {
        let body = json!({"user": "8101", "password": "agent-pw-1"}).to_string();
        let r = send(c.http, "POST", "/api/v1/session", &body, None);
        (r.code == 200).then(|| login(c.http, "8101", "agent-pw-1"))
    })
    .expect("the new agent logs in");
    let me = send(c.http, "GET", "/api/v1/session", "", Some(&agent)).json();
    assert_eq!(
        (me["role"].as_str(), me["direct_number"].as_str()),
        (Some("agent"), Some("13900139000"))
    );
    let logged = wait_for(secs(10), || {
        let (code, v) = call(
            &c,
            &agent,
            "POST",
            "/agents/8101/login",
            json!({"mode": "softphone"}),
        );
        (code == 200).then_some(v)
    })
    .expect("the ACD knows the new agent after the reload");
    assert_eq!(logged["state"], "idle", "{logged}");
    let groups = must(&c, &agent, 200, "GET", "/groups", Value::Null);
    let mine = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == gid)
        .cloned()
        .unwrap();
    assert_eq!(
        (mine["members"].as_i64(), mine["idle"].as_i64()),
        (Some(1), Some(1)),
        "{groups}"
    );
    assert!(
        mine.get("ring_timeout").is_none(),
        "an agent gets the picker's summary: {mine}"
    );
    let agents = must(&c, &agent, 200, "GET", "/agents", Value::Null);
    let keys: Vec<&String> = agents[0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["name", "number", "state"], "{agents}");
    let agents = must(&c, &admin, 200, "GET", "/agents", Value::Null);
    assert_eq!(agents[0]["direct_number"], "13900139000", "{agents}");
    let listed = must(&c, &admin, 200, "GET", "/staff/agents", Value::Null);
    assert_eq!(listed[0]["state"], "idle", "{listed}");

    // Logged in: neither removed nor renumbered.
    let v = must(&c, &admin, 409, "DELETE", "/staff/agents/8101", Value::Null);
    assert!(v["error"].as_str().unwrap().contains("log out"), "{v}");
    must(
        &c,
        &admin,
        409,
        "PATCH",
        "/staff/agents/8101",
        json!({"number": "8111"}),
    );
    must(
        &c,
        &admin,
        200,
        "PATCH",
        "/staff/agents/8101",
        json!({"name": "赵六六"}),
    );
    must(&c, &agent, 200, "POST", "/agents/8101/logout", json!({}));
    let a = must(
        &c,
        &admin,
        200,
        "PATCH",
        "/staff/agents/8101",
        json!({"number": "8111"}),
    );
    assert_eq!(
        (a["number"].as_str(), a["softphone_device"]["user"].as_str()),
        (Some("8111"), Some("8111"))
    );
    // A password reset: the new one works.
    must(
        &c,
        &admin,
        200,
        "PATCH",
        "/staff/agents/8111",
        json!({"web_password": "reset-pw-9"}),
    );
    login(c.http, "8111", "reset-pw-9");
    must(&c, &admin, 200, "DELETE", "/staff/agents/8111", Value::Null);
    must(&c, &admin, 404, "GET", "/staff/agents/8111", Value::Null);
    let devices = must(&c, &admin, 200, "GET", "/devices", Value::Null);
    assert!(
        devices
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["user"] != "8111"),
        "the own login went too: {devices}"
    );

    // Groups: change, members by number, exit key needs its flow, remove.
    let g = must(
        &c,
        &admin,
        200,
        "PATCH",
        &format!("/groups/{gid}"),
        json!({"overflow": "group", "overflow_group": other_id, "max_wait": null, "members": []}),
    );
    assert_eq!(
        (
            g["overflow_group"].as_i64(),
            g["max_wait"].as_i64(),
            g["member_count"].as_i64()
        ),
        (Some(other_id), None, Some(0))
    );
    let v = must(
        &c,
        &admin,
        400,
        "PATCH",
        &format!("/groups/{gid}"),
        json!({"exit_key": "0"}),
    );
    assert_eq!(field(&v), "exit_flow");
    let v = must(
        &c,
        &admin,
        400,
        "PATCH",
        &format!("/groups/{gid}"),
        json!({"exit_key": "0", "exit_flow": 999}),
    );
    assert_eq!(field(&v), "exit_flow");
    let v = must(
        &c,
        &admin,
        400,
        "PATCH",
        &format!("/groups/{gid}"),
        json!({"overflow": "group", "overflow_group": gid}),
    );
    assert_eq!(field(&v), "overflow");
    must(
        &c,
        &admin,
        200,
        "DELETE",
        &format!("/groups/{other_id}"),
        Value::Null,
    );
    let g = must(
        &c,
        &admin,
        200,
        "GET",
        &format!("/groups/{gid}"),
        Value::Null,
    );
    assert_eq!(
        g["overflow"], "hangup",
        "an overflow into a removed group is no overflow: {g}"
    );
    must(
        &c,
        &admin,
        404,
        "DELETE",
        &format!("/groups/{other_id}"),
        Value::Null,
    );

    // Busy reasons: replace, append, reorder, remove; everyone reads them.
    must(
        &c,
        &admin,
        200,
        "PUT",
        "/busy-reasons",
        json!({"reasons": ["会议", "午餐"]}),
    );
    let v = must(
        &c,
        &admin,
        201,
        "POST",
        "/busy-reasons",
        json!({"reason": "培训"}),
    );
    assert_eq!(v["reasons"], json!(["会议", "午餐", "培训"]));
    let v = must(
        &c,
        &admin,
        409,
        "POST",
        "/busy-reasons",
        json!({"reason": "午餐"}),
    );
    assert_eq!(field(&v), "reason");
    must(
        &c,
        &admin,
        200,
        "PUT",
        "/busy-reasons",
        json!({"reasons": ["培训", "会议", "午餐"]}),
    );
    let v = must(
        &c,
        &admin,
        200,
        "DELETE",
        "/busy-reasons/%E4%BC%9A%E8%AE%AE",
        Value::Null,
    );
    assert_eq!(v["reasons"], json!(["培训", "午餐"]));
    must(
        &c,
        &admin,
        404,
        "DELETE",
        "/busy-reasons/nothing",
        Value::Null,
    );

    // Users: add, link, the last admin kept.
    let u = must(
        &c,
        &admin,
        201,
        "POST",
        "/users",
        json!({"name": "值班主管", "role": "supervisor", "password": "duty-secret"}),
    );
    assert_eq!(u["role"], "supervisor");
    assert!(u.get("password").is_none());
    let v = must(
        &c,
        &admin,
        409,
        "POST",
        "/users",
        json!({"name": "值班主管", "role": "admin", "password": "duty-secret"}),
    );
    assert_eq!(field(&v), "name");
    let v = must(
        &c,
        &admin,
        409,
        "PATCH",
        "/users/boss",
        json!({"role": "supervisor"}),
    );
    assert!(
        v["error"].as_str().unwrap().contains("last enabled admin"),
        "{v}"
    );
    must(
        &c,
        &admin,
        409,
        "PATCH",
        "/users/boss",
        json!({"disabled": true}),
    );
    must(&c, &admin, 409, "DELETE", "/users/boss", Value::Null);
    let enc = "%E5%80%BC%E7%8F%AD%E4%B8%BB%E7%AE%A1";
    must(
        &c,
        &admin,
        200,
        "PATCH",
        &format!("/users/{enc}"),
        json!({"role": "admin"}),
    );
    let duty = login(c.http, "值班主管", "duty-secret");
    must(
        &c,
        &duty,
        200,
        "PATCH",
        &format!("/users/{enc}"),
        json!({"disabled": false}),
    );
    must(
        &c,
        &duty,
        200,
        "PATCH",
        "/users/boss",
        json!({"disabled": true}),
    );
    let r = send(c.http, "GET", "/api/v1/users", "", Some(&admin));
    assert_eq!(r.code, 401, "a disabled user's session ends");
    must(&c, &duty, 200, "DELETE", "/users/boss", Value::Null);
    must(&c, &duty, 404, "GET", "/users/boss", Value::Null);
    let v = must(
        &c,
        &duty,
        400,
        "POST",
        "/users",
        json!({"name": "小王", "role": "agent", "password": "xiaowang-1"}),
    );
    assert_eq!(field(&v), "agent");
    must(
        &c,
        &duty,
        200,
        "DELETE",
        &format!("/devices/{gw_id}"),
        Value::Null,
    );
    must(
        &c,
        &duty,
        404,
        "GET",
        &format!("/devices/{gw_id}"),
        Value::Null,
    );
}

#[test]
fn every_write_refuses_bad_input_naming_the_field() {
    let t = TestDir::new("staff-bad").unwrap();
    let c = empty_center(&t);
    let admin = login(c.http, ADMIN.0, ADMIN.1);
    let d = must(
        &c,
        &admin,
        201,
        "POST",
        "/devices",
        json!({"user": "1201", "password": "desk-secret"}),
    );
    let did = d["id"].as_i64().unwrap();
    let g = must(&c, &admin, 201, "POST", "/groups", json!({"name": "g1"}));
    let gid = g["id"].as_i64().unwrap();
    must(
        &c,
        &admin,
        201,
        "POST",
        "/staff/agents",
        json!({"number": "8201", "name": "a", "web_password": "agent-pw-1"}),
    );
    must(
        &c,
        &admin,
        201,
        "POST",
        "/users",
        json!({"name": "sup", "role": "supervisor", "password": "sup-secret"}),
    );
    let gp = format!("/groups/{gid}");
    let dp = format!("/devices/{did}");
    let agent = json!({"number": "8202", "name": "b", "web_password": "agent-pw-1"});
    let with = |base: &Value, k: &str, v: Value| {
        let mut o = base.clone();
        o[k] = v;
        o
    };
    let without = |base: &Value, k: &str| {
        let mut o = base.clone();
        o.as_object_mut().unwrap().remove(k);
        o
    };
    let device = json!({"user": "1202", "password": "desk-secret"});
    let group = json!({"name": "g2"});
    let user = json!({"name": "u2", "role": "admin", "password": "long-secret"});
    // (method, path, body, the field named)
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        ("POST", "/staff/agents", without(&agent, "number"), "number"),
        (
            "POST",
            "/staff/agents",
            without(&agent, "web_password"),
            "web_password",
        ),
        (
            "POST",
            "/staff/agents",
            with(&agent, "number", json!("80a1")),
            "number",
        ),
        (
            "POST",
            "/staff/agents",
            with(&agent, "web_password", json!("12345")),
            "web_password",
        ),
        (
            "POST",
            "/staff/agents",
            with(&agent, "name", json!(7)),
            "name",
        ),
        (
            "POST",
            "/staff/agents",
            with(&agent, "answer_mode", json!("fax")),
            "answer_mode",
        ),
        (
            "POST",
            "/staff/agents",
            with(&agent, "answer_mode", json!("direct")),
            "direct_number",
        ),
        (
            "POST",
            "/staff/agents",
            with(&agent, "answer_mode", json!("softphone")),
            "softphone_device",
        ),
        (
            "POST",
            "/staff/agents",
            with(&agent, "direct_number", json!("12ab")),
            "direct_number",
        ),
        (
            "POST",
            "/staff/agents",
            with(&agent, "bound_device", json!(999)),
            "bound_device",
        ),
        (
            "POST",
            "/staff/agents",
            with(&agent, "bound_device", json!(-1)),
            "bound_device",
        ),
        (
            "POST",
            "/staff/agents",
            with(&agent, "groups", json!([{"group": gid, "level": 0}])),
            "groups",
        ),
        (
            "POST",
            "/staff/agents",
            with(&agent, "groups", json!([{"group": 999}])),
            "groups",
        ),
        (
            "POST",
            "/staff/agents",
            with(&agent, "colour", json!("red")),
            "colour",
        ),
        ("PATCH", "/staff/agents/8201", json!({"name": ""}), "name"),
        (
            "PATCH",
            "/staff/agents/8201",
            json!({"offline_answering": true}),
            "direct_number",
        ),
        (
            "PATCH",
            "/staff/agents/8201",
            json!({"supervisor": "yes"}),
            "supervisor",
        ),
        (
            "PATCH",
            "/staff/agents/8201",
            json!({"sip_password": "123"}),
            "sip_password",
        ),
        (
            "PATCH",
            "/staff/agents/8201",
            json!({"softphone_device": did, "bound_device": did}),
            "softphone_device",
        ),
        ("PATCH", "/staff/agents/8201", json!({"nope": 1}), "nope"),
        ("POST", "/devices", without(&device, "user"), "user"),
        ("POST", "/devices", without(&device, "password"), "password"),
        (
            "POST",
            "/devices",
            with(&device, "user", json!("10 01")),
            "user",
        ),
        (
            "POST",
            "/devices",
            with(&device, "password", json!("123")),
            "password",
        ),
        (
            "POST",
            "/devices",
            with(&device, "static_contact", json!("10.0.0.1")),
            "static_contact",
        ),
        (
            "POST",
            "/devices",
            with(&device, "name", json!("x".repeat(65))),
            "name",
        ),
        ("POST", "/devices", with(&device, "mac", json!("x")), "mac"),
        ("PATCH", &dp, json!({"user": ""}), "user"),
        ("PATCH", &dp, json!({"password": 123456}), "password"),
        ("POST", "/groups", json!({}), "name"),
        (
            "POST",
            "/groups",
            with(&group, "strategy", json!("fastest")),
            "strategy",
        ),
        (
            "POST",
            "/groups",
            with(&group, "ring_timeout", json!(4)),
            "ring_timeout",
        ),
        (
            "POST",
            "/groups",
            with(&group, "ring_timeout", json!(301)),
            "ring_timeout",
        ),
        (
            "POST",
            "/groups",
            with(&group, "wrap_up", json!(-1)),
            "wrap_up",
        ),
        (
            "POST",
            "/groups",
            with(&group, "max_wait", json!(5)),
            "max_wait",
        ),
        (
            "POST",
            "/groups",
            with(&group, "max_no_answer", json!(101)),
            "max_no_answer",
        ),
        (
            "POST",
            "/groups",
            with(&group, "announce_every", json!(2.5)),
            "announce_every",
        ),
        (
            "POST",
            "/groups",
            with(&group, "overflow", json!("void")),
            "overflow",
        ),
        (
            "POST",
            "/groups",
            with(&group, "overflow", json!("group")),
            "overflow_group",
        ),
        (
            "POST",
            "/groups",
            with(&group, "overflow", json!("number")),
            "overflow_number",
        ),
        (
            "POST",
            "/groups",
            json!({"name": "g2", "overflow": "number", "overflow_number": "12-34"}),
            "overflow",
        ),
        (
            "POST",
            "/groups",
            json!({"name": "g2", "exit_key": "55", "exit_flow": 1}),
            "exit_key",
        ),
        (
            "POST",
            "/groups",
            with(&group, "members", json!([{"agent": "9999"}])),
            "members",
        ),
        (
            "POST",
            "/groups",
            with(&group, "members", json!([{"agent": "8201", "level": 100}])),
            "members",
        ),
        (
            "POST",
            "/groups",
            with(&group, "join_empty", json!(1)),
            "join_empty",
        ),
        ("POST", "/groups", with(&group, "queue", json!(1)), "queue"),
        ("PATCH", &gp, json!({"name": " "}), "name"),
        ("PATCH", &gp, json!({"leave_empty": null}), "leave_empty"),
        ("PUT", "/busy-reasons", json!({}), "reasons"),
        (
            "PUT",
            "/busy-reasons",
            json!({"reasons": ["a", "a"]}),
            "reasons",
        ),
        (
            "PUT",
            "/busy-reasons",
            json!({"reasons": ["x".repeat(33)]}),
            "reasons",
        ),
        ("PUT", "/busy-reasons", json!({"reasons": [1]}), "reasons"),
        (
            "PUT",
            "/busy-reasons",
            json!({"reasons": [], "more": 1}),
            "more",
        ),
        ("POST", "/busy-reasons", json!({}), "reason"),
        ("POST", "/busy-reasons", json!({"reason": ""}), "reason"),
        ("POST", "/users", without(&user, "password"), "password"),
        ("POST", "/users", without(&user, "role"), "role"),
        ("POST", "/users", with(&user, "role", json!("root")), "role"),
        (
            "POST",
            "/users",
            with(&user, "password", json!("short")),
            "password",
        ),
        ("POST", "/users", with(&user, "name", json!("8001")), "name"),
        (
            "POST",
            "/users",
            with(&user, "agent", json!("9999")),
            "agent",
        ),
        ("POST", "/users", with(&user, "email", json!("x")), "email"),
        ("PATCH", "/users/sup", json!({"role": "king"}), "role"),
        ("PATCH", "/users/sup", json!({"disabled": "no"}), "disabled"),
        (
            "PATCH",
            "/users/sup",
            json!({"password": "short"}),
            "password",
        ),
    ];
    for (method, path, body, want) in &cases {
        let (code, v) = call(&c, &admin, method, path, body.clone());
        assert_eq!(
            (code, field(&v)),
            (400, *want),
            "{method} {path} {body} -> {v}"
        );
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
    }
    // Malformed JSON, and a body that is not an object, on every write.
    let writes = [
        ("POST", "/staff/agents".to_string()),
        ("PATCH", "/staff/agents/8201".into()),
        ("POST", "/devices".into()),
        ("PATCH", dp.clone()),
        ("POST", "/groups".into()),
        ("PATCH", gp.clone()),
        ("PUT", "/busy-reasons".into()),
        ("POST", "/busy-reasons".into()),
        ("POST", "/users".into()),
        ("PATCH", "/users/sup".into()),
    ];
    for (method, path) in &writes {
        for body in ["{\"name\":", "[1, 2]", "\"text\""] {
            let r = send(
                c.http,
                method,
                &format!("/api/v1{path}"),
                body,
                Some(&admin),
            );
            assert_eq!(r.code, 400, "{method} {path} {body}: {}", r.text);
        }
    }
    // Unknown things are 404.
    for (method, path) in [
        ("GET", "/staff/agents/9999"),
        ("PATCH", "/staff/agents/9999"),
        ("DELETE", "/staff/agents/9999"),
        ("GET", "/devices/999"),
        ("PATCH", "/devices/abc"),
        ("DELETE", "/devices/999"),
        ("GET", "/groups/999"),
        ("PATCH", "/groups/999"),
        ("DELETE", "/groups/0"),
        ("GET", "/users/nobody"),
        ("PATCH", "/users/nobody"),
        ("DELETE", "/users/nobody"),
    ] {
        let (code, v) = call(
            &c,
            &admin,
            method,
            path,
            if method == "PATCH" {
                json!({})
            } else {
                Value::Null
            },
        );
        assert_eq!(code, 404, "{method} {path}: {v}");
    }
    // Nothing of the refused writes was kept.
    let agents = must(&c, &admin, 200, "GET", "/staff/agents", Value::Null);
    assert_eq!(agents.as_array().unwrap().len(), 1, "{agents}");
    let groups = must(&c, &admin, 200, "GET", "/groups", Value::Null);
    assert_eq!(groups.as_array().unwrap().len(), 1, "{groups}");
}

#[test]
fn an_agent_s_session_is_refused_the_console_but_reads_the_workspace_lists() {
    let t = TestDir::new("staff-roles").unwrap();
    let c = empty_center(&t);
    let admin = login(c.http, ADMIN.0, ADMIN.1);
    must(
        &c,
        &admin,
        201,
        "POST",
        "/staff/agents",
        json!({"number": "8301", "name": "a", "web_password": "agent-pw-1"}),
    );
    must(
        &c,
        &admin,
        201,
        "POST",
        "/users",
        json!({"name": "sup", "role": "supervisor", "password": "sup-secret"}),
    );
    let agent = login(c.http, "8301", "agent-pw-1");
    let sup = login(c.http, "sup", "sup-secret");
    let admin_only = [
        ("GET", "/staff/agents"),
        ("POST", "/staff/agents"),
        ("GET", "/staff/agents/8301"),
        ("PATCH", "/staff/agents/8301"),
        ("DELETE", "/staff/agents/8301"),
        ("GET", "/devices"),
        ("POST", "/devices"),
        ("GET", "/devices/1"),
        ("PATCH", "/devices/1"),
        ("DELETE", "/devices/1"),
        ("POST", "/groups"),
        ("GET", "/groups/1"),
        ("PATCH", "/groups/1"),
        ("DELETE", "/groups/1"),
        ("PUT", "/busy-reasons"),
        ("POST", "/busy-reasons"),
        ("DELETE", "/busy-reasons/x"),
        ("GET", "/users"),
        ("POST", "/users"),
        ("GET", "/users/sup"),
        ("PATCH", "/users/sup"),
        ("DELETE", "/users/sup"),
    ];
    for s in [&agent, &sup] {
        for (method, path) in admin_only {
            let body = if method == "GET" || method == "DELETE" {
                Value::Null
            } else {
                json!({})
            };
            let (code, v) = call(&c, s, method, path, body);
            assert_eq!(code, 403, "{method} {path}: {v}");
        }
    }
    for s in [&agent, &sup] {
        must(&c, s, 200, "GET", "/groups", Value::Null);
        let v = must(&c, s, 200, "GET", "/busy-reasons", Value::Null);
        assert!(v["reasons"].is_array(), "{v}");
        must(&c, s, 200, "GET", "/agents", Value::Null);
    }
    // The agent still exists: nothing above got through.
    must(&c, &admin, 200, "GET", "/staff/agents/8301", Value::Null);
}

#[test]
fn sql_looking_names_are_stored_and_returned_verbatim() {
    let t = TestDir::new("staff-sql").unwrap();
    let c = empty_center(&t);
    let admin = login(c.http, ADMIN.0, ADMIN.1);
    let d = must(
        &c,
        &admin,
        201,
        "POST",
        "/devices",
        json!({"user": "1401", "password": SQLISH, "name": SQLISH}),
    );
    assert_eq!(d["name"], SQLISH);
    let g = must(&c, &admin, 201, "POST", "/groups", json!({"name": SQLISH}));
    assert_eq!(g["name"], SQLISH);
    let a = must(
        &c,
        &admin,
        201,
        "POST",
        "/staff/agents",
        json!({
            "number": "8401", "name": SQLISH, "web_password": SQLISH,
            "groups": [{"group": g["id"]}]
        }),
    );
    assert_eq!(
        (a["name"].as_str(), a["groups"][0]["name"].as_str()),
        (Some(SQLISH), Some(SQLISH))
    );
    let u = must(
        &c,
        &admin,
        201,
        "POST",
        "/users",
        json!({"name": SQLISH, "role": "agent", "password": SQLISH, "agent": "8401"}),
    );
    assert_eq!(
        (u["name"].as_str(), u["agent"].as_str()),
        (Some(SQLISH), Some("8401"))
    );
    let v = must(
        &c,
        &admin,
        200,
        "PUT",
        "/busy-reasons",
        json!({"reasons": [SQLISH, "会议"]}),
    );
    assert_eq!(v["reasons"][0], SQLISH);
    // Read back, every list whole; and the named login acts as its agent.
    let agents = must(&c, &admin, 200, "GET", "/staff/agents", Value::Null);
    assert_eq!(agents[0]["name"], SQLISH);
    let enc: String = SQLISH
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let u = must(
        &c,
        &admin,
        200,
        "GET",
        &format!("/users/{enc}"),
        Value::Null,
    );
    assert_eq!(u["name"], SQLISH);
    let named = login(c.http, SQLISH, SQLISH);
    let me = send(c.http, "GET", "/api/v1/session", "", Some(&named)).json();
    assert_eq!(
        (
            me["role"].as_str(),
            me["agent"].as_str(),
            me["name"].as_str()
        ),
        (Some("agent"), Some("8401"), Some(SQLISH))
    );
    let store = c.store();
    assert!(
        store.agent_by_number("8401").unwrap().is_some(),
        "the agents table is still there"
    );
    let v = must(
        &c,
        &admin,
        200,
        "DELETE",
        &format!("/busy-reasons/{enc}"),
        Value::Null,
    );
    assert_eq!(v["reasons"], json!(["会议"]));
}

#[test]
fn a_registered_softphone_shows_registered_in_the_device_list() {
    let t = TestDir::new("staff-reg").unwrap();
    let c = empty_center(&t);
    let admin = login(c.http, ADMIN.0, ADMIN.1);
    let d = must(
        &c,
        &admin,
        201,
        "POST",
        "/devices",
        json!({"user": "1501", "password": "reg-secret", "name": "测试软电话"}),
    );
    let id = d["id"].as_i64().unwrap();
    assert_eq!(d["registration"]["registered"], false);
    must(
        &c,
        &admin,
        201,
        "POST",
        "/staff/agents",
        json!({"number": "8501", "name": "a", "web_password": "agent-pw-1", "bound_device": id}),
    );
    // The device is in the SIP room's directory once the agent is in the switchboard's
    // (both come with the same reload).
    let reloaded = wait_for(secs(10), || {
        let v = must(&c, &admin, 200, "GET", "/agents", Value::Null);
        v.as_array()
            .unwrap()
            .iter()
            .any(|a| a["number"] == "8501")
            .then_some(())
    });
    assert!(reloaded.is_some(), "the directory did not reload");
    let mut phone = Baresip::start(
        BaresipOpts::new("reg")
            .user("1501")
            .register(c.sip, "reg-secret"),
        t.path(),
    )
    .unwrap();
    phone.wait_registered(secs(10)).unwrap();
    let seen = wait_for(secs(10), || {
        let v = must(
            &c,
            &admin,
            200,
            "GET",
            &format!("/devices/{id}"),
            Value::Null,
        );
        (v["registration"]["registered"] == true).then_some(v)
    });
    let v = seen.unwrap_or_else(|| panic!("never registered: {}", c.log_tail()));
    assert!(v["registration"]["contacts"].as_i64().unwrap() >= 1, "{v}");
    assert!(v["registration"]["since"].is_string(), "{v}");
    assert_eq!(v["desk_of"]["number"], "8501");
    phone.quit();
}
