//! Who is asking, and may they: web sessions (`/api/v1/session`), the CSRF check,
//! the login rate limit, the roles' rules, and the audit rows of changes made through
//! a session.
//!
//! A request is either from this machine without a session cookie (the `callbox`
//! command line, scripts: admin rights, guarded by the Host and JSON checks in
//! `routes.rs`) or carries `callbox_session`, a random token made at login. Anything
//! else gets 401. Sessions live in the API's memory, shared by its worker threads: they end at logout, after
//! [`IDLE`] without a request, at a restart, and as soon as the account's password
//! changes, it is disabled or removed (the account is read again on every request, and
//! its role with it, so a new supervisor flag counts at once).
//!
//! The tricky parts: a token is found by its first [`KEY_CHARS`] characters and then
//! compared whole in constant time, as is the CSRF token, so timing tells nothing of
//! either secret. A failed login says the same words for an unknown user and a wrong
//! password (and costs the same argon2 time, see `Store::verify_login`), and the rate
//! limit counts failures per name whether or not it exists.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tiny_http::Method;

use crate::core::{AuditRecord, StoreOp};
use crate::store::{Account, Role, StoreError};

use super::call_log::CallLog;
use super::routes::{Answer, Asked, error};

/// The session cookie's name.
pub const COOKIE: &str = "callbox_session";
/// A session ends after this long without a request.
pub const IDLE: Duration = Duration::from_secs(12 * 3600);
/// Failed logins counted over this window.
pub const WINDOW: Duration = Duration::from_secs(5 * 60);
/// Failures of one login name within [`WINDOW`] before it is refused with 429.
pub const MAX_FAILURES_PER_USER: usize = 5;
/// Failures from one address within [`WINDOW`] (several people may share a PC).
pub const MAX_FAILURES_PER_ADDRESS: usize = 20;
/// The most sessions held; past it the one idle longest ends.
const MAX_SESSIONS: usize = 2000;
/// The part of a token sessions are filed under; the rest is compared in constant time.
const KEY_CHARS: usize = 16;
/// The longest login name accepted (agent numbers are 16 digits, user names 64
/// characters).
const MAX_USER_CHARS: usize = 64;
/// The one answer for an unknown user and a wrong password.
const WRONG: &str = "wrong user or password";

/// True when the peer is this machine: all of 127.0.0.0/8, ::1, and IPv4 loopback
/// mapped into IPv6.
pub fn is_this_machine(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

/// A state-changing method: it needs the CSRF header when a cookie authenticates it.
pub fn is_change(method: &Method) -> bool {
    matches!(
        method,
        Method::Post | Method::Put | Method::Patch | Method::Delete
    )
}

/// Equal strings, in a time that depends only on their lengths.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// 32 bytes from the thread's CSPRNG (ChaCha, seeded by the OS), as 64 hex digits.
fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The value of the cookie `name` in a `Cookie` header.
fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim().trim_matches('"'))
}

/// Whoever is asking: this machine (no session: admin rights) or a session's account.
#[derive(Debug, Clone)]
pub struct Caller {
    /// `None`: this machine without a session.
    pub account: Option<Account>,
}

impl Caller {
    pub fn local() -> Caller {
        Caller { account: None }
    }

    pub fn role(&self) -> Role {
        self.account.as_ref().map_or(Role::Admin, |a| a.role)
    }

    /// The caller's own agent number, for agents and supervisors who are agents.
    pub fn agent(&self) -> Option<&str> {
        self.account.as_ref().and_then(|a| a.agent.as_deref())
    }
}

struct Session {
    token: String,
    csrf: String,
    account: Account,
    last_seen: Instant,
}

/// Failed logins in the last [`WINDOW`], by login name and by address.
#[derive(Default)]
struct Failures {
    by_user: HashMap<String, VecDeque<Instant>>,
    by_addr: HashMap<IpAddr, VecDeque<Instant>>,
}

