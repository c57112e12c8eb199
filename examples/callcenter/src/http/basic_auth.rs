//! HTTP basic authentication, as FreeSWITCH's mod_xml_curl and mod_json_cdr send it.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;

/// A user and password. `Debug` never shows the password.
///
/// ```
/// use callcenter::http::BasicAuth;
///
/// let auth = BasicAuth::new("freeswitch", "s3cret");
/// let mut headers = axum::http::HeaderMap::new();
/// headers.insert("authorization", "Basic ZnJlZXN3aXRjaDpzM2NyZXQ=".parse().unwrap());
/// assert!(auth.accepts(&headers));
/// assert!(!format!("{auth:?}").contains("s3cret"));
/// ```
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
pub struct BasicAuth {
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth")
            .field("user", &self.user)
            .field("password", &"<hidden>")
            .finish()
    }
}

impl BasicAuth {
    /// Credentials to require.
    pub fn new(user: &str, password: &str) -> Self {
        BasicAuth {
            user: user.to_owned(),
            password: password.to_owned(),
        }
    }

    /// Whether the request carries these credentials.
    pub fn accepts(&self, headers: &HeaderMap) -> bool {
        let Some(encoded) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
        else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
            return false;
        };
        let expected = format!("{}:{}", self.user, self.password);
        constant_time_eq(&decoded, expected.as_bytes())
    }

    /// The 401 answer that asks for credentials.
    pub fn challenge(&self) -> Response {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"freeswitch\"")],
            "authentication required\n",
        )
            .into_response()
    }
}

/// Compares without stopping at the first difference, so timing does not reveal the password.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
