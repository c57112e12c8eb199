//! Which tenant a channel belongs to, from the platform's tenants table.

use crate::calls::TenantHints;
use crate::platform::PlatformStore;
use std::collections::{HashMap, HashSet};
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// Tenants by domain and context, reloaded when the platform tables change (in this process:
/// the store's generation) or after a minute (changes made elsewhere).
pub(super) struct TenantDirectory {
    store: PlatformStore,
    default_tenant: String,
    snapshot: RwLock<Snapshot>,
    refreshing: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Snapshot {
    generation: u64,
    loaded: Option<Instant>,
    by_domain: HashMap<String, String>,
    by_context: HashMap<String, String>,
    known: HashSet<String>,
    prepaid: HashSet<String>,
}

const TENANTS_TTL: Duration = Duration::from_secs(60);

impl TenantDirectory {
    pub(super) fn new(store: PlatformStore, default_tenant: String) -> Self {
        TenantDirectory {
            store,
            default_tenant,
            snapshot: RwLock::default(),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    fn is_stale(&self) -> bool {
        let snapshot = self.snapshot.read().unwrap_or_else(|p| p.into_inner());
        snapshot.generation != self.store.generation()
            || snapshot.loaded.is_none_or(|at| at.elapsed() > TENANTS_TTL)
    }

    pub(super) async fn refresh_if_stale(&self) {
        if !self.is_stale() {
            return;
        }
        let _one = self.refreshing.lock().await;
        if !self.is_stale() {
            return;
        }
        let generation = self.store.generation();
        match self.store.tenants().await {
            Ok(tenants) => {
                let mut next = Snapshot {
                    generation,
                    loaded: Some(Instant::now()),
                    ..Snapshot::default()
                };
                for tenant in tenants {
                    next.by_domain
                        .insert(tenant.domain.clone(), tenant.tenant.clone());
                    next.by_context
                        .insert(tenant.context.clone(), tenant.tenant.clone());
                    if tenant.prepaid {
                        next.prepaid.insert(tenant.tenant.clone());
                    }
                    next.known.insert(tenant.tenant);
                }
                *self.snapshot.write().unwrap_or_else(|p| p.into_inner()) = next;
            }
            Err(error) => {
                // Keep what we have; try again in a while rather than on every event.
                tracing::warn!(%error, "cannot load tenants");
                let mut snapshot = self.snapshot.write().unwrap_or_else(|p| p.into_inner());
                snapshot.generation = generation;
                snapshot.loaded = Some(Instant::now());
            }
        }
    }

    pub(super) fn resolve(&self, hints: TenantHints<'_>) -> String {
        let snapshot = self.snapshot.read().unwrap_or_else(|p| p.into_inner());
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
            .unwrap_or_else(|| self.default_tenant.clone())
    }

    pub(super) fn is_prepaid(&self, tenant: &str) -> bool {
        let snapshot = self.snapshot.read().unwrap_or_else(|p| p.into_inner());
        snapshot.prepaid.contains(tenant)
    }
}