fn wait_left(times: Option<&VecDeque<Instant>>, max: usize, now: Instant) -> Option<Duration> {
    let times = times?;
    let recent: Vec<&Instant> = times
        .iter()
        .filter(|t| now.duration_since(**t) < WINDOW)
        .collect();
    if recent.len() < max {
        return None;
    }
    // The oldest counted failure leaves the window first.
    let oldest = recent[recent.len() - max];
    Some(WINDOW.saturating_sub(now.duration_since(*oldest)))
}

impl Failures {
    fn retry_after(&self, user: &str, addr: Option<IpAddr>, now: Instant) -> Option<Duration> {
        let by_user = wait_left(self.by_user.get(user), MAX_FAILURES_PER_USER, now);
        let by_addr =
            addr.and_then(|a| wait_left(self.by_addr.get(&a), MAX_FAILURES_PER_ADDRESS, now));
        by_user.max(by_addr)
    }

    fn failed(&mut self, user: &str, addr: Option<IpAddr>, now: Instant) {
        let fresh = |v: &mut VecDeque<Instant>| {
            while v.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
                v.pop_front();
            }
            !v.is_empty()
        };
        self.by_user.retain(|_, v| fresh(v));
        self.by_addr.retain(|_, v| fresh(v));
        self.by_user
            .entry(user.to_owned())
            .or_default()
            .push_back(now);
        if let Some(addr) = addr {
            self.by_addr.entry(addr).or_default().push_back(now);
        }
    }

    fn succeeded(&mut self, user: &str) {
        self.by_user.remove(user);
    }
}

/// Sessions and failed logins, owned by the API thread.
#[derive(Default)]
pub struct Auth {
    sessions: Mutex<HashMap<String, Session>>,
    failures: Mutex<Failures>,
}

#[derive(Serialize)]
struct SessionJson<'a> {
    user: &'a str,
    role: &'static str,
    agent: Option<&'a str>,
    name: &'a str,
    /// The agent's direct number (the header shows it, S5).
    direct_number: Option<&'a str>,
    csrf: &'a str,
}

