//! Inbound calls: where a DID sends its callers, and the names that reach a tenant's queues
//! and IVR menus in its dialplan context.
//!
//! A call from a trunk arrives in the [`PUBLIC_CONTEXT`] with the DID as its destination. The
//! DID names its tenant and its [`DidRoute`]; the dialplan sets the tenant variable and
//! transfers the call into the tenant's context, to the route's destination there: an
//! extension, the dial name of a queue or an IVR menu, or an outside number (which then goes
//! out through the tenant's gateway, rated and limited as any of its calls). Queues, agents
//! and menus reach FreeSWITCH as `name@tenant` ([`qualified`]), so no two tenants' names meet.
//!
//! ```no_run
//! # async fn demo(store: platform::store::PlatformStore) -> Result<(), platform::store::PlatformError> {
//! use platform::inbound::DidRoute;
//!
//! store.put_did("02873001234", "acme").await?;
//! store.route_did("02873001234", "acme", Some(&DidRoute::Menu("main".into()))).await?;
//! let did = store.did("02873001234").await?.expect("routed");
//! println!("{} -> {:?}", did.tenant, did.destination);
//! # Ok(()) }
//! ```

use crate::identity::{self, InvalidValue};
use crate::store::{PlatformError, PlatformStore};
use sqlx::Row;

/// The dialplan context calls from trunks arrive in (FreeSWITCH's for calls it did not
/// authenticate); no tenant's context may have this name.
pub const PUBLIC_CONTEXT: &str = "public";

/// The name FreeSWITCH knows a tenant's queue, agent or IVR menu by: `name@tenant` (tenant ids
/// are unique and `@` is in no name, so two tenants' names never meet).
///
/// ```
/// assert_eq!(platform::inbound::qualified("support", "acme"), "support@acme");
/// ```
pub fn qualified(name: &str, tenant: &str) -> String {
    format!("{name}@{tenant}")
}

/// Where a DID sends its calls: one target of its tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DidRoute {
    /// One of the tenant's extensions (a user).
    Extension(String),
    /// One of its queues (by name), through the queue's dial name.
    Queue(String),
    /// One of its IVR menus (by name), through the menu's dial name.
    Menu(String),
    /// One of its ring groups (by name), through the group's dial name.
    Group(String),
    /// One of its schedules (by name): the route its rule for the time of the call chooses.
    Schedule(String),
    /// An outside number, through the tenant's gateway (the tenant pays for it).
    Outside(String),
}

impl DidRoute {
    /// The route's kind as stored: `extension`, `queue`, `menu` or `outside`.
    ///
    /// ```
    /// use platform::inbound::DidRoute;
    /// assert_eq!(DidRoute::Queue("support".into()).kind(), "queue");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            DidRoute::Extension(_) => "extension",
            DidRoute::Queue(_) => "queue",
            DidRoute::Menu(_) => "menu",
            DidRoute::Group(_) => "group",
            DidRoute::Schedule(_) => "schedule",
            DidRoute::Outside(_) => "outside",
        }
    }

    /// Its target: a name, or the outside number.
    ///
    /// ```
    /// use platform::inbound::DidRoute;
    /// assert_eq!(DidRoute::Outside("+442079460000".into()).target(), "+442079460000");
    /// ```
    pub fn target(&self) -> &str {
        match self {
            DidRoute::Extension(t)
            | DidRoute::Queue(t)
            | DidRoute::Menu(t)
            | DidRoute::Group(t)
            | DidRoute::Schedule(t)
            | DidRoute::Outside(t) => t,
        }
    }

    /// The route a kind and a target name, as stored; `None` for a kind this version does not
    /// know.
    ///
    /// ```
    /// use platform::inbound::DidRoute;
    /// assert_eq!(DidRoute::from_parts("menu", "main"), Some(DidRoute::Menu("main".into())));
    /// assert_eq!(DidRoute::from_parts("fax", "x"), None);
    /// ```
    pub fn from_parts(kind: &str, target: &str) -> Option<Self> {
        let target = target.to_owned();
        Some(match kind {
            "extension" => DidRoute::Extension(target),
            "queue" => DidRoute::Queue(target),
            "menu" => DidRoute::Menu(target),
            "group" => DidRoute::Group(target),
            "schedule" => DidRoute::Schedule(target),
            "outside" => DidRoute::Outside(target),
            _ => return None,
        })
    }
}

/// Why a route's text (`kind:target`) is not a route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a route is extension:NAME, queue:NAME, menu:NAME, group:NAME, schedule:NAME or outside:NUMBER"
)]
pub struct RouteSyntax;

impl std::str::FromStr for DidRoute {
    type Err = RouteSyntax;

