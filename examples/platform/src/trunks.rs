//! Trunks: the SIP gateways to carriers, added by the operator and served to FreeSWITCH in
//! the directory. A sofia profile that names [`GATEWAYS_DOMAIN`] among its domains with
//! `parse="true"` asks for it (`purpose=gateways`, `profile=NAME`) when it starts and on every
//! `sofia profile NAME rescan`, and gets the trunks of that profile. A tenant's `gateway` names
//! the trunk its outside calls leave by (`sofia/gateway/NAME/number`).

use crate::identity::InvalidValue;
use crate::store::{PlatformError, PlatformStore};
use sqlx::Row;
use sqlx::any::AnyRow;

/// The directory domain whose lookups with `purpose=gateways` are answered with the trunks (no
/// tenant may have it as its SIP domain; nobody registers in it).
pub const GATEWAYS_DOMAIN: &str = "gateways.callcenter.invalid";

/// A trunk (a sofia gateway).
#[derive(Clone, PartialEq, Eq)]
pub struct TrunkRow {
    /// Its name (`sofia/gateway/NAME/...`): 1 to 64 letters, digits, `_`, `-`, `.`.
    pub name: String,
    /// The sofia profile it belongs to (`external`).
    pub profile: String,
    /// The carrier's host, `host` or `host:port`.
    pub proxy: String,
    /// The digest realm, when not the proxy's.
    pub realm: Option<String>,
    /// The user name to authenticate (and register) as.
    pub username: Option<String>,
    /// Its password: FreeSWITCH's to send, so kept as given; never shown, never logged.
    pub password: Option<String>,
    /// Register with the carrier (needs a user name and password).
    pub register: bool,
    /// The domain of the From header, when not the proxy's.
    pub from_domain: Option<String>,
    /// Put the caller ID in the From header (some carriers take it from there).
    pub caller_id_in_from: bool,
    /// Seconds a registration lasts (60 to 86400).
    pub expire_seconds: u32,
    /// Seconds between failed registration attempts (5 to 3600).
    pub retry_seconds: u32,
}

/// A password never reaches a log through `{:?}`.
impl std::fmt::Debug for TrunkRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrunkRow")
            .field("name", &self.name)
            .field("profile", &self.profile)
            .field("proxy", &self.proxy)
            .field("realm", &self.realm)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("register", &self.register)
            .finish_non_exhaustive()
    }
}

/// Checks a trunk: names by the gateway rule, hosts as domains or IPv4 addresses (an optional
/// port), user name and password without anything a SIP header or the XML could misread.
///
/// ```
/// use platform::trunks::{TrunkRow, check_trunk};
/// let mut trunk = TrunkRow {
///     name: "carrier".into(), profile: "external".into(), proxy: "sip.carrier.example:5060".into(),
///     realm: None, username: Some("acct-1".into()), password: Some("s3cret-pw".into()),
///     register: true, from_domain: None, caller_id_in_from: false,
///     expire_seconds: 3600, retry_seconds: 30,
/// };
/// assert!(check_trunk(&trunk).is_ok());
/// trunk.proxy = "sip.carrier.example;transport=tcp".into();
/// assert!(check_trunk(&trunk).is_err());
/// trunk.proxy = "sip.carrier.example".into();
/// trunk.username = None;
/// assert!(check_trunk(&trunk).is_err(), "registering needs credentials");
/// ```
pub fn check_trunk(trunk: &TrunkRow) -> Result<(), InvalidValue> {
    let invalid = |what| Err(InvalidValue::Trunk(what));
    if !esl::api::is_gateway_name(&trunk.name) {
        return invalid("name");
    }
    if !esl::api::is_gateway_name(&trunk.profile) {
        return invalid("profile");
    }
    if !is_host_port(&trunk.proxy) {
        return invalid("proxy");
    }
    for domain in [&trunk.realm, &trunk.from_domain].into_iter().flatten() {
        if !esl::api::is_domain(domain) {
            return invalid("realm or from_domain");
        }
    }
    if trunk.username.as_deref().is_some_and(|u| {
        !(1..=64).contains(&u.len())
            || !u
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'+'))
    }) {
        return invalid("username");
    }
    if trunk
        .password
        .as_deref()
        .is_some_and(|p| !(1..=128).contains(&p.len()) || !p.bytes().all(|b| b.is_ascii_graphic()))
    {
        return invalid("password");
    }
    if trunk.register && (trunk.username.is_none() || trunk.password.is_none()) {
        return invalid("registration");
    }
    if !(60..=86_400).contains(&trunk.expire_seconds) || !(5..=3600).contains(&trunk.retry_seconds)
    {
        return invalid("timer");
    }
    Ok(())
}

