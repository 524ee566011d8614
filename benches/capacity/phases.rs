//! The measurements, one function per kind of run: calls held at a level, calls
//! per second in steps, set-up latency at a fixed rate, and the bare relay.
//!
//! Each run starts from an idle target and leaves it idle (or says it could not);
//! it reports what it measured and never judges beyond "did every call succeed and
//! was less than 0.1 % of the RTP lost": the report compares with the targets.
//!
//! The tricky part is timing the measurement window of a held level: it opens when
//! the last call is answered and must close before the first call's stream ends,
//! so the hold is the ramp plus the window plus a margin, and each stream stops a
//! second before its BYE so no packet is in flight when the legs close.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::daemon::{Daemon, SERVICE_NUMBER};
use crate::procstat;
use crate::relay::BareRelay;
use crate::rig::{Counts, PTIME, Rig};
use crate::sipp::{BenchResult, TrunkResult, TrunkRun};

/// Calls per second while filling a level of held calls.
pub const RAMP_CPS: u32 = 200;
/// Loss a level may have and still count as held.
pub const MAX_LOSS: f64 = 0.001;
/// Above this share of late sends the generator itself was short of CPU: the
/// packets all went, but in bursts, and a failure may be the machine's, not the box's.
pub const MAX_LATE: f64 = 0.01;

/// True when the rig kept its 20 ms pacing for nearly every packet.
pub fn paced(rtp: &Counts) -> bool {
    rtp.sent == 0 || (rtp.late as f64 / rtp.sent as f64) < MAX_LATE
}

/// What the carrier calls: the box, or the phones directly (sipp's own ceiling).
pub enum Target<'a> {
    Box(&'a Daemon),
    Direct(SocketAddr),
}

impl Target<'_> {
    fn sip(&self) -> SocketAddr {
        match self {
            Target::Box(d) => d.sip,
            Target::Direct(phones) => *phones,
        }
    }

    fn daemon(&self) -> Option<&Daemon> {
        match self {
            Target::Box(d) => Some(d),
            Target::Direct(_) => None,
        }
    }

    /// Waits for the target to hold no call; the phones alone need no wait.
    fn settle(&self) -> bool {
        self.daemon()
            .is_none_or(|d| d.wait_idle(Instant::now() + Duration::from_secs(20)))
    }
}

/// Everything the bench needs to start a carrier run.
pub struct Ctx<'a> {
    pub rig: &'a Rig,
    pub work: &'a Path,
    pub carrier_ip: std::net::IpAddr,
}

impl Ctx<'_> {
    fn carrier(
        &self,
        target: &Target,
        calls: u32,
        rate: u32,
        hold: Duration,
        packets: u32,
    ) -> TrunkRun {
        TrunkRun {
            target: target.sip(),
            service: SERVICE_NUMBER.into(),
            local_ip: self.carrier_ip,
            calls,
            rate,
            hold,
            packets,
        }
    }
}

/// The figures of one level of held calls.
#[derive(Debug, Clone)]
pub struct Level {
    pub calls: u32,
    pub sipp: TrunkResult,
    pub rtp: Counts,
    /// Packets the streams were meant to send, for the calls answered.
    pub expected_sent: u64,
    pub window: Duration,
    pub box_cpu: Option<Duration>,
    pub box_rss_max_kb: Option<u64>,
    pub bench_cpu: Option<Duration>,
    pub settled: bool,
}

impl Level {
    pub fn held(&self) -> bool {
        self.sipp.all_ok(self.calls)
            && self.rtp.sent >= self.expected_sent
            && self.rtp.loss() < MAX_LOSS
            && self.settled
    }

    /// Packets per second through the relay, both directions, during the window.
    pub fn relay_pps(&self) -> f64 {
        self.calls as f64 * 2.0 / PTIME.as_secs_f64()
    }

    /// CPU seconds per call-minute of the box during the window.
    pub fn cpu_per_call_minute(&self) -> Option<f64> {
        Some(self.box_cpu?.as_secs_f64() / (self.calls as f64 * self.window.as_secs_f64() / 60.0))
    }
}

