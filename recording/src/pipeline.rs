//! The pipeline: finished recordings in, verified objects out. Encoding is CPU-bound and runs
//! on a pool of threads fed by a bounded crossbeam channel; uploads are async tasks, a bounded
//! number at a time, retried with exponential backoff until the store takes them.

use crate::staging::{self, Job};
use crate::{Destination, EncodeOptions, KeyLayout, TranscodeError, transcode_file};
use backon::{BackoffBuilder, ExponentialBuilder};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

/// Called once a job's object is verified, before its staged files are removed: the place to
/// store the recording's metadata (in the billing ledger, say). An error is retried with the
/// upload backoff and the job stays staged meanwhile, so a verified object is never left without
/// its record.
#[derive(Clone)]
pub struct StoredHook(
    #[allow(clippy::type_complexity)]
    pub  Arc<
        dyn Fn(&Job, &Stored) -> std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send>>
            + Send
            + Sync,
    >,
);

impl std::fmt::Debug for StoredHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoredHook")
    }
}

/// How the pipeline runs.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Where quarantined WAVs go, each with a `.reason.txt`.
    pub quarantine: PathBuf,
    /// Encoding threads. Default: the number of cores.
    pub workers: usize,
    /// Jobs waiting for an encoder, and encoded files waiting for an upload slot. Default 64.
    pub queue: usize,
    /// Uploads at once. Default 8.
    pub uploads: usize,
    /// Encoder settings; each job's tags are added to them.
    pub encode: EncodeOptions,
    /// Write ID3 tags from each job's metadata. Default: yes.
    pub id3_tags: bool,
    /// Object keys.
    pub layout: KeyLayout,
    /// First step of the wait after a failed upload; doubled each time up to `retry_max`, each
    /// wait between one and two steps (random jitter). Default 500 ms.
    pub retry_first: Duration,
    /// Longest step between upload attempts (a wait is at most twice it). Default 30 s.
    pub retry_max: Duration,
    /// Run for each verified object before its staged files go. Default: none.
    pub on_stored: Option<StoredHook>,
}

impl PipelineConfig {
    /// Defaults, quarantining into `quarantine`.
    pub fn new(quarantine: PathBuf) -> Self {
        PipelineConfig {
            quarantine,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            queue: 64,
            uploads: 8,
            encode: EncodeOptions::default(),
            id3_tags: true,
            layout: KeyLayout::default(),
            retry_first: Duration::from_millis(500),
            retry_max: Duration::from_secs(30),
            on_stored: None,
        }
    }
}

/// A recording stored and verified: what the caller keeps (in the billing ledger, say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The object's key.
    pub key: String,
    /// MP3 size in bytes.
    pub size: u64,
    /// Audio length.
    pub duration: Duration,
    /// SHA-256 of the MP3, lowercase hex.
    pub sha256: String,
    /// kbit/s.
    pub bitrate_kbps: u32,
}

/// How a job ended.
#[derive(Debug)]
pub enum Outcome {
    /// Uploaded and verified; the staged files are gone.
    Stored(Stored),
    /// It can never succeed (not a WAV we transcode); moved to quarantine.
    Quarantined {
        /// The WAV's place in quarantine.
        moved_to: PathBuf,
        /// Why.
        reason: String,
    },
    /// Not finished (shutdown, or a local I/O failure): everything stays staged for the next
    /// recovery scan.
    LeftStaged {
        /// Why.
        reason: String,
    },
}

/// One job's result.
#[derive(Debug)]
pub struct Report {
    /// The job.
    pub job: Job,
    /// What happened.
    pub outcome: Outcome,
    /// From [`Pipeline::submit`] to the outcome.
    pub latency: Duration,
    /// Failed upload (or [`StoredHook`]) attempts before the outcome.
    pub upload_retries: u32,
}

/// Why a job was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// The WAV is not there (stored and removed already, or never written): nothing is
    /// queued, and no job file is written for it.
    #[error("no WAV at {wav}")]
    NoWav {
        /// The WAV.
        wav: PathBuf,
    },
    /// The job file could not be written; the job is not queued.
    #[error("writing the job file of {wav}: {source}")]
    JobFile {
        /// The WAV.
        wav: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The pipeline is shutting down; the job file is written, so a restart picks the job up.
    #[error("the pipeline is shutting down")]
    ShuttingDown,
}

struct Queued {
    job: Job,
    since: Instant,
}

/// A running pipeline. Create it inside a tokio runtime.
///
/// ```no_run
/// use recording::{Destination, Job, Pipeline, PipelineConfig, Tags};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let destination = Destination::local("/var/lib/recordings".as_ref())?;
/// let (pipeline, mut reports) = Pipeline::start(PipelineConfig::new("/var/lib/quarantine".into()), destination);
/// // On RECORD_STOP:
/// pipeline.submit(Job { wav: "/dev/shm/rec/call.wav".into(), tags: Tags::default() }).await?;
/// while let Some(report) = reports.recv().await {
///     println!("{:?}: {:?}", report.job.wav, report.outcome);
/// }
/// # Ok(()) }
/// ```
pub struct Pipeline {
    jobs: Option<crossbeam_channel::Sender<Queued>>,
    workers: Vec<std::thread::JoinHandle<()>>,
    uploader: Option<tokio::task::JoinHandle<()>>,
    stop: CancellationToken,
}

