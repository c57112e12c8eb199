//! `GET /api/balance` and `POST /api/topups`: the tenant's prepaid account.

use super::body::Body;
use super::{ApiError, ApiState, Caller, Operator};
use axum::Json;
use axum::extract::State;
use platform::balance::money_text as money;
use serde::Deserialize;
use serde_json::json;

pub(super) async fn balance(
    State(state): State<ApiState>,
    Caller(claims): Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    let balance = state.ledger.balance(&claims.tenant).await?;
    Ok(Json(json!({
        "tenant": claims.tenant,
        "balance": money(balance.balance),
        "credit_limit": money(balance.credit_limit),
        "held": money(balance.held),
        "live_balance": money(balance.live()),
        "available": money(balance.available()),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TopUpRequest {
    /// The tenant whose account is credited.
    tenant: String,
    /// A decimal amount, as text (`"10.00"`).
    amount: String,
    /// The payment's reference: a retried top-up with the same reference adds once.
    reference: String,
}

/// `POST /api/topups`: credit comes from the operator only (a tenant's admin crediting their
/// own account would make prepaid mean nothing), with a payment reference, up to the
/// configured maximum per top-up.
pub(super) async fn top_up(
    State(state): State<ApiState>,
    Operator(operator): Operator,
    Body(request): Body<TopUpRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let balance = crate::admin::top_up(
        &state.ledger,
        &request.tenant,
        &request.amount,
        &request.reference,
        state.limits.top_up_max,
    )
    .await?;
    tracing::info!(operator = ?operator.sub, tenant = ?request.tenant, amount = %request.amount, reference = ?request.reference, "top-up");
    Ok(Json(json!({
        "tenant": request.tenant,
        "reference": request.reference,
        "balance": money(balance.balance),
        "available": money(balance.available()),
    })))
}

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi()]
pub(super) struct Routes;
