//! Criterion benchmarks over the real captures in `fixtures/`; run them with
//! `cargo bench -p benches`. Each bench file in `benches/benches/` measures one real path.
//!
//! [`client_load`] holds the client scenarios shared by the `esl_client` bench and the
//! `esl-client-load` binary (which reports peak memory, one client per process).
//! [`capacity`] is the `capacity-load` binary's load: FreeSWITCH's side of many calls at once
//! against one running daemon.

pub mod capacity;
pub mod client_load;

use std::time::Duration;

/// The `p` quantile (0 to 1) of `sorted` latencies, nearest rank; zero when there are none.
///
/// ```
/// use std::time::Duration;
/// let ms = |n| Duration::from_millis(n);
/// assert_eq!(benches::percentile(&[ms(1), ms(2), ms(3), ms(4)], 0.5), ms(2));
/// assert_eq!(benches::percentile(&[], 0.99), Duration::ZERO);
/// ```
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}
