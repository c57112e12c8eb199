//! What the load cost: CPU time of the daemon (by its threads' names: the recording encoders,
//! the thread serving FreeSWITCH's routes, the async runtime that serves every other role), of
//! PostgreSQL, of the S3 server and of this generator; the machine's busiest second; the
//! daemon's peak memory; the staging area's peak; and the database's and the S3 server's
//! operations, from their own counters.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Clock ticks per second of `/proc` (USER_HZ, 100 on Linux).
const TICKS: f64 = 100.0;

/// CPU seconds of one process so far (user + system), and its resident memory in bytes.
fn process(pid: u32) -> Option<(f64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let cpu = ticks_of(&stat)?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    Some((cpu, rss_kb * 1024))
}

/// utime + stime of a `stat` line, in seconds (fields after the `(comm)`, which may hold
/// spaces).
fn ticks_of(stat: &str) -> Option<f64> {
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS)
}

fn comm(path: &Path) -> String {
    std::fs::read_to_string(path.join("comm"))
        .map(|c| c.trim().to_owned())
        .unwrap_or_default()
}

/// CPU seconds of the daemon's threads, by what their names say they do.
fn threads(pid: u32) -> BTreeMap<&'static str, f64> {
    let mut groups = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return groups;
    };
    for task in tasks.flatten() {
        let name = comm(&task.path());
        let group = if name.starts_with("recording-enc") {
            "recording encoders (LAME)"
        } else if name.starts_with("freeswitch-http") {
            "FreeSWITCH's routes (xml_curl lookups, CDR posts)"
        } else if name.starts_with("tokio-r") {
            "async runtime (API, /ws, ESL, uploads, database)"
        } else {
            "other threads"
        };
        if let Some(cpu) = std::fs::read_to_string(task.path().join("stat"))
            .ok()
            .and_then(|s| ticks_of(&s))
        {
            *groups.entry(group).or_insert(0.0) += cpu;
        }
    }
    groups
}

/// CPU seconds of every process whose name is `name` (PostgreSQL's backends, say).
fn processes_named(name: &str) -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| comm(&e.path()) == name)
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|s| ticks_of(&s))
        .sum()
}

/// Busy and total jiffies of the whole machine.
fn machine() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let line = stat.lines().next().unwrap_or_default();
    let values: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: f64 = values.iter().take(8).sum();
    let idle = values.get(3).copied().unwrap_or(0.0) + values.get(4).copied().unwrap_or(0.0);
    (total - idle, total)
}

/// One reading of every counter.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    at: Option<Instant>,
    daemon: f64,
    daemon_threads: BTreeMap<&'static str, f64>,
    postgres: f64,
    s3: f64,
    generator: f64,
    machine: (f64, f64),
}

impl Reading {
    /// When it was read.
    pub fn at(&self) -> Option<Instant> {
        self.at
    }

    /// Reads them now; `daemon` is the daemon's process id.
    pub fn now(daemon: u32) -> Self {
        Reading {
            at: Some(Instant::now()),
            daemon: process(daemon).map_or(0.0, |p| p.0),
            daemon_threads: threads(daemon),
            postgres: processes_named("postgres"),
            s3: processes_named("garage"),
            generator: process(std::process::id()).map_or(0.0, |p| p.0),
            machine: machine(),
        }
    }
}

/// Samples every second until told to stop: the busiest second of the machine, the daemon's
/// peak RSS and the staging area's peak.
#[derive(Debug, Clone, Default)]
pub struct Peaks {
    /// The machine's busiest second, in cores.
    pub busiest_cores: f64,
    /// Seconds in which the machine was at least 95 % busy.
    pub saturated_seconds: u32,
    /// The daemon's peak resident memory.
    pub daemon_rss: u64,
    /// The staging area's peak bytes and files.
    pub staged: (u64, u64),
    /// Every counter, once a second.
    pub readings: Vec<Reading>,
}

/// Samples until `stop` is set.
pub async fn sample(
    daemon: u32,
    staging: PathBuf,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Peaks {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let mut peaks = Peaks::default();
    let mut last = machine();
    let mut every = tokio::time::interval(Duration::from_secs(1));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is now: nothing to compare yet.
    every.tick().await;
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stop.changed() => return peaks,
        }
        let now = machine();
        let (busy, total) = (now.0 - last.0, now.1 - last.1);
        last = now;
        if total > 0.0 {
            let used = busy / total * cores;
            peaks.busiest_cores = peaks.busiest_cores.max(used);
            if busy / total >= 0.95 {
                peaks.saturated_seconds += 1;
            }
        }
        // /proc is read on a blocking thread, not on the runtime that times the callers.
        if let Ok(reading) = tokio::task::spawn_blocking(move || Reading::now(daemon)).await {
            peaks.readings.push(reading);
        }
        if let Some((_, rss)) = process(daemon) {
            peaks.daemon_rss = peaks.daemon_rss.max(rss);
        }
        let dir = staging.clone();
        if let Ok((bytes, files)) =
            tokio::task::spawn_blocking(move || super::daemon::staged(&dir)).await
            && bytes > peaks.staged.0
        {
            peaks.staged = (bytes, files);
        }
    }
}

