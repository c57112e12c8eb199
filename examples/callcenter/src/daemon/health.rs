//! `/healthz` (the database answers; degraded when the recordings' staging area is past its
//! thresholds) and `/metrics` (every counter of the process, from one Prometheus registry).

use crate::http::ErrorId;
use crate::http::metrics::{CONTENT_TYPE, render};
use crate::roles::recording_health::{RecordingGauges, RecordingStatus, Thresholds, degraded};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use billing::Ledger;
use prometheus_client::registry::Registry;
use std::sync::Arc;

/// What `/healthz` and `/metrics` read.
#[derive(Clone)]
pub(super) struct Health {
    pub(super) ledger: Ledger,
    pub(super) registry: Arc<Registry>,
    /// The recording worker's staging area, when it runs here.
    pub(super) recordings: Option<Recordings>,
}

/// The recording worker's staging area: read when `/metrics` or `/healthz` is asked.
#[derive(Clone)]
pub(super) struct Recordings {
    pub(super) status: RecordingStatus,
    pub(super) gauges: Arc<RecordingGauges>,
    pub(super) thresholds: Thresholds,
}

/// `GET /healthz` and `GET /metrics`.
pub(super) fn router(health: Health) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(health)
}

async fn healthz(State(health): State<Health>) -> impl IntoResponse {
    match sqlx::query("SELECT 1").execute(health.ledger.pool()).await {
        Ok(_) => {
            let reasons = health.recordings.as_ref().map_or_else(Vec::new, |r| {
                r.status
                    .now()
                    .map_or_else(Vec::new, |status| degraded(&status, r.thresholds))
            });
            // Still 200: the daemon serves; what needs an operator is in the text.
            if reasons.is_empty() {
                (StatusCode::OK, "ok\n".to_owned())
            } else {
                (
                    StatusCode::OK,
                    format!("degraded: {}\n", reasons.join("; ")),
                )
            }
        }
        // Unauthenticated: the database's text stays in the log.
        Err(error) => {
            let id = ErrorId::log("health check", &error);
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("database unavailable (error id {id})\n"),
            )
        }
    }
}

async fn metrics(State(health): State<Health>) -> impl IntoResponse {
    if let Some(recordings) = &health.recordings
        && let Some(status) = recordings.status.now()
    {
        recordings.gauges.set(&status);
    }
    (
        [(axum::http::header::CONTENT_TYPE, CONTENT_TYPE)],
        render(&health.registry),
    )
}
