//! The ledger: accounts and balances, rate plans, CDRs, charges, transactions and recording
//! metadata, in SQLite (embedded) or PostgreSQL through sqlx.
//!
//! [`Ledger::record`] stores a CDR, its charge, the transaction and the new balance in one
//! database transaction, idempotent on (call UUID, leg): recording the same CDR again returns
//! the first outcome and changes nothing, however many processes race to record it.
//! [`Ledger::record_batch`] does the same for many CDRs in one transaction (group commit).
//!
//! Money is stored as integer micro-units (10⁻⁶ of the currency): exact, and summed in SQL.
//!
//! - `connect`: the database, its pool and migrations.
//! - `plans`: rate plans as stored, and the cache of built plans and tenants' plans.
//! - `accounts`: balances, top-ups, prepaid authorisation and the transactions list.
//! - `holds`: prepaid reservations, a slice at a time, settled by the call's CDR.
//! - `reserve`: taking holds, the reservations of a tenant made together written together.
//! - `hold_commit`: whether a new hold's answer waits for its commit to reach the disk.
//! - `flush`: writes of a tenant's money free its account row before their commit is flushed.
//! - `cdrs`: rating and recording CDRs (idempotent), and listing them.
//! - `store`: the multi-row statements that write a batch of new CDRs.
//! - `recordings`: recording metadata.
//! - `micros`: amounts as integer micro-units.

mod accounts;
mod calls;
mod cdrs;
mod connect;
mod flush;
mod hold_commit;
mod holds;
mod micros;
mod plans;
mod recordings;
mod reserve;
mod store;
mod tenants;
mod unassigned;

pub use accounts::{AccountInfo, Balance, Transaction, TransactionKind};
pub use cdrs::{CdrRecord, CdrSearch, Outcome, Recorded};
pub use connect::Backend;
pub use hold_commit::HoldCommit;
pub use holds::{Extension, Hold, HoldKey, HoldState, Reservation};
pub use plans::PlanRecord;
pub use recordings::RecordingRecord;
pub use reserve::ReserveRequest;
pub use tenants::{TenantDirectory, UnassignedReason};
pub use unassigned::UnassignedCdr;

use crate::cdr::CdrError;
use crate::plan::{PlanError, RatePlan};
use crate::stored::UnknownText;
use rust_decimal::Decimal;
use sqlx::AnyPool;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

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
    /// An amount has more decimals than the account's currency (a top-up of `0.001` EUR).
    #[error("amount {amount} has more decimals than {currency}'s {decimals}")]
    Precision {
        /// The amount.
        amount: Decimal,
        /// The account's currency.
        currency: String,
        /// Its decimals.
        decimals: u32,
    },
    /// A plan version that would start before the one in force.
    #[error(
        "plan {plan:?} has a version in force from {in_force_from} (Unix seconds): a new one starts then or later"
    )]
    VersionOrder {
        /// The plan.
        plan: String,
        /// When its version in force started, Unix seconds.
        in_force_from: i64,
    },
    /// A top-up reference already used for another amount: the same payment cannot be two
    /// amounts, so this is a mistake (or a replay) to look at, not a retry to absorb.
    #[error("reference {reference:?} was already used for a top-up of {amount}")]
    ReferenceConflict {
        /// The reference.
        reference: String,
        /// The amount it was used for.
        amount: Decimal,
    },
    /// A stored value is not what the ledger wrote, or the ledger lost track of a CDR.
    #[error("corrupt ledger data: {0}")]
    Corrupt(Corruption),
}

impl LedgerError {
    /// Whether the database connection broke under the operation (the server restarted or
    /// went away, the network failed) rather than the database refusing it: the same
    /// operation may succeed on another connection. Only an operation that is idempotent may
    /// be tried again: its commit may have happened with its answer lost.
    ///
    /// ```
    /// use billing::LedgerError;
    /// let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
    /// assert!(LedgerError::Database(sqlx::Error::Io(reset)).is_connection_lost());
    /// assert!(!LedgerError::UnknownTenant("acme".into()).is_connection_lost());
    /// ```
    pub fn is_connection_lost(&self) -> bool {
        match self {
            LedgerError::Database(sqlx::Error::Io(_)) => true,
            // PostgreSQL ending the session: an administrator's or a shutdown's termination,
            // a crash of another backend, the server still starting.
            LedgerError::Database(sqlx::Error::Database(error)) => {
                matches!(error.code().as_deref(), Some("57P01" | "57P02" | "57P03"))
            }
            _ => false,
        }
    }
}

