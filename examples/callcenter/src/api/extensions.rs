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
use utoipa::ToSchema;

/// `PUT`: the whole extension. Every field is required (`null` for no caller ID), so a PUT
/// that forgets one is refused instead of resetting it; the password is write-only and may be
/// left out to keep the stored one (a new extension needs one).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "password": "reception-2026",
    "caller_id_name": "Reception",
    "caller_id_number": "1000",
    "record_calls": false
}))]
pub(super) struct ExtensionBody {
    /// Required for a new extension; left out, the stored one is kept. Write-only (only its
    /// a1-hash is stored).
    #[serde(default)]
    #[schema(write_only, min_length = 8, nullable = false)]
    password: Option<String>,
    /// 1 to 64 letters, digits, spaces and . , ' - _ & ( ) # + /; null for none.
    #[serde(deserialize_with = "super::fields::required")]
    #[schema(required = true)]
    caller_id_name: Option<String>,
    /// One of the tenant's extensions or DIDs; null for none.
    #[serde(deserialize_with = "super::fields::required")]
    #[schema(required = true)]
    caller_id_number: Option<String>,
    record_calls: bool,
}

/// `PATCH`: only the fields given change. `null` clears a caller ID.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"record_calls": true}))]
pub(super) struct ExtensionPatch {
    /// A new password (write-only).
    #[serde(default)]
    #[schema(write_only, min_length = 8, nullable = false)]
    password: Option<String>,
    /// Null for none.
    #[serde(default, deserialize_with = "super::fields::present")]
    caller_id_name: Option<Option<String>>,
    /// Null for none.
    #[serde(default, deserialize_with = "super::fields::present")]
    caller_id_number: Option<Option<String>>,
    #[serde(default)]
    #[schema(nullable = false)]
    record_calls: Option<bool>,
}

/// An extension as the API shows it: passwords are write-only (and only their a1-hash is
/// stored).
#[derive(Serialize, ToSchema)]
pub(super) struct Extension {
    extension: String,
    #[schema(required = true)]
    caller_id_name: Option<String>,
    #[schema(required = true)]
    caller_id_number: Option<String>,
    record_calls: bool,
    has_password: bool,
}

impl From<&ExtensionRow> for Extension {
    fn from(row: &ExtensionRow) -> Self {
        Extension {
            extension: row.extension.clone(),
            caller_id_name: row.caller_id_name.clone(),
            caller_id_number: row.caller_id_number.clone(),
            record_calls: row.record_calls,
            has_password: row.password.is_some() || row.a1_hash.is_some(),
        }
    }
}

/// A page of extensions; `next` is the `after` of the next page, null on the last.
#[derive(Serialize, ToSchema)]
pub(super) struct ExtensionPage {
    extensions: Vec<Extension>,
    #[schema(required = true)]
    next: Option<String>,
}

/// The path parameter of one extension.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Read by the description only.
struct ExtensionName {
    /// The extension.
    #[param(pattern = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$", example = "1002")]
    extension: String,
}

/// The extension as stored after a write (whether it has a credential is the store's to say:
/// a write without a password keeps the stored one).
async fn stored(state: &ApiState, row: &ExtensionRow) -> Result<Json<Extension>, ApiError> {
    let stored = state
        .cache
        .store()
        .extension(&row.tenant, &row.extension)
        .await?
        // Removed meanwhile: what was written is all there is to say.
        .unwrap_or_else(|| row.clone());
    Ok(Json(Extension::from(&stored)))
}

/// The tenant's extensions, by name, a page at a time.
#[utoipa::path(
    get,
    path = "/api/extensions",
    tag = "extensions",
    params(Page),
    responses(
        (status = 200, description = "A page", body = ExtensionPage),
        (status = 400, response = super::openapi::BadRequest),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn extensions(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Query(page): Query<Page>,
) -> Result<Json<ExtensionPage>, ApiError> {
    let limit = page.limit()?;
    let rows = state
        .cache
        .store()
        .extensions_page(&claims.tenant, page.after.as_deref(), limit)
        .await?;
    let next = next(&rows, limit, |r| r.extension.clone());
    let extensions = rows.iter().map(Extension::from).collect();
    Ok(Json(ExtensionPage { extensions, next }))
}

/// One extension.
#[utoipa::path(
    get,
    path = "/api/extensions/{extension}",
    tag = "extensions",
    params(ExtensionName),
    responses(
        (status = 200, description = "The extension", body = Extension),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn extension(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Path(extension): Path<String>,
) -> Result<Json<Extension>, ApiError> {
    let row = state
        .cache
        .store()
        .extension(&claims.tenant, &extension)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(Extension::from(&row)))
}

/// Creates or replaces an extension (admins): every field but the password is required (null
/// for no caller ID), so a forgotten one is refused, not reset; FreeSWITCH sees it at its next
/// directory lookup.
#[utoipa::path(
    put,
    path = "/api/extensions/{extension}",
    tag = "extensions",
    params(ExtensionName),
    request_body = ExtensionBody,
    responses(
        (status = 200, description = "The extension", body = Extension),
        (status = 400, response = super::openapi::BadRequest),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn put_extension(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(extension): Path<String>,
    Body(body): Body<ExtensionBody>,
) -> Result<Json<Extension>, ApiError> {
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

/// Changes only what the body names (admins); 404 when the extension does not exist.
#[utoipa::path(
    patch,
    path = "/api/extensions/{extension}",
    tag = "extensions",
    params(ExtensionName),
    request_body = ExtensionPatch,
    responses(
        (status = 200, description = "The extension", body = Extension),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn patch_extension(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(extension): Path<String>,
    Body(patch): Body<ExtensionPatch>,
) -> Result<Json<Extension>, ApiError> {
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

/// Removes an extension (admins); refused (409) while an agent or a route uses it.
#[utoipa::path(
    delete,
    path = "/api/extensions/{extension}",
    tag = "extensions",
    params(ExtensionName),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        (status = 409, response = super::openapi::Conflict),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
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

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    extensions,
    extension,
    put_extension,
    patch_extension,
    delete_extension
))]
pub(super) struct Routes;
