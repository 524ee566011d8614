//! SIP final statuses in the plain words a call trail shows a person.
//!
//! The trail must let an admin answer "why did this call fail?" without knowing SIP
//! (seed item S19: a call that failed because the account ran out of credit must say
//! so). The words name the cause; the code and the carrier's own reason phrase follow.

/// "callee busy (486 Busy Here)", "the carrier refused: payment required (402 …)".
pub fn rejection_words(code: u16, reason: &str) -> String {
    let words = match code {
        402 => "the carrier refused the call: payment required (out of credit?)",
        403 => "the callee or carrier refused the call",
        404 | 484 | 604 => "the number does not exist",
        408 => "no answer from the callee's side in time",
        480 => "the callee is unavailable",
        486 | 600 => "the callee is busy",
        487 => "the call was cancelled",
        488 | 606 => "no common codec with the callee",
        503 => "the carrier or callee's service is unavailable",
        603 => "the callee declined the call",
        500..=599 => "the callee's side failed",
        400..=499 => "the callee's side refused the call",
        _ => "the call failed",
    };
    if reason.is_empty() {
        format!("{words} ({code})")
    } else {
        format!("{words} ({code} {reason})")
    }
}

/// What the caller is told when the callee's side refuses: most codes pass through,
/// but authentication challenges from a carrier are ours to handle, not the caller's.
pub fn status_for_caller(code: u16, reason: &str) -> (u16, String) {
    match code {
        401 | 407 => (503, "Service Unavailable".to_string()),
        300..=699 => (
            code,
            if reason.is_empty() {
                "Failed".to_string()
            } else {
                reason.to_string()
            },
        ),
        _ => (500, "Server Internal Error".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_failures_are_named() {
        let w = rejection_words(402, "Payment Required");
        assert!(w.contains("payment required"), "{w}");
        assert!(w.ends_with("(402 Payment Required)"), "{w}");
    }

    #[test]
    fn carrier_challenges_do_not_reach_the_caller() {
        assert_eq!(
            status_for_caller(407, "Proxy Authentication Required").0,
            503
        );
        assert_eq!(
            status_for_caller(486, "Busy Here"),
            (486, "Busy Here".to_string())
        );
    }
}
