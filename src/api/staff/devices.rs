//! Devices (话机/设备) for the console: list with each one's live registration, one,
//! create, change, remove. The SIP password is write-only: it is set here and
//! never answered (a phone's config screen is where it is read).
//!
//! The registration comes from `Status` (what the SIP room last reported, carried by
//! the daemon): registered (contacts > 0), reachable (answers qualify pings), how
//! many contacts, since when. The contact URI itself is known only for a static
//! contact; a registered phone's contact and expiry stay in the SIP room.

use serde_json::{Value, json};

use crate::api::DeviceRegistration;
use crate::core::DeviceId;
use crate::store::{DeviceChange, DeviceRecord, NewDevice};

use super::super::routes::{Answer, error_owned};
use super::super::table::Ctx;
use super::body::Body;
use super::{path_id, with_store};

fn pair(p: &Option<(String, String)>) -> Value {
    match p {
        Some((number, name)) => json!({ "number": number, "name": name }),
        None => Value::Null,
    }
}

fn device_json(d: &DeviceRecord, reg: Option<&DeviceRegistration>) -> Value {
    let contacts = reg.map_or(0, |r| r.contacts);
    json!({
        "id": d.id.0,
        "user": d.user,
        "name": d.name,
        "static_contact": d.static_contact,
        "desk_of": pair(&d.desk_of),
        "softphone_of": pair(&d.softphone_of),
        "registration": {
            "registered": contacts > 0,
            "reachable": reg.is_some_and(|r| r.reachable && r.contacts > 0),
            "contacts": contacts,
            "contact": d.static_contact,
            "since": reg.map(|r| r.since.to_rfc3339()),
        },
    })
}

pub fn list(ctx: &Ctx<'_>) -> Answer {
    match with_store(ctx, |s| s.device_records(None)) {
        Ok(list) => {
            let regs = ctx.rooms.status.device_registrations();
            let out: Vec<Value> = list
                .iter()
                .map(|d| device_json(d, regs.get(&d.id.0)))
                .collect();
            Answer::json(200, &out)
        }
        Err(answer) => answer,
    }
}

fn answer_device(ctx: &Ctx<'_>, code: u16, id: i64) -> Answer {
    match with_store(ctx, |s| s.device_records(Some(DeviceId(id)))) {
        Ok(list) => match list.first() {
            Some(d) => {
                let regs = ctx.rooms.status.device_registrations();
                Answer::json(code, &device_json(d, regs.get(&id)))
            }
            None => error_owned(404, &format!("device {id} does not exist"), None),
        },
        Err(answer) => answer,
    }
}

pub fn one(ctx: &Ctx<'_>) -> Answer {
    match path_id(ctx, "device") {
        Ok(id) => answer_device(ctx, 200, id),
        Err(answer) => answer,
    }
}

pub fn create(ctx: &Ctx<'_>) -> Answer {
    let made = (|| {
        let mut b = Body::parse(ctx.body(), false)?;
        let d = NewDevice {
            user: b.req_str("user")?,
            password: b.req_str("password")?,
            name: b.opt_str("name")?.unwrap_or_default(),
            static_contact: b.nullable_str("static_contact")?.flatten(),
        };
        b.finish()?;
        with_store(ctx, |s| s.create_device(&d))
    })();
    match made {
        Ok(id) => answer_device(ctx, 201, id.0),
        Err(answer) => answer,
    }
}

pub fn change(ctx: &Ctx<'_>) -> Answer {
    let done = (|| {
        let id = path_id(ctx, "device")?;
        let mut b = Body::parse(ctx.body(), true)?;
        let c = DeviceChange {
            user: b.opt_str("user")?,
            password: b.opt_str("password")?,
            name: b.opt_str("name")?,
            static_contact: b.nullable_str("static_contact")?,
        };
        b.finish()?;
        with_store(ctx, |s| s.change_device(DeviceId(id), &c))?;
        Ok::<i64, Answer>(id)
    })();
    match done {
        Ok(id) => answer_device(ctx, 200, id),
        Err(answer) => answer,
    }
}

pub fn remove(ctx: &Ctx<'_>) -> Answer {
    let done = (|| {
        let id = path_id(ctx, "device")?;
        with_store(ctx, |s| s.remove_device(DeviceId(id)))?;
        Ok::<i64, Answer>(id)
    })();
    match done {
        Ok(id) => Answer::json(200, &json!({ "removed": id })),
        Err(answer) => answer,
    }
}
