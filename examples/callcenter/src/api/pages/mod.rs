//! The pages, served without a token (they sign in with the API): the live calls (`/live`),
//! the agent's page (`/agent`), the wallboard (`/wallboard`) and the administration
//! (`/admin`), and the OpenAPI description.
//! Each page is a small HTML file with its own script; `app.js` holds what they share (sign
//! in and out, the token, the socket and its reconnection, the status line). Scripts and
//! styles come from `/assets/` only: the pages' Content-Security-Policy allows nothing inline.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The live calls page.
pub const LIVE_PAGE: &str = include_str!("live.html");

/// The agent's page.
pub const AGENT_PAGE: &str = include_str!("agent.html");

/// The wallboard.
pub const WALLBOARD_PAGE: &str = include_str!("wallboard.html");

/// The administration page (an operator's or a tenant admin's).
pub const ADMIN_PAGE: &str = include_str!("admin.html");

/// The pages' scripts and style, by name.
const ASSETS: [(&str, &str, &str); 6] = [
    ("app.js", "text/javascript", include_str!("app.js")),
    ("app.css", "text/css", include_str!("app.css")),
    ("live.js", "text/javascript", include_str!("live.js")),
    ("agent.js", "text/javascript", include_str!("agent.js")),
    ("admin.js", "text/javascript", include_str!("admin.js")),
    (
        "wallboard.js",
        "text/javascript",
        include_str!("wallboard.js"),
    ),
];

/// Nothing inline, nothing from elsewhere; the socket and the API on this origin only.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// This description.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "description",
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json", body = inline(Object))),
)]
pub(in crate::api) async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::api::openapi(),
    )
}

fn page(html: &'static str) -> Response {
    page_with_policy(html, POLICY.to_owned())
}

fn page_with_policy(html: &'static str, policy: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
            (header::CONTENT_SECURITY_POLICY, policy),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CACHE_CONTROL, "no-cache".to_owned()),
        ],
        html,
    )
        .into_response()
}

/// The administration page's `media-src`, worked out once per daemon: this origin, and the
/// recording store's when it signs URLs.
///
/// ```
/// let sources = callcenter::api::MediaSources::default();
/// # let _ = sources;
/// ```
#[derive(Clone, Default)]
pub struct MediaSources(std::sync::Arc<tokio::sync::OnceCell<String>>);

/// Where the administration page may play recordings from: this origin (a local store's
/// playback tickets) and, on S3, the origin of the store's pre-signed URLs (found by signing a
/// probe once; a failure is reported and tried again at the next page).
async fn media_sources(state: &crate::api::ApiState) -> String {
    let own = || String::from("'self'");
    let Some(destination) = &state.recordings else {
        return own();
    };
    let found = state
        .media_sources
        .0
        .get_or_try_init(|| async {
            let probe = destination
                .signed_download("probe", std::time::Duration::from_secs(60))
                .await;
            match probe {
                None => Ok(own()),
                Some(Ok(url)) => Ok(match origin(&url) {
                    Some(origin) => format!("'self' {origin}"),
                    None => own(),
                }),
                Some(Err(error)) => Err(crate::api::ApiError::dependency(
                    "recording store (signing)",
                    &error,
                )),
            }
        })
        .await;
    found.cloned().unwrap_or_else(|_| own())
}

/// The `scheme://host[:port]` of an absolute URL, when it is only that (nothing that could end
/// the policy's directive).
fn origin(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next()?;
    let clean = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    clean.then(|| &url[..scheme.len() + 3 + host.len()])
}

pub(in crate::api) async fn live_page() -> Response {
    page(LIVE_PAGE)
}

pub(in crate::api) async fn agent_page() -> Response {
    page(AGENT_PAGE)
}

pub(in crate::api) async fn wallboard_page() -> Response {
    page(WALLBOARD_PAGE)
}

pub(in crate::api) async fn admin_page(
    axum::extract::State(state): axum::extract::State<crate::api::ApiState>,
) -> Response {
    let policy = format!("{POLICY}; media-src {}", media_sources(&state).await);
    page_with_policy(ADMIN_PAGE, policy)
}

/// `/assets/{name}`: one of the pages' scripts or style; 404 for any other name.
pub(in crate::api) async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(known, _, _)| *known == name) {
        Some((_, kind, body)) => (
            [
                (header::CONTENT_TYPE, *kind),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *body,
        )
            .into_response(),
        None => crate::api::ApiError::NotFound.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::origin;

    #[test]
    fn origins_of_signed_urls() {
        assert_eq!(
            origin("https://recordings.s3.eu-west-1.amazonaws.com/a/b.mp3?X-Amz-Signature=1"),
            Some("https://recordings.s3.eu-west-1.amazonaws.com")
        );
        assert_eq!(
            origin("http://127.0.0.1:3900/recordings/a.mp3"),
            Some("http://127.0.0.1:3900")
        );
        assert_eq!(origin("http://evil; script-src *"), None);
        assert_eq!(origin("javascript://x"), None);
        assert_eq!(origin("/api/playback/t"), None);
    }
}

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(openapi))]
pub(in crate::api) struct Routes;
