//! `POST /api/login`: credentials for a token.

use super::body::Body;
use super::{ApiError, ApiState};
use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
pub(super) struct LoginRequest {
    tenant: String,
    username: String,
    password: String,
}

pub(super) async fn login(
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
