//! The mod_xml_curl server: FreeSWITCH's directory, dialplan and configuration, answered from
//! the platform's tables.
//!
//! - `directory`: the extension of the tenant owning the SIP domain, with its password or
//!   `a1-hash`, its caller ID, `user_context` (the tenant's context) and `tenant_id` (so that
//!   its calls, and their CDRs, name the tenant).
//! - `dialplan`: in the tenant owning the context, an extension is bridged to the user; any other
//!   number goes out through the tenant's gateway. A prepaid tenant's outside call is authorised
//!   by billing and hung up (`ALLOTTED_TIMEOUT`) when the balance is spent, counted from answer;
//!   without credit it is refused with `OUTGOING_CALL_BARRED`. Calls of a tenant or extension
//!   that records start `record_session` into the staging directory.
//! - `configuration`: `callcenter.conf` and `ivr.conf` from the database; not-found otherwise.
//!
//! FreeSWITCH blocks a thread while it waits, so tenants and extensions are cached in process;
//! every write through [`PlatformStore`] invalidates the cache, and entries also expire.

use crate::http_auth::BasicAuth;
use crate::platform::{ExtensionRow, PlatformError, PlatformStore, Tenant};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use billing::{Authorization, Ledger};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use xmlcurl::axum::{XmlCurl, XmlResponse};
use xmlcurl::{
    Agent, CallCenter, Condition, Context, Dialplan, Directory, Domain, Extension, Ivr, Menu,
    NotFound, Queue, Tier, User,
};

/// How the xml_curl server answers.
#[derive(Debug, Clone)]
pub struct XmlCurlConfig {
    /// Credentials FreeSWITCH sends (`gateway-credentials`); `None` accepts any request.
    pub auth: Option<BasicAuth>,
    /// Where `record_session` writes (the recording pipeline's staging directory).
    pub recordings_dir: PathBuf,
    /// How long a cached tenant or extension may be served. Default 60 s.
    pub cache_ttl: Duration,
}

impl Default for XmlCurlConfig {
    fn default() -> Self {
        XmlCurlConfig {
            auth: None,
            recordings_dir: PathBuf::from("/dev/shm/recordings"),
            cache_ttl: Duration::from_secs(60),
        }
    }
}

#[derive(Clone)]
struct ServerState {
    config: Arc<XmlCurlConfig>,
    store: PlatformStore,
    ledger: Ledger,
    tenants: Arc<Cache<String, Option<Tenant>>>,
    extensions: Arc<Cache<(String, String), Option<ExtensionRow>>>,
}

/// The routes: `POST /fsapi` (and any path below it).
pub fn router(store: PlatformStore, ledger: Ledger, config: XmlCurlConfig) -> Router {
    let ttl = config.cache_ttl;
    let state = ServerState {
        config: Arc::new(config),
        store,
        ledger,
        tenants: Arc::new(Cache::new(ttl)),
        extensions: Arc::new(Cache::new(ttl)),
    };
    Router::new()
        .route("/fsapi", post(answer))
        .route("/fsapi/{*rest}", post(answer))
        .with_state(state)
}

