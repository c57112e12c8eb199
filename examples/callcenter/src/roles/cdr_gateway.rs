//! The CDR gateway: receives `mod_json_cdr` posts, rates and records them through the billing
//! ledger with group commit, and answers 2xx only once the CDR is committed.
//!
//! - Every encoding FreeSWITCH uses (raw JSON, `cdr=` URL-encoded, `cdr=` base64), whatever the
//!   Content-Type says.
//! - Group commit: posts arriving together share one database transaction, up to
//!   `batch_max` CDRs or `batch_wait` after the first one.
//! - 200 after commit (a duplicate too: FreeSWITCH retries are harmless); 503 while the database
//!   fails, so FreeSWITCH retries and, after its retries, writes its err-log-dir; 4xx for a body
//!   that is not a CDR or a CDR the ledger refuses (unknown tenant), so it is never silently
//!   dropped; 401 without the right credentials; 413 over the size limit.

use crate::http::BasicAuth;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use billing::{Cdr, CdrOptions, Ledger, LedgerError, Recorded};
use prometheus_client::metrics::counter::Counter;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How the gateway runs.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Credentials FreeSWITCH sends (`cred` in json_cdr.conf.xml); `None` accepts any post.
    pub auth: Option<BasicAuth>,
    /// Largest body accepted. Default 1 MiB (a CDR is a few KB).
    pub max_body: usize,
    /// Most CDRs per database transaction. Default 500.
    pub batch_max: usize,
    /// How long the first CDR of a batch waits for others. Default 2 ms.
    pub batch_wait: Duration,
    /// Posts waiting for a batch; beyond it posts wait for room. Default 8192.
    pub queue: usize,
    /// How CDRs are read (the tenant's channel variable).
    pub cdr: CdrOptions,
    /// Tenant for CDRs that name none (single-tenant installations); `None` refuses them.
    pub default_tenant: Option<String>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            auth: None,
            max_body: 1 << 20,
            batch_max: 500,
            batch_wait: Duration::from_millis(2),
            queue: 8192,
            cdr: CdrOptions::default(),
            default_tenant: None,
        }
    }
}

/// Counters of the gateway, for `/metrics`.
#[derive(Debug, Default)]
pub struct GatewayMetrics {
    /// CDRs committed for the first time.
    pub recorded: Counter,
    /// Posts of CDRs already recorded.
    pub duplicates: Counter,
    /// Posts refused (4xx).
    pub refused: Counter,
    /// Posts answered 503 because the database failed.
    pub unavailable: Counter,
    /// Database transactions committed.
    pub batches: Counter,
    /// CDRs in those transactions.
    pub batched_cdrs: Counter,
}

impl GatewayMetrics {
    /// Adds the counters to `registry` (`callcenter_cdrs_recorded_total`, ...).
    pub fn register(&self, registry: &mut prometheus_client::registry::Registry) {
        crate::http::metrics::register_counters(
            registry,
            [
                (
                    "cdrs_recorded",
                    "CDRs committed for the first time",
                    &self.recorded,
                ),
                (
                    "cdrs_duplicate",
                    "Posts of CDRs already recorded",
                    &self.duplicates,
                ),
                ("cdrs_refused", "CDR posts refused (4xx)", &self.refused),
                (
                    "cdrs_unavailable",
                    "CDR posts answered 503 (database failing)",
                    &self.unavailable,
                ),
                (
                    "cdr_batches",
                    "Database transactions of CDRs",
                    &self.batches,
                ),
                (
                    "cdr_batched",
                    "CDRs in those transactions (their sum; divide for the mean batch size)",
                    &self.batched_cdrs,
                ),
            ],
        );
    }
}

type Reply = oneshot::Sender<Result<Recorded, Failure>>;

#[derive(Debug)]
enum Failure {
    Refused(String),
    Unavailable(String),
}

