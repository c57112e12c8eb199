//! Composition: the roles a process serves, built over one database, one cache and one event
//! hub, behind one router with `/healthz` and `/metrics`.

use super::credentials::{FreeswitchRoute, credentials_for};
use super::health::{self, Health};
use super::{Daemon, DaemonConfig, DaemonError, Roles};
use crate::api::{self, ApiState, Tokens, Users};
use crate::http::metrics::{HttpMetrics, track};
use crate::roles::cdr_gateway::{self, GatewayConfig, GatewayMetrics};
use crate::roles::esl_worker::{EslWorker, EslWorkerConfig};
use crate::roles::recording_health::{RecordingGauges, Thresholds};
use crate::roles::recording_worker::{RecordingWorker, RecordingWorkerConfig};
use crate::roles::xml_curl::{self, XmlCurlConfig};
use axum::Router;
use billing::Ledger;
use platform::balance::BalanceFeed;
use platform::cache::Cache;
use platform::events::Hub;
use platform::store::PlatformStore;
use platform::variables::ChannelVariables;
use prometheus_client::registry::Registry;
use recording::Target;
use std::sync::Arc;
use std::time::Duration;

/// How long what the roles read stays cached (writes in this process invalidate it at once).
const CACHE_TTL: Duration = Duration::from_secs(60);

/// Events kept per tenant for subscribers that fall behind.
const HUB_CAPACITY: usize = 4096;

/// Most database connections of the xml_curl lookups on FreeSWITCH's thread (prepaid holds of
/// one tenant are written a batch at a time, so a few suffice).
const LOOKUP_CONNECTIONS: u32 = 4;

/// Opens the database (migrating it) and builds every route.
pub async fn build(config: &DaemonConfig) -> Result<Daemon, DaemonError> {
    build_roles(config, Roles::ALL).await
}