/// CPU used between two readings.
#[derive(Debug, Clone)]
pub struct CpuUse {
    /// Wall seconds between them.
    pub seconds: f64,
    /// CPU seconds per part, in the order printed.
    pub parts: Vec<(String, f64)>,
    /// The machine's busy CPU seconds.
    pub machine: f64,
}

impl CpuUse {
    /// What was used from `before` to `after`.
    pub fn between(before: &Reading, after: &Reading) -> Self {
        let seconds = match (before.at, after.at) {
            (Some(a), Some(b)) => (b - a).as_secs_f64(),
            _ => 0.0,
        };
        let mut parts = Vec::new();
        parts.push((
            "daemon (all roles)".to_owned(),
            after.daemon - before.daemon,
        ));
        for (group, cpu) in &after.daemon_threads {
            let was = before.daemon_threads.get(group).copied().unwrap_or(0.0);
            parts.push((format!("  of which {group}"), cpu - was));
        }
        parts.push(("PostgreSQL".to_owned(), after.postgres - before.postgres));
        parts.push(("S3 server (Garage)".to_owned(), after.s3 - before.s3));
        parts.push((
            "load generator (FreeSWITCH's side and the agents)".to_owned(),
            after.generator - before.generator,
        ));
        CpuUse {
            seconds,
            parts,
            // /proc/stat counts every core's jiffies.
            machine: (after.machine.0 - before.machine.0) / TICKS,
        }
    }
}

/// The database's counters (`pg_stat_database` of the run's database).
#[derive(Debug, Clone, Default)]
pub struct DatabaseCounters {
    /// Committed transactions.
    pub commits: i64,
    /// Rolled back transactions.
    pub rollbacks: i64,
    /// Rows inserted, updated, deleted.
    pub written: (i64, i64, i64),
    /// Rows returned to queries.
    pub fetched: i64,
}

impl DatabaseCounters {
    /// Reads them (statistics lag by up to a second: read after a pause).
    pub async fn read(database: &str) -> Self {
        let Ok(ledger) = billing::Ledger::connect(database).await else {
            return Self::default();
        };
        let row: Option<(i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted, \
             tup_fetched FROM pg_stat_database WHERE datname = current_database()",
        )
        .fetch_optional(ledger.pool())
        .await
        .ok()
        .flatten();
        row.map_or_else(Self::default, |r| DatabaseCounters {
            commits: r.0,
            rollbacks: r.1,
            written: (r.2, r.3, r.4),
            fetched: r.5,
        })
    }

    /// `self - before`.
    pub fn since(&self, before: &Self) -> Self {
        DatabaseCounters {
            commits: self.commits - before.commits,
            rollbacks: self.rollbacks - before.rollbacks,
            written: (
                self.written.0 - before.written.0,
                self.written.1 - before.written.1,
                self.written.2 - before.written.2,
            ),
            fetched: self.fetched - before.fetched,
        }
    }
}

/// The S3 server's requests by API call, from Garage's metrics (`.ci/garage`'s admin API);
/// empty when it does not answer.
pub async fn s3_requests() -> BTreeMap<String, f64> {
    let request = tests::http::request(
        "GET",
        "/metrics",
        &[("Authorization", "Bearer callcenter-test-admin-token")],
        b"",
    );
    let mut counts = BTreeMap::new();
    let Ok(answer) = tests::http::send(([127, 0, 0, 1], 3903).into(), &request).await else {
        return counts;
    };
    for line in String::from_utf8_lossy(&answer.body).lines() {
        let Some(rest) = line.strip_prefix("api_s3_request_counter{") else {
            continue;
        };
        let Some(endpoint) = label_value(rest, "api_endpoint") else {
            continue;
        };
        if let Some(value) = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) {
            *counts.entry(endpoint.to_owned()).or_insert(0.0) += value;
        }
    }
    counts
}

/// The value of label `name` on a line of Prometheus' text format (`series{a="x",b="y"} 1`),
/// whatever the labels' order.
pub fn label_value<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.split(&format!("{name}=\"")).nth(1)?.split('"').next()
}
