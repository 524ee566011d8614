//! The ACD phases: the spine's latency run, held levels and CPS ramp, but every call
//! goes through a menu and a queue to one of many agents, and the same figures come
//! out. Held levels fill at 50 CPS (the ACD sets up fewer calls per second).
//!
//! The box answers each caller itself and plays the menu; the rig presses '1' as an
//! RFC 4733 event 300 ms after the answer; the IVR puts the caller in the queue, the
//! ACD rings the longest-idle agent's desk phone (one sipp UAS behind every agent's
//! static contact, bench_agent.xml), and once the agent answers the box bridges and
//! records. Only then does the caller's speech start, so the loss is counted over the
//! bridged part alone, as exactly as in the spine (`rig.rs` screens out the box's own
//! prompts). It owns the ACD box, the agents' sipp and the thread following its log;
//! it must leave no call up between steps and never wait without a deadline.
//!
//! The tricky part is knowing which carrier call an agent answered: the caller
//! number is `4<run><call>` (`-key run`), the box shows it to the agent's phone in
//! From, and the agents' sipp logs "I <run> <call>" when it is rung and "B <run>
//! <call>" when the box acks its 200 (its SIP stack does so a moment before the
//! switchboard bridges, hence SPEECH_AFTER). The book
//! below joins those lines to the carrier's answers and the rig's key times, and
//! yields three set-up figures: INVITE → 200 (the box answering, sipp's clock), key →
//! agent rung, and key → bridged (the bench's clock, read as the log lines come).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::daemon::{AcdPlan, Daemon, Plan, SERVICE_NUMBER, agent_number};
use crate::phases::{BareLevel, CpsStep, Level, paced, percentile};
use crate::procstat;
use crate::rig::{Counts, PTIME, PortPlan, Rig, RigHandle};
use crate::sipp::{self, BenchResult, Guard, RunningTrunk, TrunkRun};

/// How long after the box's 200 the caller presses '1' (the menu prompt has begun;
/// keys barge in).
pub const KEY_AFTER: Duration = Duration::from_millis(300);
/// How long after the agent's phone gets the box's ACK the caller starts talking.
/// The box's SIP stack acks the agent's 200 by itself, just before the switchboard
/// bridges the media, so a packet sent at the very ACK may meet an unbridged leg.
pub const SPEECH_AFTER: Duration = PTIME;
/// Calls per second while filling a level of held calls: a third of what the ACD
/// sustains here (the spine fills at a quarter of its own), so a level measures
/// calls held, not how fast they can be set up.
pub const RAMP_CPS: u32 = 50;
/// The ACD part stops starting steps after this (the spine's part has its own).
const BUDGET: Duration = Duration::from_secs(9 * 60);

/// The ACD part's sizes.
pub struct Sizes {
    pub agents: u32,
    pub levels: &'static [u32],
    pub rates: &'static [u32],
    pub latency_secs: u32,
    pub cps_secs: u32,
    pub window: Duration,
}

impl Sizes {
    pub fn new(quick: bool) -> Sizes {
        if quick {
            Sizes {
                agents: 300,
                levels: &[50, 200],
                rates: &[50, 100],
                latency_secs: 5,
                cps_secs: 4,
                window: Duration::from_secs(4),
            }
        } else {
            Sizes {
                agents: 1600,
                levels: &[500, 800, 1000, 1200, 1400, 1600],
                rates: &[50, 100, 150, 200, 300, 400, 500, 600, 800],
                latency_secs: 20,
                cps_secs: 6,
                window: Duration::from_secs(8),
            }
        }
    }
}

// ------------------------------------------------------------------ the book

/// What happened to one carrier call of the current run.
#[derive(Debug, Clone, Copy)]
struct CallTimes {
    /// The box's RTP address for the caller.
    to: SocketAddr,
    answered: Instant,
    key: Option<Instant>,
    rung: Option<Instant>,
    bridged: Option<Instant>,
}

#[derive(Default)]
struct BookInner {
    run: u32,
    /// Speech packets per bridged call, and the call's hold (its BYE).
    packets: u32,
    hold: Duration,
    calls: HashMap<u64, CallTimes>,
    /// Agent log lines of another run, or for a call the carrier never logged.
    stray: u64,
}

