//! `/api/menus`: the tenant's IVR menus. A menu's entries are typed (`"1": "queue:support"`,
//! `"0": "hangup"`; see [`platform::ivr::MenuAction`]) and its sounds checked, so nothing a
//! tenant writes reaches `ivr.conf` as FreeSWITCH syntax. FreeSWITCH reads a menu when a call
//! enters it: a change applies to the next call, with no node to tell.

use super::body::Body;
use super::extract::Path;
use super::{Admin, ApiError, ApiState, Caller};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use platform::ivr::{MenuAction, MenuEntry};
use platform::store::MenuRow;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MenuBody {
    /// The name it is dialled by in the tenant's context (none: reached only from other
    /// menus; a DID's route needs one).
    #[serde(default)]
    extension: Option<String>,
    greet_long: String,
    #[serde(default)]
    greet_short: Option<String>,
    #[serde(default = "invalid_sound")]
    invalid_sound: String,
    #[serde(default = "exit_sound")]
    exit_sound: String,
    #[serde(default = "timeout_ms")]
    timeout_ms: i64,
    #[serde(default = "max_failures")]
    max_failures: i64,
    /// Digits to action (`extension:NAME`, `queue:NAME`, `menu:NAME`, `did:NUMBER`, `repeat`,
    /// `hangup`).
    #[serde(default)]
    entries: BTreeMap<String, String>,
}

fn invalid_sound() -> String {
    "ivr/ivr-that_was_an_invalid_entry.wav".into()
}

fn exit_sound() -> String {
    "voicemail/vm-goodbye.wav".into()
}

fn timeout_ms() -> i64 {
    10_000
}

fn max_failures() -> i64 {
    3
}

fn menu_json(menu: &MenuRow) -> Value {
    let entries: Map<String, Value> = menu
        .entries
        .iter()
        .map(|e| (e.digits.clone(), Value::from(e.action.to_string())))
        .collect();
    json!({
        "name": menu.name,
        "extension": menu.extension,
        "greet_long": menu.greet_long,
        "greet_short": menu.greet_short,
        "invalid_sound": menu.invalid_sound,
        "exit_sound": menu.exit_sound,
        "timeout_ms": menu.timeout_ms,
        "max_failures": menu.max_failures,
        "entries": entries,
    })
}

/// The tenant's menus.
pub(super) async fn menus(
    State(state): State<ApiState>,
    Caller(claims): Caller,
) -> Result<Json<Value>, ApiError> {
    let menus = state.cache.store().tenant_menus(&claims.tenant).await?;
    let menus: Vec<Value> = menus.iter().map(menu_json).collect();
    Ok(Json(json!({ "menus": menus })))
}

/// One menu.
pub(super) async fn menu(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let menus = state.cache.store().tenant_menus(&claims.tenant).await?;
    let menu = menus.iter().find(|m| m.name == name);
    Ok(Json(menu_json(menu.ok_or(ApiError::NotFound)?)))
}

/// Adds or replaces a menu with all its entries.
pub(super) async fn put_menu(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(name): Path<String>,
    Body(body): Body<MenuBody>,
) -> Result<Json<Value>, ApiError> {
    let entries = body
        .entries
        .into_iter()
        .map(|(digits, action)| {
            let action: MenuAction = action
                .parse()
                .map_err(|error| ApiError::BadRequest(format!("entry {digits:?}: {error}")))?;
            Ok(MenuEntry { digits, action })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let row = MenuRow {
        tenant: admin.tenant,
        name,
        extension: body.extension,
        greet_short: body.greet_short.unwrap_or_else(|| body.greet_long.clone()),
        greet_long: body.greet_long,
        invalid_sound: body.invalid_sound,
        exit_sound: body.exit_sound,
        timeout_ms: body.timeout_ms,
        max_failures: body.max_failures,
        entries,
    };
    state.cache.store().put_menu(&row).await?;
    Ok(Json(menu_json(&row)))
}

/// Removes a menu (refused while a DID or another menu sends calls to it).
pub(super) async fn delete_menu(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let found = state
        .cache
        .store()
        .delete_menu(&admin.tenant, &name)
        .await?;
    super::removed(found)
}

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi()]
pub(super) struct Routes;
