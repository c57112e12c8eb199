//! The ledger: accounts and balances, rate plans, CDRs, charges, transactions and recording
//! metadata, in SQLite (embedded) or PostgreSQL through sqlx.
//!
//! [`Ledger::record`] stores a CDR, its charge, the transaction and the new balance in one
//! database transaction, idempotent on (call UUID, leg): recording the same CDR again returns
//! the first outcome and changes nothing, however many processes race to record it.
//! [`Ledger::record_batch`] does the same for many CDRs in one transaction (group commit).
//!
//! Money is stored as integer micro-units (10⁻⁶ of the currency): exact, and summed in SQL.

use crate::cdr::{Cdr, CdrError};
use crate::money::{Currency, Rounding};
use crate::plan::{Authorization, NoCharge, PlanError, RatePlan};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Which database the ledger is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (embedded; one writer).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// Why the ledger refused or failed. `Database` errors are worth retrying (the gateway answers
/// 5xx so FreeSWITCH retries); the others are about the input, which nothing stored.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The database failed or is unreachable.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The URL is neither `sqlite:` nor `postgres:`.
    #[error("unsupported database URL {0:?}")]
    UnsupportedUrl(String),
    /// The CDR names no tenant.
    #[error("CDR {0} has no tenant")]
    NoTenant(String),
    /// No account exists for the tenant.
    #[error("unknown tenant {0:?}")]
    UnknownTenant(String),
    /// No such rate plan.
    #[error("unknown rate plan {0:?}")]
    UnknownPlan(String),
    /// A rate plan is invalid.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A CDR is invalid.
    #[error(transparent)]
    Cdr(#[from] CdrError),
    /// An amount has more decimals than micro-units carry, or is out of range.
    #[error("amount {0} cannot be stored exactly")]
    Amount(Decimal),
    /// A stored value is not what the ledger wrote.
    #[error("corrupt ledger data: {0}")]
    Corrupt(String),
}

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
    fn build(&self) -> Result<RatePlan, LedgerError> {
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

/// What recording a CDR did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Charged; the balance after the charge.
    Charged {
        /// What the call cost.
        amount: Decimal,
        /// Seconds billed.
        billed_seconds: u64,
        /// The account's balance right after.
        balance_after: Decimal,
    },
    /// Stored without charge, for this reason (`not answered`, `free destination ...`,
    /// `no route for ...`).
    NotCharged(String),
}

/// The result of recording one CDR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The CDR's row id.
    pub cdr_id: i64,
    /// What was done (the first time).
    pub outcome: Outcome,
    /// `true` if the CDR had been recorded before: nothing changed this time.
    pub duplicate: bool,
}

/// An account's money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Balance {
    /// The balance.
    pub balance: Decimal,
    /// How far below zero it may go.
    pub credit_limit: Decimal,
}

impl Balance {
    /// What a prepaid call may spend.
    pub fn available(&self) -> Decimal {
        self.balance + self.credit_limit
    }
}

/// A stored CDR, for queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdrRecord {
    /// Row id (also the pagination cursor).
    pub id: i64,
    /// Call UUID.
    pub uuid: String,
    /// `a` or `b`.
    pub leg: String,
    /// Channel creation, Unix microseconds.
    pub start_us: Option<i64>,
    /// Seconds from answer to hangup.
    pub billsec: i64,
    /// Number dialled.
    pub destination: Option<String>,
    /// Stored outcome (`charged`, `not_answered`, `free`, `no_route`).
    pub outcome: String,
    /// Charged amount, if any.
    pub amount: Option<Decimal>,
}

/// A balance movement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// Row id (cursor).
    pub id: i64,
    /// `charge` or `topup`.
    pub kind: String,
    /// Signed amount (charges negative).
    pub amount: Decimal,
    /// Balance right after.
    pub balance_after: Decimal,
    /// The top-up reference, or `uuid:leg` of the charged CDR.
    pub reference: Option<String>,
}

/// A recording stored in the object store, linked to its call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingRecord {
    /// The call's UUID (links to its CDRs).
    pub call_uuid: String,
    /// The tenant.
    pub tenant: String,
    /// Where it is in the object store.
    pub object_key: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Duration in milliseconds.
    pub duration_ms: i64,
    /// SHA-256 of the object, hex.
    pub sha256: String,
    /// MP3 bitrate.
    pub bitrate_kbps: i32,
}

