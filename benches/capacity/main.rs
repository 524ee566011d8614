//! `make bench`: how many recorded calls callbox carries on this machine.
//!
//! sipp plays the carrier (127.0.0.2) calling a service number on the box
//! (127.0.0.1) and the phone with a static contact (127.0.0.3) answering; the bench
//! itself sends and echoes the RTP (rig.rs) so every packet is counted, and reads
//! the daemon's CPU and memory from /proc. It prints, whatever they are: the most
//! calls held with < 0.1 % RTP loss, the calls per second sustained with no failed
//! call, set-up latency at 50 CPS, CPU seconds per call-minute, memory per call, and
//! the same RTP through a bare relay as the ceiling. It reports; it never asserts.
//!
//! It must never leave a process behind or run unbounded: every child is killed by
//! pid when its guard drops, every wait has a deadline, and the whole run stops
//! starting new phases once its time budget is spent.
//!
//! Then the same figures through the ACD (`acd.rs`): a second box whose service
//! number leads through a menu ('1', pressed as RFC 4733) to a queue of many agents,
//! each on their own desk phone; `--acd-only` runs that part alone (after the bare
//! relay), `--skip-acd` leaves it out. Each part has its own time budget.
//!
//! The tricky part is keeping the load generator out of the figures: the rig and
//! both sipps share the two cores with the box, so `--direct` runs the same load
//! from carrier straight to phones to show what the generator alone can do.
//!
//! Usage: cargo bench --bench capacity [-- --direct | --quick | --skip-relay | --keep-recordings
//! | --leak-check | --acd-only | --skip-acd]

mod acd;
mod daemon;
mod pcap;
mod phases;
mod procstat;
mod relay;
mod rig;
mod sipp;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use phases::{BareLevel, Ctx, Level, Target};
use sipp::BenchResult;

const CARRIER_IP: &str = "127.0.0.2";
const BOX_IP: &str = "127.0.0.1";
const PHONE_IP: &str = "127.0.0.3";
const PCAP: &str = "/usr/share/sip-tester/g711a.pcap";
/// The whole run stops starting phases after this.
const BUDGET: Duration = Duration::from_secs(9 * 60);

struct Options {
    direct: bool,
    quick: bool,
    skip_relay: bool,
    keep: bool,
    /// Only repeat one CPS step several times and print the idle RSS after each.
    leak_check: bool,
    /// The bare relay (unless skipped) and the ACD part, not the spine's phases.
    acd_only: bool,
    skip_acd: bool,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    let options = Options {
        direct: has("--direct"),
        quick: has("--quick"),
        skip_relay: has("--skip-relay"),
        keep: has("--keep-recordings"),
        leak_check: has("--leak-check"),
        acd_only: has("--acd-only"),
        skip_acd: has("--skip-acd"),
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(options: &Options) -> BenchResult<()> {
    let started = Instant::now();
    let over_budget = || started.elapsed() > BUDGET;
    let (cpus, model) = procstat::machine();
    println!("callbox capacity bench — {cpus} CPUs, {model}");
    let load = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load().trim());
    let work = work_dir()?;
    println!("work files in {}", work.display());

    let carrier_ip: IpAddr = CARRIER_IP.parse()?;
    let phone_ip: IpAddr = PHONE_IP.parse()?;
    let rig = rig::Rig::start(carrier_ip, phone_ip, pcap::frames(Path::new(PCAP))?)?;

    let levels: &[u32] = if options.quick {
        &[50, 200]
    } else {
        &[200, 500, 800, 900, 1000, 1100, 1200, 1300, 1400, 1600, 2000]
    };
    let bare_levels: &[u32] = if options.quick {
        &[200, 1000]
    } else {
        &[400, 800, 1200, 1400, 1600, 1800, 2000, 2500]
    };
    let cps_rates: &[u32] = if options.quick {
        &[50, 100]
    } else {
        &[50, 100, 150, 200, 300, 400, 500, 600, 800]
    };
    let window = Duration::from_secs(if options.quick { 4 } else { 8 });

    let mut bare = Vec::new();
    if !options.skip_relay && !options.direct {
        println!(
            "\n== bare loopback UDP relay (the ceiling), {} s windows",
            window.as_secs()
        );
        for &calls in bare_levels {
            let level = phases::bare_level(&rig, calls, window)?;
            print_bare(&level);
            let held = level.held();
            bare.push(level);
            if !held || over_budget() {
                break;
            }
        }
    }

    if !options.acd_only {
        let spine = Spine {
            options,
            rig: &rig,
            work: &work,
            levels,
            cps_rates,
            window,
        };
        spine.run(&bare, &over_budget)?;
        if options.leak_check {
            return Ok(());
        }
    }
    if !options.skip_acd && !options.direct && !options.leak_check {
        acd::run(&rig, &work, carrier_ip, options.quick, options.keep, &bare)?;
    }
    println!(
        "\nbench took {:.0} s; load average after: {}",
        started.elapsed().as_secs_f64(),
        load().trim()
    );
    Ok(())
}

/// The spine's phases: one box with device 2001 behind the service number.
struct Spine<'a> {
    options: &'a Options,
    rig: &'a rig::Rig,
    work: &'a Path,
    levels: &'a [u32],
    cps_rates: &'a [u32],
    window: Duration,
}

