//! `RECORD_STOP`: a recording in the staging directory is complete; the recording worker takes
//! it from here: the one in this process, or, with the event bus, the one beside the node (the
//! WAV is on the node's host, and this worker may run on another).

use super::Shared;
use esl::proto::Event;
use platform::policy::staged_path;
use recording::{Job, Tags};
use std::path::Path;

pub(super) fn stopped(shared: &Shared, index: usize, event: &Event) {
    let Some(path) = event.header("Record-File-Path") else {
        return;
    };
    if let Some(follower) = &shared.config.follower {
        let recording = crate::bus::recordings::RecordingStopped {
            node: shared.nodes[index].config.name.clone(),
            path: path.clone().into_owned(),
            tags: tags(shared, index, event),
        };
        // Beside the events, not before the next one: NATS being slow or down must not hold
        // the node's events (and prepaid limits) back.
        let (bus, metrics) = (follower.bus().clone(), shared.metrics.clone());
        tokio::spawn(async move {
            match bus.hand_recording(&recording).await {
                Ok(()) => {
                    metrics.recordings.inc();
                }
                // The staging scan of the node's host takes it later.
                Err(error) => {
                    tracing::warn!(path = %recording.path, %error, "recording not handed over on the bus")
                }
            }
        });
        return;
    }
    let Some(recordings) = &shared.recordings else {
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
    let job = Job {
        wav,
        tags: tags(shared, index, event),
    };
    // Beside the events too: a submission that moves the recording to the spill (a copy to
    // disk while the store is down) or waits for room in the encoders' queue must not hold
    // the node's events (and prepaid limits) back.
    let (recordings, metrics) = (recordings.clone(), shared.metrics.clone());
    let path = path.into_owned();
    tokio::spawn(async move {
        match recordings.record_stopped(job).await {
            Ok(()) => {
                metrics.recordings.inc();
            }
            // The staging scan takes it later.
            Err(error) => tracing::warn!(%path, %error, "recording not submitted"),
        }
    });
}

/// What the MP3 is tagged with: the call, its tenant and parties, its start.
fn tags(shared: &Shared, index: usize, event: &Event) -> Tags {
    let text = |name: &str| {
        event
            .header(name)
            .map(|v| v.into_owned())
            .unwrap_or_default()
    };
    Tags {
        call_uuid: text("Unique-ID"),
        tenant: shared.tenant_of_call(index, event),
        caller: text("Caller-Caller-ID-Number"),
        callee: text("Caller-Destination-Number"),
        start_epoch: event
            .header("Caller-Channel-Created-Time")
            .and_then(|t| t.parse::<i64>().ok())
            .filter(|&t| t > 0)
            .map(|us| us / 1_000_000),
    }
}
