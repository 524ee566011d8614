//! 转验证: the customer keys their PIN while the agent waits, hearing a hold tone;
//! the agent learns only "passed" or "failed", then the call returns to them.
//!
//! The digits live in the call's [`Verification`](super::call::Verification) until
//! `#` and are cleared as soon as they are checked: they are written to no trail, no
//! log line and no recording (the recording is paused meanwhile, see `arrange.rs`).
//! The check is argon2 against the customer's stored hash, with the light parameters
//! the store hashes PINs with, so it takes milliseconds on this thread.

use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::PasswordVerifier;

use super::Now;
use super::call::Verification;
use super::command::CommandError;
use super::ids::{CallId, LegId};
use super::msg::MediaCommand;
use super::switchboard::{Switchboard, Timer};

/// Wrong or missing PINs before the verification fails.
const TRIES: u32 = 3;
/// How long the customer may take for the next digit.
const DIGIT_WAIT: Duration = Duration::from_secs(10);
/// Longer entries are cut here (and then fail).
const MAX_DIGITS: usize = 16;
/// The agent's result prompt should have ended by now.
const RESULT_GRACE: Duration = Duration::from_secs(10);

/// Does `digits` match the PHC string `hash`? A hash that does not parse matches
/// nothing.
pub fn pin_matches(hash: &str, digits: &str) -> bool {
    !digits.is_empty()
        && Argon2::default()
            .verify_password(digits.as_bytes(), hash)
            .is_ok()
}

impl Switchboard {
    pub(super) fn verify(&mut self, now: Now, id: CallId, who: &str) -> Result<(), CommandError> {
        let Some(call) = self.calls.get_mut(&id) else {
            return Ok(());
        };
        if call.third.is_some() {
            return Err(CommandError::NotNow(
                "a consult is in progress: join, cancel or complete it first".into(),
            ));
        }
        let number = match call.customer {
            super::call::Side::A => call.record.from_number.clone(),
            super::call::Side::B => call.record.to_number.clone(),
        };
        if self.directory.customer_pin(&number).is_none() {
            return Err(CommandError::NotNow(format!(
                "the customer {number} has no PIN on record"
            )));
        }
        call.on_hold = false;
        call.verifying = Some(Verification {
            digits: String::new(),
            tries: 0,
            playing: None,
            deadline: None,
            result: None,
        });
        self.trail_control(now, id, who, "transferred the customer to verification");
        self.count_hold(now, id);
        self.arrange(id);
        self.verify_say(id, "verify_enter");
        Ok(())
    }

    /// Play a verification prompt to the customer; the digit clock starts when it ends.
    fn verify_say(&mut self, id: CallId, name: &str) {
        let tag = self.new_play_tag();
        self.timers.retain(|(_, t)| *t != Timer::Verify(id));
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let leg = call.customer_leg();
        let file = self.voice.prompt(call.language, name);
        if let Some(v) = call.verifying.as_mut() {
            v.playing = Some(tag);
            v.deadline = None;
        }
        self.media(MediaCommand::Play {
            leg,
            file,
            looped: false,
            tag,
        });
    }

    /// Is call `id` verifying (so its keys and prompt ends are the verification's)?
    pub(super) fn verifying(&self, id: CallId) -> bool {
        self.calls.get(&id).is_some_and(|c| c.verifying.is_some())
    }

    pub(super) fn verify_play_done(&mut self, now: Now, id: CallId, tag: u64) {
        let Some(v) = self.calls.get_mut(&id).and_then(|c| c.verifying.as_mut()) else {
            return;
        };
        if v.playing != Some(tag) {
            return;
        }
        v.playing = None;
        if v.result.is_some() {
            self.verify_over(now, id);
            return;
        }
        let deadline = now.mono + DIGIT_WAIT;
        v.deadline = Some(deadline);
        self.timers.insert((deadline, Timer::Verify(id)));
    }

