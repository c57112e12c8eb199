//! Rate plans as stored, with their versions, and the ledger's caches: built plans (a
//! snapshot replaced whole on change), the versions they replaced, and each tenant's plan.
//! A call is rated by the version in force when it was answered.

use super::micros::now_us;
use super::{Account, History, Ledger, LedgerError, Plans, Replaced};
use crate::money::{Currency, Rounding};
use crate::plan::{PlanError, RatePlan};
use crate::stored::UnknownText;
use sqlx::Row;
use std::collections::HashMap;
use std::sync::Arc;

/// A rate plan as stored: settings and its rates as CSV (see [`RatePlan::from_csv`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRecord {
    /// Plan id.
    pub id: String,
    /// ISO currency code.
    pub currency: String,
    /// Decimals of charges (at most 6).
    pub decimals: u32,
    /// Rounding mode.
    pub rounding: Rounding,
    /// Offset from UTC for periods.
    pub utc_offset_minutes: i32,
    /// Fallback plan id.
    pub fallback: Option<String>,
    /// The rate table.
    pub rates_csv: String,
}

impl PlanRecord {
    pub(super) fn build(&self) -> Result<RatePlan, LedgerError> {
        let currency = Currency::new(&self.currency, self.decimals)
            .filter(|_| self.decimals <= 6)
            .ok_or_else(|| {
                LedgerError::Plan(PlanError::BadRow {
                    line: 0,
                    reason: format!("currency {} with {} decimals", self.currency, self.decimals),
                })
            })?;
        let mut plan = RatePlan::from_csv(
            self.id.clone(),
            currency,
            self.rounding,
            self.rates_csv.as_bytes(),
        )?
        .with_utc_offset_minutes(self.utc_offset_minutes);
        if let Some(fallback) = &self.fallback {
            plan = plan.with_fallback(fallback.clone());
        }
        Ok(plan)
    }
}

/// A `rate_plans` row (`id, currency, decimals, rounding, utc_offset_minutes, fallback,
/// rates_csv`).
fn record_of(row: &sqlx::any::AnyRow) -> Result<PlanRecord, LedgerError> {
    let rounding: String = row.try_get(3)?;
    Ok(PlanRecord {
        id: row.try_get(0)?,
        currency: row.try_get(1)?,
        decimals: row.try_get::<i32, _>(2)? as u32,
        rounding: Rounding::parse(&rounding).ok_or(UnknownText {
            what: "rounding",
            text: rounding,
        })?,
        utc_offset_minutes: row.try_get(4)?,
        fallback: row.try_get(5)?,
        rates_csv: row.try_get(6)?,
    })
}

impl Ledger {
    /// Stores a rate plan after checking that it parses, in force from now on: calls
    /// answered before keep the version they were answered under (see
    /// [`Ledger::save_plan_from`]).
    pub async fn save_plan(&self, record: &PlanRecord) -> Result<(), LedgerError> {
        self.save_plan_from(record, now_us() / 1_000_000).await
    }

