//! Time-of-day routing: a tenant's schedule chooses where a DID sends a call by the time in
//! the tenant's time zone. Its rules (days of the week and a span of the day, each with a
//! route) are tried in order; when none applies, its `otherwise` route. Choosing is pure
//! ([`Schedule::choose`]); the store keeps schedules and resolves each route's destination, as
//! for any DID route.
//!
//! ```
//! use platform::inbound::DidRoute;
//! use platform::schedules::{Days, Choice, Schedule, ScheduleRule};
//!
//! let open = Choice { route: DidRoute::Queue("support".into()), destination: Some("8000".into()) };
//! let closed = Choice { route: DidRoute::Menu("closed".into()), destination: Some("7000".into()) };
//! let hours = Schedule {
//!     name: "hours".into(),
//!     rules: vec![ScheduleRule { days: Days::parse("mon-fri").unwrap(), start_minute: 9 * 60, end_minute: 17 * 60, choice: open }],
//!     otherwise: closed,
//! };
//! // Monday 23 November 2026, 10:00 in London (UTC): open; 18:30: closed.
//! assert_eq!(hours.choose(Some("Europe/London"), 1_795_428_000).route, DidRoute::Queue("support".into()));
//! assert_eq!(hours.choose(Some("Europe/London"), 1_795_458_643).route, DidRoute::Menu("closed".into()));
//! ```

use crate::identity::InvalidValue;
use crate::inbound::DidRoute;
use crate::store::{PlatformError, PlatformStore};
use chrono::{Datelike, TimeZone, Timelike};
use sqlx::Row;

/// Days of the week, Monday = bit 0 ... Sunday = bit 6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Days(u8);

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Days {
    /// Days as written: names (`mon` ... `sun`) and spans (`mon-fri`) separated by commas.
    ///
    /// ```
    /// use platform::schedules::Days;
    /// assert_eq!(Days::parse("mon-fri").unwrap().to_string(), "mon,tue,wed,thu,fri");
    /// assert_eq!(Days::parse("sat,sun").unwrap().bits(), 0b110_0000);
    /// assert!(Days::parse("").is_none() && Days::parse("fri-mon").is_none() && Days::parse("funday").is_none());
    /// ```
    pub fn parse(text: &str) -> Option<Days> {
        let day = |name: &str| DAY_NAMES.iter().position(|d| *d == name.trim());
        let mut bits = 0u8;
        for part in text.split(',') {
            match part.split_once('-') {
                Some((from, to)) => {
                    let (from, to) = (day(from)?, day(to)?);
                    if from > to {
                        return None;
                    }
                    for d in from..=to {
                        bits |= 1 << d;
                    }
                }
                None => bits |= 1 << day(part)?,
            }
        }
        (bits != 0).then_some(Days(bits))
    }

    /// The days of a stored mask (`None` for one no day or more than the week).
    pub fn from_bits(bits: i64) -> Option<Days> {
        u8::try_from(bits)
            .ok()
            .filter(|b| *b != 0 && *b < 128)
            .map(Days)
    }

    /// The mask as stored.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// Whether `weekday` (0 = Monday) is one of them.
    pub fn contains(self, weekday: u32) -> bool {
        weekday < 7 && self.0 & (1 << weekday) != 0
    }
}

impl std::fmt::Display for Days {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = (0..7)
            .filter(|d| self.contains(*d))
            .map(|d| DAY_NAMES[d as usize])
            .collect();
        f.write_str(&names.join(","))
    }
}

/// A route with where it leads in the tenant's context now (`None`: nowhere, as for a DID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The route.
    pub route: DidRoute,
    /// Its destination.
    pub destination: Option<String>,
}

/// One rule: on `days`, from `start_minute` (included) to `end_minute` (excluded) of the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleRule {
    /// Its days.
    pub days: Days,
    /// Minute of the day it starts (0 to 1439).
    pub start_minute: u16,
    /// Minute of the day it ends (1 to 1440), after its start.
    pub end_minute: u16,
    /// Where calls go meanwhile.
    pub choice: Choice,
}

