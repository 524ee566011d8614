//! HTTP Digest (RFC 2617 / 3261 §22, MD5, qop=auth) for the registrar and for
//! INVITEs from devices: stateless nonces and the response check.
//!
//! Pure: the caller passes the time. A nonce is `<timestamp hex>.<keyed MD5 hex>`
//! under a per-process random key, so we keep no table and a restart invalidates
//! every nonce. It must never say *why* a check failed in a way a peer can see: the
//! stack answers unknown user and wrong password alike. The tricky part is `stale`:
//! it is only for a correct response on a nonce that aged out, so the client retries
//! silently instead of asking its user for a new password.

use md5::{Digest, Md5};

/// Outcome of looking at a nonce we are given back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceState {
    Fresh,
    /// Ours, but older than the lifetime.
    Stale,
    /// Not made by this process (or from the future): treat as no credentials.
    Forged,
}

/// The per-process key nonces are signed with.
pub struct NonceKey([u8; 32]);

impl NonceKey {
    pub fn random() -> NonceKey {
        NonceKey(rand::random())
    }

    #[cfg(test)]
    pub fn fixed(k: [u8; 32]) -> NonceKey {
        NonceKey(k)
    }

    /// A nonce issued at `now_secs` (any monotonic-enough second count).
    pub fn make(&self, now_secs: u64) -> String {
        let ts = format!("{now_secs:x}");
        format!("{ts}.{}", self.mac(&ts))
    }

    pub fn check(&self, nonce: &str, now_secs: u64, lifetime_secs: u64) -> NonceState {
        let Some((ts, mac)) = nonce.split_once('.') else {
            return NonceState::Forged;
        };
        if ts.len() > 16 || !eq_ct(mac.as_bytes(), self.mac(ts).as_bytes()) {
            return NonceState::Forged;
        }
        let Ok(issued) = u64::from_str_radix(ts, 16) else {
            return NonceState::Forged;
        };
        if issued > now_secs.saturating_add(5) {
            return NonceState::Forged;
        }
        if now_secs.saturating_sub(issued) > lifetime_secs {
            NonceState::Stale
        } else {
            NonceState::Fresh
        }
    }

    fn mac(&self, ts: &str) -> String {
        let mut h = Md5::new();
        h.update(self.0);
        h.update(b":");
        h.update(ts.as_bytes());
        h.update(b":");
        h.update(self.0);
        hex(&h.finalize())
    }
}

/// The parameters of a `Digest` Authorization header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub qop: Option<String>,
    pub nc: Option<String>,
    pub cnonce: Option<String>,
    pub algorithm: Option<String>,
}

impl Credentials {
    /// From Sofia's `name=value` params (quoted values keep their quotes). `None` when
    /// a required parameter is missing.
    pub fn from_params<S: AsRef<str>>(params: &[S]) -> Option<Credentials> {
        let mut c = Credentials::default();
        let (mut user, mut realm, mut nonce, mut uri, mut resp) =
            (false, false, false, false, false);
        for p in params {
            let Some((name, value)) = p.as_ref().split_once('=') else {
                continue;
            };
            let value = unquote(value.trim());
            match name.trim().to_ascii_lowercase().as_str() {
                "username" => (c.username, user) = (value, true),
                "realm" => (c.realm, realm) = (value, true),
                "nonce" => (c.nonce, nonce) = (value, true),
                "uri" => (c.uri, uri) = (value, true),
                "response" => (c.response, resp) = (value, true),
                "qop" => c.qop = Some(value),
                "nc" => c.nc = Some(value),
                "cnonce" => c.cnonce = Some(value),
                "algorithm" => c.algorithm = Some(value),
                _ => {}
            }
        }
        (user && realm && nonce && uri && resp).then_some(c)
    }

    /// The `realm` of a challenge's params (for answering a carrier's 401/407).
    pub fn realm_of<S: AsRef<str>>(params: &[S]) -> Option<String> {
        params.iter().find_map(|p| {
            let (name, value) = p.as_ref().split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("realm")
                .then(|| unquote(value.trim()))
        })
    }