    /// Stores a rate plan after checking that it parses, in force from `valid_from` (Unix
    /// seconds) on. The version it replaces stays in force for calls answered before then; a
    /// plan's first version is in force for any call before it too. A new version starts now
    /// or later, and not before the one in force ([`LedgerError::VersionOrder`]): what calls
    /// were rated by never changes. A version scheduled and not yet in force is replaced (or
    /// moved) by the next import; the same content from the same time changes nothing.
    ///
    /// ```no_run
    /// # async fn demo(ledger: billing::Ledger, record: billing::PlanRecord) -> Result<(), billing::LedgerError> {
    /// // New rates from 1 January 2027, 00:00 UTC: calls answered before are rated as before.
    /// ledger.save_plan_from(&record, 1_798_761_600).await?;
    /// # Ok(()) }
    /// ```
    pub async fn save_plan_from(
        &self,
        record: &PlanRecord,
        valid_from: i64,
    ) -> Result<(), LedgerError> {
        record.build()?;
        let from_us = valid_from.saturating_mul(1_000_000);
        let now_s = now_us() / 1_000_000;
        let mut tx = self.pool.begin().await?;
        // The plan's row is locked first (a no-op write: PostgreSQL locks the row, SQLite
        // takes the write lock), so two imports of one plan run one after the other.
        sqlx::query("UPDATE rate_plans SET id = id WHERE id = $1")
            .bind(&record.id)
            .execute(&mut *tx)
            .await?;
        let stored = sqlx::query(
            "SELECT id, currency, decimals, rounding, utc_offset_minutes, fallback, rates_csv, valid_from_us
             FROM rate_plans WHERE id = $1",
        )
        .bind(&record.id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = &stored {
            let current = record_of(row)?;
            let current_from: i64 = row.try_get(7)?;
            if &current == record && from_us == current_from {
                tx.rollback().await?;
                return Ok(());
            }
            // What calls were rated by stays as it was: a new version starts now or later,
            // and after the one in force.
            if valid_from < now_s || (from_us < current_from && current_from <= now_s * 1_000_000) {
                return Err(LedgerError::VersionOrder {
                    plan: record.id.clone(),
                    in_force_from: (current_from / 1_000_000).max(now_s),
                });
            }
            // Spans that would start at or after the new start are empty (versions replaced
            // within the second they started): gone, so the spans never overlap.
            sqlx::query("DELETE FROM rate_plan_versions WHERE plan = $1 AND valid_from_us >= $2")
                .bind(&current.id)
                .bind(from_us.min(current_from))
                .execute(&mut *tx)
                .await?;
            if current_from > now_s * 1_000_000 {
                // A version scheduled and not yet in force is replaced (or moved): the one
                // before it lasts until the new start.
                sqlx::query(
                    "UPDATE rate_plan_versions SET valid_until_us = $3 WHERE plan = $1 AND valid_until_us = $2",
                )
                .bind(&current.id)
                .bind(current_from)
                .bind(from_us)
                .execute(&mut *tx)
                .await?;
            } else if from_us > current_from {
                // The version in force until now is kept for the calls it rated.
                sqlx::query(
                    "INSERT INTO rate_plan_versions (plan, valid_from_us, valid_until_us, currency, decimals, rounding, utc_offset_minutes, fallback, rates_csv)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&current.id)
                .bind(current_from)
                .bind(from_us)
                .bind(&current.currency)
                .bind(current.decimals as i32)
                .bind(current.rounding.as_str())
                .bind(current.utc_offset_minutes)
                .bind(current.fallback.as_deref())
                .bind(&current.rates_csv)
                .execute(&mut *tx)
                .await?;
            }
        }
        sqlx::query(
            "INSERT INTO rate_plans (id, currency, decimals, rounding, utc_offset_minutes, fallback, rates_csv, valid_from_us)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (id) DO UPDATE SET currency = $2, decimals = $3, rounding = $4,
                 utc_offset_minutes = $5, fallback = $6, rates_csv = $7, valid_from_us = $8",
        )
        .bind(&record.id)
        .bind(&record.currency)
        .bind(record.decimals as i32)
        .bind(record.rounding.as_str())
        .bind(record.utc_offset_minutes)
        .bind(record.fallback.as_deref())
        .bind(&record.rates_csv)
        // A first version is in force from the beginning.
        .bind(if stored.is_some() { from_us } else { 0 })
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.load_plans().await
    }

    /// The plans as in force at `at` (Unix seconds): `plans` itself unless some plan was
    /// replaced since, else a copy with those plans' versions of then.
    pub(super) fn in_force(&self, plans: Arc<Plans>, at: i64) -> Arc<Plans> {
        let history = self
            .history
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if at >= history.last_until {
            return plans;
        }
        let then: Vec<(&String, &Arc<crate::plan::RatePlan>)> = history
            .by_plan
            .iter()
            .filter_map(|(id, versions)| version_at(versions, at).map(|plan| (id, plan)))
            .collect();
        if then.is_empty() {
            return plans;
        }
        let mut resolved = Plans::clone(&plans);
        for (id, plan) in then {
            resolved.insert(id.clone(), plan.clone());
        }
        Arc::new(resolved)
    }

    /// A stored plan as it was saved, `None` if there is none.
    pub async fn plan_record(&self, id: &str) -> Result<Option<PlanRecord>, LedgerError> {
        let row = sqlx::query("SELECT id, currency, decimals, rounding, utc_offset_minutes, fallback, rates_csv FROM rate_plans WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(record_of).transpose()
    }

    /// How many accounts are charged by plan `id`.
    pub async fn accounts_on_plan(&self, id: &str) -> Result<i64, LedgerError> {
        Ok(
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM accounts WHERE rate_plan = $1")
                .bind(id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Reloads every plan and account from the database (after another process changed them).
    pub async fn reload(&self) -> Result<(), LedgerError> {
        self.load_plans().await?;
        self.accounts
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        Ok(())
    }

    fn snapshot(&self) -> Arc<Plans> {
        self.plans.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The current plans, loading them if `id` is not among them.
    pub(super) async fn plans_with(&self, id: &str) -> Result<Arc<Plans>, LedgerError> {
        let plans = self.snapshot();
        if plans.contains_key(id) {
            return Ok(plans);
        }
        self.load_plans().await?;
        let plans = self.snapshot();
        if plans.contains_key(id) {
            Ok(plans)
        } else {
            Err(LedgerError::UnknownPlan(id.to_owned()))
        }
    }

    async fn load_plans(&self) -> Result<(), LedgerError> {
        let rows = sqlx::query("SELECT id, currency, decimals, rounding, utc_offset_minutes, fallback, rates_csv FROM rate_plans")
            .fetch_all(&self.pool)
            .await?;
        let mut plans = HashMap::new();
        for row in rows {
            let record = record_of(&row)?;
            plans.insert(record.id.clone(), Arc::new(record.build()?));
        }
        let rows = sqlx::query(
            "SELECT plan, currency, decimals, rounding, utc_offset_minutes, fallback, rates_csv, valid_from_us, valid_until_us
             FROM rate_plan_versions ORDER BY plan, valid_from_us",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut history = History::default();
        for row in rows {
            let record = record_of(&row)?;
            let replaced = Replaced {
                from: row.try_get::<i64, _>(7)? / 1_000_000,
                until: row.try_get::<i64, _>(8)? / 1_000_000,
                plan: Arc::new(record.build()?),
            };
            history.last_until = history.last_until.max(replaced.until);
            history.by_plan.entry(record.id).or_default().push(replaced);
        }
        // Both at once: a reader never sees a version without the history it belongs to.
        let mut current = self.plans.write().unwrap_or_else(|p| p.into_inner());
        *self.history.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(history);
        *current = Arc::new(plans);
        Ok(())
    }

    /// The tenant's plan id, and all plans (for fallbacks).
    pub(super) async fn tenant_plan(
        &self,
        tenant: &str,
    ) -> Result<(String, Arc<Plans>), LedgerError> {
        let cached = self
            .accounts
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(tenant)
            .cloned();
        let account = match cached {
            Some(account) => account,
            None => {
                let row = sqlx::query("SELECT rate_plan FROM accounts WHERE tenant = $1")
                    .bind(tenant)
                    .fetch_optional(&self.pool)
                    .await?
                    .ok_or_else(|| LedgerError::UnknownTenant(tenant.to_owned()))?;
                let account = Account {
                    plan: row.try_get(0)?,
                };
                self.accounts
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(tenant.to_owned(), account.clone());
                account
            }
        };
        let plans = self.plans_with(&account.plan).await?;
        Ok((account.plan, plans))
    }
}

/// The replaced version of a plan in force at `at`, if one is: the one whose span holds it,
/// or the first for a time before any (the first version is in force from the beginning).
fn version_at(versions: &[Replaced], at: i64) -> Option<&Arc<crate::plan::RatePlan>> {
    let first = versions.first()?;
    if at < first.from {
        return Some(&first.plan);
    }
    versions
        .iter()
        .find(|v| v.from <= at && at < v.until)
        .map(|v| &v.plan)
}
