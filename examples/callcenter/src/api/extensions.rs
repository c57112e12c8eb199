//! `/api/extensions`: the tenant's SIP users (writes reach FreeSWITCH's next directory lookup).

use super::body::Body;
use super::page::{Page, next};
use super::{Admin, ApiError, ApiState, Caller};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use platform::store::ExtensionRow;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Serialize, Deserialize)]
pub(super) struct ExtensionBody {
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
    // Passwords are write-only (and only their a1-hash is stored).
    json!({
        "extension": row.extension,
        "caller_id_name": row.caller_id_name,
        "caller_id_number": row.caller_id_number,
        "record_calls": row.record_calls,
        "has_password": row.password.is_some() || row.a1_hash.is_some(),
    })
}

pub(super) async fn extensions(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Query(page): Query<Page>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let limit = page.limit()?;
    let rows = state
        .cache
        .store()
        .extensions_page(&claims.tenant, page.after.as_deref(), limit)
        .await?;
    let next = next(&rows, limit, |r| r.extension.clone());
    let items: Vec<_> = rows.iter().map(extension_json).collect();
    Ok(Json(json!({ "extensions": items, "next": next })))
}

pub(super) async fn extension(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Path(extension): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let row = state
        .cache
        .store()
        .extension(&claims.tenant, &extension)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(extension_json(&row)))
}

pub(super) async fn put_extension(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(extension): Path<String>,
    Body(body): Body<ExtensionBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    // The names, caller ID and credential rules are the store's (platform::identity), for
    // every writer alike.
    let row = ExtensionRow {
        tenant: admin.tenant,
        extension,
        password: body.password,
        a1_hash: None,
        caller_id_name: body.caller_id_name,
        caller_id_number: body.caller_id_number,
        record_calls: body.record_calls,
    };
    state.cache.store().put_extension(&row).await?;
    Ok(Json(extension_json(&row)))
}

pub(super) async fn delete_extension(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(extension): Path<String>,
) -> Result<StatusCode, ApiError> {
    let found = state
        .cache
        .store()
        .delete_extension(&admin.tenant, &extension)
        .await?;
    super::removed(found)
}
