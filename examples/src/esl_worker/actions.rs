//! What the worker does besides following calls: CDRs from hangup events, recordings handed
//! to the recording worker, prepaid limits on answer.

use super::{EslMetrics, Shared, lock};
use crate::calls::ChannelHints;
use billing::{Authorization, Cdr, Ledger};
use esl::client::Client;
use esl::proto::Event;
use recording::{Job, Tags};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::mpsc;

pub(super) async fn record_cdr(shared: &Shared, event: &Event, cdrs: &mpsc::Sender<Cdr>) {
    let headers: Vec<(String, String)> = event
        .headers()
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    let pairs = headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    match Cdr::from_pairs(pairs, &shared.config.cdr_options) {
        Ok(mut cdr) => {
            if cdr.tenant.is_none() {
                cdr.tenant = Some(shared.tenants.resolve(ChannelHints::of(event).hints()));
            }
            // Waits for room: the writer retries the database until it is back.
            let _ = cdrs.send(cdr).await;
        }
        Err(error) => {
            shared.metrics.cdrs_refused.fetch_add(1, Ordering::Relaxed);
            tracing::error!(uuid = ?event.unique_id(), %error, "CHANNEL_HANGUP_COMPLETE is not a CDR");
        }
    }
}

/// The tenant of the call an event is about: the live call's, else from the event.
fn tenant_of_event(shared: &Shared, index: usize, event: &Event) -> String {
    let live = event.unique_id().and_then(|uuid| {
        lock(&shared.nodes[index].calls)
            .get(&uuid)
            .map(|c| c.tenant.clone())
    });
    live.unwrap_or_else(|| shared.tenants.resolve(ChannelHints::of(event).hints()))
}

