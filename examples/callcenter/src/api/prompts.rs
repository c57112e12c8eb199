//! `/api/prompts`: the tenant's IVR prompts, PCM WAV files an admin uploads into the recording
//! store and names in menus and queues as `prompt:NAME` (see [`crate::prompts`]).

use super::extract::Path;
use super::{Admin, ApiError, ApiState, Caller};
use crate::prompts::{PROMPT_MAX, PROMPTS_PER_TENANT, key};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use futures_util::StreamExt;
use object_store::ObjectStoreExt;
use recording::wav::WavLayout;
use serde::Serialize;
use utoipa::ToSchema;

/// A prompt as stored by an upload.
#[derive(Serialize, ToSchema)]
pub(super) struct StoredPrompt {
    name: String,
    /// The WAV's size.
    bytes: usize,
    /// Its duration.
    seconds: f64,
    /// How menus name it: `prompt:NAME`.
    sound: String,
}

/// One of the tenant's prompts.
#[derive(Serialize, ToSchema)]
pub(super) struct Prompt {
    name: String,
    /// The WAV's size.
    bytes: u64,
}

/// The tenant's prompts, by name.
#[derive(Serialize, ToSchema)]
pub(super) struct PromptList {
    prompts: Vec<Prompt>,
}

/// The path parameter of one prompt.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Read by the description only.
struct PromptName {
    /// The prompt's name (menus and queues name it prompt:NAME).
    #[param(pattern = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$", example = "welcome")]
    prompt: String,
}

fn check_name(name: &str) -> Result<(), ApiError> {
    if esl::api::is_name(name) {
        Ok(())
    } else {
        Err(ApiError::BadRequest(
            "a prompt's name is 1 to 64 letters, digits, '_', '-' or '.', starting with a letter, digit or '_'".into(),
        ))
    }
}

/// Uploads a prompt (admins): the request body, a whole mono PCM WAV of 8 to 48 kHz, at most
/// 4 MiB, is stored into the recording store.
#[utoipa::path(
    put,
    path = "/api/prompts/{prompt}",
    tag = "prompts",
    params(PromptName),
    request_body(
        content = inline(super::openapi::Binary),
        content_type = "audio/wav",
        description = "A whole mono PCM WAV of 8 to 48 kHz, at most 4 MiB",
    ),
    responses(
        (status = 200, description = "Stored", body = StoredPrompt),
        (status = 400, response = super::openapi::BadRequest),
        (status = 413, response = super::openapi::TooLarge),
        (status = 500, response = super::openapi::Internal),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn put_prompt(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<StoredPrompt>, ApiError> {
    // Over the limit (or cut short): the API's JSON answer, not the framework's text.
    let body =
        body.map_err(|_| ApiError::TooLarge(format!("a prompt is at most {PROMPT_MAX} bytes")))?;
    check_name(&name)?;
    let existing = names(&state, &admin.tenant).await?;
    if existing.len() >= PROMPTS_PER_TENANT && !existing.iter().any(|(n, _)| *n == name) {
        return Err(ApiError::BadRequest(format!(
            "a tenant has at most {PROMPTS_PER_TENANT} prompts"
        )));
    }
    let layout = match WavLayout::parse(&body, body.len() as u64) {
        Ok(Some(layout)) => layout,
        _ => return Err(ApiError::BadRequest("a prompt is a PCM WAV file".into())),
    };
    if layout.channels != 1
        || !(8_000..=48_000).contains(&layout.sample_rate)
        || layout.repaired
        || layout.frames() == 0
    {
        return Err(ApiError::BadRequest(
            "a prompt is a whole mono PCM WAV of 8 to 48 kHz".into(),
        ));
    }
    let path = object_store::path::Path::parse(key(&admin.tenant, &name))
        .map_err(|error| ApiError::internal("prompt key", &error))?;
    super::recording_store(&state)?
        .store()
        .put(&path, body.clone().into())
        .await
        .map_err(|error| ApiError::dependency("recording store", &error))?;
    Ok(Json(StoredPrompt {
        sound: format!("prompt:{name}"),
        name,
        bytes: body.len(),
        seconds: layout.duration().as_secs_f64(),
    }))
}

/// `tenant`'s prompts: (name, bytes), by name.
async fn names(state: &ApiState, tenant: &str) -> Result<Vec<(String, u64)>, ApiError> {
    let prefix = object_store::path::Path::from(format!("prompts/{tenant}"));
    let mut listing = super::recording_store(state)?.store().list(Some(&prefix));
    let mut names = Vec::new();
    // A tenant has at most PROMPTS_PER_TENANT; what else is there is not listed.
    while let Some(item) = listing.next().await {
        let meta = item.map_err(|error| ApiError::dependency("recording store", &error))?;
        if let Some(name) = meta
            .location
            .filename()
            .and_then(|file| file.strip_suffix(".wav"))
        {
            names.push((name.to_owned(), meta.size));
        }
        if names.len() > PROMPTS_PER_TENANT {
            break;
        }
    }
    names.sort();
    Ok(names)
}

/// The tenant's IVR prompts.
#[utoipa::path(
    get,
    path = "/api/prompts",
    tag = "prompts",
    responses(
        (status = 200, description = "Prompts", body = PromptList),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn prompts(
    State(state): State<ApiState>,
    Caller(claims): Caller,
) -> Result<Json<PromptList>, ApiError> {
    let prompts = names(&state, &claims.tenant)
        .await?
        .into_iter()
        .map(|(name, bytes)| Prompt { name, bytes })
        .collect();
    Ok(Json(PromptList { prompts }))
}

/// Removes a prompt (admins); refused (409) while a menu plays it.
#[utoipa::path(
    delete,
    path = "/api/prompts/{prompt}",
    tag = "prompts",
    params(PromptName),
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
pub(super) async fn delete_prompt(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    check_name(&name)?;
    if let Some(menu) = state
        .cache
        .store()
        .menu_playing(&admin.tenant, &name)
        .await?
    {
        return Err(ApiError::Conflict(format!(
            "menu {menu} still uses it; change that first"
        )));
    }
    let path = object_store::path::Path::parse(key(&admin.tenant, &name))
        .map_err(|error| ApiError::internal("prompt key", &error))?;
    let store = super::recording_store(&state)?.store();
    match store.head(&path).await {
        Ok(_) => {}
        Err(object_store::Error::NotFound { .. }) => return Err(ApiError::NotFound),
        Err(error) => return Err(ApiError::dependency("recording store", &error)),
    }
    store
        .delete(&path)
        .await
        .map_err(|error| ApiError::dependency("recording store", &error))?;
    Ok(StatusCode::NO_CONTENT)
}

/// The largest prompt body read.
pub(super) const BODY_LIMIT: usize = PROMPT_MAX;

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(put_prompt, prompts, delete_prompt))]
pub(super) struct Routes;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_prompt_keeps_its_json_shape() {
        let stored = StoredPrompt {
            name: "welcome".into(),
            bytes: 32_044,
            seconds: 2.0,
            sound: "prompt:welcome".into(),
        };
        assert_eq!(
            serde_json::to_string(&stored).unwrap(),
            r#"{"name":"welcome","bytes":32044,"seconds":2.0,"sound":"prompt:welcome"}"#
        );
        let listed = PromptList {
            prompts: vec![Prompt {
                name: "welcome".into(),
                bytes: 32_044,
            }],
        };
        assert_eq!(
            serde_json::to_string(&listed).unwrap(),
            r#"{"prompts":[{"name":"welcome","bytes":32044}]}"#
        );
    }
}
