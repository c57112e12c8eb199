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
use platform::ivr::{ENTRIES_MAX, MenuAction, MenuEntry};
use platform::store::MenuRow;
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// `PUT`: the whole menu. Every field is required (`null` for no dial name or a short greeting
/// that is the long one), so a PUT that forgets one is refused instead of resetting it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "extension": "5000",
    "greet_long": "ivr/ivr-welcome.wav",
    "greet_short": null,
    "invalid_sound": "ivr/ivr-that_was_an_invalid_entry.wav",
    "exit_sound": "voicemail/vm-goodbye.wav",
    "timeout_ms": 10000,
    "max_failures": 3,
    "entries": {"1": "queue:support", "2": "extension:1001", "0": "hangup"}
}))]
pub(super) struct MenuBody {
    /// The name it is dialled by in the tenant's context (null: reached only from other
    /// menus; a DID's route needs one).
    #[serde(deserialize_with = "super::fields::required")]
    #[schema(required = true, example = "5000")]
    extension: Option<String>,
    /// Played when the menu starts. A sound: a relative file under FreeSWITCH's sound
    /// directories, tone_stream://..., silence_stream://..., local_stream://... or
    /// prompt:NAME (one of the tenant's prompts).
    #[schema(max_length = 256, example = "ivr/ivr-welcome.wav")]
    greet_long: String,
    /// Played when the menu repeats, a sound; null: the long greeting.
    #[serde(deserialize_with = "super::fields::required")]
    #[schema(required = true, max_length = 256)]
    greet_short: Option<String>,
    /// Played on an invalid entry, a sound.
    #[schema(max_length = 256, example = "ivr/ivr-that_was_an_invalid_entry.wav")]
    invalid_sound: String,
    /// Played when the menu gives up, a sound.
    #[schema(max_length = 256, example = "voicemail/vm-goodbye.wav")]
    exit_sound: String,
    /// How long a caller has to press digits, in milliseconds.
    #[schema(minimum = 1, maximum = 60000, example = 10000)]
    timeout_ms: i64,
    /// Invalid entries or timeouts before the menu gives up.
    #[schema(minimum = 1, maximum = 10, example = 3)]
    max_failures: i64,
    /// Digits to action (`extension:NAME`, `queue:NAME`, `menu:NAME`, `group:NAME`,
    /// `did:NUMBER`, `repeat`, `hangup`); `{}` for none.
    #[schema(schema_with = body_entries_schema)]
    entries: BTreeMap<String, String>,
}

/// A menu's entries, an object of digits to actions (`description`, and at most `max`).
fn entries_schema(description: &str, max: Option<usize>) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(ObjectBuilder::new().schema_type(Type::String)))
        .max_properties(max)
        .description(Some(description))
        .build()
        .into()
}

/// The entries of a `PUT`: at most [`ENTRIES_MAX`].
fn body_entries_schema() -> Schema {
    entries_schema(
        "Digits to action: extension:NAME, queue:NAME, menu:NAME, group:NAME, did:NUMBER, \
         repeat or hangup",
        Some(ENTRIES_MAX),
    )
}

/// The entries of a menu shown.
fn menu_entries_schema() -> Schema {
    entries_schema("Digits (1 to 4 of 0-9, *, #) to action", None)
}

/// An IVR menu as stored.
#[derive(Serialize, ToSchema)]
pub(super) struct Menu {
    name: String,
    #[schema(required = true)]
    extension: Option<String>,
    greet_long: String,
    greet_short: String,
    invalid_sound: String,
    exit_sound: String,
    #[schema(minimum = 1, maximum = 60000)]
    timeout_ms: i64,
    #[schema(minimum = 1, maximum = 10)]
    max_failures: i64,
    /// Digits to action, in the menu's order.
    #[serde(serialize_with = "entries_object")]
    #[schema(schema_with = menu_entries_schema)]
    entries: Vec<(String, String)>,
}

