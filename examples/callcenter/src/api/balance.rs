//! `GET /api/balance` and `POST /api/topups`: the tenant's prepaid account.

use super::body::Body;
use super::{ApiError, ApiState, Caller};
use axum::Json;
use axum::extract::State;
use billing::Decimal;
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
        "available": money(balance.available()),
    })))
}

#[derive(Deserialize)]
pub(super) struct TopUpRequest {
    /// A decimal amount, as text (`"10.00"`).
    amount: String,
    /// The payment's reference: a retried top-up with the same reference adds once.
    reference: String,
}

pub(super) async fn top_up(
    State(state): State<ApiState>,
    caller: Caller,
    Body(request): Body<TopUpRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.admin()?;
    let amount: Decimal = request
        .amount
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("{:?} is not an amount", request.amount)))?;
    if amount <= Decimal::ZERO {
        return Err(ApiError::BadRequest("a top-up is positive".into()));
    }
    if request.reference.is_empty() || request.reference.len() > 128 {
        return Err(ApiError::BadRequest(
            "a reference is 1 to 128 characters".into(),
        ));
    }
    let balance = state
        .ledger
        .top_up(&caller.0.tenant, amount, &request.reference)
        .await?;
    Ok(Json(json!({
        "reference": request.reference,
        "balance": money(balance.balance),
        "available": money(balance.available()),
    })))
}

/// An amount as text, with at least two decimals (`0.30`, not `0.3`).
pub(super) fn money(amount: Decimal) -> String {
    let mut amount = amount.normalize();
    if amount.scale() < 2 {
        amount.rescale(2);
    }
    amount.to_string()
}
