//! The call-event hub: the ESL and recording workers publish, WebSocket clients subscribe to
//! their tenant's events only.
//!
//! Each event is serialized once, as the JSON text every subscriber receives, numbered per
//! tenant (`seq`) so a client can tell a gap. A subscriber that falls more than the hub's
//! capacity behind loses the oldest events and is told how many (see [`Received::Lagged`]).
//!
//! Across processes (several API daemons, ESL workers on other hosts) a hub is given an
//! [`Outbound`] bus: what it publishes goes there instead, and what the bus brings back is
//! [`Hub::deliver`]ed to this process's subscribers, numbered here. [`mirror`] keeps the nodes'
//! live state from the same events.
//!
//! ```
//! use platform::calls::CallEvent;
//! use platform::events::{Hub, Received};
//!
//! # tokio_test_block(async {
//! let hub = Hub::new(1024);
//! let mut demo = hub.subscribe("demo");
//! hub.publish(&CallEvent::RecordingReady {
//!     tenant: "demo".into(), call_uuid: "u".into(), key: "demo/u.mp3".into(), size: 1, duration_ms: 2,
//! });
//! let Received::Event(event) = demo.recv().await else { panic!() };
//! assert!(event.json.starts_with(br#"{"seq":1,"type":"recording_ready""#));
//! # });
//! # fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```

pub mod mirror;

use crate::calls::CallEvent;
use bytes::Bytes;
use mirror::NodeState;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::broadcast;

/// One published event, as its subscribers receive it.
#[derive(Debug, Clone)]
pub struct Published {
    /// Position in the tenant's sequence, from 1.
    pub seq: u64,
    /// The JSON text (UTF-8): `{"seq":N,"type":...}`, shared by every subscriber without
    /// copies.
    pub json: Bytes,
}

struct Channel {
    sender: broadcast::Sender<Arc<Published>>,
    seq: Mutex<u64>,
}

/// The FreeSWITCH node an event comes from, and the term of the lease under which its active
/// worker published it (0 without leases): what a lower term says is from a worker that has
/// since been replaced, and is ignored ([`mirror::Mirror`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin<'a> {
    /// The node's name.
    pub node: &'a str,
    /// The lease's term.
    pub term: i64,
}

/// Where a hub sends what it publishes when several processes share the events (a message
/// bus): the bus brings every event back to every process's hub ([`Hub::deliver`]).
pub trait Outbound: Send + Sync + 'static {
    /// Sends one event; `origin` names the FreeSWITCH node it comes from (`None`: no node's,
    /// e.g. a balance or a recording).
    fn event(&self, origin: Option<Origin<'_>>, event: &CallEvent);
    /// Sends a node's whole live state, as its active ESL worker holds it.
    fn node_state(&self, origin: Origin<'_>, state: &NodeState);
}

/// Fans call events out to subscribers, per tenant. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    tenants: Arc<RwLock<HashMap<String, Arc<Channel>>>>,
    capacity: usize,
    outbound: Option<Arc<dyn Outbound>>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

/// What a subscriber receives.
#[derive(Debug)]
pub enum Received {
    /// The next event.
    Event(Arc<Published>),
    /// This many events were lost because the subscriber fell behind.
    Lagged(u64),
    /// The hub is gone.
    Closed,
}

/// One tenant's subscription.
#[derive(Debug)]
pub struct Subscription {
    receiver: broadcast::Receiver<Arc<Published>>,
}

impl Subscription {
    /// Waits for the next event.
    pub async fn recv(&mut self) -> Received {
        match self.receiver.recv().await {
            Ok(event) => Received::Event(event),
            Err(broadcast::error::RecvError::Lagged(n)) => Received::Lagged(n),
            Err(broadcast::error::RecvError::Closed) => Received::Closed,
        }
    }

    /// The next event if one is waiting, without waiting.
    pub fn try_recv(&mut self) -> Option<Received> {
        match self.receiver.try_recv() {
            Ok(event) => Some(Received::Event(event)),
            Err(broadcast::error::TryRecvError::Lagged(n)) => Some(Received::Lagged(n)),
            Err(broadcast::error::TryRecvError::Closed) => Some(Received::Closed),
            Err(broadcast::error::TryRecvError::Empty) => None,
        }
    }
}

#[derive(serde::Serialize)]
struct Envelope<'a> {
    seq: u64,
    #[serde(flatten)]
    event: &'a CallEvent,
}

impl Hub {
    /// A hub keeping up to `capacity` events per tenant for slow subscribers.
    pub fn new(capacity: usize) -> Self {
        Hub {
            tenants: Arc::default(),
            capacity: capacity.max(1),
            outbound: None,
        }
    }

