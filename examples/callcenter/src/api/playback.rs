//! Playing a recording in a browser: an `<audio>` element cannot send a bearer token, so the
//! API hands out short-lived links instead (`.../link` of a recording). On S3 the link is the
//! store's pre-signed URL; on a local store it is `/api/playback/{ticket}`, where the ticket is
//! signed with the tokens' secret, names one object and its user, and expires with the
//! download TTL. A ticket dies with its user's credentials, as tokens do.

use super::{ApiError, ApiState, Claims};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use platform::clock::unix_seconds;
use serde::{Deserialize, Serialize};
use std::ops::Range;
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

/// What a playback ticket holds: the object, and who asked for it (as their token said).
#[derive(Serialize, Deserialize)]
struct Ticket {
    aud: String,
    /// Expiry, Unix seconds.
    exp: u64,
    /// The object.
    key: String,
    sub: String,
    /// The user's tenant (the operator's: empty, the unassigned recordings').
    tenant: String,
    role: super::Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    extension: Option<String>,
    ver: i64,
}

impl Ticket {
    /// The claims of the user who asked for it, to check they still hold them.
    fn claims(&self) -> Claims {
        Claims {
            sub: self.sub.clone(),
            tenant: self.tenant.clone(),
            role: self.role,
            extension: self.extension.clone(),
            ver: self.ver,
            iat: 0,
            exp: self.exp,
        }
    }
}

