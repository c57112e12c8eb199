//! `/api/operator/tenants`: the operator's tenants, each with its account (rate plan, credit
//! limit, balance). `PUT` sets a whole tenant (every field required), `PATCH` changes the
//! fields given (`{"disabled": true}` disables one: its data is kept, its users are not served
//! and its calls are refused).

use super::body::Body;
use super::extract::Path;
use super::{ApiError, ApiState, Operator};
use crate::admin::{self, TenantSpec};
use axum::Json;
use axum::extract::State;
use platform::balance::money_text as money;
use platform::store::Tenant;
use serde::Deserialize;
use serde_json::json;

/// `PUT`: the whole tenant, every field required (`null` where allowed).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TenantBody {
    domain: String,
    context: String,
    rate_plan: String,
    prepaid: bool,
    /// An amount in the plan's currency, as text (`"0"`, `"50.00"`).
    credit_limit: String,
    record_calls: bool,
    #[serde(deserialize_with = "super::fields::required")]
    time_zone: Option<String>,
    /// The trunk its outside calls leave by (`null`: none, such calls are refused).
    #[serde(deserialize_with = "super::fields::required")]
    trunk: Option<String>,
    disabled: bool,
}

/// `PATCH`: what changes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TenantPatch {
    domain: Option<String>,
    context: Option<String>,
    rate_plan: Option<String>,
    prepaid: Option<bool>,
    credit_limit: Option<String>,
    record_calls: Option<bool>,
    #[serde(default, deserialize_with = "super::fields::present")]
    time_zone: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::fields::present")]
    trunk: Option<Option<String>>,
    disabled: Option<bool>,
}

fn credit(text: &str) -> Result<billing::Decimal, ApiError> {
    billing::parse_amount(text).map_err(|e| ApiError::BadRequest(e.to_string()))
}

async fn tenant_json(state: &ApiState, tenant: &str) -> Result<serde_json::Value, ApiError> {
    let (spec, balance) = admin::tenant(&state.ledger, state.cache.store(), tenant)
        .await?
        .ok_or(ApiError::NotFound)?;
    let t = &spec.tenant;
    Ok(json!({
        "tenant": t.tenant,
        "domain": t.domain,
        "context": t.context,
        "rate_plan": spec.rate_plan,
        "prepaid": t.prepaid,
        "credit_limit": money(spec.credit_limit),
        "record_calls": t.record_calls,
        "time_zone": t.time_zone,
        "trunk": t.gateway,
        "disabled": t.disabled,
        "balance": balance.map(|b| money(b.balance)),
    }))
}

/// `GET /api/operator/tenants`: every tenant, by id.
pub(super) async fn tenants(
    State(state): State<ApiState>,
    _operator: Operator,
) -> Result<Json<serde_json::Value>, ApiError> {
    let tenants = state.cache.store().tenants().await?;
    let items: Vec<_> = tenants
        .iter()
        .map(|t| {
            json!({
                "tenant": t.tenant, "domain": t.domain, "context": t.context,
                "prepaid": t.prepaid, "trunk": t.gateway, "disabled": t.disabled,
            })
        })
        .collect();
    Ok(Json(json!({ "tenants": items })))
}

/// `GET /api/operator/tenants/{tenant}`.
pub(super) async fn tenant(
    State(state): State<ApiState>,
    _operator: Operator,
    Path(tenant): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(tenant_json(&state, &tenant).await?))
}

/// `PUT /api/operator/tenants/{tenant}`: adds or replaces a tenant and its account.
pub(super) async fn put_tenant(
    State(state): State<ApiState>,
    Operator(operator): Operator,
    Path(tenant): Path<String>,
    Body(body): Body<TenantBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let existing = state.cache.store().tenant(&tenant).await?;
    let existing_disabled = existing.as_ref().is_some_and(|t| t.disabled);
    let spec = TenantSpec {
        tenant: Tenant {
            tenant: tenant.clone(),
            domain: body.domain,
            context: body.context,
            gateway: body.trunk,
            prepaid: body.prepaid,
            record_calls: body.record_calls,
            // Not the API's to set; a replaced tenant keeps its own.
            prepaid_slice_seconds: existing.and_then(|t| t.prepaid_slice_seconds),
            time_zone: body.time_zone,
            disabled: body.disabled,
        },
        rate_plan: body.rate_plan,
        credit_limit: credit(&body.credit_limit)?,
    };
    admin::put_tenant(&state.ledger, state.cache.store(), &spec).await?;
    tracing::info!(operator = ?operator.sub, %tenant, "tenant saved");
    hang_up_if_disabled(&state, existing_disabled, &spec).await;
    Ok(Json(tenant_json(&state, &tenant).await?))
}

/// `PATCH /api/operator/tenants/{tenant}`: changes the fields given.
pub(super) async fn patch_tenant(
    State(state): State<ApiState>,
    Operator(operator): Operator,
    Path(tenant): Path<String>,
    Body(patch): Body<TenantPatch>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (mut spec, _) = admin::tenant(&state.ledger, state.cache.store(), &tenant)
        .await?
        .ok_or(ApiError::NotFound)?;
    let was_disabled = spec.tenant.disabled;
    let t = &mut spec.tenant;
    if let Some(domain) = patch.domain {
        t.domain = domain;
    }
    if let Some(context) = patch.context {
        t.context = context;
    }
    if let Some(prepaid) = patch.prepaid {
        t.prepaid = prepaid;
    }
    if let Some(record) = patch.record_calls {
        t.record_calls = record;
    }
    if let Some(zone) = patch.time_zone {
        t.time_zone = zone;
    }
    if let Some(trunk) = patch.trunk {
        t.gateway = trunk;
    }
    if let Some(disabled) = patch.disabled {
        t.disabled = disabled;
    }
    if let Some(plan) = patch.rate_plan {
        spec.rate_plan = plan;
    }
    if let Some(limit) = &patch.credit_limit {
        spec.credit_limit = credit(limit)?;
    }
    admin::put_tenant(&state.ledger, state.cache.store(), &spec).await?;
    tracing::info!(operator = ?operator.sub, %tenant, "tenant changed");
    hang_up_if_disabled(&state, was_disabled, &spec).await;
    Ok(Json(tenant_json(&state, &tenant).await?))
}

