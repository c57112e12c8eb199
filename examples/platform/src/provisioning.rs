//! What a tenant admin provisions of its contact center, read and removed one tenant at a
//! time: queues, agents, tiers, IVR menus and DIDs. The writes are the store's `put_*`
//! (`crate::store`); this adds the per-tenant listings, the removals and the rules that keep
//! what is left consistent: nothing is removed while something else of the tenant still sends
//! calls to it, and a menu's entries name only what the tenant has.

use crate::identity::InvalidValue;
use crate::inbound::{Did, DidRoute};
use crate::ivr::{self, ENTRIES_MAX, MenuAction};
use crate::store::{AgentRow, MenuRow, PlatformError, PlatformStore, QueueRow, TierRow};
use sqlx::Row;
use std::collections::HashSet;

/// Longest digit timeout of a menu, in milliseconds.
pub const MENU_TIMEOUT_MAX_MS: i64 = 60_000;

/// Most failures a menu allows before it says goodbye.
pub const MENU_FAILURES_MAX: i64 = 10;

/// Most queues, IVR menus, ring groups or schedules one tenant has (of each): calls read them
/// on the way, and one tenant must not slow every tenant's lookups.
pub const PER_TENANT_MAX: i64 = 500;

impl PlatformStore {
    /// `tenant`'s queues, by name.
    pub async fn queues(&self, tenant: &str) -> Result<Vec<QueueRow>, PlatformError> {
        Ok(sqlx::query(
            "SELECT tenant, name, strategy, moh_sound, extension, service_level_seconds
             FROM cc_queues WHERE tenant = $1 ORDER BY name",
        )
        .bind(tenant)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(crate::store::queue_from)
        .collect::<Result<_, sqlx::Error>>()?)
    }

    /// `tenant`'s agents, by name.
    pub async fn agents(&self, tenant: &str) -> Result<Vec<AgentRow>, PlatformError> {
        Ok(sqlx::query(
            "SELECT tenant, name, contact, status FROM cc_agents WHERE tenant = $1 ORDER BY name",
        )
        .bind(tenant)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(crate::store::agent_from)
        .collect::<Result<_, sqlx::Error>>()?)
    }

    /// `tenant`'s tiers (which agents answer which queues), by queue, level and position.
    pub async fn tiers(&self, tenant: &str) -> Result<Vec<TierRow>, PlatformError> {
        Ok(sqlx::query(
            "SELECT tenant, queue, agent, level, position FROM cc_tiers WHERE tenant = $1
             ORDER BY queue, level, position, agent",
        )
        .bind(tenant)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(crate::store::tier_from)
        .collect::<Result<_, sqlx::Error>>()?)
    }

    /// `tenant`'s IVR menus with their entries.
    pub async fn tenant_menus(&self, tenant: &str) -> Result<Vec<MenuRow>, PlatformError> {
        let (_, menus) = self.menus().await?;
        Ok(menus.into_iter().filter(|m| m.tenant == tenant).collect())
    }

    /// `tenant`'s DIDs with their routes.
    pub async fn dids(&self, tenant: &str) -> Result<Vec<Did>, PlatformError> {
        let numbers: Vec<String> =
            sqlx::query("SELECT number FROM dids WHERE tenant = $1 ORDER BY number")
                .bind(tenant)
                .fetch_all(self.pool())
                .await?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, sqlx::Error>>()?;
        let mut dids = Vec::with_capacity(numbers.len());
        for number in numbers {
            if let Some(did) = self.did(&number).await? {
                dids.push(did);
            }
        }
        Ok(dids)
    }

    /// Removes a queue and its tiers; refused while a DID or a menu entry sends calls to it.
    /// `false` if the tenant has no such queue.
    pub async fn delete_queue(&self, tenant: &str, name: &str) -> Result<bool, PlatformError> {
        self.refuse_in_use(tenant, "queue", name).await?;
        self.delete_where(
            &[
                "DELETE FROM cc_tiers WHERE tenant = $1 AND queue = $2",
                "DELETE FROM cc_queues WHERE tenant = $1 AND name = $2",
            ],
            tenant,
            name,
        )
        .await
    }

    /// Removes an agent and its tiers. `false` if the tenant has no such agent.
    pub async fn delete_agent(&self, tenant: &str, name: &str) -> Result<bool, PlatformError> {
        self.delete_where(
            &[
                "DELETE FROM cc_tiers WHERE tenant = $1 AND agent = $2",
                "DELETE FROM cc_agents WHERE tenant = $1 AND name = $2",
            ],
            tenant,
            name,
        )
        .await
    }

    /// Takes `agent` off `queue`. `false` if it was not on it.
    pub async fn delete_tier(
        &self,
        tenant: &str,
        queue: &str,
        agent: &str,
    ) -> Result<bool, PlatformError> {
        let done =
            sqlx::query("DELETE FROM cc_tiers WHERE tenant = $1 AND queue = $2 AND agent = $3")
                .bind(tenant)
                .bind(queue)
                .bind(agent)
                .execute(self.pool())
                .await?;
        self.changed();
        Ok(done.rows_affected() > 0)
    }

