//! The upload loop: encoded recordings up to the store, a bounded number at a time, and what
//! failed tried again by the pipeline itself.
//!
//! A failed attempt gives its slot back and the job waits in memory (its files stay where they
//! are held). When the store fails (down, refusing), it is tried again with one job at a time
//! after an exponential wait, the spilled jobs first; the first success lets every waiting job
//! go, the spilled ones first. An upload that arrives but fails verification is tried again
//! after its own wait, and quarantined with its reason after `verify_attempts` such failures:
//! never tried forever. A transient encoding failure (I/O) is queued for encoding again after
//! its own wait, and left staged for the next scan after `encode_attempts`.

use crate::pipeline::{Encoded, Outcome, PipelineConfig, Queued, Report, Work, left_staged};
use crate::spill::Holdings;
use crate::staging::{self, Job};
use crate::{Destination, UploadError};
use backon::{BackoffBuilder, ExponentialBuilder};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The encoders' queue, shared with [`crate::Pipeline`]: `None` once it takes no more jobs.
pub(crate) type JobQueue = Arc<Mutex<Option<crossbeam_channel::Sender<Queued>>>>;

/// The attempts running, and what each is of (to report a job whose attempt panicked).
#[derive(Default)]
struct Attempts {
    running: JoinSet<(Encoded, Attempt)>,
    jobs: HashMap<tokio::task::Id, (Job, std::time::Instant)>,
}

impl Attempts {
    fn spawn(&mut self, encoded: Encoded, uploads: &Arc<Uploads>) {
        let queued = &encoded.queued;
        let of = (queued.job.clone(), queued.since);
        let task = self.running.spawn(attempt(encoded, uploads.clone()));
        self.jobs.insert(task.id(), of);
    }

    fn len(&self) -> usize {
        self.running.len()
    }

    fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// The next attempt to end; a panicked one as its job's report (left staged).
    async fn join_next(&mut self) -> Option<Result<(Encoded, Attempt), Report>> {
        let joined = self.running.join_next_with_id().await?;
        Some(match joined {
            Ok((id, done)) => {
                self.jobs.remove(&id);
                Ok(done)
            }
            Err(error) => {
                let (job, since) = self
                    .jobs
                    .remove(&error.id())
                    .expect("every attempt is known by its id");
                tracing::error!(wav = %job.wav.display(), %error, "an upload attempt panicked; left staged");
                Err(Report {
                    job,
                    outcome: left_staged(&format!("the upload attempt failed: {error}")),
                    latency: since.elapsed(),
                    upload_retries: 0,
                })
            }
        })
    }
}

/// What an upload attempt came to.
enum Attempt {
    /// Verified, recorded, and its staged files gone.
    Stored,
    /// The store failed (down, refusing, timing out).
    StoreFailed(String),
    /// The object is there but is not what was sent.
    NotVerified(String),
    /// Given up for now: everything stays staged for the next scan.
    Left(String),
}

/// A job waiting to be tried again.
struct Waiting {
    retry: Retry,
    due: Instant,
    spilled: bool,
}

enum Retry {
    Upload(Encoded),
    Encode(Queued),
}

impl Retry {
    /// Its report, ending it with `outcome`.
    fn report(self, outcome: Outcome) -> Report {
        match self {
            Retry::Upload(encoded) => encoded.report(outcome),
            Retry::Encode(queued) => queued.report(outcome),
        }
    }
}

/// Whether the store fails every attempt, and when to try it again.
struct StoreHealth {
    /// Uploads stored so far: a job that fails again after others were stored meanwhile is
    /// refused for itself, not because the store is down.
    stored: u64,
    failing_since: Option<std::time::Instant>,
    retry_at: Option<Instant>,
    waits: Box<dyn Iterator<Item = Duration> + Send>,
}

impl StoreHealth {
    fn new(config: &PipelineConfig) -> Self {
        StoreHealth {
            stored: 0,
            failing_since: None,
            retry_at: None,
            waits: Box::new(retry_waits(config)),
        }
    }

    /// An attempt failed on the store: wait before the next. Attempts that were in flight
    /// together fail together; only the first of them lengthens the wait.
    fn failed(&mut self, config: &PipelineConfig) {
        self.failing_since
            .get_or_insert_with(std::time::Instant::now);
        let now = Instant::now();
        if self.retry_at.is_none_or(|at| at <= now) {
            let wait = self.waits.next().unwrap_or(config.retry_max);
            self.retry_at = Some(now + wait);
        }
    }