const MICROS: i64 = 1_000_000;

fn to_micros(amount: Decimal) -> Result<i64, LedgerError> {
    let scaled = amount * Decimal::from(MICROS);
    if !scaled.fract().is_zero() {
        return Err(LedgerError::Amount(amount));
    }
    scaled.to_i64().ok_or(LedgerError::Amount(amount))
}

fn from_micros(micros: i64) -> Decimal {
    Decimal::new(micros, 6).normalize()
}

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

type Plans = HashMap<String, RatePlan>;

/// An account as the ledger caches it.
#[derive(Debug, Clone)]
struct Account {
    plan: String,
}

/// The ledger. Cheap to clone: it shares the pool and caches.
#[derive(Debug, Clone)]
pub struct Ledger {
    pool: AnyPool,
    backend: Backend,
    /// A snapshot replaced whole on change, so readers share it without copying plans.
    plans: Arc<RwLock<Arc<Plans>>>,
    accounts: Arc<RwLock<HashMap<String, Account>>>,
}

impl Ledger {
    /// Connects (`sqlite://path?mode=rwc`, `sqlite::memory:`, `postgres://...`) and migrates.
    pub async fn connect(url: &str) -> Result<Self, LedgerError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(LedgerError::UnsupportedUrl(url.to_owned()));
        };
        let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        // SQLite has one writer: one connection serialises writes without lock errors.
        let options = match backend {
            Backend::Sqlite => options.max_connections(1),
            Backend::Postgres => options.max_connections(16),
        };
        let pool = options.connect(url).await?;
        match backend {
            Backend::Sqlite => {
                sqlx::query("PRAGMA journal_mode = WAL")
                    .execute(&pool)
                    .await?;
                sqlx::query("PRAGMA foreign_keys = ON")
                    .execute(&pool)
                    .await?;
                let mut migrator = sqlx::migrate!("migrations/sqlite");
                // Other crates' tables may share the database, with migrations of their own.
                migrator.set_ignore_missing(true);
                migrator.run(&pool).await?;
            }
            Backend::Postgres => {
                let mut migrator = sqlx::migrate!("migrations/postgres");
                migrator.set_ignore_missing(true);
                migrator.run(&pool).await?;
            }
        }
        Ok(Self {
            pool,
            backend,
            plans: Arc::default(),
            accounts: Arc::default(),
        })
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for callers that store their own tables beside the ledger.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Stores (or replaces) a rate plan after checking that it parses.
    pub async fn save_plan(&self, record: &PlanRecord) -> Result<(), LedgerError> {
        let plan = record.build()?;
        let rounding = match record.rounding {
            Rounding::Up => "up",
            Rounding::HalfUp => "half-up",
            Rounding::Down => "down",
        };
        sqlx::query(
            "INSERT INTO rate_plans (id, currency, decimals, rounding, utc_offset_minutes, fallback, rates_csv)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (id) DO UPDATE SET currency = $2, decimals = $3, rounding = $4,
                 utc_offset_minutes = $5, fallback = $6, rates_csv = $7",
        )
        .bind(&record.id)
        .bind(&record.currency)
        .bind(record.decimals as i32)
        .bind(rounding)
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

    /// Adds money to an account, once per `reference` (a retried top-up changes nothing).
    pub async fn top_up(
        &self,
        tenant: &str,
        amount: Decimal,
        reference: &str,
    ) -> Result<Balance, LedgerError> {
        let micros = to_micros(amount)?;
        let mut tx = self.pool.begin().await?;
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
        let exists = sqlx::query(
            "SELECT 1 FROM transactions WHERE tenant = $1 AND kind = 'topup' AND reference = $2",
        )
        .bind(tenant)
        .bind(reference)
        .fetch_optional(&mut *tx)
        .await?;
        if exists.is_some() {
            tx.rollback().await?;
            return self.balance(tenant).await;
        }
        // The unique index on top-up references is the backstop: a conflict fails the whole
        // transaction, balance update included.
        sqlx::query(
            "INSERT INTO transactions (tenant, kind, amount_micros, balance_after_micros, reference, created_at_us)
             VALUES ($1, 'topup', $2, $3, $4, $5)",
        )
        .bind(tenant)
        .bind(micros)
        .bind(after)
        .bind(reference)
        .bind(now_us())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.balance(tenant).await
    }

    /// An account's balance and credit limit.
    pub async fn balance(&self, tenant: &str) -> Result<Balance, LedgerError> {
        let row = sqlx::query(
            "SELECT balance_micros, credit_limit_micros FROM accounts WHERE tenant = $1",
        )
        .bind(tenant)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| LedgerError::UnknownTenant(tenant.to_owned()))?;
        Ok(Balance {
            balance: from_micros(row.try_get(0)?),
            credit_limit: from_micros(row.try_get(1)?),
        })
    }

    /// The longest call the tenant's balance pays for, to `destination` now (`at`, Unix s).
    pub async fn authorize(
        &self,
        tenant: &str,
        destination: &str,
        at: i64,
    ) -> Result<Result<Authorization, NoCharge>, LedgerError> {
        let (plan, plans) = self.tenant_plan(tenant).await?;
        let available = self.balance(tenant).await?.available();
        Ok(plans[&plan].authorize_with(&plans, destination, at, available))
    }

    fn snapshot(&self) -> Arc<Plans> {
        self.plans.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The current plans, loading them if `id` is not among them.
    async fn plans_with(&self, id: &str) -> Result<Arc<Plans>, LedgerError> {
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

    /// Reloads every plan and account from the database (after another process changed them).
    pub async fn reload(&self) -> Result<(), LedgerError> {
        self.load_plans().await?;
        self.accounts
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        Ok(())
    }

    async fn load_plans(&self) -> Result<(), LedgerError> {
        let rows = sqlx::query("SELECT id, currency, decimals, rounding, utc_offset_minutes, fallback, rates_csv FROM rate_plans")
            .fetch_all(&self.pool)
            .await?;
        let mut plans = HashMap::new();
        for row in rows {
            let rounding: String = row.try_get(3)?;
            let record = PlanRecord {
                id: row.try_get(0)?,
                currency: row.try_get(1)?,
                decimals: row.try_get::<i32, _>(2)? as u32,
                rounding: Rounding::parse(&rounding)
                    .ok_or_else(|| LedgerError::Corrupt(format!("rounding {rounding}")))?,
                utc_offset_minutes: row.try_get(4)?,
                fallback: row.try_get(5)?,
                rates_csv: row.try_get(6)?,
            };
            plans.insert(record.id.clone(), record.build()?);
        }
        *self.plans.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(plans);
        Ok(())
    }

    /// The tenant's plan id, and all plans (for fallbacks).
    async fn tenant_plan(&self, tenant: &str) -> Result<(String, Arc<Plans>), LedgerError> {
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

    /// Rates a CDR without touching the database: what would be stored.
    async fn prepare(&self, cdr: &Cdr) -> Result<Prepared, LedgerError> {
        let tenant = cdr
            .tenant
            .clone()
            .ok_or_else(|| LedgerError::NoTenant(cdr.uuid.clone()))?;
        let (plan, plans) = self.tenant_plan(&tenant).await?;
        let plan = &plans[&plan];
        let rated = match cdr.destination.as_deref() {
            Some(destination) => {
                plan.rate_call_with(&plans, destination, cdr.answered_at(), cdr.duration_ms())
            }
            None if cdr.answer_us.is_none() => Err(NoCharge::NotAnswered),
            None => Err(NoCharge::NoRoute {
                destination: String::new(),
            }),
        };
        let (charge, outcome) = match rated {
            Ok(charge) => (Some((to_micros(charge.amount.amount)?, charge)), "charged"),
            Err(NoCharge::NotAnswered) => (None, "not_answered"),
            Err(NoCharge::Free { .. }) => (None, "free"),
            Err(NoCharge::NoRoute { .. }) => (None, "no_route"),
        };
        let outcome = outcome.to_owned();
        Ok(Prepared {
            tenant,
            charge,
            outcome,
        })
    }

    /// Stores a CDR with its charge, transaction and new balance, in one database transaction.
    /// Recording the same (uuid, leg) again returns the first outcome with `duplicate: true` and
    /// changes nothing. An input error stores nothing.
    pub async fn record(&self, cdr: &Cdr) -> Result<Recorded, LedgerError> {
        let mut results = self.record_batch(std::slice::from_ref(cdr)).await?;
        results
            .pop()
            .unwrap_or_else(|| Err(LedgerError::Corrupt("CDR left without outcome".into())))
    }

    /// Records many CDRs in one database transaction (group commit), with an outcome per CDR:
    /// a CDR with bad input gets its error and the others are still recorded. Each table is
    /// written with one statement per chunk of CDRs rather than one per CDR. A database error
    /// fails the whole batch (nothing is stored, so all may be retried).
    pub async fn record_batch(
        &self,
        cdrs: &[Cdr],
    ) -> Result<Vec<Result<Recorded, LedgerError>>, LedgerError> {
        let mut results: Vec<Option<Result<Recorded, LedgerError>>> =
            cdrs.iter().map(|_| None).collect();
        // The first occurrence of each (uuid, leg) is written; later ones repeat its outcome.
        let mut first_of: HashMap<(&str, &str), usize> = HashMap::new();
        let mut repeats = Vec::new();
        let mut batch = Vec::new();
        for (index, cdr) in cdrs.iter().enumerate() {
            match self.prepare(cdr).await {
                Err(error) => results[index] = Some(Err(error)),
                Ok(prepared) => match first_of.entry((&cdr.uuid, cdr.leg.as_str())) {
                    std::collections::hash_map::Entry::Occupied(first) => {
                        repeats.push((index, *first.get()))
                    }
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert(index);
                        batch.push((index, cdr, prepared));
                    }
                },
            }
        }
        let mut tx = self.pool.begin().await?;
        let written = store_batch(&mut tx, &batch).await?;
        for (index, cdr, _) in &batch {
            let recorded = match written.get(index) {
                Some(recorded) => recorded.clone(),
                None => first_outcome(&mut tx, &cdr.uuid, cdr.leg.as_str()).await?,
            };
            results[*index] = Some(Ok(recorded));
        }
        tx.commit().await?;
        for (index, first) in repeats {
            let repeated = match &results[first] {
                Some(Ok(recorded)) => Ok(Recorded {
                    duplicate: true,
                    ..recorded.clone()
                }),
                _ => Err(LedgerError::Corrupt(
                    "a repeated CDR lost its first outcome".into(),
                )),
            };
            results[index] = Some(repeated);
        }
        Ok(results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| Err(LedgerError::Corrupt("CDR left without outcome".into())))
            })
            .collect())
    }

    /// Stores a recording's metadata, once per object key (a retried job changes nothing);
    /// returns `true` when it was new.
    pub async fn save_recording(&self, recording: &RecordingRecord) -> Result<bool, LedgerError> {
        let done = sqlx::query(
            "INSERT INTO recordings (call_uuid, tenant, object_key, size_bytes, duration_ms, sha256, bitrate_kbps, created_at_us)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (object_key) DO NOTHING",
        )
        .bind(&recording.call_uuid)
        .bind(&recording.tenant)
        .bind(&recording.object_key)
        .bind(recording.size_bytes)
        .bind(recording.duration_ms)
        .bind(&recording.sha256)
        .bind(recording.bitrate_kbps)
        .bind(now_us())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The recordings of a call.
    pub async fn recordings(&self, call_uuid: &str) -> Result<Vec<RecordingRecord>, LedgerError> {
        let rows = sqlx::query(
            "SELECT call_uuid, tenant, object_key, size_bytes, duration_ms, sha256, bitrate_kbps
             FROM recordings WHERE call_uuid = $1 ORDER BY id",
        )
        .bind(call_uuid)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RecordingRecord {
                    call_uuid: row.try_get(0)?,
                    tenant: row.try_get(1)?,
                    object_key: row.try_get(2)?,
                    size_bytes: row.try_get(3)?,
                    duration_ms: row.try_get(4)?,
                    sha256: row.try_get(5)?,
                    bitrate_kbps: row.try_get(6)?,
                })
            })
            .collect()
    }

    /// A tenant's CDRs that started in `[from_us, to_us)`, oldest first, after the row `after`
    /// (the last id of the previous page), at most `limit`.
    pub async fn cdrs(
        &self,
        tenant: &str,
        from_us: i64,
        to_us: i64,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<CdrRecord>, LedgerError> {
        let rows = sqlx::query(
            "SELECT c.id, c.uuid, c.leg, c.start_us, c.billsec, c.destination, c.outcome, g.amount_micros
             FROM cdrs c LEFT JOIN charges g ON g.cdr_id = c.id
             WHERE c.tenant = $1 AND c.start_us >= $2 AND c.start_us < $3 AND c.id > $4
             ORDER BY c.id LIMIT $5",
        )
        .bind(tenant)
        .bind(from_us)
        .bind(to_us)
        .bind(after.unwrap_or(0))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(CdrRecord {
                    id: row.try_get(0)?,
                    uuid: row.try_get(1)?,
                    leg: row.try_get(2)?,
                    start_us: row.try_get(3)?,
                    billsec: row.try_get(4)?,
                    destination: row.try_get(5)?,
                    outcome: row.try_get(6)?,
                    amount: row.try_get::<Option<i64>, _>(7)?.map(from_micros),
                })
            })
            .collect()
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
                    kind: row.try_get(1)?,
                    amount: from_micros(row.try_get(2)?),
                    balance_after: from_micros(row.try_get(3)?),
                    reference: row.try_get(4)?,
                })
            })
            .collect()
    }
}

