//! `/api/recordings/{call_uuid}`: a call's recordings, their download and playback links;
//! `/api/operator/unassigned-recordings`: the recordings of no tenant.

use super::extract::Path;
use super::page::{Page, next};
use super::playback;
use super::{ApiError, ApiState, Caller, Operator};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// One of a call's recordings.
#[derive(Serialize, ToSchema)]
pub(super) struct Recording {
    /// Its position in the call's list.
    index: usize,
    /// Its object key in the store.
    key: String,
    size_bytes: i64,
    duration_ms: i64,
    /// SHA-256 of the MP3, hex.
    sha256: String,
    /// Where to download it (with the token).
    download: String,
    /// Where to get a link to play it (with the token).
    playback: String,
}

/// A page of a call's recordings.
#[derive(Serialize, ToSchema)]
pub(super) struct RecordingPage {
    recordings: Vec<Recording>,
    /// The index of the page's last recording, the `after` of the next page; null on the last.
    #[schema(required = true)]
    next: Option<String>,
}

/// A recording no tenant has.
#[derive(Serialize, ToSchema)]
pub(super) struct UnassignedRecording {
    /// Its id, for its playback link.
    id: i64,
    call_uuid: String,
    key: String,
    size_bytes: i64,
    duration_ms: i64,
    sha256: String,
}

/// A page of unassigned recordings.
#[derive(Serialize, ToSchema)]
pub(super) struct UnassignedRecordingPage {
    recordings: Vec<UnassignedRecording>,
    /// The `after` of the next page; null on the last.
    #[schema(required = true)]
    next: Option<i64>,
}

/// A call's recordings, as the path names them.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Read by the description only.
struct CallRecordings {
    /// The call's UUID.
    #[param(example = "0d6b8a1e-5f1c-4c1e-9d7a-1b2c3d4e5f60")]
    call_uuid: String,
}

/// One recording of a call, as the path names it.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Read by the description only.
struct CallRecording {
    /// The call's UUID.
    #[param(example = "0d6b8a1e-5f1c-4c1e-9d7a-1b2c3d4e5f60")]
    call_uuid: String,
    /// Its position in the call's list.
    #[param(minimum = 0, example = 0)]
    index: usize,
}

/// The page of a call's recordings (`after` is the index of the previous page's last one).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Read by the description only; `Page` reads the query.
struct RecordingsQuery {
    /// The `next` of the previous page (a recording's index).
    #[param(pattern = "^[0-9]+$", nullable = false)]
    after: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000, default = 100, nullable = false)]
    limit: Option<u32>,
}

/// A page of rows by id (`Page<i64>`: the description has no generic parameters).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Read by the description only; `Page` reads the query.
struct IdPage {
    /// The `next` of the previous page.
    #[param(nullable = false)]
    after: Option<i64>,
    /// Page size, 1 to 1000 (default 100).
    #[param(
        minimum = 1,
        maximum = 1000,
        default = 100,
        example = 10,
        nullable = false
    )]
    limit: Option<u32>,
}

/// One unassigned recording, as the path names it.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Read by the description only.
struct UnassignedId {
    /// Its id, from the list.
    #[param(minimum = 1, example = 1)]
    id: i64,
}

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
    let live = super::live::view(state).is_some_and(|live| live.call(tenant, call_uuid).is_some());
    Ok(live || !state.ledger.call(tenant, call_uuid).await?.is_empty())
}

