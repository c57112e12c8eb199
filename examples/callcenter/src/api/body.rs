//! The JSON request body extractor.

use super::ApiError;

/// JSON bodies: a malformed one is a 400 with the reason, not axum's plain-text rejection; one
/// announced or found over [`BODY_MAX`](super::BODY_MAX) is a 413, and what is over is not read.
pub(super) struct Body<T>(pub(super) T);

fn too_large() -> ApiError {
    ApiError::TooLarge(format!(
        "a request body is at most {} bytes",
        super::BODY_MAX
    ))
}

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        // An announced length over the limit is refused before a byte of the body is read.
        let announced = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if announced.is_some_and(|length| length > super::BODY_MAX as u64) {
            return Err(too_large());
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    too_large()
                } else {
                    ApiError::BadRequest(e.body_text())
                }
            })?;
        serde_json::from_slice(&bytes)
            .map(Body)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
    }
}
