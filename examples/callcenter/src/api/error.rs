//! The API's errors: each maps to a status and a JSON body `{"error": "..."}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Why a request failed; each maps to a status and a JSON body `{"error": "..."}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no token, a bad or expired one, or wrong credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the role does not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// 404 (also for another tenant's things).
    #[error("not found")]
    NotFound,
    /// 503: FreeSWITCH or the database is unavailable.
    #[error("{0}")]
    Unavailable(String),
    /// 500.
    #[error("{0}")]
    Internal(String),
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        ApiError::Unavailable(format!("database: {error}"))
    }
}

impl From<billing::LedgerError> for ApiError {
    fn from(error: billing::LedgerError) -> Self {
        match error {
            billing::LedgerError::Database(e) => e.into(),
            billing::LedgerError::UnknownTenant(_) => ApiError::NotFound,
            billing::LedgerError::Amount(_) => ApiError::BadRequest(error.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<platform::store::PlatformError> for ApiError {
    fn from(error: platform::store::PlatformError) -> Self {
        ApiError::Unavailable(error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::warn!(%status, error = %self, "API request failed");
        }
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}
