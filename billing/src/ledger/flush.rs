//! Writes that lock a tenant's account row (charges, holds, top-ups) free it before their
//! commit is flushed to disk, and answer only after it is.
//!
//! A PostgreSQL commit keeps its row locks until its log record is on disk: an fsync, a few
//! milliseconds or, on a busy disk, tens. Every write of a tenant's money locks its account
//! row, so with durable commits each one waits for the previous one's fsync: at the seeds'
//! load the prepaid calls' holds waited up to 165 ms behind CDR batches. These writes commit
//! asynchronously instead (`synchronous_commit = off` for that transaction alone: the row is
//! free once the commit is in the log's buffers), then wait for the disk by committing a
//! transaction that must be flushed. PostgreSQL flushes its log in order, so that flush
//! carries the earlier commit with it (and, with synchronous standbys, waits for them as any
//! commit does).
//!
//! What the caller is told is unchanged: an answer means the write is on disk. What changes
//! is what others may see: another transaction can read the write before it is on disk, as it
//! can read an asynchronous commit's. A crash of the server in that moment loses the write,
//! which was never answered (FreeSWITCH posts the CDR again, a top-up is retried by its
//! reference); anything durable that another transaction did after reading it is later in the
//! log, so it is lost with it, never kept without it. SQLite commits in the process: nothing
//! to wait for.

use super::{Backend, Ledger, LedgerError};
use sqlx::{Any, AnyConnection, Connection, Transaction};

/// Begins a transaction whose commit does not wait for the disk (that transaction only).
const BEGIN_WITHOUT_FLUSH: &str = "BEGIN; SET LOCAL synchronous_commit = off";

/// A transaction that writes a record to PostgreSQL's log and commits durably. A transaction
/// that only took an id would not do: its commit is not flushed, having written nothing else.
const FLUSH: &str = "SELECT pg_logical_emit_message(true, 'billing-flush', '') IS NOT NULL";

impl Ledger {
    /// A transaction on `connection` for a write that locks an account row: on PostgreSQL its
    /// commit frees the row without waiting for the disk; [`Ledger::wait_for_disk`] on the
    /// same connection then waits for it (no second connection to wait for in a busy pool).
    pub(super) async fn begin_without_flush<'c>(
        &self,
        connection: &'c mut AnyConnection,
    ) -> Result<Transaction<'c, Any>, LedgerError> {
        Ok(match self.backend {
            Backend::Postgres => connection.begin_with(BEGIN_WITHOUT_FLUSH).await?,
            Backend::Sqlite => connection.begin().await?,
        })
    }

    /// Returns once every commit made before the call is on disk (as durable as the server's
    /// `synchronous_commit` makes a commit); call it before any answer that a commit made
    /// without waiting for the disk, this one's or another's, may have decided. Tried again
    /// once on another connection: the write it follows is committed already, so an error
    /// here would make its caller retry a write that succeeded.
    pub(super) async fn wait_for_disk(
        &self,
        connection: &mut AnyConnection,
    ) -> Result<(), LedgerError> {
        if self.backend == Backend::Postgres
            && sqlx::query(FLUSH).execute(&mut *connection).await.is_err()
        {
            sqlx::query(FLUSH).execute(&self.pool).await?;
        }
        Ok(())
    }

    /// [`Ledger::wait_for_disk`] when new holds are answered once on disk
    /// ([`HoldCommit::Durable`](crate::HoldCommit)); at once otherwise.
    pub(super) async fn wait_for_holds_on_disk(
        &self,
        connection: &mut AnyConnection,
    ) -> Result<(), LedgerError> {
        if self.hold_commit.waits_for_flush() {
            self.wait_for_disk(connection).await?;
        }
        Ok(())
    }
}
