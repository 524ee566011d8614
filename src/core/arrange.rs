//! Who hears whom on an answered call, worked out from where the call stands and
//! sent to the media room as the difference from what it was told last.
//!
//! One function decides it for every control, so that no combination of hold,
//! consult, conference, verification and supervision can leave a customer hearing
//! an agent they should not (or hearing nothing): the call's flags go in, a bridge or
//! a mix, the looped sounds, and the recording's other side come out. Two parties
//! hearing each other are a `Bridge` (the relay's fast path); anything else is a
//! `Mix` in a room numbered by the call id.

use std::collections::HashMap;
use std::path::PathBuf;

use super::call::{Call, Links, Phase};
use super::command::Watch;
use super::ids::{CallId, LegId};
use super::msg::MediaCommand;
use super::prompts::Voice;
use super::switchboard::Switchboard;

/// What every leg of a call should hear now.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Plan {
    /// Legs and the legs they hear (only legs in the conversation).
    pub hears: Vec<(LegId, Vec<LegId>)>,
    /// Legs hearing a looped sound (music, a tone) instead.
    pub sounds: HashMap<LegId, PathBuf>,
    /// The customer's recording is paused (PIN entry).
    pub paused: bool,
}

/// The plan for `call` as it stands. Legs the plan names in neither `hears` nor
/// `sounds` (a customer keying a PIN) are left to whoever plays to them.
pub(super) fn plan(call: &Call, voice: &Voice) -> Plan {
    let mut plan = Plan::default();
    let customer = call.customer_leg();
    let agent = call.agent_leg();
    let music = voice.music(call.language);
    if call.verifying.is_some() {
        plan.paused = true;
        if call.verifying.as_ref().is_some_and(|v| v.result.is_none()) {
            plan.sounds.insert(agent, voice.tone("hold_tone"));
        }
        return plan;
    }
    if call.on_hold {
        plan.sounds.insert(customer, music.clone());
        plan.sounds.insert(agent, music);
        return plan;
    }
    let mut hears: Vec<(LegId, Vec<LegId>)> = Vec::new();
    match call.third.as_ref() {
        Some(third) if third.answered && third.joined => {
            hears.push((customer, vec![agent, third.leg]));
            hears.push((agent, vec![customer, third.leg]));
            hears.push((third.leg, vec![customer, agent]));
        }
        Some(third) if third.answered => {
            plan.sounds.insert(customer, music.clone());
            hears.push((agent, vec![third.leg]));
            hears.push((third.leg, vec![agent]));
        }
        Some(_) => {
            plan.sounds.insert(customer, music.clone());
            plan.sounds.insert(agent, voice.tone("ringback"));
        }
        None => {
            hears.push((customer, vec![agent]));
            hears.push((agent, vec![customer]));
        }
    }
    if let Some(w) = call.watcher.as_ref().filter(|w| w.answered) {
        let talking: Vec<LegId> = hears.iter().map(|(l, _)| *l).collect();
        match w.mode {
            Watch::Listen => {}
            Watch::Whisper => {
                for (leg, heard) in &mut hears {
                    if *leg == agent {
                        heard.push(w.leg);
                    }
                }
            }
            Watch::Barge => {
                for (_, heard) in &mut hears {
                    heard.push(w.leg);
                }
            }
        }
        hears.push((w.leg, talking));
    }
    // A phone's own hold button: its side neither sends nor hears. Whoever is left
    // hearing nobody (the other side of a two-party call) hears music instead.
    let held = |leg: LegId| {
        (leg == call.a && call.a_media.held)
            || (leg == call.b && call.b_media.held)
            || call
                .third
                .as_ref()
                .is_some_and(|t| t.leg == leg && t.media.held)
    };
    hears.retain(|(leg, _)| !held(*leg));
    for (_, heard) in &mut hears {
        heard.retain(|l| !held(*l));
    }
    let watcher = call.watcher.as_ref().map(|w| w.leg);
    for (leg, heard) in &hears {
        if heard.is_empty() && Some(*leg) != watcher {
            plan.sounds.insert(*leg, music.clone());
        }
    }
    hears.retain(|(leg, heard)| !heard.is_empty() || Some(*leg) == watcher);
    plan.hears = hears;
    plan
}

