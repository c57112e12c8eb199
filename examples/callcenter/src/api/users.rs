//! `/api/users`: a tenant's API users (admins and agents), managed by its admins. Passwords
//! are write-only (stored as Argon2id hashes); a change of password, role or extension revokes
//! the user's tokens. An admin cannot remove or demote themselves (the tenant would be left
//! without whoever can undo it).

use super::body::Body;
use super::extract::Path;
use super::{Admin, ApiError, ApiState, ApiUser, Role};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};

/// The roles a tenant's user has (`admin`, `agent`: a [`Role`] but the operator's), for the
/// description.
#[allow(dead_code)] // Names a schema only.
pub(super) struct TenantRole;

impl utoipa::PartialSchema for TenantRole {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some([Role::Admin, Role::Agent].map(Role::as_str)))
            .into()
    }
}

impl ToSchema for TenantRole {}

/// `PUT`: the whole user.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "agent", "extension": "1001", "password": "alice-password"}))]
pub(super) struct UserBody {
    #[schema(value_type = TenantRole, inline)]
    role: Role,
    /// One of the tenant's extensions, the user's own (click-to-call rings it first); null for
    /// none.
    #[serde(deserialize_with = "super::fields::required")]
    #[schema(required = true)]
    extension: Option<String>,
    /// At least 8 characters; stored only as an Argon2id hash.
    #[schema(write_only, min_length = 8)]
    password: String,
}

/// One of the tenant's API users as the API shows it: never a password.
#[derive(Serialize, ToSchema)]
pub(super) struct User {
    username: String,
    #[schema(value_type = TenantRole, inline)]
    role: Role,
    #[schema(required = true)]
    extension: Option<String>,
}

impl From<&ApiUser> for User {
    fn from(user: &ApiUser) -> Self {
        User {
            username: user.username.clone(),
            role: user.role,
            extension: user.extension.clone(),
        }
    }
}

/// The tenant's users.
#[derive(Serialize, ToSchema)]
pub(super) struct UserList {
    users: Vec<User>,
}

/// The path parameter of one user.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Read by the description only.
struct UserName {
    /// The user name: 1 to 64 letters, digits, '.', '_', '-', '@'.
    #[param(pattern = "^[A-Za-z0-9._@-]{1,64}$", example = "alice")]
    username: String,
}

/// The tenant's API users (admins): names, roles and extensions, never passwords.
#[utoipa::path(
    get,
    path = "/api/users",
    tag = "users",
    responses(
        (status = 200, description = "The users", body = UserList),
        (status = 400, response = super::openapi::BadRequest),
        (status = 500, response = super::openapi::Internal),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn users(
    State(state): State<ApiState>,
    Admin(admin): Admin,
) -> Result<Json<UserList>, ApiError> {
    let users = state.users.list(&admin.tenant).await?;
    let users = users.iter().map(User::from).collect();
    Ok(Json(UserList { users }))
}

/// Adds or replaces one of the tenant's API users (admins); every token the user had is
/// revoked; an admin cannot demote themselves (409).
#[utoipa::path(
    put,
    path = "/api/users/{username}",
    tag = "users",
    params(UserName),
    request_body = UserBody,
    responses(
        (status = 200, description = "The user", body = User),
        (status = 400, response = super::openapi::BadRequest),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        (status = 429, response = super::openapi::TooManyRequests),
        (status = 500, response = super::openapi::Internal),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn put_user(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(username): Path<String>,
    Body(body): Body<UserBody>,
) -> Result<Json<User>, ApiError> {
    if username == admin.sub && body.role != Role::Admin {
        return Err(ApiError::Conflict(
            "an admin cannot demote themselves".into(),
        ));
    }
    let user = ApiUser {
        tenant: admin.tenant.clone(),
        username,
        role: body.role,
        extension: body.extension,
    };
    crate::admin::check_user(state.cache.store(), &user, &body.password).await?;
    state.users.put(&user, &body.password).await?;
    tracing::info!(admin = %admin.sub, tenant = %user.tenant, user = %user.username, "user saved");
    Ok(Json(User::from(&user)))
}

/// Removes one of the tenant's API users (admins); their tokens stop working; an admin cannot
/// remove themselves (409).
#[utoipa::path(
    delete,
    path = "/api/users/{username}",
    tag = "users",
    params(UserName),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        (status = 409, response = super::openapi::Conflict),
        (status = 500, response = super::openapi::Internal),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn delete_user(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(username): Path<String>,
) -> Result<StatusCode, ApiError> {
    if username == admin.sub {
        return Err(ApiError::Conflict(
            "an admin cannot remove themselves".into(),
        ));
    }
    let found = state.users.delete(&admin.tenant, &username).await?;
    super::removed(found)
}

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(users, put_user, delete_user))]
pub(super) struct Routes;
