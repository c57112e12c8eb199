//! The CDR gateway: receives `mod_json_cdr` posts, rates and records them through the billing
//! ledger with group commit, and answers 2xx only once the CDR is committed.
//!
//! - Every encoding FreeSWITCH uses (raw JSON, `cdr=` URL-encoded, `cdr=` base64, with or
//!   without `encode-values`), whatever the Content-Type says; each counted by format, and the
//!   ambiguous `encode=true` + `encode-values=true` warned about (once per process).
//! - The tenant by the ledger's one rule; a CDR nothing attributes is stored unassigned for the
//!   operator and answered 200, so FreeSWITCH does not pile it up.
//! - Group commit: posts arriving together share one database transaction, up to
//!   `batch_max` CDRs or `batch_wait` after the first one.
//! - 200 after commit (a duplicate too: FreeSWITCH retries are harmless); 503 while the database
//!   fails, so FreeSWITCH retries and, after its retries, writes its err-log-dir; 4xx for a body
//!   that is not a CDR or a CDR the ledger refuses (its rate plan broken), logged with its
//!   reason and counted per reason, so it is never silently dropped; 401 without the right
//!   credentials; 413 over the size limit.

use crate::http::basic_auth::require;
use crate::http::{BasicAuth, ErrorId};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use billing::{Cdr, CdrOptions, JsonCdrFormat, Ledger, LedgerError, Outcome, Recorded};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How the gateway runs.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Credentials FreeSWITCH sends (`cred` in json_cdr.conf.xml): always required, checked
    /// before the body is read.
    pub auth: BasicAuth,
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
}

impl GatewayConfig {
    /// The gateway for FreeSWITCH posting with `auth`, with the defaults above.
    pub fn new(auth: BasicAuth) -> Self {
        GatewayConfig {
            auth,
            max_body: 1 << 20,
            batch_max: 500,
            batch_wait: Duration::from_millis(2),
            queue: 8192,
            cdr: CdrOptions::default(),
        }
    }
}

/// A label: why, or in which form.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// The reason's short name.
    pub reason: String,
}

/// A label: a body's mod_json_cdr settings, as found.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FormatLabel {
    /// `encode`.
    pub encode: String,
    /// `encode-values` (`unknown` where the body reads the same either way).
    pub encode_values: String,
}