/// Opens the database (migrating it) and builds the routes of `roles`, with `/healthz` and
/// `/metrics`.
pub async fn build_roles(config: &DaemonConfig, roles: Roles) -> Result<Daemon, DaemonError> {
    super::credentials::create_private_database(&config.database)?;
    let ledger = Ledger::connect(&config.database).await?;
    if let Err(error) = std::fs::create_dir_all(&config.recordings_dir) {
        tracing::warn!(dir = %config.recordings_dir.display(), %error, "cannot create the recordings directory");
    }
    let mut store = PlatformStore::open(ledger.pool().clone(), ledger.backend()).await?;
    if let Some(reserved) = &config.reserved_extensions {
        store = store.with_reserved_extensions(reserved.clone());
    }
    let cache = Cache::new(store.clone(), CACHE_TTL);
    // Several daemons share one PostgreSQL: each hears of the others' writes at once.
    // Every role may rate or charge (CDRs, prepaid holds): all follow the plans.
    if ledger.backend() == billing::Backend::Postgres {
        tokio::spawn(platform::changes::follow(
            store.clone(),
            config.database.clone(),
        ));
        tokio::spawn(reload_plans_on_change(ledger.clone(), store.clone()));
    }
    // Every role records CDRs through this ledger, so all share one tenant rule.
    let ledger = ledger
        .with_tenant_directory(Arc::new(cache.clone()))
        .with_default_tenant(config.cdr.default_tenant.clone())
        .with_hold_commit(config.prepaid_hold_commit);
    if let Some(spill) = &config.recordings_spill_dir
        && roles.recordings
        && std::path::absolute(spill).ok() == std::path::absolute(&config.recordings_dir).ok()
    {
        return Err(DaemonError::Config(
            "recordings_spill_dir must be another directory than recordings_dir (on disk, not the staging tmpfs)".into(),
        ));
    }
    if config.nats.url.is_some() && roles.recordings && config.recordings_node.is_none() {
        return Err(DaemonError::Config(
            "with [nats], the recording worker takes the recordings of the node it is beside: set recordings_node (CALLCENTER_RECORDINGS_NODE)".into(),
        ));
    }
    if let Some(node) = &config.recordings_node
        && !config.esl.nodes.is_empty()
        && !config.esl.nodes.iter().any(|n| &n.name == node)
    {
        return Err(DaemonError::Config(format!(
            "recordings_node {node:?} is none of the configured nodes ([[esl.nodes]] names)"
        )));
    }
    // With a bus, every process's events go to NATS and come back to every API process; a
    // process that serves the API or may take a node over follows it.
    let (hub, follower, publisher_metrics, bus) = match &config.nats.url {
        Some(_) => {
            let bus = crate::bus::Bus::connect(&config.nats).await?;
            let publisher = bus.outbound();
            let metrics = publisher.metrics();
            let hub = Hub::with_outbound(HUB_CAPACITY, publisher);
            let follower =
                (roles.api || roles.esl).then(|| crate::bus::Follower::start(&bus, hub.clone()));
            (hub, follower, Some(metrics), Some(bus))
        }
        None => (Hub::new(HUB_CAPACITY), None, None, None),
    };
    // Several daemons sharing nodes (PostgreSQL and the bus): one acts for each node, the
    // others stand by. A daemon alone acts for its nodes whatever the database does (its
    // prepaid hang-ups must not wait for it).
    let leases = (ledger.backend() == billing::Backend::Postgres && bus.is_some()).then(|| {
        platform::leases::Leases::new(
            ledger.pool().clone(),
            lease_holder(),
            Duration::from_millis(config.esl.lease_ttl_ms.clamp(300, 60_000)),
        )
    });
    // Every change to a tenant's money, by any role, reaches its `/ws` subscribers.
    let feed = BalanceFeed::start(ledger.clone(), hub.clone());
    let ledger = ledger.with_balance_listener(feed);
    let variables = config.variables();
    let recording_worker = roles
        .recordings
        .then(|| start_recording_worker(config, &ledger, &hub))
        .transpose()?;
    if let (Some(bus), Some(worker), Some(node)) =
        (&bus, &recording_worker, &config.recordings_node)
    {
        let handle = worker.handle();
        let staging = crate::bus::recordings::Staging {
            ours: config.recordings_dir.clone(),
            freeswitch: config.esl.freeswitch_recordings_dir.clone(),
        };
        tokio::spawn(
            bus.clone()
                .take_recordings(node.clone(), staging, move |job| {
                    let handle = handle.clone();
                    async move { taken(handle.record_stopped(job).await) }
                }),
        );
    }
    let esl_worker = (roles.esl && !config.esl.nodes.is_empty()).then(|| {
        start_esl_worker(
            config,
            &ledger,
            &cache,
            &hub,
            &variables,
            recording_worker.as_ref(),
            Coordination {
                leases: leases.clone(),
                follower: follower.clone(),
            },
        )
    });
    let http_metrics = Arc::new(HttpMetrics::default());
    let gateway_metrics = Arc::new(GatewayMetrics::default());
    let mut app = Router::new();
    let mut freeswitch = Router::new();
    if roles.api {
        let state = api_state(
            config,
            &ledger,
            &cache,
            &hub,
            &variables,
            esl_worker.as_ref(),
            follower.clone(),
        )?;
        app = app.merge(api::router(state));
    }
    if roles.cdr {
        freeswitch = freeswitch.merge(cdr_gateway_router(
            config,
            &ledger,
            &variables,
            gateway_metrics.clone(),
        )?);
    }
    if roles.xml_curl {
        // On their own thread (freeswitch_listen), the lookups' prepaid holds use connections
        // of that thread's runtime: not sockets the busy main runtime must first notice.
        let lookups_ledger = match config.freeswitch_listen {
            Some(_) if ledger.backend() == billing::Backend::Postgres => {
                ledger.with_pool_of_its_own(&config.database, LOOKUP_CONNECTIONS)?
            }
            _ => ledger.clone(),
        };
        freeswitch = freeswitch.merge(xml_curl_router(
            config,
            &lookups_ledger,
            &cache,
            &variables,
        )?);
    }
    let track_http = axum::middleware::from_fn_with_state(http_metrics.clone(), track);
    let deadline = axum::middleware::from_fn_with_state(
        Duration::from_millis(config.request_timeout_ms.max(1)),
        crate::http::listener::deadline,
    );
    let freeswitch_app = match config.freeswitch_listen {
        Some(_) => Some(
            freeswitch
                .layer(deadline.clone())
                .layer(track_http.clone())
                .layer(axum::middleware::from_fn(crate::http::request_id::scope)),
        ),
        None => {
            app = app.merge(freeswitch);
            None
        }
    };
    let mut registry = Registry::default();
    http_metrics.register(&mut registry);
    if roles.cdr {
        gateway_metrics.register(&mut registry);
    }
    if let Some(worker) = &esl_worker {
        worker.metrics().register(&mut registry);
    }
    if let Some(metrics) = &publisher_metrics {
        metrics.register(&mut registry);
    }
    let recordings = recording_worker.as_ref().map(|worker| {
        let gauges = Arc::new(RecordingGauges::default());
        gauges.register(&mut registry);
        health::Recordings {
            status: worker.status(),
            gauges,
            thresholds: Thresholds {
                waiting: Duration::from_secs(config.recordings_degraded_after_s.max(1)),
                ..Thresholds::default()
            },
        }
    });
    let health = Health {
        ledger: ledger.clone(),
        registry: Arc::new(registry),
        recordings,
    };
    // The request id is outermost: every answer has it, a timed-out one included.
    let app = app
        .layer(track_http)
        .merge(health::router(health))
        .layer(deadline)
        .layer(axum::middleware::from_fn(crate::http::request_id::scope));
    Ok(Daemon {
        ledger,
        store,
        cache,
        app,
        freeswitch_app,
        recording_worker,
        esl_worker,
        hub,
    })
}

