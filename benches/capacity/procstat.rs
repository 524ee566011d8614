//! What the kernel says a process used: CPU time from `/proc/<pid>/stat`, memory
//! from `/proc/<pid>/status`, and the machine from `/proc/cpuinfo`.
//!
//! It only reads; it must never fail the bench over a missing figure (a process
//! that just exited has no `/proc` entry): each reader returns `None` and the report
//! prints a dash.
//!
//! The tricky part is the stat line: the command name in field 2 may hold spaces
//! and parentheses, so fields are counted from the last `)`; times are in clock
//! ticks, whose length is asked of `getconf CLK_TCK` once.

use std::sync::OnceLock;
use std::time::Duration;

/// User + system CPU time of each of a process's threads, summed per thread name
/// (`/proc/<pid>/task/*/comm`), busiest first. Threads that end meanwhile are
/// left out.
pub fn threads_cpu(pid: u32) -> Vec<(String, Duration)> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Duration)> = Vec::new();
    for task in tasks.filter_map(Result::ok) {
        let dir = task.path();
        let (Ok(comm), Ok(stat)) = (
            std::fs::read_to_string(dir.join("comm")),
            std::fs::read_to_string(dir.join("stat")),
        ) else {
            continue;
        };
        let Some(cpu) = cpu_from_stat(&stat) else {
            continue;
        };
        let name = comm.trim().to_string();
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some((_, total)) => *total += cpu,
            None => out.push((name, cpu)),
        }
    }
    out
}

/// Per thread name, the CPU used between two [`threads_cpu`] readings, busiest first.
pub fn threads_delta(
    before: &[(String, Duration)],
    after: &[(String, Duration)],
) -> Vec<(String, Duration)> {
    let mut out: Vec<(String, Duration)> = after
        .iter()
        .map(|(name, cpu)| {
            let was = before
                .iter()
                .find(|(n, _)| n == name)
                .map_or(Duration::ZERO, |(_, c)| *c);
            (name.clone(), cpu.saturating_sub(was))
        })
        .collect();
    out.sort_by_key(|(_, cpu)| std::cmp::Reverse(*cpu));
    out
}

/// User + system CPU time of a process.
pub fn process_cpu(pid: u32) -> Option<Duration> {
    cpu_from_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// User + system CPU time of the calling thread.
pub fn thread_cpu() -> Option<Duration> {
    cpu_from_stat(&std::fs::read_to_string("/proc/thread-self/stat").ok()?)
}

/// User + system CPU time of this whole process (all threads).
pub fn self_cpu() -> Option<Duration> {
    cpu_from_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

fn cpu_from_stat(stat: &str) -> Option<Duration> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, utime 14 and stime 15 (1-based, proc(5)).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_secs_f64(
        (utime + stime) as f64 / clock_ticks() as f64,
    ))
}

fn clock_ticks() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|&t| t > 0)
            .unwrap_or(100)
    })
}

/// A `kB` line of `/proc/<pid>/status`, such as `VmRSS` or `VmHWM`.
pub fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let value = line.strip_prefix(key)?.strip_prefix(':')?;
        value.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// `nproc` and the CPU model, for the report.
pub fn machine() -> (usize, String) {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown".into());
    (cpus, model)
}
