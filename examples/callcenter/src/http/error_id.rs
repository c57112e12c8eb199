//! Error ids: what a failed request is told instead of the failure's text. The text (a
//! database's message names tables, hosts and sometimes values) is logged with the id; the
//! answer carries only the id, so an operator can find the log line and nobody else learns
//! anything.
//!
//! A dependency that is down fails every request that needs it: the first failure of each kind
//! is a WARN, and while failures go on, one WARN a minute gives their count (each failure's
//! own line, with its id, is at DEBUG), so an outage is a few readable lines, not one per
//! request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a failing dependency is reported at WARN.
pub const WARN_EVERY: Duration = Duration::from_secs(60);

/// A short random id for one failure.
///
/// ```
/// use callcenter::http::ErrorId;
///
/// let id = ErrorId::log("database", &"connection refused (127.0.0.1:5432)");
/// assert_eq!(id.to_string().len(), 16);
/// assert_ne!(id, ErrorId::new());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorId(u64);

impl ErrorId {
    /// A new id.
    pub fn new() -> Self {
        use argon2::password_hash::rand_core::{OsRng, RngCore};
        ErrorId(OsRng.next_u64())
    }

    /// A new id, with `error` logged under it: at WARN when it is the first failure of `what`
    /// in [`WARN_EVERY`] (with the count of those since the last WARN), else at DEBUG.
    pub fn log(what: &str, error: &dyn std::fmt::Display) -> Self {
        let id = ErrorId::new();
        match REPORTS.failed(what, Instant::now()) {
            Report::Warn { since_last } if since_last > 0 => tracing::warn!(
                error_id = %id, %error, failures_since_last_report = since_last,
                "{what} failed ({since_last} more failures since the last report; each is logged at debug)"
            ),
            Report::Warn { .. } => tracing::warn!(
                error_id = %id, %error,
                "{what} failed (further failures within a minute are counted and logged at debug)"
            ),
            Report::Counted => tracing::debug!(error_id = %id, %error, "{what} failed"),
        }
        id
    }
}

impl Default for ErrorId {
    fn default() -> Self {
        ErrorId::new()
    }
}

impl std::fmt::Display for ErrorId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// What to do with one failure.
#[derive(Debug, PartialEq, Eq)]
enum Report {
    /// Log it at WARN; `since_last` failures were only counted since the last WARN.
    Warn { since_last: u64 },
    /// Count it (a WARN for the same kind was logged under [`WARN_EVERY`] ago).
    Counted,
}

/// Per kind of failure: when it was last reported at WARN and how many were counted since.
struct Reports(Mutex<Option<HashMap<String, (Instant, u64)>>>);

static REPORTS: Reports = Reports(Mutex::new(None));

impl Reports {
    fn failed(&self, what: &str, now: Instant) -> Report {
        let mut guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let kinds = guard.get_or_insert_with(HashMap::new);
        match kinds.get_mut(what) {
            Some((last, counted)) if now.duration_since(*last) < WARN_EVERY => {
                *counted += 1;
                Report::Counted
            }
            Some((last, counted)) => {
                let since_last = std::mem::take(counted);
                *last = now;
                Report::Warn { since_last }
            }
            None => {
                // The kinds are the few fixed texts the code passes; bounded as a safety net.
                if kinds.len() >= 256 {
                    kinds.clear();
                }
                kinds.insert(what.to_owned(), (now, 0));
                Report::Warn { since_last: 0 }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_is_one_warn_a_minute_with_a_count() {
        let reports = Reports(Mutex::new(None));
        let start = Instant::now();
        assert_eq!(
            reports.failed("database", start),
            Report::Warn { since_last: 0 }
        );
        for second in 1..=59 {
            let at = start + Duration::from_secs(second);
            assert_eq!(reports.failed("database", at), Report::Counted);
        }
        // Another dependency is reported on its own.
        assert_eq!(
            reports.failed("FreeSWITCH", start + Duration::from_secs(30)),
            Report::Warn { since_last: 0 }
        );
        assert_eq!(
            reports.failed("database", start + WARN_EVERY),
            Report::Warn { since_last: 59 }
        );
        assert_eq!(
            reports.failed("database", start + WARN_EVERY + Duration::from_secs(1)),
            Report::Counted
        );
    }
}
