//! CDRs: rated without the database, then recorded in one transaction per batch, idempotent
//! on (call UUID, leg); and listed per tenant.

use super::micros::{from_micros, now_us, to_micros};
use super::store::store_batch;
use super::tenants::UnassignedReason;
use super::unassigned::store_unassigned;
use super::{Corruption, Ledger, LedgerError, TransactionKind};
use crate::cdr::{Cdr, Leg};
use crate::plan::{CdrOutcome, NoCharge};
use rust_decimal::Decimal;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::HashMap;

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
    /// Stored without charge, for this reason: [`CdrOutcome::NotAnswered`],
    /// [`CdrOutcome::Free`], [`CdrOutcome::NoRoute`] or [`CdrOutcome::PartOfCall`] (never
    /// [`CdrOutcome::Charged`] or [`CdrOutcome::Unassigned`]).
    NotCharged(CdrOutcome),
    /// Stored apart, unassigned, for the operator ([`Ledger::unassigned_cdrs`]); never charged.
    Unassigned(UnassignedReason),
}

impl Outcome {
    /// The outcome stored with the CDR.
    ///
    /// ```
    /// use billing::{CdrOutcome, Outcome};
    /// let charged = Outcome::Charged {
    ///     amount: "0.67".parse().unwrap(),
    ///     billed_seconds: 62,
    ///     balance_after: "9.33".parse().unwrap(),
    /// };
    /// assert_eq!(charged.cdr_outcome(), CdrOutcome::Charged);
    /// assert_eq!(Outcome::NotCharged(CdrOutcome::Free).cdr_outcome(), CdrOutcome::Free);
    /// ```
    pub fn cdr_outcome(&self) -> CdrOutcome {
        match self {
            Self::Charged { .. } => CdrOutcome::Charged,
            Self::NotCharged(outcome) => *outcome,
            Self::Unassigned(_) => CdrOutcome::Unassigned,
        }
    }
}

/// The result of recording one CDR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The CDR's row id (in the unassigned CDRs when [`Outcome::Unassigned`]).
    pub cdr_id: i64,
    /// What was done (the first time).
    pub outcome: Outcome,
    /// `true` if the CDR had been recorded before: nothing changed this time.
    pub duplicate: bool,
}

/// A stored CDR, for queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdrRecord {
    /// Row id (also the pagination cursor).
    pub id: i64,
    /// Call UUID.
    pub uuid: String,
    /// Which leg.
    pub leg: Leg,
    /// Channel creation, Unix microseconds.
    pub start_us: Option<i64>,
    /// Seconds from answer to hangup.
    pub billsec: i64,
    /// Number dialled.
    pub destination: Option<String>,
    /// What rating decided.
    pub outcome: CdrOutcome,
    /// Charged amount, if any.
    pub amount: Option<Decimal>,
    /// The caller's number, as FreeSWITCH reported it.
    pub caller: Option<String>,
    /// FreeSWITCH's hangup cause.
    pub hangup_cause: Option<String>,
}

/// What a CDR search asks for: CDRs that started in `[from_us, to_us)` and, when given, whose
/// caller or destination starts with the text, and whose outcome is the one named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdrSearch {
    /// From, Unix microseconds (inclusive).
    pub from_us: i64,
    /// To, Unix microseconds (exclusive).
    pub to_us: i64,
    /// The caller's number starts with this.
    pub caller: Option<String>,
    /// The destination starts with this.
    pub destination: Option<String>,
    /// What rating decided.
    pub outcome: Option<CdrOutcome>,
}

impl Default for CdrSearch {
    /// Every CDR.
    fn default() -> Self {
        CdrSearch {
            from_us: i64::MIN,
            to_us: i64::MAX,
            caller: None,
            destination: None,
            outcome: None,
        }
    }
}

/// `text` as a LIKE pattern matching what starts with it (`\`, `%` and `_` taken literally).
fn starts_with_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A CDR rated and ready to store.
pub(super) struct Prepared {
    pub(super) tenant: String,
    /// Amount in micro-units and the charge, when charged.
    pub(super) charge: Option<(i64, crate::plan::Charge)>,
    /// What rating decided.
    pub(super) outcome: CdrOutcome,
}

