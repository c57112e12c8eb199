//! The recording worker: the recording pipeline fed by RECORD_STOP ([`RecordingWorker::record_stopped`])
//! and by a periodic scan of the spill directory (first) and the staging directory, each
//! recording's metadata stored in the ledger (linked to its call by UUID) before its staged
//! files go.

use super::recording_health::RecordingStatus;
use billing::{Ledger, RecordingRecord};
use platform::calls::CallEvent;
use platform::events::Hub;
use recording::staging::scan;
use recording::{
    EncodeOptions, Job, Outcome, Pipeline, PipelineConfig, Report, SpillConfig, StoredHook,
    SubmitError, Target,
};
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How the worker runs.
#[derive(Debug, Clone)]
pub struct RecordingWorkerConfig {
    /// The staging directory (`record_session` writes there).
    pub staging: PathBuf,
    /// Quarantine directory.
    pub quarantine: PathBuf,
    /// Where objects go.
    pub target: Target,
    /// How often the staging directory is scanned. Default 30 s.
    pub scan_every: Duration,
    /// Age after which a WAV without a job file counts as finished (its RECORD_STOP was
    /// missed). Default 1 hour, longer than calls last.
    pub stale_after: Duration,
    /// Tenant of such WAVs. Default [`platform::identity::UNASSIGNED`]: no tenant's.
    pub default_tenant: String,
    /// Encoder settings.
    pub encode: EncodeOptions,
    /// Encoder threads. Default: the number of cores.
    pub workers: usize,
    /// Where `RecordingReady` is published once a recording is stored.
    pub events: Option<Hub>,
    /// Where finished recordings go when staging holds its high-water mark. Default: none.
    pub spill: Option<SpillConfig>,
}

impl RecordingWorkerConfig {
    /// Defaults for `staging`, storing into `target`.
    pub fn new(staging: PathBuf, target: Target) -> Self {
        RecordingWorkerConfig {
            quarantine: staging.join("quarantine"),
            staging,
            target,
            scan_every: Duration::from_secs(30),
            stale_after: Duration::from_secs(3600),
            default_tenant: platform::identity::UNASSIGNED.into(),
            encode: EncodeOptions::default(),
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            events: None,
            spill: None,
        }
    }
}

