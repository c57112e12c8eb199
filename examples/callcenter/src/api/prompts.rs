//! `/api/prompts`: the tenant's IVR prompts, PCM WAV files an admin uploads into the recording
//! store and names in menus and queues as `prompt:NAME` (see [`crate::prompts`]).

use super::{Admin, ApiError, ApiState, Caller};
use crate::prompts::{PROMPT_MAX, key};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use futures_util::StreamExt;
use object_store::ObjectStoreExt;
use recording::wav::WavLayout;
use serde_json::{Value, json};

fn store(state: &ApiState) -> Result<&recording::Destination, ApiError> {
    state
        .recordings
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("no recording store here".into()))
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

/// Stores a prompt (the request body: a PCM WAV, mono, 8 to 48 kHz, whole).
pub(super) async fn put_prompt(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    check_name(&name)?;
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
    store(&state)?
        .store()
        .put(&path, body.clone().into())
        .await
        .map_err(|error| ApiError::dependency("recording store", &error))?;
    Ok(Json(json!({
        "name": name,
        "bytes": body.len(),
        "seconds": layout.duration().as_secs_f64(),
        "sound": format!("prompt:{name}"),
    })))
}

/// The tenant's prompts.
pub(super) async fn prompts(
    State(state): State<ApiState>,
    Caller(claims): Caller,
) -> Result<Json<Value>, ApiError> {
    let prefix = object_store::path::Path::from(format!("prompts/{}", claims.tenant));
    let mut listing = store(&state)?.store().list(Some(&prefix));
    let mut names = Vec::new();
    while let Some(item) = listing.next().await {
        let meta = item.map_err(|error| ApiError::dependency("recording store", &error))?;
        if let Some(name) = meta
            .location
            .filename()
            .and_then(|file| file.strip_suffix(".wav"))
        {
            names.push(json!({ "name": name, "bytes": meta.size }));
        }
    }
    Ok(Json(json!({ "prompts": names })))
}

/// Removes a prompt (menus naming it play a short silence instead).
pub(super) async fn delete_prompt(
    State(state): State<ApiState>,
    Admin(admin): Admin,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    check_name(&name)?;
    let path = object_store::path::Path::parse(key(&admin.tenant, &name))
        .map_err(|error| ApiError::internal("prompt key", &error))?;
    let store = store(&state)?.store();
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
