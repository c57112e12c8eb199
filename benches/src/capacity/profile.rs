//! The load's shape: when each call starts and how long it lasts.
//!
//! The seeds' load is 800 concurrent calls of 3 minutes with 100 call setups per second at
//! peak for 60 s. Both hold only together if the peak's calls are short (800 calls at 100
//! setups/s last 8 s on average: Little's law), so a run has two phases, both at the same
//! concurrency:
//!
//! 1. **peak**: `peak_rate` setups/s for `peak_seconds`, each call lasting `concurrency /
//!    peak_rate` seconds on average (uniformly between half and one and a half times that);
//! 2. **sustained**: every call that ends is replaced by one of `call_seconds` on average
//!    (again half to one and a half times), for `sustained_seconds`; then no call starts and
//!    the last ones end by themselves.
//!
//! A multiple scales the concurrency and the rate (the call lengths stay).
//!
//! Calls arrive as they do at a switch, independently of each other and of the hang-ups: the
//! peak's starts fall at random in its span (a Poisson process with that many arrivals), the
//! lengths are drawn to the millisecond, and a replacing call arrives within a second after
//! the hang-up it replaces. (Starts on an exact grid with whole-second lengths put most
//! lookups, about 60 %, in the same instant as another call's hang-up, and its CDR posts,
//! recording and events: a coincidence no switch produces, which the lookups' tail then
//! measured.) Random arrivals overshoot the mean concurrency now and then (888 calls at once
//! at the seeds' peak), and a replacing call's half-second wait on average lowers the
//! sustained concurrency by a little (by about 5 % for calls of 10 s, nothing to speak of for
//! 3 minutes).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

/// The load's parameters.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Calls up at once (before the multiple).
    pub concurrency: usize,
    /// Setups per second during the peak (before the multiple).
    pub peak_rate: f64,
    /// How long the peak lasts.
    pub peak_seconds: f64,
    /// The mean length of a call of the sustained phase.
    pub call_seconds: f64,
    /// How long calls are replaced after the peak.
    pub sustained_seconds: f64,
    /// The share of calls recorded (0 to 1).
    pub recorded_share: f64,
    /// How many times the seeds' concurrency and rate.
    pub multiple: f64,
    /// Seed of the lengths and of which calls are recorded.
    pub seed: u64,
}

impl Default for Profile {
    /// The seeds' load.
    fn default() -> Self {
        Profile {
            concurrency: 800,
            peak_rate: 100.0,
            peak_seconds: 60.0,
            call_seconds: 180.0,
            sustained_seconds: 180.0,
            recorded_share: 1.0,
            multiple: 1.0,
            seed: 20,
        }
    }
}

/// One call of the plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlannedCall {
    /// From the load's start.
    pub start: Duration,
    /// From answer to hang-up (the WAV's length).
    pub length: Duration,
    /// Whether FreeSWITCH records it.
    pub recorded: bool,
}

impl PlannedCall {
    /// When it hangs up, from the load's start.
    pub fn end(&self) -> Duration {
        self.start + self.length
    }
}

impl Profile {
    /// Every call of the run, in order of start.
    pub fn plan(&self) -> Vec<PlannedCall> {
        let mut random = fastrand::Rng::with_seed(self.seed);
        let concurrency = (self.concurrency as f64 * self.multiple).round().max(1.0) as usize;
        let rate = (self.peak_rate * self.multiple).max(0.001);
        let peak_mean = concurrency as f64 / rate;
        let mut calls = Vec::new();
        let mut ends: BinaryHeap<Reverse<Duration>> = BinaryHeap::new();
        let peak_calls = (self.peak_seconds * rate).round() as usize;
        let mut starts: Vec<Duration> = (0..peak_calls)
            .map(|_| Duration::from_secs_f64(random.f64() * self.peak_seconds.max(0.0)))
            .collect();
        starts.sort();
        for start in starts {
            let length = length_around(&mut random, peak_mean);
            ends.push(Reverse(start + length));
            calls.push((start, length));
        }
        let peak_over = Duration::from_secs_f64(self.peak_seconds.max(0.0));
        let sustained_until = peak_over + Duration::from_secs_f64(self.sustained_seconds.max(0.0));
        // During the peak its own setups keep the calls up; after it, each end frees a place
        // for a call of the sustained kind, until the phase is over.
        while let Some(Reverse(end)) = ends.pop() {
            if end < peak_over {
                continue;
            }
            if end >= sustained_until {
                break;
            }
            let start = end + Duration::from_secs_f64(random.f64());
            if start >= sustained_until {
                continue;
            }
            let length = length_around(&mut random, self.call_seconds);
            ends.push(Reverse(start + length));
            calls.push((start, length));
        }
        calls.sort_by_key(|(start, _)| *start);
        calls
            .into_iter()
            .map(|(start, length)| PlannedCall {
                start,
                length,
                recorded: random.f64() < self.recorded_share,
            })
            .collect()
    }
}

/// A call length between half and one and a half times `mean` seconds, to the millisecond
/// (at least a second).
fn length_around(random: &mut fastrand::Rng, mean: f64) -> Duration {
    let millis = (mean * (0.5 + random.f64()) * 1000.0).round().max(1000.0);
    Duration::from_millis(millis as u64)
}

/// The most calls up at once in a plan.
pub fn most_concurrent(plan: &[PlannedCall]) -> usize {
    let mut edges: Vec<(Duration, i64)> = plan
        .iter()
        .flat_map(|c| [(c.start, 1), (c.end(), -1)])
        .collect();
    edges.sort();
    let (mut up, mut most) = (0i64, 0i64);
    for (_, step) in edges {
        up += step;
        most = most.max(up);
    }
    most as usize
}

#[cfg(test)]
mod tests_of_plans {
    use super::*;

    #[test]
    fn the_seeds_plan_holds_their_concurrency_and_rate() {
        let plan = Profile::default().plan();
        let peak = plan
            .iter()
            .filter(|c| c.start < Duration::from_secs(60))
            .count();
        assert_eq!(peak, 6000, "100 setups/s for 60 s");
        // Random arrivals overshoot the mean now and then.
        let most = most_concurrent(&plan);
        assert!((760..=960).contains(&most), "{most} calls up at once");
        assert!(plan.iter().all(|c| c.recorded));
        // Calls do not arrive with hang-ups: on the old grid (starts at n / rate, whole-second
        // lengths) most starts fell in the instant of a hang-up; arriving at random, a start
        // falls within a millisecond of one about as often as hang-ups fill such windows.
        let mut ends: Vec<Duration> = plan.iter().map(|c| c.end()).collect();
        ends.sort();
        let near_an_end = plan
            .iter()
            .filter(|c| {
                let after = ends.partition_point(|&end| end < c.start);
                let close = |end: &Duration| end.abs_diff(c.start) < Duration::from_millis(1);
                ends.get(after).is_some_and(close) || after > 0 && close(&ends[after - 1])
            })
            .count();
        assert!(
            near_an_end * 4 < plan.len(),
            "{near_an_end} of {} calls start within 1 ms of a hang-up",
            plan.len()
        );
        let last_start = plan.iter().map(|c| c.start).max().unwrap();
        assert!(last_start < Duration::from_secs(240));
        let doubled = Profile {
            multiple: 2.0,
            ..Profile::default()
        }
        .plan();
        assert!(most_concurrent(&doubled) > 2 * 760);
    }
}