impl Spine<'_> {
    fn run(&self, bare: &[BareLevel], over_budget: &dyn Fn() -> bool) -> BenchResult<()> {
        let Spine {
            options,
            rig,
            work,
            levels,
            cps_rates,
            window,
        } = *self;
        let carrier_ip: IpAddr = CARRIER_IP.parse()?;
        let phone_ip: IpAddr = PHONE_IP.parse()?;
        let phones_sip = SocketAddr::new(phone_ip, sipp::free_udp_port(phone_ip)?);
        // Stopped when this part ends: the ACD part's agents use the same media ports.
        let _phones = sipp::spawn_phones(&work.join("phones"), phones_sip, &rig.phone)?;
        let ctx = Ctx {
            rig,
            work,
            carrier_ip,
        };

        let daemon = if options.direct {
            println!("\n== sipp carrier -> sipp phones directly (the generator's own ceiling)");
            None
        } else {
            let plan = daemon::Plan {
                dir: work.join("box"),
                box_ip: BOX_IP.parse()?,
                carrier_ip,
                phone_sip: phones_sip,
                recording: true,
                acd: None,
            };
            let d = daemon::Daemon::start(&plan)?;
            println!(
                "\n== callbox {} (pid {}), SIP {}, recording on",
                daemon::binary().display(),
                d.pid(),
                d.sip
            );
            Some(d)
        };
        let target = match &daemon {
            Some(d) => Target::Box(d),
            None => Target::Direct(phones_sip),
        };
        let idle_rss = daemon.as_ref().and_then(daemon::Daemon::rss_kb);
        if let Some(rss) = idle_rss {
            println!("idle RSS {rss} kB");
        }

        if options.leak_check {
            println!("\n-- leak check: 200 CPS for 6 s, 2 s calls, five times; RSS once idle");
            for _ in 0..5 {
                print_cps(&phases::cps_step(
                    &ctx,
                    &target,
                    200,
                    6,
                    Duration::from_secs(2),
                )?);
            }
            if let Some(d) = daemon {
                println!("{}", d.stop());
            }
            return Ok(());
        }
        println!(
            "\n-- set-up latency at 50 CPS ({} calls, 2 s each)",
            if options.quick { 250 } else { 1000 }
        );
        let latency = phases::cps_step(
            &ctx,
            &target,
            50,
            if options.quick { 5 } else { 20 },
            Duration::from_secs(2),
        )?;
        print_cps(&latency);

        println!(
            "\n-- calls held, filled at {} CPS, {} s measurement window",
            phases::RAMP_CPS,
            window.as_secs()
        );
        let mut held = Vec::new();
        for &calls in levels {
            if over_budget() {
                println!("(time budget spent; stopping the ramp)");
                break;
            }
            let level = phases::hold_level(&ctx, &target, calls, window)?;
            print_level(&level, idle_rss);
            let ok = level.held();
            held.push(level);
            if !ok {
                break;
            }
        }

        println!(
            "\n-- calls per second, {} s per step, 2 s calls with RTP",
            if options.quick { 4 } else { 6 }
        );
        let mut cps = Vec::new();
        for &rate in cps_rates {
            if over_budget() {
                println!("(time budget spent; stopping the CPS ramp)");
                break;
            }
            let step = phases::cps_step(
                &ctx,
                &target,
                rate,
                if options.quick { 4 } else { 6 },
                Duration::from_secs(2),
            )?;
            print_cps(&step);
            let ok = step.sustained();
            cps.push(step);
            if !ok {
                break;
            }
        }

        let hwm = daemon.as_ref().and_then(daemon::Daemon::hwm_kb);
        let recordings = daemon.as_ref().map(daemon::Daemon::recordings);
        if let Some(d) = daemon {
            println!("{}", d.stop());
        }
        if !options.keep {
            // Several GB at the top levels; the counts above are what the report needs.
            let _ = std::fs::remove_dir_all(work.join("box/var/recordings"));
        }
        summary(
            &latency,
            &cps,
            &held,
            bare,
            idle_rss,
            hwm,
            recordings,
            options.direct,
        );
        Ok(())
    }
}

