//! Whose a CDR is: the one rule, for every source (mod_json_cdr posts, err-log-dir imports,
//! `CHANNEL_HANGUP_COMPLETE` events).
//!
//! 1. The tenant variable the leg carries (set by the platform's directory and dialplan).
//! 2. Else the tenant of a leg it is linked to (`bridge_uuid`, `originator`,
//!    `other_loopback_leg_uuid`...), in the same batch or already stored, either way round:
//!    a trunk leg carries only exported variables, but its A leg has the tenant.
//! 3. Else the tenant owning its dialplan context or SIP domain ([`TenantDirectory`]).
//! 4. Else the configured default tenant (single-tenant installations).
//!
//! A leg whose variable (or linked leg) names one tenant while its context or domain belongs to
//! another is not attributed at all ([`UnassignedReason::TenantConflict`]): a tenant cannot
//! have its calls charged to another by setting a variable, or by forging a link.

use super::{Ledger, LedgerError};
use crate::cdr::Cdr;
use crate::stored::stored_text;
use sqlx::Row;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

/// The platform's tenants by dialplan context and SIP domain, for CDRs that name none.
///
/// ```
/// use billing::TenantDirectory;
///
/// #[derive(Debug)]
/// struct OneTenant;
/// impl TenantDirectory for OneTenant {
///     fn tenant_of_place(&self, context: Option<&str>, _domain: Option<&str>) -> Option<String> {
///         (context == Some("demo")).then(|| "demo".to_owned())
///     }
/// }
/// assert_eq!(OneTenant.tenant_of_place(Some("demo"), None).as_deref(), Some("demo"));
/// ```
pub trait TenantDirectory: Send + Sync + std::fmt::Debug {
    /// Brings the mapping up to date before a batch is resolved (a cache reload, say). Errors
    /// are the directory's to report; the batch goes on with what the directory has.
    fn refresh(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async {})
    }

    /// The tenant owning this context or domain, if any.
    fn tenant_of_place(&self, context: Option<&str>, domain: Option<&str>) -> Option<String>;
}

stored_text! {
    /// Why a CDR was stored apart, unassigned (`unassigned_cdrs.reason`).
    ///
    /// ```
    /// use billing::UnassignedReason;
    /// assert_eq!(UnassignedReason::NoTenant.as_str(), "no_tenant");
    /// ```
    pub enum UnassignedReason("unassigned reason") {
        /// Neither it, its linked legs, its context nor its domain names a tenant, and no
        /// default tenant is configured.
        NoTenant = "no_tenant",
        /// The tenant it names has no account.
        UnknownTenant = "unknown_tenant",
        /// Its variable or linked leg names one tenant, its context or domain another.
        TenantConflict = "tenant_conflict",
    }
}

/// What is known of one CDR's tenant while the batch is resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Known {
    Tenant(String),
    Conflict,
    Nothing,
}

impl Ledger {
    /// Each CDR's tenant by the rule above, or why it has none.
    pub(super) async fn resolve_tenants(
        &self,
        cdrs: &[Cdr],
    ) -> Result<Vec<Result<String, UnassignedReason>>, LedgerError> {
        if let Some(directory) = &self.directory {
            directory.refresh().await;
        }
        let place: Vec<Option<String>> = cdrs
            .iter()
            .map(|cdr| {
                self.directory.as_ref().and_then(|directory| {
                    directory.tenant_of_place(cdr.context.as_deref(), cdr.domain.as_deref())
                })
            })
            .collect();
        let mut known: Vec<Known> = cdrs
            .iter()
            .zip(&place)
            .map(|(cdr, place)| match (&cdr.tenant, place) {
                (Some(named), Some(place)) if named != place => Known::Conflict,
                (Some(tenant), _) | (None, Some(tenant)) => Known::Tenant(tenant.clone()),
                (None, None) => Known::Nothing,
            })
            .collect();
        let stored = self.stored_tenants(cdrs, &known).await?;
        link_tenants(cdrs, &stored, &mut known);
        Ok(known
            .into_iter()
            .map(|known| match known {
                Known::Tenant(tenant) => Ok(tenant),
                Known::Conflict => Err(UnassignedReason::TenantConflict),
                Known::Nothing => self
                    .default_tenant
                    .clone()
                    .ok_or(UnassignedReason::NoTenant),
            })
            .collect())
    }

    /// The tenants of stored legs that CDRs knowing none are linked to, either way round.
    async fn stored_tenants(
        &self,
        cdrs: &[Cdr],
        known: &[Known],
    ) -> Result<HashMap<String, String>, LedgerError> {
        let mut stored = HashMap::new();
        for (cdr, known) in cdrs.iter().zip(known) {
            if *known != Known::Nothing {
                continue;
            }
            // Links it names, then legs that name it; at most a handful of rows each.
            for link in &cdr.links {
                if let Some(row) =
                    sqlx::query("SELECT tenant FROM cdrs WHERE uuid = $1 ORDER BY id LIMIT 1")
                        .bind(link)
                        .fetch_optional(&self.pool)
                        .await?
                {
                    stored.insert(link.clone(), row.try_get(0)?);
                }
            }
            if let Some(row) = sqlx::query(
                "SELECT c.tenant FROM cdr_links l JOIN cdrs c ON c.id = l.cdr_id
                 WHERE l.other_uuid = $1 ORDER BY c.id LIMIT 1",
            )
            .bind(&cdr.uuid)
            .fetch_optional(&self.pool)
            .await?
            {
                stored.insert(cdr.uuid.clone(), row.try_get(0)?);
            }
        }
        Ok(stored)
    }
}

/// Gives CDRs knowing no tenant that of a leg they are linked to: stored (`stored` holds, by
/// uuid, the tenant of a stored leg it names, or for its own uuid that of a stored leg naming
/// it), or in the batch, either way round, until nothing changes. (A CDR knowing nothing has
/// no place either, so no link can contradict one.)
fn link_tenants(cdrs: &[Cdr], stored: &HashMap<String, String>, known: &mut [Known]) {
    let mut neighbours: Vec<Vec<usize>> = vec![Vec::new(); cdrs.len()];
    let by_uuid: HashMap<&str, usize> = cdrs
        .iter()
        .enumerate()
        .map(|(index, cdr)| (cdr.uuid.as_str(), index))
        .collect();
    for (index, cdr) in cdrs.iter().enumerate() {
        for link in &cdr.links {
            if let Some(&other) = by_uuid.get(link.as_str()) {
                neighbours[index].push(other);
                neighbours[other].push(index);
            }
        }
    }
    for (index, cdr) in cdrs.iter().enumerate() {
        if known[index] == Known::Nothing
            && let Some(tenant) = std::iter::once(&cdr.uuid)
                .chain(&cdr.links)
                .find_map(|uuid| stored.get(uuid))
        {
            known[index] = Known::Tenant(tenant.clone());
        }
    }
    let mut changed = true;
    while changed {
        changed = false;
        for index in 0..cdrs.len() {
            if known[index] != Known::Nothing {
                continue;
            }
            let found = neighbours[index]
                .iter()
                .find_map(|&other| match &known[other] {
                    Known::Tenant(tenant) => Some(tenant.clone()),
                    _ => None,
                });
            if let Some(tenant) = found {
                known[index] = Known::Tenant(tenant);
                changed = true;
            }
        }
    }
}
