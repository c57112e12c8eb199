//! What is served without a token: the OpenAPI description and the live page.

use axum::response::IntoResponse;

/// The OpenAPI description of the REST routes.
pub const OPENAPI: &str = include_str!("openapi.json");

/// The live page.
pub const LIVE_PAGE: &str = include_str!("live.html");

pub(super) async fn openapi() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
}

pub(super) async fn live_page() -> impl IntoResponse {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                axum::http::header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
            ),
        ],
        LIVE_PAGE,
    )
}