impl Pipeline {
    /// Starts the encoder threads and the upload loop. Reports arrive on the receiver; read
    /// it, or the pipeline stops taking work when its queues are full.
    pub fn start(
        config: PipelineConfig,
        destination: Destination,
    ) -> (Self, mpsc::Receiver<Report>) {
        let config = Arc::new(config);
        let stop = CancellationToken::new();
        let (jobs, queued) = crossbeam_channel::bounded::<Queued>(config.queue);
        let (encoded_tx, encoded_rx) = mpsc::channel(config.queue);
        let (reports_tx, reports) = mpsc::channel(config.queue.max(1));
        let workers = (0..config.workers.max(1))
            .map(|n| {
                let (queued, encoded, reports, config, stop) = (
                    queued.clone(),
                    encoded_tx.clone(),
                    reports_tx.clone(),
                    config.clone(),
                    stop.clone(),
                );
                std::thread::Builder::new()
                    .name(format!("recording-encoder-{n}"))
                    .spawn(move || encode_loop(&queued, &encoded, &reports, &config, &stop))
                    .expect("an encoder thread")
            })
            .collect();
        drop(encoded_tx);
        let uploader = tokio::spawn(upload_loop(
            encoded_rx,
            reports_tx,
            destination,
            config,
            stop.clone(),
        ));
        (
            Pipeline {
                jobs: Some(jobs),
                workers,
                uploader: Some(uploader),
                stop,
            },
            reports,
        )
    }

    /// Queues a finished recording: writes its job file (so it survives a crash from here on),
    /// then waits for room in the queue.
    pub async fn submit(&self, job: Job) -> Result<(), SubmitError> {
        let jobs = self.jobs.clone().ok_or(SubmitError::ShuttingDown)?;
        let since = Instant::now();
        let job = tokio::task::spawn_blocking(move || {
            // A job submitted again after its object was verified must not leave a job file
            // without its WAV behind.
            if !job.wav.is_file() {
                return Err(SubmitError::NoWav { wav: job.wav });
            }
            job.write_job_file()
                .map_err(|source| SubmitError::JobFile {
                    wav: job.wav.clone(),
                    source,
                })?;
            jobs.send(Queued { job, since })
                .map_err(|_| SubmitError::ShuttingDown)
        });
        job.await.unwrap_or(Err(SubmitError::ShuttingDown))
    }

    /// Stops: no new jobs; queued jobs and uploads still waiting to retry are left staged;
    /// encodes and uploads in progress finish, for at most `grace`, then are left staged too.
    /// Nothing is ever half-deleted: a WAV goes only after its object is verified.
    pub async fn shutdown(mut self, grace: Duration) {
        self.stop.cancel();
        self.close(Some(grace)).await;
    }

    /// Drains: no new jobs, and returns when every queued job has an outcome.
    pub async fn finish(mut self) {
        self.close(None).await;
    }

