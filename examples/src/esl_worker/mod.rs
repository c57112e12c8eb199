//! The ESL worker: one reconnecting inbound connection per FreeSWITCH node, keeping each
//! node's live calls ([`crate::calls`]) and publishing their changes ([`crate::events`]).
//!
//! From the events it also
//! - records CDRs from `CHANNEL_HANGUP_COMPLETE` (when `cdrs` is on, for platforms without
//!   `mod_json_cdr`) through the ledger, which keys them by (uuid, leg): a call reported by both
//!   sources is charged once;
//! - hands `RECORD_STOP` recordings in the staging directory to the recording worker;
//! - limits prepaid calls that did not pass our dialplan (no `callcenter_limit` variable) with
//!   `sched_hangup` on answer.
//!
//! After every (re)connection it subscribes, then reads `show channels as json` before any
//! further event, so the state is re-synced and subscribers see only real transitions.
//!
//! CDRs taken from events are as durable as the events: one arriving while the database is down
//! is retried until stored, but one FreeSWITCH sent while the worker was away is not seen;
//! `mod_json_cdr` (with its err-log-dir) is the lossless source.

mod actions;
mod tenants;

pub use actions::staged_path;

use actions::{limit_prepaid, record_cdr, recording_stopped, write_cdrs};
use tenants::TenantDirectory;

use crate::calls::{CHANNEL_EVENTS, Call, CallEvent, LiveCalls, parse_channels};
use crate::events::Hub;
use crate::platform::PlatformStore;
use crate::recording_worker::RecordingHandle;
use billing::{Cdr, CdrOptions, Ledger};
use esl::client::{Backoff, Client, EventStream, Incoming, Options};
use esl::proto::{Event, EventFormat};
use serde::Deserialize;
use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// One FreeSWITCH node to connect to.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Its name in call state and the API.
    pub name: String,
    /// `host:port` of its event socket.
    pub address: String,
    /// The event socket password.
    pub password: String,
}

impl std::fmt::Debug for NodeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeConfig")
            .field("name", &self.name)
            .field("address", &self.address)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// How the worker runs.
#[derive(Debug, Clone)]
pub struct EslWorkerConfig {
    /// The nodes.
    pub nodes: Vec<NodeConfig>,
    /// Event format to subscribe in. Default plain.
    pub format: EventFormat,
    /// Record CDRs from `CHANNEL_HANGUP_COMPLETE`. Default off (`mod_json_cdr` posts them).
    pub cdrs: bool,
    /// How CDRs name their tenant.
    pub cdr_options: CdrOptions,
    /// Limit prepaid calls that did not pass our dialplan. Default on.
    pub prepaid: bool,
    /// Tenant of calls nothing else names.
    pub default_tenant: String,
    /// Our staging directory, where RECORD_STOP files must be to be taken.
    pub staging: PathBuf,
    /// The same directory as FreeSWITCH names it, when it differs (another host's mount).
    pub freeswitch_staging: Option<PathBuf>,
    /// Reconnection policy.
    pub backoff: Backoff,
}

impl EslWorkerConfig {
    /// Defaults for these nodes and staging directory.
    pub fn new(nodes: Vec<NodeConfig>, staging: PathBuf) -> Self {
        EslWorkerConfig {
            nodes,
            format: EventFormat::Plain,
            cdrs: false,
            cdr_options: CdrOptions::default(),
            prepaid: true,
            default_tenant: "unassigned".into(),
            staging,
            freeswitch_staging: None,
            backoff: Backoff {
                initial: Duration::from_millis(200),
                max: Duration::from_secs(5),
                max_attempts: None,
            },
        }
    }
}