/// The ACD figures of one run.
#[derive(Debug, Clone, Default)]
pub struct AcdTimes {
    pub bridged: usize,
    pub rung: usize,
    /// Key sent → the agent's phone got the INVITE, ms.
    pub key_to_rung_ms: Vec<f64>,
    /// Key sent → the agent's phone got the box's ACK (bridged), ms.
    pub key_to_bridged_ms: Vec<f64>,
    pub stray: u64,
}

/// Joins the carrier's answers, the rig's keys and the agents' lines, per run.
pub struct Book {
    rig: RigHandle,
    inner: Mutex<BookInner>,
}

impl Book {
    fn lock(&self) -> MutexGuard<'_, BookInner> {
        // A panic elsewhere poisons nothing we cannot read on.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new run: forget the last one's calls.
    fn begin(&self, run: u32, packets: u32, hold: Duration) {
        let mut b = self.lock();
        *b = BookInner {
            run,
            packets,
            hold,
            ..BookInner::default()
        };
    }

    /// The box answered carrier call `call` (its RTP at `to`): press '1' soon.
    fn answered(&self, call: u64, to: SocketAddr) {
        let now = Instant::now();
        self.lock().calls.insert(
            call,
            CallTimes {
                to,
                answered: now,
                key: None,
                rung: None,
                bridged: None,
            },
        );
        self.rig
            .press_key(PortPlan::slot_of_call(call), to, KEY_AFTER);
    }

    /// A line of the agents' log: "I <run> <call>" or "B <run> <call>".
    fn agent_line(&self, line: &str) {
        let now = Instant::now();
        let mut words = line.split_whitespace();
        let (Some(kind), Some(run), Some(call)) = (words.next(), words.next(), words.next()) else {
            return;
        };
        let (Ok(run), Ok(call)) = (run.parse::<u32>(), call.parse::<u64>()) else {
            return;
        };
        let slot = PortPlan::slot_of_call(call);
        let mut b = self.lock();
        let (packets, hold) = (b.packets, b.hold);
        let current = b.run == run;
        let Some(c) = b.calls.get_mut(&call).filter(|_| current) else {
            b.stray += 1;
            return;
        };
        if c.key.is_none() {
            c.key = self.rig.key_sent(slot);
        }
        match kind {
            "I" => c.rung = Some(now),
            "B" if c.bridged.is_none() => {
                c.bridged = Some(now);
                let until = c.answered + hold.saturating_sub(Duration::from_secs(1));
                let to = c.to;
                drop(b);
                self.rig
                    .start_speech(slot, to, packets, SPEECH_AFTER, until);
            }
            _ => {}
        }
    }

    fn bridged(&self) -> usize {
        self.lock()
            .calls
            .values()
            .filter(|c| c.bridged.is_some())
            .count()
    }

    fn times(&self) -> AcdTimes {
        let b = self.lock();
        let ms = |from: Option<Instant>, to: Option<Instant>| {
            let (from, to) = (from?, to?);
            Some(to.saturating_duration_since(from).as_secs_f64() * 1000.0)
        };
        AcdTimes {
            bridged: b.calls.values().filter(|c| c.bridged.is_some()).count(),
            rung: b.calls.values().filter(|c| c.rung.is_some()).count(),
            key_to_rung_ms: b.calls.values().filter_map(|c| ms(c.key, c.rung)).collect(),
            key_to_bridged_ms: b
                .calls
                .values()
                .filter_map(|c| ms(c.key, c.bridged))
                .collect(),
            stray: b.stray,
        }
    }
}

