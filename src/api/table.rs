//! The API's routes as data: every `/api/v1` route is one [`Route`] (method, path
//! pattern, who may use it, the function that answers), listed in its area's module
//! (`ROUTES`) and gathered by [`all`].
//!
//! Being data is what lets `routes.rs` answer unknown paths 404 and wrong methods 405
//! with `Allow` in one place, check roles before any handler runs, and what lets the
//! OpenAPI document (`openapi.rs`) be checked against the routes by a test: a route
//! that is not in a table is not served, and a route in a table that the document
//! does not describe fails `openapi::tests`.
//!
//! Owns no state; a handler gets everything it needs in a [`Ctx`].

use super::auth::Caller;
use super::routes::{Answer, Asked, Rooms, error, error_owned};
use crate::store::Role;

/// Who may use a route. Admins may use every route; this machine without a session
/// counts as an admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// Anyone logged in (and this machine).
    Anyone,
    /// Anyone logged in, but an agent only with their own number as `{agent}`.
    OwnAgent,
    /// Supervisors and admins.
    Supervisor,
    /// Admins only.
    Admin,
}

impl Who {
    /// The words the OpenAPI document uses (`x-roles`).
    pub fn roles(self) -> &'static [&'static str] {
        match self {
            Who::Anyone | Who::OwnAgent => &["admin", "supervisor", "agent"],
            Who::Supervisor => &["admin", "supervisor"],
            Who::Admin => &["admin"],
        }
    }
}

/// One route: `path` is relative to `/api/v1`, with `{name}` for a segment the
/// handler reads with [`Ctx::param`].
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub who: Who,
    pub run: fn(&Ctx<'_>) -> Answer,
}

/// What a handler answers from.
pub struct Ctx<'a> {
    pub asked: &'a Asked<'a>,
    /// The query string, without `?`.
    pub query: &'a str,
    pub caller: &'a Caller,
    pub rooms: &'a Rooms<'a>,
    parts: &'a [&'a str],
    params: Vec<(&'static str, &'a str)>,
}

impl<'a> Ctx<'a> {
    /// The path segment named `{name}` in the route's pattern ("" if the pattern has
    /// none: a programming error that the route's own test shows).
    pub fn param(&self, name: &str) -> &'a str {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| *v)
    }

    /// The path segment `{name}` percent-decoded (see [`decode_segment`]).
    pub fn param_text(&self, name: &str) -> String {
        decode_segment(self.param(name))
    }

    /// The path segment `{name}` as a row id: a positive whole number, else `None`
    /// (each area answers that in its own words).
    pub fn param_id(&self, name: &str) -> Option<i64> {
        self.param(name).parse::<i64>().ok().filter(|n| *n > 0)
    }

    /// The path after `/api/v1`, split at `/`.
    pub fn parts(&self) -> &'a [&'a str] {
        self.parts
    }

    /// The request body as text ("" when it was not UTF-8; see [`Ctx::raw`]).
    pub fn body(&self) -> &'a str {
        self.asked.body
    }

    /// The request body's bytes (uploads).
    pub fn raw(&self) -> &'a [u8] {
        self.asked.raw
    }

    /// The query's parameters, percent-decoded (`+` is a space).
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        query_pairs(self.query)
    }

    /// `Some(own number)` when the caller is an agent and must see only their own
    /// calls and recordings; `None` for supervisors, admins and this machine.
    pub fn only_agent(&self) -> Option<&'a str> {
        match self.caller.role() {
            Role::Agent => Some(self.caller.agent().unwrap_or("")),
            Role::Admin | Role::Supervisor => None,
        }
    }

    /// The user name of whoever asks ("" for this machine without a session).
    pub fn user(&self) -> &'a str {
        self.caller.account.as_ref().map_or("", |a| a.user.as_str())
    }
}

