//! CDRs nothing attributes to a tenant with an account: stored apart, whole, idempotent on
//! (uuid, leg), visible to the operator only and never charged. A CDR recorded under a tenant
//! later (re-imported once its tenant exists) leaves this table in the same transaction.

use super::cdrs::{Outcome, Recorded};
use super::micros::now_us;
use super::store::in_list;
use super::tenants::UnassignedReason;
use super::{Ledger, LedgerError};
use crate::cdr::{Cdr, Leg};
use sqlx::Row;

/// An unassigned CDR, for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnassignedCdr {
    /// Row id (also the pagination cursor).
    pub id: i64,
    /// Call UUID.
    pub uuid: String,
    /// Which leg.
    pub leg: Leg,
    /// Why it is unassigned.
    pub reason: UnassignedReason,
    /// The tenant it named, if any (unknown, or in conflict with its context).
    pub named_tenant: Option<String>,
    /// Its dialplan context.
    pub context: Option<String>,
    /// Its SIP domain.
    pub domain: Option<String>,
    /// Seconds from answer to hangup.
    pub billsec: i64,
    /// Number dialled.
    pub destination: Option<String>,
    /// The legs it names.
    pub links: Vec<String>,
    /// The document, every value as FreeSWITCH had it.
    pub raw: String,
}

/// Stores the unassigned CDRs of a batch (the first of each (uuid, leg), and none already
/// recorded under a tenant); returns each one's outcome.
pub(super) async fn store_unassigned(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    unassigned: &[(usize, &Cdr, UnassignedReason)],
) -> Result<Vec<(usize, Recorded)>, LedgerError> {
    let recorded_at = now_us();
    let mut results = Vec::with_capacity(unassigned.len());
    for (index, cdr, reason) in unassigned {
        // Recorded under a tenant already (by another source, say): that stands.
        let assigned = sqlx::query("SELECT id FROM cdrs WHERE uuid = $1 AND leg = $2")
            .bind(&cdr.uuid)
            .bind(cdr.leg.as_str())
            .fetch_optional(&mut **tx)
            .await?;
        if assigned.is_some() {
            let outcome = super::cdrs::first_outcome(tx, &cdr.uuid, cdr.leg).await?;
            results.push((*index, outcome));
            continue;
        }
        let inserted = sqlx::query(
            "INSERT INTO unassigned_cdrs (uuid, leg, reason, named_tenant, switchname, context, domain,
                                          start_us, answer_us, billsec, destination, links, raw, recorded_at_us)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             ON CONFLICT (uuid, leg) DO NOTHING RETURNING id",
        )
        .bind(&cdr.uuid)
        .bind(cdr.leg.as_str())
        .bind(reason.as_str())
        .bind(cdr.tenant.as_deref())
        .bind(cdr.switchname.as_deref())
        .bind(cdr.context.as_deref())
        .bind(cdr.domain.as_deref())
        .bind(cdr.start_us)
        .bind(cdr.answer_us)
        .bind(cdr.billsec as i64)
        .bind(cdr.destination.as_deref())
        .bind(cdr.links.join(" "))
        .bind(&cdr.raw)
        .bind(recorded_at)
        .fetch_optional(&mut **tx)
        .await?;
        let (id, reason, duplicate) = match inserted {
            Some(row) => (row.try_get(0)?, *reason, false),
            None => {
                let row = sqlx::query(
                    "SELECT id, reason FROM unassigned_cdrs WHERE uuid = $1 AND leg = $2",
                )
                .bind(&cdr.uuid)
                .bind(cdr.leg.as_str())
                .fetch_one(&mut **tx)
                .await?;
                (row.try_get(0)?, row.try_get::<String, _>(1)?.parse()?, true)
            }
        };
        results.push((
            *index,
            Recorded {
                cdr_id: id,
                outcome: Outcome::Unassigned(reason),
                duplicate,
            },
        ));
    }
    Ok(results)
}

/// Removes the unassigned rows of CDRs now recorded under a tenant.
pub(super) async fn forget_assigned(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    uuids: &[&str],
) -> Result<(), LedgerError> {
    for chunk in uuids.chunks(500) {
        let sql = format!(
            "DELETE FROM unassigned_cdrs WHERE uuid IN ({})",
            in_list(chunk.len())
        );
        let mut query = sqlx::query(&sql);
        for uuid in chunk {
            query = query.bind(*uuid);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

impl Ledger {
    /// The unassigned CDRs, oldest first, after the row `after`, at most `limit`: for the
    /// operator, never for a tenant.
    pub async fn unassigned_cdrs(
        &self,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<UnassignedCdr>, LedgerError> {
        let rows = sqlx::query(
            "SELECT id, uuid, leg, reason, named_tenant, context, domain, billsec, destination, links, raw
             FROM unassigned_cdrs WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after.unwrap_or(0))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(UnassignedCdr {
                    id: row.try_get(0)?,
                    uuid: row.try_get(1)?,
                    leg: row.try_get::<String, _>(2)?.parse()?,
                    reason: row.try_get::<String, _>(3)?.parse()?,
                    named_tenant: row.try_get(4)?,
                    context: row.try_get(5)?,
                    domain: row.try_get(6)?,
                    billsec: row.try_get(7)?,
                    destination: row.try_get(8)?,
                    links: row
                        .try_get::<String, _>(9)?
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect(),
                    raw: row.try_get(10)?,
                })
            })
            .collect()
    }
}