pub(super) fn limit_prepaid(shared: &Shared, index: usize, client: &Client, event: &Event) {
    if event.variable("callcenter_limit").is_some() {
        return; // our dialplan limited it already
    }
    let Some(uuid) = event.unique_id().map(|u| u.into_owned()) else {
        return;
    };
    let tenant = tenant_of_event(shared, index, event);
    if !shared.tenants.is_prepaid(&tenant) {
        return;
    }
    let partners: Vec<String> = [
        "Other-Leg-Unique-ID",
        "variable_other_loopback_leg_uuid",
        "variable_bridge_uuid",
        "variable_originator",
        "variable_signal_bond",
    ]
    .iter()
    .filter_map(|h| event.header(h).map(|v| v.into_owned()))
    .filter(|v| !v.is_empty())
    .collect();
    {
        // One limit per call: the first leg answered carries it, its partner legs not.
        let mut limited = lock(&shared.nodes[index].limited);
        if limited.contains(&uuid) || partners.iter().any(|p| limited.contains(p)) {
            return;
        }
        limited.insert(uuid.clone());
    }
    let destination = event
        .header("Caller-Destination-Number")
        .map(|d| d.into_owned())
        .unwrap_or_default();
    let (ledger, client, metrics) = (
        shared.ledger.clone(),
        client.clone(),
        shared.metrics.clone(),
    );
    tokio::spawn(async move {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let seconds = match ledger.authorize(&tenant, &destination, now).await {
            Ok(Ok(Authorization::Seconds(seconds))) => seconds,
            Ok(_) => return,
            Err(error) => {
                tracing::error!(%uuid, %tenant, %error, "cannot authorize a prepaid call");
                return;
            }
        };
        // A connection lost meanwhile comes back (the client reconnects): try again for a while.
        for attempt in 1..=20u32 {
            let sent = if seconds == 0 {
                client.uuid_kill(&uuid, Some("OUTGOING_CALL_BARRED")).await
            } else {
                let after = Duration::from_secs(seconds);
                client
                    .sched_hangup(&uuid, after, Some("ALLOTTED_TIMEOUT"))
                    .await
            };
            match sent {
                Ok(_) => {
                    metrics.limits.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(%uuid, %tenant, seconds, "prepaid limit set on answer");
                    return;
                }
                Err(esl::client::Error::ApiFailed(reason)) => {
                    tracing::info!(%uuid, %reason, "prepaid limit refused (the call is gone?)");
                    return;
                }
                Err(error) => {
                    tracing::warn!(%uuid, %tenant, %error, attempt, "cannot limit a prepaid call yet");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
        tracing::error!(%uuid, %tenant, "prepaid limit not set: FreeSWITCH unreachable");
    });
}

pub(super) async fn recording_stopped(shared: &Shared, index: usize, event: &Event) {
    let Some(recordings) = &shared.recordings else {
        return;
    };
    let Some(path) = event.header("Record-File-Path") else {
        return;
    };
    let fs_dir = shared
        .config
        .freeswitch_staging
        .as_deref()
        .unwrap_or(&shared.config.staging);
    let Some(wav) = staged_path(Path::new(path.as_ref()), fs_dir, &shared.config.staging) else {
        tracing::debug!(%path, "recording outside the staging directory, left alone");
        return;
    };
    let tenant = tenant_of_event(shared, index, event);
    let text = |name: &str| {
        event
            .header(name)
            .map(|v| v.into_owned())
            .unwrap_or_default()
    };
    let job = Job {
        wav,
        tags: Tags {
            call_uuid: text("Unique-ID"),
            tenant,
            caller: text("Caller-Caller-ID-Number"),
            callee: text("Caller-Destination-Number"),
            start_epoch: event
                .header("Caller-Channel-Created-Time")
                .and_then(|t| t.parse::<i64>().ok())
                .filter(|&t| t > 0)
                .map(|us| us / 1_000_000),
        },
    };
    match recordings.record_stopped(job).await {
        Ok(()) => {
            shared.metrics.recordings.fetch_add(1, Ordering::Relaxed);
        }
        // The staging scan takes it later.
        Err(error) => tracing::warn!(%path, %error, "recording not submitted"),
    }
}

/// Where a file FreeSWITCH wrote under `fs_dir` is in our `staging`; `None` outside it.
pub fn staged_path(path: &Path, fs_dir: &Path, staging: &Path) -> Option<PathBuf> {
    let relative = path.strip_prefix(fs_dir).ok()?;
    let safe = relative.components().count() > 0
        && relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
    safe.then(|| staging.join(relative))
}

/// Writes CDRs from events in batches, retrying the database until they are stored.
pub(super) async fn write_cdrs(
    mut rx: mpsc::Receiver<Cdr>,
    ledger: Ledger,
    metrics: Arc<EslMetrics>,
) {
    let mut batch = Vec::new();
    while rx.recv_many(&mut batch, 500).await > 0 {
        let mut attempt = 0u32;
        loop {
            match ledger.record_batch(&batch).await {
                Ok(results) => {
                    for (cdr, result) in batch.iter().zip(results) {
                        match result {
                            Ok(recorded) if !recorded.duplicate => {
                                metrics.cdrs.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(_) => {}
                            Err(error) => {
                                metrics.cdrs_refused.fetch_add(1, Ordering::Relaxed);
                                tracing::error!(uuid = %cdr.uuid, %error, raw = %cdr.raw, "CDR from CHANNEL_HANGUP_COMPLETE refused");
                            }
                        }
                    }
                    break;
                }
                Err(error) => {
                    attempt += 1;
                    let delay = Duration::from_millis(100 << attempt.min(6));
                    tracing::warn!(%error, ?delay, cdrs = batch.len(), "cannot store CDRs; retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
        batch.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recordings_are_taken_from_the_staging_directory_only() {
        let (fs, ours) = (Path::new("/srv/rec"), Path::new("/dev/shm/rec"));
        assert_eq!(
            staged_path(Path::new("/srv/rec/t/a.wav"), fs, ours),
            Some(PathBuf::from("/dev/shm/rec/t/a.wav"))
        );
        assert_eq!(
            staged_path(Path::new("/srv/rec/../etc/x.wav"), fs, ours),
            None
        );
        assert_eq!(staged_path(Path::new("/tmp/a.wav"), fs, ours), None);
        assert_eq!(staged_path(Path::new("/srv/rec"), fs, ours), None);
    }
}