/// Where recordings are stored: the S3 bucket when one is configured, else the local store.
fn recordings_target(config: &DaemonConfig) -> Target {
    match &config.recordings_s3 {
        Some(s3) => Target::S3(s3.clone()),
        None => Target::Directory(config.recordings_store.clone()),
    }
}

fn cdr_gateway_router(
    config: &DaemonConfig,
    ledger: &Ledger,
    variables: &ChannelVariables,
    metrics: Arc<GatewayMetrics>,
) -> Result<Router, DaemonError> {
    let gateway = GatewayConfig {
        batch_max: config.cdr.batch_max.max(1),
        batch_wait: Duration::from_millis(config.cdr.batch_wait_ms),
        cdr: variables.cdr_options(),
        ..GatewayConfig::new(credentials_for(config, FreeswitchRoute::Cdr)?)
    };
    Ok(cdr_gateway::router(ledger.clone(), gateway, metrics))
}

fn xml_curl_router(
    config: &DaemonConfig,
    ledger: &Ledger,
    cache: &Cache,
    variables: &ChannelVariables,
) -> Result<Router, DaemonError> {
    let xml_curl = XmlCurlConfig {
        // FreeSWITCH resolves a relative path against its own directory, not ours.
        recordings_dir: std::path::absolute(&config.recordings_dir)
            .unwrap_or_else(|_| config.recordings_dir.clone()),
        variables: variables.clone(),
        prompts: Some(crate::prompts::Prompts::new(
            recordings_target(config)
                .destination()
                .map_err(|e| DaemonError::Config(format!("recordings store: {e}")))?,
            // FreeSWITCH reads a local store's files itself: an absolute path.
            config.recordings_s3.is_none().then(|| {
                std::path::absolute(&config.recordings_store)
                    .unwrap_or_else(|_| config.recordings_store.clone())
            }),
        )),
        ..XmlCurlConfig::new(credentials_for(config, FreeswitchRoute::XmlCurl)?)
    };
    Ok(xml_curl::router(cache.clone(), ledger.clone(), xml_curl))
}

fn start_recording_worker(
    config: &DaemonConfig,
    ledger: &Ledger,
    hub: &Hub,
) -> Result<RecordingWorker, DaemonError> {
    let mut worker =
        RecordingWorkerConfig::new(config.recordings_dir.clone(), recordings_target(config));
    worker.scan_every = Duration::from_millis(config.recordings_scan_ms.max(10));
    // Never `cdr.default_tenant`: a recording nothing attributes is nobody's (the operator's),
    // or that tenant's agents would be sent every tenant's unattributed recordings.
    worker.default_tenant = platform::identity::UNASSIGNED.into();
    worker.events = Some(hub.clone());
    worker.spill = config
        .recordings_spill_dir
        .clone()
        .map(|dir| recording::SpillConfig {
            dir,
            high_water: config.recordings_high_water_mb.saturating_mul(1 << 20),
        });
    RecordingWorker::start(worker, ledger.clone())
        .map_err(|e| DaemonError::Config(format!("recording worker: {e}")))
}

/// Whether a recording handed over the bus is done with: in the pipeline, or without a WAV
/// (stored already); else it is offered again.
fn taken(submitted: Result<(), recording::SubmitError>) -> bool {
    match submitted {
        Ok(()) | Err(recording::SubmitError::NoWav { .. }) => true,
        Err(error) => {
            tracing::warn!(%error, "a recording handed over the bus is not in the pipeline yet; it comes again");
            false
        }
    }
}

/// How this process's ESL worker shares its nodes with other processes.
struct Coordination {
    leases: Option<platform::leases::Leases>,
    follower: Option<crate::bus::Follower>,
}

/// This process's name on the leases it holds: host, process id and a random part (a
/// restarted process is a new holder).
fn lease_holder() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}/{}/{}", std::process::id(), &random[..8])
}