    /// The store answered an attempt (stored it, or took it and gave it back wrong): it is
    /// not down.
    fn answered(&mut self, config: &PipelineConfig) {
        if self.failing_since.take().is_some() {
            tracing::info!("the object store takes uploads again");
        }
        self.retry_at = None;
        self.waits = Box::new(retry_waits(config));
    }

    /// How many uploads may run now: none while waiting to try the store again, one (a probe)
    /// while it is failing, else `uploads`.
    fn slots(&self, uploads: usize, now: Instant) -> usize {
        match (self.retry_at, self.failing_since) {
            (Some(at), _) if at > now => 0,
            (_, Some(_)) => 1,
            _ => uploads,
        }
    }
}

/// Everything the loop shares with its attempts.
pub(crate) struct Uploads {
    pub(crate) destination: Destination,
    pub(crate) config: Arc<PipelineConfig>,
    pub(crate) stop: CancellationToken,
    pub(crate) holdings: Arc<Holdings>,
    pub(crate) jobs: JobQueue,
}

pub(crate) async fn upload_loop(
    mut work: mpsc::Receiver<Work>,
    reports: mpsc::Sender<Report>,
    uploads: Arc<Uploads>,
) {
    let config = uploads.config.clone();
    let most = config.uploads.max(1);
    let mut attempts = Attempts::default();
    let mut waiting: Vec<Waiting> = Vec::new();
    let mut store = StoreHealth::new(&config);
    let mut open = true;
    let mut stopping = false;
    loop {
        let now = Instant::now();
        if stopping {
            // Parked before the stop, or by an attempt that ended since: staged for a scan.
            for left in waiting.drain(..) {
                let report = left
                    .retry
                    .report(left_staged("shutdown while waiting to retry"));
                send(&uploads.holdings, &reports, report).await;
            }
        } else {
            while attempts.len() < store.slots(most, now) {
                let Some(next) = take_due(&mut waiting, now, |r| matches!(r, Retry::Upload(_)))
                else {
                    break;
                };
                if let Retry::Upload(encoded) = next {
                    attempts.spawn(encoded, &uploads);
                }
            }
            while let Some(next) = take_due(&mut waiting, now, |r| matches!(r, Retry::Encode(_))) {
                if let Retry::Encode(queued) = next {
                    encode_again(queued, &uploads, &mut waiting, &reports).await;
                }
            }
        }
        uploads
            .holdings
            .retrying(waiting.len(), store.failing_since);
        if !open && attempts.is_empty() && waiting.is_empty() {
            break;
        }
        let wake = next_wake(&waiting, &store, attempts.len(), most, now);
        let take_more =
            open && (stopping || attempts.len() < most || store.failing_since.is_some());
        tokio::select! {
            () = uploads.stop.cancelled(), if !stopping => stopping = true,
            Some(joined) = attempts.join_next(), if !attempts.is_empty() => match joined {
                Ok((encoded, attempt)) => {
                    settle(encoded, attempt, &uploads, &mut store, &mut waiting, &reports).await;
                }
                Err(panicked) => send(&uploads.holdings, &reports, panicked).await,
            },
            received = work.recv(), if take_more => match received {
                None => open = false,
                Some(work) if stopping => {
                    let queued = match work {
                        Work::Encoded(encoded) => encoded.queued,
                        Work::EncodeFailed(queued, _) => queued,
                    };
                    send(&uploads.holdings, &reports, queued.report(left_staged("shutdown before upload"))).await;
                }
                Some(Work::Encoded(encoded)) => {
                    if store.slots(most, Instant::now()) > attempts.len() && store.failing_since.is_none() {
                        attempts.spawn(encoded, &uploads);
                    } else {
                        park(&mut waiting, Retry::Upload(encoded), Instant::now(), &uploads);
                    }
                }
                Some(Work::EncodeFailed(queued, error)) => {
                    if queued.encode_attempts >= config.encode_attempts.max(1) {
                        tracing::warn!(wav = %queued.job.wav.display(), %error, "encoding failed again; left staged");
                        send(&uploads.holdings, &reports, queued.report(left_staged(&error))).await;
                    } else {
                        let due = Instant::now() + job_wait(&config, queued.encode_attempts);
                        park(&mut waiting, Retry::Encode(queued), due, &uploads);
                    }
                }
            },
            () = sleep_until(wake), if wake.is_some() => {}
        }
    }
    uploads.holdings.retrying(0, store.failing_since);
}

async fn sleep_until(wake: Option<Instant>) {
    if let Some(at) = wake {
        tokio::time::sleep_until(at).await;
    }
}