/// A CDR rated and ready to store.
struct Prepared {
    tenant: String,
    /// Amount in micro-units and the charge, when charged.
    charge: Option<(i64, crate::plan::Charge)>,
    /// `charged`, `not_answered`, `free` or `no_route`.
    outcome: String,
}

/// Rows per multi-row statement: well within both databases' limits on bound parameters.
const ROWS_PER_STATEMENT: usize = 500;

/// `($1, $2, ...), ($n+1, ...)`: placeholders for `rows` rows of `columns` values.
fn placeholders(rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(row * columns + column + 1).to_string());
        }
        sql.push(')');
    }
    sql
}

/// Writes new CDRs, their charges, the balances and the transactions with a few multi-row
/// statements. Returns what was recorded, by CDR index; CDRs recorded before are absent.
async fn store_batch(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    batch: &[(usize, &Cdr, Prepared)],
) -> Result<HashMap<usize, Recorded>, LedgerError> {
    let recorded_at = now_us();
    let mut ids: HashMap<(String, String), i64> = HashMap::new();
    for chunk in batch.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO cdrs (uuid, leg, tenant, switchname, start_us, answer_us, end_us, billsec, billmsec,
                               caller, destination, hangup_cause, outcome, raw, recorded_at_us)
             VALUES {} ON CONFLICT (uuid, leg) DO NOTHING RETURNING id, uuid, leg",
            placeholders(chunk.len(), 15)
        );
        let mut query = sqlx::query(&sql);
        for (_, cdr, prepared) in chunk {
            query = query
                .bind(&cdr.uuid)
                .bind(cdr.leg.as_str())
                .bind(&prepared.tenant)
                .bind(cdr.switchname.as_deref())
                .bind(cdr.start_us)
                .bind(cdr.answer_us)
                .bind(cdr.end_us)
                .bind(cdr.billsec as i64)
                .bind(cdr.billmsec.map(|m| m as i64))
                .bind(cdr.caller_id_number.as_deref())
                .bind(cdr.destination.as_deref())
                .bind(cdr.hangup_cause.as_deref())
                .bind(&prepared.outcome)
                .bind(&cdr.raw)
                .bind(recorded_at);
        }
        for row in query.fetch_all(&mut **tx).await? {
            ids.insert((row.try_get(1)?, row.try_get(2)?), row.try_get(0)?);
        }
    }
    let new: Vec<(usize, &Cdr, &Prepared, i64)> = batch
        .iter()
        .filter_map(|(index, cdr, prepared)| {
            ids.get(&(cdr.uuid.clone(), cdr.leg.as_str().to_owned()))
                .map(|id| (*index, *cdr, prepared, *id))
        })
        .collect();
    let charged: Vec<(usize, &Cdr, &Prepared, i64, i64, &crate::plan::Charge)> = new
        .iter()
        .filter_map(|(index, cdr, prepared, id)| {
            prepared
                .charge
                .as_ref()
                .map(|(micros, charge)| (*index, *cdr, *prepared, *id, *micros, charge))
        })
        .collect();
    for chunk in charged.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO charges (cdr_id, plan, prefix, rate_per_minute, billed_seconds, amount_micros) VALUES {}",
            placeholders(chunk.len(), 6)
        );
        let mut query = sqlx::query(&sql);
        for (_, _, _, id, micros, charge) in chunk {
            query = query
                .bind(*id)
                .bind(&charge.plan)
                .bind(&charge.prefix)
                .bind(charge.per_minute.to_string())
                .bind(charge.billed_seconds as i64)
                .bind(*micros);
        }
        query.execute(&mut **tx).await?;
    }
    // One balance update per tenant; each transaction's balance-after follows in batch order.
    let mut totals: HashMap<&str, i64> = HashMap::new();
    for (_, _, prepared, _, micros, _) in &charged {
        *totals.entry(prepared.tenant.as_str()).or_default() += micros;
    }
    let mut running: HashMap<&str, i64> = HashMap::new();
    for (tenant, total) in &totals {
        let after: i64 = sqlx::query("UPDATE accounts SET balance_micros = balance_micros - $1 WHERE tenant = $2 RETURNING balance_micros")
            .bind(*total)
            .bind(*tenant)
            .fetch_one(&mut **tx)
            .await?
            .try_get(0)?;
        running.insert(tenant, after + total);
    }
    let mut balance_after = HashMap::new();
    for (index, _, prepared, _, micros, _) in &charged {
        let balance = running
            .get_mut(prepared.tenant.as_str())
            .expect("every charged tenant was updated");
        *balance -= micros;
        balance_after.insert(*index, *balance);
    }
    for chunk in charged.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO transactions (tenant, kind, amount_micros, balance_after_micros, cdr_id, reference, created_at_us) VALUES {}",
            placeholders(chunk.len(), 7)
        );
        let mut query = sqlx::query(&sql);
        for (index, cdr, prepared, id, micros, _) in chunk {
            query = query
                .bind(&prepared.tenant)
                .bind("charge")
                .bind(-*micros)
                .bind(balance_after[index])
                .bind(*id)
                .bind(format!("{}:{}", cdr.uuid, cdr.leg.as_str()))
                .bind(recorded_at);
        }
        query.execute(&mut **tx).await?;
    }
    let mut recorded = HashMap::new();
    for (index, _, prepared, id) in &new {
        let outcome = match &prepared.charge {
            Some((micros, charge)) => Outcome::Charged {
                amount: from_micros(*micros),
                billed_seconds: charge.billed_seconds,
                balance_after: from_micros(balance_after[index]),
            },
            None => Outcome::NotCharged(prepared.outcome.clone()),
        };
        recorded.insert(
            *index,
            Recorded {
                cdr_id: *id,
                outcome,
                duplicate: false,
            },
        );
    }
    Ok(recorded)
}

