//! `/api/v1/service-numbers`: the public numbers (服务号码) callers dial, each reached
//! through a trunk and sending its callers to an IVR flow, else a skill group's queue,
//! else a device, at a queue priority 0-9, hearing zh-CN or en prompts.
//!
//! `{number}` in the path is percent-decoded (`%2B86…` for `+86…`). A replacement may
//! rename the number (`number` in the body).

use serde_json::{Value, json};

use super::body::{Fields, bad};
use super::{not_found, with_store};
use crate::api::routes::Answer;
use crate::api::table::Ctx;
use crate::core::ivr::FlowId;
use crate::core::{DeviceId, GroupId, Language, TrunkId};
use crate::store::{NewServiceNumber, ServiceNumberInfo};

const FIELDS: &[&str] = &[
    "number",
    "trunk_id",
    "flow_id",
    "group_id",
    "device_id",
    "priority",
    "language",
];

pub fn list(ctx: &Ctx<'_>) -> Answer {
    match with_store(ctx, |s| s.service_numbers()) {
        Ok(rows) => Answer::json(200, &rows.iter().map(number_json).collect::<Vec<_>>()),
        Err(a) => a,
    }
}

pub fn show(ctx: &Ctx<'_>) -> Answer {
    let number = ctx.param_text("number");
    match with_store(ctx, |s| s.service_number(&number)) {
        Ok(Some(n)) => Answer::json(200, &number_json(&n)),
        Ok(None) => unknown(&number),
        Err(a) => a,
    }
}

pub fn create(ctx: &Ctx<'_>) -> Answer {
    save(ctx, None)
}

pub fn replace(ctx: &Ctx<'_>) -> Answer {
    save(ctx, Some(ctx.param_text("number")))
}

fn save(ctx: &Ctx<'_>, old: Option<String>) -> Answer {
    let fields = match Fields::parse(ctx.body(), FIELDS) {
        Ok(f) => f,
        Err(a) => return a,
    };
    if let Some(old) = &old {
        match with_store(ctx, |s| s.service_number(old)) {
            Ok(Some(_)) => {}
            Ok(None) => return unknown(old),
            Err(a) => return a,
        }
    }
    let new = match new_number(&fields, old.as_deref()) {
        Ok(n) => n,
        Err(a) => return a,
    };
    let saved = with_store(ctx, |s| {
        s.save_service_number(old.as_deref(), &new)?;
        s.service_number(&new.number)
    });
    match saved {
        Ok(Some(n)) => Answer::json(if old.is_some() { 200 } else { 201 }, &number_json(&n)),
        Ok(None) => unknown(&new.number),
        Err(a) => a,
    }
}

pub fn remove(ctx: &Ctx<'_>) -> Answer {
    let number = ctx.param_text("number");
    match with_store(ctx, |s| s.remove_service_number(&number)) {
        Ok(()) => Answer::json(200, &json!({ "removed": number })),
        Err(a) => a,
    }
}

fn unknown(number: &str) -> Answer {
    not_found(&format!("no service number {number:?}"))
}

/// The number a body describes; a replacement without `number` keeps `old`.
fn new_number(f: &Fields, old: Option<&str>) -> Result<NewServiceNumber, Answer> {
    let number = match (f.opt_text("number")?, old) {
        (Some(n), _) => n.trim().to_string(),
        (None, Some(old)) => old.to_string(),
        (None, None) => return Err(bad("number", "missing field \"number\"")),
    };
    let language = f.text_or("language", Language::ZhCn.as_str())?;
    let language = Language::parse(&language).ok_or_else(|| {
        bad(
            "language",
            format!("expected zh-CN or en, got {language:?}"),
        )
    })?;
    let trunk = f.opt_id("trunk_id")?.ok_or_else(|| {
        bad(
            "trunk_id",
            "missing field \"trunk_id\": the trunk the number comes in through",
        )
    })?;
    Ok(NewServiceNumber {
        number,
        trunk: TrunkId(trunk),
        flow: f.opt_id("flow_id")?.map(FlowId),
        group: f.opt_id("group_id")?.map(GroupId),
        device: f.opt_id("device_id")?.map(DeviceId),
        priority: u8::try_from(f.opt_int("priority", 0, 9)?.unwrap_or(0)).unwrap_or(0),
        language,
    })
}

fn number_json(n: &ServiceNumberInfo) -> Value {
    json!({
        "number": n.number,
        "trunk_id": n.trunk.0.0,
        "trunk_name": n.trunk.1,
        "flow_id": n.flow.as_ref().map(|f| f.0.0),
        "flow_name": n.flow.as_ref().map(|f| f.1.as_str()),
        "group_id": n.group.as_ref().map(|g| g.0.0),
        "group_name": n.group.as_ref().map(|g| g.1.as_str()),
        "device_id": n.device.as_ref().map(|d| d.0.0),
        "device_user": n.device.as_ref().map(|d| d.1.as_str()),
        "priority": n.priority,
        "language": n.language.as_str(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(body: &str) -> String {
        let a = Fields::parse(body, FIELDS)
            .and_then(|f| new_number(&f, None))
            .expect_err("refused");
        let v: Value = serde_json::from_str(&a.body).unwrap();
        v["field"].as_str().unwrap_or("").to_string()
    }

    #[test]
    fn bad_fields_are_named() {
        for (body, field) in [
            (r#"{"trunk_id":1,"group_id":1}"#, "number"),
            (r#"{"number":"1","group_id":1}"#, "trunk_id"),
            (r#"{"number":"1","trunk_id":0}"#, "trunk_id"),
            (r#"{"number":"1","trunk_id":1,"priority":10}"#, "priority"),
            (r#"{"number":"1","trunk_id":1,"priority":"1"}"#, "priority"),
            (r#"{"number":"1","trunk_id":1,"language":"fr"}"#, "language"),
            (r#"{"number":"1","trunk_id":1,"flow_id":"x"}"#, "flow_id"),
            (r#"{"number":1,"trunk_id":1}"#, "number"),
        ] {
            assert_eq!(field_of(body), field, "{body}");
        }
    }
}
