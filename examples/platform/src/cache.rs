//! The one cache of what the roles read on every call: tenants, extensions, and the DIDs and
//! dial names inbound calls are routed by.
//!
//! FreeSWITCH blocks a thread while mod_xml_curl waits, and the ESL worker names a tenant for
//! every channel event, so neither can ask the database each time.
//!
//! - Tenants are few: all of them are held as one snapshot (by id, SIP domain and dialplan
//!   context), reloaded when the store's generation moved (a write in this process) or the TTL
//!   passed (a write elsewhere). Lookups are then synchronous, which the live-call state needs.
//! - Extensions are many: each is cached on its own (moka, bounded, least-used entries evicted
//!   first), with the generation it was read at; an entry from an older generation or past the
//!   TTL is read again. Unknown extensions are cached too (as `None`), so a flood of them costs
//!   one query each and evicts only cold entries, never the whole cache.
//!
//! ```no_run
//! # async fn demo(store: platform::store::PlatformStore) -> Result<(), platform::store::PlatformError> {
//! use platform::cache::Cache;
//! use std::time::Duration;
//!
//! let cache = Cache::new(store, Duration::from_secs(60));
//! if let Some(tenant) = cache.tenant_by_domain("demo.local").await? {
//!     let user = cache.extension(&tenant.tenant, "1000").await?;
//!     println!("{tenant:?} {user:?}");
//! }
//! # Ok(()) }
//! ```

use crate::calls::TenantHints;
use crate::inbound::{DialTarget, Did};
use crate::store::{ExtensionRow, PlatformError, PlatformStore, Tenant};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Most extensions held at once.
const MAX_EXTENSIONS: u64 = 100_000;

/// After a failed reload, the snapshot is not tried again for this long (so a database outage
/// costs one query per second, not one per event).
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// Tenants and extensions as last read from the [`PlatformStore`]. Cheap to clone.
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    store: PlatformStore,
    ttl: Duration,
    tenants: RwLock<Snapshot>,
    reloading: tokio::sync::Mutex<()>,
    reloading_in_background: AtomicBool,
    extensions: moka::sync::Cache<(String, String), Cached<Option<ExtensionRow>>>,
    dids: moka::sync::Cache<String, Cached<Option<Did>>>,
    dial_targets: moka::sync::Cache<(String, String), Cached<Option<DialTarget>>>,
}

#[derive(Clone)]
struct Cached<V> {
    generation: u64,
    value: V,
}

#[derive(Default)]
struct Snapshot {
    generation: u64,
    loaded: Option<Instant>,
    failed: Option<Instant>,
    by_id: HashMap<String, Tenant>,
    by_domain: HashMap<String, String>,
    by_context: HashMap<String, String>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("ttl", &self.inner.ttl)
            .finish_non_exhaustive()
    }
}

impl Cache {
    /// A cache over `store` whose entries live at most `ttl`.
    pub fn new(store: PlatformStore, ttl: Duration) -> Self {
        let extensions = moka::sync::Cache::builder()
            .max_capacity(MAX_EXTENSIONS)
            .time_to_live(ttl)
            .build();
        let dids = moka::sync::Cache::builder()
            .max_capacity(MAX_EXTENSIONS)
            .time_to_live(ttl)
            .build();
        let dial_targets = moka::sync::Cache::builder()
            .max_capacity(MAX_EXTENSIONS)
            .time_to_live(ttl)
            .build();
        Cache {
            inner: Arc::new(Inner {
                store,
                ttl,
                tenants: RwLock::default(),
                reloading: tokio::sync::Mutex::new(()),
                reloading_in_background: AtomicBool::new(false),
                extensions,
                dids,
                dial_targets,
            }),
        }
    }

    /// The store read through.
    pub fn store(&self) -> &PlatformStore {
        &self.inner.store
    }

