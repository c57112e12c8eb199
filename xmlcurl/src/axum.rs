//! axum glue (feature `axum`): an extractor for the typed request and a response with
//! FreeSWITCH's content type.
//!
//! ```
//! use axum::{Router, routing::post};
//! use xmlcurl::axum::{XmlCurl, XmlResponse};
//! use xmlcurl::{Directory, Domain, NotFound, User};
//!
//! async fn fetch(XmlCurl(request): XmlCurl) -> XmlResponse {
//!     match request.directory().and_then(|d| d.user().zip(d.domain())) {
//!         Some((user, domain)) => Directory::new()
//!             .domain(Domain::new(domain).user(User::new(user).password("s3cret")))
//!             .into(),
//!         None => NotFound.into(),
//!     }
//! }
//! let app: Router = Router::new().route("/fsapi", post(fetch));
//! # let _ = app;
//! ```

use crate::{Document, Limits, Request, RequestError};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request as HttpRequest};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Extracts the typed request from a mod_xml_curl POST (default [`Limits`]).
#[derive(Debug, Clone)]
pub struct XmlCurl(pub Request<'static>);

/// Why the request was refused: 413 for a body over the limit, 400 otherwise.
#[derive(Debug)]
pub enum XmlCurlRejection {
    /// The body could not be read.
    Body(axum::extract::rejection::BytesRejection),
    /// The body is not a usable mod_xml_curl form.
    Form(RequestError),
}

impl IntoResponse for XmlCurlRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Body(rejection) => rejection.into_response(),
            Self::Form(error @ RequestError::TooLarge { .. }) => {
                (StatusCode::PAYLOAD_TOO_LARGE, error.to_string()).into_response()
            }
            Self::Form(error) => (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for XmlCurl {
    type Rejection = XmlCurlRejection;

    async fn from_request(request: HttpRequest, state: &S) -> Result<Self, Self::Rejection> {
        let body = Bytes::from_request(request, state)
            .await
            .map_err(XmlCurlRejection::Body)?;
        let request =
            Request::parse_with(&body, Limits::default()).map_err(XmlCurlRejection::Form)?;
        Ok(Self(request.into_owned()))
    }
}

/// A document as an HTTP 200 with `Content-Type: text/xml`.
#[derive(Debug, Clone)]
pub struct XmlResponse(pub Vec<u8>);

impl<D: Document> From<D> for XmlResponse {
    fn from(document: D) -> Self {
        Self(document.to_xml())
    }
}

impl IntoResponse for XmlResponse {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, "text/xml")], self.0).into_response()
    }
}
