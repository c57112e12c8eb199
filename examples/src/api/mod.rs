//! The REST API, the WebSocket of live call events and the live page.
//!
//! Every route but `POST /api/login`, `GET /api/openapi.json` and `GET /live` wants
//! `Authorization: Bearer <token>` (`/ws` takes `?token=`, as browsers cannot set headers on a
//! WebSocket); a token is for one tenant, and every route answers with that tenant's data only.
//! The routes are described in `openapi.json` (served at `/api/openapi.json`).

mod auth;
mod ws;

pub use auth::{ApiUser, Caller, Claims, Role, Tokens, Users};

use crate::calls::Call;
use crate::esl_worker::{EslWorker, NodeError};
use crate::events::Hub;
use crate::platform::{ExtensionRow, PlatformStore};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use billing::{Decimal, Ledger};
use esl::api::{Destination as Dialplan, Endpoint, Originate};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;

/// The OpenAPI description of the REST routes.
pub const OPENAPI: &str = include_str!("openapi.json");

/// The live page.
pub const LIVE_PAGE: &str = include_str!("live.html");

/// Why a request failed; each maps to a status and a JSON body `{"error": "..."}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no token, a bad or expired one, or wrong credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the role does not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// 404 (also for another tenant's things).
    #[error("not found")]
    NotFound,
    /// 503: FreeSWITCH or the database is unavailable.
    #[error("{0}")]
    Unavailable(String),
    /// 500.
    #[error("{0}")]
    Internal(String),
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        ApiError::Unavailable(format!("database: {error}"))
    }
}

impl From<billing::LedgerError> for ApiError {
    fn from(error: billing::LedgerError) -> Self {
        match error {
            billing::LedgerError::Database(e) => e.into(),
            billing::LedgerError::UnknownTenant(_) => ApiError::NotFound,
            billing::LedgerError::Amount(_) => ApiError::BadRequest(error.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<crate::platform::PlatformError> for ApiError {
    fn from(error: crate::platform::PlatformError) -> Self {
        ApiError::Unavailable(error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::warn!(%status, error = %self, "API request failed");
        }
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

/// What the API serves from.
#[derive(Clone)]
pub struct ApiState {
    /// Token issuer.
    pub tokens: Tokens,
    /// API users.
    pub users: Users,
    /// The ledger (CDRs, balances, recordings).
    pub ledger: Ledger,
    /// Tenants and extensions (writes invalidate the xml_curl cache).
    pub store: PlatformStore,
    /// Live calls and FreeSWITCH access; `None` when the ESL worker does not run here.
    pub esl: Option<EslWorker>,
    /// Call events.
    pub hub: Hub,
    /// Where recordings are.
    pub recordings: Option<recording::Destination>,
    /// How long a pre-signed download URL lives.
    pub download_ttl: Duration,
}

/// The API's routes: `/api/...`, `/ws` and `/live`.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/login", post(login))
        .route("/api/openapi.json", get(openapi))
        .route("/api/calls", get(active_calls).post(click_to_call))
        .route("/api/cdrs", get(cdrs))
        .route("/api/recordings/{call_uuid}", get(recordings))
        .route("/api/recordings/{call_uuid}/{index}", get(download))
        .route("/api/extensions", get(extensions))
        .route(
            "/api/extensions/{extension}",
            get(extension).put(put_extension).delete(delete_extension),
        )
        .route("/api/balance", get(balance))
        .route("/api/topups", post(top_up))
        .route("/ws", get(ws::upgrade))
        .route("/live", get(live_page))
        .with_state(state)
}

async fn openapi() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
}

async fn live_page() -> impl IntoResponse {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                axum::http::header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
            ),
        ],
        LIVE_PAGE,
    )
}

/// JSON bodies: a malformed one is a 400 with the reason, not axum's plain-text rejection.
struct Body<T>(T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        serde_json::from_slice(&bytes)
            .map(Body)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
    }
}

#[derive(Deserialize)]
struct LoginRequest {
    tenant: String,
    username: String,
    password: String,
}

async fn login(
    State(state): State<ApiState>,
    Body(request): Body<LoginRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let user = state
        .users
        .login(&request.tenant, &request.username, &request.password)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("wrong tenant, user or password".into()))?;
    let (token, expires_at) = state.tokens.issue(
        &user.username,
        &user.tenant,
        user.role,
        user.extension.clone(),
    );
    Ok(Json(json!({
        "token": token,
        "expires_at": expires_at,
        "tenant": user.tenant,
        "role": user.role,
    })))
}

