//! The API's errors: each maps to a status and one JSON body for every failure of every route,
//! `{"error": "what went wrong", "code": "not_found", "request_id": "..."}` (the request id is
//! also the `X-Request-Id` header, see [`crate::http::request_id`]). A failing dependency's text (a
//! database's message names hosts, tables and sometimes values) never leaves the process: it
//! is logged under an [`ErrorId`], and the answer carries only the id.

use crate::http::ErrorId;
use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use platform::identity::InvalidValue;
use serde_json::json;

/// Why a request failed; each maps to a status and a [`code`](ApiError::code).
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
    /// 405: the route exists, not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409: the request contradicts what is stored (a payment reference already used for
    /// another amount, a name taken).
    #[error("{0}")]
    Conflict(String),
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
            billing::LedgerError::Amount(_) | billing::LedgerError::Precision { .. } => {
                ApiError::BadRequest(error.to_string())
            }
            billing::LedgerError::ReferenceConflict { .. }
            | billing::LedgerError::VersionOrder { .. } => ApiError::Conflict(error.to_string()),
            other => ApiError::internal("ledger", &other),
        }
    }
}

impl From<crate::admin::AdminError> for ApiError {
    fn from(error: crate::admin::AdminError) -> Self {
        use crate::admin::AdminError;
        match error {
            AdminError::Invalid(text) => ApiError::BadRequest(text),
            AdminError::Conflict(text) => ApiError::Conflict(text),
            AdminError::NotFound(_) => ApiError::NotFound,
            AdminError::Platform(error) => error.into(),
            AdminError::Ledger(error) => error.into(),
        }
    }
}

impl From<platform::store::PlatformError> for ApiError {
    fn from(error: platform::store::PlatformError) -> Self {
        match error {
            // What contradicts stored data is a conflict: the request is well formed, the
            // state refuses it (changing that state first makes it pass).
            platform::store::PlatformError::Invalid(
                invalid @ (InvalidValue::InUse(_)
                | InvalidValue::NameTaken(_)
                | InvalidValue::DidTaken(_)
                | InvalidValue::TenantCase(_)
                | InvalidValue::TenantTaken(_)),
            ) => ApiError::Conflict(invalid.to_string()),
            platform::store::PlatformError::Invalid(invalid) => {
                ApiError::BadRequest(invalid.to_string())
            }
            other => ApiError::dependency("database", &other),
        }
    }
}

impl ApiError {
    /// The answer's status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The answer's `code`: one stable word per kind of failure, for programs to match on.
    ///
    /// ```
    /// use callcenter::api::ApiError;
    /// assert_eq!(ApiError::NotFound.code(), "not_found");
    /// assert_eq!(ApiError::Conflict("reference used".into()).code(), "conflict");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "invalid_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::TooLarge(_) => "payload_too_large",
            ApiError::TooManyRequests { .. } => "rate_limited",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = Json(json!({
            "error": self.to_string(),
            "code": self.code(),
            "request_id": crate::http::request_id::current(),
        }));
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
