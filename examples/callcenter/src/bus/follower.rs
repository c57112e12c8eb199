//! Following the stream: every message, in the stream's order, updates the [`Mirror`] and
//! (once the process has caught up with what was there when it started) reaches this
//! process's `/ws` clients through the hub.
//!
//! A process that starts reads from the oldest of the nodes' last whole states, so its mirror
//! is complete once it has caught up; a lost consumer resumes after the last message read.

use super::subjects::Names;
use super::{Bus, SharedMirror};
use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::pull::OrderedConfig;
use futures_util::StreamExt;
use platform::calls::CallEvent;
use platform::events::mirror::NodeState;
use platform::events::{Hub, Origin};
use serde::Deserialize;
use std::time::Duration;
use tokio::sync::watch;

#[derive(Deserialize)]
struct EventIn {
    node: Option<String>,
    #[serde(default)]
    term: i64,
    event: CallEvent,
}

#[derive(Deserialize)]
struct StateIn {
    node: String,
    #[serde(default)]
    term: i64,
    state: NodeState,
}

/// A running follower: its mirror, and how far it has read.
#[derive(Clone, Debug)]
pub struct Follower {
    bus: Bus,
    mirror: SharedMirror,
    read: watch::Receiver<u64>,
}

impl Follower {
    /// Follows `bus` forever, delivering to `hub` (spawns the task).
    pub fn start(bus: &Bus, hub: Hub) -> Self {
        let mirror = SharedMirror::default();
        let (read_tx, read) = watch::channel(0);
        tokio::spawn(follow_forever(bus.clone(), hub, mirror.clone(), read_tx));
        Follower {
            bus: bus.clone(),
            mirror,
            read,
        }
    }

    /// The bus followed.
    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// Every node's live state as published.
    pub fn mirror(&self) -> &SharedMirror {
        &self.mirror
    }

    /// Waits until everything in the stream now has been read (at most `limit`); whether it
    /// was. A standby calls it before taking its node's state from the mirror.
    pub async fn caught_up(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        let info = async {
            let stream = self.bus.events_stream().await?;
            stream.get_info().await.map_err(|e| e.to_string())
        };
        let Ok(Ok(info)) = tokio::time::timeout_at(deadline, info).await else {
            return false;
        };
        let last = info.state.last_sequence;
        let mut read = self.read.clone();
        tokio::time::timeout_at(deadline, read.wait_for(|&seq| seq >= last))
            .await
            .is_ok_and(|waited| waited.is_ok())
    }
}

async fn follow_forever(bus: Bus, hub: Hub, mirror: SharedMirror, read: watch::Sender<u64>) {
    // Messages up to this one were in the stream before the process started: history for the
    // mirror, not news for `/ws` clients.
    let mut history_until = None;
    let mut resume = None;
    let mut wait = Duration::from_millis(100);
    loop {
        let before = resume;
        match follow(&bus, &hub, &mirror, &read, &mut history_until, &mut resume).await {
            Ok(()) => tracing::warn!("the bus's stream ended; following it again"),
            Err(error) => tracing::warn!(%error, "cannot follow the bus; retrying"),
        }
        // Waits grow only while nothing is read.
        if resume != before {
            wait = Duration::from_millis(100);
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(5));
    }
}

async fn follow(
    bus: &Bus,
    hub: &Hub,
    mirror: &SharedMirror,
    read: &watch::Sender<u64>,
    history_until: &mut Option<u64>,
    resume: &mut Option<u64>,
) -> Result<(), String> {
    let stream = bus.events_stream().await?;
    let last = stream
        .get_info()
        .await
        .map_err(|e| e.to_string())?
        .state
        .last_sequence;
    if resume.is_some_and(|next| last + 1 < next) {
        // The stream was made again (lost, or deleted by hand): everything in it now is
        // history, and what follows is news.
        tracing::warn!("the bus's stream is new; following it from its start");
        *resume = None;
        *history_until = Some(last);
    }
    let history = *history_until.get_or_insert(last);
    let deliver_policy = match *resume {
        Some(start_sequence) => DeliverPolicy::ByStartSequence { start_sequence },
        None => match oldest_node_state(bus, &stream).await? {
            Some(start_sequence) => DeliverPolicy::ByStartSequence { start_sequence },
            None => DeliverPolicy::All,
        },
    };
    let consumer = stream
        .create_consumer(OrderedConfig {
            filter_subject: bus.names.all(),
            deliver_policy,
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
    while let Some(message) = messages.next().await {
        let message = message.map_err(|e| e.to_string())?;
        let sequence = message.info().map_err(|e| e.to_string())?.stream_sequence;
        apply(
            &bus.names,
            mirror,
            hub,
            &message.subject,
            &message.payload,
            sequence > history,
        );
        *resume = Some(sequence + 1);
        read.send_replace(sequence);
    }
    Ok(())
}

/// The stream sequence of the oldest of the nodes' last states (where a new follower starts),
/// if any node published one.
async fn oldest_node_state(
    bus: &Bus,
    stream: &async_nats::jetstream::stream::Stream,
) -> Result<Option<u64>, String> {
    let mut subjects = stream
        .info_with_subjects(bus.names.node_states())
        .await
        .map_err(|e| e.to_string())?;
    let mut oldest: Option<u64> = None;
    while let Some(subject) = subjects.next().await {
        let (subject, _) = subject.map_err(|e| e.to_string())?;
        match stream.get_last_raw_message_by_subject(&subject).await {
            Ok(message) => {
                oldest = Some(oldest.map_or(message.sequence, |o| o.min(message.sequence)))
            }
            Err(error) => tracing::warn!(%error, %subject, "cannot read a node's last state"),
        }
    }
    Ok(oldest)
}

/// One message: a node's state replaces the mirror's; an event updates it and, when `live`,
/// reaches the hub's subscribers (unless a replaced worker sent it).
fn apply(
    names: &Names,
    mirror: &SharedMirror,
    hub: &Hub,
    subject: &str,
    payload: &[u8],
    live: bool,
) {
    if names.is_node_state(subject) {
        match serde_json::from_slice::<StateIn>(payload) {
            Ok(StateIn { node, term, state }) => {
                let origin = Origin { node: &node, term };
                if !write(mirror).restore(origin, state) {
                    tracing::info!(%node, term, "a replaced worker's node state ignored");
                }
            }
            Err(error) => tracing::warn!(%error, %subject, "unreadable node state on the bus"),
        }
        return;
    }
    match serde_json::from_slice::<EventIn>(payload) {
        Ok(EventIn { node, term, event }) => {
            let origin = node.as_deref().map(|node| Origin { node, term });
            let current = write(mirror).apply(origin, &event);
            if live && current {
                hub.deliver(&event);
            }
        }
        Err(error) => tracing::warn!(%error, %subject, "unreadable event on the bus"),
    }
}

fn write(
    mirror: &SharedMirror,
) -> std::sync::RwLockWriteGuard<'_, platform::events::mirror::Mirror> {
    mirror.write().unwrap_or_else(|p| p.into_inner())
}
