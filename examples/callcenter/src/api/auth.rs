//! API users and their tokens: Argon2-hashed passwords, HS256 JWTs scoped to one tenant (or to
//! the platform, for operators), each naming the version of its user's credentials so that a
//! changed password, role or extension, or a removed user, revokes it within seconds.

use super::ApiError;
use super::limits::Hashing;
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

/// What a user may do: operators run the platform (top-ups, unassigned data) and see no
/// tenant's calls; admins manage their tenant (extensions); agents place and watch calls and
/// read CDRs and recordings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs the platform, above every tenant.
    Operator,
    /// Manages the tenant.
    Admin,
    /// Works calls.
    Agent,
}

impl Role {
    /// The role as stored and as tokens carry it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }

    fn parse(text: &str) -> Option<Role> {
        match text {
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            "agent" => Some(Role::Agent),
            _ => None,
        }
    }
}

/// What a token says: who, for which tenant, with which role, until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user name.
    pub sub: String,
    /// The one tenant the token is for; empty for an operator.
    pub tenant: String,
    /// The role.
    pub role: Role,
    /// The user's extension, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    /// The version of the user's credentials the token was issued for (required: a token
    /// without one predates revocation and is refused).
    pub ver: i64,
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
    /// use callcenter::api::{ApiUser, Role, Tokens};
    /// use std::time::Duration;
    ///
    /// let tokens = Tokens::new(b"a long random secret", Duration::from_secs(3600));
    /// let alice = ApiUser { tenant: "acme".into(), username: "alice".into(), role: Role::Agent, extension: None };
    /// let (token, _) = tokens.issue(&alice, 0);
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

    /// A token for `user` at credentials version `version`, and its expiry (Unix seconds).
    pub fn issue(&self, user: &ApiUser, version: i64) -> (String, u64) {
        let iat = unix_seconds().max(0) as u64;
        let claims = Claims {
            sub: user.username.clone(),
            tenant: user.tenant.clone(),
            role: user.role,
            extension: user.extension.clone(),
            ver: version,
            iat,
            exp: iat + self.ttl.as_secs(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing of plain claims cannot fail");
        (token, claims.exp)
    }

    /// A ticket: claims for one purpose, named by their `aud` claim (a recording's playback),
    /// signed like tokens. A ticket is never a token: [`Tokens::verify`] refuses any `aud`,
    /// and a ticket lacks a token's claims.
    pub(super) fn sign_ticket<T: Serialize>(&self, claims: &T) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing of plain claims cannot fail")
    }

    /// The claims of a valid, unexpired ticket for `audience` (see [`Tokens::sign_ticket`]).
    pub(super) fn verify_ticket<T: serde::de::DeserializeOwned>(
        &self,
        ticket: &str,
        audience: &str,
    ) -> Result<T, ApiError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "aud"]);
        validation.set_audience(&[audience]);
        jsonwebtoken::decode::<T>(ticket, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|_| ApiError::NotFound)
    }

    /// The claims of a valid, unexpired token signed with our secret (whether its user still
    /// holds them is [`Users::check`]'s question).
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| ApiError::Unauthorized("invalid or expired token".into()))
    }
}

/// A user as stored, without the hash. An operator's tenant is empty.
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

/// What a user holds now: what a token must still match.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Current {
    role: Role,
    extension: Option<String>,
    version: i64,
}

/// The `api_users` and `operators` tables.
#[derive(Clone)]
pub struct Users {
    pool: AnyPool,
    hashing: Arc<Hashing>,
    /// Each user's current role, extension and version, kept for a moment so that checking
    /// every request's token costs no query; a write through these `Users` drops its entry
    /// at once, a write through another process is seen within the TTL.
    current: moka::sync::Cache<(String, String), Option<Current>>,
}

impl std::fmt::Debug for Users {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Users").finish_non_exhaustive()
    }
}

/// How long a user's current state is trusted before the database is asked again: the most a
/// revoked token lives on.
pub const REVOCATION_DELAY: Duration = Duration::from_secs(2);

