//! `/api/v1/trunks`: the carriers (中继) that bring service numbers in and take calls
//! out: list, show, add, replace, remove (refused, 409, while service numbers come in
//! through the trunk, naming them).
//!
//! A registration password is never sent back: a trunk shows
//! `register_password_set`, and a replacement that leaves `register_password` out
//! keeps the one stored. The registration state is `"unknown"`: only the SIP room
//! knows it, and it tells nobody but its log.

use std::net::IpAddr;

use serde_json::{Value, json};

use super::body::{Fields, bad};
use super::{conflict, not_found, path_id, with_store};
use crate::api::routes::Answer;
use crate::api::table::Ctx;
use crate::core::{Codec, TrunkId, TrunkRegistration};
use crate::store::{NewTrunk, Removal, TrunkInfo};

const FIELDS: &[&str] = &[
    "name",
    "host",
    "inbound_peers",
    "outbound_proxy",
    "register_user",
    "register_password",
    "register_expires",
    "caller_id",
    "codecs",
];

/// A carrier's usual registration interval, when none is given.
const DEFAULT_EXPIRES: i64 = 3600;

pub fn list(ctx: &Ctx<'_>) -> Answer {
    match with_store(ctx, |s| s.trunks()) {
        Ok(trunks) => Answer::json(200, &trunks.iter().map(trunk_json).collect::<Vec<_>>()),
        Err(a) => a,
    }
}

pub fn show(ctx: &Ctx<'_>) -> Answer {
    let found =
        path_id(ctx, "trunk", "trunk").and_then(|id| with_store(ctx, |s| s.trunk(TrunkId(id))));
    match found {
        Ok(Some(t)) => Answer::json(200, &trunk_json(&t)),
        Ok(None) => not_found(&format!("no trunk has the id {}", ctx.param("trunk"))),
        Err(a) => a,
    }
}

pub fn create(ctx: &Ctx<'_>) -> Answer {
    save(ctx, None)
}

pub fn replace(ctx: &Ctx<'_>) -> Answer {
    match path_id(ctx, "trunk", "trunk") {
        Ok(id) => save(ctx, Some(TrunkId(id))),
        Err(a) => a,
    }
}

fn save(ctx: &Ctx<'_>, id: Option<TrunkId>) -> Answer {
    let before = match id {
        Some(id) => match with_store(ctx, |s| s.trunk(id)) {
            Ok(Some(t)) => Some(t),
            Ok(None) => return not_found(&format!("no trunk has the id {}", id.0)),
            Err(a) => return a,
        },
        None => None,
    };
    let kept = before.and_then(|t| t.trunk.register).map(|r| r.password);
    let trunk = match Fields::parse(ctx.body(), FIELDS).and_then(|f| new_trunk(&f, kept)) {
        Ok(t) => t,
        Err(a) => return a,
    };
    let saved = with_store(ctx, |s| {
        let id = s.save_trunk(id, &trunk)?;
        s.trunk(id)
    });
    match saved {
        Ok(Some(t)) => Answer::json(if id.is_some() { 200 } else { 201 }, &trunk_json(&t)),
        Ok(None) => not_found("the trunk was removed meanwhile"),
        Err(a) => a,
    }
}

pub fn remove(ctx: &Ctx<'_>) -> Answer {
    let id = match path_id(ctx, "trunk", "trunk") {
        Ok(id) => TrunkId(id),
        Err(a) => return a,
    };
    match with_store(ctx, |s| s.remove_trunk(id)) {
        Ok(Removal::Removed) => Answer::json(200, &json!({ "removed": id.0 })),
        Ok(Removal::InUse(numbers)) => conflict(&format!(
            "trunk {} still brings in the service numbers {}: move or remove them first",
            id.0,
            numbers.join(", ")
        )),
        Err(a) => a,
    }
}

