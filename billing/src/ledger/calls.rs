//! Calls: the legs stored CDRs name each other by, and a call's legs found from any one of them.
//!
//! A call is rated once, on the leg that reached the outside (the trunk leg,
//! [`Cdr::reaches_outside`](crate::Cdr::reaches_outside)); its other linked legs are stored
//! with [`CdrOutcome::PartOfCall`](crate::CdrOutcome::PartOfCall). Which leg is charged is
//! decided by the leg alone, whatever order the legs arrive in, and the leg's own row is
//! unique in the database: no interleaving of legs, sources, batches or processes can charge
//! a call twice.

use super::cdrs::CdrRecord;
use super::store::placeholders;
use super::{Ledger, LedgerError};
use crate::cdr::Cdr;
use std::collections::BTreeSet;

/// Legs followed from one, at most (a call with transfers has a few).
const MAX_LEGS: usize = 64;

/// Stores the links of newly inserted CDRs (by row id).
pub(super) async fn insert_links(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    new: &[(i64, &Cdr)],
) -> Result<(), LedgerError> {
    let rows: Vec<(i64, &str)> = new
        .iter()
        .flat_map(|(id, cdr)| cdr.links.iter().map(move |link| (*id, link.as_str())))
        .collect();
    for chunk in rows.chunks(500) {
        let sql = format!(
            "INSERT INTO cdr_links (cdr_id, other_uuid) VALUES {} ON CONFLICT DO NOTHING",
            placeholders(chunk.len(), 2)
        );
        let mut query = sqlx::query(&sql);
        for (id, link) in chunk {
            query = query.bind(*id).bind(*link);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

impl Ledger {
    /// Every stored leg of the call `uuid` is a leg of, `uuid`'s own included, oldest first:
    /// the legs it names, those naming it, and so on. Only a tenant's own legs are returned.
    pub async fn call(&self, tenant: &str, uuid: &str) -> Result<Vec<CdrRecord>, LedgerError> {
        let mut seen: BTreeSet<String> = BTreeSet::from([uuid.to_owned()]);
        let mut frontier = vec![uuid.to_owned()];
        while let Some(next) = frontier.pop() {
            if seen.len() >= MAX_LEGS {
                break;
            }
            let named = sqlx::query_scalar::<_, String>(
                "SELECT l.other_uuid FROM cdrs c JOIN cdr_links l ON l.cdr_id = c.id
                 WHERE c.uuid = $1 AND c.tenant = $2
                 UNION
                 SELECT c.uuid FROM cdr_links l JOIN cdrs c ON c.id = l.cdr_id
                 WHERE l.other_uuid = $1 AND c.tenant = $2",
            )
            .bind(&next)
            .bind(tenant)
            .fetch_all(&self.pool)
            .await?;
            for leg in named {
                if seen.insert(leg.clone()) {
                    frontier.push(leg);
                }
            }
        }
        let mut legs = Vec::new();
        for leg in &seen {
            legs.extend(self.cdrs_of_uuid(tenant, leg).await?);
        }
        legs.sort_by_key(|record| record.id);
        Ok(legs)
    }
}
