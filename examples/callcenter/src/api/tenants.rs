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
use platform::store::Tenant as TenantRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// `PUT`: the whole tenant, every field required (`null` where allowed).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "domain": "acme.example.com",
    "context": "acme",
    "rate_plan": "demo",
    "prepaid": true,
    "credit_limit": "0",
    "record_calls": false,
    "time_zone": "Europe/Paris",
    "trunk": null,
    "disabled": false
}))]
pub(super) struct TenantBody {
    /// Its SIP domain.
    domain: String,
    /// Its dialplan context (not public).
    context: String,
    /// An existing rate plan; an existing account keeps its currency (409 for a plan in
    /// another).
    rate_plan: String,
    prepaid: bool,
    /// Zero or more, in the plan's currency, with at most its decimals, as text (`"0"`,
    /// `"50.00"`).
    #[schema(pattern = r"^[0-9]{1,12}(\.[0-9]{1,6})?$")]
    credit_limit: String,
    record_calls: bool,
    /// IANA (Europe/Paris); null: UTC.
    #[serde(deserialize_with = "super::fields::required")]
    #[schema(required = true)]
    time_zone: Option<String>,
    /// An existing trunk its outside calls leave by (`null`: none, such calls are refused).
    #[serde(deserialize_with = "super::fields::required")]
    #[schema(required = true)]
    trunk: Option<String>,
    disabled: bool,
}

/// `PATCH`: what changes (a field left out is kept; `null` clears the time zone or trunk).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"record_calls": true, "credit_limit": "50.00"}))]
pub(super) struct TenantPatch {
    /// Its SIP domain.
    #[schema(nullable = false)]
    domain: Option<String>,
    /// Its dialplan context (not public).
    #[schema(nullable = false)]
    context: Option<String>,
    /// An existing rate plan; an existing account keeps its currency (409 for a plan in
    /// another).
    #[schema(nullable = false)]
    rate_plan: Option<String>,
    #[schema(nullable = false)]
    prepaid: Option<bool>,
    /// Zero or more, in the plan's currency, with at most its decimals (`"0"`, `"50.00"`).
    #[schema(nullable = false, pattern = r"^[0-9]{1,12}(\.[0-9]{1,6})?$")]
    credit_limit: Option<String>,
    #[schema(nullable = false)]
    record_calls: Option<bool>,
    /// IANA (Europe/Paris); null: UTC.
    #[serde(default, deserialize_with = "super::fields::present")]
    time_zone: Option<Option<String>>,
    /// An existing trunk its outside calls leave by; null: none.
    #[serde(default, deserialize_with = "super::fields::present")]
    trunk: Option<Option<String>>,
    #[schema(nullable = false)]
    disabled: Option<bool>,
}

/// A tenant and its account.
#[derive(Serialize, ToSchema)]
pub(super) struct Tenant {
    tenant: String,
    /// Its SIP domain.
    domain: String,
    /// Its dialplan context.
    context: String,
    /// The plan its calls are charged by (empty without an account).
    rate_plan: String,
    prepaid: bool,
    /// How far below zero the balance may go, in the plan's currency.
    credit_limit: String,
    record_calls: bool,
    /// IANA (Europe/Paris); null: UTC.
    #[schema(required = true)]
    time_zone: Option<String>,
    /// The trunk its outside calls leave by; null: none, such calls are refused.
    #[schema(required = true)]
    trunk: Option<String>,
    /// A disabled tenant keeps its data; its users are not served and its calls are refused.
    disabled: bool,
    /// null without an account.
    #[schema(required = true)]
    balance: Option<String>,
}

impl Tenant {
    /// A tenant as `spec` sets it, with its account's `balance`.
    fn new(spec: TenantSpec, balance: Option<billing::Balance>) -> Self {
        let t = spec.tenant;
        Tenant {
            tenant: t.tenant,
            domain: t.domain,
            context: t.context,
            rate_plan: spec.rate_plan,
            prepaid: t.prepaid,
            credit_limit: money(spec.credit_limit),
            record_calls: t.record_calls,
            time_zone: t.time_zone,
            trunk: t.gateway,
            disabled: t.disabled,
            balance: balance.map(|b| money(b.balance)),
        }
    }
}