/// A fresh directory for this run's files, kept for inspection.
fn work_dir() -> BenchResult<PathBuf> {
    let base = std::env::var_os("BENCH_WORK").map_or_else(std::env::temp_dir, PathBuf::from);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let dir = base.join(format!("callbox-bench-{stamp}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn print_bare(l: &BareLevel) {
    println!(
        "  {:>5} calls  {:>7.0} pps  relayed {:>8}  loss {:>7.4} %  relay CPU {}  late sends {}  {}",
        l.calls,
        l.calls as f64 * 100.0,
        l.relayed,
        l.rtp.loss() * 100.0,
        opt(
            l.cpu_per_call_minute()
                .map(|c| format!("{c:.4} s/call-min")),
            18
        ),
        l.rtp.late,
        verdict(l.held(), &l.rtp)
    );
}

fn verdict(held: bool, rtp: &rig::Counts) -> &'static str {
    match (held, phases::paced(rtp)) {
        (true, true) => "ok",
        (true, false) => "ok (over 1 % of sends late: the machine is saturated)",
        (false, false) => "FAILED (over 1 % of sends late too: the machine is saturated)",
        (false, true) => "FAILED",
    }
}

fn print_cps(s: &phases::CpsStep) {
    let p = |q| phases::percentile(&s.sipp.setup_ms, q).map_or("-".into(), |v| format!("{v:.1}"));
    println!(
        "  {:>4} CPS asked, {:>6} achieved  {:>5} calls: {} ok, {} failed  set-up p50 {} ms p99 {} ms  RTP loss {:.4} %  box RSS peak {} after {}  {}",
        s.rate,
        s.sipp
            .achieved_rate()
            .map_or("-".into(), |r| format!("{r:.1}")),
        s.calls,
        s.sipp.successful,
        s.sipp.failed,
        p(50.0),
        p(99.0),
        s.rtp.loss() * 100.0,
        opt(s.box_rss_max_kb.map(|k| format!("{k} kB")), 0),
        opt(s.box_rss_after_kb.map(|k| format!("{k} kB")), 0),
        if s.sustained() { "ok" } else { "NOT SUSTAINED" }
    );
}

fn print_level(l: &Level, idle_rss: Option<u64>) {
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
        verdict(l.held(), &l.rtp)
    );
    println!(
        "         box CPU {} of a core = {} per call-minute  RSS peak {} = {}  generator CPU {}",
        share(l.box_cpu),
        opt(l.cpu_per_call_minute().map(|c| format!("{c:.4} s")), 0),
        opt(l.box_rss_max_kb.map(|k| format!("{k} kB")), 0),
        opt(per_call.map(|k| format!("{k:.1} kB/call")), 0),
        share(l.bench_cpu),
    );
    if !l.settled {
        println!("         (the box still reported active calls 20 s after the run)");
    }
}