/// A call's recordings, a page at a time (404 when the call is not the tenant's: no CDR of
/// it, not in progress).
#[utoipa::path(
    get,
    path = "/api/recordings/{call_uuid}",
    tag = "recordings",
    params(CallRecordings, RecordingsQuery),
    responses(
        (status = 200, description = "A page", body = RecordingPage),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn recordings(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Path(call_uuid): Path<String>,
    super::extract::Query(page): super::extract::Query<Page>,
) -> Result<Json<RecordingPage>, ApiError> {
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
    let recordings = shown
        .into_iter()
        .map(|(index, r)| Recording {
            index,
            key: r.object_key.clone(),
            size_bytes: r.size_bytes,
            duration_ms: r.duration_ms,
            sha256: r.sha256.clone(),
            download: format!("/api/recordings/{call_uuid}/{index}"),
            playback: format!("/api/recordings/{call_uuid}/{index}/link"),
        })
        .collect();
    Ok(Json(RecordingPage { recordings, next }))
}

/// Downloads a recording: a redirect to a pre-signed URL (S3) or the MP3 itself (local store).
#[utoipa::path(
    get,
    path = "/api/recordings/{call_uuid}/{index}",
    tag = "recordings",
    params(CallRecording),
    responses(
        (status = 200, description = "The MP3", content_type = "audio/mpeg", body = inline(super::openapi::Binary),
            headers(("Content-Disposition" = String, description = "attachment; filename=\"<call>-<index>.mp3\""))),
        (status = 307, description = "Redirect to a pre-signed URL",
            headers(("Location" = String, description = "The pre-signed URL"))),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        (status = 500, response = super::openapi::Internal),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn download(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Path((call_uuid, index)): Path<(String, usize)>,
) -> Result<Response, ApiError> {
    let found = tenant_recordings(&state, &claims.tenant, &call_uuid).await?;
    let record = found.get(index).ok_or(ApiError::NotFound)?;
    let destination = super::recording_store(&state)?;
    if let Some(url) = destination
        .signed_download(&record.object_key, state.download_ttl)
        .await
    {
        let url = url.map_err(|e| ApiError::dependency("recording store", &e))?;
        return Ok(Redirect::temporary(&url).into_response());
    }
    let name = format!("{call_uuid}-{index}.mp3");
    playback::stream(
        destination,
        &record.object_key,
        &format!("attachment; filename=\"{name}\""),
        None,
    )
    .await
}

/// A link that plays a recording in a browser's `<audio>` for a few minutes, no token needed:
/// a pre-signed URL (S3) or this daemon's `/api/playback/{ticket}` (local store).
#[utoipa::path(
    get,
    path = "/api/recordings/{call_uuid}/{index}/link",
    tag = "recordings",
    params(CallRecording),
    responses(
        (status = 200, description = "The link", body = playback::PlaybackLink),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn link(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Path((call_uuid, index)): Path<(String, usize)>,
) -> Result<Json<playback::PlaybackLink>, ApiError> {
    let found = tenant_recordings(&state, &claims.tenant, &call_uuid).await?;
    let record = found.get(index).ok_or(ApiError::NotFound)?;
    playback::link(&state, &claims, &record.object_key)
        .await
        .map(Json)
}

/// Recordings nothing attributed to a tenant, oldest first (operators only).
#[utoipa::path(
    get,
    path = "/api/operator/unassigned-recordings",
    tag = "operator",
    params(IdPage),
    responses(
        (status = 200, description = "A page", body = UnassignedRecordingPage),
        (status = 400, response = super::openapi::BadRequest),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn unassigned(
    State(state): State<ApiState>,
    _operator: Operator,
    super::extract::Query(page): super::extract::Query<Page<i64>>,
) -> Result<Json<UnassignedRecordingPage>, ApiError> {
    let limit = page.limit()?;
    let rows = state
        .ledger
        .tenant_recordings(platform::identity::UNASSIGNED, page.after, limit)
        .await?;
    let next = next(&rows, limit, |(id, _)| *id);
    let recordings = rows
        .into_iter()
        .map(|(id, r)| UnassignedRecording {
            id,
            call_uuid: r.call_uuid,
            key: r.object_key,
            size_bytes: r.size_bytes,
            duration_ms: r.duration_ms,
            sha256: r.sha256,
        })
        .collect();
    Ok(Json(UnassignedRecordingPage { recordings, next }))
}

/// A link that plays an unassigned recording for a few minutes (operators only), as a tenant's
/// `.../link`.
#[utoipa::path(
    get,
    path = "/api/operator/unassigned-recordings/{id}/link",
    tag = "operator",
    params(UnassignedId),
    responses(
        (status = 200, description = "The link", body = playback::PlaybackLink),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn unassigned_link(
    State(state): State<ApiState>,
    Operator(operator): Operator,
    Path(id): Path<i64>,
) -> Result<Json<playback::PlaybackLink>, ApiError> {
    let unassigned = platform::identity::UNASSIGNED;
    let rows = state
        .ledger
        .tenant_recordings(unassigned, Some(id.saturating_sub(1)), 1)
        .await?;
    let (_, record) = rows
        .into_iter()
        .find(|(found, _)| *found == id)
        .ok_or(ApiError::NotFound)?;
    playback::link(&state, &operator, &record.object_key)
        .await
        .map(Json)
}

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(recordings, download, link, unassigned, unassigned_link))]
pub(super) struct Routes;
