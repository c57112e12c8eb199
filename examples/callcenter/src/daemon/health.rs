//! `/healthz` (the database answers) and `/metrics` (every counter of the process, from one
//! Prometheus registry).

use crate::http::ErrorId;
use crate::http::metrics::{CONTENT_TYPE, render};
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
        Ok(_) => (StatusCode::OK, "ok\n".to_owned()),
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
    (
        [(axum::http::header::CONTENT_TYPE, CONTENT_TYPE)],
        render(&health.registry),
    )
}