#[derive(Clone)]
struct GatewayState {
    config: Arc<GatewayConfig>,
    batches: mpsc::Sender<(Cdr, Reply)>,
    metrics: Arc<GatewayMetrics>,
}

/// The gateway's routes (`POST /cdr`, and any path below it, as FreeSWITCH's `url` may add
/// one) and its batcher task. Spawns the task, so call it inside a tokio runtime.
pub fn router(ledger: Ledger, config: GatewayConfig, metrics: Arc<GatewayMetrics>) -> Router {
    let (batches, queued) = mpsc::channel(config.queue.max(1));
    tokio::spawn(batcher(
        ledger,
        queued,
        config.batch_max.max(1),
        config.batch_wait,
        metrics.clone(),
    ));
    let max_body = config.max_body;
    let state = GatewayState {
        config: Arc::new(config),
        batches,
        metrics,
    };
    Router::new()
        .route("/cdr", post(receive))
        .route("/cdr/{*rest}", post(receive))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

async fn receive(State(state): State<GatewayState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(auth) = &state.config.auth
        && !auth.accepts(&headers)
    {
        return auth.challenge();
    }
    let refuse = |status: StatusCode, why: String| {
        state.metrics.refused.inc();
        (status, format!("{why}\n")).into_response()
    };
    let mut cdr = match Cdr::parse(&body, &state.config.cdr) {
        Ok(cdr) => cdr,
        Err(error) => return refuse(StatusCode::BAD_REQUEST, error.to_string()),
    };
    if cdr.tenant.is_none() {
        cdr.tenant.clone_from(&state.config.default_tenant);
    }
    let (reply, answer) = oneshot::channel();
    if state.batches.send((cdr, reply)).await.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response();
    }
    match answer.await {
        Ok(Ok(recorded)) => {
            let counter = if recorded.duplicate {
                &state.metrics.duplicates
            } else {
                &state.metrics.recorded
            };
            counter.inc();
            (StatusCode::OK, "OK").into_response()
        }
        Ok(Err(Failure::Refused(why))) => refuse(StatusCode::UNPROCESSABLE_ENTITY, why),
        Ok(Err(Failure::Unavailable(why))) => {
            state.metrics.unavailable.inc();
            (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")).into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response(),
    }
}

/// Collects CDRs into batches and records each batch in one transaction. One batch at a time:
/// while one commits, the next fills up.
async fn batcher(
    ledger: Ledger,
    mut queued: mpsc::Receiver<(Cdr, Reply)>,
    batch_max: usize,
    batch_wait: Duration,
    metrics: Arc<GatewayMetrics>,
) {
    let mut batch = Vec::with_capacity(batch_max);
    while let Some(first) = queued.recv().await {
        batch.push(first);
        let deadline = tokio::time::Instant::now() + batch_wait;
        while batch.len() < batch_max {
            match tokio::time::timeout_at(deadline, queued.recv()).await {
                Ok(Some(next)) => batch.push(next),
                _ => break,
            }
        }
        let (cdrs, replies): (Vec<Cdr>, Vec<Reply>) = batch.drain(..).unzip();
        match ledger.record_batch(&cdrs).await {
            Ok(results) => {
                metrics.batches.inc();
                metrics.batched_cdrs.inc_by(cdrs.len() as u64);
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result.map_err(|error| classify(&error)));
                }
            }
            Err(error) => {
                tracing::warn!(%error, cdrs = cdrs.len(), "CDR batch not recorded");
                for reply in replies {
                    let _ = reply.send(Err(classify(&error)));
                }
            }
        }
    }
}

/// The database failing is temporary (503, FreeSWITCH retries); anything about the CDR itself
/// is not (422).
fn classify(error: &LedgerError) -> Failure {
    match error {
        LedgerError::Database(_) | LedgerError::Migrate(_) | LedgerError::Corrupt(_) => {
            Failure::Unavailable(format!("CDR not recorded: {error}"))
        }
        _ => Failure::Refused(format!("CDR refused: {error}")),
    }
}