/// Counters of the gateway, for `/metrics`.
#[derive(Debug, Default)]
pub struct GatewayMetrics {
    /// CDRs committed for the first time.
    pub recorded: Counter,
    /// Posts of CDRs already recorded.
    pub duplicates: Counter,
    /// Posts refused (4xx), in all.
    pub refused: Counter,
    /// Posts refused, by reason (`not_json`, `ambiguous`, `bad_number`, `ledger`...).
    pub refused_by_reason: Family<ReasonLabel, Counter>,
    /// CDRs stored unassigned, by reason (`no_tenant`, `unknown_tenant`, `tenant_conflict`).
    pub unassigned: Family<ReasonLabel, Counter>,
    /// CDR bodies read, by mod_json_cdr settings.
    pub formats: Family<FormatLabel, Counter>,
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
        registry.register(
            "callcenter_cdrs_refused_by_reason",
            "CDR posts refused (4xx), by reason",
            self.refused_by_reason.clone(),
        );
        registry.register(
            "callcenter_cdrs_unassigned",
            "CDRs stored unassigned (no tenant attributes them), by reason",
            self.unassigned.clone(),
        );
        registry.register(
            "callcenter_cdr_formats",
            "CDR bodies read, by mod_json_cdr encode and encode-values settings",
            self.formats.clone(),
        );
        crate::http::metrics::register_metrics(
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

#[derive(Debug, Clone)]
enum Failure {
    /// The CDR itself cannot be recorded: its reason's short name, and the message.
    Refused(&'static str, String),
    /// The database failed; its text is logged under this id, not sent.
    Unavailable(ErrorId),
}

impl GatewayMetrics {
    /// Counts a refusal under its reason and says why, at warn level: a refused CDR is
    /// revenue FreeSWITCH will leave in its err-log-dir.
    pub fn refuse(&self, reason: &'static str, why: &str, uuid: Option<&str>) {
        self.refused.inc();
        self.refused_by_reason
            .get_or_create(&ReasonLabel {
                reason: reason.to_owned(),
            })
            .inc();
        tracing::warn!(reason, uuid, why, "CDR refused");
    }

    /// Counts a body read in this form, and warns (once per process) of the ambiguous one.
    pub fn read_format(&self, format: JsonCdrFormat) {
        let label = FormatLabel {
            encode: format.encode.as_str().to_owned(),
            encode_values: format.values.as_str().to_owned(),
        };
        self.formats.get_or_create(&label).inc();
        // With encode=true a value's own uppercase %XX is kept, so a crafted caller ID can
        // look like the document's structure (then the CDR is refused as ambiguous), whatever
        // encode-values says.
        static WARNED: std::sync::Once = std::sync::Once::new();
        if format.encode == billing::Encode::Url {
            WARNED.call_once(|| {
                tracing::warn!(
                    %format,
                    "FreeSWITCH posts CDRs with encode=true, which a crafted caller ID can make unreadable; set encode=false and encode-values=false (examples/deploy/json_cdr.conf.xml)"
                )
            });
        }
    }

    /// Counts a CDR stored unassigned.
    fn unassigned(&self, outcome: &Outcome, uuid: &str) {
        if let Outcome::Unassigned(reason) = outcome {
            self.unassigned
                .get_or_create(&ReasonLabel {
                    reason: reason.as_str().to_owned(),
                })
                .inc();
            tracing::info!(uuid, reason = reason.as_str(), "CDR stored unassigned");
        }
    }
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
    let auth = config.auth.clone();
    let state = GatewayState {
        config: Arc::new(config),
        batches,
        metrics,
    };
    Router::new()
        .route("/cdr", post(receive))
        .route("/cdr/{*rest}", post(receive))
        .layer(DefaultBodyLimit::max(max_body))
        .route_layer(axum::middleware::from_fn_with_state(auth, require))
        .with_state(state)
}

async fn receive(
    State(state): State<GatewayState>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let posted_uuid = query_uuid(query.as_deref());
    let refuse = |status: StatusCode, reason: &'static str, why: String| {
        state.metrics.refuse(reason, &why, posted_uuid.as_deref());
        (status, format!("{why}\n")).into_response()
    };
    let cdr = match Cdr::parse(&body, &state.config.cdr) {
        Ok(cdr) => cdr,
        Err(error) => return refuse(StatusCode::BAD_REQUEST, error.reason(), error.to_string()),
    };
    if let Some(format) = cdr.format {
        state.metrics.read_format(format);
    }
    let uuid = cdr.uuid.clone();
    let (reply, answer) = oneshot::channel();
    if state.batches.send((cdr, reply)).await.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response();
    }
    match answer.await {
        Ok(Ok(recorded)) => {
            if recorded.duplicate {
                state.metrics.duplicates.inc();
            } else {
                state.metrics.recorded.inc();
                state.metrics.unassigned(&recorded.outcome, &uuid);
            }
            (StatusCode::OK, "OK").into_response()
        }
        Ok(Err(Failure::Refused(reason, why))) => {
            refuse(StatusCode::UNPROCESSABLE_ENTITY, reason, why)
        }
        Ok(Err(Failure::Unavailable(id))) => {
            state.metrics.unavailable.inc();
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("database unavailable, error id {id}\n"),
            )
                .into_response()
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
                let failure = classify(&error);
                tracing::warn!(cdrs = cdrs.len(), ?failure, "CDR batch not recorded");
                for reply in replies {
                    let _ = reply.send(Err(failure.clone()));
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
            Failure::Unavailable(ErrorId::log("recording a CDR", error))
        }
        _ => Failure::Refused("ledger", format!("CDR refused: {error}")),
    }
}

/// The `uuid` FreeSWITCH puts in the URL (`?uuid=<uuid>`), for the log of a body that could
/// not be read; only UUID characters are kept, so it cannot forge a log line.
fn query_uuid(query: Option<&str>) -> Option<String> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("uuid="))
        .map(|value| {
            value
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .take(64)
                .collect()
        })
}
