//! A JSON body read field by field, so that every refusal names its field: a
//! malformed body, a missing field, a wrong type, a number out of range and an unknown
//! field are each a 400 with `field` set (serde's own errors name the field only for
//! the missing and unknown ones).
//!
//! A handler takes the fields it knows (`req_*` for required, `opt_*` for optional,
//! `nullable_*` where `null` clears a value) and ends with [`Body::finish`], which
//! refuses whatever was left over.

use serde_json::{Map, Value};

use crate::api::routes::{Answer, error, error_owned};

pub struct Body {
    map: Map<String, Value>,
}

fn bad(field: &str, message: &str) -> Answer {
    error_owned(400, message, Some(field.to_string()))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Body {
    /// The body as a JSON object; an empty body is `{}` when `empty_ok`.
    pub fn parse(text: &str, empty_ok: bool) -> Result<Body, Answer> {
        if text.trim().is_empty() {
            return if empty_ok {
                Ok(Body { map: Map::new() })
            } else {
                Err(error(400, "send the fields as a JSON object", None))
            };
        }
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => Ok(Body { map }),
            Ok(other) => Err(error_owned(
                400,
                &format!("expected a JSON object, got {}", type_name(&other)),
                None,
            )),
            Err(e) => Err(error_owned(
                400,
                &format!("the body is not JSON: {e}"),
                None,
            )),
        }
    }

    fn take(&mut self, field: &str) -> Option<Value> {
        self.map.remove(field)
    }

    /// The field as it came, for a reader of its own (it counts as taken).
    pub fn take_raw(&mut self, field: &str) -> Option<Value> {
        self.take(field)
    }

    /// Refuses the first field no one took.
    pub fn finish(self) -> Result<(), Answer> {
        match self.map.keys().next() {
            Some(k) => Err(bad(k, &format!("unknown field {k:?}"))),
            None => Ok(()),
        }
    }

    pub fn opt_str(&mut self, field: &str) -> Result<Option<String>, Answer> {
        match self.take(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(bad(
                field,
                &format!("expected a string, got {}", type_name(&v)),
            )),
        }
    }

    pub fn req_str(&mut self, field: &str) -> Result<String, Answer> {
        self.opt_str(field)?
            .ok_or_else(|| bad(field, &format!("missing field {field:?}")))
    }

    /// Absent: `None`; `null`: `Some(None)`; a string: `Some(Some(s))`. An empty
    /// string counts as `null` (a cleared form field).
    pub fn nullable_str(&mut self, field: &str) -> Result<Option<Option<String>>, Answer> {
        match self.take(field) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(Some(None)),
            Some(Value::String(s)) => Ok(Some(Some(s))),
            Some(v) => Err(bad(
                field,
                &format!("expected a string or null, got {}", type_name(&v)),
            )),
        }
    }

    pub fn opt_bool(&mut self, field: &str) -> Result<Option<bool>, Answer> {
        match self.take(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(v) => Err(bad(
                field,
                &format!("expected true or false, got {}", type_name(&v)),
            )),
        }
    }

    fn int(field: &str, v: &Value, lo: u64, hi: u64) -> Result<u64, Answer> {
        match v.as_u64() {
            Some(n) if (lo..=hi).contains(&n) => Ok(n),
            _ if v.is_number() => Err(bad(
                field,
                &format!("expected a whole number {lo}-{hi}, got {v}"),
            )),
            _ => Err(bad(
                field,
                &format!("expected a number, got {}", type_name(v)),
            )),
        }
    }

    pub fn opt_int(&mut self, field: &str, lo: u64, hi: u64) -> Result<Option<u64>, Answer> {
        match self.take(field) {
            None => Ok(None),
            Some(v) => Self::int(field, &v, lo, hi).map(Some),
        }
    }

    /// Absent: `None`; `null`: `Some(None)`; a number in range: `Some(Some(n))`.
    pub fn nullable_int(
        &mut self,
        field: &str,
        lo: u64,
        hi: u64,
    ) -> Result<Option<Option<u64>>, Answer> {
        match self.take(field) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(v) => Self::int(field, &v, lo, hi).map(|n| Some(Some(n))),
        }
    }

    /// An id (a positive whole number), or `null`.
    pub fn nullable_id(&mut self, field: &str) -> Result<Option<Option<i64>>, Answer> {
        Ok(self
            .nullable_int(field, 1, i64::MAX as u64)?
            .map(|v| v.map(|n| n as i64)))
    }

    /// An array of objects `{<id_field>: id, "level": 1-99}`, level 1 when left out.
    pub fn opt_levels(
        &mut self,
        field: &str,
        id_field: &str,
    ) -> Result<Option<Vec<(i64, u32)>>, Answer> {
        let items = match self.take(field) {
            None => return Ok(None),
            Some(Value::Array(items)) => items,
            Some(v) => {
                return Err(bad(
                    field,
                    &format!("expected an array, got {}", type_name(&v)),
                ));
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let Value::Object(map) = item else {
                return Err(bad(
                    field,
                    &format!("item {i}: expected {{\"{id_field}\": id, \"level\": 1-99}}"),
                ));
            };
            let mut one = Body { map };
            let id = one
                .nullable_id(id_field)
                .map_err(|_| bad(field, &format!("item {i}: {id_field} must be an id")))?
                .flatten()
                .ok_or_else(|| bad(field, &format!("item {i}: missing {id_field:?}")))?;
            let level = one
                .opt_int("level", 1, 99)
                .map_err(|_| bad(field, &format!("item {i}: level must be 1-99")))?
                .unwrap_or(1) as u32;
            one.finish()
                .map_err(|_| bad(field, &format!("item {i}: only {id_field:?} and \"level\"")))?;
            out.push((id, level));
        }
        Ok(Some(out))
    }

    /// An array of strings.
    pub fn opt_strings(&mut self, field: &str) -> Result<Option<Vec<String>>, Answer> {
        let items = match self.take(field) {
            None => return Ok(None),
            Some(Value::Array(items)) => items,
            Some(v) => {
                return Err(bad(
                    field,
                    &format!("expected an array, got {}", type_name(&v)),
                ));
            }
        };
        items
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s),
                other => Err(bad(
                    field,
                    &format!("item {i}: expected a string, got {}", type_name(&other)),
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(a: &Answer) -> String {
        let v: Value = serde_json::from_str(&a.body).unwrap();
        v["field"].as_str().unwrap_or("").to_string()
    }

    #[test]
    fn every_refusal_names_its_field() {
        let mut b = Body::parse(r#"{"name":1,"n":-1,"ok":true,"x":null}"#, false).unwrap();
        assert_eq!(field_of(&b.req_str("name").unwrap_err()), "name");
        assert_eq!(field_of(&b.opt_int("n", 0, 5).unwrap_err()), "n");
        assert_eq!(b.opt_bool("ok").unwrap(), Some(true));
        assert_eq!(field_of(&b.req_str("missing").unwrap_err()), "missing");
        assert_eq!(field_of(&b.finish().unwrap_err()), "x");
        let mut b = Body::parse(r#"{"v":301,"w":2.5,"g":[{"group":2,"level":0}]}"#, false).unwrap();
        assert_eq!(field_of(&b.opt_int("v", 5, 300).unwrap_err()), "v");
        assert_eq!(field_of(&b.opt_int("w", 0, 5).unwrap_err()), "w");
        assert_eq!(field_of(&b.opt_levels("g", "group").unwrap_err()), "g");
        assert!(Body::parse("[1]", false).is_err());
        assert!(Body::parse("{", false).is_err());
        assert!(Body::parse("", true).is_ok() && Body::parse(" ", false).is_err());
        let mut b = Body::parse(r#"{"d":"","e":null,"f":"x","l":[{"group":3}]}"#, false).unwrap();
        assert_eq!(b.nullable_str("d").unwrap(), Some(None));
        assert_eq!(b.nullable_str("e").unwrap(), Some(None));
        assert_eq!(b.nullable_str("f").unwrap(), Some(Some("x".into())));
        assert_eq!(b.opt_levels("l", "group").unwrap(), Some(vec![(3, 1)]));
        assert_eq!(b.nullable_str("absent").unwrap(), None);
        b.finish().unwrap();
    }
}
