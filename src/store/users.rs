//! Web accounts: named users (the `users` table: admins, supervisors, and agents'
//! named logins, any of them linked to the agent they also act as), the console's
//! list and changes of them, and the login check that covers agents too (agent number
//! and `agents.web_password`), for the API's sessions and `callbox admin passwd`.
//!
//! An account is looked up by its login name: all digits is an agent number, anything
//! else a user name (a user name is never all digits, so the two never clash). An
//! agent marked supervisor logs in as a supervisor who is also that agent. The last
//! enabled admin cannot be removed, demoted or disabled (a [`Conflict`]).
//!
//! The tricky parts: a login must not tell an unknown name from a wrong password, by
//! its answer or by its time, so an unknown name is checked against a dummy hash at the
//! same cost. And a password change must end the sessions opened with the old one: an
//! [`Account`] carries its `stamp` (the stored hash), which the API compares on every
//! request; a new password, a disabled user or a removed agent changes or drops it.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::PasswordVerifier;
use chrono::{DateTime, Utc};
use rand::distr::{Alphanumeric, SampleString};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::agents::{check_name, hash_password, invalid};
use super::rows::{bad, time_from_sql, time_to_sql};
use super::staff::Conflict;
use super::{Store, StoreError};

/// The user created at first start, with a random password printed once.
pub const FIRST_ADMIN: &str = "admin";
/// The shortest password of an admin or supervisor account.
pub const MIN_USER_PASSWORD_CHARS: usize = 8;
/// The longest password accepted anywhere at login (argon2 takes any length; this
/// only keeps a request from making it hash megabytes).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Everything.
    Admin,
    /// Every agent's state and call bar, supervision, every call.
    Supervisor,
    /// Their own agent number's routes only.
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Agent => "agent",
        }
    }

    /// A role the command line gives a user (`admin` or `supervisor`); an agent's
    /// named login is made in the console, where it is linked to its agent.
    pub fn parse_user_role(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "supervisor" => Some(Role::Supervisor),
            _ => None,
        }
    }

    /// Any role word (`admin`, `supervisor`, `agent`), as the `users` table holds it.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "agent" => Some(Role::Agent),
            other => Role::parse_user_role(other),
        }
    }
}

/// A web account as a login sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The login name: a user name or an agent number.
    pub user: String,
    pub role: Role,
    /// The agent number, for agents and agents marked supervisor.
    pub agent: Option<String>,
    /// The name to show: the agent's name, or the user name.
    pub name: String,
    /// Changes whenever the password does (the stored hash); never shown.
    pub stamp: String,
    /// The agent's direct number (S5, S6), for agents and users linked to one.
    pub direct_number: Option<String>,
}

/// True for a login name that is an agent number.
fn is_agent_number(user: &str) -> bool {
    (1..=16).contains(&user.len()) && user.bytes().all(|b| b.is_ascii_digit())
}

/// A hash no password matches in practice, to spend on unknown names.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let secret = Alphanumeric.sample_string(&mut rand::rng(), 32);
        hash_password(&secret).unwrap_or_default()
    })
}

fn check_user_name(name: &str) -> Result<(), StoreError> {
    check_name("name", name)?;
    if name.trim() != name {
        return Err(invalid("name", "must not start or end with a space".into()));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("name", "must not hold control characters".into()));
    }
    if name.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            "name",
            "must not be all digits (those are agent numbers)".into(),
        ));
    }
    Ok(())
}

fn check_user_password(password: &str) -> Result<(), StoreError> {
    let chars = password.chars().count();
    if chars < MIN_USER_PASSWORD_CHARS {
        Err(invalid(
            "password",
            format!("expected at least {MIN_USER_PASSWORD_CHARS} characters, got {chars}"),
        ))
    } else if chars > MAX_PASSWORD_CHARS {
        Err(invalid(
            "password",
            format!("expected at most {MAX_PASSWORD_CHARS} characters, got {chars}"),
        ))
    } else {
        Ok(())
    }
}