/// Writes (digits, action) pairs as one JSON object, in their order.
fn entries_object<S: Serializer>(
    entries: &[(String, String)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(entries.iter().map(|(digits, action)| (digits, action)))
}

impl From<&MenuRow> for Menu {
    fn from(menu: &MenuRow) -> Self {
        Menu {
            name: menu.name.clone(),
            extension: menu.extension.clone(),
            greet_long: menu.greet_long.clone(),
            greet_short: menu.greet_short.clone(),
            invalid_sound: menu.invalid_sound.clone(),
            exit_sound: menu.exit_sound.clone(),
            timeout_ms: menu.timeout_ms,
            max_failures: menu.max_failures,
            entries: menu
                .entries
                .iter()
                .map(|e| (e.digits.clone(), e.action.to_string()))
                .collect(),
        }
    }
}

/// The tenant's menus.
#[derive(Serialize, ToSchema)]
pub(super) struct MenuList {
    menus: Vec<Menu>,
}

/// The path parameter of one menu.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Read by the description only.
struct MenuName {
    /// The menu's name.
    #[param(pattern = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$", example = "main")]
    menu: String,
}

/// The tenant's IVR menus.
#[utoipa::path(
    get,
    path = "/api/menus",
    tag = "menus",
    responses(
        (status = 200, description = "Menus", body = MenuList),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn menus(
    State(state): State<ApiState>,
    Caller(claims): Caller,
) -> Result<Json<MenuList>, ApiError> {
    let menus = state.cache.store().tenant_menus(&claims.tenant).await?;
    let menus = menus.iter().map(Menu::from).collect();
    Ok(Json(MenuList { menus }))
}

/// One IVR menu.
#[utoipa::path(
    get,
    path = "/api/menus/{menu}",
    tag = "menus",
    params(MenuName),
    responses(
        (status = 200, description = "The menu", body = Menu),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn menu(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Path(name): Path<String>,
) -> Result<Json<Menu>, ApiError> {
    let menus = state.cache.store().tenant_menus(&claims.tenant).await?;
    let menu = menus.iter().find(|m| m.name == name);
    Ok(Json(Menu::from(menu.ok_or(ApiError::NotFound)?)))
}

/// Adds or replaces an IVR menu with all its entries (admins): every field is required (null
/// for no dial name or a short greeting that is the long one), so a forgotten one is refused,
/// not reset; the next call that enters it reads it.
#[utoipa::path(
    put,
    path = "/api/menus/{menu}",
    tag = "menus",
    params(MenuName),
    request_body = MenuBody,
    responses(
        (status = 200, description = "The menu", body = Menu),
        (status = 400, response = super::openapi::BadRequest),
        (status = 409, response = super::openapi::Conflict),
        (status = 413, response = super::openapi::TooLarge),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn put_menu(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(name): Path<String>,
    Body(body): Body<MenuBody>,
) -> Result<Json<Menu>, ApiError> {
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
    Ok(Json(Menu::from(&row)))
}

/// Removes a menu (admins); refused (409) while a DID, another menu or a schedule sends calls
/// to it.
#[utoipa::path(
    delete,
    path = "/api/menus/{menu}",
    tag = "menus",
    params(MenuName),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        (status = 409, response = super::openapi::Conflict),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
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
#[openapi(paths(menus, menu, put_menu, delete_menu))]
pub(super) struct Routes;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::queues::tests::each_field_is_required;
    use serde_json::json;

    #[test]
    fn a_put_that_forgets_a_field_is_refused_naming_it() {
        each_field_is_required::<MenuBody>(json!({
            "extension": null,
            "greet_long": "ivr/ivr-welcome.wav",
            "greet_short": null,
            "invalid_sound": "ivr/ivr-that_was_an_invalid_entry.wav",
            "exit_sound": "voicemail/vm-goodbye.wav",
            "timeout_ms": 10000,
            "max_failures": 3,
            "entries": {},
        }));
    }

    #[test]
    fn a_menu_keeps_its_json_shape_and_its_entries_order() {
        let row = MenuRow {
            tenant: "acme".into(),
            name: "main".into(),
            extension: Some("7000".into()),
            greet_long: "ivr/long.wav".into(),
            greet_short: "ivr/short.wav".into(),
            invalid_sound: "ivr/invalid.wav".into(),
            exit_sound: "ivr/exit.wav".into(),
            timeout_ms: 5000,
            max_failures: 3,
            entries: vec![
                MenuEntry {
                    digits: "9".into(),
                    action: "repeat".parse().unwrap(),
                },
                MenuEntry {
                    digits: "1".into(),
                    action: "queue:support".parse().unwrap(),
                },
            ],
        };
        assert_eq!(
            serde_json::to_string(&Menu::from(&row)).unwrap(),
            r#"{"name":"main","extension":"7000","greet_long":"ivr/long.wav","greet_short":"ivr/short.wav","invalid_sound":"ivr/invalid.wav","exit_sound":"ivr/exit.wav","timeout_ms":5000,"max_failures":3,"entries":{"9":"repeat","1":"queue:support"}}"#
        );
    }
}
