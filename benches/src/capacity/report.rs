//! The run's figures per path, side by side, and whether the seeds' targets held.

use std::time::Duration;

/// One path's latencies (micros) and failures.
#[derive(Debug, Clone, Default)]
pub struct PathFigures {
    /// What it is.
    pub name: &'static str,
    /// Each success's latency, micros.
    pub micros: Vec<u32>,
    /// How many failed or never came.
    pub failed: usize,
    /// The target p99, if the seeds set one.
    pub target_p99: Option<Duration>,
}

impl PathFigures {
    /// A path named `name` with `target_p99`.
    pub fn new(name: &'static str, target_p99: Option<Duration>) -> Self {
        PathFigures {
            name,
            target_p99,
            ..Default::default()
        }
    }

    /// Sorts the latencies, once, before [`PathFigures::quantiles`] reads them.
    pub fn sort(&mut self) {
        self.micros.sort_unstable();
    }

    /// p50, p99 and max (of latencies [`PathFigures::sort`]ed).
    pub fn quantiles(&self) -> (Duration, Duration, Duration) {
        debug_assert!(self.micros.is_sorted());
        (
            quantile(&self.micros, 0.5),
            quantile(&self.micros, 0.99),
            quantile(&self.micros, 1.0),
        )
    }

    /// Whether it met its target with nothing failed.
    pub fn held(&self) -> bool {
        self.failed == 0
            && self
                .target_p99
                .is_none_or(|target| self.quantiles().1 < target)
    }
}

/// The `p` quantile (0 to 1) of `sorted` latencies in micros, nearest rank (as
/// [`crate::percentile`]); zero when there are none.
pub fn quantile(sorted: &[u32], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    Duration::from_micros(u64::from(sorted[rank]))
}

/// `d` in ms with a precision that suits it.
pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// Prints the paths as a Markdown table; `seconds` is the load's length (for the rates).
pub fn print_paths(paths: &[PathFigures], seconds: f64) {
    println!("| path | count | per second | p50 | p99 | max | failed or lost | target p99 |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for path in paths {
        let (p50, p99, max) = path.quantiles();
        let target = path.target_p99.map_or_else(
            || "-".to_owned(),
            |t| {
                format!(
                    "< {} {}",
                    ms(t),
                    if path.held() { "held" } else { "MISSED" }
                )
            },
        );
        println!(
            "| {} | {} | {:.0} | {} | {} | {} | {} | {} |",
            path.name,
            path.micros.len(),
            path.micros.len() as f64 / seconds.max(0.001),
            ms(p50),
            ms(p99),
            ms(max),
            path.failed,
            target
        );
    }
}

#[cfg(test)]
mod tests_of_figures {
    use super::*;

    #[test]
    fn a_path_holds_only_under_its_target_and_without_failures() {
        let mut path = PathFigures::new("x", Some(Duration::from_millis(5)));
        path.micros = (1..=100).map(|n| n * 10).collect();
        assert_eq!(path.quantiles().1, Duration::from_micros(990));
        assert!(path.held());
        path.failed = 1;
        assert!(!path.held());
        let mut slow = PathFigures::new("y", Some(Duration::from_millis(1)));
        slow.micros = vec![2000; 10];
        slow.sort();
        assert!(!slow.held());
    }
}