/// A tenant in the list: what it is, without its account.
#[derive(Serialize, ToSchema)]
pub(super) struct TenantSummary {
    tenant: String,
    domain: String,
    context: String,
    prepaid: bool,
    #[schema(required = true)]
    trunk: Option<String>,
    disabled: bool,
}

impl From<&TenantRow> for TenantSummary {
    fn from(t: &TenantRow) -> Self {
        TenantSummary {
            tenant: t.tenant.clone(),
            domain: t.domain.clone(),
            context: t.context.clone(),
            prepaid: t.prepaid,
            trunk: t.gateway.clone(),
            disabled: t.disabled,
        }
    }
}

/// Every tenant, by id.
#[derive(Serialize, ToSchema)]
pub(super) struct TenantList {
    tenants: Vec<TenantSummary>,
}

/// A rate plan's id and currency.
#[derive(Serialize, ToSchema)]
pub(super) struct Plan {
    id: String,
    /// ISO 4217 (EUR).
    currency: String,
    #[schema(minimum = 0, maximum = 6)]
    decimals: u32,
}

/// The rate plans, by id.
#[derive(Serialize, ToSchema)]
pub(super) struct PlanList {
    plans: Vec<Plan>,
}

/// The path parameter of one tenant.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Read by the description only.
struct TenantId {
    /// The tenant's id.
    #[param(pattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", example = "acme")]
    tenant: String,
}

/// The path parameters of a tenant's user.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Read by the description only.
struct TenantUserName {
    /// The tenant's id.
    #[param(pattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", example = "demo")]
    tenant: String,
    /// 1 to 64 letters, digits, '.', '_', '-' or '@'.
    #[param(pattern = "^[A-Za-z0-9._@-]{1,64}$", example = "alice")]
    username: String,
}

/// The path parameter of a DID given to a tenant.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Read by the description only.
struct DidNumber {
    /// The DID as the trunk presents it: 7 or more digits, optionally after one leading +.
    #[param(pattern = r"^(\+[0-9]{7,31}|[0-9]{7,32})$", example = "+15551230000")]
    number: String,
}

/// The path parameter of one rate plan.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Read by the description only.
struct PlanId {
    /// The plan's id: 1 to 64 letters, digits, '_', '-' or '.'.
    #[param(pattern = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$", example = "standard")]
    plan: String,
}

fn credit(text: &str) -> Result<billing::Decimal, ApiError> {
    billing::parse_amount(text).map_err(|e| ApiError::BadRequest(e.to_string()))
}

/// `tenant` and its account, as stored.
async fn stored(state: &ApiState, tenant: &str) -> Result<Tenant, ApiError> {
    let (spec, balance) = admin::tenant(&state.ledger, state.cache.store(), tenant)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Tenant::new(spec, balance))
}

