//! The ESL worker: one reconnecting inbound connection per FreeSWITCH node, keeping each
//! node's live calls ([`platform::calls`]) and publishing their changes ([`platform::events`]).
//!
//! From the events it also
//! - follows each node's call-center queues and agents from mod_callcenter's
//!   `callcenter::info` events ([`platform::contact_center`]), publishing each change to the
//!   tenant the queue or agent belongs to;
//! - records CDRs from `CHANNEL_HANGUP_COMPLETE` (when `cdrs` is on, for platforms without
//!   `mod_json_cdr`) through the ledger, which keys them by (uuid, leg): a call reported by both
//!   sources is charged once;
//! - hands `RECORD_STOP` recordings in the staging directory to the recording worker;
//! - extends the prepaid holds of calls our dialplan limited, slice by slice, moving their
//!   limit, and limits the trunk legs of prepaid calls that did not pass our dialplan
//!   ([`platform::policy`]).
//!
//! After every (re)connection it subscribes, then reads `show channels as json` before any
//! further event, so the state is re-synced and subscribers see only real transitions.
//!
//! Several workers may be configured for one node (one per daemon, on several hosts): with
//! the bus on PostgreSQL only the holder of the node's lease ([`platform::leases`]) connects
//! and acts;
//! the others stand by and take the node over once the lease expires. With the
//! event bus, the one that takes over starts from the state the last active worker published
//! (the bus's mirror), so its re-sync publishes only what changed since: no call starts twice.
//!
//! CDRs taken from events never hold the events back: while the database is down they wait in
//! an fsync'd journal ([`journal`]) replayed once it is back. One FreeSWITCH sent while the
//! worker was away is not seen; `mod_json_cdr` (with its err-log-dir) is the lossless source.

mod active;
mod call_center_config;
mod cdrs;
mod connection;
mod holds;
pub mod journal;
mod link;
mod placed;
mod prepaid;
mod recordings;
mod statistics;
mod trunks;

pub use call_center_config::NodeOutcome;
pub use link::Link;
pub use placed::Placed;
pub use trunks::GATEWAY_DROP;

use crate::roles::recording_worker::RecordingHandle;
use billing::{Cdr, CdrOptions, Ledger};
use esl::client::{Backoff, Client};
use esl::proto::EventFormat;
use platform::cache::Cache;
use platform::calls::{Call, ChannelHints, LiveCalls, TenantHints};
use platform::contact_center::{Agent, ContactCenter, Queue, tenant_of};
use platform::events::Hub;
use platform::variables::ChannelVariables;
use prometheus_client::metrics::counter::Counter;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::PathBuf;
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
    /// The channel variables (the tenant's name among them).
    pub variables: ChannelVariables,
    /// Limit prepaid calls that did not pass our dialplan. Default on.
    pub prepaid: bool,
    /// How long the worker tries to limit a prepaid trunk leg (the ledger failing) before it
    /// hangs the leg up. Default 10 s.
    pub prepaid_grace: Duration,
    /// Tenant of calls nothing else names. Default [`platform::identity::UNASSIGNED`]: no
    /// tenant's, so nobody's `/ws` sees them.
    pub default_tenant: String,
    /// Our staging directory, where RECORD_STOP files must be to be taken.
    pub staging: PathBuf,
    /// The same directory as FreeSWITCH names it, when it differs (another host's mount).
    pub freeswitch_staging: Option<PathBuf>,
    /// Reconnection policy.
    pub backoff: Backoff,
    /// The CDR journal (used when `cdrs` is on). Default `esl-cdr-journal.jsonl`.
    pub journal: PathBuf,
    /// Time allowed to connect and authenticate. Default 3 s.
    pub connect_timeout: Duration,
    /// The nodes' leases, when several workers may serve them (PostgreSQL): only the
    /// holder of a node's lease acts for it. Default none: this worker acts for every node.
    pub leases: Option<platform::leases::Leases>,
    /// The event bus's follower, when there is one: a node taken over starts from the state
    /// its last active worker published, and the node's whole state is published every
    /// `state_every` (and at every (re)connection and loss).
    pub follower: Option<crate::bus::Follower>,
    /// How often the node's whole state goes to the bus. Default 30 s.
    pub state_every: Duration,
}