/// Fills `calls` calls at RAMP_CPS, holds them through a `window`, then hangs up.
pub fn hold_level(ctx: &Ctx, target: &Target, calls: u32, window: Duration) -> BenchResult<Level> {
    let ramp = Duration::from_secs_f64(calls as f64 / RAMP_CPS as f64);
    let hold = ramp + window + Duration::from_secs(4);
    let packets = ((hold - Duration::from_secs(1)).as_millis() / PTIME.as_millis()) as u32;
    let before = ctx.rig.counts();
    let started = Instant::now();
    let run = ctx.carrier(target, calls, RAMP_CPS, hold, packets).spawn(
        &ctx.work.join(format!("hold_{calls}")),
        &ctx.rig.trunk,
        ctx.rig.handle(),
    )?;
    let answer_deadline = started + ramp * 2 + Duration::from_secs(10);
    while run.answered() < calls as usize && Instant::now() < answer_deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let all_answered = run.answered() >= calls as usize;
    // The window: CPU before and after, memory sampled every 100 ms in between.
    let (mut box_cpu, mut box_rss_max_kb, mut bench_cpu) = (None, None, None);
    if all_answered {
        let cpu0 = target.daemon().and_then(Daemon::cpu);
        let self0 = procstat::self_cpu();
        let window_end = Instant::now() + window;
        let mut rss_max = None;
        while Instant::now() < window_end {
            if let Some(rss) = target.daemon().and_then(Daemon::rss_kb) {
                rss_max = Some(rss_max.map_or(rss, |m: u64| m.max(rss)));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let cpu1 = target.daemon().and_then(Daemon::cpu);
        box_cpu = cpu0.zip(cpu1).map(|(a, b)| b.saturating_sub(a));
        bench_cpu = procstat::self_cpu()
            .zip(self0)
            .map(|(b, a)| b.saturating_sub(a));
        box_rss_max_kb = rss_max;
    }
    let sipp = run.finish(started + ramp + hold + Duration::from_secs(45));
    let settled = target.settle();
    let rtp = ctx.rig.counts().since(&before);
    Ok(Level {
        calls,
        expected_sent: sipp.answered as u64 * packets as u64,
        sipp,
        rtp,
        window,
        box_cpu,
        box_rss_max_kb,
        bench_cpu,
        settled,
    })
}

/// One step of the calls-per-second ramp.
#[derive(Debug, Clone)]
pub struct CpsStep {
    pub rate: u32,
    pub calls: u32,
    pub sipp: TrunkResult,
    pub rtp: Counts,
    pub settled: bool,
    /// The box's largest RSS seen during the step.
    pub box_rss_max_kb: Option<u64>,
    /// The box's RSS once every call of the step has ended.
    pub box_rss_after_kb: Option<u64>,
}

impl CpsStep {
    /// Every call succeeded and sipp kept the rate up (within 5 %).
    pub fn sustained(&self) -> bool {
        self.sipp.all_ok(self.calls)
            && self.settled
            && self
                .sipp
                .achieved_rate()
                .is_some_and(|r| r >= 0.95 * self.rate as f64)
    }
}

/// `rate` calls per second for `secs` seconds, each call held `hold` with RTP.
pub fn cps_step(
    ctx: &Ctx,
    target: &Target,
    rate: u32,
    secs: u32,
    hold: Duration,
) -> BenchResult<CpsStep> {
    let calls = rate * secs;
    let packets = ((hold.saturating_sub(Duration::from_secs(1))).as_millis() / PTIME.as_millis())
        .max(1) as u32;
    let before = ctx.rig.counts();
    let started = Instant::now();
    let mut run = ctx.carrier(target, calls, rate, hold, packets).spawn(
        &ctx.work.join(format!("cps_{rate}_{calls}")),
        &ctx.rig.trunk,
        ctx.rig.handle(),
    )?;
    let deadline = started + Duration::from_secs(secs as u64 * 2) + hold + Duration::from_secs(40);
    let mut rss_max = None;
    while !run.exited() && Instant::now() < deadline {
        if let Some(rss) = target.daemon().and_then(Daemon::rss_kb) {
            rss_max = Some(rss_max.map_or(rss, |m: u64| m.max(rss)));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let sipp = run.finish(deadline);
    let settled = target.settle();
    Ok(CpsStep {
        rate,
        calls,
        sipp,
        rtp: ctx.rig.counts().since(&before),
        settled,
        box_rss_max_kb: rss_max,
        box_rss_after_kb: target.daemon().and_then(Daemon::rss_kb),
    })
}

/// The p-th percentile (0-100) of `values`, nearest rank.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// A level of the bare relay: the same streams, with the relay in the box's place.
#[derive(Debug, Clone)]
pub struct BareLevel {
    pub calls: u32,
    pub rtp: Counts,
    pub expected_sent: u64,
    pub window: Duration,
    pub relay_cpu: Option<Duration>,
    /// Packets the relay forwarded, both directions.
    pub relayed: u64,
}

impl BareLevel {
    pub fn held(&self) -> bool {
        self.rtp.sent >= self.expected_sent && self.rtp.loss() < MAX_LOSS
    }

    pub fn cpu_per_call_minute(&self) -> Option<f64> {
        Some(self.relay_cpu?.as_secs_f64() / (self.calls as f64 * self.window.as_secs_f64() / 60.0))
    }
}

/// Runs `calls` streams through a fresh bare relay for `window` plus a margin.
pub fn bare_level(rig: &Rig, calls: u32, window: Duration) -> BenchResult<BareLevel> {
    let box_ip = "127.0.0.1".parse()?;
    let phones = (0..calls as usize)
        .map(|i| rig.phone.slot_addr(i))
        .collect();
    let relay = BareRelay::start(box_ip, phones)?;
    let lead = Duration::from_secs(1);
    let packets = ((lead + window + lead).as_millis() / PTIME.as_millis()) as u32;
    let before = rig.counts();
    let handle = rig.handle();
    for i in 0..calls as usize {
        // Spread the starts over one packet time, as calls answered at random would be.
        let phase = PTIME.mul_f64(i as f64 / calls as f64);
        handle.start_stream(i, relay.trunk_facing(i), packets, phase);
    }
    std::thread::sleep(lead);
    let cpu0 = relay.cpu();
    std::thread::sleep(window);
    let cpu1 = relay.cpu();
    // The streams end one lead after the window; wait for the counters to stop moving.
    let end = Instant::now() + lead + Duration::from_secs(3);
    let mut last = rig.counts();
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(300));
        let now = rig.counts();
        if now == last && now.since(&before).sent >= calls as u64 * packets as u64 {
            break;
        }
        last = now;
    }
    let relayed = relay.relayed();
    drop(relay);
    Ok(BareLevel {
        relayed,
        calls,
        rtp: rig.counts().since(&before),
        expected_sent: calls as u64 * packets as u64,
        window,
        relay_cpu: cpu0.zip(cpu1).map(|(a, b)| b.saturating_sub(a)),
    })
}
