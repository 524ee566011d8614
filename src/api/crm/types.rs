//! Ticket types (工单类型) over HTTP: everyone may list and read them (the ticket
//! form offers the enabled ones); only admins add, replace and remove them. A type
//! that tickets have cannot be removed (409): disable it instead, so old tickets keep
//! their type's name.

use serde_json::{Value, json};

use super::{Body, Query, answer, path_id, with_store};
use crate::api::routes::{Answer, error, error_owned};
use crate::api::table::Ctx;
use crate::store::{NewTicketType, TicketField, TicketType, TypeRemoval};

pub fn list(ctx: &Ctx<'_>) -> Answer {
    answer((|| {
        let q = Query::of(ctx, &["enabled"])?;
        let only = match q.get("enabled") {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => return Err(error(400, "expected true or false", Some("enabled"))),
        };
        let types = with_store(ctx, |s| s.ticket_types())?;
        let list: Vec<Value> = types
            .iter()
            .filter(|t| only.is_none_or(|e| t.enabled == e))
            .map(type_json)
            .collect();
        Ok(Answer::json(200, &list))
    })())
}

pub fn get(ctx: &Ctx<'_>) -> Answer {
    answer((|| {
        let id = path_id(ctx, "id")?;
        let t = with_store(ctx, |s| s.ticket_type(id))?.ok_or_else(|| not_found(id))?;
        Ok(Answer::json(200, &type_json(&t)))
    })())
}

pub fn add(ctx: &Ctx<'_>) -> Answer {
    answer((|| {
        let t = new_type(ctx)?;
        let t = with_store(ctx, |s| s.add_ticket_type(&t))?;
        Ok(Answer::json(201, &type_json(&t)))
    })())
}

pub fn put(ctx: &Ctx<'_>) -> Answer {
    answer((|| {
        let id = path_id(ctx, "id")?;
        let t = new_type(ctx)?;
        let t = with_store(ctx, |s| s.update_ticket_type(id, &t))?;
        Ok(Answer::json(200, &type_json(&t)))
    })())
}

pub fn delete(ctx: &Ctx<'_>) -> Answer {
    answer((|| {
        let id = path_id(ctx, "id")?;
        match with_store(ctx, |s| s.remove_ticket_type(id))? {
            TypeRemoval::Removed => Ok(Answer::json(200, &json!({ "removed": id }))),
            TypeRemoval::InUse { tickets } => Err(error_owned(
                409,
                &format!("{tickets} tickets have this type: disable it instead"),
                None,
            )),
        }
    })())
}

fn not_found(id: i64) -> Answer {
    error_owned(404, &format!("no ticket type has the id {id}"), None)
}

/// `{"name", "fields"?: [{"name", "required"?, "options"?}], "enabled"?}`.
fn new_type(ctx: &Ctx<'_>) -> Result<NewTicketType, Answer> {
    let body = Body::of(ctx, &["name", "fields", "enabled"])?;
    let name = body.required_string("name")?;
    let enabled = body.bool("enabled")?.unwrap_or(true);
    let wrong = |i: usize, what: &str| {
        error_owned(
            400,
            &format!("field {}: expected {what}", i + 1),
            Some("fields".into()),
        )
    };
    let mut fields = Vec::new();
    match body.0.get("fields") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let Value::Object(f) = item else {
                    return Err(wrong(i, "an object {\"name\", \"required\", \"options\"}"));
                };
                if let Some(k) = f
                    .keys()
                    .find(|k| !["name", "required", "options"].contains(&k.as_str()))
                {
                    return Err(wrong(i, &format!("no {k:?}, only name, required, options")));
                }
                let name = f
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| wrong(i, "a name (a string)"))?;
                let required = match f.get("required") {
                    None | Some(Value::Null) => false,
                    Some(Value::Bool(b)) => *b,
                    Some(_) => return Err(wrong(i, "required: true or false")),
                };
                let options = match f.get("options") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(o)) => o
                        .iter()
                        .map(|v| {
                            v.as_str()
                                .map(str::to_owned)
                                .ok_or_else(|| wrong(i, "options: a list of strings"))
                        })
                        .collect::<Result<_, _>>()?,
                    Some(_) => return Err(wrong(i, "options: a list of strings")),
                };
                fields.push(TicketField {
                    name: name.to_owned(),
                    required,
                    options,
                });
            }
        }
        Some(_) => {
            return Err(error(400, "expected a list of fields", Some("fields")));
        }
    }
    Ok(NewTicketType {
        name,
        fields,
        enabled,
    })
}

pub fn type_json(t: &TicketType) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "enabled": t.enabled,
        "fields": t.fields.iter().map(|f| json!({
            "name": f.name,
            "required": f.required,
            "options": f.options,
        })).collect::<Vec<_>>(),
        "tickets": t.tickets,
        "created_at": t.created_at.to_rfc3339(),
        "updated_at": t.updated_at.to_rfc3339(),
    })
}