impl Store {
    /// The account that logs in as `user`, if it exists and is not disabled. A user
    /// linked to an agent acts as that agent too (their calls, their state); an
    /// agent-role user whose agent is gone cannot log in.
    pub fn account(&self, user: &str) -> Result<Option<Account>, StoreError> {
        if is_agent_number(user) {
            let row = self
                .conn
                .query_row(
                    "SELECT name, web_password, supervisor, direct_number FROM agents
                     WHERE number = ?1",
                    params![user],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, bool>(2)?,
                            r.get::<_, Option<String>>(3)?,
                        ))
                    },
                )
                .optional()?;
            return Ok(row.map(|(name, stamp, supervisor, direct_number)| Account {
                user: user.to_owned(),
                role: if supervisor {
                    Role::Supervisor
                } else {
                    Role::Agent
                },
                agent: Some(user.to_owned()),
                name,
                stamp,
                direct_number,
            }));
        }
        let row = self
            .conn
            .query_row(
                "SELECT u.role, u.password, a.number, a.name, a.direct_number
                 FROM users u LEFT JOIN agents a ON a.id = u.agent_id
                 WHERE u.name = ?1 AND u.disabled = 0",
                params![user],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, Option<String>>(4)?,
                    ))
                },
            )
            .optional()?;
        let Some((role, stamp, agent, agent_name, direct_number)) = row else {
            return Ok(None);
        };
        let role = Role::parse(&role)
            .ok_or_else(|| bad("users", &format!("name {user:?}"), format!("role {role:?}")))?;
        if role == Role::Agent && agent.is_none() {
            return Ok(None);
        }
        Ok(Some(Account {
            user: user.to_owned(),
            role,
            agent,
            name: agent_name.unwrap_or_else(|| user.to_owned()),
            stamp,
            direct_number,
        }))
    }

    /// The account when `password` is its password; `None` for a wrong password, an
    /// unknown name or a disabled user alike, in about the same time.
    pub fn verify_login(&self, user: &str, password: &str) -> Result<Option<Account>, StoreError> {
        let account = self.account(user)?;
        let Some(account) = account else {
            let _ = Argon2::default().verify_password(password.as_bytes(), dummy_hash());
            return Ok(None);
        };
        let ok = if is_agent_number(user) {
            self.verify_agent_password(user, password)?
        } else {
            match Argon2::default().verify_password(password.as_bytes(), account.stamp.as_str()) {
                Ok(()) => true,
                Err(argon2::password_hash::Error::PasswordInvalid) => false,
                Err(e) => {
                    return Err(bad(
                        "users",
                        &format!("name {user:?}"),
                        format!("password is not an argon2 PHC string ({e})"),
                    ));
                }
            }
        };
        Ok(ok.then_some(account))
    }

    /// At first start (no users yet): creates [`FIRST_ADMIN`] with a random password
    /// and returns it, to be shown once; `None` when there are users already.
    pub fn create_first_admin(&mut self) -> Result<Option<String>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let any: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM users)", [], |r| r.get(0))?;
        if any {
            return Ok(None);
        }
        let password = Alphanumeric.sample_string(&mut rand::rng(), 16);
        tx.execute(
            "INSERT INTO users (name, role, password, created_at) VALUES (?1, 'admin', ?2, ?3)",
            params![
                FIRST_ADMIN,
                hash_password(&password)?,
                time_to_sql(&Utc::now())
            ],
        )?;
        tx.commit()?;
        log::info!("store: created the web admin {FIRST_ADMIN:?}");
        Ok(Some(password))
    }

    /// Sets the password of the user `name` (and its role, when given), creating the
    /// user when missing (an admin unless `role` says otherwise) and enabling it.
    /// Sessions opened with the old password end. Returns true when it was created.
    pub fn set_user_password(
        &mut self,
        name: &str,
        password: &str,
        role: Option<Role>,
    ) -> Result<bool, StoreError> {
        check_user_name(name)?;
        check_user_password(password)?;
        if role == Some(Role::Agent) {
            return Err(invalid(
                "role",
                "expected \"admin\" or \"supervisor\" (agents log in with their number)".into(),
            ));
        }
        let hash = hash_password(password)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = tx.execute(
            "UPDATE users SET password = ?2, disabled = 0, role = COALESCE(?3, role)
             WHERE name = ?1",
            params![name, hash, role.map(Role::as_str)],
        )?;
        let created = changed == 0;
        if created {
            tx.execute(
                "INSERT INTO users (name, role, password, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![
                    name,
                    role.unwrap_or(Role::Admin).as_str(),
                    hash,
                    time_to_sql(&Utc::now())
                ],
            )?;
        }
        tx.commit()?;
        Ok(created)
    }

    /// Refuses (or allows again) the user's logins; their sessions end at once.
    pub fn set_user_disabled(&mut self, name: &str, disabled: bool) -> Result<(), StoreError> {
        let changed = self.conn.execute(
            "UPDATE users SET disabled = ?2 WHERE name = ?1",
            params![name, disabled],
        )?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: "user",
                value: format!("{name:?}"),
            });
        }
        Ok(())
    }
}

