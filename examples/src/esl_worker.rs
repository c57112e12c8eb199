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

use crate::calls::{CHANNEL_EVENTS, Call, CallEvent, LiveCalls, TenantHints, parse_channels};
use crate::events::Hub;
use crate::platform::PlatformStore;
use crate::recording_worker::RecordingHandle;
use billing::{Authorization, Cdr, CdrOptions, Ledger};
use esl::client::{Backoff, Client, EventStream, Incoming, Options};
use esl::proto::{Event, EventFormat};
use recording::{Job, Tags};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
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
    resync(shared, index, client).await;
    let mut out = Vec::new();
    while let Some(item) = events.recv().await {
        match item {
            Incoming::Event(event) => {
                shared.metrics.events.fetch_add(1, Ordering::Relaxed);
                handle(shared, index, client, &event, &mut out).await;
            }
            Incoming::Reconnected { attempts } => {
                tracing::info!(node = %node.config.name, attempts, "reconnected to FreeSWITCH");
                shared.metrics.connections.fetch_add(1, Ordering::Relaxed);
                resync(shared, index, client).await;
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

/// Reads the node's channels before any further event is taken, and publishes the differences.
async fn resync(shared: &Shared, index: usize, client: &Client) {
    let node = &shared.nodes[index];
    shared.tenants.refresh_if_stale().await;
    let rows = match client.api("show channels as json").await {
        Ok(body) => match parse_channels(&body) {
            Ok(rows) => rows,
            Err(error) => {
                tracing::warn!(node = %node.config.name, %error, "cannot re-sync");
                return;
            }
        },
        Err(error) => {
            tracing::warn!(node = %node.config.name, %error, "cannot re-sync");
            return;
        }
    };
    let mut out = Vec::new();
    lock(&node.calls).resync(&rows, |hints| shared.tenants.resolve(hints), &mut out);
    publish(shared, &out);
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

async fn record_cdr(shared: &Shared, event: &Event, cdrs: &mpsc::Sender<Cdr>) {
    let headers: Vec<(String, String)> = event
        .headers()
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    let pairs = headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    match Cdr::from_pairs(pairs, &shared.config.cdr_options) {
        Ok(mut cdr) => {
            if cdr.tenant.is_none() {
                cdr.tenant = Some(shared.tenants.resolve(hints(&hint_values(event))));
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

/// The owned values behind a channel's tenant hints.
struct HintValues {
    variable: Option<String>,
    domain: Option<String>,
    context: Option<String>,
}

fn hint_values(event: &Event) -> HintValues {
    let owned = |v: Option<std::borrow::Cow<'_, str>>| v.map(|v| v.into_owned());
    HintValues {
        variable: owned(event.variable("tenant_id")),
        domain: owned(event.variable("domain_name")).or_else(|| {
            owned(event.variable("presence_id"))
                .and_then(|p| p.split_once('@').map(|(_, d)| d.to_owned()))
        }),
        context: owned(event.header("Caller-Context")),
    }
}

fn hints(values: &HintValues) -> TenantHints<'_> {
    TenantHints {
        variable: values.variable.as_deref().filter(|v| !v.is_empty()),
        domain: values.domain.as_deref().filter(|v| !v.is_empty()),
        context: values.context.as_deref().filter(|v| !v.is_empty()),
    }
}

/// The tenant of the call an event is about: the live call's, else from the event.
fn tenant_of_event(shared: &Shared, index: usize, event: &Event) -> String {
    let live = event.unique_id().and_then(|uuid| {
        lock(&shared.nodes[index].calls)
            .get(&uuid)
            .map(|c| c.tenant.clone())
    });
    live.unwrap_or_else(|| shared.tenants.resolve(hints(&hint_values(event))))
}

fn limit_prepaid(shared: &Shared, index: usize, client: &Client, event: &Event) {
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

async fn recording_stopped(shared: &Shared, index: usize, event: &Event) {
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
async fn write_cdrs(mut rx: mpsc::Receiver<Cdr>, ledger: Ledger, metrics: Arc<EslMetrics>) {
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

/// Tenants by domain and context, reloaded when the platform tables change (in this process:
/// the store's generation) or after a minute (changes made elsewhere).
struct TenantDirectory {
    store: PlatformStore,
    default_tenant: String,
    snapshot: RwLock<Snapshot>,
    refreshing: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Snapshot {
    generation: u64,
    loaded: Option<Instant>,
    by_domain: HashMap<String, String>,
    by_context: HashMap<String, String>,
    known: HashSet<String>,
    prepaid: HashSet<String>,
}

const TENANTS_TTL: Duration = Duration::from_secs(60);

impl TenantDirectory {
    fn new(store: PlatformStore, default_tenant: String) -> Self {
        TenantDirectory {
            store,
            default_tenant,
            snapshot: RwLock::default(),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    fn is_stale(&self) -> bool {
        let snapshot = self.snapshot.read().unwrap_or_else(|p| p.into_inner());
        snapshot.generation != self.store.generation()
            || snapshot.loaded.is_none_or(|at| at.elapsed() > TENANTS_TTL)
    }

    async fn refresh_if_stale(&self) {
        if !self.is_stale() {
            return;
        }
        let _one = self.refreshing.lock().await;
        if !self.is_stale() {
            return;
        }
        let generation = self.store.generation();
        match self.store.tenants().await {
            Ok(tenants) => {
                let mut next = Snapshot {
                    generation,
                    loaded: Some(Instant::now()),
                    ..Snapshot::default()
                };
                for tenant in tenants {
                    next.by_domain
                        .insert(tenant.domain.clone(), tenant.tenant.clone());
                    next.by_context
                        .insert(tenant.context.clone(), tenant.tenant.clone());
                    if tenant.prepaid {
                        next.prepaid.insert(tenant.tenant.clone());
                    }
                    next.known.insert(tenant.tenant);
                }
                *self.snapshot.write().unwrap_or_else(|p| p.into_inner()) = next;
            }
            Err(error) => {
                // Keep what we have; try again in a while rather than on every event.
                tracing::warn!(%error, "cannot load tenants");
                let mut snapshot = self.snapshot.write().unwrap_or_else(|p| p.into_inner());
                snapshot.generation = generation;
                snapshot.loaded = Some(Instant::now());
            }
        }
    }

    fn resolve(&self, hints: TenantHints<'_>) -> String {
        let snapshot = self.snapshot.read().unwrap_or_else(|p| p.into_inner());
        hints
            .variable
            .map(str::to_owned)
            .or_else(|| {
                hints
                    .domain
                    .and_then(|d| snapshot.by_domain.get(d).cloned())
            })
            .or_else(|| {
                hints
                    .context
                    .and_then(|c| snapshot.by_context.get(c).cloned())
            })
            .unwrap_or_else(|| self.default_tenant.clone())
    }

    fn is_prepaid(&self, tenant: &str) -> bool {
        let snapshot = self.snapshot.read().unwrap_or_else(|p| p.into_inner());
        snapshot.prepaid.contains(tenant)
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
