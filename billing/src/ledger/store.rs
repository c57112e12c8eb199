//! Writing a batch of new CDRs: a few multi-row statements per table rather than one per CDR.

use super::LedgerError;
use super::cdrs::{Outcome, Prepared, Recorded};
use super::micros::{from_micros, now_us};
use crate::cdr::Cdr;
use sqlx::Row;
use std::collections::HashMap;

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
pub(super) async fn store_batch(
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