/// Every route of every area, in the order they are matched.
pub fn all() -> impl Iterator<Item = &'static Route> {
    [
        super::agents::ROUTES,
        super::calls::ROUTES,
        super::call_log::ROUTES,
        super::location::ROUTES,
        super::routes::ROUTES,
        super::openapi::ROUTES,
        super::staff::ROUTES,
        super::lines::ROUTES,
        super::crm::ROUTES,
        super::records::ROUTES,
        super::live::ROUTES,
    ]
    .into_iter()
    .flatten()
}

/// Does `pattern` (split) match `parts`? Returns the `{name}` segments if so.
fn matches<'a>(pattern: &'static str, parts: &[&'a str]) -> Option<Vec<(&'static str, &'a str)>> {
    let mut params = Vec::new();
    let mut segments = pattern.split('/').filter(|s| !s.is_empty());
    for part in parts {
        let seg = segments.next()?;
        match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => params.push((name, *part)),
            None if seg == *part => {}
            None => return None,
        }
    }
    segments.next().is_none().then_some(params)
}

/// The route for `method` at `parts` (the path after `/api/v1`, split), checked
/// against the caller's role, and answered; or 404, 405 with `Allow`, or 403.
pub fn dispatch<'a>(
    asked: &'a Asked<'a>,
    parts: &'a [&'a str],
    query: &'a str,
    caller: &'a Caller,
    rooms: &'a Rooms<'a>,
) -> Answer {
    let method = asked.method.as_str();
    let mut allow: Vec<&'static str> = Vec::new();
    for route in all() {
        let Some(params) = matches(route.path, parts) else {
            continue;
        };
        if route.method != method {
            if !allow.contains(&route.method) {
                allow.push(route.method);
            }
            continue;
        }
        let ctx = Ctx {
            asked,
            query,
            caller,
            rooms,
            parts,
            params,
        };
        if let Some(answer) = not_json(asked) {
            return answer;
        }
        let own = caller.agent().unwrap_or("");
        if let Err(answer) = permitted(route.who, caller.role(), own, ctx.param("agent")) {
            return answer;
        }
        return (route.run)(&ctx);
    }
    if allow.is_empty() {
        return error(
            404,
            "no such route (GET /api/v1/openapi.json lists them)",
            None,
        );
    }
    let allow = allow.join(", ");
    Answer {
        allow: Some(Box::leak(allow.into_boxed_str())),
        ..error(405, "method not allowed", None)
    }
}

/// A change whose JSON body does not parse is refused here, before any handler, so
/// no route acts on half a request (a route that ignores its body included).
fn not_json(asked: &Asked<'_>) -> Option<Answer> {
    let json = asked
        .content_type
        .is_some_and(|t| t.trim_start().starts_with("application/json"));
    if !json || asked.body.trim().is_empty() || !super::auth::is_change(asked.method) {
        return None;
    }
    match serde_json::from_str::<serde::de::IgnoredAny>(asked.body) {
        Ok(_) => None,
        Err(e) => Some(error_owned(
            400,
            &format!("the body is not JSON: {e}"),
            None,
        )),
    }
}

/// May a caller of `role` (agent number `own`) use a route for `who`, with `asked`
/// as its `{agent}`?
fn permitted(who: Who, role: Role, own: &str, asked: &str) -> Result<(), Answer> {
    let forbidden = |m: &str| Err(error(403, m, None));
    match (who, role) {
        (_, Role::Admin) => Ok(()),
        (Who::Admin, _) => forbidden("only an admin may do this"),
        (Who::Supervisor, Role::Supervisor) => Ok(()),
        (Who::Supervisor, Role::Agent) => forbidden("only supervisors and admins may do this"),
        (Who::Anyone, _) | (Who::OwnAgent, Role::Supervisor) => Ok(()),
        (Who::OwnAgent, Role::Agent) => {
            if asked == own {
                Ok(())
            } else {
                Err(error_owned(
                    403,
                    &format!("agent {own} may use only their own agent routes, not {asked}'s"),
                    None,
                ))
            }
        }
    }
}