/// Every tenant, by id (operators only).
#[utoipa::path(
    get,
    path = "/api/operator/tenants",
    tag = "operator",
    responses(
        (status = 200, description = "Tenants", body = TenantList),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn tenants(
    State(state): State<ApiState>,
    _operator: Operator,
) -> Result<Json<TenantList>, ApiError> {
    let tenants = state.cache.store().tenants().await?;
    let tenants = tenants.iter().map(TenantSummary::from).collect();
    Ok(Json(TenantList { tenants }))
}

/// A tenant and its account (operators only).
#[utoipa::path(
    get,
    path = "/api/operator/tenants/{tenant}",
    tag = "operator",
    params(TenantId),
    responses(
        (status = 200, description = "The tenant", body = Tenant),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        (status = 500, response = super::openapi::Internal),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn tenant(
    State(state): State<ApiState>,
    _operator: Operator,
    Path(tenant): Path<String>,
) -> Result<Json<Tenant>, ApiError> {
    Ok(Json(stored(&state, &tenant).await?))
}

/// Adds or replaces a tenant and its account (operators only): every field is required (null
/// for no time zone or trunk); the trunk and the rate plan must exist.
#[utoipa::path(
    put,
    path = "/api/operator/tenants/{tenant}",
    tag = "operator",
    params(TenantId),
    request_body = TenantBody,
    responses(
        (status = 200, description = "The tenant as stored", body = Tenant),
        (status = 400, response = super::openapi::BadRequest),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        (status = 500, response = super::openapi::Internal),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn put_tenant(
    State(state): State<ApiState>,
    Operator(operator): Operator,
    Path(tenant): Path<String>,
    Body(body): Body<TenantBody>,
) -> Result<Json<Tenant>, ApiError> {
    let existing = state.cache.store().tenant(&tenant).await?;
    let existing_disabled = existing.as_ref().is_some_and(|t| t.disabled);
    let spec = TenantSpec {
        tenant: TenantRow {
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
    Ok(Json(stored(&state, &tenant).await?))
}

/// Changes the fields given of a tenant (operators only); `{"disabled": true}` disables it
/// (its data is kept, its users are not served, its calls are refused).
#[utoipa::path(
    patch,
    path = "/api/operator/tenants/{tenant}",
    tag = "operator",
    params(TenantId),
    request_body = TenantPatch,
    responses(
        (status = 200, description = "The tenant as stored", body = Tenant),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        (status = 500, response = super::openapi::Internal),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn patch_tenant(
    State(state): State<ApiState>,
    Operator(operator): Operator,
    Path(tenant): Path<String>,
    Body(patch): Body<TenantPatch>,
) -> Result<Json<Tenant>, ApiError> {
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
    Ok(Json(stored(&state, &tenant).await?))
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

/// The rate plans' ids and currencies (operators only).
#[utoipa::path(
    get,
    path = "/api/operator/plans",
    tag = "operator",
    responses(
        (status = 200, description = "Plans", body = PlanList),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn plans(
    State(state): State<ApiState>,
    _operator: Operator,
) -> Result<Json<PlanList>, ApiError> {
    let plans = state
        .ledger
        .plan_ids()
        .await?
        .into_iter()
        .map(|(id, currency, decimals)| Plan {
            id,
            currency,
            decimals,
        })
        .collect();
    Ok(Json(PlanList { plans }))
}

/// The settings of a plan upload, in the query.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct PlanQuery {
    /// ISO 4217 code (EUR).
    #[param(example = "EUR")]
    currency: String,
    /// The currency's decimals, 0 to 6.
    #[param(minimum = 0, maximum = 6, example = 2)]
    decimals: u32,
    /// How a call's price is rounded to the decimals: `up` (default), `half-up` or `down`.
    #[param(schema_with = rounding_schema, example = "up")]
    rounding: Option<String>,
    /// In force from (Unix seconds, or ISO 8601 / RFC 3339 with an offset); now by default.
    /// Calls answered before keep the version they were answered under; a version cannot
    /// start before the one in force (409).
    #[param(value_type = Option<String>, nullable = false, example = "2027-01-01T00:00:00Z")]
    valid_from: Option<super::time::QueryTime>,
}

/// A plan upload's `rounding`: `up` (the default), `half-up` or `down`.
fn rounding_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["up", "half-up", "down"]))
        .default(Some("up".into()))
        .build()
        .into()
}

/// The largest rate plan CSV read (a few hundred thousand prefixes).
pub(super) const PLAN_MAX: usize = 16 * 1024 * 1024;

/// Imports a rate plan from CSV, replacing the plan of that id (operators only): the body is
/// the plan's CSV (`prefix,name,rate_per_minute,connect_fee`...); a row that does not parse is
/// refused (400, with its line number) and nothing is stored.
#[utoipa::path(
    put,
    path = "/api/operator/plans/{plan}",
    tag = "operator",
    params(PlanId, PlanQuery),
    request_body(
        content = String,
        content_type = "text/csv",
        description = "UTF-8 CSV, at most 16 MiB: a header line, then rows \
            `prefix,name,rate_per_minute,connect_fee` (an empty prefix matches every number)",
        example = json!("prefix,name,rate_per_minute,connect_fee\n33,France,0.02,0\n,Everywhere,0.10,0.05\n"),
    ),
    responses(
        (status = 200, description = "The plan", body = Plan),
        (status = 400, response = super::openapi::BadRequest),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        (status = 500, response = super::openapi::Internal),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn put_plan(
    State(state): State<ApiState>,
    Operator(operator): Operator,
    Path(plan): Path<String>,
    super::extract::Query(query): super::extract::Query<PlanQuery>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Plan>, ApiError> {
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
    Ok(Json(Plan {
        id: plan,
        currency: query.currency,
        decimals: query.decimals,
    }))
}

/// A tenant's user, as the operator sets it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "agent", "extension": "1001", "password": "alice-password"}))]
pub(super) struct TenantUserBody {
    /// `admin` or `agent`.
    #[schema(schema_with = role_schema)]
    role: super::Role,
    /// One of the tenant's extensions, the user's own (click-to-call rings it first); null
    /// for none.
    #[serde(deserialize_with = "super::fields::required")]
    #[schema(required = true)]
    extension: Option<String>,
    /// At least 8 characters; stored only as an Argon2id hash.
    #[schema(write_only, min_length = 8)]
    password: String,
}

/// A tenant user's `role`: `admin` or `agent` (an operator is no tenant's user).
fn role_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["admin", "agent"]))
        .build()
        .into()
}

/// A tenant's user as set.
#[derive(Serialize, ToSchema)]
pub(super) struct TenantUser {
    tenant: String,
    username: String,
    #[schema(schema_with = role_schema)]
    role: super::Role,
    /// The user's own extension; null for none.
    #[schema(required = true)]
    extension: Option<String>,
}

/// Adds or replaces a tenant's API user (operators only; the tenant's first admin, typically);
/// every token the user had is revoked.
#[utoipa::path(
    put,
    path = "/api/operator/tenants/{tenant}/users/{username}",
    tag = "operator",
    params(TenantUserName),
    request_body = TenantUserBody,
    responses(
        (status = 200, description = "The user", body = TenantUser),
        (status = 400, response = super::openapi::BadRequest),
        (status = 413, response = super::openapi::TooLarge),
        (status = 429, response = super::openapi::TooManyRequests),
        (status = 500, response = super::openapi::Internal),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn put_user(
    State(state): State<ApiState>,
    Operator(operator): Operator,
    Path((tenant, username)): Path<(String, String)>,
    Body(body): Body<TenantUserBody>,
) -> Result<Json<TenantUser>, ApiError> {
    let user = super::ApiUser {
        tenant,
        username,
        role: body.role,
        extension: body.extension,
    };
    admin::check_user(state.cache.store(), &user, &body.password).await?;
    state.users.put(&user, &body.password).await?;
    tracing::info!(operator = ?operator.sub, tenant = %user.tenant, user = %user.username, "user saved");
    Ok(Json(TenantUser {
        tenant: user.tenant,
        username: user.username,
        role: user.role,
        extension: user.extension,
    }))
}

/// Which tenant a DID is given to.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"tenant": "demo"}))]
pub(super) struct DidGrantBody {
    /// An existing tenant.
    tenant: String,
}

/// A DID and the tenant it is given to.
#[derive(Serialize, ToSchema)]
pub(super) struct DidGrant {
    number: String,
    tenant: String,
}

/// Gives a DID, a number of the trunk, to a tenant (operators only), whose admin then routes
/// it with PUT /api/dids/{number}; a DID is one tenant's only (409).
#[utoipa::path(
    put,
    path = "/api/operator/dids/{number}",
    tag = "operator",
    params(DidNumber),
    request_body = DidGrantBody,
    responses(
        (status = 200, description = "The DID", body = DidGrant),
        (status = 400, response = super::openapi::BadRequest),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn put_did(
    State(state): State<ApiState>,
    Operator(operator): Operator,
    Path(number): Path<String>,
    Body(body): Body<DidGrantBody>,
) -> Result<Json<DidGrant>, ApiError> {
    if state.cache.store().tenant(&body.tenant).await?.is_none() {
        return Err(ApiError::BadRequest(format!("no tenant {:?}", body.tenant)));
    }
    state.cache.store().put_did(&number, &body.tenant).await?;
    tracing::info!(operator = ?operator.sub, tenant = %body.tenant, did = %number, "DID given");
    Ok(Json(DidGrant {
        number,
        tenant: body.tenant,
    }))
}

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    tenants,
    tenant,
    put_tenant,
    patch_tenant,
    plans,
    put_plan,
    put_user,
    put_did
))]
pub(super) struct Routes;
