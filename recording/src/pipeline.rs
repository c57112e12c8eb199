//! The pipeline: finished recordings in, verified objects out. Encoding is CPU-bound and runs
//! on a pool of threads fed by a bounded crossbeam channel (a submission waits for room
//! without a thread); uploads are async tasks, a bounded number at a time, and what fails is
//! tried again by the pipeline (`retries`). What it holds is counted, and moved to a spill
//! directory past a high-water mark (`spill`).

use crate::retries::{JobQueue, Uploads, upload_loop};
use crate::spill::{Holdings, SpillConfig, StagingStatus};
use crate::staging::{self, Job};
use crate::{Destination, EncodeOptions, KeyLayout, TranscodeError, transcode_file};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
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
    /// The encoding threads' nice value on Linux (ignored elsewhere). Default 10: a recording
    /// has seconds to be stored, while whatever shares the cores with the encoders (a
    /// dialplan lookup holding up a call's setup) has milliseconds; an idle machine still
    /// gives the encoders every core.
    pub encoder_nice: i32,
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
    /// Uploads that arrive but fail verification this many times are quarantined with the
    /// reason. Default 5.
    pub verify_attempts: u32,
    /// Encodings that fail this many times on a transient error (I/O) are left staged for the
    /// next scan. Default 5.
    pub encode_attempts: u32,
    /// Where finished recordings go past a high-water mark. Default: none (they stay staged).
    pub spill: Option<SpillConfig>,
    /// Run for each verified object before its staged files go. Default: none.
    pub on_stored: Option<StoredHook>,
}

