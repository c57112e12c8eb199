//! `GET /api/cdrs`: the tenant's CDRs by time range, paginated.

use super::page::{Page, checked_limit, next};
use super::{ApiError, ApiState, Caller, Operator};
use axum::Json;
use axum::extract::{Query, State};
use platform::balance::money_text as money;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Deserialize)]
pub(super) struct CdrQuery {
    /// From, Unix seconds (inclusive). Default 0.
    from: Option<i64>,
    /// To, Unix seconds (exclusive). Default: far future.
    to: Option<i64>,
    /// The `next` of the previous page.
    after: Option<i64>,
    /// Page size, 1 to 1000. Default 100.
    limit: Option<u32>,
}

#[derive(Serialize)]
struct CdrItem {
    id: i64,
    uuid: String,
    leg: billing::Leg,
    start_us: Option<i64>,
    billsec: i64,
    destination: Option<String>,
    outcome: billing::CdrOutcome,
    amount: Option<String>,
}

pub(super) async fn cdrs(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Query(query): Query<CdrQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let limit = checked_limit(query.limit)?;
    let to_us = |s: i64| s.saturating_mul(1_000_000);
    let rows = state
        .ledger
        .cdrs(
            &claims.tenant,
            to_us(query.from.unwrap_or(0)),
            query.to.map_or(i64::MAX, to_us),
            query.after,
            limit,
        )
        .await?;
    let next = next(&rows, limit, |r| r.id);
    let items: Vec<CdrItem> = rows
        .into_iter()
        .map(|r| CdrItem {
            id: r.id,
            uuid: r.uuid,
            leg: r.leg,
            start_us: r.start_us,
            billsec: r.billsec,
            destination: r.destination,
            outcome: r.outcome,
            amount: r.amount.map(money),
        })
        .collect();
    Ok(Json(json!({ "cdrs": items, "next": next })))
}

/// `GET /api/operator/unassigned-cdrs`: the CDRs nothing attributes to a tenant, for the
/// operator only (never charged, never shown to a tenant).
pub(super) async fn unassigned(
    State(state): State<ApiState>,
    _operator: Operator,
    Query(page): Query<Page<i64>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let limit = page.limit()?;
    let rows = state.ledger.unassigned_cdrs(page.after, limit).await?;
    let next = next(&rows, limit, |r| r.id);
    let items: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "uuid": r.uuid,
                "leg": r.leg,
                "reason": r.reason.as_str(),
                "named_tenant": r.named_tenant,
                "context": r.context,
                "domain": r.domain,
                "billsec": r.billsec,
                "destination": r.destination,
                "links": r.links,
            })
        })
        .collect();
    Ok(Json(json!({ "cdrs": items, "next": next })))
}