fn esl(state: &ApiState) -> Result<&EslWorker, ApiError> {
    state
        .esl
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("no FreeSWITCH node is configured".into()))
}

async fn active_calls(
    State(state): State<ApiState>,
    Caller(claims): Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    let calls: Vec<Call> = esl(&state)?.active_calls(&claims.tenant);
    Ok(Json(json!({ "calls": calls })))
}

#[derive(Deserialize)]
struct CallRequest {
    /// The number to call.
    to: String,
    /// The extension to ring first; an agent's own by default.
    from: Option<String>,
    /// The node to originate on; the first by default.
    node: Option<String>,
}

/// Click-to-call: rings `from` (one of the tenant's extensions); once answered, it is connected
/// to `to` through the tenant's dialplan context (so prepaid limits and recording apply).
/// Answers 202 with the call's UUID as soon as FreeSWITCH has accepted the job.
async fn click_to_call(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Body(request): Body<CallRequest>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let from = match (&request.from, &claims.extension, claims.role) {
        (Some(from), Some(own), Role::Agent) if from != own => {
            return Err(ApiError::Forbidden(
                "agents call from their own extension".into(),
            ));
        }
        (Some(from), _, _) => from.clone(),
        (None, Some(own), _) => own.clone(),
        (None, None, _) => return Err(ApiError::BadRequest("`from` is required".into())),
    };
    let valid = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '+' | '*' | '#' | '-' | '.' | '_')
            })
    };
    if !valid(&request.to) || !valid(&from) {
        return Err(ApiError::BadRequest(
            "`to` and `from` are numbers or extension names".into(),
        ));
    }
    let tenant = state
        .store
        .tenant(&claims.tenant)
        .await?
        .ok_or(ApiError::NotFound)?;
    if state
        .store
        .extension(&tenant.tenant, &from)
        .await?
        .is_none()
    {
        return Err(ApiError::BadRequest(format!(
            "{from} is not an extension of this tenant"
        )));
    }
    let uuid = uuid::Uuid::new_v4().to_string();
    let originate = Originate::new(
        Endpoint::User {
            user: from.clone(),
            domain: Some(tenant.domain.clone()),
        },
        Dialplan::Extension {
            extension: request.to.clone(),
            dialplan: Some("XML".into()),
            context: Some(tenant.context.clone()),
        },
    )
    .variable("origination_uuid", &uuid)
    .variable("origination_caller_id_number", &request.to)
    .variable("tenant_id", &tenant.tenant)
    .variable("callcenter_click_to_call", &claims.sub);
    let client = esl(&state)?
        .client(request.node.as_deref())
        .map_err(|e| match e {
            NodeError::UnknownNode(_) => ApiError::BadRequest(e.to_string()),
            other => ApiError::Unavailable(other.to_string()),
        })?;
    // bgapi: FreeSWITCH accepts the job at once; the call's progress (or its failure) comes
    // as call events on /ws, under this UUID.
    let command = originate
        .to_command()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let job = uuid::Uuid::new_v4().to_string();
    let reply = client
        .send(&esl::proto::Command::BgApi {
            command: &command,
            job_uuid: Some(&job),
        })
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let text = reply.reply_text().unwrap_or_default();
    if !text.starts_with("+OK") {
        return Err(ApiError::Unavailable(format!(
            "FreeSWITCH refused the originate: {}",
            text.trim()
        )));
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "uuid": uuid, "job_uuid": job, "from": from, "to": request.to })),
    ))
}

#[derive(Deserialize)]
struct CdrQuery {
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
    leg: String,
    start_us: Option<i64>,
    billsec: i64,
    destination: Option<String>,
    outcome: String,
    amount: Option<String>,
}

async fn cdrs(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Query(query): Query<CdrQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest("limit is 1 to 1000".into()));
    }
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
    let next = (rows.len() == limit as usize)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
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

async fn tenant_recordings(
    state: &ApiState,
    tenant: &str,
    call_uuid: &str,
) -> Result<Vec<billing::RecordingRecord>, ApiError> {
    let all = state.ledger.recordings(call_uuid).await?;
    Ok(all.into_iter().filter(|r| r.tenant == tenant).collect())
}

