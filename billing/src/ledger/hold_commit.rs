//! When a new hold's commit answers: once PostgreSQL has flushed it to disk, or at once.

use serde::Deserialize;

/// When [`Ledger::reserve`](crate::Ledger::reserve) answers on PostgreSQL: after the new
/// holds' commit reached the disk (`Durable`, the default), or as soon as it is committed
/// (`Asynchronous`: PostgreSQL's asynchronous commit, for the hold's statement only). Either
/// way the account row is free for the next writer once the holds are committed: a durable
/// answer waits for the disk after that, as every write of money does.
///
/// An asynchronous hold is seen by every other transaction at once, so two calls still cannot
/// spend the same credit; what it gives up is surviving a crash of the PostgreSQL server in
/// the moments after it was taken (up to three times `wal_writer_delay`: 600 ms by default),
/// or a failover to a standby it had not reached (with synchronous standbys, the hold does not
/// wait for them either). Such a lost hold takes the account's record of it with it, so the
/// ledger stays consistent; its call keeps the limit it was given and cannot be extended (its
/// id may be given to another hold, which [`HoldKey`](crate::HoldKey) tells apart), and its
/// CDR is charged in full, so the tenant may spend beyond its credit by at most those calls'
/// first slices. Nothing is charged twice or left uncharged. `Durable` changes nothing: holds,
/// like CDRs, charges and top-ups, are then as durable as the server's `synchronous_commit`
/// makes every commit (`on` by default). On SQLite the setting changes nothing.
///
/// ```
/// use billing::HoldCommit;
///
/// #[derive(serde::Deserialize)]
/// struct Settings {
///     prepaid_hold_commit: HoldCommit,
/// }
/// let settings: Settings = serde_json::from_str(r#"{"prepaid_hold_commit": "asynchronous"}"#).unwrap();
/// assert_eq!(settings.prepaid_hold_commit, HoldCommit::Asynchronous);
/// assert_eq!(HoldCommit::default(), HoldCommit::Durable);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HoldCommit {
    /// The answer waits until the holds are on disk (PostgreSQL's `synchronous_commit`).
    #[default]
    Durable,
    /// The answer waits until the holds are committed, not until they are on disk.
    Asynchronous,
}

impl HoldCommit {
    /// Whether the commit waits for the disk.
    pub(super) fn waits_for_flush(self) -> bool {
        self == HoldCommit::Durable
    }
}
