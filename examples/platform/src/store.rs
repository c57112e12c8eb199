//! The platform's data beside the ledger, in the same database: tenants (one SIP domain and one
//! dialplan context each), extensions, call-center queues and IVR menus.
//!
//! Every write goes through [`PlatformStore`], which bumps a generation number: the cache of what
//! was read ([`crate::cache`]) compares it and drops what is stale.

use crate::identity::{self, InvalidValue};
use crate::ivr::{self, MenuAction, MenuEntry};
use billing::Backend;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a platform query failed.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The platform's migrations failed.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database failed under a second ago; not asked again yet.
    #[error("database unavailable (it failed under a second ago)")]
    Unavailable,
    /// What was to be written breaks a rule (see [`crate::identity`]).
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
}

/// A tenant: its SIP domain, its dialplan context and its call policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// The tenant's id (the ledger's account).
    pub tenant: String,
    /// Its SIP domain.
    pub domain: String,
    /// Its dialplan context (its users' `user_context`).
    pub context: String,
    /// The sofia gateway for outside numbers.
    pub gateway: Option<String>,
    /// Calls limited to what the balance pays for.
    pub prepaid: bool,
    /// Record every call.
    pub record_calls: bool,
    /// Seconds of a prepaid call's credit held at a time; `None` for the platform's default
    /// ([`crate::policy::DEFAULT_SLICE`]).
    pub prepaid_slice_seconds: Option<u32>,
    /// Its time zone (an IANA name such as `Europe/London`; `None`: UTC): when its day
    /// starts, for daily statistics and time-of-day routes.
    pub time_zone: Option<String>,
    /// Disabled by the operator: its data is kept, its users are not served and its calls
    /// are refused.
    pub disabled: bool,
}

/// An extension (a SIP user of a tenant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionRow {
    /// Its tenant.
    pub tenant: String,
    /// The user id and number.
    pub extension: String,
    /// A new SIP password to set: never stored, only its `a1-hash` (always `None` when read).
    pub password: Option<String>,
    /// The digest `a1-hash` (MD5 of `user:domain:password`), the one credential stored. On a
    /// write without a password, `None` keeps the stored one.
    pub a1_hash: Option<String>,
    /// Caller ID name.
    pub caller_id_name: Option<String>,
    /// Caller ID number.
    pub caller_id_number: Option<String>,
    /// Record this extension's calls.
    pub record_calls: bool,
}

/// A call-center queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRow {
    /// Its tenant.
    pub tenant: String,
    /// Its name (FreeSWITCH sees `name@tenant`).
    pub name: String,
    /// The name it is dialled by in the tenant's context (`None`: no call reaches it).
    pub extension: Option<String>,
    /// mod_callcenter strategy.
    pub strategy: String,
    /// Music on hold.
    pub moh_sound: Option<String>,
    /// Callers answered within this many seconds count toward the service level.
    pub service_level_seconds: u32,
}

/// A call-center agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRow {
    /// Its tenant.
    pub tenant: String,
    /// Its name.
    pub name: String,
    /// Dial string.
    pub contact: String,
    /// Status (`Available`, `Logged Out`, ...).
    pub status: String,
}

/// An agent in a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierRow {
    /// Its tenant.
    pub tenant: String,
    /// The queue.
    pub queue: String,
    /// The agent.
    pub agent: String,
    /// Tier level.
    pub level: i64,
    /// Position in the level.
    pub position: i64,
}

/// An IVR menu and its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuRow {
    /// Its tenant.
    pub tenant: String,
    /// Its name (FreeSWITCH sees `name@tenant`).
    pub name: String,
    /// The name it is dialled by in the tenant's context (`None`: no call reaches it).
    pub extension: Option<String>,
    /// Long greeting.
    pub greet_long: String,
    /// Short greeting.
    pub greet_short: String,
    /// Played on an invalid entry.
    pub invalid_sound: String,
    /// Played on exit.
    pub exit_sound: String,
    /// Digit timeout, ms.
    pub timeout_ms: i64,
    /// Failures before exit.
    pub max_failures: i64,
    /// What each digit sequence does.
    pub entries: Vec<MenuEntry>,
}