/// A schedule: rules in order, and where calls go when none applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Its name.
    pub name: String,
    /// Its rules, in order.
    pub rules: Vec<ScheduleRule>,
    /// Where calls go outside every rule.
    pub otherwise: Choice,
}

/// Most rules in a schedule.
pub const RULES_MAX: usize = 32;

impl Schedule {
    /// The choice at `unix` seconds in `time_zone` (`None` or unknown: UTC): the first rule
    /// whose day and span hold, else `otherwise`.
    pub fn choose(&self, time_zone: Option<&str>, unix: i64) -> &Choice {
        let zone: chrono_tz::Tz = time_zone
            .and_then(|z| z.parse().ok())
            .unwrap_or(chrono_tz::UTC);
        let Some(now) = zone.timestamp_opt(unix, 0).single() else {
            return &self.otherwise;
        };
        let weekday = now.weekday().num_days_from_monday();
        let minute = (now.hour() * 60 + now.minute()) as u16;
        self.rules
            .iter()
            .find(|r| r.days.contains(weekday) && r.start_minute <= minute && minute < r.end_minute)
            .map_or(&self.otherwise, |r| &r.choice)
    }
}

/// "HH:MM" as a minute of the day (`24:00` is the day's end).
///
/// ```
/// use platform::schedules::minute_of;
/// assert_eq!(minute_of("09:30"), Some(570));
/// assert_eq!(minute_of("24:00"), Some(1440));
/// assert_eq!(minute_of("9:30"), None);
/// assert_eq!(minute_of("24:01"), None);
/// ```
pub fn minute_of(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && h * 60 + m <= 1440).then_some(h * 60 + m)
}

/// A schedule as it is written: rules with their routes (checked against the tenant when
/// stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleRow {
    /// Its tenant.
    pub tenant: String,
    /// Its name.
    pub name: String,
    /// (days, start minute, end minute, route), in order.
    pub rules: Vec<(Days, u16, u16, DidRoute)>,
    /// Where calls go outside every rule.
    pub otherwise: DidRoute,
}

