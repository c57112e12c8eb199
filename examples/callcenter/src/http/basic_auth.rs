//! HTTP basic authentication, as FreeSWITCH's mod_xml_curl and mod_json_cdr send it, checked
//! before a request's body is read.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;

/// A user and password FreeSWITCH must send. Neither may be empty, and the user has no `:`
/// (basic authentication could not tell where it ends). `Debug` never shows the password.
///
/// ```
/// use callcenter::http::BasicAuth;
///
/// let auth = BasicAuth::new("freeswitch", "s3cret")?;
/// let mut headers = axum::http::HeaderMap::new();
/// headers.insert("authorization", "Basic ZnJlZXN3aXRjaDpzM2NyZXQ=".parse().unwrap());
/// assert!(auth.accepts(&headers));
/// assert!(!format!("{auth:?}").contains("s3cret"));
/// assert!(BasicAuth::new("freeswitch", "").is_err());
/// # Ok::<(), callcenter::http::CredentialsError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    user: String,
    password: String,
}

/// Why credentials cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// No user name.
    #[error("the user name is empty")]
    EmptyUser,
    /// A `:` in the user name.
    #[error("the user name contains ':'")]
    ColonInUser,
    /// No password: an empty password is no credential.
    #[error("the password is empty")]
    EmptyPassword,
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
    pub fn new(user: &str, password: &str) -> Result<Self, CredentialsError> {
        if user.is_empty() {
            return Err(CredentialsError::EmptyUser);
        }
        if user.contains(':') {
            return Err(CredentialsError::ColonInUser);
        }
        if password.is_empty() {
            return Err(CredentialsError::EmptyPassword);
        }
        Ok(BasicAuth {
            user: user.to_owned(),
            password: password.to_owned(),
        })
    }

    /// Credentials for `user` with a new random password: 32 bytes from the operating system,
    /// URL-safe base64 (43 characters, nothing XML or basic authentication must escape).
    ///
    /// ```
    /// let a = callcenter::http::BasicAuth::generate("freeswitch");
    /// let b = callcenter::http::BasicAuth::generate("freeswitch");
    /// assert_eq!(a.password().len(), 43);
    /// assert_ne!(a.password(), b.password());
    /// ```
    pub fn generate(user: &str) -> Self {
        use argon2::password_hash::rand_core::{OsRng, RngCore};
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        BasicAuth {
            user: user.to_owned(),
            password: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        }
    }

    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// Whether the request carries these credentials (the scheme's name in any case, as
    /// RFC 7617 allows).
    pub fn accepts(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let Some((scheme, encoded)) = value.split_once(' ') else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case("basic") {
            return false;
        }
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

/// Middleware: a request without the credentials gets the 401 before anything reads its body
/// (`Router::route_layer(axum::middleware::from_fn_with_state(auth, require))`).
pub async fn require(State(auth): State<BasicAuth>, request: Request, next: Next) -> Response {
    if auth.accepts(request.headers()) {
        next.run(request).await
    } else {
        auth.challenge()
    }
}

/// Compares without stopping at the first difference, so timing does not reveal the password.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
