//! `/api/recordings/{call_uuid}`: a call's recordings, and their download.

use super::extract::Path;
use super::page::{Page, next};
use super::{ApiError, ApiState, Caller, Operator};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

async fn tenant_recordings(
    state: &ApiState,
    tenant: &str,
    call_uuid: &str,
) -> Result<Vec<billing::RecordingRecord>, ApiError> {
    let all = state.ledger.recordings(call_uuid).await?;
    Ok(all.into_iter().filter(|r| r.tenant == tenant).collect())
}

/// Whether `call_uuid` is one of the tenant's calls: stored (a CDR of one of its legs) or in
/// progress.
async fn known_call(state: &ApiState, tenant: &str, call_uuid: &str) -> Result<bool, ApiError> {
    let live = state.esl.as_ref().is_some_and(|worker| {
        worker
            .active_calls(tenant)
            .iter()
            .any(|call| call.uuid == call_uuid)
    });
    Ok(live || !state.ledger.call(tenant, call_uuid).await?.is_empty())
}

/// A call's recordings, a page at a time (`after` is the `next` index of the previous page).
pub(super) async fn recordings(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Path(call_uuid): Path<String>,
    super::extract::Query(page): super::extract::Query<Page>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let limit = page.limit()? as usize;
    let first = match page.after.as_deref() {
        Some(after) => after
            .parse::<usize>()
            .map_err(|_| ApiError::BadRequest("after is the index of a recording".into()))?
            .saturating_add(1),
        None => 0,
    };
    let found = tenant_recordings(&state, &claims.tenant, &call_uuid).await?;
    // A call of the tenant's without recordings has an empty list; one the tenant never had
    // (or another tenant's) does not exist here.
    if found.is_empty() && !known_call(&state, &claims.tenant, &call_uuid).await? {
        return Err(ApiError::NotFound);
    }
    let shown: Vec<(usize, &billing::RecordingRecord)> =
        found.iter().enumerate().skip(first).take(limit).collect();
    let next = (shown.len() == limit && first + limit < found.len())
        .then(|| shown.last().map(|(index, _)| index.to_string()))
        .flatten();
    let items: Vec<serde_json::Value> = shown
        .into_iter()
        .map(|(index, r)| {
            json!({
                "index": index,
                "key": r.object_key,
                "size_bytes": r.size_bytes,
                "duration_ms": r.duration_ms,
                "sha256": r.sha256,
                "download": format!("/api/recordings/{call_uuid}/{index}"),
            })
        })
        .collect();
    Ok(Json(json!({ "recordings": items, "next": next })))
}

/// A pre-signed URL (S3: 307 to it) or the MP3 streamed from the local store.
pub(super) async fn download(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Path((call_uuid, index)): Path<(String, usize)>,
) -> Result<Response, ApiError> {
    let found = tenant_recordings(&state, &claims.tenant, &call_uuid).await?;
    let record = found.get(index).ok_or(ApiError::NotFound)?;
    let destination = state
        .recordings
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("no recording store here".into()))?;
    if let Some(url) = destination
        .signed_download(&record.object_key, state.download_ttl)
        .await
    {
        let url = url.map_err(|e| ApiError::dependency("recording store", &e))?;
        return Ok(Redirect::temporary(&url).into_response());
    }
    let path = object_store::path::Path::parse(&record.object_key)
        .map_err(|e| ApiError::internal("recording key", &e))?;
    use object_store::ObjectStoreExt;
    let object = destination.store().get(&path).await.map_err(|e| match e {
        object_store::Error::NotFound { .. } => ApiError::NotFound,
        other => ApiError::dependency("recording store", &other),
    })?;
    let size = object.meta.size;
    let body = axum::body::Body::from_stream(object.into_stream());
    let name = format!("{call_uuid}-{index}.mp3");
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "audio/mpeg".to_owned()),
            (axum::http::header::CONTENT_LENGTH, size.to_string()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// `GET /api/operator/unassigned-recordings`: the recordings nothing attributed to a tenant,
/// for the operator only (no tenant's token lists or downloads them).
pub(super) async fn unassigned(
    State(state): State<ApiState>,
    _operator: Operator,
    super::extract::Query(page): super::extract::Query<Page<i64>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let limit = page.limit()?;
    let rows = state
        .ledger
        .tenant_recordings(platform::identity::UNASSIGNED, page.after, limit)
        .await?;
    let next = next(&rows, limit, |(id, _)| *id);
    let items: Vec<serde_json::Value> = rows
        .iter()
        .map(|(_, r)| {
            json!({
                "call_uuid": r.call_uuid,
                "key": r.object_key,
                "size_bytes": r.size_bytes,
                "duration_ms": r.duration_ms,
                "sha256": r.sha256,
            })
        })
        .collect();
    Ok(Json(json!({ "recordings": items, "next": next })))
}

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi()]
pub(super) struct Routes;