    fn snapshot(&self) -> std::sync::RwLockReadGuard<'_, Snapshot> {
        self.inner.tenants.read().unwrap_or_else(|p| p.into_inner())
    }

    fn tenants_are_stale(&self) -> bool {
        let snapshot = self.snapshot();
        snapshot.generation != self.inner.store.generation()
            || snapshot
                .loaded
                .is_none_or(|at| at.elapsed() > self.inner.ttl)
    }

    /// Reloads the tenants if they are stale. On failure the previous snapshot stays in use
    /// (the error is returned, and the next reload is tried a second later at the earliest).
    pub async fn refresh_tenants(&self) -> Result<(), PlatformError> {
        if !self.tenants_are_stale() {
            return Ok(());
        }
        let _one_at_a_time = self.inner.reloading.lock().await;
        if !self.tenants_are_stale() {
            return Ok(());
        }
        if self
            .snapshot()
            .failed
            .is_some_and(|at| at.elapsed() < RETRY_AFTER_FAILURE)
        {
            return Err(PlatformError::Unavailable);
        }
        let generation = self.inner.store.generation();
        match self.inner.store.tenants().await {
            Ok(tenants) => {
                *self
                    .inner
                    .tenants
                    .write()
                    .unwrap_or_else(|p| p.into_inner()) = Snapshot::of(tenants, generation);
                Ok(())
            }
            Err(error) => {
                let mut snapshot = self
                    .inner
                    .tenants
                    .write()
                    .unwrap_or_else(|p| p.into_inner());
                snapshot.failed = Some(Instant::now());
                Err(error)
            }
        }
    }

    /// Whether a caller that must not wait on the database should wait for a reload all the
    /// same: the tenants were never loaded, or a write in this process changed them (the
    /// database answered a moment ago) and the last reload did not fail. A reload due to the
    /// TTL alone, or after a failure, is better done in the background.
    pub fn tenants_reload_is_urgent(&self) -> bool {
        let snapshot = self.snapshot();
        let never_tried = snapshot.loaded.is_none() && snapshot.failed.is_none();
        let written_here = snapshot.generation != self.inner.store.generation();
        never_tried || (written_here && snapshot.failed.is_none())
    }

    /// Starts reloading the tenants in a task of its own if they are stale, and returns at
    /// once: for paths that must not wait on the database (the ESL worker's events), which go
    /// on resolving from the snapshot they have. One such reload runs at a time; a failure is
    /// logged. Call inside a tokio runtime.
    pub fn refresh_tenants_in_background(&self) {
        if !self.tenants_are_stale()
            || self
                .inner
                .reloading_in_background
                .swap(true, Ordering::AcqRel)
        {
            return;
        }
        let cache = self.clone();
        tokio::spawn(async move {
            match cache.refresh_tenants().await {
                Ok(()) | Err(PlatformError::Unavailable) => {}
                Err(error) => tracing::warn!(%error, "cannot reload tenants; using the last ones"),
            }
            cache
                .inner
                .reloading_in_background
                .store(false, Ordering::Release);
        });
    }

    /// The tenant owning a SIP domain.
    pub async fn tenant_by_domain(&self, domain: &str) -> Result<Option<Tenant>, PlatformError> {
        self.refresh_tenants().await?;
        let snapshot = self.snapshot();
        Ok(snapshot
            .by_domain
            .get(domain)
            .and_then(|id| snapshot.by_id.get(id))
            .cloned())
    }

    /// The tenant owning a dialplan context.
    pub async fn tenant_by_context(&self, context: &str) -> Result<Option<Tenant>, PlatformError> {
        self.refresh_tenants().await?;
        let snapshot = self.snapshot();
        Ok(snapshot
            .by_context
            .get(context)
            .and_then(|id| snapshot.by_id.get(id))
            .cloned())
    }

    /// A tenant by id.
    pub async fn tenant(&self, tenant: &str) -> Result<Option<Tenant>, PlatformError> {
        self.refresh_tenants().await?;
        Ok(self.snapshot().by_id.get(tenant).cloned())
    }

    /// The tenant a channel belongs to, from the snapshot as it is (call
    /// [`Cache::refresh_tenants`] first): its tenant variable, else the tenant of its domain,
    /// else of its context, else `default`.
    pub fn resolve(&self, hints: TenantHints<'_>, default: &str) -> String {
        let snapshot = self.snapshot();
        hints
            .variable
            .map(str::to_owned)
            .or_else(|| {
                hints
                    .domain
                    .and_then(|d| snapshot.by_domain.get(d).cloned())
            })
            .or_else(|| {
                hints
                    .context
                    .and_then(|c| snapshot.by_context.get(c).cloned())
            })
            .unwrap_or_else(|| default.to_owned())
    }

    /// The tenant owning a SIP domain, else a dialplan context, from the snapshot as it is
    /// (the order of [`Cache::resolve`]).
    pub fn tenant_of_place(&self, context: Option<&str>, domain: Option<&str>) -> Option<String> {
        let snapshot = self.snapshot();
        domain
            .and_then(|d| snapshot.by_domain.get(d))
            .or_else(|| context.and_then(|c| snapshot.by_context.get(c)))
            .cloned()
    }

    /// Whether a tenant is prepaid, from the snapshot as it is.
    pub fn is_prepaid(&self, tenant: &str) -> bool {
        self.snapshot().by_id.get(tenant).is_some_and(|t| t.prepaid)
    }

    /// An extension of a tenant.
    pub async fn extension(
        &self,
        tenant: &str,
        extension: &str,
    ) -> Result<Option<ExtensionRow>, PlatformError> {
        let key = (tenant.to_owned(), extension.to_owned());
        let store = &self.inner.store;
        read_through(
            &self.inner.extensions,
            key,
            store,
            store.extension(tenant, extension),
        )
        .await
    }

    /// A DID with its route (unknown numbers are cached too, as `None`).
    pub async fn did(&self, number: &str) -> Result<Option<Did>, PlatformError> {
        let store = &self.inner.store;
        read_through(
            &self.inner.dids,
            number.to_owned(),
            store,
            store.did(number),
        )
        .await
    }

    /// The queue or IVR menu of `tenant` dialled as `name`, if any.
    pub async fn dial_target(
        &self,
        tenant: &str,
        name: &str,
    ) -> Result<Option<DialTarget>, PlatformError> {
        let key = (tenant.to_owned(), name.to_owned());
        let store = &self.inner.store;
        read_through(
            &self.inner.dial_targets,
            key,
            store,
            store.dial_target(tenant, name),
        )
        .await
    }
}

