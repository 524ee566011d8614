//! What a REFER asks for, in pure code: the transfer target from Refer-To's user
//! part, the `Replaces` that an attended transfer carries in the URI's `?headers`,
//! which of our dialogs that `Replaces` names, and the sipfrag body of the NOTIFY
//! that tells the phone how it went.
//!
//! It owns the parts Sofia leaves to us: Sofia splits the Refer-To URI (`url_t`) and
//! parses a Replaces header value, but keeps the URI's headers %-escaped, so decoding
//! them and picking `Replaces` out is done here. It must never panic on a peer's
//! bytes (every malformed escape is a `BadReferTo`, answered 400). The tricky part is
//! the orientation of the tags: RFC 3891 has `to-tag` = the recipient's (our) local
//! tag and `from-tag` = the remote one, as seen by us; some phones swap them, so a
//! dialog matches either way round, and a local tag we have not learned yet (an
//! incoming leg not ACKed) is not held against it.

/// The longest transfer target we pass on (a phone number or an extension).
const MAX_USER: usize = 64;

/// Why a Refer-To is unusable; each is answered 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BadReferTo {
    /// Not a sip:, sips: or tel: URI.
    Scheme,
    /// No user part to transfer to, or one that is too long or badly escaped.
    User,
    /// A `Replaces` in the URI's headers that does not decode or parse.
    Replaces,
}

impl BadReferTo {
    /// The reason phrase of the 400.
    pub(super) fn phrase(self) -> &'static str {
        match self {
            BadReferTo::Scheme => "Unsupported Refer-To URI",
            BadReferTo::User => "Bad Refer-To User",
            BadReferTo::Replaces => "Bad Replaces",
        }
    }
}

/// Where a REFER transfers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ReferTarget {
    /// The user part, %-decoded (`8002`, `+4930123`).
    pub user: String,
    /// The value of the `Replaces` URI header, %-decoded
    /// (`abc@host;to-tag=1;from-tag=2`), for an attended transfer.
    pub replaces: Option<String>,
}

/// The target of a Refer-To whose URI Sofia parsed into `phone_uri` (a sip, sips or
/// tel URI), `user` and `headers` (both still %-escaped).
pub(super) fn refer_target(
    phone_uri: bool,
    user: Option<&str>,
    headers: Option<&str>,
) -> Result<ReferTarget, BadReferTo> {
    if !phone_uri {
        return Err(BadReferTo::Scheme);
    }
    let user = user
        .and_then(percent_decode)
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty() && u.len() <= MAX_USER && !u.chars().any(char::is_control))
        .ok_or(BadReferTo::User)?;
    let replaces = match headers {
        Some(h) => replaces_header(h)?,
        None => None,
    };
    Ok(ReferTarget { user, replaces })
}

/// The decoded value of the `Replaces` item of a URI's headers
/// (`Replaces=abc%40host%3Bto-tag%3D1&Foo=bar`); other items are ignored.
fn replaces_header(headers: &str) -> Result<Option<String>, BadReferTo> {
    for item in headers.split('&') {
        let (name, value) = item.split_once('=').unwrap_or((item, ""));
        if percent_decode(name).is_some_and(|n| n.trim().eq_ignore_ascii_case("replaces")) {
            return percent_decode(value)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .map(Some)
                .ok_or(BadReferTo::Replaces);
        }
    }
    Ok(None)
}

/// `%XX` escapes decoded; `None` for a broken escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let (hi, lo) = (
                hex_digit(*bytes.get(i + 1)?)?,
                hex_digit(*bytes.get(i + 2)?)?,
            );
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn hex_digit(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).map(|d| d as u8)
}

/// What identifies one of our dialogs, learned as it is set up: Call-ID, our tag
/// and the peer's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct DialogIds {
    pub call_id: Option<String>,
    pub local_tag: Option<String>,
    pub remote_tag: Option<String>,
}

/// The dialog a `Replaces` names, as parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ReplacesIds<'a> {
    pub call_id: &'a str,
    pub to_tag: Option<&'a str>,
    pub from_tag: Option<&'a str>,
}

impl DialogIds {
    /// True when `r` names this dialog: the same Call-ID, and both tags, in either
    /// order (see the module doc); an unknown local tag matches any.
    pub(super) fn named_by(&self, r: &ReplacesIds<'_>) -> bool {
        let (Some(call_id), Some(remote)) = (&self.call_id, &self.remote_tag) else {
            return false;
        };
        let (Some(to), Some(from)) = (r.to_tag, r.from_tag) else {
            return false;
        };
        if call_id != r.call_id {
            return false;
        }
        let local_is = |t: &str| self.local_tag.as_deref().is_none_or(|l| l == t);
        (from == remote && local_is(to)) || (to == remote && local_is(from))
    }
}