/// `a=1&b=x%20y` as decoded pairs; a pair without `=` has an empty value.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// A path segment with its `%XX` escapes undone (`%2B86…` is `+86…`; user names
/// and reasons may be Chinese). Unlike a query component, a `+` stays a `+`; bad
/// escapes are kept as they are.
pub fn decode_segment(segment: &str) -> String {
    decode(&segment.replace('+', "%2B"))
}

/// Percent-decoding of one query component; bad escapes are kept as they are.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if bytes.get(i + 1).copied().and_then(hex).is_some()
                && bytes.get(i + 2).copied().and_then(hex).is_some() =>
            {
                let hi = bytes.get(i + 1).copied().and_then(hex).unwrap_or(0);
                let lo = bytes.get(i + 2).copied().and_then(hex).unwrap_or(0);
                out.push((hi * 16 + lo) as u8);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_whole_paths_and_name_their_segments() {
        assert_eq!(
            matches(
                "/agents/{agent}/call/{button}",
                &["agents", "1001", "call", "hold"]
            ),
            Some(vec![("agent", "1001"), ("button", "hold")])
        );
        assert_eq!(matches("/agents/{agent}", &["agents"]), None);
        assert_eq!(matches("/agents", &["agents", "1001"]), None);
        assert_eq!(
            matches("/agents/{agent}/why", &["agents", "1", "who"]),
            None
        );
    }

    /// Who may use `method` at `path` (split), as a status code.
    fn reach(role: Role, method: &str, path: &[&str]) -> Result<(), u16> {
        let route = all()
            .find(|r| r.method == method && matches(r.path, path).is_some())
            .ok_or(404u16)?;
        let asked = matches(route.path, path)
            .into_iter()
            .flatten()
            .find(|(n, _)| *n == "agent")
            .map_or("", |(_, v)| v);
        permitted(route.who, role, "8001", asked).map_err(|a| a.code)
    }

    #[test]
    fn roles_reach_only_their_routes() {
        let agent = |m, p: &[&str]| reach(Role::Agent, m, p);
        assert_eq!(agent("POST", &["agents", "8001", "state"]), Ok(()));
        assert_eq!(agent("POST", &["agents", "8001", "call", "hold"]), Ok(()));
        assert_eq!(agent("GET", &["agents", "8001", "calls"]), Ok(()));
        assert_eq!(agent("GET", &["agents", "8002", "calls"]), Err(403));
        assert_eq!(
            agent("POST", &["agents", "8002", "call", "hangup"]),
            Err(403)
        );
        assert_eq!(agent("POST", &["agents", "8001", "supervise"]), Err(403));
        assert_eq!(agent("GET", &["log-level"]), Err(403));
        assert_eq!(agent("POST", &["calls"]), Ok(()));
        let sup = |m, p: &[&str]| reach(Role::Supervisor, m, p);
        assert_eq!(sup("POST", &["agents", "8002", "call", "hangup"]), Ok(()));
        assert_eq!(sup("POST", &["agents", "8003", "supervise"]), Ok(()));
        assert_eq!(sup("POST", &["log-level"]), Err(403));
        assert_eq!(reach(Role::Admin, "POST", &["log-level"]), Ok(()));
    }

    #[test]
    fn every_route_is_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for r in all() {
            assert!(
                seen.insert((r.method, r.path)),
                "{} {} twice",
                r.method,
                r.path
            );
            assert!(r.path.starts_with('/'), "{}", r.path);
        }
    }

    #[test]
    fn queries_are_percent_decoded() {
        assert_eq!(
            query_pairs("number=%2B86%20138&name=%E5%BC%A0+三&flag"),
            vec![
                ("number".into(), "+86 138".into()),
                ("name".into(), "张 三".into()),
                ("flag".into(), String::new()),
            ]
        );
        assert_eq!(query_pairs("x=%zz%4"), vec![("x".into(), "%zz%4".into())]);
    }
}
