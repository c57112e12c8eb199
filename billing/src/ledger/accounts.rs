//! Accounts: opening one, balances, top-ups (once per reference), prepaid authorisation, and
//! the list of balance movements.

use super::micros::{from_micros, now_us, to_micros};
use super::{Account, Ledger, LedgerError};
use crate::plan::{Authorization, NoCharge};
use crate::stored::stored_text;
use rust_decimal::Decimal;
use sqlx::Row;

/// An account's money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Balance {
    /// The balance.
    pub balance: Decimal,
    /// How far below zero it may go.
    pub credit_limit: Decimal,
    /// Held for prepaid calls in progress (their open holds).
    pub held: Decimal,
}

impl Balance {
    /// What a new prepaid call may spend: balance plus credit limit, minus what calls in
    /// progress hold.
    ///
    /// ```
    /// use billing::{Balance, Decimal};
    /// let money = Balance { balance: Decimal::TEN, credit_limit: Decimal::ONE, held: Decimal::TWO };
    /// assert_eq!(money.available(), Decimal::from(9));
    /// ```
    pub fn available(&self) -> Decimal {
        self.balance + self.credit_limit - self.held
    }

    /// The live balance: the balance minus what calls in progress hold.
    ///
    /// ```
    /// use billing::{Balance, Decimal};
    /// let money = Balance { balance: Decimal::TEN, credit_limit: Decimal::ONE, held: Decimal::TWO };
    /// assert_eq!(money.live(), Decimal::from(8));
    /// ```
    pub fn live(&self) -> Decimal {
        self.balance - self.held
    }
}

stored_text! {
    /// What moved a balance, as the ledger stores it (`transactions.kind`).
    ///
    /// ```
    /// use billing::TransactionKind;
    /// assert_eq!(TransactionKind::TopUp.as_str(), "topup");
    /// assert_eq!("charge".parse(), Ok(TransactionKind::Charge));
    /// assert_eq!(serde_json::to_string(&TransactionKind::TopUp).unwrap(), r#""topup""#);
    /// assert!("top-up".parse::<TransactionKind>().is_err());
    /// ```
    pub enum TransactionKind("transaction kind") {
        /// A recorded CDR's charge (a negative amount). PostgreSQL's unique index on
        /// `transactions (cdr_id)` allows one per CDR.
        Charge = "charge",
        /// Money added by [`Ledger::top_up`], once per reference: PostgreSQL's partial unique
        /// index `transactions_topup_reference` names this text in its `WHERE kind = 'topup'`.
        TopUp = "topup",
    }
}

/// An account's plan and currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    /// The rate plan's id.
    pub plan: String,
    /// The ISO currency code (the plan's when the account was opened).
    pub currency: String,
}

/// A balance movement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// Row id (cursor).
    pub id: i64,
    /// What moved the balance.
    pub kind: TransactionKind,
    /// Signed amount (charges negative).
    pub amount: Decimal,
    /// Balance right after.
    pub balance_after: Decimal,
    /// The top-up reference, or `uuid:leg` of the charged CDR.
    pub reference: Option<String>,
}

