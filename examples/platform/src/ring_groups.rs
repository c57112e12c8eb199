//! Ring groups: a name in a tenant's context that rings several of its extensions, all at
//! once or one after the other. DIDs (`group:NAME`), IVR entries and the tenant's users reach
//! it by its dial name; the dialplan bridges to its members' registrations with the esl
//! crate's dial strings, so nothing a tenant writes becomes dial-string syntax.
//!
//! ```
//! use platform::ring_groups::RingStrategy;
//! assert_eq!("sequential".parse(), Ok(RingStrategy::Sequential));
//! assert_eq!(RingStrategy::Simultaneous.as_str(), "simultaneous");
//! ```

use crate::identity::InvalidValue;
use crate::store::{PlatformError, PlatformStore};
use sqlx::Row;

/// How a ring group rings its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingStrategy {
    /// All at once; the first to answer takes the call.
    Simultaneous,
    /// One after the other, in their order, each for the group's ring time.
    Sequential,
}

impl RingStrategy {
    /// The strategy as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            RingStrategy::Simultaneous => "simultaneous",
            RingStrategy::Sequential => "sequential",
        }
    }
}

impl std::str::FromStr for RingStrategy {
    type Err = InvalidValue;

    fn from_str(text: &str) -> Result<Self, InvalidValue> {
        match text {
            "simultaneous" => Ok(RingStrategy::Simultaneous),
            "sequential" => Ok(RingStrategy::Sequential),
            _ => Err(InvalidValue::RingStrategy),
        }
    }
}

/// Most members of a ring group.
pub const MEMBERS_MAX: usize = 32;

/// A ring group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingGroupRow {
    /// Its tenant.
    pub tenant: String,
    /// Its name.
    pub name: String,
    /// The name it is dialled by in the tenant's context (`None`: no call reaches it).
    pub extension: Option<String>,
    /// How it rings.
    pub strategy: RingStrategy,
    /// How long each member rings (all of them, when simultaneous), seconds.
    pub ring_seconds: u32,
    /// Its members, extensions of the tenant, in order.
    pub members: Vec<String>,
}

impl PlatformStore {
    /// Adds or replaces a ring group with its members, in one transaction: its name is a
    /// name, its dial name free in the tenant's context, its members the tenant's extensions
    /// (at most [`MEMBERS_MAX`], each once), its ring time 5 to 300 seconds.
    pub async fn put_ring_group(&self, group: &RingGroupRow) -> Result<(), PlatformError> {
        crate::store::check_call_center_names(&[&group.name])?;
        self.refuse_case_twin("ring_groups", &group.tenant, &group.name)
            .await?;
        self.refuse_over_limit("ring_groups", &group.tenant, &group.name)
            .await?;
        if !(5..=300).contains(&group.ring_seconds) {
            return Err(InvalidValue::Range("ring_seconds (5 to 300)").into());
        }
        let mut unique = std::collections::HashSet::new();
        if group.members.is_empty()
            || group.members.len() > MEMBERS_MAX
            || !group.members.iter().all(|m| unique.insert(m.as_str()))
        {
            return Err(InvalidValue::Members.into());
        }
        let known = self.extension_names(&group.tenant).await?;
        if let Some(stranger) = group.members.iter().find(|m| !known.contains(m)) {
            return Err(InvalidValue::NoTarget(format!("extension {stranger}")).into());
        }
        let mut tx = self.pool().begin().await?;
        if let Some(extension) = &group.extension {
            self.check_dial_name(&mut tx, &group.tenant, extension, ("group", &group.name))
                .await?;
        }
        sqlx::query("DELETE FROM ring_group_members WHERE tenant = $1 AND ring_group = $2")
            .bind(&group.tenant)
            .bind(&group.name)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO ring_groups (tenant, name, extension, strategy, ring_seconds) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant, name) DO UPDATE SET extension = excluded.extension,
                 strategy = excluded.strategy, ring_seconds = excluded.ring_seconds",
        )
        .bind(&group.tenant)
        .bind(&group.name)
        .bind(group.extension.as_deref())
        .bind(group.strategy.as_str())
        .bind(i32::try_from(group.ring_seconds).unwrap_or(i32::MAX))
        .execute(&mut *tx)
        .await?;
        for (position, member) in group.members.iter().enumerate() {
            sqlx::query(
                "INSERT INTO ring_group_members (tenant, ring_group, extension, position) VALUES ($1, $2, $3, $4)",
            )
            .bind(&group.tenant)
            .bind(&group.name)
            .bind(member)
            .bind(i32::try_from(position).unwrap_or(i32::MAX))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.changed();
        Ok(())
    }

    /// `tenant`'s ring groups with their members, by name.
    pub async fn ring_groups(&self, tenant: &str) -> Result<Vec<RingGroupRow>, PlatformError> {
        self.ring_groups_where(tenant, None).await
    }

    /// One ring group of `tenant` (what a call to it reads: that group only).
    pub async fn ring_group(
        &self,
        tenant: &str,
        name: &str,
    ) -> Result<Option<RingGroupRow>, PlatformError> {
        Ok(self.ring_groups_where(tenant, Some(name)).await?.pop())
    }

    async fn ring_groups_where(
        &self,
        tenant: &str,
        name: Option<&str>,
    ) -> Result<Vec<RingGroupRow>, PlatformError> {
        let (only, only_members) = match name {
            Some(_) => ("AND name = $2", "AND ring_group = $2"),
            None => ("", ""),
        };
        let groups_sql = format!(
            "SELECT tenant, name, extension, strategy, ring_seconds FROM ring_groups
             WHERE tenant = $1 {only} ORDER BY name"
        );
        let mut query = sqlx::query(&groups_sql).bind(tenant);
        if let Some(name) = name {
            query = query.bind(name);
        }
        let mut groups: Vec<RingGroupRow> = query
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| {
                Ok(RingGroupRow {
                    tenant: r.try_get(0)?,
                    name: r.try_get(1)?,
                    extension: r.try_get(2)?,
                    strategy: r
                        .try_get::<String, _>(3)?
                        .parse()
                        .unwrap_or(RingStrategy::Simultaneous),
                    ring_seconds: u32::try_from(r.try_get::<i32, _>(4)?).unwrap_or(20),
                    members: Vec::new(),
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        let members_sql = format!(
            "SELECT ring_group, extension FROM ring_group_members WHERE tenant = $1 {only_members}
             ORDER BY ring_group, position"
        );
        let mut query = sqlx::query(&members_sql).bind(tenant);
        if let Some(name) = name {
            query = query.bind(name);
        }
        let members = query.fetch_all(self.pool()).await?;
        for row in members {
            let (group, extension): (String, String) = (row.try_get(0)?, row.try_get(1)?);
            if let Some(found) = groups.iter_mut().find(|g| g.name == group) {
                found.members.push(extension);
            }
        }
        Ok(groups)
    }

    /// Removes a ring group; refused while a DID or a menu entry sends calls to it. `false`
    /// if the tenant has no such group.
    pub async fn delete_ring_group(&self, tenant: &str, name: &str) -> Result<bool, PlatformError> {
        self.refuse_in_use(tenant, "group", name).await?;
        self.delete_where(
            &[
                "DELETE FROM ring_group_members WHERE tenant = $1 AND ring_group = $2",
                "DELETE FROM ring_groups WHERE tenant = $1 AND name = $2",
            ],
            tenant,
            name,
        )
        .await
    }
}