/// The `message/sipfrag` body of a NOTIFY reporting `code` (RFC 3515 §2.4.5).
pub(super) fn sipfrag(code: u16, phrase: Option<&str>) -> String {
    let phrase = phrase.filter(|p| !p.is_empty()).unwrap_or(match code {
        100..=199 => "Trying",
        200..=299 => "OK",
        300..=399 => "Redirection",
        400..=499 => "Request Failure",
        500..=599 => "Server Failure",
        _ => "Global Failure",
    });
    format!("SIP/2.0 {code} {phrase}\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blind_target_is_the_user_part() {
        let t = refer_target(true, Some("8002"), None).unwrap();
        assert_eq!(
            t,
            ReferTarget {
                user: "8002".into(),
                replaces: None
            }
        );
        let t = refer_target(true, Some("%2B4930123"), Some("Foo=bar")).unwrap();
        assert_eq!(t.user, "+4930123");
        assert_eq!(t.replaces, None);
    }

    #[test]
    fn unusable_targets_are_refused() {
        assert_eq!(
            refer_target(false, Some("8002"), None),
            Err(BadReferTo::Scheme)
        );
        assert_eq!(refer_target(true, None, None), Err(BadReferTo::User));
        assert_eq!(refer_target(true, Some("%20"), None), Err(BadReferTo::User));
        assert_eq!(
            refer_target(true, Some("80%2"), None),
            Err(BadReferTo::User)
        );
        assert_eq!(
            refer_target(true, Some("a%0Db"), None),
            Err(BadReferTo::User)
        );
        assert_eq!(refer_target(true, Some("%FF"), None), Err(BadReferTo::User));
        let long = "1".repeat(MAX_USER + 1);
        assert_eq!(refer_target(true, Some(&long), None), Err(BadReferTo::User));
    }

    #[test]
    fn replaces_is_decoded_from_the_uri_headers() {
        let t = refer_target(
            true,
            Some("8002"),
            Some("Require=replaces&replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2"),
        )
        .unwrap();
        assert_eq!(t.replaces.as_deref(), Some("abc@host;to-tag=1;from-tag=2"));
    }

    #[test]
    fn broken_replaces_is_refused() {
        for h in ["Replaces=", "Replaces", "Replaces=abc%4", "Replaces=%ZZ"] {
            assert_eq!(
                refer_target(true, Some("8002"), Some(h)),
                Err(BadReferTo::Replaces),
                "{h}"
            );
        }
    }

    #[test]
    fn percent_decoding_survives_anything() {
        assert_eq!(percent_decode("a%41%62c").as_deref(), Some("aAbc"));
        assert_eq!(percent_decode("%"), None);
        assert_eq!(percent_decode("%4"), None);
        assert_eq!(percent_decode("%+1"), None);
        assert_eq!(percent_decode("%é1"), None);
        assert_eq!(percent_decode("é").as_deref(), Some("é"));
    }

    fn ids(call_id: &str, local: Option<&str>, remote: &str) -> DialogIds {
        DialogIds {
            call_id: Some(call_id.into()),
            local_tag: local.map(str::to_owned),
            remote_tag: Some(remote.into()),
        }
    }

    fn rp<'a>(call_id: &'a str, to: Option<&'a str>, from: Option<&'a str>) -> ReplacesIds<'a> {
        ReplacesIds {
            call_id,
            to_tag: to,
            from_tag: from,
        }
    }

    #[test]
    fn replaces_names_a_dialog_by_call_id_and_both_tags() {
        let d = ids("c1@h", Some("ours"), "theirs");
        assert!(d.named_by(&rp("c1@h", Some("ours"), Some("theirs"))));
        assert!(
            d.named_by(&rp("c1@h", Some("theirs"), Some("ours"))),
            "swapped"
        );
        assert!(!d.named_by(&rp("c2@h", Some("ours"), Some("theirs"))));
        assert!(!d.named_by(&rp("c1@h", Some("ours"), Some("other"))));
        assert!(!d.named_by(&rp("c1@h", Some("other"), Some("theirs"))));
        assert!(
            !d.named_by(&rp("c1@h", None, Some("theirs"))),
            "tags are required"
        );
        assert!(!d.named_by(&rp("c1@h", Some("ours"), None)));
    }

    #[test]
    fn an_unknown_local_tag_does_not_stop_a_match() {
        let d = ids("c1@h", None, "theirs");
        assert!(d.named_by(&rp("c1@h", Some("anything"), Some("theirs"))));
        assert!(!d.named_by(&rp("c1@h", Some("anything"), Some("else"))));
        assert!(!DialogIds::default().named_by(&rp("c1@h", Some("a"), Some("b"))));
    }

    #[test]
    fn sipfrag_is_a_status_line() {
        assert_eq!(sipfrag(200, Some("OK")), "SIP/2.0 200 OK\r\n");
        assert_eq!(sipfrag(486, None), "SIP/2.0 486 Request Failure\r\n");
        assert_eq!(sipfrag(100, Some("")), "SIP/2.0 100 Trying\r\n");
    }
}