async fn recordings(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Path(call_uuid): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let found = tenant_recordings(&state, &claims.tenant, &call_uuid).await?;
    let items: Vec<serde_json::Value> = found
        .iter()
        .enumerate()
        .map(|(index, r)| {
            json!({
                "index": index,
                "key": r.object_key,
                "size_bytes": r.size_bytes,
                "duration_ms": r.duration_ms,
                "sha256": r.sha256,
                "download": format!("/api/recordings/{call_uuid}/{index}"),
            })
        })
        .collect();
    Ok(Json(json!({ "recordings": items })))
}

/// A pre-signed URL (S3: 307 to it) or the MP3 streamed from the local store.
async fn download(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Path((call_uuid, index)): Path<(String, usize)>,
) -> Result<Response, ApiError> {
    let found = tenant_recordings(&state, &claims.tenant, &call_uuid).await?;
    let record = found.get(index).ok_or(ApiError::NotFound)?;
    let destination = state
        .recordings
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("no recording store here".into()))?;
    if let Some(url) = destination
        .signed_download(&record.object_key, state.download_ttl)
        .await
    {
        let url = url.map_err(|e| ApiError::Unavailable(e.to_string()))?;
        return Ok(Redirect::temporary(&url).into_response());
    }
    let path = object_store::path::Path::parse(&record.object_key)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    use object_store::ObjectStoreExt;
    let object = destination.store().get(&path).await.map_err(|e| match e {
        object_store::Error::NotFound { .. } => ApiError::NotFound,
        other => ApiError::Unavailable(other.to_string()),
    })?;
    let size = object.meta.size;
    let body = axum::body::Body::from_stream(object.into_stream());
    let name = format!("{call_uuid}-{index}.mp3");
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "audio/mpeg".to_owned()),
            (axum::http::header::CONTENT_LENGTH, size.to_string()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

#[derive(Serialize, Deserialize)]
struct ExtensionBody {
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    caller_id_name: Option<String>,
    #[serde(default)]
    caller_id_number: Option<String>,
    #[serde(default)]
    record_calls: bool,
}

fn extension_json(row: &ExtensionRow) -> serde_json::Value {
    // Passwords are write-only.
    json!({
        "extension": row.extension,
        "caller_id_name": row.caller_id_name,
        "caller_id_number": row.caller_id_number,
        "record_calls": row.record_calls,
        "has_password": row.password.is_some() || row.a1_hash.is_some(),
    })
}

async fn extensions(
    State(state): State<ApiState>,
    Caller(claims): Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    let rows = state.store.extensions(&claims.tenant).await?;
    let items: Vec<_> = rows.iter().map(extension_json).collect();
    Ok(Json(json!({ "extensions": items })))
}

async fn extension(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Path(extension): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let row = state
        .store
        .extension(&claims.tenant, &extension)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(extension_json(&row)))
}

async fn put_extension(
    State(state): State<ApiState>,
    caller: Caller,
    Path(extension): Path<String>,
    Body(body): Body<ExtensionBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.admin()?;
    let valid = !extension.is_empty()
        && extension.len() <= 32
        && extension
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid {
        return Err(ApiError::BadRequest(
            "an extension is 1 to 32 letters, digits, '-', '_' or '.'".into(),
        ));
    }
    let tenant = caller.0.tenant;
    let existing = state.store.extension(&tenant, &extension).await?;
    let password = match (body.password, &existing) {
        (Some(p), _) if p.len() < 8 => {
            return Err(ApiError::BadRequest(
                "a SIP password has at least 8 characters".into(),
            ));
        }
        (Some(p), _) => Some(p),
        (None, Some(row)) => row.password.clone(),
        (None, None) => {
            return Err(ApiError::BadRequest(
                "a new extension needs a password".into(),
            ));
        }
    };
    let row = ExtensionRow {
        tenant,
        extension,
        a1_hash: existing.as_ref().and_then(|r| r.a1_hash.clone()),
        password,
        caller_id_name: body.caller_id_name,
        caller_id_number: body.caller_id_number,
        record_calls: body.record_calls,
    };
    state.store.put_extension(&row).await?;
    Ok(Json(extension_json(&row)))
}

async fn delete_extension(
    State(state): State<ApiState>,
    caller: Caller,
    Path(extension): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.admin()?;
    if state
        .store
        .delete_extension(&caller.0.tenant, &extension)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

async fn balance(
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
struct TopUpRequest {
    /// A decimal amount, as text (`"10.00"`).
    amount: String,
    /// The payment's reference: a retried top-up with the same reference adds once.
    reference: String,
}

async fn top_up(
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
fn money(amount: Decimal) -> String {
    let mut amount = amount.normalize();
    if amount.scale() < 2 {
        amount.rescale(2);
    }
    amount.to_string()
}
