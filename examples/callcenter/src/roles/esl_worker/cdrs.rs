//! CDRs from `CHANNEL_HANGUP_COMPLETE` (for platforms without mod_json_cdr), written through
//! the ledger in batches; the ledger's (uuid, leg) key makes a call both sources report charge
//! once, and its tenant rule attributes them.
//!
//! The event loop never waits on the database: it hands each CDR to the writer without
//! waiting, and when the writer is behind (the ledger slow or down) the CDR goes to the
//! [`Journal`] instead. The writer records batches; a batch the ledger cannot take goes to the
//! journal too, and while the journal holds CDRs the writer replays it (with backoff) before
//! taking new ones straight to the ledger again.

use super::journal::Journal;
use super::{EslMetrics, Shared};
use backon::Retryable;
use billing::{Cdr, CdrOptions, Ledger, LedgerError, Recorded};
use esl::proto::Event;
use platform::retry::Retry;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

/// CDRs per database transaction.
const BATCH: usize = 500;

/// First and longest wait between replays of the journal while the ledger fails.
const REPLAY_FIRST: Duration = Duration::from_millis(200);
const REPLAY_MAX: Duration = Duration::from_secs(5);

/// Reads the CDR an event carries and hands it to the writer, or to the journal when the
/// writer is behind; never waits on the database.
pub(super) async fn record(shared: &Shared, event: &Event, cdrs: &mpsc::Sender<Cdr>) {
    let headers: Vec<(String, String)> = event
        .headers()
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    let pairs = headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    // Its tenant is the ledger's to find (variable, linked leg, context, domain).
    let cdr = match Cdr::from_pairs(pairs, &shared.cdr_options) {
        Ok(cdr) => cdr,
        Err(error) => {
            shared.metrics.cdrs_refused.inc();
            tracing::error!(uuid = ?event.unique_id(), %error, "CHANNEL_HANGUP_COMPLETE is not a CDR");
            return;
        }
    };
    let cdr = match cdrs.try_send(cdr) {
        Ok(()) => return,
        Err(TrySendError::Full(cdr)) => cdr,
        Err(TrySendError::Closed(lost)) => return writer_gone(shared, &lost),
    };
    let Some(journal) = shared.journal.clone() else {
        return wait_for_room(shared, cdrs, cdr).await;
    };
    let journaled = {
        let cdr = cdr.clone();
        tokio::task::spawn_blocking(move || journal.append(std::slice::from_ref(&cdr))).await
    };
    match journaled {
        Ok(Ok(())) => {
            shared.metrics.cdrs_journaled.inc();
        }
        Ok(Err(error)) => {
            tracing::error!(%error, uuid = %cdr.uuid, "cannot write the CDR journal; waiting for the writer");
            wait_for_room(shared, cdrs, cdr).await;
        }
        Err(error) => {
            tracing::error!(%error, uuid = %cdr.uuid, "CDR journal task failed; waiting for the writer");
            wait_for_room(shared, cdrs, cdr).await;
        }
    }
}

/// The last resort when the journal cannot be written either: wait for the writer rather than
/// lose the CDR.
async fn wait_for_room(shared: &Shared, cdrs: &mpsc::Sender<Cdr>, cdr: Cdr) {
    if let Err(lost) = cdrs.send(cdr).await {
        writer_gone(shared, &lost.0);
    }
}

/// Only when shutting down: said, never silent.
fn writer_gone(shared: &Shared, lost: &Cdr) {
    shared.metrics.cdrs_refused.inc();
    tracing::error!(uuid = %lost.uuid, raw = %lost.raw, "CDR from CHANNEL_HANGUP_COMPLETE not stored: the CDR writer has stopped");
}

/// The writer's side: the ledger, the journal, and how CDRs are read back from it.
pub(super) struct Writer {
    pub(super) ledger: Ledger,
    pub(super) journal: Option<Arc<Journal>>,
    pub(super) options: CdrOptions,
    pub(super) metrics: Arc<EslMetrics>,
}

