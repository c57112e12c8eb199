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
use serde::Deserialize;
use serde_json::json;

/// `PUT`: the whole user.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UserBody {
    /// `admin` or `agent`.
    role: Role,
    /// The user's own extension (`null` for none).
    #[serde(deserialize_with = "super::fields::required")]
    extension: Option<String>,
    /// At least 8 characters.
    password: String,
}

fn user_json(user: &ApiUser) -> serde_json::Value {
    json!({ "username": user.username, "role": user.role, "extension": user.extension })
}

/// `GET /api/users`: the tenant's users.
pub(super) async fn users(
    State(state): State<ApiState>,
    Admin(admin): Admin,
) -> Result<Json<serde_json::Value>, ApiError> {
    let users = state.users.list(&admin.tenant).await?;
    let items: Vec<_> = users.iter().map(user_json).collect();
    Ok(Json(json!({ "users": items })))
}

/// `PUT /api/users/{username}`: adds or replaces one of the tenant's users.
pub(super) async fn put_user(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(username): Path<String>,
    Body(body): Body<UserBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
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
    Ok(Json(user_json(&user)))
}

/// `DELETE /api/users/{username}`: removes one of the tenant's users; their tokens stop.
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
#[openapi()]
pub(super) struct Routes;