fn start_esl_worker(
    config: &DaemonConfig,
    ledger: &Ledger,
    cache: &Cache,
    hub: &Hub,
    variables: &ChannelVariables,
    recordings: Option<&RecordingWorker>,
    coordination: Coordination,
) -> EslWorker {
    let mut worker = EslWorkerConfig::new(config.esl.nodes.clone(), config.recordings_dir.clone());
    worker.cdrs = config.esl.cdrs;
    worker.journal.clone_from(&config.esl.cdr_journal);
    worker.prepaid = config.esl.prepaid;
    worker.prepaid_grace = Duration::from_millis(config.esl.prepaid_grace_ms.clamp(1, 3_600_000));
    worker.variables = variables.clone();
    // As for recordings: an unattributed call is published to no tenant.
    worker.default_tenant = platform::identity::UNASSIGNED.into();
    worker
        .freeswitch_staging
        .clone_from(&config.esl.freeswitch_recordings_dir);
    // Jitter makes a wait up to twice its step: the longest wait is `reconnect_max_ms`.
    worker.backoff.max = Duration::from_millis((config.esl.reconnect_max_ms / 2).clamp(50, 60_000));
    worker.backoff.initial = worker.backoff.initial.min(worker.backoff.max);
    worker.leases = coordination.leases;
    worker.follower = coordination.follower;
    worker.state_every = Duration::from_secs(config.nats.state_every_s.max(1));
    EslWorker::start(
        worker,
        ledger.clone(),
        cache.clone(),
        hub.clone(),
        recordings.map(RecordingWorker::handle),
    )
}

/// Reloads the ledger's rate plans and accounts' plans whenever another process changes them
/// (a plan saved, an account moved to another plan), so every daemon rates alike.
async fn reload_plans_on_change(ledger: Ledger, store: PlatformStore) {
    let mut changes = store.subscribe_changes();
    loop {
        let reload = match changes.recv().await {
            Ok(table) => matches!(
                &*table,
                "rate_plans" | "rate_plan_versions" | "accounts" | platform::changes::EVERYTHING
            ),
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => true,
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        };
        if reload {
            // A failed reload keeps the plans it had; the next change (or a restart) tries again.
            if let Err(error) = ledger.reload().await {
                tracing::error!(%error, "cannot reload the rate plans another process changed");
            }
        }
    }
}

/// The API's users, whose cached credentials versions are dropped when another process
/// changes a user (a password, a role, a removal): its tokens are refused here at once.
fn users_following_changes(cache: &Cache) -> Users {
    let users = Users::new(cache.store().pool().clone());
    let mut changes = cache.store().subscribe_changes();
    let forget = users.clone();
    tokio::spawn(async move {
        loop {
            match changes.recv().await {
                Ok(table) => {
                    if matches!(
                        &*table,
                        "api_users" | "operators" | platform::changes::EVERYTHING
                    ) {
                        forget.forget_all();
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => forget.forget_all(),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    users
}

fn api_state(
    config: &DaemonConfig,
    ledger: &Ledger,
    cache: &Cache,
    hub: &Hub,
    variables: &ChannelVariables,
    esl: Option<&EslWorker>,
    live: Option<crate::bus::Follower>,
) -> Result<ApiState, DaemonError> {
    let secret = match &config.api.jwt_secret {
        Some(secret) if secret.len() >= 16 => secret.clone().into_bytes(),
        Some(_) => {
            return Err(DaemonError::Config(
                "api.jwt_secret must have at least 16 characters".into(),
            ));
        }
        None => {
            tracing::warn!("no api.jwt_secret: tokens will not survive a restart");
            format!("{}{}", uuid::Uuid::new_v4(), uuid::Uuid::new_v4()).into_bytes()
        }
    };
    Ok(ApiState {
        tokens: Tokens::new(&secret, Duration::from_secs(config.api.token_ttl_s.max(1))),
        users: users_following_changes(cache),
        ledger: ledger.clone(),
        cache: cache.clone(),
        variables: variables.clone(),
        esl: esl.cloned(),
        live,
        hub: hub.clone(),
        recordings: Some(
            recordings_target(config)
                .destination()
                .map_err(|e| DaemonError::Config(format!("recordings store: {e}")))?,
        ),
        download_ttl: Duration::from_secs(config.api.download_ttl_s.max(1)),
        media_sources: Default::default(),
        limits: api_limits(config)?,
    })
}

fn api_limits(config: &DaemonConfig) -> Result<api::Limits, DaemonError> {
    let top_up_max: billing::Decimal = config.api.top_up_max.parse().map_err(|_| {
        DaemonError::Config(format!(
            "api.top_up_max {:?} is not a decimal amount",
            config.api.top_up_max
        ))
    })?;
    if top_up_max <= billing::Decimal::ZERO {
        return Err(DaemonError::Config(
            "api.top_up_max must be positive".into(),
        ));
    }
    let mut limits = api::Limits::default();
    limits.top_up_max = top_up_max;
    limits.sockets_per_token = config.api.sockets_per_token.max(1);
    Ok(limits)
}