/// The media room's arrangement for a plan: a bridge when it is two legs hearing
/// each other, a mix otherwise, nothing when nobody talks.
pub(super) fn links(hears: &[(LegId, Vec<LegId>)]) -> Links {
    match hears {
        [] => Links::None,
        [(x, hx), (y, hy)] if hx == &[*y] && hy == &[*x] => Links::Bridge(*x, *y),
        _ => Links::Mix(hears.to_vec()),
    }
}

impl Switchboard {
    /// Tell the media room what changed in who hears whom on call `id`.
    pub(super) fn arrange(&mut self, id: CallId) {
        let Some(call) = self.calls.get(&id) else {
            return;
        };
        if call.phase != Phase::Answered {
            return;
        }
        let plan = plan(call, &self.voice);
        let links = links(&plan.hears);
        let customer = call.customer_leg();
        let others: Vec<LegId> = plan
            .hears
            .iter()
            .find(|(l, _)| *l == customer)
            .map(|(_, h)| h.clone())
            .unwrap_or_default();
        let room = id.0 as u64;
        let mut out = Vec::new();
        if links != call.links {
            match (&call.links, &links) {
                (Links::Mix(_), Links::Mix(_)) => {}
                (Links::Mix(_), _) => out.push(MediaCommand::Unmix { room }),
                (Links::Bridge(x, _), Links::None) => out.push(MediaCommand::Unbridge { leg: *x }),
                _ => {}
            }
            match &links {
                Links::Bridge(a, b) => out.push(MediaCommand::Bridge { a: *a, b: *b }),
                Links::Mix(hears) => out.push(MediaCommand::Mix {
                    room,
                    hears: hears.clone(),
                }),
                Links::None => {}
            }
        }
        for leg in call.sounds.keys() {
            if !plan.sounds.contains_key(leg) {
                out.push(MediaCommand::StopPlay { leg: *leg });
            }
        }
        let mut starts = Vec::new();
        for (leg, file) in &plan.sounds {
            if call.sounds.get(leg) != Some(file) {
                starts.push((*leg, file.clone()));
            }
        }
        let recording = call.recording_leg;
        let record_changed = recording.is_some() && (call.rec_others != others);
        let pause_changed = recording.is_some() && call.rec_paused != plan.paused;
        for (leg, file) in starts {
            let tag = self.new_play_tag();
            out.push(MediaCommand::Play {
                leg,
                file,
                looped: true,
                tag,
            });
        }
        if let Some(a) = recording {
            if record_changed {
                out.push(MediaCommand::RecordOthers {
                    a,
                    others: others.clone(),
                });
            }
            if pause_changed {
                out.push(MediaCommand::PauseRecording {
                    a,
                    paused: plan.paused,
                });
            }
        }
        if let Some(call) = self.calls.get_mut(&id) {
            call.links = links;
            call.sounds = plan.sounds;
            call.rec_others = others;
            call.rec_paused = plan.paused;
        }
        for command in out {
            self.media(command);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_legs_hearing_each_other_are_a_bridge_and_anything_else_a_mix() {
        let (a, b, c) = (LegId(1), LegId(2), LegId(3));
        assert_eq!(links(&[]), Links::None);
        assert_eq!(links(&[(a, vec![b]), (b, vec![a])]), Links::Bridge(a, b));
        let listen = vec![(a, vec![b]), (b, vec![a]), (c, vec![a, b])];
        assert_eq!(links(&listen), Links::Mix(listen.clone()));
        let one_way = vec![(a, vec![b]), (b, vec![])];
        assert_eq!(links(&one_way), Links::Mix(one_way.clone()));
    }
}
