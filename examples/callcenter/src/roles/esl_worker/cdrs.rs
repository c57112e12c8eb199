//! CDRs from `CHANNEL_HANGUP_COMPLETE` (for platforms without mod_json_cdr), written through
//! the ledger in batches; the ledger's (uuid, leg) key makes a call both sources report charge
//! once.

use super::{EslMetrics, Shared};
use backon::Retryable;
use billing::{Cdr, Ledger};
use esl::proto::Event;
use platform::retry::Retry;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Reads the CDR an event carries and queues it for the writer.
pub(super) async fn record(shared: &Shared, event: &Event, cdrs: &mpsc::Sender<Cdr>) {
    let headers: Vec<(String, String)> = event
        .headers()
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    let pairs = headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    match Cdr::from_pairs(pairs, &shared.cdr_options) {
        Ok(mut cdr) => {
            if cdr.tenant.is_none() {
                cdr.tenant = Some(shared.tenant_of_event(event));
            }
            // Waits for room: the writer retries the database until it is back.
            if let Err(lost) = cdrs.send(cdr).await {
                // Only when the writer is gone (shutting down): said, never silent.
                shared.metrics.cdrs_refused.inc();
                tracing::error!(uuid = %lost.0.uuid, raw = %lost.0.raw, "CDR from CHANNEL_HANGUP_COMPLETE not stored: the CDR writer has stopped");
            }
        }
        Err(error) => {
            shared.metrics.cdrs_refused.inc();
            tracing::error!(uuid = ?event.unique_id(), %error, "CHANNEL_HANGUP_COMPLETE is not a CDR");
        }
    }
}

/// Writes CDRs from events in batches, retrying the database until they are stored.
pub(super) async fn write(mut rx: mpsc::Receiver<Cdr>, ledger: Ledger, metrics: Arc<EslMetrics>) {
    let mut batch = Vec::new();
    let retry = Retry::new(Duration::from_millis(100), Duration::from_secs(6));
    while rx.recv_many(&mut batch, 500).await > 0 {
        let stored = (|| ledger.record_batch(&batch))
            .retry(retry.builder())
            .sleep(tokio::time::sleep)
            .notify(|error, delay| {
                tracing::warn!(%error, ?delay, cdrs = batch.len(), "cannot store CDRs; retrying");
            })
            .await;
        match stored {
            Ok(results) => {
                for (cdr, result) in batch.iter().zip(results) {
                    match result {
                        Ok(recorded) if !recorded.duplicate => {
                            metrics.cdrs.inc();
                        }
                        Ok(_) => {}
                        Err(error) => {
                            metrics.cdrs_refused.inc();
                            tracing::error!(uuid = %cdr.uuid, %error, raw = %cdr.raw, "CDR from CHANNEL_HANGUP_COMPLETE refused");
                        }
                    }
                }
            }
            // The policy retries forever: only reached if it is ever limited.
            Err(error) => {
                for cdr in &batch {
                    tracing::error!(uuid = %cdr.uuid, %error, raw = %cdr.raw, "CDR from CHANNEL_HANGUP_COMPLETE not stored");
                }
            }
        }
        batch.clear();
    }
}