/// A web user as the console lists it; the password is never read out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub name: String,
    pub role: Role,
    /// The number of the agent this login also acts as.
    pub agent: Option<String>,
    pub agent_name: Option<String>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

/// A web user to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// 1-64 characters, not all digits (those are agent numbers).
    pub name: String,
    pub role: Role,
    /// At least [`MIN_USER_PASSWORD_CHARS`]; stored as argon2id.
    pub password: String,
    /// An agent number; required for the agent role.
    pub agent: Option<String>,
}

/// A change to a web user: `None` leaves a field as it is; `agent: Some(None)` unlinks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChange {
    pub role: Option<Role>,
    pub password: Option<String>,
    pub agent: Option<Option<String>>,
    pub disabled: Option<bool>,
}

/// The refusal of a change that would leave no enabled admin.
fn last_admin() -> Conflict {
    Conflict::new(
        None,
        "this is the last enabled admin: make another user an admin first, or no one \
         could run the console",
    )
}

fn user_from_row(r: &rusqlite::Row<'_>) -> Result<UserRecord, StoreError> {
    let name: String = r.get(0)?;
    let key = format!("name {name:?}");
    let role: String = r.get(1)?;
    Ok(UserRecord {
        role: Role::parse(&role).ok_or_else(|| bad("users", &key, format!("role {role:?}")))?,
        agent: r.get(2)?,
        agent_name: r.get(3)?,
        disabled: r.get(4)?,
        created_at: time_from_sql(&r.get::<_, String>(5)?, "users", &key)?,
        name,
    })
}

const USER_COLUMNS: &str = "u.name, u.role, a.number, a.name, u.disabled, u.created_at
     FROM users u LEFT JOIN agents a ON a.id = u.agent_id";

/// The id of the agent numbered `number`, or `Invalid` naming `agent`.
fn linked_agent(conn: &rusqlite::Connection, number: &str) -> Result<i64, StoreError> {
    conn.query_row(
        "SELECT id FROM agents WHERE number = ?1",
        params![number],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| invalid("agent", format!("no agent has the number {number:?}")))
}

/// True when `name` is the only enabled admin.
fn is_last_admin(conn: &rusqlite::Connection, name: &str) -> Result<bool, StoreError> {
    let (me, admins): (bool, i64) = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM users WHERE name = ?1 AND role = 'admin' AND disabled = 0),
                (SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0)",
        params![name],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(me && admins <= 1)
}