/// The thread following the agents' log; stopped and joined on drop.
struct AgentLog {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl AgentLog {
    fn start(log: &Path, book: Arc<Book>) -> BenchResult<AgentLog> {
        let stop = Arc::new(AtomicBool::new(false));
        let (s, log) = (stop.clone(), log.to_path_buf());
        let thread = std::thread::Builder::new()
            .name("sipp-agents".into())
            .spawn(move || sipp::follow_lines(&log, &s, |line| book.agent_line(line)))?;
        Ok(AgentLog {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for AgentLog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ------------------------------------------------------------------ the runs

/// Everything an ACD run needs.
struct AcdCtx<'a> {
    rig: &'a Rig,
    work: &'a Path,
    carrier_ip: IpAddr,
    daemon: &'a Daemon,
    book: Arc<Book>,
    run: std::cell::Cell<u32>,
}

impl AcdCtx<'_> {
    fn spawn(
        &self,
        name: &str,
        calls: u32,
        rate: u32,
        hold: Duration,
        packets: u32,
    ) -> BenchResult<RunningTrunk> {
        let run = self.run.get() % 1000 + 1;
        self.run.set(run);
        self.book.begin(run, packets, hold);
        let trunk = TrunkRun {
            target: self.daemon.sip,
            service: SERVICE_NUMBER.into(),
            local_ip: self.carrier_ip,
            calls,
            rate,
            hold,
            packets,
        };
        let book = self.book.clone();
        trunk.spawn_with(
            &self.work.join(name),
            &self.rig.trunk,
            "bench_caller.xml",
            &[("run", format!("{run:03}"))],
            Box::new(move |call, to| book.answered(call, to)),
        )
    }
}

/// Speech packets a call held `hold` sends once bridged: it starts after the key and
/// the ACD's set-up, and must end a second before the BYE; `slack` is what set-up
/// may take before the rig has to cut the end.
fn speech_packets(hold: Duration, slack: Duration) -> u32 {
    let talk = hold.saturating_sub(Duration::from_secs(1) + KEY_AFTER + slack);
    ((talk.as_millis() / PTIME.as_millis()) as u32).max(1)
}

/// A level of held calls through the ACD.
#[derive(Debug, Clone)]
pub struct AcdLevel {
    /// As the spine's; `expected_sent` counts the bridged calls.
    pub level: Level,
    pub times: AcdTimes,
    /// The box's CPU per thread during the window (or, with no window, the run).
    pub threads: Vec<(String, Duration)>,
    /// How long that was.
    pub threads_over: Duration,
}

impl AcdLevel {
    /// Held as in the spine, and every call reached an agent.
    pub fn held(&self) -> bool {
        self.level.held() && self.times.bridged == self.level.calls as usize
    }
}

/// One CPS step (or the latency run) through the ACD.
#[derive(Debug, Clone)]
pub struct AcdStep {
    pub step: CpsStep,
    pub times: AcdTimes,
    pub expected_sent: u64,
    /// The box's CPU per thread over the whole step, and how long that was.
    pub threads: Vec<(String, Duration)>,
    pub threads_over: Duration,
}

impl AcdStep {
    /// Sustained as in the spine, every call reached an agent and sent all its speech.
    pub fn sustained(&self) -> bool {
        self.step.sustained()
            && self.times.bridged == self.step.calls as usize
            && self.step.rtp.sent >= self.expected_sent
    }
}

fn hold_level(ctx: &AcdCtx, calls: u32, window: Duration) -> BenchResult<AcdLevel> {
    let ramp = Duration::from_secs_f64(calls as f64 / RAMP_CPS as f64);
    let hold = ramp + window + Duration::from_secs(5);
    let packets = speech_packets(hold, Duration::from_secs(1));
    let before = ctx.rig.counts();
    let started = Instant::now();
    let threads0 = procstat::threads_cpu(ctx.daemon.pid());
    let run = ctx.spawn(&format!("acd_hold_{calls}"), calls, RAMP_CPS, hold, packets)?;
    let deadline = started + ramp * 2 + Duration::from_secs(10);
    while ctx.book.bridged() < calls as usize && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let all_bridged = ctx.book.bridged() >= calls as usize;
    let (mut box_cpu, mut box_rss_max_kb, mut bench_cpu) = (None, None, None);
    // Without a window, the threads' CPU over the fill tells where the time went.
    let mut threads = procstat::threads_delta(&threads0, &procstat::threads_cpu(ctx.daemon.pid()));
    let mut threads_over = started.elapsed();
    if all_bridged {
        let threads0 = procstat::threads_cpu(ctx.daemon.pid());
        let window_start = Instant::now();
        let cpu0 = ctx.daemon.cpu();
        let self0 = procstat::self_cpu();
        let window_end = Instant::now() + window;
        let mut rss_max = None;
        while Instant::now() < window_end {
            if let Some(rss) = ctx.daemon.rss_kb() {
                rss_max = Some(rss_max.map_or(rss, |m: u64| m.max(rss)));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let cpu1 = ctx.daemon.cpu();
        threads = procstat::threads_delta(&threads0, &procstat::threads_cpu(ctx.daemon.pid()));
        threads_over = window_start.elapsed();
        box_cpu = cpu0.zip(cpu1).map(|(a, b)| b.saturating_sub(a));
        bench_cpu = procstat::self_cpu()
            .zip(self0)
            .map(|(b, a)| b.saturating_sub(a));
        box_rss_max_kb = rss_max;
    }
    let sipp = run.finish(started + ramp + hold + Duration::from_secs(45));
    let settled = ctx
        .daemon
        .wait_idle(Instant::now() + Duration::from_secs(20));
    let times = ctx.book.times();
    let rtp = ctx.rig.counts().since(&before);
    Ok(AcdLevel {
        level: Level {
            calls,
            expected_sent: times.bridged as u64 * packets as u64,
            sipp,
            rtp,
            window,
            box_cpu,
            box_rss_max_kb,
            bench_cpu,
            settled,
        },
        times,
        threads,
        threads_over,
    })
}

fn cps_step(ctx: &AcdCtx, rate: u32, secs: u32, hold: Duration) -> BenchResult<AcdStep> {
    let calls = rate * secs;
    let packets = speech_packets(hold, Duration::from_millis(200));
    let before = ctx.rig.counts();
    let started = Instant::now();
    let threads0 = procstat::threads_cpu(ctx.daemon.pid());
    let mut run = ctx.spawn(
        &format!("acd_cps_{rate}_{calls}"),
        calls,
        rate,
        hold,
        packets,
    )?;
    let deadline = started + Duration::from_secs(secs as u64 * 2) + hold + Duration::from_secs(40);
    let mut rss_max = None;
    while !run.exited() && Instant::now() < deadline {
        if let Some(rss) = ctx.daemon.rss_kb() {
            rss_max = Some(rss_max.map_or(rss, |m: u64| m.max(rss)));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let sipp = run.finish(deadline);
    let threads = procstat::threads_delta(&threads0, &procstat::threads_cpu(ctx.daemon.pid()));
    let threads_over = started.elapsed();
    let settled = ctx
        .daemon
        .wait_idle(Instant::now() + Duration::from_secs(20));
    let times = ctx.book.times();
    Ok(AcdStep {
        expected_sent: times.bridged as u64 * packets as u64,
        threads,
        threads_over,
        step: CpsStep {
            rate,
            calls,
            sipp,
            rtp: ctx.rig.counts().since(&before),
            settled,
            box_rss_max_kb: rss_max,
            box_rss_after_kb: ctx.daemon.rss_kb(),
        },
        times,
    })
}

// ------------------------------------------------------------------ the part

/// What the ACD part measured, for the summary.
pub struct AcdReport {
    pub agents: u32,
    pub latency: AcdStep,
    pub held: Vec<AcdLevel>,
    pub cps: Vec<AcdStep>,
    pub idle_rss: Option<u64>,
    pub hwm: Option<u64>,
    pub recordings: Option<(u64, u64)>,
}

/// The whole ACD part: its own box and agents, the latency run, the held ramp and the
/// CPS ramp, then the summary against the bare relay's figures in `bare`.
pub fn run(
    rig: &Rig,
    work: &Path,
    carrier_ip: IpAddr,
    quick: bool,
    keep: bool,
    bare: &[BareLevel],
) -> BenchResult<()> {
    let started = Instant::now();
    let over_budget = || started.elapsed() > BUDGET;
    let sizes = Sizes::new(quick);
    let agents_ip = rig.phone.ip;
    let agents_sip = SocketAddr::new(agents_ip, sipp::free_udp_port(agents_ip)?);
    let log = work.join("agents/agents.log");
    let _agents: Guard = sipp::spawn_agents(&work.join("agents"), agents_sip, &rig.phone, &log)?;
    let book = Arc::new(Book {
        rig: rig.handle(),
        inner: Mutex::new(BookInner::default()),
    });
    let _follow = AgentLog::start(&log, book.clone())?;

    let plan = Plan {
        dir: work.join("acd_box"),
        box_ip: crate::BOX_IP.parse()?,
        carrier_ip,
        // Device 2001 stays in the plan; nothing routes to it.
        phone_sip: agents_sip,
        recording: true,
        acd: Some(AcdPlan {
            agents: sizes.agents,
            agents_sip,
        }),
    };
    let t0 = Instant::now();
    let daemon = Daemon::start(&plan)?;
    let provisioned = t0.elapsed();
    for i in 0..sizes.agents {
        daemon.login(&agent_number(i))?;
    }
    println!(
        "\n== through the ACD: callbox pid {}, SIP {}, recording on; menu '1' -> queue of {} \
         agents (longest idle, no wrap-up), each on its own desk phone",
        daemon.pid(),
        daemon.sip,
        sizes.agents
    );
    println!(
        "provisioned and started in {:.1} s, {} agents logged in in {:.1} s",
        provisioned.as_secs_f64(),
        sizes.agents,
        (t0.elapsed() - provisioned).as_secs_f64()
    );
    // Let the logins' status rows reach the disk before the idle figure.
    std::thread::sleep(Duration::from_secs(1));
    let idle_rss = daemon.rss_kb();
    if let Some(rss) = idle_rss {
        println!("idle RSS {rss} kB (agents logged in, no call)");
    }
    rig.set_screening(true);
    let ctx = AcdCtx {
        rig,
        work,
        carrier_ip,
        daemon: &daemon,
        book,
        run: std::cell::Cell::new(0),
    };
    let result = ramps(&ctx, &sizes, idle_rss, &over_budget);
    rig.set_screening(false);
    let (latency, held, cps) = result?;
    let report = AcdReport {
        agents: sizes.agents,
        latency,
        held,
        cps,
        idle_rss,
        hwm: daemon.hwm_kb(),
        recordings: Some(daemon.recordings()),
    };
    println!("{}", daemon.stop());
    if !keep {
        let _ = std::fs::remove_dir_all(work.join("acd_box/var/recordings"));
    }
    summary(&report, bare);
    Ok(())
}

type Ramps = (AcdStep, Vec<AcdLevel>, Vec<AcdStep>);

fn ramps(
    ctx: &AcdCtx,
    sizes: &Sizes,
    idle_rss: Option<u64>,
    over_budget: &dyn Fn() -> bool,
) -> BenchResult<Ramps> {
    let hold = Duration::from_secs(2);
    println!(
        "\n-- ACD set-up latency at 50 CPS ({} calls of 2 s; key '1' {} ms after the 200)",
        50 * sizes.latency_secs,
        KEY_AFTER.as_millis()
    );
    let latency = cps_step(ctx, 50, sizes.latency_secs, hold)?;
    print_step(&latency);

    println!(
        "\n-- ACD calls held, filled at {} CPS, {} s measurement window",
        RAMP_CPS,
        sizes.window.as_secs()
    );
    let mut held = Vec::new();
    for &calls in sizes.levels {
        if over_budget() {
            println!("(time budget spent; stopping the ramp)");
            break;
        }
        let level = hold_level(ctx, calls, sizes.window)?;
        print_level(&level, idle_rss);
        let ok = level.held();
        held.push(level);
        if !ok {
            break;
        }
    }

    println!(
        "\n-- ACD calls per second, {} s per step, 2 s calls (speech once bridged)",
        sizes.cps_secs
    );
    let mut cps = Vec::new();
    for &rate in sizes.rates {
        if over_budget() {
            println!("(time budget spent; stopping the CPS ramp)");
            break;
        }
        let step = cps_step(ctx, rate, sizes.cps_secs, hold)?;
        print_step(&step);
        let ok = step.sustained();
        cps.push(step);
        if !ok {
            break;
        }
    }
    Ok((latency, held, cps))
}

// ------------------------------------------------------------------ the report

fn ms(values: &[f64], q: f64) -> String {
    percentile(values, q).map_or("-".into(), |v| format!("{v:.1}"))
}

fn acd_line(t: &AcdTimes, calls: u32, rtp: &Counts) -> String {
    format!(
        "bridged {} of {} (rung {})  key->rung p50 {} p99 {} ms  key->bridged p50 {} p99 {} ms  \
         box audio to callers {} pkts, to agents {}, cut {}{}",
        t.bridged,
        calls,
        t.rung,
        ms(&t.key_to_rung_ms, 50.0),
        ms(&t.key_to_rung_ms, 99.0),
        ms(&t.key_to_bridged_ms, 50.0),
        ms(&t.key_to_bridged_ms, 99.0),
        rtp.box_audio_trunk,
        rtp.box_audio_phone,
        rtp.cut,
        if t.stray > 0 {
            format!("  ({} stray agent lines)", t.stray)
        } else {
            String::new()
        }
    )
}

/// "callbox 40 %, media 35 %, sip 20 %": the busiest threads, as % of a core.
fn threads_line(threads: &[(String, Duration)], over: Duration) -> String {
    let secs = over.as_secs_f64().max(1e-3);
    let parts: Vec<String> = threads
        .iter()
        .filter(|(_, cpu)| cpu.as_secs_f64() / secs >= 0.005)
        .take(6)
        .map(|(name, cpu)| format!("{name} {:.0} %", cpu.as_secs_f64() * 100.0 / secs))
        .collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}

fn verdict(ok: bool, rtp: &Counts) -> &'static str {
    match (ok, paced(rtp)) {
        (true, true) => "ok",
        (true, false) => "ok (over 1 % of sends late: the machine is saturated)",
        (false, false) => "FAILED (over 1 % of sends late too: the machine is saturated)",
        (false, true) => "FAILED",
    }
}

fn print_step(s: &AcdStep) {
    let st = &s.step;
    println!(
        "  {:>4} CPS asked, {:>6} achieved  {:>5} calls: {} ok, {} failed  INVITE->200 p50 {} ms p99 {} ms  \
         RTP sent {} (of {}), loss {:.4} %  box RSS peak {} after {}  {}",
        st.rate,
        st.sipp
            .achieved_rate()
            .map_or("-".into(), |r| format!("{r:.1}")),
        st.calls,
        st.sipp.successful,
        st.sipp.failed,
        ms(&st.sipp.setup_ms, 50.0),
        ms(&st.sipp.setup_ms, 99.0),
        st.rtp.sent,
        s.expected_sent,
        st.rtp.loss() * 100.0,
        st.box_rss_max_kb.map_or("-".into(), |k| format!("{k} kB")),
        st.box_rss_after_kb
            .map_or("-".into(), |k| format!("{k} kB")),
        if s.sustained() { "ok" } else { "NOT SUSTAINED" }
    );
    println!("         {}", acd_line(&s.times, st.calls, &st.rtp));
    println!(
        "         box threads over the step: {}",
        threads_line(&s.threads, s.threads_over)
    );
}

fn print_level(a: &AcdLevel, idle_rss: Option<u64>) {
    let l = &a.level;
    let share = |cpu: Option<Duration>| {
        cpu.map_or("-".into(), |c| {
            format!("{:.0} %", c.as_secs_f64() * 100.0 / l.window.as_secs_f64())
        })
    };
    let per_call = l
        .box_rss_max_kb
        .zip(idle_rss)
        .map(|(m, i)| m.saturating_sub(i) as f64 / l.calls as f64);
    println!(
        "  {:>5} calls: {} ok, {} failed  RTP sent {} (of {}), loss {:.4} %, late sends {}  {}",
        l.calls,
        l.sipp.successful,
        l.sipp.failed,
        l.rtp.sent,
        l.expected_sent,
        l.rtp.loss() * 100.0,
        l.rtp.late,
        verdict(a.held(), &l.rtp)
    );
    println!(
        "         box CPU {} of a core = {} per call-minute  RSS peak {} = {}  generator CPU {}",
        share(l.box_cpu),
        l.cpu_per_call_minute()
            .map_or("-".into(), |c| format!("{c:.4} s")),
        l.box_rss_max_kb.map_or("-".into(), |k| format!("{k} kB")),
        per_call.map_or("-".into(), |k| format!("{k:.1} kB/call")),
        share(l.bench_cpu),
    );
    println!("         {}", acd_line(&a.times, l.calls, &l.rtp));
    println!(
        "         box threads over the {}: {}",
        if l.box_cpu.is_some() {
            "window"
        } else {
            "run (no window)"
        },
        threads_line(&a.threads, a.threads_over)
    );
    if !l.settled {
        println!("         (the box still reported active calls 20 s after the run)");
    }
}

fn summary(r: &AcdReport, bare: &[BareLevel]) {
    let best_held = r.held.iter().rev().find(|l| l.held());
    let best_cps = r.cps.iter().rev().find(|s| s.sustained());
    let best_bare = bare.iter().rev().find(|l| l.held());
    let bare_capped = !bare.is_empty() && bare.iter().all(BareLevel::held);
    let ramp_capped = !r.held.is_empty() && r.held.iter().all(AcdLevel::held);
    println!(
        "\n== summary through the ACD (menu '1' -> queue -> one of {} agents)",
        r.agents
    );
    let calls = best_held.map_or("none".into(), |l| {
        format!(
            "{}{}",
            l.level.calls,
            if ramp_capped { "+ (ramp top)" } else { "" }
        )
    });
    println!("1. calls held with < 0.1 % RTP loss:   {calls:<14} target >= 800");
    let rate = best_cps.map_or("none".into(), |s| {
        format!(
            "{}{}",
            s.step.rate,
            if r.cps.iter().all(AcdStep::sustained) {
                "+ (ramp top)"
            } else {
                ""
            }
        )
    });
    println!("2. CPS sustained, no failed call:      {rate:<14} target >= 150");
    let l = &r.latency;
    println!(
        "3. set-up at 50 CPS p50 / p99:         key->bridged {} / {} ms  target p99 < 50 ms",
        ms(&l.times.key_to_bridged_ms, 50.0),
        ms(&l.times.key_to_bridged_ms, 99.0)
    );
    println!(
        "                                       key->agent rung {} / {} ms; INVITE->200 {} / {} ms \
         (sipp's clock ticks 4 ms)",
        ms(&l.times.key_to_rung_ms, 50.0),
        ms(&l.times.key_to_rung_ms, 99.0),
        ms(&l.step.sipp.setup_ms, 50.0),
        ms(&l.step.sipp.setup_ms, 99.0)
    );
    let cpu = best_held.and_then(|l| l.level.cpu_per_call_minute());
    println!(
        "4. CPU per call-minute:                {}",
        cpu.map_or("-".into(), |c| format!(
            "{c:.4} s (at {} calls)",
            best_held.map_or(0, |l| l.level.calls)
        ))
    );
    let per_call = best_held.and_then(|l| {
        Some((l.level.box_rss_max_kb?.saturating_sub(r.idle_rss?)) as f64 / l.level.calls as f64)
    });
    println!(
        "5. peak RSS per call:                  {:<14} target < 100 kB (idle {} kB with the agents, VmHWM {} kB)",
        per_call.map_or("-".into(), |k| format!("{k:.1} kB")),
        r.idle_rss.map_or("-".into(), |v| v.to_string()),
        r.hwm.map_or("-".into(), |v| v.to_string())
    );
    let bare_pps = best_bare.map(|l| l.calls as f64 * 100.0);
    let box_pps = best_held.map(|l| l.level.relay_pps());
    let ratio = box_pps.zip(bare_pps).map(|(b, r)| b / r);
    println!(
        "6. relay rate ACD box / bare relay:     {} / {} pps = {}{}  target >= 0.8",
        box_pps.map_or("-".into(), |v| format!("{v:.0}")),
        bare_pps.map_or("-".into(), |v| format!(
            "{v:.0}{}",
            if bare_capped { "+" } else { "" }
        )),
        ratio.map_or("-".into(), |r| format!("{r:.2}")),
        if bare.is_empty() {
            " (no bare relay in this run)"
        } else if bare_capped {
            " (bare relay held every level tried: its ceiling is higher)"
        } else {
            ""
        }
    );
    if let (Some(b), Some(l)) = (best_bare, best_held)
        && let (Some(bc), Some(lc)) = (b.cpu_per_call_minute(), l.level.cpu_per_call_minute())
    {
        println!(
            "   CPU per call-minute, ACD box / bare relay: {lc:.4} / {bc:.4} s = {:.1}x",
            lc / bc
        );
    }
    if let Some((bytes, n)) = r.recordings {
        println!(
            "   recordings written: {n} files, {:.1} MB",
            bytes as f64 / 1e6
        );
    }
}