/// Why an API action on a node failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// No node of that name, or none configured.
    #[error("no node {0:?}")]
    UnknownNode(String),
    /// The node is not connected now.
    #[error("node {0:?} is not connected")]
    NotConnected(String),
    /// FreeSWITCH refused or the connection failed.
    #[error(transparent)]
    Esl(#[from] esl::client::Error),
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct EslMetrics {
    /// Events received from all nodes.
    pub events: AtomicU64,
    /// Call events published.
    pub published: AtomicU64,
    /// (Re)connections.
    pub connections: AtomicU64,
    /// CDRs recorded from events (first time).
    pub cdrs: AtomicU64,
    /// CDRs from events the ledger refused.
    pub cdrs_refused: AtomicU64,
    /// Recordings handed to the recording worker.
    pub recordings: AtomicU64,
    /// Prepaid limits scheduled.
    pub limits: AtomicU64,
}

struct Node {
    config: NodeConfig,
    calls: Mutex<LiveCalls>,
    /// Channels already limited, and their partner legs.
    limited: Mutex<HashSet<String>>,
    client: RwLock<Option<Client>>,
}

struct Shared {
    config: EslWorkerConfig,
    nodes: Vec<Node>,
    hub: Hub,
    tenants: TenantDirectory,
    ledger: Ledger,
    recordings: Option<RecordingHandle>,
    cdrs: Option<mpsc::Sender<Cdr>>,
    metrics: Arc<EslMetrics>,
}

/// A running worker. Cheap to clone; [`EslWorker::shutdown`] stops it.
#[derive(Clone)]
pub struct EslWorker {
    shared: Arc<Shared>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl EslWorker {
    /// Starts a connection task per node (and the CDR writer when `cdrs` is on). Call inside a
    /// tokio runtime. Nodes that are down are retried with the backoff, forever.
    pub fn start(
        config: EslWorkerConfig,
        ledger: Ledger,
        store: PlatformStore,
        hub: Hub,
        recordings: Option<RecordingHandle>,
    ) -> Self {
        let metrics = Arc::new(EslMetrics::default());
        let mut tasks = Vec::new();
        let cdrs = config.cdrs.then(|| {
            let (tx, rx) = mpsc::channel(10_000);
            tasks.push(tokio::spawn(write_cdrs(
                rx,
                ledger.clone(),
                metrics.clone(),
            )));
            tx
        });
        let nodes = config
            .nodes
            .iter()
            .map(|node| Node {
                config: node.clone(),
                calls: Mutex::new(LiveCalls::new(node.name.clone())),
                limited: Mutex::default(),
                client: RwLock::new(None),
            })
            .collect();
        let shared = Arc::new(Shared {
            tenants: TenantDirectory::new(store, config.default_tenant.clone()),
            config,
            nodes,
            hub,
            ledger,
            recordings,
            cdrs,
            metrics,
        });
        for index in 0..shared.nodes.len() {
            tasks.push(tokio::spawn(run_node(shared.clone(), index)));
        }
        EslWorker {
            shared,
            tasks: Arc::new(Mutex::new(tasks)),
        }
    }

    /// The tenant's calls in progress on every node, oldest first.
    pub fn active_calls(&self, tenant: &str) -> Vec<Call> {
        let mut calls: Vec<Call> = self
            .shared
            .nodes
            .iter()
            .flat_map(|node| {
                lock(&node.calls)
                    .calls()
                    .filter(|call| call.tenant == tenant)
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .collect();
        calls.sort_by(|a, b| (a.created_us, &a.uuid).cmp(&(b.created_us, &b.uuid)));
        calls
    }

    /// One call in progress, if the tenant has it.
    pub fn call(&self, tenant: &str, uuid: &str) -> Option<Call> {
        self.shared.nodes.iter().find_map(|node| {
            lock(&node.calls)
                .get(uuid)
                .filter(|call| call.tenant == tenant)
                .cloned()
        })
    }

    /// The names of the nodes.
    pub fn nodes(&self) -> Vec<String> {
        let nodes = self.shared.nodes.iter();
        nodes.map(|node| node.config.name.clone()).collect()
    }

    /// The connection to a node (the first one when `node` is `None`).
    pub fn client(&self, node: Option<&str>) -> Result<Client, NodeError> {
        let found = match node {
            Some(name) => self.shared.nodes.iter().find(|n| n.config.name == name),
            None => self.shared.nodes.first(),
        };
        let found = found.ok_or_else(|| NodeError::UnknownNode(node.unwrap_or("").to_owned()))?;
        found
            .client
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| NodeError::NotConnected(found.config.name.clone()))
    }

    /// The worker's counters.
    pub fn metrics(&self) -> Arc<EslMetrics> {
        self.shared.metrics.clone()
    }

    /// Stops every connection.
    pub async fn shutdown(self) {
        let tasks = std::mem::take(&mut *lock(&self.tasks));
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
        for node in &self.shared.nodes {
            node.client
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .take();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// The events the worker subscribes to.
/// (CHANNEL_HANGUP_COMPLETE, among the channel events, also carries the CDR.)
fn subscriptions() -> Vec<&'static str> {
    let mut events = CHANNEL_EVENTS.to_vec();
    events.push("RECORD_STOP");
    events
}

async fn run_node(shared: Arc<Shared>, index: usize) {
    let node = &shared.nodes[index];
    let name = node.config.name.clone();
    let mut attempt = 0u32;
    loop {
        let options = Options::new(node.config.address.clone(), node.config.password.clone())
            .events(65_536, esl::client::Overflow::Backpressure)
            .reconnect(shared.config.backoff);
        let (client, events) = match options.connect().await {
            Ok(connected) => connected,
            Err(error) => {
                attempt += 1;
                let delay = shared.config.backoff.delay(attempt);
                tracing::warn!(node = %name, %error, ?delay, "cannot connect to FreeSWITCH");
                tokio::time::sleep(delay).await;
                continue;
            }
        };
        attempt = 0;
        tracing::info!(node = %name, address = %node.config.address, "connected to FreeSWITCH");
        *node.client.write().unwrap_or_else(|p| p.into_inner()) = Some(client.clone());
        follow(&shared, index, &client, events).await;
        node.client
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        tracing::warn!(node = %name, "connection to FreeSWITCH ended; connecting again");
        tokio::time::sleep(shared.config.backoff.delay(1)).await;
    }
}

/// Subscribes, re-syncs, then follows the events until the connection ends for good.
async fn follow(shared: &Shared, index: usize, client: &Client, mut events: EventStream) {
    let node = &shared.nodes[index];
    let subscribed = client
        .subscribe(shared.config.format, &subscriptions())
        .await;
    if let Err(error) = subscribed {
        tracing::warn!(node = %node.config.name, %error, "subscription failed");
        return;
    }
    shared.metrics.connections.fetch_add(1, Ordering::Relaxed);
    // Items that arrived while a re-sync waited for its reply: handled right after it.
    let mut held = resync(shared, index, client, &mut events).await;
    let mut out = Vec::new();
    loop {
        let item = match held.pop_front() {
            Some(item) => item,
            None => match events.recv().await {
                Some(item) => item,
                None => return,
            },
        };
        match item {
            Incoming::Event(event) => {
                shared.metrics.events.fetch_add(1, Ordering::Relaxed);
                handle(shared, index, client, &event, &mut out).await;
            }
            Incoming::Reconnected { attempts } => {
                tracing::info!(node = %node.config.name, attempts, "reconnected to FreeSWITCH");
                shared.metrics.connections.fetch_add(1, Ordering::Relaxed);
                let mut more = resync(shared, index, client, &mut events).await;
                more.extend(held.drain(..));
                held = more;
            }
            Incoming::Disconnected(error) => {
                tracing::warn!(node = %node.config.name, %error, "FreeSWITCH connection lost");
            }
            Incoming::Unparsed { error, .. } => {
                tracing::warn!(node = %node.config.name, %error, "unparsable event");
            }
            Incoming::Log(_) | Incoming::DisconnectNotice(_) => {}
        }
    }
}

/// Reads the node's channels and publishes the differences. Events keep being received
/// meanwhile (the reply comes after them on the socket, and a full stream would hold it back);
/// they are returned, to be applied after the re-sync: applying again what the list already
/// shows changes nothing.
async fn resync(
    shared: &Shared,
    index: usize,
    client: &Client,
    events: &mut EventStream,
) -> VecDeque<Incoming> {
    let node = &shared.nodes[index];
    shared.tenants.refresh_if_stale().await;
    let mut held = VecDeque::new();
    let reply = client.api("show channels as json");
    tokio::pin!(reply);
    let reply = loop {
        tokio::select! {
            reply = &mut reply => break reply,
            item = events.recv() => match item {
                Some(item) => held.push_back(item),
                None => return held,
            },
        }
    };
    let rows = match reply.map(|body| parse_channels(&body)) {
        Ok(Ok(rows)) => rows,
        Ok(Err(error)) => {
            tracing::warn!(node = %node.config.name, %error, "cannot re-sync");
            return held;
        }
        Err(error) => {
            tracing::warn!(node = %node.config.name, %error, "cannot re-sync");
            return held;
        }
    };
    let mut out = Vec::new();
    lock(&node.calls).resync(&rows, |hints| shared.tenants.resolve(hints), &mut out);
    publish(shared, &out);
    held
}

fn publish(shared: &Shared, events: &[CallEvent]) {
    for event in events {
        shared.hub.publish(event);
    }
    let count = events.len() as u64;
    shared.metrics.published.fetch_add(count, Ordering::Relaxed);
}

async fn handle(
    shared: &Shared,
    index: usize,
    client: &Client,
    event: &Event,
    out: &mut Vec<CallEvent>,
) {
    let node = &shared.nodes[index];
    shared.tenants.refresh_if_stale().await;
    out.clear();
    lock(&node.calls).apply(event, |hints| shared.tenants.resolve(hints), out);
    publish(shared, out);
    let Some(name) = event.header_raw("Event-Name") else {
        return;
    };
    match name {
        b"CHANNEL_HANGUP_COMPLETE" => {
            if let Some(uuid) = event.unique_id() {
                lock(&node.limited).remove(uuid.as_ref());
            }
            if let Some(cdrs) = &shared.cdrs {
                record_cdr(shared, event, cdrs).await;
            }
        }
        b"CHANNEL_ANSWER" if shared.config.prepaid => limit_prepaid(shared, index, client, event),
        b"RECORD_STOP" => recording_stopped(shared, index, event).await,
        _ => {}
    }
}