    /// Removes a menu and its entries; refused while a DID or another menu sends calls to it.
    /// `false` if the tenant has no such menu.
    pub async fn delete_menu(&self, tenant: &str, name: &str) -> Result<bool, PlatformError> {
        self.refuse_in_use(tenant, "menu", name).await?;
        self.delete_where(
            &[
                "DELETE FROM ivr_entries WHERE tenant = $1 AND menu = $2",
                "DELETE FROM ivr_menus WHERE tenant = $1 AND name = $2",
            ],
            tenant,
            name,
        )
        .await
    }

    /// The first of `tenant`'s menus that plays the prompt `name`, if any.
    pub async fn menu_playing(
        &self,
        tenant: &str,
        name: &str,
    ) -> Result<Option<String>, PlatformError> {
        let sound = format!("prompt:{name}");
        let row = sqlx::query(
            "SELECT name FROM ivr_menus WHERE tenant = $1
                 AND (greet_long = $2 OR greet_short = $2 OR invalid_sound = $2 OR exit_sound = $2)",
        )
        .bind(tenant)
        .bind(&sound)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// `tenant`'s extension names.
    pub async fn extension_names(&self, tenant: &str) -> Result<Vec<String>, PlatformError> {
        Ok(
            sqlx::query("SELECT extension FROM extensions WHERE tenant = $1")
                .bind(tenant)
                .fetch_all(self.pool())
                .await?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, sqlx::Error>>()?,
        )
    }

    /// Adds an agent, or sets an existing one's contact, keeping its status unless `status`
    /// is given (a new agent without one starts `Logged Out`), in one statement: a status the
    /// agent sets meanwhile is not overwritten. The agent as stored.
    pub async fn put_agent_contact(
        &self,
        tenant: &str,
        name: &str,
        contact: &str,
        status: Option<&str>,
    ) -> Result<AgentRow, PlatformError> {
        crate::store::check_call_center_names(&[name])?;
        self.refuse_case_twin("cc_agents", tenant, name).await?;
        let row = sqlx::query(
            "INSERT INTO cc_agents (tenant, name, contact, status) VALUES ($1, $2, $3, COALESCE($4, 'Logged Out'))
             ON CONFLICT (tenant, name) DO UPDATE SET contact = excluded.contact,
                 status = COALESCE($4, cc_agents.status)
             RETURNING status",
        )
        .bind(tenant)
        .bind(name)
        .bind(contact)
        .bind(status)
        .fetch_one(self.pool())
        .await?;
        self.changed();
        Ok(AgentRow {
            tenant: tenant.to_owned(),
            name: name.to_owned(),
            contact: contact.to_owned(),
            status: row.try_get(0)?,
        })
    }

    /// Refuses a new row of `table` (`cc_queues`, `ivr_menus`, `ring_groups`, `schedules`) when
    /// the tenant has [`PER_TENANT_MAX`] of them already (replacing one is always allowed).
    pub(crate) async fn refuse_over_limit(
        &self,
        table: &'static str,
        tenant: &str,
        name: &str,
    ) -> Result<(), PlatformError> {
        let others: i64 = sqlx::query(&format!(
            "SELECT COUNT(*) FROM {table} WHERE tenant = $1 AND name <> $2"
        ))
        .bind(tenant)
        .bind(name)
        .fetch_one(self.pool())
        .await?
        .try_get(0)?;
        if others >= PER_TENANT_MAX {
            return Err(InvalidValue::TooMany(table).into());
        }
        Ok(())
    }

    /// Refuses `name` for a row of `table` (`cc_queues`, `cc_agents`, `ivr_menus`) when the
    /// tenant has one differing only in case: FreeSWITCH finds queues, agents and menus by name
    /// ignoring case, so one would answer for the other.
    pub(crate) async fn refuse_case_twin(
        &self,
        table: &'static str,
        tenant: &str,
        name: &str,
    ) -> Result<(), PlatformError> {
        let twin = sqlx::query(&format!(
            "SELECT name FROM {table} WHERE tenant = $1 AND LOWER(name) = LOWER($2) AND name <> $2"
        ))
        .bind(tenant)
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        match twin {
            Some(row) => Err(InvalidValue::NameTaken(row.try_get(0)?).into()),
            None => Ok(()),
        }
    }

    /// Runs `statements` (the last one removes the row itself) in one transaction.
    pub(crate) async fn delete_where(
        &self,
        statements: &[&str],
        tenant: &str,
        name: &str,
    ) -> Result<bool, PlatformError> {
        let mut tx = self.pool().begin().await?;
        let mut removed = 0;
        for statement in statements {
            removed = sqlx::query(statement)
                .bind(tenant)
                .bind(name)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        self.changed();
        Ok(removed > 0)
    }

    /// Refuses to remove the `kind` (`extension`, `queue`, `menu` or `group`) `name` while a
    /// DID of the tenant routes to it, a menu entry (other than the menu's own) goes to it, or
    /// (an extension) an agent is it, a ring group rings it or an API user is bound to it (its
    /// token would ring whoever is given the name next).
    pub(crate) async fn refuse_in_use(
        &self,
        tenant: &str,
        kind: &str,
        name: &str,
    ) -> Result<(), PlatformError> {
        let user = sqlx::query(
            "SELECT 'DID ' || number FROM dids WHERE tenant = $1 AND route = $2 AND target = $3
             UNION ALL SELECT 'menu ' || menu FROM ivr_entries
                 WHERE tenant = $1 AND action = $2 AND param = $3 AND NOT (action = 'menu' AND menu = $3)
             UNION ALL SELECT 'agent ' || name FROM cc_agents
                 WHERE tenant = $1 AND $2 = 'extension' AND name = $3
             UNION ALL SELECT 'ring group ' || ring_group FROM ring_group_members
                 WHERE tenant = $1 AND $2 = 'extension' AND extension = $3
             UNION ALL SELECT 'user ' || username FROM api_users
                 WHERE tenant = $1 AND $2 = 'extension' AND extension = $3
             UNION ALL SELECT 'schedule ' || schedule FROM schedule_rules
                 WHERE tenant = $1 AND route = $2 AND target = $3
             UNION ALL SELECT 'schedule ' || name FROM schedules
                 WHERE tenant = $1 AND otherwise_route = $2 AND otherwise_target = $3",
        )
        .bind(tenant)
        .bind(kind)
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        match user {
            Some(row) => Err(InvalidValue::InUse(row.try_get(0)?).into()),
            None => Ok(()),
        }
    }

    /// Checks a menu before it is stored: its sounds, its timeout and failures, and each
    /// entry's digits (once each) and target (something of the menu's tenant that a call can
    /// reach; a submenu may be the menu itself).
    pub(crate) async fn check_menu(&self, menu: &MenuRow) -> Result<(), PlatformError> {
        for sound in [
            &menu.greet_long,
            &menu.greet_short,
            &menu.invalid_sound,
            &menu.exit_sound,
        ] {
            ivr::check_sound(sound)?;
        }
        if !(1..=MENU_TIMEOUT_MAX_MS).contains(&menu.timeout_ms) {
            return Err(InvalidValue::Range("timeout_ms (1 to 60000)").into());
        }
        if !(1..=MENU_FAILURES_MAX).contains(&menu.max_failures) {
            return Err(InvalidValue::Range("max_failures (1 to 10)").into());
        }
        let mut digits = HashSet::new();
        if menu.entries.len() > ENTRIES_MAX {
            return Err(InvalidValue::Entries.into());
        }
        for entry in &menu.entries {
            ivr::check_digits(&entry.digits)?;
            if !digits.insert(entry.digits.as_str()) {
                return Err(InvalidValue::Entries.into());
            }
            self.check_menu_action(&menu.tenant, &menu.name, &entry.action)
                .await?;
        }
        Ok(())
    }

    async fn check_menu_action(
        &self,
        tenant: &str,
        menu: &str,
        action: &MenuAction,
    ) -> Result<(), PlatformError> {
        let exists = match action {
            MenuAction::Repeat | MenuAction::HangUp => return Ok(()),
            MenuAction::Extension(name) => {
                return self
                    .check_route(tenant, &DidRoute::Extension(name.clone()))
                    .await;
            }
            MenuAction::Queue(name) => {
                return self
                    .check_route(tenant, &DidRoute::Queue(name.clone()))
                    .await;
            }
            MenuAction::Group(name) => {
                return self
                    .check_route(tenant, &DidRoute::Group(name.clone()))
                    .await;
            }
            MenuAction::Menu(name) if name == menu => return Ok(()),
            MenuAction::Menu(_) => "SELECT 1 FROM ivr_menus WHERE tenant = $1 AND name = $2",
            // A DID's outside route is refused to callers from trunks (the dialplan lets a DID
            // call out only to its own route), and a scheduled DID has no one destination for
            // ivr.conf: an entry to either could never work.
            MenuAction::Did(_) => {
                "SELECT 1 FROM dids WHERE tenant = $1 AND number = $2 AND route IS NOT NULL
                     AND route <> 'outside' AND route <> 'schedule'"
            }
        };
        let found = sqlx::query(exists)
            .bind(tenant)
            .bind(action.target())
            .fetch_optional(self.pool())
            .await?;
        match found {
            Some(_) => Ok(()),
            None => {
                Err(InvalidValue::NoTarget(format!("{} {}", action.kind(), action.target())).into())
            }
        }
    }
}
