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

pub(in crate::api) async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::api::openapi(),
    )
}

fn page(html: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        html,
    )
        .into_response()
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

pub(in crate::api) async fn admin_page() -> Response {
    page(ADMIN_PAGE)
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

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi()]
pub(in crate::api) struct Routes;