    /// A route as an operator writes it: `extension:1001`, `queue:support`, `menu:main` or
    /// `outside:+442079460000` (what it names is checked when it is stored).
    ///
    /// ```
    /// use platform::inbound::DidRoute;
    /// assert_eq!("queue:support".parse(), Ok(DidRoute::Queue("support".into())));
    /// assert!("support".parse::<DidRoute>().is_err());
    /// ```
    fn from_str(text: &str) -> Result<Self, RouteSyntax> {
        let (kind, target) = text.split_once(':').ok_or(RouteSyntax)?;
        if target.is_empty() {
            return Err(RouteSyntax);
        }
        DidRoute::from_parts(kind, target).ok_or(RouteSyntax)
    }
}

/// A DID as an inbound call finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Did {
    /// The number, as the trunk presents it.
    pub number: String,
    /// Its tenant.
    pub tenant: String,
    /// Where its calls go; `None`: nowhere (the number is only a caller ID).
    pub route: Option<DidRoute>,
    /// What the call is transferred to in the tenant's context: the route's extension, its
    /// queue's or menu's dial name, or its outside number; `None` when the route reaches
    /// nothing (no route, or its queue or menu has no dial name any more), or when a schedule
    /// chooses it at the time of each call.
    pub destination: Option<String>,
    /// The schedule its route names, with each of its routes' destinations.
    pub schedule: Option<crate::schedules::Schedule>,
}

impl Did {
    /// The route and destination of a call at `unix` seconds: its schedule's choice then, in
    /// `time_zone` (the tenant's), or its own.
    pub fn at(&self, time_zone: Option<&str>, unix: i64) -> (Option<&DidRoute>, Option<&str>) {
        match &self.schedule {
            Some(schedule) => {
                let choice = schedule.choose(time_zone, unix);
                (Some(&choice.route), choice.destination.as_deref())
            }
            None => (self.route.as_ref(), self.destination.as_deref()),
        }
    }
}

/// What a name dialled in a tenant's context reaches besides its users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialTarget {
    /// A queue, by name.
    Queue(String),
    /// An IVR menu, by name.
    Menu(String),
    /// A ring group, by name.
    Group(String),
}

impl PlatformStore {
    /// Routes `number`, a DID of `tenant`, to `route` (`None`: calls to it are refused). The
    /// target must be the tenant's: an extension it has, a queue or menu it has with a dial
    /// name, or an outside number.
    pub async fn route_did(
        &self,
        number: &str,
        tenant: &str,
        route: Option<&DidRoute>,
    ) -> Result<(), PlatformError> {
        if let Some(route) = route {
            self.check_route(tenant, route).await?;
        }
        let updated = sqlx::query(
            "UPDATE dids SET route = $1, target = $2 WHERE number = $3 AND tenant = $4",
        )
        .bind(route.map(DidRoute::kind))
        .bind(route.map(DidRoute::target))
        .bind(number)
        .bind(tenant)
        .execute(self.pool())
        .await?;
        if updated.rows_affected() == 0 {
            return Err(InvalidValue::NotOwned(number.to_owned()).into());
        }
        self.changed();
        Ok(())
    }

    /// Whether `route` names something of `tenant`'s that a call can reach.
    pub(crate) async fn check_route(
        &self,
        tenant: &str,
        route: &DidRoute,
    ) -> Result<(), PlatformError> {
        let target = route.target();
        let exists = match route {
            DidRoute::Outside(number) => {
                identity::check_caller_id_number(number).map_err(|_| InvalidValue::Route)?;
                let own = sqlx::query("SELECT 1 FROM dids WHERE number = $1")
                    .bind(number)
                    .fetch_optional(self.pool())
                    .await?;
                if own.is_some() || self.reserved().iter().any(|r| r == number) {
                    return Err(InvalidValue::Route.into());
                }
                return Ok(());
            }
            DidRoute::Extension(_) => {
                "SELECT 1 FROM extensions WHERE tenant = $1 AND extension = $2"
            }
            DidRoute::Queue(_) => {
                "SELECT 1 FROM cc_queues WHERE tenant = $1 AND name = $2 AND extension IS NOT NULL"
            }
            DidRoute::Menu(_) => {
                "SELECT 1 FROM ivr_menus WHERE tenant = $1 AND name = $2 AND extension IS NOT NULL"
            }
            DidRoute::Group(_) => {
                "SELECT 1 FROM ring_groups WHERE tenant = $1 AND name = $2 AND extension IS NOT NULL"
            }
            DidRoute::Schedule(_) => "SELECT 1 FROM schedules WHERE tenant = $1 AND name = $2",
        };
        let found = sqlx::query(exists)
            .bind(tenant)
            .bind(target)
            .fetch_optional(self.pool())
            .await?;
        match found {
            Some(_) => Ok(()),
            None => Err(InvalidValue::NoTarget(format!("{} {target}", route.kind())).into()),
        }
    }

