//! Rate plans as stored, and the ledger's caches: built plans (a snapshot replaced whole on
//! change) and each tenant's plan.

use super::{Account, Ledger, LedgerError, Plans};
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
    /// Stores (or replaces) a rate plan after checking that it parses.
    pub async fn save_plan(&self, record: &PlanRecord) -> Result<(), LedgerError> {
        let plan = record.build()?;
        sqlx::query(
            "INSERT INTO rate_plans (id, currency, decimals, rounding, utc_offset_minutes, fallback, rates_csv)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (id) DO UPDATE SET currency = $2, decimals = $3, rounding = $4,
                 utc_offset_minutes = $5, fallback = $6, rates_csv = $7",
        )
        .bind(&record.id)
        .bind(&record.currency)
        .bind(record.decimals as i32)
        .bind(record.rounding.as_str())
        .bind(record.utc_offset_minutes)
        .bind(record.fallback.as_deref())
        .bind(&record.rates_csv)
        .execute(&self.pool)
        .await?;
        let mut plans = self.plans.write().unwrap_or_else(|p| p.into_inner());
        let mut updated = Plans::clone(&plans);
        updated.insert(record.id.clone(), plan);
        *plans = Arc::new(updated);
        Ok(())
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
            plans.insert(record.id.clone(), record.build()?);
        }
        *self.plans.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(plans);
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