/// Why the worker could not start.
#[derive(Debug, thiserror::Error)]
pub enum RecordingWorkerError {
    /// The staging directory is unusable.
    #[error("staging directory {dir}: {source}")]
    Staging {
        /// The directory.
        dir: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The object store could not be set up.
    #[error(transparent)]
    Store(#[from] recording::UploadError),
}

/// Submits recordings to a running worker; cheap to clone. Once the worker shuts down,
/// submissions fail with [`SubmitError::ShuttingDown`] (the staging scan of the next start
/// takes them).
#[derive(Clone)]
pub struct RecordingHandle {
    pipeline: Weak<Pipeline>,
}

impl RecordingHandle {
    /// RECORD_STOP: the recording at `job.wav` is complete. A recording the pipeline holds
    /// already (the scan found it first) is taken once.
    pub async fn record_stopped(&self, job: Job) -> Result<(), SubmitError> {
        let pipeline = self.pipeline.upgrade().ok_or(SubmitError::ShuttingDown)?;
        pipeline.submit(job).await
    }
}

/// A running worker.
pub struct RecordingWorker {
    pipeline: Arc<Pipeline>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl RecordingWorker {
    /// Starts the pipeline, the scan and the report handling. Call inside a tokio runtime.
    pub fn start(
        config: RecordingWorkerConfig,
        ledger: Ledger,
    ) -> Result<Self, RecordingWorkerError> {
        std::fs::create_dir_all(&config.staging).map_err(|source| {
            RecordingWorkerError::Staging {
                dir: config.staging.display().to_string(),
                source,
            }
        })?;
        let destination = config.target.destination()?;
        let mut pipeline_config = PipelineConfig::new(config.quarantine.clone());
        pipeline_config.workers = config.workers.max(1);
        pipeline_config.encode = config.encode.clone();
        pipeline_config.on_stored = Some(save_metadata(ledger));
        pipeline_config.spill = config.spill.clone();
        let (pipeline, reports) = Pipeline::start(pipeline_config, destination);
        let pipeline = Arc::new(pipeline);
        let reporter = tokio::spawn(follow_reports(reports, config.events.clone()));
        let scanner = tokio::spawn(scan_staging(config, pipeline.clone()));
        Ok(RecordingWorker {
            pipeline,
            tasks: vec![scanner, reporter],
        })
    }

    /// RECORD_STOP: the recording at `job.wav` is complete. A recording the pipeline holds
    /// already (the scan found it first) is taken once.
    pub async fn record_stopped(&self, job: Job) -> Result<(), SubmitError> {
        self.pipeline.submit(job).await
    }

    /// What the staging area and the spill hold, read on demand (for `/metrics`, `/healthz`).
    pub fn status(&self) -> RecordingStatus {
        RecordingStatus {
            pipeline: Arc::downgrade(&self.pipeline),
        }
    }

    /// A handle for submitting from elsewhere (the ESL worker).
    pub fn handle(&self) -> RecordingHandle {
        RecordingHandle {
            pipeline: Arc::downgrade(&self.pipeline),
        }
    }

    /// Stops scanning and lets the pipeline finish or leave its jobs staged within `grace`.
    pub async fn shutdown(mut self, grace: Duration) {
        for task in self.tasks.drain(..) {
            task.abort();
            // The scan holds the pipeline until its task is really gone.
            let _ = task.await;
        }
        if let Ok(pipeline) = Arc::try_unwrap(self.pipeline) {
            pipeline.shutdown(grace).await;
        }
    }
}

/// Stores each recording's metadata in the ledger (linked to its call by UUID) before its staged
/// files go; the pipeline retries it until it succeeds.
fn save_metadata(ledger: Ledger) -> StoredHook {
    StoredHook(Arc::new(move |job, stored| {
        let ledger = ledger.clone();
        let record = RecordingRecord {
            call_uuid: job.tags.call_uuid.clone(),
            tenant: job.tags.tenant.clone(),
            object_key: stored.key.clone(),
            size_bytes: stored.size as i64,
            duration_ms: stored.duration.as_millis() as i64,
            sha256: stored.sha256.clone(),
            bitrate_kbps: stored.bitrate_kbps as i32,
        };
        Box::pin(async move {
            ledger
                .save_recording(&record)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }))
}

/// Logs each finished job and publishes `RecordingReady`.
async fn follow_reports(mut reports: tokio::sync::mpsc::Receiver<Report>, events: Option<Hub>) {
    while let Some(report) = reports.recv().await {
        match &report.outcome {
            Outcome::Stored(stored) => {
                tracing::info!(key = %stored.key, bytes = stored.size, "recording stored");
                if let Some(events) = &events {
                    events.publish(&CallEvent::RecordingReady {
                        tenant: report.job.tags.tenant.clone(),
                        call_uuid: report.job.tags.call_uuid.clone(),
                        key: stored.key.clone(),
                        size: stored.size,
                        duration_ms: stored.duration.as_millis() as u64,
                    });
                }
            }
            Outcome::Quarantined { reason, .. } => {
                tracing::warn!(wav = %report.job.wav.display(), %reason, "recording quarantined")
            }
            Outcome::LeftStaged { reason } => {
                tracing::warn!(wav = %report.job.wav.display(), %reason, "recording left staged")
            }
        }
    }
}

/// Every `scan_every`, submits the finished WAVs of the spill directory (first: the oldest
/// waiting) and of the staging directory (those whose RECORD_STOP was missed, or left by a
/// previous run).
async fn scan_staging(config: RecordingWorkerConfig, pipeline: Arc<Pipeline>) {
    let mut every = tokio::time::interval(config.scan_every);
    loop {
        every.tick().await;
        let spill = config.spill.as_ref().map(|s| s.dir.clone());
        for dir in spill.into_iter().chain([config.staging.clone()]) {
            let (stale_after, tenant) = (config.stale_after, config.default_tenant.clone());
            // Beside this run's encoders and RECORD_STOPs (from the first tick on): their files
            // in progress are left alone, a previous run's are removed once stale.
            let found = tokio::task::spawn_blocking(move || {
                if !dir.is_dir() {
                    return Ok(recording::staging::Recovered::default());
                }
                scan(&dir, stale_after, &tenant)
            })
            .await;
            match found {
                Ok(Ok(found)) => {
                    for job in found.jobs {
                        // Those the pipeline holds already are taken once.
                        match pipeline.submit(job).await {
                            Ok(()) => {}
                            Err(SubmitError::ShuttingDown) => return,
                            // Stored meanwhile (its WAV is gone): nothing left to do.
                            Err(SubmitError::NoWav { .. }) => {}
                            Err(error) => tracing::warn!(%error, "staged recording not submitted"),
                        }
                    }
                }
                Ok(Err(error)) => tracing::warn!(%error, "staging scan failed"),
                Err(_) => return,
            }
        }
    }
}