    /// A DID with its route and where that route leads in its tenant's context.
    pub async fn did(&self, number: &str) -> Result<Option<Did>, PlatformError> {
        let row = sqlx::query(
            "SELECT d.tenant, d.route, d.target, q.extension, m.extension, e.extension, g.extension FROM dids d
             LEFT JOIN cc_queues q ON d.route = 'queue' AND q.tenant = d.tenant AND q.name = d.target
             LEFT JOIN ivr_menus m ON d.route = 'menu' AND m.tenant = d.tenant AND m.name = d.target
             LEFT JOIN extensions e ON d.route = 'extension' AND e.tenant = d.tenant AND e.extension = d.target
             LEFT JOIN ring_groups g ON d.route = 'group' AND g.tenant = d.tenant AND g.name = d.target
             WHERE d.number = $1",
        )
        .bind(number)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let kind: Option<String> = row.try_get(1)?;
        let target: Option<String> = row.try_get(2)?;
        let route = kind
            .zip(target)
            .and_then(|(kind, target)| DidRoute::from_parts(&kind, &target));
        // What the route names must still be there: a removed extension's number would
        // otherwise be dialled as an outside number.
        let destination = match &route {
            Some(DidRoute::Outside(number)) => Some(number.clone()),
            Some(DidRoute::Queue(_)) => row.try_get(3)?,
            Some(DidRoute::Menu(_)) => row.try_get(4)?,
            Some(DidRoute::Group(_)) => row.try_get(6)?,
            // Chosen at the time of each call, from the schedule.
            Some(DidRoute::Schedule(_)) => None,
            Some(DidRoute::Extension(_)) => row.try_get(5)?,
            None => None,
        };
        let tenant: String = row.try_get(0)?;
        let schedule = match &route {
            Some(DidRoute::Schedule(name)) => self.schedule(&tenant, name).await?,
            _ => None,
        };
        Ok(Some(Did {
            number: number.to_owned(),
            tenant,
            route,
            destination,
            schedule,
        }))
    }

    /// Where `route` leads in `tenant`'s context now: the extension if it is there, the dial
    /// name of the queue, menu or ring group, or the outside number; `None` when nothing (or
    /// a schedule: chosen per call).
    pub(crate) async fn destination(
        &self,
        tenant: &str,
        route: &DidRoute,
    ) -> Result<Option<String>, PlatformError> {
        let query = match route {
            DidRoute::Outside(number) => return Ok(Some(number.clone())),
            DidRoute::Schedule(_) => return Ok(None),
            DidRoute::Extension(_) => {
                "SELECT extension FROM extensions WHERE tenant = $1 AND extension = $2"
            }
            DidRoute::Queue(_) => "SELECT extension FROM cc_queues WHERE tenant = $1 AND name = $2",
            DidRoute::Menu(_) => "SELECT extension FROM ivr_menus WHERE tenant = $1 AND name = $2",
            DidRoute::Group(_) => {
                "SELECT extension FROM ring_groups WHERE tenant = $1 AND name = $2"
            }
        };
        let row = sqlx::query(query)
            .bind(tenant)
            .bind(route.target())
            .fetch_optional(self.pool())
            .await?;
        Ok(row
            .map(|r| r.try_get::<Option<String>, _>(0))
            .transpose()?
            .flatten())
    }

    /// The queue or IVR menu of `tenant` dialled as `name`, if any.
    pub async fn dial_target(
        &self,
        tenant: &str,
        name: &str,
    ) -> Result<Option<DialTarget>, PlatformError> {
        let row = sqlx::query(
            "SELECT 'queue', name FROM cc_queues WHERE tenant = $1 AND extension = $2
             UNION ALL SELECT 'menu', name FROM ivr_menus WHERE tenant = $1 AND extension = $2
             UNION ALL SELECT 'group', name FROM ring_groups WHERE tenant = $1 AND extension = $2",
        )
        .bind(tenant)
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let (kind, target): (String, String) = (row.try_get(0)?, row.try_get(1)?);
        Ok(Some(match kind.as_str() {
            "queue" => DialTarget::Queue(target),
            "menu" => DialTarget::Menu(target),
            _ => DialTarget::Group(target),
        }))
    }

    /// Refuses `name` as the dial name of a queue or menu of `tenant` when it breaks the rule
    /// for extensions or something else of the tenant answers to it already (`except`: the
    /// queue or menu being written, by kind and name).
    pub(crate) async fn check_dial_name(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        tenant: &str,
        name: &str,
        except: (&str, &str),
    ) -> Result<(), PlatformError> {
        identity::check_name(name, self.reserved())?;
        let taken = sqlx::query(
            "SELECT 'extension', extension FROM extensions WHERE tenant = $1 AND extension = $2
             UNION ALL SELECT 'queue', name FROM cc_queues WHERE tenant = $1 AND extension = $2
             UNION ALL SELECT 'menu', name FROM ivr_menus WHERE tenant = $1 AND extension = $2
             UNION ALL SELECT 'group', name FROM ring_groups WHERE tenant = $1 AND extension = $2",
        )
        .bind(tenant)
        .bind(name)
        .fetch_all(&mut **tx)
        .await?;
        for row in taken {
            let (kind, owner): (String, String) = (row.try_get(0)?, row.try_get(1)?);
            if (kind.as_str(), owner.as_str()) != except {
                return Err(InvalidValue::NameTaken(name.to_owned()).into());
            }
        }
        Ok(())
    }
}
