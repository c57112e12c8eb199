//! Publishing to the stream, in order: the hub hands each event to a bounded queue (it never
//! waits on NATS), and one task publishes them, a window of acknowledgements in flight. A
//! failed publish is retried with the same message id (JetStream stores it once) until the
//! server takes it; when the queue is full (NATS down for long) new events are refused,
//! counted and logged: the nodes' next whole states put the mirrors right.

use super::Bus;
use super::subjects::Names;
use async_nats::jetstream::Context;
use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;
use platform::calls::CallEvent;
use platform::events::mirror::NodeState;
use platform::events::{Origin, Outbound};
use prometheus_client::metrics::counter::Counter;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

/// Events waiting to be published, at most.
const QUEUE: usize = 65_536;
/// Publishes awaiting their acknowledgement, at most.
const WINDOW: usize = 4096;

/// One event on the bus.
#[derive(Serialize)]
pub(super) struct EventMessage<'a> {
    pub node: Option<&'a str>,
    /// The lease term of the node's worker (0: no node, or no leases).
    pub term: i64,
    pub event: &'a CallEvent,
}

/// One node's state on the bus.
#[derive(Serialize)]
pub(super) struct StateMessage<'a> {
    pub node: &'a str,
    pub term: i64,
    pub state: &'a NodeState,
}

struct Outgoing {
    subject: String,
    payload: Bytes,
    id: String,
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct PublisherMetrics {
    /// Messages the stream took.
    pub published: Counter,
    /// Publishes retried (no acknowledgement, or a refusal).
    pub retried: Counter,
    /// Messages refused because the queue was full.
    pub dropped: Counter,
    /// Messages refused because they are larger than the server takes (its `max_payload`).
    pub too_large: Counter,
}

impl PublisherMetrics {
    /// Adds the counters to `registry` (`callcenter_bus_published_total`, ...).
    pub fn register(&self, registry: &mut prometheus_client::registry::Registry) {
        crate::http::metrics::register_metrics(
            registry,
            [
                (
                    "bus_published",
                    "Events and node states the bus's stream took",
                    &self.published,
                ),
                ("bus_retried", "Publishes to the bus retried", &self.retried),
                (
                    "bus_dropped",
                    "Events not published: the bus's queue was full",
                    &self.dropped,
                ),
                (
                    "bus_too_large",
                    "Events or node states not published: larger than the NATS server's max_payload",
                    &self.too_large,
                ),
            ],
        );
    }
}

/// The hub's [`Outbound`] to NATS.
pub struct Publisher {
    queue: mpsc::Sender<Outgoing>,
    /// To read the server's largest message.
    client: async_nats::Client,
    names: Names,
    /// This process's part of every message id.
    process: String,
    sent: AtomicU64,
    metrics: Arc<PublisherMetrics>,
}

impl Publisher {
    /// Starts the publishing task (inside a tokio runtime).
    pub(super) fn start(bus: Bus) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let metrics = Arc::new(PublisherMetrics::default());
        tokio::spawn(publish_forever(bus.clone(), receiver, metrics.clone()));
        Publisher {
            queue,
            client: bus.client.clone(),
            names: bus.names.clone(),
            process: uuid::Uuid::new_v4().simple().to_string(),
            sent: AtomicU64::new(0),
            metrics,
        }
    }

    /// The publisher's counters.
    pub fn metrics(&self) -> Arc<PublisherMetrics> {
        self.metrics.clone()
    }