fn opt(s: Option<String>, width: usize) -> String {
    format!("{:<width$}", s.unwrap_or_else(|| "-".into()))
}

#[allow(clippy::too_many_arguments)]
fn summary(
    latency: &phases::CpsStep,
    cps: &[phases::CpsStep],
    held: &[Level],
    bare: &[BareLevel],
    idle_rss: Option<u64>,
    hwm: Option<u64>,
    recordings: Option<(u64, u64)>,
    direct: bool,
) {
    let best_held = held.iter().rev().find(|l| l.held());
    let best_cps = cps.iter().rev().find(|s| s.sustained());
    let best_bare = bare.iter().rev().find(|l| l.held());
    let bare_capped = !bare.is_empty() && bare.iter().all(BareLevel::held);
    let ramp_capped = !held.is_empty() && held.iter().all(Level::held);
    println!(
        "\n== summary{}",
        if direct {
            " (sipp to sipp, no box)"
        } else {
            ""
        }
    );
    let calls = best_held.map_or("none".into(), |l| {
        format!(
            "{}{}",
            l.calls,
            if ramp_capped { "+ (ramp top)" } else { "" }
        )
    });
    println!("1. calls held with < 0.1 % RTP loss:   {calls:<14} target >= 800");
    let rate = best_cps.map_or("none".into(), |s| {
        format!(
            "{}{}",
            s.rate,
            if cps.iter().all(|s| s.sustained()) {
                "+ (ramp top)"
            } else {
                ""
            }
        )
    });
    println!("2. CPS sustained, no failed call:      {rate:<14} target >= 150");
    let p = |q| {
        phases::percentile(&latency.sipp.setup_ms, q).map_or("-".into(), |v| format!("{v:.1} ms"))
    };
    println!(
        "3. set-up at 50 CPS p50 / p99:         {} / {:<8} target p99 < 50 ms (sipp's clock ticks 4 ms)",
        p(50.0),
        p(99.0)
    );
    let cpu = best_held.and_then(Level::cpu_per_call_minute);
    println!(
        "4. CPU per call-minute:                {}",
        opt(
            cpu.map(|c| format!("{c:.4} s (at {} calls)", best_held.map_or(0, |l| l.calls))),
            0
        )
    );
    let per_call = best_held
        .and_then(|l| Some((l.box_rss_max_kb?.saturating_sub(idle_rss?)) as f64 / l.calls as f64));
    println!(
        "5. peak RSS per call:                  {:<14} target < 100 kB (idle {} kB, VmHWM {} kB)",
        opt(per_call.map(|k| format!("{k:.1} kB")), 0),
        idle_rss.map_or("-".into(), |v| v.to_string()),
        hwm.map_or("-".into(), |v| v.to_string())
    );
    let bare_pps = best_bare.map(|l| l.calls as f64 * 100.0);
    let box_pps = best_held.map(Level::relay_pps);
    let ratio = box_pps.zip(bare_pps).map(|(b, r)| b / r);
    println!(
        "6. relay rate box / bare relay:         {} / {} pps = {}{}  target >= 0.8",
        box_pps.map_or("-".into(), |v| format!("{v:.0}")),
        bare_pps.map_or("-".into(), |v| format!(
            "{v:.0}{}",
            if bare_capped { "+" } else { "" }
        )),
        ratio.map_or("-".into(), |r| format!("{r:.2}")),
        if bare_capped {
            " (bare relay held every level tried: its ceiling is higher)"
        } else {
            ""
        }
    );
    if let (Some(b), Some(l)) = (best_bare, best_held)
        && let (Some(bc), Some(lc)) = (b.cpu_per_call_minute(), l.cpu_per_call_minute())
    {
        println!(
            "   CPU per call-minute, box / bare relay: {lc:.4} / {bc:.4} s = {:.1}x",
            lc / bc
        );
    }
    if let Some((bytes, n)) = recordings {
        println!(
            "   recordings written: {n} files, {:.1} MB",
            bytes as f64 / 1e6
        );
    }
}
