//! `POST /api/login`: credentials for a token. A tenant's user names the tenant; an operator
//! names none. Attempts are throttled per user and per address (429 with `Retry-After`), and
//! password hashes run a few at once.

use super::body::Body;
use super::{ApiError, ApiState, Caller};
use crate::http::listener::peer_address;
use axum::Json;
use axum::extract::State;
use axum::http::Extensions;
use serde::Deserialize;
use serde_json::json;

/// Longest tenant, user name or password accepted (a throttle key per attempt is kept).
const FIELD_MAX: usize = 128;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LoginRequest {
    /// The tenant; absent for an operator.
    #[serde(default)]
    tenant: Option<String>,
    username: String,
    password: String,
}

pub(super) async fn login(
    State(state): State<ApiState>,
    extensions: Extensions,
    Body(request): Body<LoginRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let tenant = request.tenant.unwrap_or_default();
    if [&tenant, &request.username, &request.password]
        .iter()
        .any(|field| field.len() > FIELD_MAX)
        || request.username.is_empty()
    {
        return Err(ApiError::BadRequest(format!(
            "a user name is 1 to {FIELD_MAX} characters, as are a tenant and a password"
        )));
    }
    // Behind a proxy every caller has the proxy's address: the per-user limit still holds.
    let address = peer_address(&extensions);
    state
        .limits
        .login_attempt(&format!("{tenant}/{}", request.username), address)?;
    let (user, version) = state
        .users
        .login(&tenant, &request.username, &request.password)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("wrong tenant, user or password".into()))?;
    // Said only to who knows the password: a disabled tenant's users get no token.
    if user.role != super::Role::Operator
        && state
            .cache
            .tenant(&user.tenant)
            .await?
            .is_none_or(|tenant| tenant.disabled)
    {
        return Err(ApiError::Forbidden("the tenant is disabled".into()));
    }
    let (token, expires_at) = state.tokens.issue(&user, version);
    Ok(Json(json!({
        "token": token,
        "expires_at": expires_at,
        "tenant": user.tenant,
        "role": user.role,
        "extension": user.extension,
    })))
}

/// `POST /api/logout`: signs the token's user out everywhere (every token of theirs stops
/// working, open sockets close).
pub(super) async fn logout(
    State(state): State<ApiState>,
    Caller(claims): Caller,
) -> Result<axum::http::StatusCode, ApiError> {
    state.users.revoke_tokens(&claims).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// `GET /api/session`: who the token is for and until when (a page asks after its socket was
/// refused: 401 means sign in again, anything else try again later).
pub(super) async fn session(Caller(claims): Caller) -> Json<serde_json::Value> {
    Json(json!({
        "tenant": claims.tenant,
        "username": claims.sub,
        "role": claims.role,
        "extension": claims.extension,
        "expires_at": claims.exp,
    }))
}

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi()]
pub(super) struct Routes;