    fn send(&self, subject: String, payload: Result<Vec<u8>, serde_json::Error>) {
        let payload = match payload {
            Ok(payload) => Bytes::from(payload),
            Err(error) => {
                tracing::error!(%error, %subject, "cannot encode an event for the bus");
                return;
            }
        };
        // The server closes the connection of a client that sends more than it takes: such a
        // message is refused here (a node state that big needs a larger `max_payload`).
        let largest = self.client.server_info().max_payload;
        if largest > 0 && payload.len() + subject.len() + 256 > largest {
            self.metrics.too_large.inc();
            tracing::error!(%subject, bytes = payload.len(), max_payload = largest, "a message larger than the NATS server takes was not published; raise its max_payload");
            return;
        }
        let n = self.sent.fetch_add(1, Ordering::Relaxed);
        let id = format!("{}-{n}", self.process);
        if self
            .queue
            .try_send(Outgoing {
                subject,
                payload,
                id,
            })
            .is_err()
        {
            self.metrics.dropped.inc();
            let dropped = self.metrics.dropped.get();
            // Logged at 1, 2, 4, 8...: a long outage does not flood the log.
            if dropped.is_power_of_two() {
                tracing::error!(dropped, "the bus is behind: events not published");
            }
        }
    }
}

impl Outbound for Publisher {
    fn event(&self, origin: Option<Origin<'_>>, event: &CallEvent) {
        let node = origin.map(|o| o.node);
        let term = origin.map_or(0, |o| o.term);
        let subject = self.names.event(event.tenant(), node);
        self.send(
            subject,
            serde_json::to_vec(&EventMessage { node, term, event }),
        );
    }

    fn node_state(&self, origin: Origin<'_>, state: &NodeState) {
        let subject = self.names.node_state(origin.node);
        let message = StateMessage {
            node: origin.node,
            term: origin.term,
            state,
        };
        self.send(subject, serde_json::to_vec(&message));
    }
}

async fn publish_forever(
    bus: Bus,
    mut queue: mpsc::Receiver<Outgoing>,
    metrics: Arc<PublisherMetrics>,
) {
    // The stream first (NATS may be down when the process starts: the events wait here).
    let mut wait = Duration::from_millis(100);
    while let Err(error) = bus.events_stream().await {
        tracing::warn!(%error, "the bus's stream is not reachable yet; events wait");
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(5));
    }
    let jetstream = bus.jetstream.clone();
    let mut in_flight: VecDeque<(Outgoing, PublishAckFuture)> = VecDeque::new();
    loop {
        let next = if in_flight.is_empty() {
            queue.recv().await
        } else {
            queue.try_recv().ok()
        };
        match next {
            Some(message) => {
                let ack = send_until_taken(&jetstream, &message, &metrics).await;
                in_flight.push_back((message, ack));
                if in_flight.len() < WINDOW {
                    continue;
                }
            }
            None if in_flight.is_empty() => return,
            None => {}
        }
        if let Some((message, ack)) = in_flight.pop_front() {
            acknowledged(&jetstream, message, ack, &metrics).await;
        }
    }
}

/// Waits for `ack`; publishes `message` again (same id) until the stream takes it.
async fn acknowledged(
    jetstream: &Context,
    message: Outgoing,
    mut ack: PublishAckFuture,
    metrics: &PublisherMetrics,
) {
    let mut wait = Duration::from_millis(50);
    loop {
        match ack.await {
            Ok(_) => {
                metrics.published.inc();
                return;
            }
            Err(error) => {
                metrics.retried.inc();
                tracing::warn!(%error, subject = %message.subject, "bus publish not acknowledged; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(2));
                ack = send_until_taken(jetstream, &message, metrics).await;
            }
        }
    }
}

async fn send_until_taken(
    jetstream: &Context,
    message: &Outgoing,
    metrics: &PublisherMetrics,
) -> PublishAckFuture {
    let mut wait = Duration::from_millis(50);
    loop {
        let publish = PublishMessage::build()
            .payload(message.payload.clone())
            .message_id(message.id.as_str());
        match jetstream
            .send_publish(message.subject.clone(), publish)
            .await
        {
            Ok(ack) => return ack,
            Err(error) => {
                metrics.retried.inc();
                tracing::warn!(%error, subject = %message.subject, "cannot publish to the bus; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(2));
            }
        }
    }
}