async fn answer(
    State(state): State<ServerState>,
    headers: HeaderMap,
    XmlCurl(request): XmlCurl,
) -> Response {
    if let Some(auth) = &state.config.auth
        && !auth.accepts(&headers)
    {
        return auth.challenge();
    }
    let answered = if request.directory().is_some() {
        directory(&state, &request).await
    } else if request.dialplan().is_some() {
        dialplan(&state, &request).await
    } else {
        configuration(&state, &request).await
    };
    match answered {
        Ok(response) => response.into_response(),
        Err(error) => {
            // FreeSWITCH falls back to its next source on an error, and retries on the next call.
            tracing::warn!(%error, "xml_curl lookup failed");
            (StatusCode::SERVICE_UNAVAILABLE, format!("{error}\n")).into_response()
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum LookupError {
    #[error(transparent)]
    Platform(#[from] PlatformError),
    #[error(transparent)]
    Ledger(#[from] billing::LedgerError),
}

#[derive(Debug, Clone, Copy)]
enum TenantBy {
    Domain,
    Context,
}

impl ServerState {
    /// The tenant owning a SIP domain or a dialplan context, from the cache when it is fresh.
    async fn tenant(&self, by: TenantBy, value: &str) -> Result<Option<Tenant>, PlatformError> {
        let key = format!("{by:?}:{value}");
        if let Some(hit) = self.tenants.get(&key, self.store.generation()) {
            return Ok(hit);
        }
        let generation = self.store.generation();
        let tenant = match by {
            TenantBy::Domain => self.store.tenant_by_domain(value).await?,
            TenantBy::Context => self.store.tenant_by_context(value).await?,
        };
        self.tenants.put(key, generation, tenant.clone());
        Ok(tenant)
    }

    async fn extension(
        &self,
        tenant: &str,
        extension: &str,
    ) -> Result<Option<ExtensionRow>, PlatformError> {
        let key = (tenant.to_owned(), extension.to_owned());
        if let Some(hit) = self.extensions.get(&key, self.store.generation()) {
            return Ok(hit);
        }
        let generation = self.store.generation();
        let row = self.store.extension(tenant, extension).await?;
        self.extensions.put(key, generation, row.clone());
        Ok(row)
    }
}

async fn directory(
    state: &ServerState,
    request: &xmlcurl::Request<'_>,
) -> Result<XmlResponse, LookupError> {
    let lookup = request.directory().expect("a directory request");
    let (Some(user), Some(domain)) = (lookup.user(), lookup.domain()) else {
        return Ok(NotFound.into());
    };
    let Some(tenant) = state.tenant(TenantBy::Domain, domain).await? else {
        return Ok(NotFound.into());
    };
    let Some(row) = state.extension(&tenant.tenant, user).await? else {
        return Ok(NotFound.into());
    };
    let mut user = User::new(row.extension.clone());
    if let Some(hash) = &row.a1_hash {
        user = user.param("a1-hash", hash.clone());
    } else if let Some(password) = &row.password {
        user = user.password(password.clone());
    }
    user = user
        .variable("user_context", tenant.context.clone())
        .variable("tenant_id", tenant.tenant.clone());
    if let Some(name) = &row.caller_id_name {
        user = user.variable("effective_caller_id_name", name.clone());
    }
    let number = row
        .caller_id_number
        .clone()
        .unwrap_or(row.extension.clone());
    user = user.variable("effective_caller_id_number", number);
    if row.record_calls {
        user = user.variable("record_calls", "true");
    }
    let domain = Domain::new(tenant.domain.clone())
        .param(
            "dial-string",
            "{^^:sip_invite_domain=${dialed_domain}:presence_id=${dialed_user}@${dialed_domain}}${sofia_contact(*/${dialed_user}@${dialed_domain})}",
        )
        .user(user);
    Ok(Directory::new().domain(domain).into())
}

async fn dialplan(
    state: &ServerState,
    request: &xmlcurl::Request<'_>,
) -> Result<XmlResponse, LookupError> {
    let call = request.dialplan().expect("a dialplan request");
    let (Some(context), Some(destination)) = (call.context(), call.destination()) else {
        return Ok(NotFound.into());
    };
    let Some(tenant) = state.tenant(TenantBy::Context, context).await? else {
        return Ok(NotFound.into());
    };
    let expression = format!("^{}$", regex_escape(destination));
    let mut condition = Condition::new("destination_number", expression);
    // The caller's own policy: a registered user of this tenant may record.
    let caller_records = match call
        .variable("user_name")
        .or_else(|| request.field("Caller-Username"))
    {
        Some(user) if !user.is_empty() => state
            .extension(&tenant.tenant, user)
            .await?
            .is_some_and(|e| e.record_calls),
        _ => false,
    };
    let callee = state.extension(&tenant.tenant, destination).await?;
    let records =
        tenant.record_calls || caller_records || callee.as_ref().is_some_and(|e| e.record_calls);
    if records && let Some(uuid) = call.unique_id() {
        let path = state
            .config
            .recordings_dir
            .join(format!("{}.wav", file_safe(uuid)));
        condition = condition
            .action_owned("set", "RECORD_STEREO=true".into())
            .action_owned("record_session", path.display().to_string());
    }
    let name;
    match callee {
        Some(callee) => {
            name = format!("internal_{}", callee.extension);
            condition = condition.action_owned(
                "bridge",
                format!("user/{}@{}", callee.extension, tenant.domain),
            );
        }
        None => {
            name = "outbound".to_owned();
            let Some(gateway) = &tenant.gateway else {
                condition = condition.action_owned("hangup", "UNALLOCATED_NUMBER".into());
                return Ok(document(&tenant.context, &name, condition));
            };
            if tenant.prepaid {
                let now = chrono_now();
                let allowed = state
                    .ledger
                    .authorize(&tenant.tenant, destination, now)
                    .await?;
                match allowed {
                    Ok(Authorization::Seconds(0)) => {
                        condition = condition.action_owned("hangup", "OUTGOING_CALL_BARRED".into());
                        return Ok(document(&tenant.context, &name, condition));
                    }
                    Ok(Authorization::Seconds(seconds)) => {
                        // Counted from answer: ringing costs nothing. `callcenter_limit`
                        // (on both legs) tells the ESL worker the call is limited already.
                        condition = condition
                            .action_owned(
                                "set",
                                format!(
                                    "execute_on_answer=sched_hangup +{seconds} ALLOTTED_TIMEOUT"
                                ),
                            )
                            .action_owned("export", format!("callcenter_limit={seconds}"));
                    }
                    Ok(Authorization::Unlimited) | Err(billing::NoCharge::Free { .. }) => {}
                    Err(billing::NoCharge::NoRoute { .. }) => {
                        condition = condition.action_owned("hangup", "NO_ROUTE_DESTINATION".into());
                        return Ok(document(&tenant.context, &name, condition));
                    }
                    Err(billing::NoCharge::NotAnswered) => {}
                }
            }
            condition =
                condition.action_owned("bridge", format!("sofia/gateway/{gateway}/{destination}"));
        }
    }
    Ok(document(&tenant.context, &name, condition))
}

fn document(context: &str, extension: &str, condition: Condition<'static>) -> XmlResponse {
    Dialplan::new()
        .context(
            Context::new(context.to_owned())
                .extension(Extension::new(extension.to_owned()).condition(condition)),
        )
        .into()
}

async fn configuration(
    state: &ServerState,
    request: &xmlcurl::Request<'_>,
) -> Result<XmlResponse, LookupError> {
    match request.configuration_file() {
        Some("callcenter.conf") => {
            let (tenants, queues, agents, tiers) = state.store.call_center().await?;
            let domain = |tenant: &str| {
                tenants
                    .iter()
                    .find(|t| t.tenant == tenant)
                    .map_or_else(|| tenant.to_owned(), |t| t.domain.clone())
            };
            let mut document = CallCenter::new();
            for queue in queues {
                let mut entry = Queue::new(format!("{}@{}", queue.name, domain(&queue.tenant)))
                    .param("strategy", queue.strategy);
                if let Some(moh) = queue.moh_sound {
                    entry = entry.param("moh-sound", moh);
                }
                document = document.queue(entry);
            }
            for agent in agents {
                document = document.agent(
                    Agent::new(
                        format!("{}@{}", agent.name, domain(&agent.tenant)),
                        agent.contact,
                    )
                    .status(agent.status),
                );
            }
            for tier in tiers {
                let domain = domain(&tier.tenant);
                document = document.tier(
                    Tier::new(
                        format!("{}@{domain}", tier.agent),
                        format!("{}@{domain}", tier.queue),
                    )
                    .level(tier.level.max(0) as u64)
                    .position(tier.position.max(0) as u64),
                );
            }
            Ok(document.into())
        }
        Some("ivr.conf") => {
            let (tenants, menus) = state.store.menus().await?;
            let mut document = Ivr::new();
            for menu in &menus {
                let domain = tenants
                    .iter()
                    .find(|t| t.tenant == menu.tenant)
                    .map_or(menu.tenant.as_str(), |t| t.domain.as_str());
                let mut entry = Menu::new(format!("{}@{domain}", menu.name))
                    .attr("greet-long", menu.greet_long.as_str())
                    .attr("greet-short", menu.greet_short.as_str())
                    .attr("invalid-sound", menu.invalid_sound.as_str())
                    .attr("exit-sound", menu.exit_sound.as_str())
                    .attr("timeout", menu.timeout_ms.to_string())
                    .attr("max-failures", menu.max_failures.to_string());
                for (digits, action, param) in &menu.entries {
                    let param = (!param.is_empty()).then_some(param.as_str());
                    entry = entry.entry(action.as_str(), digits.as_str(), param);
                }
                document = document.menu(entry);
            }
            Ok(document.into())
        }
        _ => Ok(NotFound.into()),
    }
}

/// A dialed number as a literal in a regular expression.
fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A UUID from the request as a file name: nothing that could leave the directory.
fn file_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Values read from the database, valid while the store's generation is unchanged and the
/// entry is younger than the TTL.
struct Cache<K, V> {
    ttl: Duration,
    entries: RwLock<HashMap<K, (u64, Instant, V)>>,
}

impl<K: std::hash::Hash + Eq, V: Clone> Cache<K, V> {
    fn new(ttl: Duration) -> Self {
        Cache {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    fn get(&self, key: &K, generation: u64) -> Option<V> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(g, at, _)| *g == generation && at.elapsed() < self.ttl)
            .map(|(_, _, value)| value.clone())
    }

    fn put(&self, key: K, generation: u64, value: V) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        // Bounded: a flood of unknown users cannot grow it without limit.
        if entries.len() >= 100_000 {
            entries.clear();
        }
        entries.insert(key, (generation, Instant::now(), value));
    }
}