impl Users {
    /// Over the platform's database (migrated by [`platform::store::PlatformStore::open`]),
    /// hashing at most as many passwords at once as there are cores.
    pub fn new(pool: AnyPool) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Users {
            pool,
            hashing: Arc::new(Hashing::new(cores, 64)),
            current: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(REVOCATION_DELAY)
                .build(),
        }
    }

    async fn hash(&self, password: &str) -> Result<String, ApiError> {
        let password = password.to_owned();
        self.hashing
            .run(move || {
                let salt = SaltString::generate(&mut OsRng);
                Argon2::default()
                    .hash_password(password.as_bytes(), &salt)
                    .map(|h| h.to_string())
            })
            .await?
            .map_err(|e| ApiError::internal("password hashing", &e))
    }

    /// Adds or replaces a tenant's user, storing only an Argon2id hash of the password; every
    /// token issued before is revoked. An operator is added with [`Users::put_operator`].
    pub async fn put(&self, user: &ApiUser, password: &str) -> Result<(), ApiError> {
        check_username(&user.username)?;
        if user.role == Role::Operator {
            return Err(ApiError::BadRequest(
                "operators belong to no tenant: use put_operator".into(),
            ));
        }
        let hash = self.hash(password).await?;
        sqlx::query(
            "INSERT INTO api_users (tenant, username, password_hash, role, extension)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant, username) DO UPDATE SET password_hash = excluded.password_hash,
                 role = excluded.role, extension = excluded.extension,
                 token_version = api_users.token_version + 1",
        )
        .bind(&user.tenant)
        .bind(&user.username)
        .bind(&hash)
        .bind(user.role.as_str())
        .bind(user.extension.as_deref())
        .execute(&self.pool)
        .await?;
        self.current
            .invalidate(&(user.tenant.clone(), user.username.clone()));
        Ok(())
    }

    /// Adds or replaces an operator; every token issued before is revoked.
    pub async fn put_operator(&self, username: &str, password: &str) -> Result<(), ApiError> {
        check_username(username)?;
        let hash = self.hash(password).await?;
        sqlx::query(
            "INSERT INTO operators (username, password_hash) VALUES ($1, $2)
             ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash,
                 token_version = operators.token_version + 1",
        )
        .bind(username)
        .bind(&hash)
        .execute(&self.pool)
        .await?;
        self.current
            .invalidate(&(String::new(), username.to_owned()));
        Ok(())
    }

    /// A tenant's users, by name (never their password hashes).
    pub async fn list(&self, tenant: &str) -> Result<Vec<ApiUser>, ApiError> {
        let rows = sqlx::query(
            "SELECT username, role, extension FROM api_users WHERE tenant = $1 ORDER BY username",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let role: String = row.try_get(1)?;
                Ok(ApiUser {
                    tenant: tenant.to_owned(),
                    username: row.try_get(0)?,
                    role: Role::parse(&role).ok_or_else(|| {
                        ApiError::internal("users", &format!("unknown role {role:?}"))
                    })?,
                    extension: row.try_get(2)?,
                })
            })
            .collect()
    }

    /// Removes a tenant's user (`tenant` empty: an operator); their tokens stop working.
    pub async fn delete(&self, tenant: &str, username: &str) -> Result<bool, ApiError> {
        let deleted = if tenant.is_empty() {
            sqlx::query("DELETE FROM operators WHERE username = $1")
                .bind(username)
                .execute(&self.pool)
                .await?
        } else {
            sqlx::query("DELETE FROM api_users WHERE tenant = $1 AND username = $2")
                .bind(tenant)
                .bind(username)
                .execute(&self.pool)
                .await?
        };
        self.current
            .invalidate(&(tenant.to_owned(), username.to_owned()));
        Ok(deleted.rows_affected() > 0)
    }

    /// The stored hash and current state of a user (`tenant` empty: an operator).
    async fn stored(
        &self,
        tenant: &str,
        username: &str,
    ) -> Result<Option<(String, Current)>, ApiError> {
        let row = if tenant.is_empty() {
            sqlx::query(
                "SELECT password_hash, 'operator', NULL, token_version FROM operators WHERE username = $1",
            )
            .bind(username)
            .fetch_optional(&self.pool)
            .await?
        } else {
            sqlx::query(
                "SELECT password_hash, role, extension, token_version FROM api_users
                 WHERE tenant = $1 AND username = $2",
            )
            .bind(tenant)
            .bind(username)
            .fetch_optional(&self.pool)
            .await?
        };
        let Some(row) = row else {
            return Ok(None);
        };
        let role = Role::parse(&row.try_get::<String, _>(1)?);
        Ok(role
            .map(|role| -> Result<_, sqlx::Error> {
                Ok((
                    row.try_get::<String, _>(0)?,
                    Current {
                        role,
                        extension: row.try_get::<Option<String>, _>(2)?,
                        version: row.try_get::<i64, _>(3)?,
                    },
                ))
            })
            .transpose()?)
    }

    /// The user and their credentials version, if the password is right (`tenant` empty: an
    /// operator). An unknown user costs the same time as a wrong password, so names cannot be
    /// probed.
    pub async fn login(
        &self,
        tenant: &str,
        username: &str,
        password: &str,
    ) -> Result<Option<(ApiUser, i64)>, ApiError> {
        let stored = self.stored(tenant, username).await?;
        let hash = stored.as_ref().map(|(hash, _)| hash.clone());
        let password = password.to_owned();
        let matches = self
            .hashing
            .run(move || {
                let hash = hash.as_deref().unwrap_or_else(|| dummy_hash());
                PasswordHash::new(hash).is_ok_and(|parsed| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
            })
            .await?;
        Ok(stored.filter(|_| matches).map(|(_, current)| {
            (
                ApiUser {
                    tenant: tenant.to_owned(),
                    username: username.to_owned(),
                    role: current.role,
                    extension: current.extension,
                },
                current.version,
            )
        }))
    }

    /// Revokes every token of the user `claims` name (signing out everywhere): their
    /// credentials version moves on, so no token issued before passes [`Users::check`], and
    /// open sockets close within [`REVOCATION_DELAY`] and a check.
    pub async fn revoke_tokens(&self, claims: &Claims) -> Result<(), ApiError> {
        let statement = if claims.role == Role::Operator {
            "UPDATE operators SET token_version = token_version + 1 WHERE username = $2 AND $1 = ''"
        } else {
            "UPDATE api_users SET token_version = token_version + 1 WHERE tenant = $1 AND username = $2"
        };
        sqlx::query(statement)
            .bind(&claims.tenant)
            .bind(&claims.sub)
            .execute(&self.pool)
            .await?;
        self.current
            .invalidate(&(claims.tenant.clone(), claims.sub.clone()));
        Ok(())
    }

    /// Drops every user's cached credentials version: the next check of each token reads it
    /// again (another process changed users).
    pub fn forget_all(&self) {
        self.current.invalidate_all();
    }

    /// Whether the token's user still holds what it says: same role, extension and
    /// credentials version (a 401 otherwise).
    pub async fn check(&self, claims: &Claims) -> Result<(), ApiError> {
        let key = (claims.tenant.clone(), claims.sub.clone());
        let current = match self.current.get(&key) {
            Some(current) => current,
            None => {
                let current = self
                    .stored(&claims.tenant, &claims.sub)
                    .await?
                    .map(|(_, current)| current);
                self.current.insert(key, current.clone());
                current
            }
        };
        let holds = current.is_some_and(|current| {
            current.role == claims.role
                && current.extension == claims.extension
                && current.version == claims.ver
        });
        if holds {
            Ok(())
        } else {
            Err(ApiError::Unauthorized("token revoked".into()))
        }
    }
}