    /// Takes no more jobs and waits, within `grace` if given, for the encoder threads and then
    /// the uploads to end.
    async fn close(&mut self, grace: Option<Duration>) {
        self.jobs = None;
        let workers = std::mem::take(&mut self.workers);
        let joined = tokio::task::spawn_blocking(move || {
            for worker in workers {
                let _ = worker.join();
            }
        });
        let uploader = self.uploader.take();
        let both = async {
            let _ = joined.await;
            if let Some(uploader) = uploader {
                let _ = uploader.await;
            }
        };
        match grace {
            Some(grace) => {
                let _ = tokio::time::timeout(grace, both).await;
            }
            None => both.await,
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

struct Encoded {
    queued: Queued,
    stored: Stored,
}

fn encode_loop(
    queued: &crossbeam_channel::Receiver<Queued>,
    encoded: &mpsc::Sender<Encoded>,
    reports: &mpsc::Sender<Report>,
    config: &PipelineConfig,
    stop: &CancellationToken,
) {
    let report = |queued: Queued, outcome: Outcome| {
        let _ = reports.blocking_send(Report {
            latency: queued.since.elapsed(),
            job: queued.job,
            outcome,
            upload_retries: 0,
        });
    };
    while let Ok(item) = queued.recv() {
        if stop.is_cancelled() {
            report(item, left_staged("shutdown before encoding"));
            continue;
        }
        match encode(&item.job, config) {
            Ok(stored) => {
                if let Err(mpsc::error::SendError(back)) = encoded.blocking_send(Encoded {
                    queued: item,
                    stored,
                }) {
                    report(back.queued, left_staged("shutdown before upload"));
                }
            }
            Err(error) if error.is_permanent() => {
                let reason = error.to_string();
                let outcome = match staging::quarantine(&item.job, &config.quarantine, &reason) {
                    Ok(moved_to) => Outcome::Quarantined { moved_to, reason },
                    Err(e) => left_staged(&format!("{reason}; quarantine failed: {e}")),
                };
                tracing::warn!(wav = %item.job.wav.display(), error = %error, "recording quarantined");
                report(item, outcome);
            }
            Err(error) => {
                tracing::warn!(wav = %item.job.wav.display(), %error, "encoding failed; left staged");
                report(item, left_staged(&error.to_string()));
            }
        }
    }
}

fn left_staged(reason: &str) -> Outcome {
    Outcome::LeftStaged {
        reason: reason.to_owned(),
    }
}

/// Encodes the job's MP3 and names its object.
fn encode(job: &Job, config: &PipelineConfig) -> Result<Stored, TranscodeError> {
    let mut options = config.encode.clone();
    if config.id3_tags {
        options.tags = Some(job.tags.clone());
    }
    // Through `<output>.part` (`Job::part_file`): a complete MP3 or none.
    let done = transcode_file(&job.wav, &job.output_file(), &options)?;
    let key = config
        .layout
        .key(&job.tags)
        .map_err(|e| TranscodeError::Encoder(e.to_string()))?;
    Ok(Stored {
        key: key.to_string(),
        size: done.bytes,
        duration: done.duration,
        sha256: done.sha256,
        bitrate_kbps: done.bitrate_kbps,
    })
}

async fn upload_loop(
    mut encoded: mpsc::Receiver<Encoded>,
    reports: mpsc::Sender<Report>,
    destination: Destination,
    config: Arc<PipelineConfig>,
    stop: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(config.uploads.max(1)));
    let mut uploads = tokio::task::JoinSet::new();
    while let Some(item) = encoded.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let (reports, destination, config, stop) = (
            reports.clone(),
            destination.clone(),
            config.clone(),
            stop.clone(),
        );
        uploads.spawn(async move {
            let report = upload_until_verified(item, &destination, &config, &stop).await;
            drop(slot);
            let _ = reports.send(report).await;
        });
        while uploads.try_join_next().is_some() {}
    }
    while uploads.join_next().await.is_some() {}
}

async fn upload_until_verified(
    item: Encoded,
    destination: &Destination,
    config: &PipelineConfig,
    stop: &CancellationToken,
) -> Report {
    let Encoded { queued, stored } = item;
    let mut retries = 0;
    let mut upload_waits = retry_waits(config);
    let outcome = 'attempts: loop {
        let key = object_store::path::Path::from(stored.key.as_str());
        match destination.upload(&queued.job.output_file(), &key).await {
            Ok(uploaded) if uploaded.size == stored.size => {
                if let Some(hook) = &config.on_stored {
                    let mut hook_waits = retry_waits(config);
                    while let Err(error) = (hook.0)(&queued.job, &stored).await {
                        retries += 1;
                        tracing::warn!(key = %stored.key, %error, retries, "verified, but not recorded; retrying");
                        tokio::select! {
                            _ = stop.cancelled() => break 'attempts left_staged(&format!("shutdown while recording: {error}")),
                            _ = tokio::time::sleep(hook_waits.next().unwrap_or(config.retry_max)) => {}
                        }
                    }
                }
                let job = queued.job.clone();
                match tokio::task::spawn_blocking(move || job.remove_staged()).await {
                    Ok(Ok(())) => break Outcome::Stored(stored),
                    Ok(Err(e)) => {
                        // The object is safe; what is left is found and cleared by recovery.
                        tracing::warn!(error = %e, "verified, but staged files remain");
                        break Outcome::Stored(stored);
                    }
                    Err(e) => break left_staged(&e.to_string()),
                }
            }
            Ok(uploaded) => {
                break left_staged(&format!(
                    "the uploaded file changed: {} bytes, {} encoded",
                    uploaded.size, stored.size
                ));
            }
            Err(error) => {
                retries += 1;
                tracing::warn!(key = %stored.key, %error, retries, "upload failed; retrying");
                tokio::select! {
                    _ = stop.cancelled() => break left_staged(&format!("shutdown while retrying: {error}")),
                    _ = tokio::time::sleep(upload_waits.next().unwrap_or(config.retry_max)) => {}
                }
            }
        }
    };
    Report {
        latency: queued.since.elapsed(),
        job: queued.job,
        outcome,
        upload_retries: retries,
    }
}

/// The waits between attempts: exponential from `retry_first` to `retry_max`, each with random
/// jitter (backon), so that uploads failing together do not retry together; never ending (the
/// stop token ends the loop).
fn retry_waits(config: &PipelineConfig) -> impl Iterator<Item = Duration> + use<> {
    ExponentialBuilder::default()
        .with_min_delay(config.retry_first)
        .with_max_delay(config.retry_max.max(config.retry_first))
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
        .build()
}
