//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of every route.
//!
//! Each area describes its own routes in `openapi/<area>.json` (summaries,
//! parameters, bodies, answers), next to its `ROUTES` table; this file merges them
//! into one document and adds, from the tables, who may use each operation
//! (`x-roles`). `tests` below holds the two in step: every route in a table is
//! described, every described operation is a route, and every `{name}` in a path
//! has its parameter.

use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use super::routes::Answer;
use super::table::{self, Ctx, Route, Who};

/// The document's own route.
pub const ROUTES: &[Route] = &[Route {
    method: "GET",
    path: "/openapi.json",
    who: Who::Anyone,
    run: |_: &Ctx<'_>| Answer {
        code: 200,
        body: document().to_string(),
        ..Answer::default()
    },
}];

/// The areas' documents, in the order their tags are listed.
const FRAGMENTS: &[(&str, &str)] = &[
    ("base", include_str!("openapi/base.json")),
    ("staff", include_str!("openapi/staff.json")),
    ("lines", include_str!("openapi/lines.json")),
    ("crm", include_str!("openapi/crm.json")),
    ("records", include_str!("openapi/records.json")),
    ("live", include_str!("openapi/live.json")),
];

/// The merged document, built once.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| build().unwrap_or_else(|e| json!({ "openapi": "3.1.0", "error": e })))
}

fn build() -> Result<Value, String> {
    let mut paths = Map::new();
    let mut tags = Vec::new();
    let mut schemas = Map::new();
    for (name, text) in FRAGMENTS {
        let fragment: Value =
            serde_json::from_str(text).map_err(|e| format!("openapi/{name}.json: {e}"))?;
        if let Some(t) = fragment["tags"].as_array() {
            tags.extend(t.iter().cloned());
        }
        if let Some(s) = fragment["components"]["schemas"].as_object() {
            schemas.extend(s.clone());
        }
        for (path, item) in fragment["paths"].as_object().into_iter().flatten() {
            let slot = paths
                .entry(path.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let (Some(slot), Some(item)) = (slot.as_object_mut(), item.as_object()) {
                slot.extend(item.clone());
            }
        }
    }
    // Who may call each operation comes from the route tables.
    for route in table::all() {
        if let Some(op) = paths
            .get_mut(route.path)
            .and_then(|item| item.get_mut(route.method.to_ascii_lowercase()))
            .and_then(Value::as_object_mut)
        {
            op.insert("x-roles".into(), json!(route.who.roles()));
        }
    }
    schemas.insert(
        "Error".into(),
        json!({
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": { "type": "string", "description": "What is wrong, in words." },
                "field": { "type": "string", "description": "The request field at fault." }
            }
        }),
    );
    Ok(json!({
        "openapi": "3.1.0",
        "info": {
            "title": "callbox API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The call center's HTTP API. Every answer is JSON; an error is \
                {\"error\": \"...\", \"field\": \"...\"}: 400 for a malformed body or a bad \
                field (named), 401 without a session, 403 for a role's limit or a missing \
                X-CSRF-Token, 404 for an unknown route or thing, 405 for a wrong method, \
                409 when the state does not allow it now. Log in with POST /session; \
                every change made with the session cookie carries the X-CSRF-Token \
                header the login answered with. This machine without a cookie (the \
                command line) has admin rights."
        },
        "servers": [{ "url": "/api/v1" }],
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "session": { "type": "apiKey", "in": "cookie", "name": super::auth::COOKIE },
                "csrf": { "type": "apiKey", "in": "header", "name": "X-CSRF-Token" }
            }
        },
        "security": [{ "session": [] }]
    }))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head"];

    fn described() -> BTreeSet<(String, String)> {
        let doc = build().expect("every fragment is JSON");
        let mut ops = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("a path item").keys() {
                if METHODS.contains(&method.as_str()) {
                    ops.insert((method.to_ascii_uppercase(), path.clone()));
                }
            }
        }
        ops
    }

    #[test]
    fn the_document_describes_exactly_the_routes() {
        let mut routes: BTreeSet<(String, String)> = table::all()
            .map(|r| (r.method.to_string(), r.path.to_string()))
            .collect();
        // Sessions are answered before the table (auth.rs), and documented too.
        for method in ["GET", "POST", "DELETE"] {
            routes.insert((method.to_string(), "/session".to_string()));
        }
        let ops = described();
        let undocumented: Vec<_> = routes.difference(&ops).collect();
        let unserved: Vec<_> = ops.difference(&routes).collect();
        assert!(
            undocumented.is_empty(),
            "routes missing from src/api/openapi/*.json: {undocumented:?}"
        );
        assert!(
            unserved.is_empty(),
            "described in src/api/openapi/*.json but not in any ROUTES table: {unserved:?}"
        );
    }

    #[test]
    fn every_path_segment_parameter_is_described() {
        let doc = build().expect("every fragment is JSON");
        for (path, item) in doc["paths"].as_object().expect("paths") {
            let names: Vec<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .collect();
            for (method, op) in item.as_object().expect("a path item") {
                if !METHODS.contains(&method.as_str()) {
                    continue;
                }
                let params = item["parameters"]
                    .as_array()
                    .into_iter()
                    .chain(op["parameters"].as_array())
                    .flatten()
                    .filter(|p| p["in"] == "path")
                    .filter_map(|p| p["name"].as_str())
                    .collect::<Vec<_>>();
                for name in &names {
                    assert!(
                        params.contains(name),
                        "{method} {path}: no path parameter {name} described"
                    );
                }
                assert!(
                    op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                    "{method} {path}: no summary"
                );
                assert!(op["responses"].is_object(), "{method} {path}: no responses");
            }
        }
    }

    #[test]
    fn the_document_is_served_with_roles() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(
            doc["paths"]["/log-level"]["post"]["x-roles"],
            json!(["admin"])
        );
    }
}