/// A user name: 1 to 64 ASCII letters, digits, `.`, `_`, `-` and `@` (it reaches logs and,
/// through click-to-call, a channel variable).
fn check_username(username: &str) -> Result<(), ApiError> {
    let valid = !username.is_empty()
        && username.len() <= 64
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if valid {
        Ok(())
    } else {
        Err(ApiError::BadRequest(
            "a user name is 1 to 64 letters, digits, '.', '_', '-' or '@'".into(),
        ))
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

/// A bearer token from `Authorization` (the scheme's name in any case, as RFC 6750 allows).
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let missing = || ApiError::Unauthorized("missing bearer token".into());
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(missing)?;
    let (scheme, token) = header.split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(missing());
    }
    Ok(token.trim())
}

/// The claims of a token whose user still holds them, of a tenant that is not disabled.
pub(super) async fn verified(state: &super::ApiState, token: &str) -> Result<Claims, ApiError> {
    let claims = state.tokens.verify(token)?;
    state.users.check(&claims).await?;
    refuse_disabled(state, &claims).await?;
    Ok(claims)
}

/// A disabled tenant's users can do nothing (their calls would be refused, but reading and
/// writing the tenant's data is theirs no more either); 403 while it is disabled.
pub(super) async fn refuse_disabled(
    state: &super::ApiState,
    claims: &Claims,
) -> Result<(), ApiError> {
    if claims.role == Role::Operator {
        return Ok(());
    }
    match state.cache.tenant(&claims.tenant).await? {
        Some(tenant) if !tenant.disabled => Ok(()),
        Some(_) => Err(ApiError::Forbidden("the tenant is disabled".into())),
        None => Err(ApiError::Unauthorized("the tenant no longer exists".into())),
    }
}

/// A tenant's user (admin or agent), from `Authorization: Bearer <token>`; an operator's token
/// is refused here (403): operators see no tenant's calls.
#[derive(Debug, Clone)]
pub struct Caller(pub Claims);

impl Caller {
    /// Refuses non-admins.
    pub fn admin(&self) -> Result<(), ApiError> {
        match self.0.role {
            Role::Admin => Ok(()),
            Role::Agent | Role::Operator => Err(ApiError::Forbidden("admins only".into())),
        }
    }
}

impl FromRequestParts<super::ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &super::ApiState,
    ) -> Result<Self, Self::Rejection> {
        let claims = verified(state, bearer(parts)?).await?;
        tenant_user(claims).map(Caller)
    }
}

/// Refuses an operator's claims where a tenant's user is meant.
pub(super) fn tenant_user(claims: Claims) -> Result<Claims, ApiError> {
    if claims.role == Role::Operator || claims.tenant.is_empty() {
        return Err(ApiError::Forbidden(
            "operators act on the platform, not in a tenant".into(),
        ));
    }
    Ok(claims)
}

/// A tenant's admin, from `Authorization: Bearer <token>`: anyone else gets a 403 before the
/// body of their request is read.
#[derive(Debug, Clone)]
pub struct Admin(pub Claims);

impl FromRequestParts<super::ApiState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &super::ApiState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.admin()?;
        Ok(Admin(caller.0))
    }
}

/// An operator, from `Authorization: Bearer <token>`; anyone else gets a 403.
#[derive(Debug, Clone)]
pub struct Operator(pub Claims);

impl FromRequestParts<super::ApiState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &super::ApiState,
    ) -> Result<Self, Self::Rejection> {
        let claims = verified(state, bearer(parts)?).await?;
        if claims.role != Role::Operator {
            return Err(ApiError::Forbidden("operators only".into()));
        }
        Ok(Operator(claims))
    }
}
