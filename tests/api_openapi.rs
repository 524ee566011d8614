//! The OpenAPI document against the running daemon: what `/api/v1/openapi.json`
//! says is what the daemon does, for every operation in it.
//!
//! - every described operation is served (never "no such route", never 405), and
//!   every other method on a described path is 405 with `Allow` naming exactly the
//!   described ones;
//! - every operation that takes a JSON body refuses a malformed one with 400;
//! - every operation the document keeps from agents (`x-roles`) is 403 for an agent's
//!   session, and every `{agent}` route is 403 for another agent's number;
//! - unknown paths under /api/v1 are 404.
//!
//! Path parameters are filled with values nothing has (`999999`), so no probe changes
//! anything that exists; the demo call center gives the agent to log in as.

mod common;

use std::collections::BTreeSet;

use common::TestDir;
use common::callbox::Prepared;
use common::session::{Reply, Session, login, send};
use serde_json::Value;

const METHODS: &[&str] = &["GET", "PUT", "POST", "DELETE", "PATCH"];
const NO_SUCH_ROUTE: &str = "no such route";

/// `path` with every `{name}` filled: the agent routes with `agent`, a parameter
/// with listed values (`enum`) with the first, others with a value no row has.
fn filled(path: &str, op: &Value, agent: &str) -> String {
    let listed = |name: &str| {
        op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == name && p["in"] == "path")
            .and_then(|p| p["schema"]["enum"][0].as_str())
            .map(str::to_string)
    };
    path.split('/')
        .map(|seg| match seg {
            "{agent}" => agent.to_string(),
            s if s.starts_with('{') => {
                listed(s.trim_matches(['{', '}'])).unwrap_or_else(|| "999999".to_string())
            }
            s => s.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            let method = method.to_ascii_uppercase();
            if METHODS.contains(&method.as_str()) {
                ops.push((method, path.clone(), op.clone()));
            }
        }
    }
    ops
}

fn describe(method: &str, path: &str, r: &Reply) -> String {
    format!("{method} {path} -> {} {}", r.code, r.text)
}

#[test]
fn the_document_says_what_the_daemon_does() {
    let t = TestDir::new("api-openapi").unwrap();
    let mut prepared = Prepared::new(t.path()).unwrap();
    let seed = prepared
        .store
        .seed_demo_if_empty()
        .expect("the demo seeds")
        .expect("a fresh database gets the demo");
    let (me, _, password, _) = seed.agents.first().cloned().expect("a demo agent");
    let (other, ..) = seed.agents.get(1).cloned().expect("a second demo agent");
    let callbox = prepared.start().unwrap();
    let http = callbox.http;

    let r = send(http, "GET", "/api/v1/openapi.json", "", None);
    assert_eq!(r.code, 200, "{}", r.text);
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let ops = operations(&doc);
    assert!(ops.len() > 10, "only {} operations described", ops.len());
    let agent: Session = login(http, &me, &password);
    let r = send(http, "GET", "/api/v1/openapi.json", "", Some(&agent));
    assert_eq!(
        r.code, 200,
        "an agent may read the document too: {}",
        r.text
    );

    // Served, and a malformed body refused; as this machine (admin rights).
    for (method, path, op) in &ops {
        if path == "/session" {
            continue;
        }
        let url = format!("/api/v1{}", filled(path, op, "999999"));
        let takes_json = op["requestBody"]["content"]["application/json"].is_object();
        let body = if takes_json { "{" } else { "" };
        let r = send(http, method, &url, body, None);
        assert!(
            !r.text.contains(NO_SUCH_ROUTE) && r.code != 405,
            "described but not served: {}",
            describe(method, &url, &r)
        );
        if takes_json {
            assert_eq!(
                r.code,
                400,
                "a malformed body: {}",
                describe(method, &url, &r)
            );
            assert!(
                r.json()["error"].is_string(),
                "{}",
                describe(method, &url, &r)
            );
        }
    }

    // Methods the document does not give a path are 405, with the right Allow.
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let described: BTreeSet<String> = item
            .as_object()
            .expect("a path item")
            .keys()
            .map(|m| m.to_ascii_uppercase())
            .filter(|m| METHODS.contains(&m.as_str()))
            .collect();
        if path == "/session" {
            continue;
        }
        let any_op = item
            .as_object()
            .and_then(|o| o.values().next())
            .cloned()
            .unwrap_or(Value::Null);
        let url = format!("/api/v1{}", filled(path, &any_op, "999999"));
        for method in METHODS.iter().filter(|m| !described.contains(**m)) {
            let r = send(http, method, &url, "", None);
            assert_eq!(r.code, 405, "{}", describe(method, &url, &r));
            let allow: BTreeSet<String> = r
                .header("allow")
                .unwrap_or("")
                .split(',')
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty())
                .collect();
            assert_eq!(allow, described, "Allow of {url}");
        }
    }

    // What the document keeps from agents, an agent's session cannot reach.
    for (method, path, op) in &ops {
        if path == "/session" {
            continue;
        }
        let roles: Vec<&str> = op["x-roles"]
            .as_array()
            .unwrap_or_else(|| panic!("{method} {path}: no x-roles"))
            .iter()
            .filter_map(Value::as_str)
            .collect();
        if !roles.contains(&"agent") {
            let url = format!("/api/v1{}", filled(path, op, &me));
            let r = send(http, method, &url, "{}", Some(&agent));
            assert_eq!(r.code, 403, "{}", describe(method, &url, &r));
        } else if path.contains("{agent}") {
            let url = format!("/api/v1{}", filled(path, op, &other));
            let r = send(http, method, &url, "{}", Some(&agent));
            assert_eq!(
                r.code,
                403,
                "another agent's route: {}",
                describe(method, &url, &r)
            );
        }
    }

    for url in [
        "/api/v1/nothing-here",
        "/api/v1/agents/8001/nothing",
        "/api/v2/agents",
    ] {
        let r = send(http, "GET", url, "", None);
        assert_eq!(r.code, 404, "{}", describe("GET", url, &r));
    }
    let status = callbox.stop();
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}