    /// A hub whose events go to `outbound` (and come back through [`Hub::deliver`]).
    pub fn with_outbound(capacity: usize, outbound: Arc<dyn Outbound>) -> Self {
        Hub {
            outbound: Some(outbound),
            ..Hub::new(capacity)
        }
    }

    /// Whether events leave the process (a bus) rather than go straight to subscribers.
    pub fn is_shared(&self) -> bool {
        self.outbound.is_some()
    }

    fn channel(&self, tenant: &str) -> Arc<Channel> {
        if let Some(channel) = self
            .tenants
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(tenant)
        {
            return channel.clone();
        }
        self.tenants
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(tenant.to_owned())
            .or_insert_with(|| {
                Arc::new(Channel {
                    sender: broadcast::channel(self.capacity).0,
                    seq: Mutex::new(0),
                })
            })
            .clone()
    }

    /// Publishes to the event's tenant; returns how many subscribers of this process it
    /// reached (none when the event goes to the bus: it comes back through [`Hub::deliver`]).
    pub fn publish(&self, event: &CallEvent) -> usize {
        self.publish_from(None, event)
    }

    /// Publishes an event of a FreeSWITCH node (see [`Hub::publish`]).
    pub fn publish_from(&self, origin: Option<Origin<'_>>, event: &CallEvent) -> usize {
        match &self.outbound {
            Some(outbound) => {
                outbound.event(origin, event);
                0
            }
            None => self.deliver(event),
        }
    }

    /// Sends a node's live state to the bus (nothing without one: this process's ESL worker
    /// is then the only view of its nodes).
    pub fn publish_node_state(&self, origin: Origin<'_>, state: &NodeState) {
        if let Some(outbound) = &self.outbound {
            outbound.node_state(origin, state);
        }
    }

    /// Hands an event to this process's subscribers of its tenant, numbered in the tenant's
    /// sequence here; how many it reached.
    pub fn deliver(&self, event: &CallEvent) -> usize {
        let channel = self.channel(event.tenant());
        // Numbering and sending under one lock keeps each tenant's sequence in order.
        let mut seq = channel.seq.lock().unwrap_or_else(|p| p.into_inner());
        *seq += 1;
        let json = serde_json::to_string(&Envelope { seq: *seq, event }).unwrap_or_else(|e| {
            format!(
                "{{\"seq\":{},\"type\":\"error\",\"error\":{:?}}}",
                *seq,
                e.to_string()
            )
        });
        channel
            .sender
            .send(Arc::new(Published {
                seq: *seq,
                json: json.into(),
            }))
            .unwrap_or(0)
    }

    /// How many subscribers a tenant's events reach now (none: nothing worth publishing).
    /// With a bus, subscribers of other processes are unknown here: `usize::MAX`.
    pub fn subscribers(&self, tenant: &str) -> usize {
        if self.outbound.is_some() {
            return usize::MAX;
        }
        self.tenants
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(tenant)
            .map_or(0, |channel| channel.sender.receiver_count())
    }

    /// Subscribes to one tenant's events, from now on.
    pub fn subscribe(&self, tenant: &str) -> Subscription {
        Subscription {
            receiver: self.channel(tenant).sender.subscribe(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calls::Call;

    fn started(tenant: &str, uuid: &str) -> CallEvent {
        CallEvent::CallStarted {
            call: Call {
                uuid: uuid.into(),
                node: "fs1".into(),
                tenant: tenant.into(),
                direction: "inbound".into(),
                caller: "1000".into(),
                callee: "2000".into(),
                created_us: 1,
                answered_us: None,
            },
        }
    }

    #[tokio::test]
    async fn tenants_see_their_own_events_in_order() {
        let hub = Hub::new(8);
        let mut a = hub.subscribe("a");
        let mut b = hub.subscribe("b");
        hub.publish(&started("a", "1"));
        hub.publish(&started("b", "2"));
        hub.publish(&started("a", "3"));
        for expected in [(1, "1"), (2, "3")] {
            let Received::Event(event) = a.recv().await else {
                panic!()
            };
            assert_eq!(event.seq, expected.0);
            let text = std::str::from_utf8(&event.json).unwrap();
            assert!(text.contains(&format!("\"uuid\":\"{}\"", expected.1)));
        }
        let Received::Event(event) = b.recv().await else {
            panic!()
        };
        assert_eq!(event.seq, 1);
        assert!(a.try_recv().is_none() && b.try_recv().is_none());
    }

    #[tokio::test]
    async fn a_slow_subscriber_is_told_what_it_lost() {
        let hub = Hub::new(4);
        let mut slow = hub.subscribe("a");
        for i in 0..10 {
            hub.publish(&started("a", &i.to_string()));
        }
        assert!(matches!(slow.recv().await, Received::Lagged(6)));
        let Received::Event(event) = slow.recv().await else {
            panic!()
        };
        assert_eq!(event.seq, 7);
    }
}