    pub(super) fn verify_key(&mut self, now: Now, id: CallId, leg: LegId, digit: char) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if leg != call.customer_leg() {
            return;
        }
        let Some(v) = call.verifying.as_mut().filter(|v| v.result.is_none()) else {
            return;
        };
        let barge_in = v.playing.take().is_some();
        if digit != '#' {
            if v.digits.len() < MAX_DIGITS {
                v.digits.push(digit);
            }
            self.timers.retain(|(_, t)| *t != Timer::Verify(id));
            let deadline = now.mono + DIGIT_WAIT;
            v.deadline = Some(deadline);
            self.timers.insert((deadline, Timer::Verify(id)));
            if barge_in {
                // A key stops the prompt: the customer knows what to do.
                self.media(MediaCommand::StopPlay { leg });
            }
            return;
        }
        let digits = std::mem::take(&mut v.digits);
        let number = match call.customer {
            super::call::Side::A => &call.record.from_number,
            super::call::Side::B => &call.record.to_number,
        };
        let ok = self
            .directory
            .customer_pin(number)
            .is_some_and(|hash| pin_matches(hash, &digits));
        drop(digits);
        if ok {
            self.verify_result(now, id, true);
        } else {
            self.verify_miss(now, id, "verify_wrong");
        }
    }

    /// No digit for a while: ask again, or fail after the last try.
    pub(super) fn verify_timed_out(&mut self, now: Now, id: CallId) {
        let Some(v) = self.calls.get_mut(&id).and_then(|c| c.verifying.as_mut()) else {
            return;
        };
        if v.result.is_some() {
            self.verify_over(now, id);
            return;
        }
        v.digits.clear();
        self.verify_miss(now, id, "no_input");
    }

    fn verify_miss(&mut self, now: Now, id: CallId, prompt: &str) {
        let Some(v) = self.calls.get_mut(&id).and_then(|c| c.verifying.as_mut()) else {
            return;
        };
        v.tries += 1;
        if v.tries >= TRIES {
            self.verify_result(now, id, false);
        } else {
            self.verify_say(id, prompt);
        }
    }

    /// Tell the agent the result (only that), then give the call back.
    fn verify_result(&mut self, now: Now, id: CallId, ok: bool) {
        self.timers.retain(|(_, t)| *t != Timer::Verify(id));
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.verified = Some(ok);
        let tries = call
            .verifying
            .as_ref()
            .map_or(0, |v| v.tries + u32::from(ok));
        if let Some(v) = call.verifying.as_mut() {
            v.result = Some(ok);
        }
        let customer = call.customer_leg();
        let agent = call.agent_leg();
        let file = self.voice.prompt(
            call.language,
            if ok { "verify_passed" } else { "verify_failed" },
        );
        let words = if ok {
            format!("verification passed (try {tries})")
        } else {
            format!("verification failed after {TRIES} tries")
        };
        self.trail_line(now, id, super::msg::CallEventKind::Control, "system", words);
        self.media(MediaCommand::StopPlay { leg: customer });
        self.arrange(id);
        let tag = self.new_play_tag();
        if let Some(v) = self.calls.get_mut(&id).and_then(|c| c.verifying.as_mut()) {
            v.playing = Some(tag);
        }
        self.media(MediaCommand::Play {
            leg: agent,
            file,
            looped: false,
            tag,
        });
        self.timers
            .insert((now.mono + RESULT_GRACE, Timer::Verify(id)));
    }

    /// The agent has heard the result: customer and agent talk again.
    fn verify_over(&mut self, _now: Now, id: CallId) {
        self.timers.retain(|(_, t)| *t != Timer::Verify(id));
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.verifying = None;
        self.arrange(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordHasher;

    #[test]
    fn a_pin_matches_its_hash_and_nothing_else() {
        let params = argon2::Params::new(4096, 1, 1, None).expect("valid parameters");
        let hash = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
            .hash_password(b"8642")
            .expect("hashing works")
            .to_string();
        assert!(pin_matches(&hash, "8642"));
        assert!(!pin_matches(&hash, "8643"));
        assert!(!pin_matches(&hash, ""));
        assert!(!pin_matches("not a hash", "8642"));
    }
}