/// What the first recording of (uuid, leg) did. Three point lookups by key rather than one
/// join, so no query plan can turn them into a scan.
async fn first_outcome(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    uuid: &str,
    leg: &str,
) -> Result<Recorded, LedgerError> {
    let row: AnyRow = sqlx::query("SELECT id, outcome FROM cdrs WHERE uuid = $1 AND leg = $2")
        .bind(uuid)
        .bind(leg)
        .fetch_one(&mut **tx)
        .await?;
    let cdr_id: i64 = row.try_get(0)?;
    let outcome: String = row.try_get(1)?;
    let charge = sqlx::query("SELECT amount_micros, billed_seconds FROM charges WHERE cdr_id = $1")
        .bind(cdr_id)
        .fetch_optional(&mut **tx)
        .await?;
    let outcome = match charge {
        Some(charge) => {
            let after: i64 = sqlx::query("SELECT balance_after_micros FROM transactions WHERE cdr_id = $1 AND kind = 'charge'")
                .bind(cdr_id)
                .fetch_one(&mut **tx)
                .await?
                .try_get(0)?;
            Outcome::Charged {
                amount: from_micros(charge.try_get(0)?),
                billed_seconds: charge.try_get::<i64, _>(1)? as u64,
                balance_after: from_micros(after),
            }
        }
        None => Outcome::NotCharged(outcome),
    };
    Ok(Recorded {
        cdr_id,
        outcome,
        duplicate: true,
    })
}
