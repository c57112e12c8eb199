//! API users and their tokens: Argon2-hashed passwords, HS256 JWTs scoped to one tenant.

use super::ApiError;
use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use platform::clock::unix_seconds;
use serde::{Deserialize, Serialize};
use sqlx::{AnyPool, Row};
use std::sync::Arc;
use std::time::Duration;

/// What a user may do: admins manage the tenant (extensions, top-ups); agents place and watch
/// calls and read CDRs and recordings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages the tenant.
    Admin,
    /// Works calls.
    Agent,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }
}

/// What a token says: who, for which tenant, with which role, until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user name.
    pub sub: String,
    /// The one tenant the token is for.
    pub tenant: String,
    /// The role.
    pub role: Role,
    /// The user's extension, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Expires at, Unix seconds.
    pub exp: u64,
}

/// Issues and checks tokens.
#[derive(Clone)]
pub struct Tokens {
    encoding: Arc<EncodingKey>,
    decoding: Arc<DecodingKey>,
    validation: Arc<Validation>,
    ttl: Duration,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    /// Tokens signed with `secret` (HS256), valid for `ttl`.
    ///
    /// ```
    /// use callcenter::api::{Claims, Role, Tokens};
    /// use std::time::Duration;
    ///
    /// let tokens = Tokens::new(b"a long random secret", Duration::from_secs(3600));
    /// let (token, _) = tokens.issue("alice", "acme", Role::Agent, None);
    /// assert_eq!(tokens.verify(&token).unwrap().tenant, "acme");
    /// let other = Tokens::new(b"another secret", Duration::from_secs(3600));
    /// assert!(other.verify(&token).is_err());
    /// ```
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Tokens {
            encoding: Arc::new(EncodingKey::from_secret(secret)),
            decoding: Arc::new(DecodingKey::from_secret(secret)),
            validation: Arc::new(validation),
            ttl,
        }
    }

    /// A token and its expiry (Unix seconds).
    pub fn issue(
        &self,
        user: &str,
        tenant: &str,
        role: Role,
        extension: Option<String>,
    ) -> (String, u64) {
        let iat = unix_seconds().max(0) as u64;
        let claims = Claims {
            sub: user.to_owned(),
            tenant: tenant.to_owned(),
            role,
            extension,
            iat,
            exp: iat + self.ttl.as_secs(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing of plain claims cannot fail");
        (token, claims.exp)
    }

    /// The claims of a valid, unexpired token signed with our secret.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| ApiError::Unauthorized(format!("invalid token: {e}")))
    }
}

/// A user as stored, without the hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiUser {
    /// The tenant.
    pub tenant: String,
    /// The user name.
    pub username: String,
    /// The role.
    pub role: Role,
    /// The user's extension.
    pub extension: Option<String>,
}

/// The `api_users` table.
#[derive(Debug, Clone)]
pub struct Users {
    pool: AnyPool,
}

/// Hashing is slow on purpose: off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f)
        .await
        .expect("password hashing does not panic")
}

impl Users {
    /// Over the platform's database (migrated by [`platform::store::PlatformStore::open`]).
    pub fn new(pool: AnyPool) -> Self {
        Users { pool }
    }

    /// Adds or replaces a user, storing only an Argon2id hash of the password.
    pub async fn put(&self, user: &ApiUser, password: &str) -> Result<(), ApiError> {
        let password = password.to_owned();
        let hash = blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
        })
        .await
        .map_err(|e| ApiError::Internal(format!("hashing: {e}")))?;
        sqlx::query(
            "INSERT INTO api_users (tenant, username, password_hash, role, extension)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant, username) DO UPDATE SET password_hash = excluded.password_hash,
                 role = excluded.role, extension = excluded.extension",
        )
        .bind(&user.tenant)
        .bind(&user.username)
        .bind(&hash)
        .bind(user.role.as_str())
        .bind(user.extension.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The user, if the password is right. An unknown user costs the same time as a wrong
    /// password, so names cannot be probed.
    pub async fn login(
        &self,
        tenant: &str,
        username: &str,
        password: &str,
    ) -> Result<Option<ApiUser>, ApiError> {
        let row = sqlx::query(
            "SELECT password_hash, role, extension FROM api_users WHERE tenant = $1 AND username = $2",
        )
        .bind(tenant)
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        let (hash, role, extension) = match row {
            Some(row) => (
                Some(row.try_get::<String, _>(0)?),
                row.try_get::<String, _>(1)?,
                row.try_get::<Option<String>, _>(2)?,
            ),
            None => (None, String::new(), None),
        };
        let password = password.to_owned();
        let matches = blocking(move || {
            let hash = hash.as_deref().unwrap_or_else(|| dummy_hash());
            PasswordHash::new(hash).is_ok_and(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
        })
        .await;
        let role = match role.as_str() {
            "admin" => Role::Admin,
            "agent" => Role::Agent,
            _ => return Ok(None),
        };
        Ok(matches.then(|| ApiUser {
            tenant: tenant.to_owned(),
            username: username.to_owned(),
            role,
            extension,
        }))
    }
}

/// A hash of a random password nobody knows, verified against for unknown users.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        let password = uuid::Uuid::new_v4().to_string();
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// The caller, from `Authorization: Bearer <token>`.
#[derive(Debug, Clone)]
pub struct Caller(pub Claims);

impl Caller {
    /// Refuses non-admins.
    pub fn admin(&self) -> Result<(), ApiError> {
        match self.0.role {
            Role::Admin => Ok(()),
            Role::Agent => Err(ApiError::Forbidden("admins only".into())),
        }
    }
}

impl FromRequestParts<super::ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &super::ApiState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ApiError::Unauthorized("missing bearer token".into()))?;
        let token = header
            .strip_prefix("Bearer ")
            .ok_or_else(|| ApiError::Unauthorized("missing bearer token".into()))?;
        state.tokens.verify(token.trim()).map(Caller)
    }
}
