//! `POST /api/login`: credentials for a token. A tenant's user names the tenant; an operator
//! names none. Attempts are throttled per user and per address (429 with `Retry-After`), and
//! password hashes run a few at once.

use super::body::Body;
use super::users::TenantRole;
use super::{ApiError, ApiState, Caller, Role};
use crate::http::listener::peer_address;
use axum::Json;
use axum::extract::State;
use axum::http::{Extensions, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};

/// Longest tenant, user name or password accepted (a throttle key per attempt is kept).
const FIELD_MAX: usize = 128;

/// A user's credentials, each at most 128 characters.
// 128: `FIELD_MAX` (a schema attribute takes a literal).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"tenant": "demo", "username": "admin", "password": "demo-admin"}))]
pub(super) struct LoginRequest {
    /// The tenant; absent for an operator.
    #[serde(default)]
    #[schema(max_length = 128, nullable = false)]
    tenant: Option<String>,
    /// Checked for at most 128 characters (a stored user name is 1 to 64 letters, digits, `.`,
    /// `_`, `-`, `@`).
    #[schema(min_length = 1, max_length = 128)]
    username: String,
    #[schema(max_length = 128)]
    password: String,
}

/// Every [`Role`] (`admin`, `agent`, `operator`), for the description.
#[allow(dead_code)] // Names a schema only.
struct AnyRole;

impl utoipa::PartialSchema for AnyRole {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(
                [Role::Admin, Role::Agent, Role::Operator].map(Role::as_str),
            ))
            .into()
    }
}

impl ToSchema for AnyRole {}

/// A token and whom it is for.
#[derive(Serialize, ToSchema)]
pub(super) struct Login {
    token: String,
    /// Unix seconds.
    expires_at: u64,
    /// Empty for an operator.
    tenant: String,
    #[schema(value_type = AnyRole, inline)]
    role: Role,
    /// The user's extension (an agent's name).
    #[schema(required = true)]
    extension: Option<String>,
}

/// Exchanges a user's credentials for a token.
#[utoipa::path(
    post,
    path = "/api/login",
    tag = "login",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "A token", body = Login),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthorized),
        (status = 403, response = super::openapi::Forbidden),
        (status = 413, response = super::openapi::TooLarge),
        (status = 429, response = super::openapi::TooManyRequests),
        (status = 500, response = super::openapi::Internal),
        (status = 503, response = super::openapi::Unavailable),
    ),
)]
pub(super) async fn login(
    State(state): State<ApiState>,
    extensions: Extensions,
    Body(request): Body<LoginRequest>,
) -> Result<Json<Login>, ApiError> {
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
    Ok(Json(Login {
        token,
        expires_at,
        tenant: user.tenant,
        role: user.role,
        extension: user.extension,
    }))
}

/// Signs the token's user out everywhere: every token of theirs stops working, open sockets
/// close.
#[utoipa::path(
    post,
    path = "/api/logout",
    tag = "login",
    responses(
        (status = 204, description = "Signed out"),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn logout(
    State(state): State<ApiState>,
    Caller(claims): Caller,
) -> Result<StatusCode, ApiError> {
    state.users.revoke_tokens(&claims).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Whom a tenant's token is for and until when.
#[derive(Serialize, ToSchema)]
pub(super) struct Session {
    tenant: String,
    username: String,
    #[schema(value_type = TenantRole, inline)]
    role: Role,
    #[schema(required = true)]
    extension: Option<String>,
    /// Unix seconds.
    expires_at: u64,
}

/// Who the token is for and until when (401 when it is no longer good; an operator's token:
/// 403).
///
/// A page asks after its socket was refused: 401 means sign in again, anything else try again
/// later.
#[utoipa::path(
    get,
    path = "/api/session",
    tag = "login",
    responses(
        (status = 200, description = "The session", body = Session),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn session(Caller(claims): Caller) -> Json<Session> {
    Json(Session {
        tenant: claims.tenant,
        username: claims.sub,
        role: claims.role,
        extension: claims.extension,
        expires_at: claims.exp,
    })
}

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(login, session, logout))]
pub(super) struct Routes;
