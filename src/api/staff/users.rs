//! Web users (用户管理): named logins with a role (admin, supervisor, agent), an
//! optional linked agent (the agent they also act as), a password (argon2, never
//! answered), disabled or not. Agents also log in with their own number and web
//! password, which the agent's record keeps (`/staff/agents`).
//!
//! The last enabled admin cannot be removed, demoted or disabled (409): someone
//! must be left to run the console (this machine's command line can always set a
//! password again with `callbox admin passwd`).

use serde_json::{Value, json};

use crate::store::{NewUser, Role, UserChange, UserRecord};

use super::super::routes::{Answer, error, error_owned};
use super::super::table::Ctx;
use super::body::Body;
use super::with_store;

fn user_json(u: &UserRecord) -> Value {
    json!({
        "name": u.name,
        "role": u.role.as_str(),
        "agent": u.agent,
        "agent_name": u.agent_name,
        "disabled": u.disabled,
        "created_at": u.created_at.to_rfc3339(),
    })
}

pub fn list(ctx: &Ctx<'_>) -> Answer {
    match with_store(ctx, |s| s.users()) {
        Ok(users) => Answer::json(200, &users.iter().map(user_json).collect::<Vec<_>>()),
        Err(answer) => answer,
    }
}

fn answer_user(ctx: &Ctx<'_>, code: u16, name: &str) -> Answer {
    match with_store(ctx, |s| s.user(name)) {
        Ok(Some(u)) => Answer::json(code, &user_json(&u)),
        Ok(None) => error_owned(404, &format!("user {name:?} does not exist"), None),
        Err(answer) => answer,
    }
}

pub fn one(ctx: &Ctx<'_>) -> Answer {
    answer_user(ctx, 200, &ctx.param_text("name"))
}

fn role(word: &str) -> Result<Role, Answer> {
    Role::parse(word).ok_or_else(|| {
        error(
            400,
            "expected \"admin\", \"supervisor\" or \"agent\"",
            Some("role"),
        )
    })
}

pub fn create(ctx: &Ctx<'_>) -> Answer {
    let made = (|| {
        let mut b = Body::parse(ctx.body(), false)?;
        let u = NewUser {
            name: b.req_str("name")?,
            role: role(&b.req_str("role")?)?,
            password: b.req_str("password")?,
            agent: b.nullable_str("agent")?.flatten(),
        };
        b.finish()?;
        with_store(ctx, |s| s.add_user(&u))?;
        Ok::<String, Answer>(u.name)
    })();
    match made {
        Ok(name) => answer_user(ctx, 201, &name),
        Err(answer) => answer,
    }
}

fn conflict(c: crate::store::Conflict) -> Answer {
    error_owned(409, &c.message, c.field.map(str::to_string))
}

pub fn change(ctx: &Ctx<'_>) -> Answer {
    let name = ctx.param_text("name");
    let done = (|| {
        let mut b = Body::parse(ctx.body(), true)?;
        let c = UserChange {
            role: b.opt_str("role")?.as_deref().map(role).transpose()?,
            password: b.opt_str("password")?,
            agent: b.nullable_str("agent")?,
            disabled: b.opt_bool("disabled")?,
        };
        b.finish()?;
        with_store(ctx, |s| s.change_user(&name, &c))?.map_err(conflict)
    })();
    match done {
        Ok(()) => answer_user(ctx, 200, &name),
        Err(answer) => answer,
    }
}

pub fn remove(ctx: &Ctx<'_>) -> Answer {
    let name = ctx.param_text("name");
    let done = (|| with_store(ctx, |s| s.remove_user(&name))?.map_err(conflict))();
    match done {
        Ok(()) => Answer::json(200, &json!({ "removed": name })),
        Err(answer) => answer,
    }
}