/// A tenant just disabled has its calls in progress hung up on every node.
async fn hang_up_if_disabled(state: &ApiState, was_disabled: bool, spec: &TenantSpec) {
    if spec.tenant.disabled
        && !was_disabled
        && let Some(worker) = &state.esl
    {
        let calls = worker.hang_up_tenant(&spec.tenant.tenant).await;
        tracing::info!(tenant = %spec.tenant.tenant, calls, "disabled: its calls were hung up");
    }
}

/// `GET /api/operator/plans`: the rate plans' ids and currencies.
pub(super) async fn plans(
    State(state): State<ApiState>,
    _operator: Operator,
) -> Result<Json<serde_json::Value>, ApiError> {
    let plans: Vec<_> = state
        .ledger
        .plan_ids()
        .await?
        .into_iter()
        .map(|(id, currency, decimals)| json!({"id": id, "currency": currency, "decimals": decimals}))
        .collect();
    Ok(Json(json!({ "plans": plans })))
}

/// The settings of a plan upload, in the query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PlanQuery {
    currency: String,
    decimals: u32,
    /// `up` (default), `half-up` or `down`.
    rounding: Option<String>,
    /// In force from (Unix seconds or ISO 8601); now by default.
    valid_from: Option<super::time::QueryTime>,
}

/// The largest rate plan CSV read (a few hundred thousand prefixes).
pub(super) const PLAN_MAX: usize = 16 * 1024 * 1024;

/// `PUT /api/operator/plans/{plan}?currency=EUR&decimals=2`: the body is the plan's CSV
/// (`prefix,name,rate_per_minute,connect_fee`...); a row that does not parse is refused with
/// its line number, and nothing is stored.
pub(super) async fn put_plan(
    State(state): State<ApiState>,
    Operator(operator): Operator,
    Path(plan): Path<String>,
    super::extract::Query(query): super::extract::Query<PlanQuery>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let body = body.map_err(|e| match e.status() {
        axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::TooLarge(format!("a rate plan is at most {PLAN_MAX} bytes"))
        }
        _ => ApiError::BadRequest(e.body_text()),
    })?;
    let rounding = match query.rounding.as_deref() {
        None => billing::Rounding::Up,
        Some(text) => billing::Rounding::parse(text)
            .ok_or_else(|| ApiError::BadRequest("rounding is up, half-up or down".into()))?,
    };
    let csv = String::from_utf8(body.to_vec())
        .map_err(|_| ApiError::BadRequest("a rate plan is UTF-8 CSV".into()))?;
    admin::import_plan(
        &state.ledger,
        &plan,
        &query.currency,
        query.decimals,
        rounding,
        csv,
        query.valid_from.map(|t| t.0.div_euclid(1_000_000)),
    )
    .await?;
    tracing::info!(operator = ?operator.sub, %plan, "rate plan imported");
    Ok(Json(
        json!({"id": plan, "currency": query.currency, "decimals": query.decimals}),
    ))
}

/// A tenant's user, as the operator sets it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UserBody {
    /// `admin` or `agent`.
    role: super::Role,
    /// The user's own extension (click-to-call rings it first); `null` for none.
    extension: Option<String>,
    /// At least 8 characters; stored only as an Argon2id hash.
    password: String,
}

/// `PUT /api/operator/tenants/{tenant}/users/{username}`: adds or replaces a tenant's user
/// (the tenant's first admin, typically); every token the user had is revoked.
pub(super) async fn put_user(
    State(state): State<ApiState>,
    Operator(operator): Operator,
    Path((tenant, username)): Path<(String, String)>,
    Body(body): Body<UserBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let user = super::ApiUser {
        tenant,
        username,
        role: body.role,
        extension: body.extension,
    };
    admin::check_user(state.cache.store(), &user, &body.password).await?;
    state.users.put(&user, &body.password).await?;
    tracing::info!(operator = ?operator.sub, tenant = %user.tenant, user = %user.username, "user saved");
    Ok(Json(json!({
        "tenant": user.tenant, "username": user.username,
        "role": user.role, "extension": user.extension,
    })))
}

/// Which tenant a DID is given to.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DidBody {
    tenant: String,
}

/// `PUT /api/operator/dids/{number}`: gives a number of the trunk to a tenant (whose admin
/// then routes it with `PUT /api/dids/{number}`); a DID is one tenant's only (409).
pub(super) async fn put_did(
    State(state): State<ApiState>,
    Operator(operator): Operator,
    Path(number): Path<String>,
    Body(body): Body<DidBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if state.cache.store().tenant(&body.tenant).await?.is_none() {
        return Err(ApiError::BadRequest(format!("no tenant {:?}", body.tenant)));
    }
    state.cache.store().put_did(&number, &body.tenant).await?;
    tracing::info!(operator = ?operator.sub, tenant = %body.tenant, did = %number, "DID given");
    Ok(Json(json!({ "number": number, "tenant": body.tenant })))
}

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi()]
pub(super) struct Routes;