impl PipelineConfig {
    /// Defaults, quarantining into `quarantine`.
    pub fn new(quarantine: PathBuf) -> Self {
        PipelineConfig {
            quarantine,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            encoder_nice: 10,
            queue: 64,
            uploads: 8,
            encode: EncodeOptions::default(),
            id3_tags: true,
            layout: KeyLayout::default(),
            retry_first: Duration::from_millis(500),
            retry_max: Duration::from_secs(30),
            verify_attempts: 5,
            encode_attempts: 5,
            spill: None,
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
    /// The job as it ended: its WAV in the spill directory if it was moved there.
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

/// A job on its way, and what happened to it so far.
pub(crate) struct Queued {
    pub(crate) job: Job,
    pub(crate) since: Instant,
    /// Encodings that failed on a transient error.
    pub(crate) encode_attempts: u32,
}

impl Queued {
    /// Its report, ending it with `outcome`.
    pub(crate) fn report(self, outcome: Outcome) -> Report {
        Report {
            latency: self.since.elapsed(),
            job: self.job,
            outcome,
            upload_retries: 0,
        }
    }
}

/// What the encoders hand the upload loop.
pub(crate) enum Work {
    /// An MP3 to upload.
    Encoded(Encoded),
    /// A transient encoding failure, to encode again later.
    EncodeFailed(Queued, String),
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
    jobs: JobQueue,
    /// Told by the encoders each time they take a job: a submission waiting for room in
    /// their queue waits on this, not on a thread.
    room: Arc<tokio::sync::Notify>,
    workers: Vec<std::thread::JoinHandle<()>>,
    uploader: Option<tokio::task::JoinHandle<()>>,
    stop: CancellationToken,
    holdings: Arc<Holdings>,
    spill: Option<SpillConfig>,
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
        let holdings = Arc::new(Holdings::default());
        let (jobs, queued) = crossbeam_channel::bounded::<Queued>(config.queue);
        let jobs: JobQueue = Arc::new(Mutex::new(Some(jobs)));
        let room = Arc::new(tokio::sync::Notify::new());
        let (encoded_tx, encoded_rx) = mpsc::channel(config.queue);
        let (reports_tx, reports) = mpsc::channel(config.queue.max(1));
        let workers = (0..config.workers.max(1))
            .map(|n| {
                let (queued, encoded, reports, config, stop, holdings, room) = (
                    queued.clone(),
                    encoded_tx.clone(),
                    reports_tx.clone(),
                    config.clone(),
                    stop.clone(),
                    holdings.clone(),
                    room.clone(),
                );
                std::thread::Builder::new()
                    .name(format!("recording-encoder-{n}"))
                    .spawn(move || {
                        lower_priority(config.encoder_nice);
                        let queue = EncoderQueue {
                            jobs: &queued,
                            room: &room,
                        };
                        encode_loop(queue, &encoded, &reports, &config, &stop, &holdings)
                    })
                    .expect("an encoder thread")
            })
            .collect();
        drop(encoded_tx);
        let spill = config.spill.clone();
        let uploads = Arc::new(Uploads {
            destination,
            config,
            stop: stop.clone(),
            holdings: holdings.clone(),
            jobs: jobs.clone(),
        });
        let uploader = tokio::spawn(upload_loop(encoded_rx, reports_tx, uploads));
        (
            Pipeline {
                jobs,
                room,
                workers,
                uploader: Some(uploader),
                stop,
                holdings,
                spill,
            },
            reports,
        )
    }

    /// Queues a finished recording: writes its job file (so it survives a crash from here on),
    /// moves it to the spill when the staging directory holds as much as it may, then waits
    /// for room in the queue. The wait holds no thread: with thousands of recordings waiting
    /// (the encoders behind), the runtime's blocking threads stay free for the uploads' file
    /// work, which is what frees the room.
    pub async fn submit(&self, job: Job) -> Result<(), SubmitError> {
        let jobs = self
            .jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or(SubmitError::ShuttingDown)?;
        let since = Instant::now();
        let (holdings, spill) = (self.holdings.clone(), self.spill.clone());
        let admitted = tokio::task::spawn_blocking(move || {
            // A job submitted again after its object was verified must not leave a job file
            // without its WAV behind.
            if !job.wav.is_file() {
                return Err(SubmitError::NoWav { wav: job.wav });
            }
            // Queued or in flight already (a scan beside its RECORD_STOP): taken once, its job
            // file left as the first submission wrote it.
            if holdings.holds(&job.wav) {
                return Ok(None);
            }
            let job_file_error = |wav: &PathBuf| {
                let wav = wav.clone();
                move |source| SubmitError::JobFile { wav, source }
            };
            job.write_job_file().map_err(job_file_error(&job.wav))?;
            let wav = job.wav.clone();
            // `None`: another submission of the same WAV was admitted meanwhile.
            holdings
                .admit(job, spill.as_ref())
                .map_err(job_file_error(&wav))
        });
        let Some(job) = admitted.await.unwrap_or(Err(SubmitError::ShuttingDown))? else {
            return Ok(());
        };
        self.queue(
            &jobs,
            Queued {
                job,
                since,
                encode_attempts: 0,
            },
        )
        .await
    }

    /// Puts `queued` in the encoders' queue once it has room, waiting without a thread.
    async fn queue(
        &self,
        jobs: &crossbeam_channel::Sender<Queued>,
        mut queued: Queued,
    ) -> Result<(), SubmitError> {
        // Admitted, never queued (the encoders gone, or this wait cancelled): released, so a
        // scan takes it again from its job file.
        let mut unqueued = Unqueued {
            holdings: &self.holdings,
            job: Some(queued.job.clone()),
        };
        loop {
            // Registered before trying: room made between the try and the wait is not missed.
            let room = self.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            match jobs.try_send(queued) {
                Ok(()) => {
                    unqueued.job = None;
                    return Ok(());
                }
                Err(crossbeam_channel::TrySendError::Full(back)) => {
                    queued = back;
                    room.await;
                }
                Err(crossbeam_channel::TrySendError::Disconnected(_)) => {
                    return Err(SubmitError::ShuttingDown);
                }
            }
        }
    }

    /// What the staging directory and the spill hold, and how uploads fare.
    pub fn status(&self) -> StagingStatus {
        self.holdings.status(self.spill.as_ref())
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
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).take();
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

/// An encoded job on its way up.
pub(crate) struct Encoded {
    pub(crate) queued: Queued,
    pub(crate) stored: Stored,
    /// Failed upload (or stored hook) attempts so far.
    pub(crate) retries: u32,
    /// Uploads that arrived but failed verification.
    pub(crate) not_verified: u32,
    /// Uploads the store refused while it took others (this object, not the store, is at
    /// fault).
    pub(crate) refused: u32,
    /// How many uploads the pipeline had stored when this one last failed on the store.
    pub(crate) stored_at_failure: Option<u64>,
}

impl Encoded {
    /// Its report, ending it with `outcome`.
    pub(crate) fn report(self, outcome: Outcome) -> Report {
        let retries = self.retries;
        Report {
            upload_retries: retries,
            ..self.queued.report(outcome)
        }
    }
}

/// An admitted job on its way to the encoders' queue: released from the holdings when dropped
/// before it got there.
struct Unqueued<'a> {
    holdings: &'a Holdings,
    job: Option<Job>,
}

impl Drop for Unqueued<'_> {
    fn drop(&mut self) {
        if let Some(job) = self.job.take() {
            self.holdings.released(&job);
        }
    }
}

/// Where an encoder takes its jobs, and whom it tells it made room.
struct EncoderQueue<'a> {
    jobs: &'a crossbeam_channel::Receiver<Queued>,
    room: &'a tokio::sync::Notify,
}