/// What is wrong in [`LedgerError::Corrupt`].
///
/// ```
/// use billing::{Corruption, LedgerError, Leg, UnknownText};
///
/// let error: LedgerError = "c".parse::<Leg>().unwrap_err().into();
/// assert!(matches!(
///     &error,
///     LedgerError::Corrupt(Corruption::UnknownText(UnknownText { what: "leg", .. }))
/// ));
/// assert_eq!(error.to_string(), r#"corrupt ledger data: unknown leg "c""#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Corruption {
    /// A stored enum's text names none of its variants (a leg, CDR outcome, transaction kind
    /// or rounding this crate does not write).
    #[error(transparent)]
    UnknownText(#[from] UnknownText),
    /// A CDR of a batch was left without an outcome.
    #[error("CDR left without outcome")]
    MissingOutcome,
    /// A CDR repeated within a batch lost the outcome of its first occurrence.
    #[error("a repeated CDR lost its first outcome")]
    LostFirstOutcome,
}

impl From<UnknownText> for LedgerError {
    fn from(error: UnknownText) -> Self {
        Self::Corrupt(Corruption::UnknownText(error))
    }
}

/// The plans in force now, by id.
type Plans = HashMap<String, Arc<RatePlan>>;

/// The versions each plan replaced, by plan id (see [`Ledger::save_plan_from`]).
#[derive(Debug, Default)]
struct History {
    by_plan: HashMap<String, Vec<Replaced>>,
    /// The latest end of any replaced version: a call answered then or later is rated by the
    /// plans in force now, with no lookup.
    last_until: i64,
}

/// A plan version that is no longer in force: when it was.
#[derive(Debug)]
struct Replaced {
    /// In force from (Unix seconds, inclusive).
    from: i64,
    /// Until (Unix seconds, exclusive).
    until: i64,
    plan: Arc<RatePlan>,
}

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
    /// The versions the plans replaced, a snapshot replaced with `plans`.
    history: Arc<RwLock<Arc<History>>>,
    accounts: Arc<RwLock<HashMap<String, Account>>>,
    /// Tenants by context and domain, for CDRs that name none.
    directory: Option<Arc<dyn TenantDirectory>>,
    /// Tenant of CDRs nothing else attributes.
    default_tenant: Option<String>,
    /// Told of every committed change to a tenant's money.
    listener: Option<Arc<dyn BalanceListener>>,
    /// Reservations waiting to be written together, per tenant.
    reservations: Arc<reserve::Combiner>,
    /// Whether a new hold's answer waits for the disk.
    hold_commit: HoldCommit,
}

/// Told, after the fact, that a tenant's money changed: a top-up, a charge, or a hold taken,
/// grown, settled or expired (to publish the live balance, say). Called after the change is
/// committed, on the task that made it: keep it quick (queue the tenant, read the balance
/// elsewhere).
///
/// ```
/// use billing::BalanceListener;
///
/// #[derive(Debug)]
/// struct Log;
/// impl BalanceListener for Log {
///     fn balance_changed(&self, tenant: &str) {
///         println!("{tenant}'s balance changed");
///     }
/// }
/// # let _ = Log;
/// ```
pub trait BalanceListener: Send + Sync + std::fmt::Debug {
    /// `tenant`'s balance or holds changed.
    fn balance_changed(&self, tenant: &str);
}

impl Ledger {
    /// This ledger, finding the tenant of CDRs that name none (and whose linked legs name
    /// none) by their dialplan context or SIP domain in `directory`.
    pub fn with_tenant_directory(mut self, directory: Arc<dyn TenantDirectory>) -> Self {
        self.directory = Some(directory);
        self
    }

    /// This ledger, telling `listener` of every committed change to a tenant's money.
    pub fn with_balance_listener(mut self, listener: Arc<dyn BalanceListener>) -> Self {
        self.listener = Some(listener);
        self
    }

    /// Tells the listener, if any, that `tenant`'s money changed.
    fn money_changed(&self, tenant: &str) {
        if let Some(listener) = &self.listener {
            listener.balance_changed(tenant);
        }
    }

    /// This ledger, giving CDRs nothing else attributes to `tenant` (single-tenant
    /// installations) instead of storing them unassigned.
    pub fn with_default_tenant(mut self, tenant: Option<String>) -> Self {
        self.default_tenant = tenant;
        self
    }

    /// This ledger, answering new holds on PostgreSQL once they are committed (`Asynchronous`)
    /// or once they are on disk (`Durable`, the default); see [`HoldCommit`] for what a
    /// database crash can cost.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), billing::LedgerError> {
    /// use billing::{HoldCommit, Ledger};
    /// let ledger = Ledger::connect("postgres://127.0.0.1/billing")
    ///     .await?
    ///     .with_hold_commit(HoldCommit::Asynchronous);
    /// # Ok(()) }
    /// ```
    pub fn with_hold_commit(mut self, commit: HoldCommit) -> Self {
        self.hold_commit = commit;
        self
    }
}