impl EslWorkerConfig {
    /// Defaults for these nodes and staging directory.
    pub fn new(nodes: Vec<NodeConfig>, staging: PathBuf) -> Self {
        EslWorkerConfig {
            nodes,
            format: EventFormat::Plain,
            cdrs: false,
            variables: ChannelVariables::default(),
            prepaid: true,
            prepaid_grace: Duration::from_secs(10),
            default_tenant: platform::identity::UNASSIGNED.into(),
            staging,
            freeswitch_staging: None,
            // Waits of 0.5 to 1 s once a node is down for a while: a restarted FreeSWITCH is
            // followed again within about a second of accepting connections.
            backoff: Backoff {
                initial: Duration::from_millis(100),
                max: Duration::from_millis(500),
                max_attempts: None,
            },
            journal: PathBuf::from("esl-cdr-journal.jsonl"),
            connect_timeout: Duration::from_secs(3),
            leases: None,
            follower: None,
            state_every: Duration::from_secs(30),
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
    /// The command cannot be built from these values.
    #[error(transparent)]
    Command(#[from] esl::api::ApiError),
    /// FreeSWITCH refused the command.
    #[error("FreeSWITCH refused the {command}: {reason}")]
    Refused {
        /// Which command.
        command: &'static str,
        /// FreeSWITCH's reply.
        reason: String,
    },
    /// The connection failed.
    #[error(transparent)]
    Esl(#[from] esl::client::Error),
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct EslMetrics {
    /// Events received from all nodes.
    pub events: Counter,
    /// Call events published.
    pub published: Counter,
    /// (Re)connections.
    pub connections: Counter,
    /// CDRs recorded from events (first time).
    pub cdrs: Counter,
    /// CDRs from events the ledger refused.
    pub cdrs_refused: Counter,
    /// CDRs from events put in the journal (the ledger behind or down).
    pub cdrs_journaled: Counter,
    /// Recordings handed to the recording worker.
    pub recordings: Counter,
    /// Prepaid limits scheduled.
    pub limits: Counter,
    /// Callers' queue steps stored for the daily statistics.
    pub members_recorded: Counter,
    /// Callers' queue steps (and agents' statuses) not stored: the writer was too far behind
    /// (the database down), or the database refused them.
    pub members_dropped: Counter,
    /// Nodes this worker took the lease of (became their active worker).
    pub takeovers: Counter,
    /// Nodes whose lease this worker lost (it stopped acting for them).
    pub leases_lost: Counter,
}

impl EslMetrics {
    /// Adds the counters to `registry` (`callcenter_esl_events_total`, ...).
    pub fn register(&self, registry: &mut prometheus_client::registry::Registry) {
        crate::http::metrics::register_metrics(
            registry,
            [
                (
                    "esl_events",
                    "Events received from FreeSWITCH",
                    &self.events,
                ),
                ("esl_published", "Call events published", &self.published),
                ("esl_connections", "ESL (re)connections", &self.connections),
                ("esl_cdrs", "CDRs recorded from hangup events", &self.cdrs),
                (
                    "esl_cdrs_refused",
                    "Hangup events not recorded as CDRs",
                    &self.cdrs_refused,
                ),
                (
                    "esl_cdrs_journaled",
                    "CDRs from hangup events put in the journal while the database was behind or down",
                    &self.cdrs_journaled,
                ),
                (
                    "esl_recordings",
                    "Recordings handed to the recording worker",
                    &self.recordings,
                ),
                ("esl_limits", "Prepaid limits set on answer", &self.limits),
                (
                    "esl_queue_members_recorded",
                    "Callers' queue steps stored for the daily statistics",
                    &self.members_recorded,
                ),
                (
                    "esl_takeovers",
                    "Nodes this worker became the active worker of",
                    &self.takeovers,
                ),
                (
                    "esl_leases_lost",
                    "Nodes whose lease this worker lost",
                    &self.leases_lost,
                ),
                (
                    "esl_queue_members_dropped",
                    "Callers' queue steps not stored (the statistics writer too far behind)",
                    &self.members_dropped,
                ),
            ],
        );
    }
}

struct Node {
    config: NodeConfig,
    calls: Mutex<LiveCalls>,
    /// The node's queues and agents, from mod_callcenter's events.
    center: Mutex<ContactCenter>,
    /// The prepaid slices of the node's limited legs, by channel: aborted at hangup.
    slices: Mutex<HashMap<String, tokio::task::AbortHandle>>,
    client: RwLock<Option<Client>>,
    /// Subscribed and following its events now (not reconnecting).
    up: std::sync::atomic::AtomicBool,
    /// Held while call-center changes are sent to the node (the API's, a reconciliation's):
    /// each list goes whole, in the order the store took them.
    call_center_changes: tokio::sync::Mutex<()>,
    /// The term of the node's lease while this worker holds it.
    term: Mutex<Option<i64>>,
}

struct Shared {
    config: EslWorkerConfig,
    nodes: Vec<Node>,
    hub: Hub,
    tenants: Cache,
    ledger: Ledger,
    recordings: Option<RecordingHandle>,
    cdrs: Option<mpsc::Sender<Cdr>>,
    /// Callers' steps through queues and agents' statuses, to the contact-center writer.
    members: mpsc::Sender<statistics::Step>,
    /// Where CDRs wait while the ledger cannot take them.
    journal: Option<Arc<journal::Journal>>,
    /// How CDRs from events name their tenant (read once from the variables).
    cdr_options: CdrOptions,
    metrics: Arc<EslMetrics>,
    /// Calls placed by click-to-call, and what became of them.
    placed: moka::sync::Cache<(String, String), Placed>,
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
        tenants: Cache,
        hub: Hub,
        recordings: Option<RecordingHandle>,
    ) -> Self {
        let metrics = Arc::new(EslMetrics::default());
        // CDRs from events find their tenant by the platform's contexts and domains.
        let ledger = ledger.with_tenant_directory(Arc::new(tenants.clone()));
        let mut tasks = Vec::new();
        let journal = config
            .cdrs
            .then(|| match journal::Journal::open(&config.journal) {
                Ok(journal) => Some(Arc::new(journal)),
                Err(error) => {
                    tracing::error!(%error, path = %config.journal.display(), "cannot open the CDR journal; CDRs from events wait for the database instead");
                    None
                }
            })
            .flatten();
        let cdrs = config.cdrs.then(|| {
            let (tx, rx) = mpsc::channel(10_000);
            let writer = cdrs::Writer {
                ledger: ledger.clone(),
                journal: journal.clone(),
                options: config.variables.cdr_options(),
                metrics: metrics.clone(),
            };
            tasks.push(tokio::spawn(writer.run(rx)));
            tx
        });
        let (members, members_rx) = mpsc::channel(statistics::BACKLOG);
        tasks.push(tokio::spawn(statistics::write(
            members_rx,
            tenants.clone(),
            hub.clone(),
            metrics.clone(),
        )));
        let nodes = config
            .nodes
            .iter()
            .map(|node| Node {
                config: node.clone(),
                calls: Mutex::new(LiveCalls::new(node.name.clone(), config.variables.clone())),
                center: Mutex::default(),
                slices: Mutex::default(),
                client: RwLock::new(None),
                up: Default::default(),
                call_center_changes: Default::default(),
                term: Mutex::default(),
            })
            .collect();
        let shared = Arc::new(Shared {
            tenants,
            cdr_options: config.variables.cdr_options(),
            config,
            nodes,
            hub,
            ledger,
            recordings,
            cdrs,
            members,
            journal,
            metrics,
            placed: placed::outcomes(),
        });
        for index in 0..shared.nodes.len() {
            tasks.push(tokio::spawn(active::run(shared.clone(), index)));
        }
        if shared.config.prepaid && !shared.nodes.is_empty() {
            tasks.push(tokio::spawn(holds::expire_forever(shared.clone())));
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
        platform::calls::sort_oldest_first(&mut calls);
        calls
    }

    /// The tenant's queues and agents on every node, by name.
    pub fn contact_center(&self, tenant: &str) -> (Vec<Queue>, Vec<Agent>) {
        let mut queues = Vec::new();
        let mut agents = Vec::new();
        for node in &self.shared.nodes {
            let center = lock(&node.center);
            queues.extend(center.queues_of(tenant).cloned());
            agents.extend(center.agents_of(tenant).cloned());
        }
        // Every node loads every tenant's configuration: a name is listed once (the first
        // node's view of it).
        queues.sort_by(|a, b| a.name.cmp(&b.name));
        queues.dedup_by(|a, b| a.name == b.name);
        agents.sort_by(|a, b| a.name.cmp(&b.name));
        agents.dedup_by(|a, b| a.name == b.name);
        debug_assert!(queues.iter().all(|q| tenant_of(&q.name) == Some(tenant)));
        (queues, agents)
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

    /// How many nodes are connected now.
    pub fn connected_nodes(&self) -> usize {
        let nodes = self.shared.nodes.iter();
        nodes
            .filter(|node| node.up.load(std::sync::atomic::Ordering::Relaxed))
            .count()
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

    /// Stops every connection, and ends this worker's leases at once (a standby takes its
    /// nodes over without waiting for them to expire).
    pub async fn shutdown(self) {
        let tasks = std::mem::take(&mut *lock(&self.tasks));
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
        active::release_all(&self.shared).await;
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

impl Shared {
    /// Where node `index`'s events come from: the node, under this worker's lease term (0
    /// without leases).
    fn origin(&self, index: usize) -> platform::events::Origin<'_> {
        let node = &self.nodes[index];
        platform::events::Origin {
            node: &node.config.name,
            term: lock(&node.term).unwrap_or(0),
        }
    }

    /// The tenant of a channel, from what an event or the channel list says about it.
    fn resolve(&self, hints: TenantHints<'_>) -> String {
        self.tenants.resolve(hints, &self.config.default_tenant)
    }

    /// The tenant of the channel an event is about, from the event.
    fn tenant_of_event(&self, event: &esl::proto::Event) -> String {
        self.resolve(ChannelHints::of(event, &self.config.variables).hints())
    }

    /// The tenant of the call an event is about: the live call's, else from the event.
    fn tenant_of_call(&self, index: usize, event: &esl::proto::Event) -> String {
        let live = event.unique_id().and_then(|uuid| {
            lock(&self.nodes[index].calls)
                .get(&uuid)
                .map(|c| c.tenant.clone())
        });
        live.unwrap_or_else(|| self.tenant_of_event(event))
    }

    /// Keeps the tenants fresh without holding events back when it can: the first load, and a
    /// reload after a write in this process, are waited for (the next channel's tenant may be
    /// the one just written); reloads due to the TTL, and retries after a failure, run beside
    /// the events, which resolve from the last snapshot meanwhile (a slow or failing database
    /// must not stall the event stream).
    async fn refresh_tenants(&self) {
        if !self.tenants.tenants_reload_is_urgent() {
            self.tenants.refresh_tenants_in_background();
            return;
        }
        match self.tenants.refresh_tenants().await {
            Ok(()) | Err(platform::store::PlatformError::Unavailable) => {}
            Err(error) => tracing::warn!(%error, "cannot load tenants; using the default tenant"),
        }
    }
}
