//! Web accounts: admins and supervisors (the `users` table), and the login check that
//! covers agents too (agent number and `agents.web_password`), for the API's sessions
//! and `callbox admin passwd`.
//!
//! An account is looked up by its login name: all digits is an agent number, anything
//! else a user name (a user name is never all digits, so the two never clash). An
//! agent marked supervisor logs in as a supervisor who is also that agent.
//!
//! The tricky parts: a login must not tell an unknown name from a wrong password, by
//! its answer or by its time, so an unknown name is checked against a dummy hash at the
//! same cost. And a password change must end the sessions opened with the old one: an
//! [`Account`] carries its `stamp` (the stored hash), which the API compares on every
//! request; a new password, a disabled user or a removed agent changes or drops it.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::PasswordVerifier;
use chrono::Utc;
use rand::distr::{Alphanumeric, SampleString};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::agents::{check_name, hash_password, invalid};
use super::rows::{bad, time_to_sql};
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

    /// A `users` role (`admin` or `supervisor`); agents are not rows of `users`.
    pub fn parse_user_role(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "supervisor" => Some(Role::Supervisor),
            _ => None,
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
    /// The account that logs in as `user`, if it exists and is not disabled.
    pub fn account(&self, user: &str) -> Result<Option<Account>, StoreError> {
        if is_agent_number(user) {
            let row = self
                .conn
                .query_row(
                    "SELECT name, web_password, supervisor FROM agents WHERE number = ?1",
                    params![user],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, bool>(2)?,
                        ))
                    },
                )
                .optional()?;
            return Ok(row.map(|(name, stamp, supervisor)| Account {
                user: user.to_owned(),
                role: if supervisor {
                    Role::Supervisor
                } else {
                    Role::Agent
                },
                agent: Some(user.to_owned()),
                name,
                stamp,
            }));
        }
        let row = self
            .conn
            .query_row(
                "SELECT role, password FROM users WHERE name = ?1 AND disabled = 0",
                params![user],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
            )
            .optional()?;
        let Some((role, stamp)) = row else {
            return Ok(None);
        };
        let role = Role::parse_user_role(&role)
            .ok_or_else(|| bad("users", &format!("name {user:?}"), format!("role {role:?}")))?;
        Ok(Some(Account {
            user: user.to_owned(),
            role,
            agent: None,
            name: user.to_owned(),
            stamp,
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
        let ok = if account.agent.is_some() {
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
}