/// `host` or `host:port`, the host a domain or IPv4 address.
fn is_host_port(text: &str) -> bool {
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (text, None),
    };
    esl::api::is_domain(host)
        && port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0) && !p.starts_with('0'))
}

fn trunk_from(row: &AnyRow) -> Result<TrunkRow, sqlx::Error> {
    Ok(TrunkRow {
        name: row.try_get(0)?,
        profile: row.try_get(1)?,
        proxy: row.try_get(2)?,
        realm: row.try_get(3)?,
        username: row.try_get(4)?,
        password: row.try_get(5)?,
        register: row.try_get::<i32, _>(6)? != 0,
        from_domain: row.try_get(7)?,
        caller_id_in_from: row.try_get::<i32, _>(8)? != 0,
        expire_seconds: u32::try_from(row.try_get::<i32, _>(9)?).unwrap_or(3600),
        retry_seconds: u32::try_from(row.try_get::<i32, _>(10)?).unwrap_or(30),
    })
}

const COLUMNS: &str = "name, profile, proxy, realm, username, password, register, from_domain, caller_id_in_from, expire_seconds, retry_seconds";

impl PlatformStore {
    /// Adds or replaces a trunk (see [`check_trunk`]); `Some` with the stored one it replaced.
    pub async fn put_trunk(&self, trunk: &TrunkRow) -> Result<Option<TrunkRow>, PlatformError> {
        check_trunk(trunk)?;
        let mut tx = self.pool().begin().await?;
        let before = sqlx::query(&format!("SELECT {COLUMNS} FROM trunks WHERE name = $1"))
            .bind(&trunk.name)
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(trunk_from)
            .transpose()?;
        sqlx::query(
            "INSERT INTO trunks (name, profile, proxy, realm, username, password, register, from_domain, caller_id_in_from, expire_seconds, retry_seconds)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (name) DO UPDATE SET profile = excluded.profile, proxy = excluded.proxy,
                 realm = excluded.realm, username = excluded.username, password = excluded.password,
                 register = excluded.register, from_domain = excluded.from_domain,
                 caller_id_in_from = excluded.caller_id_in_from,
                 expire_seconds = excluded.expire_seconds, retry_seconds = excluded.retry_seconds",
        )
        .bind(&trunk.name)
        .bind(&trunk.profile)
        .bind(&trunk.proxy)
        .bind(trunk.realm.as_deref())
        .bind(trunk.username.as_deref())
        .bind(trunk.password.as_deref())
        .bind(i32::from(trunk.register))
        .bind(trunk.from_domain.as_deref())
        .bind(i32::from(trunk.caller_id_in_from))
        .bind(i32::try_from(trunk.expire_seconds).unwrap_or(3600))
        .bind(i32::try_from(trunk.retry_seconds).unwrap_or(30))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.changed();
        Ok(before)
    }

    /// A trunk by name.
    pub async fn trunk(&self, name: &str) -> Result<Option<TrunkRow>, PlatformError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM trunks WHERE name = $1"))
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.as_ref().map(trunk_from).transpose()?)
    }

    /// Every trunk, by name; only `profile`'s when given.
    pub async fn trunks(&self, profile: Option<&str>) -> Result<Vec<TrunkRow>, PlatformError> {
        let rows = match profile {
            Some(profile) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM trunks WHERE profile = $1 ORDER BY name"
                ))
                .bind(profile)
                .fetch_all(self.pool())
                .await?
            }
            None => {
                sqlx::query(&format!("SELECT {COLUMNS} FROM trunks ORDER BY name"))
                    .fetch_all(self.pool())
                    .await?
            }
        };
        Ok(rows.iter().map(trunk_from).collect::<Result<_, _>>()?)
    }

    /// Removes a trunk no tenant goes out by (else [`InvalidValue::InUse`]); the removed one,
    /// `None` if there was none.
    pub async fn delete_trunk(&self, name: &str) -> Result<Option<TrunkRow>, PlatformError> {
        let user = sqlx::query("SELECT tenant FROM tenants WHERE gateway = $1 ORDER BY tenant")
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        if let Some(row) = user {
            return Err(
                InvalidValue::InUse(format!("tenant {}", row.try_get::<String, _>(0)?)).into(),
            );
        }
        let before = self.trunk(name).await?;
        sqlx::query("DELETE FROM trunks WHERE name = $1")
            .bind(name)
            .execute(self.pool())
            .await?;
        self.changed();
        Ok(before)
    }
}