/// When something waiting may start: the next encoding retry, and the next upload retry when
/// a slot is free for it (the store's own retry time while it is failing).
fn next_wake(
    waiting: &[Waiting],
    store: &StoreHealth,
    running: usize,
    most: usize,
    now: Instant,
) -> Option<Instant> {
    let uploads_may_start = store.slots(most, now) > running;
    let mut wake = store.retry_at.filter(|at| *at > now);
    for w in waiting {
        let counts = match w.retry {
            Retry::Encode(_) => true,
            Retry::Upload(_) => uploads_may_start,
        };
        if counts {
            wake = Some(wake.map_or(w.due, |at| at.min(w.due)));
        }
    }
    wake
}

/// The first job due by `now` of the kind `kind` picks, spilled jobs first.
fn take_due(
    waiting: &mut Vec<Waiting>,
    now: Instant,
    kind: impl Fn(&Retry) -> bool,
) -> Option<Retry> {
    let due = |w: &Waiting| w.due <= now && kind(&w.retry);
    let index = waiting
        .iter()
        .position(|w| w.spilled && due(w))
        .or_else(|| waiting.iter().position(due))?;
    Some(waiting.remove(index).retry)
}

fn park(waiting: &mut Vec<Waiting>, retry: Retry, due: Instant, uploads: &Uploads) {
    let job = match &retry {
        Retry::Upload(encoded) => &encoded.queued.job,
        Retry::Encode(queued) => &queued.job,
    };
    let spilled = uploads.holdings.is_spilled(job);
    waiting.push(Waiting {
        retry,
        due,
        spilled,
    });
}

/// Queues a job for the encoders again (it waits a little more when their queue is full).
async fn encode_again(
    queued: Queued,
    uploads: &Uploads,
    waiting: &mut Vec<Waiting>,
    reports: &mpsc::Sender<Report>,
) {
    let sender = uploads
        .jobs
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let Some(sender) = sender else {
        send(
            &uploads.holdings,
            reports,
            queued.report(left_staged("shutdown before encoding again")),
        )
        .await;
        return;
    };
    match sender.try_send(queued) {
        Ok(()) => {}
        Err(crossbeam_channel::TrySendError::Full(queued)) => {
            let due = Instant::now() + uploads.config.retry_first;
            park(waiting, Retry::Encode(queued), due, uploads);
        }
        Err(crossbeam_channel::TrySendError::Disconnected(queued)) => {
            send(
                &uploads.holdings,
                reports,
                queued.report(left_staged("shutdown before encoding again")),
            )
            .await;
        }
    }
}

/// Acts on an attempt's end: reports it, or parks the job for another.
async fn settle(
    mut encoded: Encoded,
    attempt: Attempt,
    uploads: &Uploads,
    store: &mut StoreHealth,
    waiting: &mut Vec<Waiting>,
    reports: &mpsc::Sender<Report>,
) {
    let config = &uploads.config;
    match attempt {
        Attempt::Stored => {
            store.stored += 1;
            store.answered(config);
            let stored = encoded.stored.clone();
            let report = encoded.report(Outcome::Stored(stored));
            send(&uploads.holdings, reports, report).await;
        }
        Attempt::StoreFailed(error) => {
            encoded.retries += 1;
            // Others stored since this one last failed: the store refuses this object.
            let refused_alone = encoded
                .stored_at_failure
                .is_some_and(|before| store.stored > before);
            encoded.stored_at_failure = Some(store.stored);
            if !refused_alone {
                store.failed(config);
                tracing::warn!(key = %encoded.stored.key, %error, retries = encoded.retries, "upload failed; waiting to retry");
                park(waiting, Retry::Upload(encoded), Instant::now(), uploads);
                return;
            }
            encoded.refused += 1;
            let failures = encoded.refused;
            let what = "refused by the store while it took other uploads";
            retry_or_quarantine(encoded, failures, what, &error, uploads, waiting, reports).await;
        }
        Attempt::NotVerified(reason) => {
            // The store answered: it is not down.
            store.answered(config);
            encoded.retries += 1;
            encoded.not_verified += 1;
            let failures = encoded.not_verified;
            retry_or_quarantine(
                encoded,
                failures,
                "not verified",
                &reason,
                uploads,
                waiting,
                reports,
            )
            .await;
        }
        Attempt::Left(reason) => {
            send(
                &uploads.holdings,
                reports,
                encoded.report(left_staged(&reason)),
            )
            .await
        }
    }
}

