//! The run second by second, in windows: how many calls started and ended, what each part of
//! the machine used, and the lookups' and CDR posts' p99 in that window: where the targets
//! were missed and what was busy then.

use super::caller::{CallOutcome, Exchange};
use super::profile::PlannedCall;
use super::report::{ms, quantile};
use super::usage::{CpuUse, Reading};
use std::time::{Duration, Instant};

fn p99(mut micros: Vec<u32>) -> String {
    if micros.is_empty() {
        return "-".into();
    }
    micros.sort_unstable();
    ms(quantile(&micros, 0.99))
}

fn ok(exchange: &Exchange) -> Option<u32> {
    match exchange {
        Exchange::Ok { micros, .. } => Some(*micros),
        Exchange::Failed(_) => None,
    }
}

/// Prints one row per `window` from `started`: setups and hang-ups, cores used by the machine,
/// the daemon, PostgreSQL, S3 and the generator, and the p99 of the lookups (by the call's
/// start) and of the CDR posts (by its end).
pub fn print(
    plan: &[PlannedCall],
    outcomes: &[CallOutcome],
    readings: &[Reading],
    started: Instant,
    window: Duration,
) {
    println!(
        "| from | setups | hang-ups | machine cores | daemon | PostgreSQL | S3 | generator | dialplan p99 | CDR p99 |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let at = |reading: &Reading| {
        reading
            .at()
            .map_or(Duration::ZERO, |at| at.saturating_duration_since(started))
    };
    let mut from = Duration::ZERO;
    while readings.last().is_some_and(|last| at(last) > from) {
        let to = from + window;
        let inside = |t: Duration| t >= from && t < to;
        let setups: Vec<usize> = (0..plan.len()).filter(|&k| inside(plan[k].start)).collect();
        let ends: Vec<usize> = (0..plan.len()).filter(|&k| inside(plan[k].end())).collect();
        let dialplan = setups
            .iter()
            .filter_map(|&k| ok(&outcomes[k].dialplan))
            .collect();
        let cdrs = ends
            .iter()
            .flat_map(|&k| outcomes[k].cdrs.iter().filter_map(ok))
            .collect();
        // From the last reading at or before the window's start: no second falls between two.
        let first = readings
            .iter()
            .rev()
            .find(|r| at(r) <= from)
            .or(readings.first());
        let last = readings.iter().rev().find(|r| at(r) <= to);
        let cores = match (first, last) {
            (Some(a), Some(b)) if at(b) > at(a) => {
                let used = CpuUse::between(a, b);
                let per = |name: &str| {
                    used.parts
                        .iter()
                        .find(|(part, _)| part.starts_with(name))
                        .map_or(0.0, |(_, s)| s / used.seconds)
                };
                format!(
                    "{:.2} | {:.2} | {:.2} | {:.2} | {:.2}",
                    used.machine / used.seconds,
                    per("daemon"),
                    per("PostgreSQL"),
                    per("S3"),
                    per("load generator")
                )
            }
            _ => "- | - | - | - | -".into(),
        };
        println!(
            "| {} s | {} | {} | {cores} | {} | {} |",
            from.as_secs(),
            setups.len(),
            ends.len(),
            p99(dialplan),
            p99(cdrs)
        );
        from = to;
    }
}
