//! Finished recordings handed from a node's active ESL worker to the recording worker beside
//! the node: the WAV is on the FreeSWITCH host's staging area, and the worker that heard its
//! `RECORD_STOP` may run on another host. The worker publishes the recording (the path as
//! FreeSWITCH names it, and the call's tags) to the work-queue stream `<PREFIX>_RECORDINGS`,
//! on the node's subject; the recording worker of that node's host (`recordings_node`) takes
//! it through a durable consumer and acknowledges it once its pipeline has it. A recording
//! nobody takes waits in the stream (7 days); a recording worker down meanwhile finds it when
//! it is back.

use super::Bus;
use super::subjects::token;
use async_nats::jetstream::consumer::AckPolicy;
use async_nats::jetstream::consumer::pull;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{Config, RetentionPolicy, StorageType, Stream};
use futures_util::StreamExt;
use recording::{Job, Tags};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A finished recording on a node's host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingStopped {
    /// The node whose host has the WAV.
    pub node: String,
    /// The WAV, as FreeSWITCH named it (`Record-File-Path`).
    pub path: String,
    /// The call's tags (tenant, parties, start).
    pub tags: Tags,
}

/// Where the recording worker of a host finds the WAVs FreeSWITCH names.
#[derive(Debug, Clone)]
pub struct Staging {
    /// Our staging directory.
    pub ours: PathBuf,
    /// The same directory as FreeSWITCH names it, when it differs.
    pub freeswitch: Option<PathBuf>,
}

impl Bus {
    fn recordings_config(&self) -> Config {
        Config {
            name: self.names.recordings_stream(),
            subjects: vec![self.names.recordings_all()],
            retention: RetentionPolicy::WorkQueue,
            max_age: Duration::from_secs(7 * 24 * 3600),
            duplicate_window: Duration::from_secs(120),
            storage: StorageType::File,
            ..Default::default()
        }
    }

    async fn recordings_stream(&self) -> Result<Stream, String> {
        self.jetstream
            .get_or_create_stream(self.recordings_config())
            .await
            .map_err(|e| e.to_string())
    }

    /// Hands a finished recording to its node's recording worker; `Err` when the bus did not
    /// take it (the recording worker's staging scan takes the WAV later, without its tags).
    pub async fn hand_recording(&self, recording: &RecordingStopped) -> Result<(), String> {
        self.recordings_stream().await?;
        let payload = serde_json::to_vec(recording).map_err(|e| e.to_string())?;
        // One recording is one message, however often its RECORD_STOP is handed over.
        let id = format!("{}:{}", recording.node, recording.path);
        let mut wait = Duration::from_millis(50);
        for attempt in 1..=5 {
            let publish = PublishMessage::build()
                .payload(payload.clone().into())
                .message_id(id.as_str());
            let sent = self
                .jetstream
                .send_publish(self.names.recording(&recording.node), publish)
                .await;
            let error = match sent {
                Ok(ack) => match ack.await {
                    Ok(_) => return Ok(()),
                    Err(error) => error.to_string(),
                },
                Err(error) => error.to_string(),
            };
            if attempt == 5 {
                return Err(error);
            }
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
        Err("not taken".into())
    }

    /// Takes `node`'s recordings from the bus forever (spawn it), giving each to `submit`,
    /// which answers whether its pipeline has it (else it is offered again later).
    pub async fn take_recordings<F, Fut>(self, node: String, staging: Staging, submit: F)
    where
        F: Fn(Job) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let mut wait = Duration::from_millis(200);
        loop {
            match self.take_some(&node, &staging, &submit).await {
                Ok(()) => wait = Duration::from_millis(200),
                Err(error) => {
                    tracing::warn!(%node, %error, "cannot take recordings from the bus; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    async fn take_some<F, Fut>(
        &self,
        node: &str,
        staging: &Staging,
        submit: &F,
    ) -> Result<(), String>
    where
        F: Fn(Job) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let stream = self.recordings_stream().await?;
        let name = format!("recordings-{}", token(node).replace('~', "_"));
        let consumer = stream
            .get_or_create_consumer(
                &name,
                pull::Config {
                    durable_name: Some(name.clone()),
                    filter_subject: self.names.recording(node),
                    ack_policy: AckPolicy::Explicit,
                    ack_wait: Duration::from_secs(60),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
        while let Some(message) = messages.next().await {
            let message = message.map_err(|e| e.to_string())?;
            let taken = match serde_json::from_slice::<RecordingStopped>(&message.payload) {
                Ok(recording) => match staged(&recording.path, staging) {
                    Some(wav) => {
                        submit(Job {
                            wav,
                            tags: recording.tags,
                        })
                        .await
                    }
                    None => {
                        tracing::warn!(path = %recording.path, "a handed recording is outside this host's staging directory; left to the staging scan");
                        true
                    }
                },
                Err(error) => {
                    tracing::warn!(%error, "unreadable recording on the bus; dropped");
                    true
                }
            };
            let acked = if taken {
                message.ack().await
            } else {
                message
                    .ack_with(async_nats::jetstream::AckKind::Nak(Some(
                        Duration::from_secs(5),
                    )))
                    .await
            };
            if let Err(error) = acked {
                tracing::warn!(%error, "cannot acknowledge a recording on the bus (it may come again: taken once)");
            }
        }
        Ok(())
    }
}

/// The WAV in our staging directory that FreeSWITCH named `path`.
fn staged(path: &str, staging: &Staging) -> Option<PathBuf> {
    let fs_dir = staging.freeswitch.as_deref().unwrap_or(&staging.ours);
    platform::policy::staged_path(Path::new(path), fs_dir, &staging.ours)
}
