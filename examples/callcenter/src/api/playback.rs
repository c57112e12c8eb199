//! Playing a recording in a browser: an `<audio>` element cannot send a bearer token, so the
//! API hands out short-lived links instead (`.../link` of a recording). On S3 the link is the
//! store's pre-signed URL; on a local store it is `/api/playback/{ticket}`, where the ticket is
//! signed with the tokens' secret, names one object and expires with the download TTL.

use super::{ApiError, ApiState};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use platform::clock::unix_seconds;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The tickets' audience: what they are for (a token has none, and is refused here).
const AUDIENCE: &str = "playback";

/// A link that plays one recording until `expires_at`.
#[derive(Serialize, ToSchema)]
pub(super) struct PlaybackLink {
    /// An absolute pre-signed URL (S3) or a path on this daemon (local store).
    url: String,
    /// Unix seconds.
    expires_at: u64,
}

/// What a playback ticket holds.
#[derive(Serialize, Deserialize)]
struct Ticket {
    aud: String,
    /// Whose recording it is (the empty tenant: unassigned): a disabled tenant's stop playing.
    tenant: String,
    /// The object.
    key: String,
    /// Expiry, Unix seconds.
    exp: u64,
}

/// A link to the object `key` of `tenant` (already authorised by the caller).
pub(super) async fn link(
    state: &ApiState,
    tenant: &str,
    key: &str,
) -> Result<PlaybackLink, ApiError> {
    let destination = state
        .recordings
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("no recording store here".into()))?;
    let expires_at = unix_seconds().max(0) as u64 + state.download_ttl.as_secs();
    if let Some(url) = destination.signed_download(key, state.download_ttl).await {
        let url = url.map_err(|e| ApiError::dependency("recording store", &e))?;
        return Ok(PlaybackLink { url, expires_at });
    }
    let ticket = state.tokens.sign_ticket(&Ticket {
        aud: AUDIENCE.into(),
        tenant: tenant.into(),
        key: key.into(),
        exp: expires_at,
    });
    Ok(PlaybackLink {
        url: format!("/api/playback/{ticket}"),
        expires_at,
    })
}

/// The path of a playback link.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Read by the description only.
struct PlaybackTicket {
    /// The ticket a `.../link` answer named.
    ticket: String,
}

/// Plays the recording a ticket names (no token: the ticket is the authorisation, for a few
/// minutes); 404 for a ticket that is not valid, expired or for a tenant now disabled.
#[utoipa::path(
    get,
    path = "/api/playback/{ticket}",
    tag = "recordings",
    params(PlaybackTicket),
    responses(
        (status = 200, description = "The MP3", content_type = "audio/mpeg", body = inline(super::openapi::Binary)),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        (status = 500, response = super::openapi::Internal),
        (status = 503, response = super::openapi::Unavailable),
    ),
)]
pub(super) async fn play(
    State(state): State<ApiState>,
    super::extract::Path(ticket): super::extract::Path<String>,
) -> Result<Response, ApiError> {
    let ticket: Ticket = state.tokens.verify_ticket(&ticket, AUDIENCE)?;
    if ticket.tenant != platform::identity::UNASSIGNED {
        match state.cache.tenant(&ticket.tenant).await? {
            Some(tenant) if !tenant.disabled => {}
            _ => return Err(ApiError::NotFound),
        }
    }
    let destination = state
        .recordings
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable("no recording store here".into()))?;
    stream(destination, &ticket.key, "inline").await
}

/// The object `key` of the store, streamed as an MP3 with `disposition`.
pub(super) async fn stream(
    destination: &recording::Destination,
    key: &str,
    disposition: &str,
) -> Result<Response, ApiError> {
    let path = object_store::path::Path::parse(key)
        .map_err(|e| ApiError::internal("recording key", &e))?;
    use object_store::ObjectStoreExt;
    let object = destination.store().get(&path).await.map_err(|e| match e {
        object_store::Error::NotFound { .. } => ApiError::NotFound,
        other => ApiError::dependency("recording store", &other),
    })?;
    let size = object.meta.size;
    let body = axum::body::Body::from_stream(object.into_stream());
    Ok((
        [
            (header::CONTENT_TYPE, "audio/mpeg".to_owned()),
            (header::CONTENT_LENGTH, size.to_string()),
            (header::CONTENT_DISPOSITION, disposition.to_owned()),
            // A recording is the tenant's: no shared cache keeps it.
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(play))]
pub(super) struct Routes;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{ApiUser, Role, Tokens};
    use std::time::Duration;

    fn ticket(tokens: &Tokens, exp: u64) -> String {
        tokens.sign_ticket(&Ticket {
            aud: AUDIENCE.into(),
            tenant: "acme".into(),
            key: "acme/2026/12/06/call.mp3".into(),
            exp,
        })
    }

    #[test]
    fn a_ticket_is_no_token_and_a_token_no_ticket() {
        let tokens = Tokens::new(b"a long random secret", Duration::from_secs(60));
        let later = unix_seconds() as u64 + 60;
        let ticket = ticket(&tokens, later);
        assert!(tokens.verify(&ticket).is_err());
        let (token, _) = tokens.issue(
            &ApiUser {
                tenant: "acme".into(),
                username: "alice".into(),
                role: Role::Admin,
                extension: None,
            },
            0,
        );
        assert!(tokens.verify_ticket::<Ticket>(&token, AUDIENCE).is_err());
        let read: Ticket = tokens.verify_ticket(&ticket, AUDIENCE).unwrap();
        assert_eq!(read.key, "acme/2026/12/06/call.mp3");
    }

    #[test]
    fn expired_or_foreign_tickets_are_refused() {
        let tokens = Tokens::new(b"a long random secret", Duration::from_secs(60));
        let expired = ticket(&tokens, unix_seconds() as u64 - 1);
        assert!(tokens.verify_ticket::<Ticket>(&expired, AUDIENCE).is_err());
        let other = Tokens::new(b"another secret", Duration::from_secs(60));
        let foreign = ticket(&other, unix_seconds() as u64 + 60);
        assert!(tokens.verify_ticket::<Ticket>(&foreign, AUDIENCE).is_err());
        let valid = ticket(&tokens, unix_seconds() as u64 + 60);
        assert!(
            tokens
                .verify_ticket::<Ticket>(&valid, "something else")
                .is_err()
        );
    }
}
