//! `GET /api/balance` and `POST /api/topups`: the tenant's prepaid account.

use super::body::Body;
use super::{ApiError, ApiState, Caller, Operator};
use axum::Json;
use axum::extract::State;
use billing::Decimal;
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
    let amount: Decimal = request
        .amount
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("{:?} is not an amount", request.amount)))?;
    if amount <= Decimal::ZERO {
        return Err(ApiError::BadRequest("a top-up is positive".into()));
    }
    if amount > state.limits.top_up_max {
        return Err(ApiError::BadRequest(format!(
            "a top-up is at most {}",
            state.limits.top_up_max
        )));
    }
    if request.reference.is_empty() || request.reference.len() > 128 {
        return Err(ApiError::BadRequest(
            "a reference is 1 to 128 characters".into(),
        ));
    }
    let balance = state
        .ledger
        .top_up(&request.tenant, amount, &request.reference)
        .await?;
    tracing::info!(operator = ?operator.sub, tenant = ?request.tenant, %amount, reference = ?request.reference, "top-up");
    Ok(Json(json!({
        "tenant": request.tenant,
        "reference": request.reference,
        "balance": money(balance.balance),
        "available": money(balance.available()),
    })))
}