impl Ledger {
    /// Opens an account for a tenant on a plan (its currency is the plan's).
    pub async fn open_account(
        &self,
        tenant: &str,
        plan: &str,
        credit_limit: Decimal,
    ) -> Result<(), LedgerError> {
        let currency = self.plans_with(plan).await?[plan].currency();
        sqlx::query(
            "INSERT INTO accounts (tenant, currency, rate_plan, balance_micros, credit_limit_micros)
             VALUES ($1, $2, $3, 0, $4)
             ON CONFLICT (tenant) DO UPDATE SET rate_plan = $3, credit_limit_micros = $4",
        )
        .bind(tenant)
        .bind(currency.code())
        .bind(plan)
        .bind(to_micros(credit_limit)?)
        .execute(&self.pool)
        .await?;
        self.accounts
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                tenant.to_owned(),
                Account {
                    plan: plan.to_owned(),
                },
            );
        Ok(())
    }

    /// Adds money to an account, once per `reference`: a retried top-up (same reference, same
    /// amount) changes nothing; the same reference with another amount is
    /// [`LedgerError::ReferenceConflict`]. An amount with more decimals than the account's
    /// currency is [`LedgerError::Precision`].
    pub async fn top_up(
        &self,
        tenant: &str,
        amount: Decimal,
        reference: &str,
    ) -> Result<Balance, LedgerError> {
        let (plan, plans) = self.tenant_plan(tenant).await?;
        let currency = plans[&plan].currency();
        if amount.normalize().scale() > currency.decimals() {
            return Err(LedgerError::Precision {
                amount,
                currency: currency.code().to_owned(),
                decimals: currency.decimals(),
            });
        }
        let micros = to_micros(amount)?;
        let mut connection = self.pool.acquire().await?;
        let mut tx = self.begin_without_flush(&mut connection).await?;
        // The balance update comes first: it locks the account row, so concurrent top-ups of one
        // tenant are serialised and the check below cannot race with another.
        let after: i64 = sqlx::query(
            "UPDATE accounts SET balance_micros = balance_micros + $1 WHERE tenant = $2 RETURNING balance_micros",
        )
        .bind(micros)
        .bind(tenant)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| LedgerError::UnknownTenant(tenant.to_owned()))?
        .try_get(0)?;
        // The kind is written into the text, not bound: PostgreSQL then matches the condition of
        // the partial index on top-up references whatever plan it caches for the statement.
        let exists_sql = format!(
            "SELECT amount_micros FROM transactions WHERE tenant = $1 AND kind = '{}' AND reference = $2",
            TransactionKind::TopUp.as_str()
        );
        let exists = sqlx::query(&exists_sql)
            .bind(tenant)
            .bind(reference)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = exists {
            tx.rollback().await?;
            // The first top-up may be another request's commit that is not on disk yet.
            self.wait_for_disk(&mut connection).await?;
            let earlier: i64 = row.try_get(0)?;
            if earlier != micros {
                return Err(LedgerError::ReferenceConflict {
                    reference: reference.to_owned(),
                    amount: from_micros(earlier),
                });
            }
            // SQLite's pool has one connection: the balance needs it.
            drop(connection);
            return self.balance(tenant).await;
        }
        // The unique index on top-up references is the backstop: a conflict fails the whole
        // transaction, balance update included.
        sqlx::query(
            "INSERT INTO transactions (tenant, kind, amount_micros, balance_after_micros, reference, created_at_us)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(tenant)
        .bind(TransactionKind::TopUp.as_str())
        .bind(micros)
        .bind(after)
        .bind(reference)
        .bind(now_us())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.money_changed(tenant);
        self.wait_for_disk(&mut connection).await?;
        drop(connection);
        self.balance(tenant).await
    }

    /// The tenant's account: its rate plan and currency (`None`: it has none).
    pub async fn account(&self, tenant: &str) -> Result<Option<AccountInfo>, LedgerError> {
        let row = sqlx::query("SELECT rate_plan, currency FROM accounts WHERE tenant = $1")
            .bind(tenant)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(AccountInfo {
                plan: row.try_get(0)?,
                currency: row.try_get(1)?,
            })
        })
        .transpose()
    }

    /// Every stored rate plan's id, currency and decimals, by id.
    pub async fn plan_ids(&self) -> Result<Vec<(String, String, u32)>, LedgerError> {
        let rows = sqlx::query("SELECT id, currency, decimals FROM rate_plans ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get(0)?,
                    row.try_get(1)?,
                    u32::try_from(row.try_get::<i32, _>(2)?).unwrap_or(0),
                ))
            })
            .collect()
    }

    /// An account's balance, credit limit and what its calls in progress hold (one row,
    /// so the three agree).
    pub async fn balance(&self, tenant: &str) -> Result<Balance, LedgerError> {
        let row = sqlx::query(
            "SELECT balance_micros, credit_limit_micros, held_micros FROM accounts WHERE tenant = $1",
        )
        .bind(tenant)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| LedgerError::UnknownTenant(tenant.to_owned()))?;
        Ok(Balance {
            balance: from_micros(row.try_get(0)?),
            credit_limit: from_micros(row.try_get(1)?),
            held: from_micros(row.try_get(2)?),
        })
    }

    /// The longest call what the tenant may spend pays for ([`Balance::available`]: open holds
    /// deducted), to `destination` now (`at`, Unix s). Nothing is held: prepaid calls take
    /// [`Ledger::reserve`].
    pub async fn authorize(
        &self,
        tenant: &str,
        destination: &str,
        at: i64,
    ) -> Result<Result<Authorization, NoCharge>, LedgerError> {
        let (plan, plans) = self.tenant_plan(tenant).await?;
        let plans = self.in_force(plans, at);
        let available = self.balance(tenant).await?.available();
        Ok(plans[&plan].authorize_with(&plans, destination, at, available))
    }

    /// A tenant's balance movements, oldest first, after row `after`, at most `limit`.
    pub async fn transactions(
        &self,
        tenant: &str,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Transaction>, LedgerError> {
        let rows = sqlx::query(
            "SELECT id, kind, amount_micros, balance_after_micros, reference FROM transactions
             WHERE tenant = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(tenant)
        .bind(after.unwrap_or(0))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Transaction {
                    id: row.try_get(0)?,
                    kind: row.try_get::<String, _>(1)?.parse()?,
                    amount: from_micros(row.try_get(2)?),
                    balance_after: from_micros(row.try_get(3)?),
                    reference: row.try_get(4)?,
                })
            })
            .collect()
    }
}