fn session_json<'a>(account: &'a Account, csrf: &'a str) -> SessionJson<'a> {
    SessionJson {
        user: &account.user,
        role: account.role.as_str(),
        agent: account.agent.as_deref(),
        name: &account.name,
        direct_number: account.direct_number.as_deref(),
        csrf,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    user: String,
    password: String,
}

fn not_logged_in(message: &str) -> Answer {
    error(401, message, None).with_header("Set-Cookie", clear_cookie())
}

fn clear_cookie() -> String {
    format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
}

fn store_trouble(e: Option<StoreError>) -> Answer {
    match e {
        Some(e) => {
            log::error!("api: reading web accounts: {e}");
            error(500, "the web accounts could not be read", None)
        }
        None => error(503, "the web accounts are not available", None),
    }
}

fn json_body(asked: &Asked<'_>) -> bool {
    asked
        .content_type
        .is_some_and(|t| t.trim_start().starts_with("application/json"))
}

impl Auth {
    pub fn new() -> Auth {
        Auth::default()
    }

    /// The session of `token`, its account read again; `Err` when it has ended.
    fn session(
        &self,
        token: &str,
        db: &CallLog,
        now: Instant,
    ) -> Result<(Account, String), Answer> {
        let key = token.get(..KEY_CHARS).unwrap_or("");
        let mut sessions = locked(&self.sessions);
        let found = sessions
            .get(key)
            .filter(|s| same_secret(&s.token, token))
            .map(|s| (s.account.user.clone(), s.account.stamp.clone(), s.last_seen));
        let Some((user, stamp, last_seen)) = found else {
            return Err(not_logged_in("not logged in, or the session has ended"));
        };
        if now.duration_since(last_seen) > IDLE {
            sessions.remove(key);
            return Err(not_logged_in("the session has ended: log in again"));
        }
        let account = match db.with_store(|s| s.account(&user)) {
            Ok(Some(a)) if a.stamp == stamp => a,
            Ok(_) => {
                sessions.remove(key);
                return Err(not_logged_in(
                    "the session has ended (the account changed): log in again",
                ));
            }
            Err(e) => return Err(store_trouble(e)),
        };
        let session = sessions.get_mut(key).ok_or_else(|| store_trouble(None))?;
        session.last_seen = now;
        session.account = account.clone();
        Ok((account, session.csrf.clone()))
    }

    /// Is the session in the `Cookie` header `cookie` still open (not logged out, not
    /// idle too long, its account's password unchanged)? Asking is no use of the
    /// session: a live event stream checks with this, so an open tab alone never
    /// keeps a session from expiring. A store that cannot be read says yes.
    pub fn session_open(&self, cookie: &str, db: &CallLog, now: Instant) -> bool {
        let Some(token) = cookie_value(cookie, COOKIE) else {
            return false;
        };
        let key = token.get(..KEY_CHARS).unwrap_or("");
        let found = locked(&self.sessions)
            .get(key)
            .filter(|s| same_secret(&s.token, token))
            .map(|s| (s.account.user.clone(), s.account.stamp.clone(), s.last_seen));
        let Some((user, stamp, last_seen)) = found else {
            return false;
        };
        if now.duration_since(last_seen) > IDLE {
            return false;
        }
        match db.with_store(|s| s.account(&user)) {
            Ok(Some(a)) => a.stamp == stamp,
            Ok(None) => false,
            Err(_) => true,
        }
    }

    /// Who is asking an `/api/` route other than `/api/v1/session`, or the answer that
    /// refuses them (401 without a session from another machine, 403 for a missing or
    /// wrong CSRF token or a foreign Host, 415 for a change not sent as JSON).
    pub fn caller(&self, asked: &Asked<'_>, db: &CallLog, now: Instant) -> Result<Caller, Answer> {
        // A form on a web page cannot send JSON without asking first (CORS), so a
        // change demands it.
        // An upload (a prompt's audio) is not JSON; the X-CSRF-Token header it must carry
        // instead is one a form cannot send either.
        let upload = *asked.method == Method::Put
            && asked.url.starts_with("/api/v1/prompts/")
            && asked.csrf.is_some();
        let needs_json =
            !upload && matches!(asked.method, Method::Post | Method::Put | Method::Patch);
        let token = asked.cookie.and_then(|c| cookie_value(c, COOKIE));
        let Some(token) = token else {
            if !asked.local {
                return Err(error(401, "log in first (POST /api/v1/session)", None));
            }
            if !asked.host.is_some_and(host_is_this_machine) {
                return Err(error(403, "the Host header must name this machine", None));
            }
            if needs_json && !json_body(asked) {
                return Err(error(415, "send the body as application/json", None));
            }
            return Ok(Caller::local());
        };
        let (account, csrf) = self.session(token, db, now)?;
        if is_change(asked.method) && !asked.csrf.is_some_and(|c| same_secret(c, &csrf)) {
            return Err(error(
                403,
                "missing or wrong X-CSRF-Token header: send the csrf token of the session",
                None,
            ));
        }
        if needs_json && !json_body(asked) {
            return Err(error(415, "send the body as application/json", None));
        }
        Ok(Caller {
            account: Some(account),
        })
    }

    /// `/api/v1/session`: log in (POST), the session's account (GET), log out (DELETE).
    pub fn route(&self, asked: &Asked<'_>, db: &CallLog, now: Instant) -> Answer {
        let token = asked.cookie.and_then(|c| cookie_value(c, COOKIE));
        match asked.method {
            Method::Post => self.login(asked, token, db, now),
            Method::Get => match token.map(|t| self.session(t, db, now)) {
                None => error(401, "not logged in", None),
                Some(Err(answer)) => answer,
                Some(Ok((account, csrf))) => Answer::json(200, &session_json(&account, &csrf)),
            },
            Method::Delete => {
                let found = match token.map(|t| self.session(t, db, now)) {
                    None => return not_logged_in("not logged in"),
                    Some(Err(answer)) => return answer,
                    Some(Ok(found)) => found,
                };
                let (account, csrf) = found;
                if !asked.csrf.is_some_and(|c| same_secret(c, &csrf)) {
                    return error(
                        403,
                        "missing or wrong X-CSRF-Token header: send the csrf token of the session",
                        None,
                    );
                }
                if let Some(token) = token {
                    locked(&self.sessions).remove(token.get(..KEY_CHARS).unwrap_or(""));
                }
                audit(
                    db,
                    &account.user,
                    "session-logout",
                    "DELETE /api/v1/session -> 200",
                );
                Answer::json(200, &serde_json::json!({ "logged_out": true }))
                    .with_header("Set-Cookie", clear_cookie())
            }
            _ => Answer {
                allow: Some("GET, POST, DELETE"),
                ..error(405, "method not allowed", None)
            },
        }
    }

    fn login(&self, asked: &Asked<'_>, old: Option<&str>, db: &CallLog, now: Instant) -> Answer {
        if !json_body(asked) {
            return error(415, "send the body as application/json", None);
        }
        let body: LoginBody = match super::agents::parse_body(asked.body, "") {
            Ok(b) => b,
            Err(answer) => return answer,
        };
        if body.user.chars().count() > MAX_USER_CHARS {
            return error(
                400,
                &format!("expected at most {MAX_USER_CHARS} characters"),
                Some("user"),
            );
        }
        if body.password.chars().count() > crate::store::MAX_PASSWORD_CHARS {
            return error(
                400,
                &format!(
                    "expected at most {} characters",
                    crate::store::MAX_PASSWORD_CHARS
                ),
                Some("password"),
            );
        }
        if let Some(wait) = locked(&self.failures).retry_after(&body.user, asked.peer, now) {
            let secs = wait.as_secs().max(1);
            return error(
                429,
                &format!("too many failed logins: try again in {secs} s"),
                None,
            )
            .with_header("Retry-After", secs.to_string());
        }
        let account = match db.with_store(|s| s.verify_login(&body.user, &body.password)) {
            Ok(Some(account)) => account,
            Ok(None) => {
                locked(&self.failures).failed(&body.user, asked.peer, now);
                log::warn!(
                    "api: failed web login as {:?} from {}",
                    body.user,
                    asked.peer.map_or("?".into(), |p| p.to_string())
                );
                return error(401, WRONG, None);
            }
            Err(e) => return store_trouble(e),
        };
        locked(&self.failures).succeeded(&body.user);
        let (token, csrf) = (random_token(), random_token());
        {
            let mut sessions = locked(&self.sessions);
            if let Some(old) = old.and_then(|t| t.get(..KEY_CHARS)) {
                sessions.remove(old);
            }
            sessions.retain(|_, s| now.duration_since(s.last_seen) <= IDLE);
            if sessions.len() >= MAX_SESSIONS
                && let Some(stalest) = sessions
                    .iter()
                    .min_by_key(|(_, s)| s.last_seen)
                    .map(|(k, _)| k.clone())
            {
                sessions.remove(&stalest);
            }
            sessions.insert(
                token[..KEY_CHARS].to_owned(),
                Session {
                    token: token.clone(),
                    csrf: csrf.clone(),
                    account: account.clone(),
                    last_seen: now,
                },
            );
        }
        log::info!(
            "api: {} logged in as {}",
            account.user,
            account.role.as_str()
        );
        audit(
            db,
            &account.user,
            "session-login",
            "POST /api/v1/session -> 200",
        );
        let secure = if asked.secure { "; Secure" } else { "" };
        Answer::json(200, &session_json(&account, &csrf)).with_header(
            "Set-Cookie",
            format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/{secure}"),
        )
    }
}

/// A lock that a panicked holder left poisoned is still good: the maps stay whole.
fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The audit log's word for a change at `parts` (the path after `/api/v1`).
pub fn action_of(parts: &[&str]) -> String {
    match parts {
        ["agents", _, "call", button] => (*button).to_string(),
        ["agents", _, "supervise", "stop"] => "supervise-stop".into(),
        ["agents", _, action, ..] => (*action).to_string(),
        ["calls"] => "dial".into(),
        [first, ..] => (*first).to_string(),
        [] => "api".into(),
    }
}

/// Writes an audit row; a failure is logged, never the request's.
pub fn audit(db: &CallLog, actor: &str, action: &str, detail: &str) {
    let row = StoreOp::Audit(Box::new(AuditRecord {
        at: chrono::Utc::now(),
        actor: actor.to_owned(),
        action: action.to_owned(),
        call: None,
        detail: detail.to_owned(),
    }));
    if let Err(e) = db.with_store(|s| s.apply(&row)) {
        match e {
            Some(e) => log::error!("api: writing the audit log ({actor} {action}): {e}"),
            None => log::debug!("api: no audit log to write {actor} {action} to"),
        }
    }
}

/// A `Host` that names this machine by address or as localhost. Anything else on a
/// loopback connection is a web page's script reaching us through DNS rebinding.
pub fn host_is_this_machine(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_machine_is_all_of_loopback_and_nothing_else() {
        for ip in [
            "127.0.0.1",
            "127.0.0.2",
            "127.255.255.254",
            "::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_this_machine(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "192.168.1.10",
            "10.0.0.1",
            "0.0.0.0",
            "::",
            "::ffff:192.168.1.10",
            "fe80::1",
        ] {
            assert!(!is_this_machine(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn secrets_compare_whole_and_cookies_are_found_by_name() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd") && !same_secret("abc", "abcd"));
        let t = random_token();
        assert_eq!(t.len(), 64);
        assert_ne!(t, random_token());
        assert_eq!(
            cookie_value("theme=dark; callbox_session=xyz; x=1", COOKIE),
            Some("xyz")
        );
        assert_eq!(cookie_value("callbox_sessionx=1", COOKIE), None);
    }

    #[test]
    fn changes_are_audited_by_their_action() {
        assert_eq!(action_of(&["agents", "8001", "call", "hold"]), "hold");
        assert_eq!(action_of(&["agents", "8001", "state"]), "state");
        assert_eq!(action_of(&["calls"]), "dial");
    }

    #[test]
    fn failed_logins_are_limited_per_name_and_per_address() {
        let t0 = Instant::now();
        let addr: Option<IpAddr> = Some("192.168.1.20".parse().unwrap());
        let mut f = Failures::default();
        for i in 0..MAX_FAILURES_PER_USER {
            assert_eq!(f.retry_after("8001", addr, t0), None, "after {i}");
            f.failed("8001", addr, t0);
        }
        let wait = f.retry_after("8001", addr, t0).expect("limited");
        assert!(wait <= WINDOW && wait > WINDOW - Duration::from_secs(1));
        // Another name from the same address is not yet limited; the window passes.
        assert_eq!(f.retry_after("8002", addr, t0), None);
        assert_eq!(f.retry_after("8001", addr, t0 + WINDOW), None);
        f.succeeded("8001");
        assert_eq!(f.retry_after("8001", addr, t0), None);
        for i in 0..MAX_FAILURES_PER_ADDRESS {
            f.failed(&format!("name{i}"), addr, t0);
        }
        assert!(f.retry_after("fresh", addr, t0).is_some());
        assert_eq!(
            f.retry_after("fresh", Some("192.168.1.21".parse().unwrap()), t0),
            None
        );
    }
}
