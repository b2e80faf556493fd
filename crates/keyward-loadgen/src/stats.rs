//! Latency samples, percentiles and the printed report.

use std::collections::BTreeMap;
use std::time::Duration;

/// What one operation came to.
pub enum Outcome {
    /// 2xx.
    Ok,
    /// 2xx, with the latency of named steps inside the operation.
    Phased(Vec<(&'static str, Duration)>),
    /// An HTTP status or transport error, by kind.
    Error(String),
}

/// Classifies a response.
pub fn outcome(resp: reqwest::Result<reqwest::Response>) -> Outcome {
    match resp {
        Ok(r) if r.status().is_success() => Outcome::Ok,
        Ok(r) => Outcome::Error(format!("http {}", r.status().as_u16())),
        Err(e) if e.is_timeout() => Outcome::Error("timeout".into()),
        Err(e) if e.is_connect() => Outcome::Error("connect".into()),
        Err(_) => Outcome::Error("transport".into()),
    }
}

/// Collected latencies (successful operations) and error counts.
#[derive(Default)]
pub struct Samples {
    micros: Vec<u64>,
    errors: BTreeMap<String, u64>,
    phases: BTreeMap<&'static str, Vec<u64>>,
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Latency summary of sorted samples (µs in, ms out).
fn summary(sorted: &[u64]) -> [f64; 4] {
    let pct = |p: f64| {
        if sorted.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
        sorted[rank.min(sorted.len() - 1)] as f64 / 1000.0
    };
    [pct(50.0), pct(90.0), pct(99.0), pct(100.0)]
}

impl Samples {
    /// Records one operation.
    pub fn record(&mut self, took: Duration, outcome: Outcome) {
        match outcome {
            Outcome::Ok => self.micros.push(micros(took)),
            Outcome::Phased(steps) => {
                self.micros.push(micros(took));
                for (name, d) in steps {
                    self.phases.entry(name).or_default().push(micros(d));
                }
            }
            Outcome::Error(kind) => *self.errors.entry(kind).or_default() += 1,
        }
    }

    /// Adds another worker's samples.
    pub fn merge(&mut self, other: Samples) {
        self.micros.extend(other.micros);
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        for (k, v) in other.phases {
            self.phases.entry(k).or_default().extend(v);
        }
    }

    /// Summarises over the measured window.
    pub fn report(mut self, name: &str, window: Duration) -> Report {
        self.micros.sort_unstable();
        let [p50_ms, p90_ms, p99_ms, max_ms] = summary(&self.micros);
        let phases = self
            .phases
            .into_iter()
            .map(|(k, mut v)| {
                v.sort_unstable();
                (k.to_owned(), summary(&v))
            })
            .collect();
        Report {
            name: name.to_owned(),
            ops: self.micros.len() as u64,
            ops_per_sec: self.micros.len() as f64 / window.as_secs_f64(),
            p50_ms,
            p90_ms,
            p99_ms,
            max_ms,
            errors: self.errors,
            phases,
            ceiling: None,
            server_cpu_s: None,
            server_switches: None,
        }
    }
}

/// One scenario's figures.
#[derive(Debug)]
pub struct Report {
    /// Scenario name.
    pub name: String,
    /// Completed operations.
    pub ops: u64,
    /// Completed operations per second.
    pub ops_per_sec: f64,
    /// Latency percentiles, ms.
    pub p50_ms: f64,
    /// p90, ms.
    pub p90_ms: f64,
    /// p99, ms.
    pub p99_ms: f64,
    /// Slowest, ms.
    pub max_ms: f64,
    /// Errors by kind.
    pub errors: BTreeMap<String, u64>,
    /// Named steps: p50, p90, p99, max (ms).
    pub phases: Vec<(String, [f64; 4])>,
    /// What the throughput is compared with: (name, ops/s).
    pub ceiling: Option<(String, f64)>,
    /// CPU seconds the server spent over the measured window (with
    /// `--server-pid`), for CPU per operation and how busy its cores were.
    pub server_cpu_s: Option<f64>,
    /// Context switches of the server's threads over the same window.
    pub server_switches: Option<u64>,
}

impl Report {
    /// Server CPU milliseconds per completed operation.
    pub fn cpu_ms_per_op(&self) -> Option<f64> {
        self.server_cpu_s
            .filter(|_| self.ops > 0)
            .map(|s| s * 1000.0 / self.ops as f64)
    }

    /// The server's context switches per completed operation.
    pub fn switches_per_op(&self) -> Option<f64> {
        self.server_switches
            .filter(|_| self.ops > 0)
            .map(|n| n as f64 / self.ops as f64)
    }

    /// Share of the server's cores it kept busy over the window.
    pub fn busy(&self, cores: usize) -> Option<f64> {
        let window = self.ops as f64 / self.ops_per_sec.max(f64::MIN_POSITIVE);
        self.server_cpu_s
            .filter(|_| self.ops > 0)
            .map(|s| s / (window * cores.max(1) as f64))
    }

    /// Throughput over the ceiling, if there is one.
    pub fn ratio(&self) -> Option<f64> {
        self.ceiling
            .as_ref()
            .map(|(_, c)| self.ops_per_sec / c.max(f64::MIN_POSITIVE))
    }
}

/// CPU seconds (user + system) process `pid` has used, from
/// /proc/<pid>/stat; its clock ticks are USER_HZ, 100 per second in the
/// Linux ABI.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold
    // spaces: state is field 3, utime 14 and stime 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// Context switches, voluntary or not, of all of process `pid`'s threads,
/// from /proc/<pid>/task/*/status. Each hand-off of work between threads
/// costs a wake-up and a sleep; a thread that exits takes its count along.
pub fn context_switches(pid: u32) -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let Ok(status) = std::fs::read_to_string(task.ok()?.path().join("status")) else {
            continue; // the thread has just exited
        };
        total += switches_in(&status);
    }
    Some(total)
}

/// The context switches one thread's /proc status text counts.
fn switches_in(status: &str) -> u64 {
    status
        .lines()
        .filter_map(|l| {
            l.strip_prefix("voluntary_ctxt_switches:")
                .or_else(|| l.strip_prefix("nonvoluntary_ctxt_switches:"))
        })
        .filter_map(|v| v.trim().parse::<u64>().ok())
        .sum()
}

/// The server's resident set size, KiB (Linux /proc).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Prints the reports as a table or JSON lines.
pub fn print(
    reports: &[Report],
    rss_kib: Option<u64>,
    concurrency: usize,
    server_cores: usize,
    json: bool,
) {
    let rss = rss_kib
        .map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
        .unwrap_or_else(|| "n/a".into());
    if json {
        for r in reports {
            let line = serde_json::json!({
                "scenario": r.name, "concurrency": concurrency, "ops": r.ops, "ops_per_sec": r.ops_per_sec,
                "p50_ms": r.p50_ms, "p90_ms": r.p90_ms, "p99_ms": r.p99_ms, "max_ms": r.max_ms,
                "errors": r.errors, "server_rss_kib": rss_kib,
                "phases": r.phases.iter().map(|(k, v)| serde_json::json!({
                    "phase": k, "p50_ms": v[0], "p90_ms": v[1], "p99_ms": v[2], "max_ms": v[3] })).collect::<Vec<_>>(),
                "ceiling": r.ceiling.as_ref().map(|(k, v)| serde_json::json!({ "of": k, "ops_per_sec": v })),
                "ratio": r.ratio(),
                "server_cpu_ms_per_op": r.cpu_ms_per_op(),
                "server_busy": r.busy(server_cores),
                "server_switches_per_op": r.switches_per_op(),
            });
            println!("{line}");
        }
        return;
    }
    println!(
        "{:<16} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9}  errors",
        "scenario", "ops", "ops/s", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    for r in reports {
        let errors: Vec<String> = r.errors.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        println!(
            "{:<16} {:>10} {:>10.0} {:>9.2} {:>9.2} {:>9.2} {:>9.2}  {}",
            r.name,
            r.ops,
            r.ops_per_sec,
            r.p50_ms,
            r.p90_ms,
            r.p99_ms,
            r.max_ms,
            if errors.is_empty() {
                "none".into()
            } else {
                errors.join(", ")
            }
        );
        for (phase, [p50, p90, p99, max]) in &r.phases {
            println!(
                "{:<16} {:>10} {:>10} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
                format!("  {phase}"),
                "",
                "",
                p50,
                p90,
                p99,
                max
            );
        }
        if let (Some(per_op), Some(busy)) = (r.cpu_ms_per_op(), r.busy(server_cores)) {
            let switches = r
                .switches_per_op()
                .map(|n| format!("{n:.0} thread switches per op; "))
                .unwrap_or_default();
            println!(
                "{:<16} {per_op:.2} ms CPU per op; {switches}server cores {:.0} % busy",
                "  server",
                busy * 100.0
            );
        }
        if let (Some((of, c)), Some(ratio)) = (&r.ceiling, r.ratio()) {
            println!(
                "{:<16} {:.1} % of the ceiling ({of}: {c:.0} ops/s)",
                "  ratio",
                ratio * 100.0
            );
        }
    }
    println!("concurrency {concurrency}; server RSS after the run: {rss}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sleeping_thread_counts_its_switches() {
        // This thread's own count: the test harness's other threads may
        // exit meanwhile and take theirs along from the process's sum.
        let mine = || switches_in(&std::fs::read_to_string("/proc/thread-self/status").unwrap());
        let before = mine();
        // Sleeping gives up the core: at least one voluntary switch each.
        for _ in 0..3 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(mine() >= before + 3, "{before} → {}", mine());
        let pid = std::process::id();
        assert!(context_switches(pid).is_some_and(|n| n >= before + 3));
        assert!(cpu_seconds(pid).is_some());
        assert_eq!(context_switches(u32::MAX), None);
    }
}
