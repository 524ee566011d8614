//! Reading a JSON request body field by field, so that every refusal names its field:
//! serde's own messages name a field only when it is missing or unknown, not when it
//! has the wrong type or is out of range ("invalid type: string, expected u8").
//!
//! Owns no state; knows nothing of trunks or flows, only of JSON values.

use serde_json::{Map, Value};

use super::super::routes::{Answer, error_owned};

/// A 400 naming `field`.
pub fn bad(field: &str, message: impl AsRef<str>) -> Answer {
    error_owned(400, message.as_ref(), Some(field.to_string()))
}

/// A request body: one JSON object whose keys are all known.
pub struct Fields {
    map: Map<String, Value>,
}

impl Fields {
    /// The body as an object with no keys but `allowed`; otherwise the 400 that says
    /// why (not JSON, not an object, or which key is unknown).
    pub fn parse(body: &str, allowed: &[&str]) -> Result<Fields, Answer> {
        let value: Value = serde_json::from_str(body)
            .map_err(|e| error_owned(400, &format!("the body is not JSON: {e}"), None))?;
        let Value::Object(map) = value else {
            return Err(error_owned(400, "the body must be a JSON object", None));
        };
        if let Some(k) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(bad(
                k,
                format!("unknown field {k:?}; expected {}", allowed.join(", ")),
            ));
        }
        Ok(Fields { map })
    }

    /// The field's value; `None` when absent or null.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    /// A required string.
    pub fn text(&self, name: &str) -> Result<String, Answer> {
        self.opt_text(name)?
            .ok_or_else(|| bad(name, format!("missing field {name:?}")))
    }

    /// A string, or `None` when absent or null.
    pub fn opt_text(&self, name: &str) -> Result<Option<String>, Answer> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(bad(name, format!("expected a string, got {other}"))),
        }
    }

    /// A string, or `fallback` when absent or null.
    pub fn text_or(&self, name: &str, fallback: &str) -> Result<String, Answer> {
        Ok(self.opt_text(name)?.unwrap_or_else(|| fallback.to_string()))
    }

    /// A whole number within `lo..=hi`, or `None` when absent or null.
    pub fn opt_int(&self, name: &str, lo: i64, hi: i64) -> Result<Option<i64>, Answer> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => match v.as_i64() {
                Some(n) if (lo..=hi).contains(&n) => Ok(Some(n)),
                _ => Err(bad(
                    name,
                    format!("expected a whole number {lo}-{hi}, got {v}"),
                )),
            },
        }
    }

    /// A required whole number within `lo..=hi`.
    pub fn int(&self, name: &str, lo: i64, hi: i64) -> Result<i64, Answer> {
        self.opt_int(name, lo, hi)?
            .ok_or_else(|| bad(name, format!("missing field {name:?}")))
    }

    /// A row id (1 or more), or `None` when absent or null.
    pub fn opt_id(&self, name: &str) -> Result<Option<i64>, Answer> {
        self.opt_int(name, 1, i64::MAX)
    }

    /// A list of strings (absent or null: empty).
    pub fn texts(&self, name: &str) -> Result<Vec<String>, Answer> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(bad(name, format!("expected strings, got {other}"))),
                })
                .collect(),
            Some(other) => Err(bad(
                name,
                format!("expected a list of strings, got {other}"),
            )),
        }
    }

    /// A required list of any values.
    pub fn list(&self, name: &str) -> Result<&[Value], Answer> {
        match self.get(name) {
            Some(Value::Array(items)) => Ok(items),
            Some(other) => Err(bad(name, format!("expected a list, got {other}"))),
            None => Err(bad(name, format!("missing field {name:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(a: Answer) -> String {
        let v: Value = serde_json::from_str(&a.body).unwrap();
        assert_eq!(a.code, 400, "{}", a.body);
        v["field"].as_str().unwrap_or("").to_string()
    }

    #[test]
    fn every_refusal_names_its_field() {
        let f = Fields::parse(
            r#"{"a":"x","n":12,"l":["p",3],"z":null}"#,
            &["a", "n", "l", "z"],
        )
        .unwrap();
        assert_eq!(f.text("a").unwrap(), "x");
        assert_eq!(field(f.int("a", 0, 9).unwrap_err()), "a");
        assert_eq!(field(f.int("n", 0, 9).unwrap_err()), "n");
        assert_eq!(f.int("n", 0, 99).unwrap(), 12);
        assert_eq!(field(f.texts("l").unwrap_err()), "l");
        assert_eq!(field(f.text("z").unwrap_err()), "z");
        assert_eq!(f.opt_id("z").unwrap(), None);
        assert!(f.get("z").is_none());
        assert_eq!(
            field(Fields::parse(r#"{"b":1}"#, &["a"]).err().unwrap()),
            "b"
        );
        for bad_body in ["", "[1]", "{", "\"x\""] {
            assert_eq!(Fields::parse(bad_body, &["a"]).err().unwrap().code, 400);
        }
    }
}