impl PlatformStore {
    /// Adds or replaces a schedule: a name, at most [`RULES_MAX`] rules each with a span
    /// inside the day and a route of the tenant's (no schedule: schedules do not nest).
    pub async fn put_schedule(&self, row: &ScheduleRow) -> Result<(), PlatformError> {
        crate::store::check_call_center_names(&[&row.name])?;
        self.refuse_case_twin("schedules", &row.tenant, &row.name)
            .await?;
        self.refuse_over_limit("schedules", &row.tenant, &row.name)
            .await?;
        if row.rules.len() > RULES_MAX {
            return Err(InvalidValue::Rules.into());
        }
        for (_, start, end, route) in &row.rules {
            if start >= end || *end > 1440 {
                return Err(InvalidValue::Rules.into());
            }
            self.check_scheduled_route(&row.tenant, route).await?;
        }
        self.check_scheduled_route(&row.tenant, &row.otherwise)
            .await?;
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM schedule_rules WHERE tenant = $1 AND schedule = $2")
            .bind(&row.tenant)
            .bind(&row.name)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO schedules (tenant, name, otherwise_route, otherwise_target) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant, name) DO UPDATE SET otherwise_route = excluded.otherwise_route,
                 otherwise_target = excluded.otherwise_target",
        )
        .bind(&row.tenant)
        .bind(&row.name)
        .bind(row.otherwise.kind())
        .bind(row.otherwise.target())
        .execute(&mut *tx)
        .await?;
        for (position, (days, start, end, route)) in row.rules.iter().enumerate() {
            sqlx::query(
                "INSERT INTO schedule_rules (tenant, schedule, position, days, start_minute, end_minute, route, target)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&row.tenant)
            .bind(&row.name)
            .bind(i32::try_from(position).unwrap_or(i32::MAX))
            .bind(i32::from(days.bits()))
            .bind(i32::from(*start))
            .bind(i32::from(*end))
            .bind(route.kind())
            .bind(route.target())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.changed();
        Ok(())
    }

    async fn check_scheduled_route(
        &self,
        tenant: &str,
        route: &DidRoute,
    ) -> Result<(), PlatformError> {
        if matches!(route, DidRoute::Schedule(_)) {
            return Err(InvalidValue::Rules.into());
        }
        self.check_route(tenant, route).await
    }

    /// `tenant`'s schedules as written.
    pub async fn schedules(&self, tenant: &str) -> Result<Vec<ScheduleRow>, PlatformError> {
        self.schedules_where(tenant, None).await
    }

    async fn schedules_where(
        &self,
        tenant: &str,
        name: Option<&str>,
    ) -> Result<Vec<ScheduleRow>, PlatformError> {
        let (only, only_rules) = match name {
            Some(_) => ("AND name = $2", "AND schedule = $2"),
            None => ("", ""),
        };
        let mut rows: Vec<ScheduleRow> = Vec::new();
        let schedules_sql = format!(
            "SELECT name, otherwise_route, otherwise_target FROM schedules WHERE tenant = $1 {only} ORDER BY name"
        );
        let mut query = sqlx::query(&schedules_sql).bind(tenant);
        if let Some(name) = name {
            query = query.bind(name);
        }
        for r in query.fetch_all(self.pool()).await? {
            let (kind, target): (String, String) = (r.try_get(1)?, r.try_get(2)?);
            let Some(otherwise) = DidRoute::from_parts(&kind, &target) else {
                continue;
            };
            rows.push(ScheduleRow {
                tenant: tenant.to_owned(),
                name: r.try_get(0)?,
                rules: Vec::new(),
                otherwise,
            });
        }
        let rules_sql = format!(
            "SELECT schedule, days, start_minute, end_minute, route, target FROM schedule_rules
             WHERE tenant = $1 {only_rules} ORDER BY schedule, position"
        );
        let mut query = sqlx::query(&rules_sql).bind(tenant);
        if let Some(name) = name {
            query = query.bind(name);
        }
        for r in query.fetch_all(self.pool()).await? {
            let schedule: String = r.try_get(0)?;
            let days = Days::from_bits(i64::from(r.try_get::<i32, _>(1)?));
            let span = (
                u16::try_from(r.try_get::<i32, _>(2)?).ok(),
                u16::try_from(r.try_get::<i32, _>(3)?).ok(),
            );
            let (kind, target): (String, String) = (r.try_get(4)?, r.try_get(5)?);
            let route = DidRoute::from_parts(&kind, &target);
            if let (Some(days), (Some(start), Some(end)), Some(route)) = (days, span, route)
                && let Some(row) = rows.iter_mut().find(|s| s.name == schedule)
            {
                row.rules.push((days, start, end, route));
            }
        }
        Ok(rows)
    }

    /// A schedule of `tenant` with each route's destination now (for a DID's calls).
    pub async fn schedule(
        &self,
        tenant: &str,
        name: &str,
    ) -> Result<Option<Schedule>, PlatformError> {
        let Some(row) = self.schedules_where(tenant, Some(name)).await?.pop() else {
            return Ok(None);
        };
        let mut rules = Vec::with_capacity(row.rules.len());
        for (days, start_minute, end_minute, route) in row.rules {
            let destination = self.destination(tenant, &route).await?;
            rules.push(ScheduleRule {
                days,
                start_minute,
                end_minute,
                choice: Choice { route, destination },
            });
        }
        let destination = self.destination(tenant, &row.otherwise).await?;
        Ok(Some(Schedule {
            name: row.name,
            rules,
            otherwise: Choice {
                route: row.otherwise,
                destination,
            },
        }))
    }

    /// Removes a schedule; refused while a DID routes to it. `false` if there is none.
    pub async fn delete_schedule(&self, tenant: &str, name: &str) -> Result<bool, PlatformError> {
        self.refuse_in_use(tenant, "schedule", name).await?;
        self.delete_where(
            &[
                "DELETE FROM schedule_rules WHERE tenant = $1 AND schedule = $2",
                "DELETE FROM schedules WHERE tenant = $1 AND name = $2",
            ],
            tenant,
            name,
        )
        .await
    }
}