/// Reads and writes the platform's tables. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PlatformStore {
    pool: AnyPool,
    generation: Arc<AtomicU64>,
    /// The tables other processes changed (see [`crate::changes`]).
    changes: tokio::sync::broadcast::Sender<Arc<str>>,
    /// Extension names refused (emergency and service numbers).
    reserved: Arc<[String]>,
}

impl PlatformStore {
    /// Migrates the platform's tables into the ledger's database and returns the store.
    pub async fn open(pool: AnyPool, backend: Backend) -> Result<Self, PlatformError> {
        let mut migrator = match backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("migrations/postgres"),
        };
        // The ledger's migrations live in the same table.
        migrator.set_ignore_missing(true);
        migrator.run(&pool).await?;
        let store = PlatformStore {
            pool,
            generation: Arc::new(AtomicU64::new(1)),
            changes: tokio::sync::broadcast::Sender::new(64),
            reserved: identity::DEFAULT_RESERVED.map(String::from).into(),
        };
        store.hash_plain_passwords().await?;
        Ok(store)
    }

    /// The same store, refusing `reserved` as extension names instead of
    /// [`identity::DEFAULT_RESERVED`].
    pub fn with_reserved_extensions(mut self, reserved: Vec<String>) -> Self {
        self.reserved = reserved.into();
        self
    }

    /// Replaces the plain passwords an older version stored by their `a1-hash`.
    async fn hash_plain_passwords(&self) -> Result<(), PlatformError> {
        let rows = sqlx::query(
            "SELECT e.tenant, e.extension, e.password, t.domain FROM extensions e
             JOIN tenants t ON t.tenant = e.tenant WHERE e.password IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        for row in &rows {
            let (tenant, extension): (String, String) = (row.try_get(0)?, row.try_get(1)?);
            let hash = identity::a1_hash(
                &extension,
                &row.try_get::<String, _>(3)?,
                &row.try_get::<String, _>(2)?,
            );
            sqlx::query(
                "UPDATE extensions SET a1_hash = $1, password = NULL WHERE tenant = $2 AND extension = $3",
            )
            .bind(hash)
            .bind(&tenant)
            .bind(&extension)
            .execute(&self.pool)
            .await?;
        }
        if !rows.is_empty() {
            tracing::info!(
                extensions = rows.len(),
                "plain SIP passwords replaced by their a1-hash"
            );
            self.changed();
        }
        Ok(())
    }

    /// Bumped on every write through this store.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The extension names refused (emergency and service numbers).
    pub(crate) fn reserved(&self) -> &[String] {
        &self.reserved
    }

    pub(crate) fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Another process changed `table` (or [`crate::changes::EVERYTHING`]): what the caches
    /// hold is dropped, and the subscribers are told.
    pub fn changed_elsewhere(&self, table: &str) {
        self.changed();
        // No subscriber is no error.
        let _ = self.changes.send(Arc::from(table));
    }

    /// The tables other processes change from now on, as [`crate::changes::follow`] hears of
    /// them (a subscriber that falls behind is told it lagged: take it as everything).
    ///
    /// ```no_run
    /// # async fn demo(store: platform::store::PlatformStore) {
    /// let mut changes = store.subscribe_changes();
    /// while let Ok(table) = changes.recv().await {
    ///     println!("{table} changed");
    /// }
    /// # }
    /// ```
    pub fn subscribe_changes(&self) -> tokio::sync::broadcast::Receiver<Arc<str>> {
        self.changes.subscribe()
    }

    /// Adds or replaces a tenant (see [`identity::check_tenant`]).
    pub async fn put_tenant(&self, tenant: &Tenant) -> Result<(), PlatformError> {
        identity::check_tenant(
            &tenant.tenant,
            &tenant.domain,
            &tenant.context,
            tenant.gateway.as_deref(),
        )?;
        if let Some(zone) = &tenant.time_zone {
            identity::check_time_zone(zone)?;
        }
        if tenant
            .domain
            .eq_ignore_ascii_case(crate::trunks::GATEWAYS_DOMAIN)
        {
            return Err(InvalidValue::Tenant("domain").into());
        }
        let twin =
            sqlx::query("SELECT 1 FROM tenants WHERE LOWER(tenant) = LOWER($1) AND tenant <> $1")
                .bind(&tenant.tenant)
                .fetch_optional(&self.pool)
                .await?;
        if twin.is_some() {
            return Err(InvalidValue::TenantCase(tenant.tenant.clone()).into());
        }
        let clash = sqlx::query(
            "SELECT tenant FROM tenants WHERE (domain = $1 OR context = $2) AND tenant <> $3",
        )
        .bind(&tenant.domain)
        .bind(&tenant.context)
        .bind(&tenant.tenant)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = clash {
            return Err(InvalidValue::TenantTaken(row.try_get(0)?).into());
        }
        sqlx::query(
            "INSERT INTO tenants (tenant, domain, context, gateway, prepaid, record_calls, prepaid_slice_seconds, time_zone, disabled)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (tenant) DO UPDATE SET domain = excluded.domain, context = excluded.context,
                 gateway = excluded.gateway, prepaid = excluded.prepaid, record_calls = excluded.record_calls,
                 prepaid_slice_seconds = excluded.prepaid_slice_seconds, time_zone = excluded.time_zone,
                 disabled = excluded.disabled",
        )
        .bind(&tenant.tenant)
        .bind(&tenant.domain)
        .bind(&tenant.context)
        .bind(tenant.gateway.as_deref())
        .bind(i32::from(tenant.prepaid))
        .bind(i32::from(tenant.record_calls))
        .bind(
            tenant
                .prepaid_slice_seconds
                .map(|s| i32::try_from(s).unwrap_or(i32::MAX)),
        )
        .bind(tenant.time_zone.as_deref().unwrap_or("UTC"))
        .bind(i32::from(tenant.disabled))
        .execute(&self.pool)
        .await?;
        self.changed();
        Ok(())
    }

    /// Adds or replaces an extension, by [`crate::identity`]'s rules: its name, its caller ID
    /// (a number the tenant owns), and its password stored only as the `a1-hash` of the
    /// tenant's domain (replacing the old one, so the old password stops working). A row
    /// without password nor hash keeps the stored hash; a new one needs a password.
    pub async fn put_extension(&self, row: &ExtensionRow) -> Result<(), PlatformError> {
        identity::check_name(&row.extension, &self.reserved)?;
        if let Some(name) = &row.caller_id_name {
            identity::check_caller_id_name(name)?;
        }
        if let Some(number) = &row.caller_id_number {
            identity::check_caller_id_number(number)?;
        }
        if row.password.as_ref().is_some_and(|p| p.len() < 8) {
            return Err(InvalidValue::WeakPassword.into());
        }
        if row
            .a1_hash
            .as_deref()
            .is_some_and(|h| !identity::is_a1_hash(h))
        {
            return Err(InvalidValue::A1Hash.into());
        }
        let mut tx = self.pool.begin().await?;
        let domain: String = sqlx::query("SELECT domain FROM tenants WHERE tenant = $1")
            .bind(&row.tenant)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| InvalidValue::UnknownTenant(row.tenant.clone()))?
            .try_get(0)?;
        if dialled_elsewhere(&mut tx, &row.tenant, &row.extension).await? {
            return Err(InvalidValue::NameTaken(row.extension.clone()).into());
        }
        if let Some(number) = &row.caller_id_number
            && number != &row.extension
            && !owns_number(&mut tx, &row.tenant, number).await?
        {
            return Err(InvalidValue::NotOwned(number.clone()).into());
        }
        let a1_hash = match (&row.password, &row.a1_hash) {
            (Some(password), _) => Some(identity::a1_hash(&row.extension, &domain, password)),
            (None, hash) => hash.clone(),
        };
        match a1_hash {
            Some(hash) => {
                sqlx::query(
                    "INSERT INTO extensions (tenant, extension, password, a1_hash, caller_id_name, caller_id_number, record_calls)
                     VALUES ($1, $2, NULL, $3, $4, $5, $6)
                     ON CONFLICT (tenant, extension) DO UPDATE SET password = NULL,
                         a1_hash = excluded.a1_hash, caller_id_name = excluded.caller_id_name,
                         caller_id_number = excluded.caller_id_number, record_calls = excluded.record_calls",
                )
                .bind(&row.tenant)
                .bind(&row.extension)
                .bind(hash)
                .bind(row.caller_id_name.as_deref())
                .bind(row.caller_id_number.as_deref())
                .bind(i32::from(row.record_calls))
                .execute(&mut *tx)
                .await?;
            }
            // No new credential: only an extension that exists (keeping its hash) is changed,
            // in one statement, so a concurrent removal cannot leave a row without one.
            None => {
                let updated = sqlx::query(
                    "UPDATE extensions SET caller_id_name = $3, caller_id_number = $4, record_calls = $5
                     WHERE tenant = $1 AND extension = $2 AND a1_hash IS NOT NULL",
                )
                .bind(&row.tenant)
                .bind(&row.extension)
                .bind(row.caller_id_name.as_deref())
                .bind(row.caller_id_number.as_deref())
                .bind(i32::from(row.record_calls))
                .execute(&mut *tx)
                .await?;
                if updated.rows_affected() == 0 {
                    return Err(InvalidValue::NoCredential.into());
                }
            }
        }
        tx.commit().await?;
        self.changed();
        Ok(())
    }

    /// Gives `number` (a DID on the trunk) to `tenant`; a number is one tenant's only.
    pub async fn put_did(&self, number: &str, tenant: &str) -> Result<(), PlatformError> {
        // Longer than any numeric extension, so no extension can be named like a DID.
        let digits = number.trim_start_matches('+');
        identity::check_caller_id_number(number).map_err(|_| InvalidValue::Did)?;
        if digits.len() <= identity::NUMERIC_EXTENSION_MAX {
            return Err(InvalidValue::Did.into());
        }
        let owner = sqlx::query("SELECT tenant FROM dids WHERE number = $1")
            .bind(number)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| row.try_get::<String, _>(0))
            .transpose()?;
        match owner {
            Some(owner) if owner != tenant => Err(InvalidValue::DidTaken(number.into()).into()),
            Some(_) => Ok(()),
            None => {
                sqlx::query("INSERT INTO dids (number, tenant) VALUES ($1, $2)")
                    .bind(number)
                    .bind(tenant)
                    .execute(&self.pool)
                    .await?;
                self.changed();
                Ok(())
            }
        }
    }

    /// Adds or replaces a queue; its dial name, if any, must be free in its tenant's context.
    pub async fn put_queue(&self, row: &QueueRow) -> Result<(), PlatformError> {
        check_call_center_names(&[&row.name])?;
        if !STRATEGIES.contains(&row.strategy.as_str()) {
            return Err(InvalidValue::Strategy.into());
        }
        if let Some(moh) = &row.moh_sound {
            ivr::check_sound(moh)?;
            // mod_callcenter keeps a queue's music for as long as the queue is loaded: a
            // prompt's signed URL would expire under it.
            if moh.starts_with("prompt:") {
                return Err(InvalidValue::Sound.into());
            }
        }
        if !(1..=3600).contains(&row.service_level_seconds) {
            return Err(InvalidValue::Range("service_level_seconds (1 to 3600)").into());
        }
        self.refuse_case_twin("cc_queues", &row.tenant, &row.name)
            .await?;
        self.refuse_over_limit("cc_queues", &row.tenant, &row.name)
            .await?;
        let mut tx = self.pool.begin().await?;
        if let Some(extension) = &row.extension {
            self.check_dial_name(&mut tx, &row.tenant, extension, ("queue", &row.name))
                .await?;
        }
        sqlx::query(
            "INSERT INTO cc_queues (tenant, name, extension, strategy, moh_sound, service_level_seconds)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (tenant, name) DO UPDATE SET extension = excluded.extension,
                 strategy = excluded.strategy, moh_sound = excluded.moh_sound,
                 service_level_seconds = excluded.service_level_seconds",
        )
        .bind(&row.tenant)
        .bind(&row.name)
        .bind(row.extension.as_deref())
        .bind(&row.strategy)
        .bind(row.moh_sound.as_deref())
        .bind(i32::try_from(row.service_level_seconds).unwrap_or(i32::MAX))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.changed();
        Ok(())
    }

    /// Adds or replaces an agent.
    pub async fn put_agent(&self, row: &AgentRow) -> Result<(), PlatformError> {
        check_call_center_names(&[&row.name])?;
        self.refuse_case_twin("cc_agents", &row.tenant, &row.name)
            .await?;
        sqlx::query(
            "INSERT INTO cc_agents (tenant, name, contact, status) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant, name) DO UPDATE SET contact = excluded.contact, status = excluded.status",
        )
        .bind(&row.tenant)
        .bind(&row.name)
        .bind(&row.contact)
        .bind(&row.status)
        .execute(&self.pool)
        .await?;
        self.changed();
        Ok(())
    }

    /// An agent of a tenant.
    pub async fn agent(&self, tenant: &str, name: &str) -> Result<Option<AgentRow>, PlatformError> {
        let row = sqlx::query(
            "SELECT tenant, name, contact, status FROM cc_agents WHERE tenant = $1 AND name = $2",
        )
        .bind(tenant)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(agent_from).transpose()?)
    }

    /// Stores an agent's status (what `callcenter.conf` serves it with); `false` if the tenant
    /// has no such agent.
    pub async fn set_agent_status(
        &self,
        tenant: &str,
        name: &str,
        status: &str,
    ) -> Result<bool, PlatformError> {
        let done = sqlx::query("UPDATE cc_agents SET status = $3 WHERE tenant = $1 AND name = $2")
            .bind(tenant)
            .bind(name)
            .bind(status)
            .execute(&self.pool)
            .await?;
        self.changed();
        Ok(done.rows_affected() > 0)
    }

    /// Adds or replaces a tier.
    pub async fn put_tier(&self, row: &TierRow) -> Result<(), PlatformError> {
        check_call_center_names(&[&row.queue, &row.agent])?;
        if !(1..=TIER_MAX).contains(&row.level) || !(1..=TIER_MAX).contains(&row.position) {
            return Err(InvalidValue::Range("a tier's level and position (1 to 1000)").into());
        }
        // Both of the tier's tenant (SQLite does not enforce the foreign keys).
        let both = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM cc_queues WHERE tenant = $1 AND name = $2)
                  + (SELECT COUNT(*) FROM cc_agents WHERE tenant = $1 AND name = $3)",
        )
        .bind(&row.tenant)
        .bind(&row.queue)
        .bind(&row.agent)
        .fetch_one(&self.pool)
        .await?
        .try_get::<i64, _>(0)?;
        if both != 2 {
            return Err(InvalidValue::NoTarget(format!(
                "queue {} or agent {}",
                row.queue, row.agent
            ))
            .into());
        }
        sqlx::query(
            "INSERT INTO cc_tiers (tenant, queue, agent, level, position) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant, queue, agent) DO UPDATE SET level = excluded.level, position = excluded.position",
        )
        .bind(&row.tenant)
        .bind(&row.queue)
        .bind(&row.agent)
        .bind(row.level)
        .bind(row.position)
        .execute(&self.pool)
        .await?;
        self.changed();
        Ok(())
    }

    /// Adds or replaces an IVR menu with its entries, in one transaction; its dial name, if
    /// any, must be free in its tenant's context.
    pub async fn put_menu(&self, menu: &MenuRow) -> Result<(), PlatformError> {
        check_call_center_names(&[&menu.name])?;
        self.refuse_case_twin("ivr_menus", &menu.tenant, &menu.name)
            .await?;
        self.refuse_over_limit("ivr_menus", &menu.tenant, &menu.name)
            .await?;
        self.check_menu(menu).await?;
        let mut tx = self.pool.begin().await?;
        if let Some(extension) = &menu.extension {
            self.check_dial_name(&mut tx, &menu.tenant, extension, ("menu", &menu.name))
                .await?;
        }
        sqlx::query("DELETE FROM ivr_entries WHERE tenant = $1 AND menu = $2")
            .bind(&menu.tenant)
            .bind(&menu.name)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO ivr_menus (tenant, name, greet_long, greet_short, invalid_sound, exit_sound, timeout_ms, max_failures, extension)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (tenant, name) DO UPDATE SET extension = excluded.extension, greet_long = excluded.greet_long,
                 greet_short = excluded.greet_short, invalid_sound = excluded.invalid_sound,
                 exit_sound = excluded.exit_sound, timeout_ms = excluded.timeout_ms,
                 max_failures = excluded.max_failures",
        )
        .bind(&menu.tenant)
        .bind(&menu.name)
        .bind(&menu.greet_long)
        .bind(&menu.greet_short)
        .bind(&menu.invalid_sound)
        .bind(&menu.exit_sound)
        .bind(menu.timeout_ms)
        .bind(menu.max_failures)
        .bind(menu.extension.as_deref())
        .execute(&mut *tx)
        .await?;
        for entry in &menu.entries {
            sqlx::query(
                "INSERT INTO ivr_entries (tenant, menu, digits, action, param) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&menu.tenant)
            .bind(&menu.name)
            .bind(&entry.digits)
            .bind(entry.action.kind())
            .bind(entry.action.target())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.changed();
        Ok(())
    }

    /// The tenant of a SIP domain.
    pub async fn tenant_by_domain(&self, domain: &str) -> Result<Option<Tenant>, PlatformError> {
        self.tenant_where("domain", domain).await
    }

    /// The tenant of a dialplan context.
    pub async fn tenant_by_context(&self, context: &str) -> Result<Option<Tenant>, PlatformError> {
        self.tenant_where("context", context).await
    }

    /// A tenant by id.
    pub async fn tenant(&self, tenant: &str) -> Result<Option<Tenant>, PlatformError> {
        self.tenant_where("tenant", tenant).await
    }

    async fn tenant_where(
        &self,
        column: &str,
        value: &str,
    ) -> Result<Option<Tenant>, PlatformError> {
        let row = sqlx::query(&format!(
            "SELECT tenant, domain, context, gateway, prepaid, record_calls, prepaid_slice_seconds, time_zone, disabled FROM tenants WHERE {column} = $1"
        ))
        .bind(value)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| tenant_from(&row)).transpose()
    }

    /// An extension of a tenant.
    pub async fn extension(
        &self,
        tenant: &str,
        extension: &str,
    ) -> Result<Option<ExtensionRow>, PlatformError> {
        let row = sqlx::query(
            "SELECT tenant, extension, password, a1_hash, caller_id_name, caller_id_number, record_calls
             FROM extensions WHERE tenant = $1 AND extension = $2",
        )
        .bind(tenant)
        .bind(extension)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(extension_from).transpose()
    }

    /// A page of a tenant's extensions, by name: at most `limit` after `after`.
    pub async fn extensions_page(
        &self,
        tenant: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ExtensionRow>, PlatformError> {
        sqlx::query(
            "SELECT tenant, extension, password, a1_hash, caller_id_name, caller_id_number, record_calls
             FROM extensions WHERE tenant = $1 AND extension > $2 ORDER BY extension LIMIT $3",
        )
        .bind(tenant)
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(extension_from)
        .collect()
    }

    /// Removes an extension; `false` if there was none.
    pub async fn delete_extension(
        &self,
        tenant: &str,
        extension: &str,
    ) -> Result<bool, PlatformError> {
        // An agent, a DID or a menu entry naming it would send calls to whoever is given
        // the name next (or, gone, out through the gateway as a number).
        self.refuse_in_use(tenant, "extension", extension).await?;
        let done = sqlx::query("DELETE FROM extensions WHERE tenant = $1 AND extension = $2")
            .bind(tenant)
            .bind(extension)
            .execute(&self.pool)
            .await?;
        self.changed();
        Ok(done.rows_affected() > 0)
    }

    /// The database the store writes to.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Every tenant.
    pub async fn tenants(&self) -> Result<Vec<Tenant>, PlatformError> {
        sqlx::query(
            "SELECT tenant, domain, context, gateway, prepaid, record_calls, prepaid_slice_seconds, time_zone, disabled FROM tenants ORDER BY tenant",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(tenant_from)
        .collect()
    }

    /// Every tenant with its queues, agents and tiers, for callcenter.conf.
    pub async fn call_center(
        &self,
    ) -> Result<(Vec<Tenant>, Vec<QueueRow>, Vec<AgentRow>, Vec<TierRow>), PlatformError> {
        let tenants = self.tenants().await?;
        let queues = sqlx::query(
            "SELECT tenant, name, strategy, moh_sound, extension, service_level_seconds FROM cc_queues
             ORDER BY tenant, name",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(queue_from)
        .collect::<Result<_, sqlx::Error>>()?;
        let agents = sqlx::query(
            "SELECT tenant, name, contact, status FROM cc_agents ORDER BY tenant, name",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(agent_from)
        .collect::<Result<_, sqlx::Error>>()?;
        let tiers = sqlx::query(
            "SELECT tenant, queue, agent, level, position FROM cc_tiers ORDER BY tenant, queue, level, position",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(tier_from)
        .collect::<Result<_, sqlx::Error>>()?;
        Ok((tenants, queues, agents, tiers))
    }

    /// Every tenant's IVR menus with their entries, for ivr.conf.
    pub async fn menus(&self) -> Result<(Vec<Tenant>, Vec<MenuRow>), PlatformError> {
        let tenants = self.tenants().await?;
        let mut menus: Vec<MenuRow> = sqlx::query(
            "SELECT tenant, name, greet_long, greet_short, invalid_sound, exit_sound, timeout_ms, max_failures, extension
             FROM ivr_menus ORDER BY tenant, name",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(MenuRow {
                tenant: r.try_get(0)?,
                name: r.try_get(1)?,
                greet_long: r.try_get(2)?,
                greet_short: r.try_get(3)?,
                invalid_sound: r.try_get(4)?,
                exit_sound: r.try_get(5)?,
                timeout_ms: i64::from(r.try_get::<i32, _>(6)?),
                max_failures: i64::from(r.try_get::<i32, _>(7)?),
                extension: r.try_get(8)?,
                entries: Vec::new(),
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
        for row in sqlx::query(
            "SELECT tenant, menu, digits, action, param FROM ivr_entries ORDER BY tenant, menu, digits",
        )
        .fetch_all(&self.pool)
        .await?
        {
            let (tenant, menu): (String, String) = (row.try_get(0)?, row.try_get(1)?);
            let (digits, kind, param): (String, String, String) =
                (row.try_get(2)?, row.try_get(3)?, row.try_get(4)?);
            let Some(action) = MenuAction::from_parts(&kind, &param) else {
                tracing::warn!(%tenant, %menu, %digits, %kind, "IVR entry of an unknown kind not served");
                continue;
            };
            if let Some(target) = menus
                .iter_mut()
                .find(|m| m.tenant == tenant && m.name == menu)
            {
                target.entries.push(MenuEntry { digits, action });
            }
        }
        Ok((tenants, menus))
    }
}

fn tenant_from(row: &AnyRow) -> Result<Tenant, PlatformError> {
    Ok(Tenant {
        tenant: row.try_get(0)?,
        domain: row.try_get(1)?,
        context: row.try_get(2)?,
        gateway: row.try_get(3)?,
        prepaid: row.try_get::<i32, _>(4)? != 0,
        record_calls: row.try_get::<i32, _>(5)? != 0,
        prepaid_slice_seconds: row
            .try_get::<Option<i32>, _>(6)?
            .and_then(|s| u32::try_from(s).ok()),
        time_zone: Some(row.try_get::<String, _>(7)?).filter(|zone| zone != "UTC"),
        disabled: row.try_get::<i32, _>(8)? != 0,
    })
}

pub(crate) fn queue_from(r: &AnyRow) -> Result<QueueRow, sqlx::Error> {
    Ok(QueueRow {
        tenant: r.try_get(0)?,
        name: r.try_get(1)?,
        strategy: r.try_get(2)?,
        moh_sound: r.try_get(3)?,
        extension: r.try_get(4)?,
        service_level_seconds: u32::try_from(r.try_get::<i32, _>(5)?).unwrap_or(0),
    })
}

/// An agent from `SELECT tenant, name, contact, status`.
pub(crate) fn agent_from(r: &AnyRow) -> Result<AgentRow, sqlx::Error> {
    Ok(AgentRow {
        tenant: r.try_get(0)?,
        name: r.try_get(1)?,
        contact: r.try_get(2)?,
        status: r.try_get(3)?,
    })
}

/// A tier from `SELECT tenant, queue, agent, level, position`.
pub(crate) fn tier_from(r: &AnyRow) -> Result<TierRow, sqlx::Error> {
    Ok(TierRow {
        tenant: r.try_get(0)?,
        queue: r.try_get(1)?,
        agent: r.try_get(2)?,
        level: i64::from(r.try_get::<i32, _>(3)?),
        position: i64::from(r.try_get::<i32, _>(4)?),
    })
}

fn extension_from(row: &sqlx::any::AnyRow) -> Result<ExtensionRow, PlatformError> {
    Ok(ExtensionRow {
        tenant: row.try_get(0)?,
        extension: row.try_get(1)?,
        password: row.try_get(2)?,
        a1_hash: row.try_get(3)?,
        caller_id_name: row.try_get(4)?,
        caller_id_number: row.try_get(5)?,
        record_calls: row.try_get::<i32, _>(6)? != 0,
    })
}

/// Whether `number` is one of `tenant`'s extensions or DIDs.
async fn owns_number(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant: &str,
    number: &str,
) -> Result<bool, PlatformError> {
    let owned = sqlx::query(
        "SELECT 1 FROM extensions WHERE tenant = $1 AND extension = $2
         UNION ALL SELECT 1 FROM dids WHERE tenant = $1 AND number = $2",
    )
    .bind(tenant)
    .bind(number)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(owned.is_some())
}

/// Whether `name` is the dial name of one of `tenant`'s queues or IVR menus.
async fn dialled_elsewhere(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant: &str,
    name: &str,
) -> Result<bool, PlatformError> {
    let taken = sqlx::query(
        "SELECT 1 FROM cc_queues WHERE tenant = $1 AND extension = $2
         UNION ALL SELECT 1 FROM ivr_menus WHERE tenant = $1 AND extension = $2
         UNION ALL SELECT 1 FROM ring_groups WHERE tenant = $1 AND extension = $2",
    )
    .bind(tenant)
    .bind(name)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(taken.is_some())
}

/// Highest tier level and position.
pub const TIER_MAX: i64 = 1000;

/// The strategies mod_callcenter knows.
pub const STRATEGIES: [&str; 9] = [
    "ring-all",
    "longest-idle-agent",
    "round-robin",
    "top-down",
    "agent-with-least-talk-time",
    "agent-with-fewest-calls",
    "sequentially-by-agent-order",
    "random",
    "ring-progressively",
];

/// Queue, agent and menu names reach FreeSWITCH as `name@tenant` in application data
/// (`callcenter`, `ivr`) and configuration: each must be a name (no space, `@`, `$`, quote).
pub(crate) fn check_call_center_names(names: &[&str]) -> Result<(), InvalidValue> {
    if names.iter().all(|name| esl::api::is_name(name)) {
        Ok(())
    } else {
        Err(InvalidValue::CallCenterName)
    }
}