impl Writer {
    /// Writes CDRs from events in batches until the channel closes.
    pub(super) async fn run(self, mut rx: mpsc::Receiver<Cdr>) {
        let mut batch = Vec::new();
        let mut delay = REPLAY_FIRST;
        loop {
            if self.journal_has_cdrs().await {
                // New CDRs join the journal while it is replayed, waiting at most `delay`.
                match tokio::time::timeout(delay, rx.recv_many(&mut batch, BATCH)).await {
                    Ok(0) => return,
                    Ok(_) => {
                        if !self.journal(&batch).await {
                            self.record_until_stored(&batch).await;
                        }
                        batch.clear();
                    }
                    Err(_) => {}
                }
                delay = if self.replay().await {
                    REPLAY_FIRST
                } else {
                    (delay * 2).min(REPLAY_MAX)
                };
                continue;
            }
            if rx.recv_many(&mut batch, BATCH).await == 0 {
                return;
            }
            match self.ledger.record_batch(&batch).await {
                Ok(results) => self.report(&batch, results),
                Err(error) => {
                    tracing::warn!(%error, cdrs = batch.len(), "cannot store CDRs; journaling them until the database is back");
                    if !self.journal(&batch).await {
                        self.record_until_stored(&batch).await;
                    }
                }
            }
            batch.clear();
        }
    }

    async fn journal_has_cdrs(&self) -> bool {
        let Some(journal) = self.journal.clone() else {
            return false;
        };
        matches!(
            tokio::task::spawn_blocking(move || journal.is_empty()).await,
            Ok(Ok(false))
        )
    }

    /// Appends a batch to the journal; `false` if there is none or it cannot be written.
    async fn journal(&self, batch: &[Cdr]) -> bool {
        let Some(journal) = self.journal.clone() else {
            return false;
        };
        let cdrs = batch.to_vec();
        match tokio::task::spawn_blocking(move || journal.append(&cdrs)).await {
            Ok(Ok(())) => {
                self.metrics.cdrs_journaled.inc_by(batch.len() as u64);
                true
            }
            Ok(Err(error)) => {
                tracing::error!(%error, "cannot write the CDR journal");
                false
            }
            Err(error) => {
                tracing::error!(%error, "CDR journal task failed");
                false
            }
        }
    }

    /// Records what the journal holds and removes it; `false` while the ledger fails.
    async fn replay(&self) -> bool {
        let Some(journal) = self.journal.clone() else {
            return true;
        };
        let options = self.options.clone();
        let reading = journal.clone();
        let replay = match tokio::task::spawn_blocking(move || reading.read(&options)).await {
            Ok(Ok(replay)) => replay,
            Ok(Err(error)) => {
                tracing::error!(%error, "cannot read the CDR journal");
                return false;
            }
            Err(error) => {
                tracing::error!(%error, "CDR journal task failed");
                return false;
            }
        };
        for chunk in replay.cdrs.chunks(BATCH) {
            match self.ledger.record_batch(chunk).await {
                Ok(results) => self.report(chunk, results),
                Err(error) => {
                    tracing::debug!(%error, "the database still fails; the CDR journal waits");
                    return false;
                }
            }
        }
        let replayed = replay.cdrs.len();
        match tokio::task::spawn_blocking(move || journal.consume(&replay)).await {
            Ok(Ok(())) => {
                tracing::info!(cdrs = replayed, "CDR journal replayed");
                true
            }
            Ok(Err(error)) => {
                tracing::error!(%error, "cannot truncate the CDR journal (its CDRs are stored; a replay repeats them harmlessly)");
                false
            }
            Err(error) => {
                tracing::error!(%error, "CDR journal task failed");
                false
            }
        }
    }

    /// Without a journal: retries the database until the batch is stored.
    async fn record_until_stored(&self, batch: &[Cdr]) {
        let retry = Retry::new(Duration::from_millis(100), Duration::from_secs(6));
        let stored = (|| self.ledger.record_batch(batch))
            .retry(retry.builder())
            .sleep(tokio::time::sleep)
            .notify(|error, delay| {
                tracing::warn!(%error, ?delay, cdrs = batch.len(), "cannot store CDRs; retrying");
            })
            .await;
        match stored {
            Ok(results) => self.report(batch, results),
            // The policy retries forever: only reached if it is ever limited.
            Err(error) => {
                for cdr in batch {
                    tracing::error!(uuid = %cdr.uuid, %error, raw = %cdr.raw, "CDR from CHANNEL_HANGUP_COMPLETE not stored");
                }
            }
        }
    }

    fn report(&self, batch: &[Cdr], results: Vec<Result<Recorded, LedgerError>>) {
        for (cdr, result) in batch.iter().zip(results) {
            match result {
                Ok(recorded) if !recorded.duplicate => {
                    self.metrics.cdrs.inc();
                }
                Ok(_) => {}
                Err(error) => {
                    self.metrics.cdrs_refused.inc();
                    tracing::warn!(uuid = %cdr.uuid, %error, raw = %cdr.raw, "CDR from CHANNEL_HANGUP_COMPLETE refused");
                }
            }
        }
    }
}
