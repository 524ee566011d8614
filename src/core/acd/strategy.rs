//! The queue strategies: given the agents free to take a call, who rings.
//!
//! Pure: candidates with the figures each strategy compares, in; the agents to ring,
//! out. Ties always fall to the member order of the group, so a strategy gives the
//! same answer for the same figures (random included, given the same seed).

use std::time::Duration;

use crate::core::directory::Strategy;
use crate::core::ids::AgentId;

/// One agent free to take the call, with what the strategies compare.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub agent: AgentId,
    /// The agent's position in the group's member list.
    pub position: usize,
    pub level: u32,
    pub idle_for: Duration,
    pub calls_taken: u32,
    pub talk_time: Duration,
    /// Already rung for this caller and did not answer.
    pub tried: bool,
}

/// The agents to ring now: all of them for ring-all, otherwise one. Agents already
/// tried for this caller come last, so a caller goes round the group before an agent
/// rings twice.
pub fn pick(
    strategy: Strategy,
    candidates: &[Candidate],
    last_offered: Option<usize>,
    random: u64,
) -> Vec<AgentId> {
    let fresh: Vec<&Candidate> = candidates.iter().filter(|c| !c.tried).collect();
    let pool: Vec<&Candidate> = if fresh.is_empty() {
        candidates.iter().collect()
    } else {
        fresh
    };
    let best = match strategy {
        Strategy::RingAll => return candidates.iter().map(|c| c.agent).collect(),
        Strategy::LongestIdle => min_by(&pool, |c| std::cmp::Reverse(c.idle_for)),
        Strategy::FewestCalls => min_by(&pool, |c| c.calls_taken),
        Strategy::LeastTalkTime => min_by(&pool, |c| c.talk_time),
        Strategy::TopDown => min_by(&pool, |c| c.level),
        Strategy::RoundRobin => {
            let after = last_offered.map_or(0, |p| p + 1);
            // The first member at or after the one past the last offered, wrapping.
            min_by(&pool, |c| {
                (c.position < after, c.position.wrapping_sub(after))
            })
        }
        Strategy::Random => {
            let index = random.checked_rem(pool.len() as u64).unwrap_or(0) as usize;
            pool.get(index).copied()
        }
    };
    best.map(|c| vec![c.agent]).unwrap_or_default()
}

/// The candidate with the smallest key; ties to the earliest member.
fn min_by<'a, K: Ord>(
    pool: &[&'a Candidate],
    key: impl Fn(&Candidate) -> K,
) -> Option<&'a Candidate> {
    pool.iter()
        .copied()
        .min_by(|x, y| key(x).cmp(&key(y)).then(x.position.cmp(&y.position)))
}

/// A small deterministic generator (xorshift64*) for the random strategy: the core
/// reads no entropy, so tests can replay a run.
#[derive(Debug, Clone)]
pub struct Dice(u64);

impl Dice {
    pub fn new(seed: u64) -> Dice {
        Dice(seed | 1)
    }

    pub fn roll(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(agent: i64, position: usize) -> Candidate {
        Candidate {
            agent: AgentId(agent),
            position,
            level: 1,
            idle_for: Duration::ZERO,
            calls_taken: 0,
            talk_time: Duration::ZERO,
            tried: false,
        }
    }

    #[test]
    fn each_strategy_picks_by_its_own_figure() {
        let mut a = c(1, 0);
        let mut b = c(2, 1);
        let mut d = c(3, 2);
        a.idle_for = Duration::from_secs(10);
        b.idle_for = Duration::from_secs(30);
        d.idle_for = Duration::from_secs(20);
        a.calls_taken = 5;
        b.calls_taken = 3;
        d.calls_taken = 1;
        a.talk_time = Duration::from_secs(100);
        b.talk_time = Duration::from_secs(50);
        d.talk_time = Duration::from_secs(70);
        a.level = 2;
        b.level = 3;
        d.level = 1;
        let all = [a, b, d];
        let one = |s, last| pick(s, &all, last, 7);
        assert_eq!(one(Strategy::LongestIdle, None), vec![AgentId(2)]);
        assert_eq!(one(Strategy::FewestCalls, None), vec![AgentId(3)]);
        assert_eq!(one(Strategy::LeastTalkTime, None), vec![AgentId(2)]);
        assert_eq!(one(Strategy::TopDown, None), vec![AgentId(3)]);
        assert_eq!(one(Strategy::RoundRobin, None), vec![AgentId(1)]);
        assert_eq!(one(Strategy::RoundRobin, Some(0)), vec![AgentId(2)]);
        assert_eq!(one(Strategy::RoundRobin, Some(2)), vec![AgentId(1)]);
        assert_eq!(
            one(Strategy::RingAll, None),
            vec![AgentId(1), AgentId(2), AgentId(3)]
        );
        assert_eq!(one(Strategy::Random, None).len(), 1);
    }

    #[test]
    fn round_robin_skips_members_who_are_not_free() {
        // Members at positions 0, 3, 5 are free; the last offered was position 3.
        let all = [c(1, 0), c(4, 3), c(6, 5)];
        assert_eq!(
            pick(Strategy::RoundRobin, &all, Some(3), 0),
            vec![AgentId(6)]
        );
        assert_eq!(
            pick(Strategy::RoundRobin, &all, Some(5), 0),
            vec![AgentId(1)]
        );
    }

    #[test]
    fn agents_already_tried_come_last() {
        let mut a = c(1, 0);
        a.idle_for = Duration::from_secs(99);
        a.tried = true;
        let b = c(2, 1);
        assert_eq!(
            pick(Strategy::LongestIdle, &[a.clone(), b], None, 0),
            vec![AgentId(2)]
        );
        assert_eq!(pick(Strategy::LongestIdle, &[a], None, 0), vec![AgentId(1)]);
    }

    #[test]
    fn ties_fall_to_member_order_and_random_is_spread() {
        let all = [c(1, 0), c(2, 1), c(3, 2)];
        assert_eq!(pick(Strategy::LongestIdle, &all, None, 0), vec![AgentId(1)]);
        let mut dice = Dice::new(42);
        let mut seen = [0u32; 3];
        for _ in 0..300 {
            let got = pick(Strategy::Random, &all, None, dice.roll());
            seen[(got[0].0 - 1) as usize] += 1;
        }
        assert!(
            seen.iter().all(|n| *n > 60),
            "random spreads calls: {seen:?}"
        );
    }
}
