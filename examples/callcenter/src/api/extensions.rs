//! `/api/extensions`: the tenant's SIP users (writes reach FreeSWITCH's next directory lookup).

use super::body::Body;
use super::extract::{Path, Query};
use super::page::{Page, next};
use super::{Admin, ApiError, ApiState, Caller};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use platform::store::ExtensionRow;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// `PUT`: the whole extension. Every field is required (`null` for no caller ID), so a PUT
/// that forgets one is refused instead of resetting it; the password is write-only and may be
/// left out to keep the stored one (a new extension needs one).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExtensionBody {
    #[serde(default)]
    password: Option<String>,
    #[serde(deserialize_with = "super::fields::required")]
    caller_id_name: Option<String>,
    #[serde(deserialize_with = "super::fields::required")]
    caller_id_number: Option<String>,
    record_calls: bool,
}

/// `PATCH`: only the fields given change. `null` clears a caller ID.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExtensionPatch {
    #[serde(default)]
    password: Option<String>,
    #[serde(default, deserialize_with = "super::fields::present")]
    caller_id_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::fields::present")]
    caller_id_number: Option<Option<String>>,
    #[serde(default)]
    record_calls: Option<bool>,
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

/// The extension as stored after a write (whether it has a credential is the store's to say:
/// a write without a password keeps the stored one).
async fn stored(state: &ApiState, row: &ExtensionRow) -> Result<Json<serde_json::Value>, ApiError> {
    let stored = state
        .cache
        .store()
        .extension(&row.tenant, &row.extension)
        .await?
        // Removed meanwhile: what was written is all there is to say.
        .unwrap_or_else(|| row.clone());
    Ok(Json(extension_json(&stored)))
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
    stored(&state, &row).await
}

/// Changes only what the body names; 404 when the extension does not exist.
pub(super) async fn patch_extension(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(extension): Path<String>,
    Body(patch): Body<ExtensionPatch>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let store = state.cache.store();
    let mut row = store
        .extension(&admin.tenant, &extension)
        .await?
        .ok_or(ApiError::NotFound)?;
    // Without a new password the stored hash is kept by an update of the row as it is (a
    // concurrent removal is not undone).
    row.password = patch.password;
    row.a1_hash = None;
    if let Some(name) = patch.caller_id_name {
        row.caller_id_name = name;
    }
    if let Some(number) = patch.caller_id_number {
        row.caller_id_number = number;
    }
    if let Some(record) = patch.record_calls {
        row.record_calls = record;
    }
    store.put_extension(&row).await?;
    stored(&state, &row).await
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