/// A link to the object `key`, for `user` (whom the caller has already authorised for it).
pub(super) async fn link(
    state: &ApiState,
    user: &Claims,
    key: &str,
) -> Result<PlaybackLink, ApiError> {
    let destination = super::recording_store(state)?;
    let expires_at = unix_seconds().max(0) as u64 + state.download_ttl.as_secs();
    if let Some(url) = destination.signed_download(key, state.download_ttl).await {
        let url = url.map_err(|e| ApiError::dependency("recording store", &e))?;
        return Ok(PlaybackLink { url, expires_at });
    }
    let ticket = state.tokens.sign_ticket(&Ticket {
        aud: AUDIENCE.into(),
        exp: expires_at,
        key: key.into(),
        sub: user.sub.clone(),
        tenant: user.tenant.clone(),
        role: user.role,
        extension: user.extension.clone(),
        ver: user.ver,
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
/// minutes; `Range` is honoured); 404 for a ticket that is not valid, expired, of a user whose
/// credentials changed since, or of a tenant now disabled.
#[utoipa::path(
    get,
    path = "/api/playback/{ticket}",
    tag = "recordings",
    params(PlaybackTicket),
    responses(
        (status = 200, description = "The MP3", content_type = "audio/mpeg", body = inline(super::openapi::Binary)),
        (status = 206, description = "The part of the MP3 `Range` asked for", content_type = "audio/mpeg", body = inline(super::openapi::Binary),
            headers(("Content-Range" = String, description = "bytes FIRST-LAST/SIZE"))),
        (status = 400, response = super::openapi::BadRequest),
        (status = 404, response = super::openapi::NotFound),
        (status = 500, response = super::openapi::Internal),
        (status = 503, response = super::openapi::Unavailable),
    ),
)]
pub(super) async fn play(
    State(state): State<ApiState>,
    super::extract::Path(ticket): super::extract::Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let ticket: Ticket = state.tokens.verify_ticket(&ticket, AUDIENCE)?;
    // Whoever asked must still be who they were, of a tenant still enabled.
    let user = ticket.claims();
    let still_holds = async {
        state.users.check(&user).await?;
        super::auth::refuse_disabled(&state, &user).await
    };
    match still_holds.await {
        Ok(()) => {}
        Err(ApiError::Unavailable(text)) => return Err(ApiError::Unavailable(text)),
        Err(_) => return Err(ApiError::NotFound),
    }
    let destination = super::recording_store(&state)?;
    stream(
        destination,
        &ticket.key,
        "inline",
        headers.get(header::RANGE),
    )
    .await
}

/// The object `key` of the store, streamed as an MP3 with `disposition`; the part a single
/// satisfiable `range` asks for (206), else the whole (a server may ignore `Range`).
pub(super) async fn stream(
    destination: &recording::Destination,
    key: &str,
    disposition: &str,
    range: Option<&HeaderValue>,
) -> Result<Response, ApiError> {
    let path = object_store::path::Path::parse(key)
        .map_err(|e| ApiError::internal("recording key", &e))?;
    use object_store::ObjectStoreExt;
    let store_error = |e: object_store::Error| match e {
        object_store::Error::NotFound { .. } => ApiError::NotFound,
        other => ApiError::dependency("recording store", &other),
    };
    // The object's size is asked first only to read a range against it.
    let part = match range.and_then(|value| value.to_str().ok()) {
        Some(asked) => {
            let size = destination
                .store()
                .head(&path)
                .await
                .map_err(store_error)?
                .size;
            requested_range(asked, size)
        }
        None => None,
    };
    let options = object_store::GetOptions {
        range: part.clone().map(object_store::GetRange::Bounded),
        ..Default::default()
    };
    let object = destination
        .store()
        .get_opts(&path, options)
        .await
        .map_err(store_error)?;
    let (sent, size) = (object.range.clone(), object.meta.size);
    let body = axum::body::Body::from_stream(object.into_stream());
    let mut answer = (
        [
            (header::CONTENT_TYPE, "audio/mpeg".to_owned()),
            (header::CONTENT_LENGTH, (sent.end - sent.start).to_string()),
            (header::CONTENT_DISPOSITION, disposition.to_owned()),
            (header::ACCEPT_RANGES, "bytes".to_owned()),
            // A recording is the tenant's: no shared cache keeps it.
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            // Opened as a page, it runs nothing.
            (
                header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'".to_owned(),
            ),
        ],
        body,
    )
        .into_response();
    if part.is_some() {
        *answer.status_mut() = StatusCode::PARTIAL_CONTENT;
        let content_range = format!("bytes {}-{}/{size}", sent.start, sent.end - 1);
        if let Ok(value) = HeaderValue::from_str(&content_range) {
            answer.headers_mut().insert(header::CONTENT_RANGE, value);
        }
    }
    Ok(answer)
}

/// The bytes one `Range: bytes=...` header asks for of an object of `size` bytes: `a-b`,
/// `a-` or `-n`, when it is one range and satisfiable; `None` otherwise (the whole is sent).
fn requested_range(header: &str, size: u64) -> Option<Range<u64>> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let (first, last) = (first.trim(), last.trim());
    let range = match (first.is_empty(), last.is_empty()) {
        // The last n bytes.
        (true, false) => {
            let n: u64 = last.parse().ok()?;
            size.saturating_sub(n)..size
        }
        (false, true) => first.parse().ok()?..size,
        (false, false) => {
            let (first, last): (u64, u64) = (first.parse().ok()?, last.parse().ok()?);
            if last < first {
                return None;
            }
            first..last.saturating_add(1).min(size)
        }
        (true, true) => return None,
    };
    (range.start < range.end).then_some(range)
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
            exp,
            key: "acme/2026/12/06/call.mp3".into(),
            sub: "alice".into(),
            tenant: "acme".into(),
            role: Role::Admin,
            extension: None,
            ver: 0,
        })
    }

    #[test]
    fn ranges_asked_for() {
        assert_eq!(requested_range("bytes=0-99", 1000), Some(0..100));
        assert_eq!(requested_range("bytes=900-", 1000), Some(900..1000));
        assert_eq!(requested_range("bytes=-100", 1000), Some(900..1000));
        assert_eq!(requested_range("bytes=-5000", 1000), Some(0..1000));
        assert_eq!(requested_range("bytes=990-5000", 1000), Some(990..1000));
        // What cannot be one satisfiable range is ignored: the whole is sent.
        assert_eq!(requested_range("bytes=1000-", 1000), None);
        assert_eq!(requested_range("bytes=5-2", 1000), None);
        assert_eq!(requested_range("bytes=0-1,5-6", 1000), None);
        assert_eq!(requested_range("bytes=-", 1000), None);
        assert_eq!(requested_range("bytes=-0", 1000), None);
        assert_eq!(requested_range("items=0-1", 1000), None);
        assert_eq!(requested_range("bytes=x-1", 1000), None);
        assert_eq!(
            requested_range("bytes=0-18446744073709551615", 10),
            Some(0..10)
        );
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