fn encode_loop(
    queue: EncoderQueue<'_>,
    encoded: &mpsc::Sender<Work>,
    reports: &mpsc::Sender<Report>,
    config: &PipelineConfig,
    stop: &CancellationToken,
    holdings: &Holdings,
) {
    let report = |queued: Queued, outcome: Outcome| {
        holdings.released(&queued.job);
        let _ = reports.blocking_send(queued.report(outcome));
    };
    while let Ok(item) = queue.jobs.recv() {
        queue.room.notify_one();
        if stop.is_cancelled() {
            report(item, left_staged("shutdown before encoding"));
            continue;
        }
        // A panic in the decoder or the encoder (a file they choke on) is that file's fault:
        // it is quarantined, and the thread goes on with the next job.
        let encoded_or_panic =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| encode(&item.job, config)))
                .unwrap_or_else(|_| {
                    Err(TranscodeError::Encoder(
                        "the encoder panicked on this file".into(),
                    ))
                });
        match encoded_or_panic {
            Ok(stored) => {
                holdings.encoded(&item.job, stored.size);
                let work = Work::Encoded(Encoded {
                    queued: item,
                    stored,
                    retries: 0,
                    not_verified: 0,
                    refused: 0,
                    stored_at_failure: None,
                });
                if let Err(mpsc::error::SendError(back)) = encoded.blocking_send(work) {
                    let queued = match back {
                        Work::Encoded(encoded) => encoded.queued,
                        Work::EncodeFailed(queued, _) => queued,
                    };
                    report(queued, left_staged("shutdown before upload"));
                }
            }
            Err(error) if error.is_permanent() => {
                let reason = error.to_string();
                let outcome = match staging::quarantine(&item.job, &config.quarantine, &reason) {
                    Ok(moved_to) => {
                        holdings.quarantined();
                        Outcome::Quarantined { moved_to, reason }
                    }
                    Err(e) => left_staged(&format!("{reason}; quarantine failed: {e}")),
                };
                tracing::warn!(wav = %item.job.wav.display(), error = %error, "recording quarantined");
                report(item, outcome);
            }
            Err(error) => {
                // Tried again by the upload loop after a wait (a full disk may have room then).
                tracing::warn!(wav = %item.job.wav.display(), %error, "encoding failed; will retry");
                let mut item = item;
                item.encode_attempts += 1;
                if let Err(mpsc::error::SendError(Work::EncodeFailed(queued, error))) =
                    encoded.blocking_send(Work::EncodeFailed(item, error.to_string()))
                {
                    report(queued, left_staged(&error));
                }
            }
        }
    }
}

/// Gives the calling thread the nice value `nice` (Linux: a thread's own; a failure, such as
/// raising priority without the right, is logged and the thread runs as it was).
fn lower_priority(nice: i32) {
    #[cfg(target_os = "linux")]
    {
        let thread = rustix::thread::gettid();
        if let Err(error) = rustix::process::setpriority_process(Some(thread), nice) {
            tracing::warn!(nice, %error, "the encoder thread's priority is unchanged");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
}

pub(crate) fn left_staged(reason: &str) -> Outcome {
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

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn an_encoder_thread_runs_at_its_nice_value() {
        let nice = std::thread::spawn(|| {
            super::lower_priority(7);
            rustix::process::getpriority_process(Some(rustix::thread::gettid()))
        })
        .join()
        .unwrap()
        .unwrap();
        assert_eq!(nice, 7);
        // The thread that asked is not the only one: this one keeps its priority.
        let here = rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap();
        assert_ne!(here, 7);
    }
}
