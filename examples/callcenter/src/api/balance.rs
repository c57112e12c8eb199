//! `GET /api/balance` and `POST /api/topups`: the tenant's prepaid account.

use super::body::Body;
use super::{ApiError, ApiState, Caller, Operator};
use axum::Json;
use axum::extract::State;
use platform::balance::money_text as money;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A tenant's prepaid account; amounts are decimal text in the account's currency.
#[derive(Serialize, ToSchema)]
pub(super) struct Balance {
    tenant: String,
    balance: String,
    credit_limit: String,
    /// Held for prepaid calls in progress.
    held: String,
    /// The balance minus what calls in progress hold.
    live_balance: String,
    /// What a new prepaid call may spend: balance + credit limit - held.
    available: String,
}

/// The tenant's balance.
#[utoipa::path(
    get,
    path = "/api/balance",
    tag = "balance",
    responses(
        (status = 200, description = "Balance", body = Balance),
        (status = 404, response = super::openapi::NotFound),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn balance(
    State(state): State<ApiState>,
    Caller(claims): Caller,
) -> Result<Json<Balance>, ApiError> {
    let balance = state.ledger.balance(&claims.tenant).await?;
    Ok(Json(Balance {
        tenant: claims.tenant,
        balance: money(balance.balance),
        credit_limit: money(balance.credit_limit),
        held: money(balance.held),
        live_balance: money(balance.live()),
        available: money(balance.available()),
    }))
}

/// A top-up.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"tenant": "demo", "amount": "25.00", "reference": "payment-0001"}))]
pub(super) struct TopUpRequest {
    /// The tenant whose account is credited (404 when it has no account).
    tenant: String,
    /// A decimal amount, as text (`"10.00"`): digits, optionally a '.' and at most 6 decimals,
    /// and no more decimals than the account's currency has; positive, at most the configured
    /// api.top_up_max.
    #[schema(pattern = r"^[0-9]{1,12}(\.[0-9]{1,6})?$")]
    amount: String,
    /// The payment's reference: a retried top-up with the same reference adds once.
    #[schema(min_length = 1, max_length = 128)]
    reference: String,
}

/// The account after a top-up.
#[derive(Serialize, ToSchema)]
pub(super) struct TopUp {
    tenant: String,
    reference: String,
    balance: String,
    available: String,
}

/// Adds credit to a tenant's account (operators only), once per payment reference: the same
/// reference with the same amount again answers 200 and adds nothing, with another amount 409.
///
/// Credit comes from the operator only (a tenant's admin crediting their own account would
/// make prepaid mean nothing), with a payment reference, up to the configured maximum per
/// top-up.
#[utoipa::path(
    post,
    path = "/api/topups",
    tag = "balance",
    request_body = TopUpRequest,
    responses(
        (status = 200, description = "The balance after", body = TopUp),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        (status = 500, response = super::openapi::Internal),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn top_up(
    State(state): State<ApiState>,
    Operator(operator): Operator,
    Body(request): Body<TopUpRequest>,
) -> Result<Json<TopUp>, ApiError> {
    let balance = crate::admin::top_up(
        &state.ledger,
        &request.tenant,
        &request.amount,
        &request.reference,
        state.limits.top_up_max,
    )
    .await?;
    tracing::info!(operator = ?operator.sub, tenant = ?request.tenant, amount = %request.amount, reference = ?request.reference, "top-up");
    Ok(Json(TopUp {
        tenant: request.tenant,
        reference: request.reference,
        balance: money(balance.balance),
        available: money(balance.available()),
    }))
}

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(balance, top_up))]
pub(super) struct Routes;
