//! Leases: which process acts for a FreeSWITCH node when several could (one active ESL worker
//! per node, the others standing by). A lease is held for a time-to-live and renewed well
//! before it ends; a holder that dies stops renewing, and another takes the lease once it
//! has expired. Every new holder gets a higher `term`. Times are PostgreSQL's clock alone.
//!
//! SQLite is one process's database: there is nothing to share, and no lease.
//!
//! ```no_run
//! # async fn demo(pool: sqlx::AnyPool) -> Result<(), sqlx::Error> {
//! use platform::leases::Leases;
//! use std::time::Duration;
//!
//! let leases = Leases::new(pool, "host-a/1234", Duration::from_secs(3));
//! if let Some(term) = leases.try_acquire("fs1").await? {
//!     // Act for fs1, renewing every second; stop at once when a renewal says no.
//!     assert!(leases.renew("fs1", term).await?);
//!     leases.release("fs1", term).await?;
//! }
//! # Ok(()) }
//! ```

use sqlx::AnyPool;
use std::time::Duration;

/// One holder's leases, over the shared database.
#[derive(Clone)]
pub struct Leases {
    pool: AnyPool,
    holder: String,
    ttl: Duration,
}

impl std::fmt::Debug for Leases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leases")
            .field("holder", &self.holder)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// Who holds a node's lease now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The holder's name.
    pub holder: String,
    /// Its term.
    pub term: i64,
    /// Whether the lease is still running.
    pub live: bool,
}

impl Leases {
    /// Leases held as `holder` (a name unique to this process: host, pid, a random part),
    /// each for `ttl` from its last renewal.
    pub fn new(pool: AnyPool, holder: impl Into<String>, ttl: Duration) -> Self {
        Leases {
            pool,
            holder: holder.into(),
            ttl,
        }
    }

    /// This holder's name.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// How long a lease lasts from its last renewal.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn ttl_ms(&self) -> i64 {
        i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX)
    }

    /// Takes `node`'s lease if nobody holds it, it expired, or this holder has it; the new
    /// term, or `None` while another holder's lease runs.
    pub async fn try_acquire(&self, node: &str) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO esl_leases (node, holder, term, expires_at) \
             VALUES ($1, $2, 1, clock_timestamp() + $3::bigint * interval '1 millisecond') \
             ON CONFLICT (node) DO UPDATE SET holder = EXCLUDED.holder, \
                 term = esl_leases.term + 1, expires_at = EXCLUDED.expires_at \
             WHERE esl_leases.expires_at < clock_timestamp() \
                OR esl_leases.holder = EXCLUDED.holder \
             RETURNING term",
        )
        .bind(node)
        .bind(&self.holder)
        .bind(self.ttl_ms())
        .fetch_optional(&self.pool)
        .await
    }

    /// Extends the lease of `term` by the time-to-live; `false` when it is no longer this
    /// holder's (it expired and was taken).
    pub async fn renew(&self, node: &str, term: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE esl_leases SET expires_at = clock_timestamp() + $4::bigint * interval '1 millisecond' \
             WHERE node = $1 AND holder = $2 AND term = $3",
        )
        .bind(node)
        .bind(&self.holder)
        .bind(term)
        .bind(self.ttl_ms())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Ends the lease of `term` now (a standby takes it at once).
    pub async fn release(&self, node: &str, term: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE esl_leases SET expires_at = clock_timestamp() - interval '1 second' \
             WHERE node = $1 AND holder = $2 AND term = $3",
        )
        .bind(node)
        .bind(&self.holder)
        .bind(term)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Who holds `node`'s lease, if anyone ever did.
    pub async fn holder_of(&self, node: &str) -> Result<Option<Holder>, sqlx::Error> {
        let row: Option<(String, i64, bool)> = sqlx::query_as(
            "SELECT holder, term, expires_at > clock_timestamp() FROM esl_leases WHERE node = $1",
        )
        .bind(node)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(holder, term, live)| Holder { holder, term, live }))
    }
}
