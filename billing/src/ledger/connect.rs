//! The database: which one, its pool, and its migrations.

use super::{Ledger, LedgerError};
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use std::sync::Arc;
use std::time::Duration;

/// Which database the ledger is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (embedded; one writer).
    Sqlite,
    /// PostgreSQL.
    Postgres,
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
        let options = pool_options();
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
            history: Arc::default(),
            accounts: Arc::default(),
            directory: None,
            default_tenant: None,
            listener: None,
            reservations: Arc::default(),
            hold_commit: super::HoldCommit::default(),
        })
    }

    /// This ledger (its plans, accounts and listener shared) on a pool of its own to the same
    /// PostgreSQL database at `url`, of at most `max_connections`, whose connections are
    /// opened when first needed: by the runtime that needs them. A thread with a runtime of
    /// its own (the daemon's FreeSWITCH routes) then waits on sockets of its own reactor, not
    /// on another runtime's that is busy elsewhere. Its prepaid reservations are combined
    /// apart from this ledger's, as another process's are. Not for SQLite (one writer):
    /// [`LedgerError::UnsupportedUrl`].
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), billing::LedgerError> {
    /// let url = "postgres://127.0.0.1/billing";
    /// let ledger = billing::Ledger::connect(url).await?;
    /// let for_another_runtime = ledger.with_pool_of_its_own(url, 8)?;
    /// # Ok(()) }
    /// ```
    pub fn with_pool_of_its_own(
        &self,
        url: &str,
        max_connections: u32,
    ) -> Result<Self, LedgerError> {
        if self.backend != Backend::Postgres {
            return Err(LedgerError::UnsupportedUrl(url.to_owned()));
        }
        let pool = pool_options()
            .max_connections(max_connections.max(1))
            .connect_lazy(url)?;
        Ok(Self {
            pool,
            reservations: Arc::default(),
            ..self.clone()
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
}

/// What every pool of the ledger has in common: how long a query waits for a connection.
fn pool_options() -> AnyPoolOptions {
    AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10))
}