impl Ledger {
    /// Rates a CDR of `tenant` without touching the database: what would be stored. A leg
    /// linked to others that did not reach the outside is part of its call, not charged.
    async fn prepare(&self, cdr: &Cdr, tenant: String) -> Result<Prepared, LedgerError> {
        let (plan, plans) = self.tenant_plan(&tenant).await?;
        if !cdr.links.is_empty() && !cdr.reaches_outside() {
            return Ok(Prepared {
                tenant,
                charge: None,
                outcome: CdrOutcome::PartOfCall,
            });
        }
        // The plan as it was when the call was answered.
        let answered = cdr.answered_at().unwrap_or_else(|| now_us() / 1_000_000);
        let plans = self.in_force(plans, answered);
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
            Ok(charge) => (
                Some((to_micros(charge.amount.amount)?, charge)),
                CdrOutcome::Charged,
            ),
            Err(no_charge) => (None, no_charge.outcome()),
        };
        Ok(Prepared {
            tenant,
            charge,
            outcome,
        })
    }

    /// Stores a CDR with its charge, transaction and new balance, in one database transaction.
    /// Recording the same (uuid, leg) again returns the first outcome with `duplicate: true` and
    /// changes nothing. Its tenant is found by the ledger's one rule (its variable, a linked
    /// leg, its context or domain, the default tenant); without one it is stored unassigned.
    /// An input error stores nothing.
    pub async fn record(&self, cdr: &Cdr) -> Result<Recorded, LedgerError> {
        let mut results = self.record_batch(std::slice::from_ref(cdr)).await?;
        results
            .pop()
            .unwrap_or_else(|| Err(LedgerError::Corrupt(Corruption::MissingOutcome)))
    }

    /// Records many CDRs in one database transaction (group commit), with an outcome per CDR:
    /// a CDR with bad input gets its error and the others are still recorded. Each table is
    /// written with one statement per chunk of CDRs rather than one per CDR. A database error,
    /// even while rating one CDR, fails the whole batch (nothing is stored, so all may be
    /// retried).
    pub async fn record_batch(
        &self,
        cdrs: &[Cdr],
    ) -> Result<Vec<Result<Recorded, LedgerError>>, LedgerError> {
        let mut results: Vec<Option<Result<Recorded, LedgerError>>> =
            cdrs.iter().map(|_| None).collect();
        let tenants = self.resolve_tenants(cdrs).await?;
        // The first occurrence of each (uuid, leg) is written; later ones repeat its outcome.
        let mut first_of: HashMap<(&str, Leg), usize> = HashMap::new();
        let mut repeats = Vec::new();
        let mut batch = Vec::new();
        let mut unassigned = Vec::new();
        for ((index, cdr), tenant) in cdrs.iter().enumerate().zip(tenants) {
            let prepared = match tenant {
                Err(reason) => Err(reason),
                Ok(tenant) => match self.prepare(cdr, tenant).await {
                    Ok(prepared) => Ok(prepared),
                    Err(LedgerError::UnknownTenant(_)) => Err(UnassignedReason::UnknownTenant),
                    // The database failing is the batch's failure (retried whole), not the CDR's.
                    Err(
                        error @ (LedgerError::Database(_)
                        | LedgerError::Migrate(_)
                        | LedgerError::Corrupt(_)),
                    ) => return Err(error),
                    Err(error) => {
                        results[index] = Some(Err(error));
                        continue;
                    }
                },
            };
            match first_of.entry((&cdr.uuid, cdr.leg)) {
                std::collections::hash_map::Entry::Occupied(first) => {
                    repeats.push((index, *first.get()))
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(index);
                    match prepared {
                        Ok(prepared) => batch.push((index, cdr, prepared)),
                        Err(reason) => unassigned.push((index, cdr, reason)),
                    }
                }
            }
        }
        let mut connection = self.pool.acquire().await?;
        let mut tx = self.begin_without_flush(&mut connection).await?;
        let written = store_batch(&mut tx, self.backend, &batch).await?;
        for (index, recorded) in store_unassigned(&mut tx, &unassigned).await? {
            results[index] = Some(Ok(recorded));
        }
        for (index, cdr, _) in &batch {
            let recorded = match written.get(index) {
                Some(recorded) => recorded.clone(),
                None => first_outcome(&mut tx, &cdr.uuid, cdr.leg).await?,
            };
            results[*index] = Some(Ok(recorded));
        }
        tx.commit().await?;
        // A charge, or a hold settled by a CDR charged nothing: every tenant with a new CDR.
        let mut charged: Vec<&str> = batch
            .iter()
            .filter(|(index, _, _)| written.contains_key(index))
            .map(|(_, _, prepared)| prepared.tenant.as_str())
            .collect();
        charged.sort_unstable();
        charged.dedup();
        for tenant in charged {
            self.money_changed(tenant);
        }
        // Even a batch of repeats only: the first recording of a CDR, found here, may be
        // another batch's commit that is not on disk yet.
        self.wait_for_disk(&mut connection).await?;
        for (index, first) in repeats {
            let repeated = match &results[first] {
                Some(Ok(recorded)) => Ok(Recorded {
                    duplicate: true,
                    ..recorded.clone()
                }),
                _ => Err(LedgerError::Corrupt(Corruption::LostFirstOutcome)),
            };
            results[index] = Some(repeated);
        }
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(LedgerError::Corrupt(Corruption::MissingOutcome))))
            .collect())
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
        let search = CdrSearch {
            from_us,
            to_us,
            ..CdrSearch::default()
        };
        self.search_cdrs(tenant, &search, after, limit).await
    }

    /// A tenant's CDRs that `search` matches, oldest first, after the row `after`, at most
    /// `limit`.
    ///
    /// ```no_run
    /// # async fn demo(ledger: billing::Ledger) -> Result<(), billing::LedgerError> {
    /// use billing::{CdrOutcome, CdrSearch};
    /// let search = CdrSearch {
    ///     destination: Some("+44".into()),
    ///     outcome: Some(CdrOutcome::Charged),
    ///     ..CdrSearch::default()
    /// };
    /// let page = ledger.search_cdrs("acme", &search, None, 100).await?;
    /// # Ok(()) }
    /// ```
    pub async fn search_cdrs(
        &self,
        tenant: &str,
        search: &CdrSearch,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<CdrRecord>, LedgerError> {
        let rows = sqlx::query(
            "SELECT c.id, c.uuid, c.leg, c.start_us, c.billsec, c.destination, c.outcome, g.amount_micros,
                    c.caller, c.hangup_cause
             FROM cdrs c LEFT JOIN charges g ON g.cdr_id = c.id
             WHERE c.tenant = $1 AND c.start_us >= $2 AND c.start_us < $3 AND c.id > $4
               AND ($6 = '' OR c.caller LIKE $6 ESCAPE '\\')
               AND ($7 = '' OR c.destination LIKE $7 ESCAPE '\\')
               AND ($8 = '' OR c.outcome = $8)
             ORDER BY c.id LIMIT $5",
        )
        .bind(tenant)
        .bind(search.from_us)
        .bind(search.to_us)
        .bind(after.unwrap_or(0))
        .bind(i64::from(limit))
        .bind(search.caller.as_deref().map_or(String::new(), starts_with_pattern))
        .bind(search.destination.as_deref().map_or(String::new(), starts_with_pattern))
        .bind(search.outcome.map_or("", CdrOutcome::as_str))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record_of).collect()
    }
}