/// A job whose upload failed for itself (`what`, `failures` times so far, the last `why`):
/// tried again after its own wait, or quarantined once it has failed `verify_attempts` times.
async fn retry_or_quarantine(
    encoded: Encoded,
    failures: u32,
    what: &str,
    why: &str,
    uploads: &Uploads,
    waiting: &mut Vec<Waiting>,
    reports: &mpsc::Sender<Report>,
) {
    let config = &uploads.config;
    if failures < config.verify_attempts.max(1) {
        tracing::warn!(key = %encoded.stored.key, %why, "upload {what}; retrying");
        let due = Instant::now() + job_wait(config, failures);
        park(waiting, Retry::Upload(encoded), due, uploads);
        return;
    }
    let reason = format!("upload {what} after {failures} attempts: {why}");
    quarantine(encoded, reason, uploads, reports).await;
}

/// Moves a job that can never be stored into the quarantine, with `reason`.
async fn quarantine(
    encoded: Encoded,
    reason: String,
    uploads: &Uploads,
    reports: &mpsc::Sender<Report>,
) {
    let job = encoded.queued.job.clone();
    let into = uploads.config.quarantine.clone();
    let why = reason.clone();
    let moved = tokio::task::spawn_blocking(move || staging::quarantine(&job, &into, &why)).await;
    let outcome = match moved {
        Ok(Ok(moved_to)) => {
            uploads.holdings.quarantined();
            tracing::error!(key = %encoded.stored.key, %reason, "recording quarantined");
            Outcome::Quarantined { moved_to, reason }
        }
        Ok(Err(e)) => left_staged(&format!("{reason}; quarantine failed: {e}")),
        Err(e) => left_staged(&format!("{reason}; quarantine failed: {e}")),
    };
    send(&uploads.holdings, reports, encoded.report(outcome)).await;
}

/// Reports a job's end; the pipeline holds it no more.
async fn send(holdings: &Holdings, reports: &mpsc::Sender<Report>, report: Report) {
    holdings.released(&report.job);
    let _ = reports.send(report).await;
}

/// One upload of a job, its verification, its record (the stored hook, retried while it
/// fails) and the removal of its staged files.
async fn attempt(mut encoded: Encoded, uploads: Arc<Uploads>) -> (Encoded, Attempt) {
    let config = &uploads.config;
    let stored = encoded.stored.clone();
    let key = object_store::path::Path::from(stored.key.as_str());
    let uploaded = match uploads
        .destination
        .upload(&encoded.queued.job.output_file(), &key)
        .await
    {
        Ok(uploaded) => uploaded,
        Err(UploadError::Mismatch { reason, .. }) => {
            return (encoded, Attempt::NotVerified(reason));
        }
        Err(UploadError::Store(error)) => {
            return (encoded, Attempt::StoreFailed(error.to_string()));
        }
        Err(error) => return (encoded, Attempt::Left(error.to_string())),
    };
    if uploaded.size != stored.size {
        let reason = format!(
            "the uploaded file changed: {} bytes, {} encoded",
            uploaded.size, stored.size
        );
        return (encoded, Attempt::Left(reason));
    }
    if let Some(hook) = &config.on_stored {
        let mut hook_waits = retry_waits(config);
        while let Err(error) = (hook.0)(&encoded.queued.job, &stored).await {
            encoded.retries += 1;
            tracing::warn!(key = %stored.key, %error, retries = encoded.retries, "verified, but not recorded; retrying");
            tokio::select! {
                () = uploads.stop.cancelled() => {
                    return (encoded, Attempt::Left(format!("shutdown while recording: {error}")));
                }
                () = tokio::time::sleep(hook_waits.next().unwrap_or(config.retry_max)) => {}
            }
        }
    }
    let job = encoded.queued.job.clone();
    match tokio::task::spawn_blocking(move || job.remove_staged()).await {
        Ok(Ok(())) => {}
        // The object is safe; what is left is found and cleared by recovery.
        Ok(Err(e)) => tracing::warn!(error = %e, "verified, but staged files remain"),
        Err(e) => return (encoded, Attempt::Left(e.to_string())),
    }
    (encoded, Attempt::Stored)
}

/// A job's own wait before its `attempt`-th retry: `retry_first` doubled each time, at most
/// `retry_max`.
fn job_wait(config: &PipelineConfig, attempt: u32) -> Duration {
    let doubled = config
        .retry_first
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    doubled.min(config.retry_max.max(config.retry_first))
}

/// The waits between attempts on a failing store: exponential from `retry_first` to
/// `retry_max`, each with random jitter (backon), so that daemons failing together do not
/// retry together; never ending.
pub(crate) fn retry_waits(config: &PipelineConfig) -> impl Iterator<Item = Duration> + use<> {
    ExponentialBuilder::default()
        .with_min_delay(config.retry_first)
        .with_max_delay(config.retry_max.max(config.retry_first))
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
        .build()
}