impl Store {
    /// Every web user, by name.
    pub fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} ORDER BY u.name");
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(user_from_row(r)?);
        }
        Ok(out)
    }

    /// The web user `name`, disabled or not.
    pub fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} WHERE u.name = ?1");
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(params![name])?;
        match rows.next()? {
            Some(r) => Ok(Some(user_from_row(r)?)),
            None => Ok(None),
        }
    }

    /// Adds a web user. A taken name is [`StoreError::Duplicate`]; a bad field is
    /// [`StoreError::Invalid`] naming it (`agent` for an unknown agent number, or a
    /// missing one for the agent role).
    pub fn add_user(&mut self, u: &NewUser) -> Result<(), StoreError> {
        check_user_name(&u.name)?;
        check_user_password(&u.password)?;
        if u.role == Role::Agent && u.agent.is_none() {
            return Err(invalid(
                "agent",
                "an agent's login needs the agent it logs in as".into(),
            ));
        }
        let hash = hash_password(&u.password)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let agent = u
            .agent
            .as_deref()
            .map(|n| linked_agent(&tx, n))
            .transpose()?;
        tx.execute(
            "INSERT INTO users (name, role, password, created_at, agent_id)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                u.name,
                u.role.as_str(),
                hash,
                time_to_sql(&Utc::now()),
                agent
            ],
        )
        .map_err(|e| super::write::duplicate(e, "user", &u.name))?;
        tx.commit()?;
        Ok(())
    }

    /// Changes the web user `name` (see [`UserChange`]); `Ok(Err(Conflict))` when it
    /// would demote or disable the last enabled admin, and nothing changes then. A new
    /// password or role, or disabling, ends the user's sessions (their stamp moves or
    /// the account is gone).
    pub fn change_user(
        &mut self,
        name: &str,
        c: &UserChange,
    ) -> Result<Result<(), Conflict>, StoreError> {
        if let Some(p) = &c.password {
            check_user_password(p)?;
        }
        let hash = c.password.as_deref().map(hash_password).transpose()?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some((role, agent)) = tx
            .query_row(
                "SELECT role, agent_id FROM users WHERE name = ?1",
                params![name],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?)),
            )
            .optional()?
        else {
            return Err(StoreError::NotFound {
                what: "user",
                value: format!("{name:?}"),
            });
        };
        let role = Role::parse(&role)
            .ok_or_else(|| bad("users", &format!("name {name:?}"), format!("role {role:?}")))?;
        let new_role = c.role.unwrap_or(role);
        let new_agent = match &c.agent {
            None => agent,
            Some(None) => None,
            Some(Some(number)) => Some(linked_agent(&tx, number)?),
        };
        if new_role == Role::Agent && new_agent.is_none() {
            return Err(invalid(
                "agent",
                "an agent's login needs the agent it logs in as".into(),
            ));
        }
        let demoted = role == Role::Admin && new_role != Role::Admin;
        if (demoted || c.disabled == Some(true)) && is_last_admin(&tx, name)? {
            return Ok(Err(last_admin()));
        }
        tx.execute(
            "UPDATE users SET role = ?2, agent_id = ?3, password = COALESCE(?4, password),
                 disabled = COALESCE(?5, disabled)
             WHERE name = ?1",
            params![name, new_role.as_str(), new_agent, hash, c.disabled],
        )?;
        tx.commit()?;
        Ok(Ok(()))
    }

    /// Removes the web user `name`; `Ok(Err(Conflict))` for the last enabled admin.
    /// The audit log keeps naming them (by text).
    pub fn remove_user(&mut self, name: &str) -> Result<Result<(), Conflict>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if is_last_admin(&tx, name)? {
            return Ok(Err(last_admin()));
        }
        let removed = tx.execute("DELETE FROM users WHERE name = ?1", params![name])?;
        if removed == 0 {
            return Err(StoreError::NotFound {
                what: "user",
                value: format!("{name:?}"),
            });
        }
        tx.commit()?;
        Ok(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_would_clash_or_mislead_are_refused() {
        assert!(check_user_name("8001").is_err());
        assert!(check_user_name(" admin").is_err());
        assert!(check_user_name("ad\nmin").is_err());
        assert!(check_user_name("").is_err());
        assert!(check_user_name("'; DROP TABLE agents; --").is_ok());
        assert!(check_user_name("值班主管").is_ok());
        assert!(check_user_password("1234567").is_err());
        assert!(check_user_password("12345678").is_ok());
        assert!(is_agent_number("8001") && !is_agent_number("admin"));
    }

    #[test]
    fn the_first_admin_is_made_once_and_passwords_reset_end_old_stamps() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("callbox.db")).unwrap();
        let first = store
            .create_first_admin()
            .unwrap()
            .expect("made at first start");
        assert!(store.create_first_admin().unwrap().is_none());
        let admin = store.verify_login(FIRST_ADMIN, &first).unwrap().unwrap();
        assert_eq!((admin.role, admin.agent.as_deref()), (Role::Admin, None));
        assert!(
            store
                .verify_login(FIRST_ADMIN, "wrong password")
                .unwrap()
                .is_none()
        );
        assert!(store.verify_login("nobody", &first).unwrap().is_none());
        assert!(
            !store
                .set_user_password(FIRST_ADMIN, "a new password", None)
                .unwrap()
        );
        let again = store.account(FIRST_ADMIN).unwrap().unwrap();
        assert_ne!(again.stamp, admin.stamp);
        assert!(store.verify_login(FIRST_ADMIN, &first).unwrap().is_none());
        assert!(
            store
                .set_user_password("主管", "password1", Some(Role::Supervisor))
                .unwrap()
        );
        assert_eq!(
            store.account("主管").unwrap().unwrap().role,
            Role::Supervisor
        );
        store.set_user_disabled("主管", true).unwrap();
        assert!(store.account("主管").unwrap().is_none());
    }

    #[test]
    fn a_linked_login_acts_as_its_agent_and_the_last_admin_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("callbox.db")).unwrap();
        store
            .add_agent(&crate::store::NewAgent {
                number: "8001".into(),
                name: "张三".into(),
                web_password: "agent-pw".into(),
                sip_password: None,
                direct_number: Some("13800138000".into()),
                bound_device: None,
                answer_mode: crate::core::AnswerMode::Device,
                offline_answering: false,
                allow_fallback: false,
                confirm_direct: false,
            })
            .unwrap();
        let user = |name: &str, role, agent: Option<&str>| NewUser {
            name: name.into(),
            role,
            password: "long-secret".into(),
            agent: agent.map(Into::into),
        };
        store.add_user(&user("boss", Role::Admin, None)).unwrap();
        assert!(matches!(
            store.add_user(&user("boss", Role::Admin, None)),
            Err(StoreError::Duplicate { .. })
        ));
        assert!(matches!(
            store.add_user(&user("x", Role::Agent, None)),
            Err(StoreError::Invalid { field: "agent", .. })
        ));
        store
            .add_user(&user("zhangsan", Role::Agent, Some("8001")))
            .unwrap();
        let a = store
            .verify_login("zhangsan", "long-secret")
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                a.role,
                a.agent.as_deref(),
                a.name.as_str(),
                a.direct_number.as_deref()
            ),
            (Role::Agent, Some("8001"), "张三", Some("13800138000"))
        );
        // The agent's own login still takes the agent's password, not the user's.
        assert!(store.verify_login("8001", "agent-pw").unwrap().is_some());
        let demote = UserChange {
            role: Some(Role::Supervisor),
            ..UserChange::default()
        };
        assert!(store.change_user("boss", &demote).unwrap().is_err());
        assert!(store.remove_user("boss").unwrap().is_err());
        let disable = UserChange {
            disabled: Some(true),
            ..UserChange::default()
        };
        assert!(store.change_user("boss", &disable).unwrap().is_err());
        store.add_user(&user("boss2", Role::Admin, None)).unwrap();
        store.change_user("boss", &disable).unwrap().unwrap();
        assert!(store.account("boss").unwrap().is_none());
        assert!(
            store.remove_user("boss2").unwrap().is_err(),
            "boss is disabled"
        );
        assert_eq!(store.users().unwrap().len(), 3);
    }
}
