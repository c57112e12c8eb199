//! The API's errors: each maps to a status and a JSON body `{"error": "..."}`. A failing
//! dependency's text (a database's message names hosts, tables and sometimes values) never
//! leaves the process: it is logged under an [`ErrorId`], and the answer carries only the id.

use crate::http::ErrorId;
use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Why a request failed; each maps to a status and a JSON body `{"error": "..."}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no token, a bad, expired or revoked one, or wrong credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the role does not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// 404 (also for another tenant's things).
    #[error("not found")]
    NotFound,
    /// 413: the body is over the limit (not read past it).
    #[error("{0}")]
    TooLarge(String),
    /// 429, with `Retry-After`.
    #[error("{message}")]
    TooManyRequests {
        /// Seconds until a retry may succeed.
        retry_after: u64,
        /// What was limited.
        message: String,
    },
    /// 503: FreeSWITCH or the database is unavailable. The text is safe to show (see
    /// [`ApiError::dependency`]).
    #[error("{0}")]
    Unavailable(String),
    /// 500. The text is safe to show (see [`ApiError::internal`]).
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// A 503 for a failing dependency: `error` is logged under a new id, the answer names only
    /// `what` and the id.
    ///
    /// ```
    /// let error = callcenter::api::ApiError::dependency("database", &"password authentication failed for user x");
    /// assert!(error.to_string().starts_with("database unavailable (error id "));
    /// assert!(!error.to_string().contains("password"));
    /// ```
    pub fn dependency(what: &str, error: &dyn std::fmt::Display) -> Self {
        let id = ErrorId::log(what, error);
        ApiError::Unavailable(format!("{what} unavailable (error id {id})"))
    }

    /// A 500: `error` is logged under a new id, the answer carries only the id.
    pub fn internal(what: &str, error: &dyn std::fmt::Display) -> Self {
        let id = ErrorId::log(what, error);
        ApiError::Internal(format!("internal error (error id {id})"))
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        ApiError::dependency("database", &error)
    }
}

impl From<billing::LedgerError> for ApiError {
    fn from(error: billing::LedgerError) -> Self {
        match error {
            billing::LedgerError::Database(e) => e.into(),
            billing::LedgerError::UnknownTenant(_) => ApiError::NotFound,
            billing::LedgerError::Amount(_) => ApiError::BadRequest(error.to_string()),
            other => ApiError::internal("ledger", &other),
        }
    }
}

impl From<platform::store::PlatformError> for ApiError {
    fn from(error: platform::store::PlatformError) -> Self {
        match error {
            platform::store::PlatformError::Invalid(invalid) => {
                ApiError::BadRequest(invalid.to_string())
            }
            other => ApiError::dependency("database", &other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let body = Json(json!({ "error": self.to_string() }));
        match self {
            ApiError::TooManyRequests { retry_after, .. } => (
                status,
                [(header::RETRY_AFTER, retry_after.to_string())],
                body,
            )
                .into_response(),
            _ => (status, body).into_response(),
        }
    }
}