    /// True when `response` is right for this password and request method.
    pub fn verify(&self, method: &str, password: &str) -> bool {
        match self.algorithm.as_deref() {
            None => {}
            Some(a) if a.eq_ignore_ascii_case("MD5") => {}
            Some(_) => return false,
        }
        let ha1 = md5_hex(&format!("{}:{}:{}", self.username, self.realm, password));
        let ha2 = md5_hex(&format!("{method}:{}", self.uri));
        let expected = match self.qop.as_deref() {
            None => md5_hex(&format!("{ha1}:{}:{ha2}", self.nonce)),
            Some("auth") => {
                let (Some(nc), Some(cnonce)) = (&self.nc, &self.cnonce) else {
                    return false;
                };
                md5_hex(&format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", self.nonce))
            }
            Some(_) => return false,
        };
        eq_ct(
            expected.as_bytes(),
            self.response.to_ascii_lowercase().as_bytes(),
        )
    }
}

/// The `WWW-Authenticate` / `Proxy-Authenticate` value for a challenge.
pub fn challenge(realm: &str, nonce: &str, stale: bool) -> String {
    let stale = if stale { ", stale=true" } else { "" };
    format!("Digest realm=\"{realm}\", nonce=\"{nonce}\", qop=\"auth\", algorithm=MD5{stale}")
}

fn unquote(v: &str) -> String {
    let v = v
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(v);
    v.replace("\\\"", "\"").replace("\\\\", "\\")
}

fn md5_hex(s: &str) -> String {
    hex(&Md5::digest(s.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Compares without stopping at the first difference (timing leaks nothing).
fn eq_ct(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(nonce: &str, response: &str) -> Vec<String> {
        vec![
            "username=\"1001\"".into(),
            "realm=\"callbox\"".into(),
            format!("nonce=\"{nonce}\""),
            "uri=\"sip:127.0.0.1:5090\"".into(),
            format!("response=\"{response}\""),
            "qop=auth".into(),
            "nc=00000001".into(),
            "cnonce=\"6b8b4567\"".into(),
            "algorithm=MD5".into(),
        ]
    }

    #[test]
    fn rfc2617_example_verifies() {
        // RFC 2617 §3.5, without the opaque (it is not part of the hash).
        let c = Credentials {
            username: "Mufasa".into(),
            realm: "testrealm@host.com".into(),
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093".into(),
            uri: "/dir/index.html".into(),
            response: "6629fae49393a05397450978507c4ef1".into(),
            qop: Some("auth".into()),
            nc: Some("00000001".into()),
            cnonce: Some("0a4f113b".into()),
            algorithm: None,
        };
        assert!(c.verify("GET", "Circle Of Life"));
        assert!(!c.verify("GET", "circle of life"));
        assert!(!c.verify("POST", "Circle Of Life"));
    }

    #[test]
    fn sofia_params_parse_and_check() {
        let ha1 = md5_hex("1001:callbox:secret");
        let ha2 = md5_hex("REGISTER:sip:127.0.0.1:5090");
        let resp = md5_hex(&format!("{ha1}:n0nce:00000001:6b8b4567:auth:{ha2}"));
        let c = Credentials::from_params(&creds("n0nce", &resp)).unwrap();
        assert_eq!(c.username, "1001");
        assert!(c.verify("REGISTER", "secret"));
        assert!(!c.verify("REGISTER", "wrong"));
        let mut sha = creds("n0nce", &resp);
        sha[8] = "algorithm=SHA-256".into();
        assert!(
            !Credentials::from_params(&sha)
                .unwrap()
                .verify("REGISTER", "secret")
        );
        assert_eq!(Credentials::from_params(&["username=\"x\""]), None);
    }

    #[test]
    fn nonces_age_and_forgeries_are_caught() {
        let key = NonceKey::fixed([9; 32]);
        let n = key.make(1000);
        assert_eq!(key.check(&n, 1000, 30), NonceState::Fresh);
        assert_eq!(key.check(&n, 1030, 30), NonceState::Fresh);
        assert_eq!(key.check(&n, 1031, 30), NonceState::Stale);
        assert_eq!(
            NonceKey::fixed([1; 32]).check(&n, 1000, 30),
            NonceState::Forged
        );
        let (ts, mac) = n.split_once('.').unwrap();
        assert_eq!(
            key.check(&format!("{ts}0.{mac}"), 1000, 30),
            NonceState::Forged
        );
        assert_eq!(key.check(&key.make(2000), 1000, 30), NonceState::Forged);
        for junk in ["", ".", "zz.zz", "ffffffffffffffffffff.00", "\u{0}"] {
            assert_eq!(key.check(junk, 1000, 30), NonceState::Forged);
        }
    }

    #[test]
    fn challenge_text() {
        assert_eq!(
            challenge("callbox", "abc", true),
            "Digest realm=\"callbox\", nonce=\"abc\", qop=\"auth\", algorithm=MD5, stale=true"
        );
    }
}
