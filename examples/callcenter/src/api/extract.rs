//! Path and query extractors whose rejections are the API's JSON errors (axum's own answer
//! plain text), with the reason: which parameter and why.

use super::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// A route's path parameters; one that does not parse is a JSON 400.
pub(super) struct Path<T>(pub(super) T);

/// A request's query; one that does not parse (an unknown parameter included) is a JSON 400.
pub(super) struct Query<T>(pub(super) T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
    }
}

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
    }
}
