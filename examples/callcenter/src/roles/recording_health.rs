//! The recording worker's staging area as operators watch it: gauges for `/metrics` (read
//! when scraped) and the reasons `/healthz` reports the daemon degraded.

use crate::http::metrics::register_metrics;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use recording::{Pipeline, StagingStatus};
use std::sync::Weak;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

/// What the running pipeline holds, read on demand; cheap to clone.
#[derive(Debug, Clone)]
pub struct RecordingStatus {
    pub(crate) pipeline: Weak<Pipeline>,
}

impl RecordingStatus {
    /// The staging area now; `None` once the worker has stopped.
    pub fn now(&self) -> Option<StagingStatus> {
        self.pipeline.upgrade().map(|pipeline| pipeline.status())
    }
}

/// When the staging area makes the daemon degraded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// The store failing every upload this long, or a finished recording waiting this long;
    /// and for this long after a recording is quarantined.
    pub waiting: Duration,
    /// Share of the high-water mark held in staging, percent.
    pub high_water_percent: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            waiting: Duration::from_secs(300),
            high_water_percent: 90,
        }
    }
}

/// Why the staging area makes the daemon degraded; empty when it does not.
///
/// ```
/// use callcenter::roles::recording_health::{Thresholds, degraded};
/// use recording::StagingStatus;
/// use std::time::Duration;
///
/// let fine = StagingStatus::default();
/// assert!(degraded(&fine, Thresholds::default()).is_empty());
/// let outage = StagingStatus {
///     store_failing_for: Some(Duration::from_secs(600)),
///     spilled_files: 3,
///     ..StagingStatus::default()
/// };
/// assert_eq!(degraded(&outage, Thresholds::default()).len(), 2);
/// let quarantined = StagingStatus {
///     quarantined: 1,
///     last_quarantined: Some(Duration::from_secs(5)),
///     ..StagingStatus::default()
/// };
/// assert!(degraded(&quarantined, Thresholds::default())[0].contains("quarantined"));
/// ```
pub fn degraded(status: &StagingStatus, thresholds: Thresholds) -> Vec<String> {
    let mut reasons = Vec::new();
    if let Some(failing) = status
        .store_failing_for
        .filter(|f| *f >= thresholds.waiting)
    {
        reasons.push(format!(
            "the recordings store has failed every upload for {} s ({} recordings waiting)",
            failing.as_secs(),
            status.waiting_to_retry
        ));
    }
    if let Some(oldest) = status.oldest.filter(|o| *o >= thresholds.waiting) {
        reasons.push(format!(
            "the oldest finished recording has waited {} s",
            oldest.as_secs()
        ));
    }
    if let Some(mark) = status.high_water
        && status.bytes.saturating_mul(100) >= mark.saturating_mul(thresholds.high_water_percent)
    {
        reasons.push(format!(
            "staging holds {} of its {} bytes high-water mark",
            status.bytes, mark
        ));
    }
    if let Some(ago) = status
        .last_quarantined
        .filter(|ago| *ago < thresholds.waiting)
    {
        reasons.push(format!(
            "a recording was quarantined {} s ago ({} since the start)",
            ago.as_secs(),
            status.quarantined
        ));
    }
    if status.spilled_files > 0 {
        reasons.push(format!(
            "{} recordings ({} bytes) spilled to disk",
            status.spilled_files, status.spilled_bytes
        ));
    }
    reasons
}

/// The staging area's gauges (`callcenter_recordings_*`).
#[derive(Debug, Default)]
pub struct RecordingGauges {
    staged_files: Gauge,
    staged_bytes: Gauge,
    spilled_files: Gauge,
    spilled_bytes: Gauge,
    high_water_bytes: Gauge,
    oldest_seconds: Gauge<f64, AtomicU64>,
    waiting_to_retry: Gauge,
    store_failing_seconds: Gauge<f64, AtomicU64>,
    quarantined: Gauge,
}

impl RecordingGauges {
    /// Adds the gauges to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        register_metrics(
            registry,
            [
                (
                    "recordings_staged_files",
                    "Finished recordings held in the staging directory, not yet verified upstream",
                    &self.staged_files,
                ),
                (
                    "recordings_staged_bytes",
                    "Their bytes (WAVs, and MP3s or the room kept for them)",
                    &self.staged_bytes,
                ),
                (
                    "recordings_spilled_files",
                    "Finished recordings moved to the spill directory",
                    &self.spilled_files,
                ),
                (
                    "recordings_spilled_bytes",
                    "Their bytes",
                    &self.spilled_bytes,
                ),
                (
                    "recordings_high_water_bytes",
                    "The staging high-water mark (0: no spill configured)",
                    &self.high_water_bytes,
                ),
                (
                    "recordings_waiting_to_retry",
                    "Recordings whose upload failed, waiting to be tried again",
                    &self.waiting_to_retry,
                ),
                (
                    "recordings_quarantined",
                    "Recordings quarantined since the start",
                    &self.quarantined,
                ),
            ],
        );
        register_metrics(
            registry,
            [
                (
                    "recordings_oldest_staged_seconds",
                    "How long the oldest finished recording has waited",
                    &self.oldest_seconds,
                ),
                (
                    "recordings_store_failing_seconds",
                    "How long every upload has failed (0: the store takes uploads)",
                    &self.store_failing_seconds,
                ),
            ],
        );
    }

    /// Sets every gauge from `status`.
    pub fn set(&self, status: &StagingStatus) {
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let bytes = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.staged_files.set(count(status.files));
        self.staged_bytes.set(bytes(status.bytes));
        self.spilled_files.set(count(status.spilled_files));
        self.spilled_bytes.set(bytes(status.spilled_bytes));
        self.high_water_bytes
            .set(bytes(status.high_water.unwrap_or(0)));
        self.waiting_to_retry.set(count(status.waiting_to_retry));
        self.quarantined.set(bytes(status.quarantined));
        self.oldest_seconds
            .set(status.oldest.map_or(0.0, |o| o.as_secs_f64()));
        self.store_failing_seconds
            .set(status.store_failing_for.map_or(0.0, |f| f.as_secs_f64()));
    }
}