/// The trunk a body describes; `kept` is the stored registration password, used when
/// the body leaves `register_password` out.
fn new_trunk(f: &Fields, kept: Option<String>) -> Result<NewTrunk, Answer> {
    let inbound_peers = f
        .texts("inbound_peers")?
        .iter()
        .map(|p| {
            p.trim().parse::<IpAddr>().map_err(|_| {
                bad(
                    "inbound_peers",
                    format!("expected IP addresses such as 192.0.2.10, got {p:?}"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let codecs = match f.get("codecs") {
        None => vec![Codec::Pcmu, Codec::Pcma],
        Some(_) => f
            .texts("codecs")?
            .iter()
            .map(|c| {
                [Codec::Pcmu, Codec::Pcma]
                    .into_iter()
                    .find(|k| k.name().eq_ignore_ascii_case(c.trim()))
                    .ok_or_else(|| bad("codecs", format!("expected PCMU or PCMA, got {c:?}")))
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let user = f.opt_text("register_user")?.filter(|u| !u.is_empty());
    let password = f.opt_text("register_password")?.filter(|p| !p.is_empty());
    let expires = f.opt_int("register_expires", 0, i64::from(u32::MAX))?;
    let register = match user {
        Some(user) => {
            let password = password.or(kept).ok_or_else(|| {
                bad(
                    "register_password",
                    "registering to the carrier needs its password",
                )
            })?;
            Some(TrunkRegistration {
                user,
                password,
                expires_secs: u32::try_from(expires.unwrap_or(DEFAULT_EXPIRES)).unwrap_or(0),
            })
        }
        None if password.is_some() => {
            return Err(bad(
                "register_user",
                "a registration password needs the user to register as",
            ));
        }
        None => None,
    };
    Ok(NewTrunk {
        name: f.text("name")?.trim().to_string(),
        host: f.text("host")?.trim().to_string(),
        inbound_peers,
        outbound_proxy: f
            .opt_text("outbound_proxy")?
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty()),
        register,
        caller_id: f.text_or("caller_id", "")?.trim().to_string(),
        codecs,
    })
}

fn trunk_json(t: &TrunkInfo) -> Value {
    let trunk = &t.trunk;
    let reg = trunk.register.as_ref();
    json!({
        "id": trunk.id.0,
        "name": trunk.name,
        "host": trunk.host,
        "inbound_peers": trunk.inbound_peers.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        "outbound_proxy": trunk.outbound_proxy,
        "register_user": reg.map(|r| r.user.as_str()),
        "register_password_set": reg.is_some(),
        "register_expires": reg.map(|r| r.expires_secs),
        "caller_id": trunk.caller_id,
        "codecs": trunk.codecs.iter().map(|c| c.name()).collect::<Vec<_>>(),
        "numbers": t.numbers,
        "registration": if reg.is_some() { "unknown" } else { "none" },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trunk(body: &str, kept: Option<&str>) -> Result<NewTrunk, String> {
        Fields::parse(body, FIELDS)
            .and_then(|f| new_trunk(&f, kept.map(str::to_string)))
            .map_err(|a| {
                let v: Value = serde_json::from_str(&a.body).unwrap();
                v["field"].as_str().unwrap_or("").to_string()
            })
    }

    #[test]
    fn bodies_become_trunks_and_bad_fields_are_named() {
        let t = trunk(
            r#"{"name":"电信","host":"sip.cn:5060","inbound_peers":["192.0.2.1"],
                "register_user":"u","register_password":"p","codecs":["pcma"]}"#,
            None,
        )
        .unwrap();
        assert_eq!(t.codecs, vec![Codec::Pcma]);
        assert_eq!(t.register.unwrap().expires_secs, 3600);
        let kept = trunk(
            r#"{"name":"x","host":"h","register_user":"u"}"#,
            Some("old"),
        )
        .unwrap();
        assert_eq!(kept.register.unwrap().password, "old");
        for (body, field) in [
            (r#"{"host":"h"}"#, "name"),
            (r#"{"name":"x"}"#, "host"),
            (
                r#"{"name":"x","host":"h","inbound_peers":["a.b"]}"#,
                "inbound_peers",
            ),
            (
                r#"{"name":"x","host":"h","inbound_peers":"1.2.3.4"}"#,
                "inbound_peers",
            ),
            (r#"{"name":"x","host":"h","codecs":["G729"]}"#, "codecs"),
            (
                r#"{"name":"x","host":"h","register_user":"u"}"#,
                "register_password",
            ),
            (
                r#"{"name":"x","host":"h","register_password":"p"}"#,
                "register_user",
            ),
            (
                r#"{"name":"x","host":"h","register_expires":"60"}"#,
                "register_expires",
            ),
            (r#"{"name":"x","host":"h","nickname":"y"}"#, "nickname"),
        ] {
            assert_eq!(trunk(body, None).err().as_deref(), Some(field), "{body}");
        }
    }
}
