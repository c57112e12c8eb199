//! The platform's one retry policy (exponential backoff with full jitter, from `backon`), for
//! everything that waits for a dependency to come back: FreeSWITCH connections, ledger writes,
//! commands to FreeSWITCH. A retry loop lives in a task: stopping the task (shutdown) drops it.
//!
//! ```
//! use platform::retry::Retry;
//! use std::time::Duration;
//!
//! let retry = Retry::new(Duration::from_millis(100), Duration::from_secs(5));
//! let delays: Vec<Duration> = retry.delays().take(10).collect();
//! assert_eq!(delays.len(), 10, "retries forever unless limited");
//! assert!(delays.iter().all(|d| *d <= Duration::from_secs(10)));
//! let limited: Vec<Duration> = retry.attempts(3).delays().collect();
//! assert_eq!(limited.len(), 3);
//! ```

use backon::{BackoffBuilder, ExponentialBuilder};
use std::time::Duration;

/// How to wait between attempts: a step from `first`, doubling up to `max`, each wait between
/// one and two steps (random jitter, so that clients failing together do not retry together);
/// forever unless [`Retry::attempts`] limits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    first: Duration,
    max: Duration,
    attempts: Option<usize>,
}

impl Retry {
    /// Waits from `first` up to `max`, forever.
    pub fn new(first: Duration, max: Duration) -> Self {
        Retry {
            first,
            max: max.max(first),
            attempts: None,
        }
    }

    /// At most `attempts` retries.
    pub fn attempts(self, attempts: usize) -> Self {
        Retry {
            attempts: Some(attempts),
            ..self
        }
    }

    /// The backoff for `backon`'s `Retryable::retry`.
    pub fn builder(&self) -> ExponentialBuilder {
        let builder = ExponentialBuilder::default()
            .with_min_delay(self.first)
            .with_max_delay(self.max)
            .with_factor(2.0)
            .with_jitter();
        match self.attempts {
            Some(attempts) => builder.with_max_times(attempts),
            None => builder.without_max_times(),
        }
    }

    /// The waits, one per retry.
    pub fn delays(&self) -> impl Iterator<Item = Duration> + use<> {
        self.builder().build()
    }
}