impl Ledger {
    /// A tenant's CDRs of one channel UUID (a leg recorded from both sources is one row).
    pub(super) async fn cdrs_of_uuid(
        &self,
        tenant: &str,
        uuid: &str,
    ) -> Result<Vec<CdrRecord>, LedgerError> {
        let rows = sqlx::query(
            "SELECT c.id, c.uuid, c.leg, c.start_us, c.billsec, c.destination, c.outcome, g.amount_micros,
                    c.caller, c.hangup_cause
             FROM cdrs c LEFT JOIN charges g ON g.cdr_id = c.id
             WHERE c.tenant = $1 AND c.uuid = $2 ORDER BY c.id",
        )
        .bind(tenant)
        .bind(uuid)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record_of).collect()
    }
}

fn record_of(row: &AnyRow) -> Result<CdrRecord, LedgerError> {
    Ok(CdrRecord {
        id: row.try_get(0)?,
        uuid: row.try_get(1)?,
        leg: row.try_get::<String, _>(2)?.parse()?,
        start_us: row.try_get(3)?,
        billsec: row.try_get(4)?,
        destination: row.try_get(5)?,
        outcome: row.try_get::<String, _>(6)?.parse()?,
        amount: row.try_get::<Option<i64>, _>(7)?.map(from_micros),
        caller: row.try_get(8)?,
        hangup_cause: row.try_get(9)?,
    })
}

/// What the first recording of (uuid, leg) did. Three point lookups by key rather than one
/// join, so no query plan can turn them into a scan.
pub(super) async fn first_outcome(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    uuid: &str,
    leg: Leg,
) -> Result<Recorded, LedgerError> {
    let row: AnyRow = sqlx::query("SELECT id, outcome FROM cdrs WHERE uuid = $1 AND leg = $2")
        .bind(uuid)
        .bind(leg.as_str())
        .fetch_one(&mut **tx)
        .await?;
    let cdr_id: i64 = row.try_get(0)?;
    let outcome: CdrOutcome = row.try_get::<String, _>(1)?.parse()?;
    let charge = sqlx::query("SELECT amount_micros, billed_seconds FROM charges WHERE cdr_id = $1")
        .bind(cdr_id)
        .fetch_optional(&mut **tx)
        .await?;
    let outcome = match charge {
        Some(charge) => {
            let after: i64 = sqlx::query(
                "SELECT balance_after_micros FROM transactions WHERE cdr_id = $1 AND kind = $2",
            )
            .bind(cdr_id)
            .bind(TransactionKind::Charge.as_str())
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
