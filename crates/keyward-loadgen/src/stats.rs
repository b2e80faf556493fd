//! Latency samples, percentiles and the printed report.

use std::collections::BTreeMap;
use std::time::Duration;

/// What one operation came to.
pub enum Outcome {
    /// 2xx.
    Ok,
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
}

impl Samples {
    /// Records one operation.
    pub fn record(&mut self, took: Duration, outcome: Outcome) {
        match outcome {
            Outcome::Ok => self
                .micros
                .push(u64::try_from(took.as_micros()).unwrap_or(u64::MAX)),
            Outcome::Error(kind) => *self.errors.entry(kind).or_default() += 1,
        }
    }

    /// Adds another worker's samples.
    pub fn merge(&mut self, other: Samples) {
        self.micros.extend(other.micros);
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
    }

    /// Summarises over the measured window.
    pub fn report(mut self, name: &str, window: Duration) -> Report {
        self.micros.sort_unstable();
        let pct = |p: f64| {
            if self.micros.is_empty() {
                return 0.0;
            }
            let rank = ((p / 100.0) * (self.micros.len() - 1) as f64).round() as usize;
            self.micros[rank.min(self.micros.len() - 1)] as f64 / 1000.0
        };
        Report {
            name: name.to_owned(),
            ops: self.micros.len() as u64,
            ops_per_sec: self.micros.len() as f64 / window.as_secs_f64(),
            p50_ms: pct(50.0),
            p90_ms: pct(90.0),
            p99_ms: pct(99.0),
            max_ms: self.micros.last().map_or(0.0, |m| *m as f64 / 1000.0),
            errors: self.errors,
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
pub fn print(reports: &[Report], rss_kib: Option<u64>, concurrency: usize, json: bool) {
    let rss = rss_kib
        .map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
        .unwrap_or_else(|| "n/a".into());
    if json {
        for r in reports {
            let line = serde_json::json!({
                "scenario": r.name, "concurrency": concurrency, "ops": r.ops, "ops_per_sec": r.ops_per_sec,
                "p50_ms": r.p50_ms, "p90_ms": r.p90_ms, "p99_ms": r.p99_ms, "max_ms": r.max_ms,
                "errors": r.errors, "server_rss_kib": rss_kib,
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
    }
    println!("concurrency {concurrency}; server RSS after the run: {rss}");
}