/// `cache`'s entry for `key` if it was read at the store's current generation, else what
/// `load` reads (then kept, with that generation).
async fn read_through<K, V>(
    cache: &moka::sync::Cache<K, Cached<V>>,
    key: K,
    store: &PlatformStore,
    load: impl std::future::Future<Output = Result<V, PlatformError>>,
) -> Result<V, PlatformError>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let generation = store.generation();
    if let Some(hit) = cache.get(&key)
        && hit.generation == generation
    {
        return Ok(hit.value);
    }
    let value = load.await?;
    cache.insert(
        key,
        Cached {
            generation,
            value: value.clone(),
        },
    );
    Ok(value)
}

impl Snapshot {
    fn of(tenants: Vec<Tenant>, generation: u64) -> Self {
        let mut snapshot = Snapshot {
            generation,
            loaded: Some(Instant::now()),
            ..Snapshot::default()
        };
        for tenant in tenants {
            let id = tenant.tenant.clone();
            snapshot.by_domain.insert(tenant.domain.clone(), id.clone());
            snapshot
                .by_context
                .insert(tenant.context.clone(), id.clone());
            snapshot.by_id.insert(id, tenant);
        }
        snapshot
    }
}

/// The ledger finds a CDR's tenant by its context or domain here: the tenants are reloaded
/// first when stale (a failed reload leaves the last snapshot in use, and is logged).
impl billing::TenantDirectory for Cache {
    fn refresh(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            match self.refresh_tenants().await {
                Ok(()) | Err(PlatformError::Unavailable) => {}
                Err(error) => {
                    tracing::warn!(%error, "cannot reload tenants for CDRs; using the last ones")
                }
            }
        })
    }

    fn tenant_of_place(&self, context: Option<&str>, domain: Option<&str>) -> Option<String> {
        Cache::tenant_of_place(self, context, domain)
    }
}
