//! The all-in-one daemon: the xml_curl server, the CDR gateway, the REST API with `/ws` and
//! `/live` on one HTTP port, the recording worker and the ESL worker, over one database (SQLite
//! by default), with `/healthz` and `/metrics`.
//!
//! Configuration: defaults, then a TOML file, then `CALLCENTER_*` environment variables (which
//! win). Secrets are never logged: credentials print as `<hidden>`.
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! database = "sqlite://callcenter.sqlite?mode=rwc"
//! recordings_dir = "recordings/staging"
//!
//! [xml_curl]
//! user = "freeswitch"
//! password = "change-me"
//!
//! [cdr]
//! user = "freeswitch"
//! password = "change-me"
//! batch_max = 500
//! batch_wait_ms = 2
//! default_tenant = "demo"
//!
//! [esl]
//! cdrs = false
//! [[esl.nodes]]
//! name = "fs1"
//! address = "127.0.0.1:8021"
//! password = "ClueCon"
//!
//! [api]
//! jwt_secret = "at least sixteen characters"
//! ```

mod config;

pub use config::{ApiSettings, CdrSettings, Credentials, DaemonConfig, EslSettings, redact};

use crate::cdr_gateway::{self, GatewayConfig, GatewayMetrics};
use crate::metrics::{HttpMetrics, track};
use crate::platform::{ExtensionRow, PlatformStore, Tenant};
use crate::xmlcurl_server::{self, XmlCurlConfig};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use billing::{Decimal, Ledger, PlanRecord, Rounding};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Why the daemon could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The configuration file could not be read.
    #[error("reading {path}: {source}")]
    ConfigFile {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The configuration is invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// The ledger failed.
    #[error(transparent)]
    Ledger(#[from] billing::LedgerError),
    /// The platform's tables failed.
    #[error(transparent)]
    Platform(#[from] crate::platform::PlatformError),
    /// The listener failed.
    #[error("listening on {address}: {source}")]
    Listen {
        /// The address.
        address: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// The running daemon's parts.
pub struct Daemon {
    /// The ledger.
    pub ledger: Ledger,
    /// The platform's tables.
    pub store: PlatformStore,
    /// All routes.
    pub app: Router,
    /// The recording worker, when that role runs.
    pub recording_worker: Option<crate::recording_worker::RecordingWorker>,
    /// The ESL worker, when that role runs and nodes are configured.
    pub esl_worker: Option<crate::esl_worker::EslWorker>,
    /// Call events.
    pub hub: crate::events::Hub,
}

#[derive(Clone)]
struct Health {
    ledger: Ledger,
    http: Arc<HttpMetrics>,
    gateway: Arc<GatewayMetrics>,
    esl: Option<Arc<crate::esl_worker::EslMetrics>>,
}

/// Which roles a process serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    /// `POST /fsapi`.
    pub xml_curl: bool,
    /// `POST /cdr`.
    pub cdr: bool,
    /// The recording worker over the staging directory.
    pub recordings: bool,
    /// The ESL worker (when nodes are configured).
    pub esl: bool,
    /// The REST API, `/ws` and `/live`.
    pub api: bool,
}

impl Roles {
    /// Every role: the all-in-one daemon.
    pub const ALL: Roles = Roles {
        xml_curl: true,
        cdr: true,
        recordings: true,
        esl: true,
        api: true,
    };
    /// The xml_curl server alone.
    pub const XML_CURL: Roles = Roles {
        xml_curl: true,
        cdr: false,
        recordings: false,
        esl: false,
        api: false,
    };
    /// The CDR gateway alone.
    pub const CDR: Roles = Roles {
        xml_curl: false,
        cdr: true,
        recordings: false,
        esl: false,
        api: false,
    };
    /// The recording worker alone (with `/healthz` and `/metrics`).
    pub const RECORDINGS: Roles = Roles {
        xml_curl: false,
        cdr: false,
        recordings: true,
        esl: false,
        api: false,
    };
    /// The ESL worker with the API over its live state.
    pub const ESL: Roles = Roles {
        xml_curl: false,
        cdr: false,
        recordings: false,
        esl: true,
        api: true,
    };
}

/// Opens the database (migrating it) and builds every route.
pub async fn build(config: &DaemonConfig) -> Result<Daemon, DaemonError> {
    build_roles(config, Roles::ALL).await
}

/// Opens the database (migrating it) and builds the routes of `roles`, with `/healthz` and
/// `/metrics`.
pub async fn build_roles(config: &DaemonConfig, roles: Roles) -> Result<Daemon, DaemonError> {
    let ledger = Ledger::connect(&config.database).await?;
    if let Err(error) = std::fs::create_dir_all(&config.recordings_dir) {
        tracing::warn!(dir = %config.recordings_dir.display(), %error, "cannot create the recordings directory");
    }
    let store = PlatformStore::open(ledger.pool().clone(), ledger.backend()).await?;
    let gateway_metrics = Arc::new(GatewayMetrics::default());
    let http_metrics = Arc::new(HttpMetrics::default());
    let gateway = cdr_gateway::router(
        ledger.clone(),
        GatewayConfig {
            auth: config.cdr.credentials.auth(),
            batch_max: config.cdr.batch_max.max(1),
            batch_wait: Duration::from_millis(config.cdr.batch_wait_ms),
            cdr: billing::CdrOptions {
                tenant_variable: config.cdr.tenant_variable.clone(),
            },
            default_tenant: config.cdr.default_tenant.clone(),
            ..GatewayConfig::default()
        },
        gateway_metrics.clone(),
    );
    let xml_curl = xmlcurl_server::router(
        store.clone(),
        ledger.clone(),
        XmlCurlConfig {
            auth: config.xml_curl.auth(),
            // FreeSWITCH resolves a relative path against its own directory, not ours.
            recordings_dir: std::path::absolute(&config.recordings_dir)
                .unwrap_or_else(|_| config.recordings_dir.clone()),
            ..XmlCurlConfig::default()
        },
    );
    let hub = crate::events::Hub::new(4096);
    let target = match &config.recordings_s3 {
        Some(s3) => crate::recording_tool::Target::S3(s3.clone()),
        None => crate::recording_tool::Target::Directory(config.recordings_store.clone()),
    };
    let default_tenant = config
        .cdr
        .default_tenant
        .clone()
        .unwrap_or_else(|| "unassigned".into());
    let recording_worker = if roles.recordings {
        let mut worker_config = crate::recording_worker::RecordingWorkerConfig::new(
            config.recordings_dir.clone(),
            target.clone(),
        );
        worker_config.scan_every = Duration::from_millis(config.recordings_scan_ms.max(10));
        worker_config.default_tenant.clone_from(&default_tenant);
        worker_config.events = Some(hub.clone());
        Some(
            crate::recording_worker::RecordingWorker::start(worker_config, ledger.clone())
                .map_err(|e| DaemonError::Config(format!("recording worker: {e}")))?,
        )
    } else {
        None
    };
    let esl_worker = (roles.esl && !config.esl.nodes.is_empty()).then(|| {
        let mut esl_config = crate::esl_worker::EslWorkerConfig::new(
            config.esl.nodes.clone(),
            config.recordings_dir.clone(),
        );
        esl_config.cdrs = config.esl.cdrs;
        esl_config.prepaid = config.esl.prepaid;
        esl_config.cdr_options.tenant_variable = config.cdr.tenant_variable.clone();
        esl_config.default_tenant.clone_from(&default_tenant);
        esl_config
            .freeswitch_staging
            .clone_from(&config.esl.freeswitch_recordings_dir);
        crate::esl_worker::EslWorker::start(
            esl_config,
            ledger.clone(),
            store.clone(),
            hub.clone(),
            recording_worker.as_ref().map(|w| w.handle()),
        )
    });
    let health = Health {
        ledger: ledger.clone(),
        http: http_metrics.clone(),
        gateway: gateway_metrics,
        esl: esl_worker.as_ref().map(|w| w.metrics()),
    };
    let mut app = Router::new();
    if roles.api {
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
        app = app.merge(crate::api::router(crate::api::ApiState {
            tokens: crate::api::Tokens::new(
                &secret,
                Duration::from_secs(config.api.token_ttl_s.max(1)),
            ),
            users: crate::api::Users::new(ledger.pool().clone()),
            ledger: ledger.clone(),
            store: store.clone(),
            esl: esl_worker.clone(),
            hub: hub.clone(),
            recordings: target.destination().ok(),
            download_ttl: Duration::from_secs(config.api.download_ttl_s.max(1)),
        }));
    }
    if roles.cdr {
        app = app.merge(gateway);
    }
    if roles.xml_curl {
        app = app.merge(xml_curl);
    }
    let app = app
        .layer(axum::middleware::from_fn_with_state(http_metrics, track))
        .merge(
            Router::new()
                .route("/healthz", get(healthz))
                .route("/metrics", get(metrics))
                .with_state(health),
        );
    Ok(Daemon {
        ledger,
        store,
        app,
        recording_worker,
        esl_worker,
        hub,
    })
}

impl Daemon {
    /// The API users, in the daemon's database.
    pub fn users(&self) -> crate::api::Users {
        crate::api::Users::new(self.ledger.pool().clone())
    }
}

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(
    config: &DaemonConfig,
    daemon: Daemon,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), DaemonError> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| DaemonError::Listen {
            address: config.listen,
            source,
        })?;
    tracing::info!(address = %config.listen, database = %redact(&config.database), "serving");
    let served = axum::serve(listener, daemon.app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|source| DaemonError::Listen {
            address: config.listen,
            source,
        });
    if let Some(worker) = daemon.esl_worker {
        worker.shutdown().await;
    }
    if let Some(worker) = daemon.recording_worker {
        // Encodes and uploads in flight may finish; the rest stays staged for the next start.
        worker.shutdown(Duration::from_secs(10)).await;
    }
    served
}

/// The `main` of a single-role daemon: `--config FILE`, `--json-logs`, then serve until
/// SIGINT or SIGTERM.
pub fn main_for(roles: Roles) -> std::process::ExitCode {
    let mut config_file = None;
    let mut json_logs = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" => config_file = args.next().map(PathBuf::from),
            "--json-logs" => json_logs = true,
            "--help" | "-h" => {
                println!(
                    "usage: [--config FILE] [--json-logs]; CALLCENTER_* variables override the file"
                );
                return std::process::ExitCode::SUCCESS;
            }
            other => {
                eprintln!("unknown argument {other:?}; usage: [--config FILE] [--json-logs]");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    init_logs(json_logs);
    let result = DaemonConfig::load(config_file.as_deref()).and_then(|config| {
        let runtime =
            tokio::runtime::Runtime::new().map_err(|e| DaemonError::Config(e.to_string()))?;
        runtime.block_on(async {
            let daemon = build_roles(&config, roles).await?;
            serve(&config, daemon, shutdown_signal()).await
        })
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Text or JSON logs on stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Logs go to stderr: stdout carries the one-shot commands' results.
    if json {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
}

/// SIGINT or SIGTERM: stop accepting, finish what is in flight.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

async fn healthz(State(health): State<Health>) -> impl IntoResponse {
    match sqlx::query("SELECT 1").execute(health.ledger.pool()).await {
        Ok(_) => (StatusCode::OK, "ok\n".to_owned()),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("database: {error}\n"),
        ),
    }
}

async fn metrics(State(health): State<Health>) -> impl IntoResponse {
    use std::sync::atomic::Ordering::Relaxed;
    let mut text = health.http.render();
    let g = &health.gateway;
    let mut counters = vec![
        (
            "callcenter_cdrs_recorded_total",
            "CDRs committed for the first time.",
            g.recorded.load(Relaxed),
        ),
        (
            "callcenter_cdrs_duplicate_total",
            "Posts of CDRs already recorded.",
            g.duplicates.load(Relaxed),
        ),
        (
            "callcenter_cdrs_refused_total",
            "CDR posts refused (4xx).",
            g.refused.load(Relaxed),
        ),
        (
            "callcenter_cdrs_unavailable_total",
            "CDR posts answered 503 (database failing).",
            g.unavailable.load(Relaxed),
        ),
        (
            "callcenter_cdr_batches_total",
            "Database transactions of CDRs.",
            g.batches.load(Relaxed),
        ),
        (
            "callcenter_cdr_batched_total",
            "CDRs in those transactions (their sum; divide for the mean batch size).",
            g.batched_cdrs.load(Relaxed),
        ),
    ];
    if let Some(esl) = &health.esl {
        let esl_counters = [
            (
                "callcenter_esl_events_total",
                "Events received from FreeSWITCH.",
                &esl.events,
            ),
            (
                "callcenter_esl_published_total",
                "Call events published.",
                &esl.published,
            ),
            (
                "callcenter_esl_connections_total",
                "ESL (re)connections.",
                &esl.connections,
            ),
            (
                "callcenter_esl_cdrs_total",
                "CDRs recorded from hangup events.",
                &esl.cdrs,
            ),
            (
                "callcenter_esl_cdrs_refused_total",
                "Hangup events not recorded as CDRs.",
                &esl.cdrs_refused,
            ),
            (
                "callcenter_esl_recordings_total",
                "Recordings handed to the recording worker.",
                &esl.recordings,
            ),
            (
                "callcenter_esl_limits_total",
                "Prepaid limits set on answer.",
                &esl.limits,
            ),
        ];
        counters.extend(
            esl_counters
                .into_iter()
                .map(|(name, help, value)| (name, help, value.load(Relaxed))),
        );
    }
    for (name, help, value) in counters {
        text.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"
        ));
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        text,
    )
}

/// Creates (or refreshes) one demo tenant, for a first try with a real FreeSWITCH: tenant
/// `demo` on SIP domain `demo.local`, context `demo`, extensions 1000 and 1001 (password
/// `demo-1000`/`demo-1001`), gateway `trunk`, a rate plan of 0.02/min for everything, 10.00 of
/// credit, and API users `admin` (password `demo-admin`) and `agent` (extension 1000, password
/// `demo-agent`). Nothing is created without being asked.
pub async fn seed_demo_data(ledger: &Ledger, store: &PlatformStore) -> Result<(), DaemonError> {
    ledger
        .save_plan(&PlanRecord {
            id: "demo".into(),
            currency: "EUR".into(),
            decimals: 2,
            rounding: Rounding::Up,
            utc_offset_minutes: 0,
            fallback: None,
            rates_csv: "prefix,name,rate_per_minute,connect_fee\n,Everywhere,0.02,0\n".into(),
        })
        .await?;
    if ledger.balance("demo").await.is_err() {
        ledger.open_account("demo", "demo", Decimal::ZERO).await?;
    }
    ledger
        .top_up("demo", Decimal::new(1000, 2), "demo-credit")
        .await?;
    store
        .put_tenant(&Tenant {
            tenant: "demo".into(),
            domain: "demo.local".into(),
            context: "demo".into(),
            gateway: Some("trunk".into()),
            prepaid: true,
            record_calls: false,
        })
        .await?;
    for extension in ["1000", "1001"] {
        store
            .put_extension(&ExtensionRow {
                tenant: "demo".into(),
                extension: extension.into(),
                password: Some(format!("demo-{extension}")),
                a1_hash: None,
                caller_id_name: Some(format!("Demo {extension}")),
                caller_id_number: None,
                record_calls: extension == "1001",
            })
            .await?;
    }
    let users = crate::api::Users::new(ledger.pool().clone());
    for (name, role, extension) in [
        ("admin", crate::api::Role::Admin, None),
        ("agent", crate::api::Role::Agent, Some("1000".to_owned())),
    ] {
        let user = crate::api::ApiUser {
            tenant: "demo".into(),
            username: name.into(),
            role,
            extension,
        };
        users
            .put(&user, &format!("demo-{name}"))
            .await
            .map_err(|e| DaemonError::Config(format!("demo users: {e}")))?;
    }
    Ok(())
}
