//! Writing a batch of new CDRs: a few multi-row statements per table rather than one per CDR.

use super::calls::insert_links;
use super::cdrs::{Outcome, Prepared, Recorded};
use super::holds::{Cap, Settlement, SettlingCdr, lock_account, settle_holds};
use super::micros::{from_micros, now_us};
use super::unassigned::forget_assigned;
use super::{Backend, LedgerError, TransactionKind};
use crate::cdr::{Cdr, Leg};
use crate::plan::{CdrOutcome, Charge};
use esl::proto::HangupCause;
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Rows per multi-row statement: well within both databases' limits on bound parameters.
const ROWS_PER_STATEMENT: usize = 500;

/// `($1, $2, ...), ($n+1, ...)`: placeholders for `rows` rows of `columns` values.
pub(super) fn placeholders(rows: usize, columns: usize) -> String {
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

/// `$1, $2, ..., $count`: the placeholders of an `IN (...)` list.
pub(super) fn in_list(count: usize) -> String {
    (1..=count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A CDR of the batch that this batch inserted (it had not been recorded before).
struct NewCdr<'a> {
    /// Its index in the batch.
    index: usize,
    cdr: &'a Cdr,
    prepared: &'a Prepared,
    /// Its row id.
    id: i64,
}

/// A new CDR with a charge.
struct ChargedCdr<'a> {
    new: &'a NewCdr<'a>,
    /// The charge's amount in micro-units (at most what the call's hold was).
    micros: i64,
    /// Seconds billed (at most what the call's hold was for, when it capped the amount).
    billed_seconds: u64,
    charge: &'a Charge,
}

/// Writes new CDRs, their charges, the balances and the transactions with a few multi-row
/// statements. Returns what was recorded, by CDR index; CDRs recorded before are absent.
pub(super) async fn store_batch(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    batch: &[(usize, &Cdr, Prepared)],
) -> Result<HashMap<usize, Recorded>, LedgerError> {
    let recorded_at = now_us();
    let ids = insert_cdrs(tx, batch, recorded_at).await?;
    let new: Vec<NewCdr> = batch
        .iter()
        .filter_map(|(index, cdr, prepared)| {
            ids.get(&(cdr.uuid.clone(), cdr.leg)).map(|id| NewCdr {
                index: *index,
                cdr,
                prepared,
                id: *id,
            })
        })
        .collect();
    // The calls these CDRs end release their holds (locked before the accounts are), and a
    // held call is charged at most what was held for it.
    let rated: Vec<SettlingCdr> = new
        .iter()
        .filter(|new| new.prepared.outcome != CdrOutcome::PartOfCall)
        .map(|new| SettlingCdr {
            index: new.index,
            cdr_id: new.id,
            cdr: new.cdr,
            tenant: &new.prepared.tenant,
        })
        .collect();
    // Links and unassigned rows before any hold or account: every batch locks the accounts
    // last, in tenant order.
    let linked: Vec<(i64, &Cdr)> = new.iter().map(|new| (new.id, new.cdr)).collect();
    insert_links(tx, &linked).await?;
    let uuids: Vec<&str> = new.iter().map(|new| new.cdr.uuid.as_str()).collect();
    forget_assigned(tx, &uuids).await?;
    let settlement = settle_holds(tx, &rated).await?;
    let mut caps = settlement.caps.clone();
    if !settlement.late.is_empty() {
        cap_late_charges(tx, &new, &settlement, &mut caps).await?;
    }
    let charged: Vec<ChargedCdr> = new
        .iter()
        .filter_map(|new| {
            new.prepared.charge.as_ref().map(|(micros, charge)| {
                let (micros, billed_seconds) = match caps.get(&new.index) {
                    Some(cap) if cap.micros < *micros => {
                        (cap.micros, charge.billed_seconds.min(cap.seconds))
                    }
                    _ => (*micros, charge.billed_seconds),
                };
                ChargedCdr {
                    new,
                    micros,
                    billed_seconds,
                    charge,
                }
            })
        })
        .collect();
    insert_charges(tx, &charged).await?;
    // The accounts last, held until the commit: on PostgreSQL one statement.
    let balance_after = match backend {
        Backend::Postgres => debit_at_once(tx, &charged, &settlement.released, recorded_at).await?,
        Backend::Sqlite => {
            let balance_after = debit_balances(tx, &charged, &settlement.released).await?;
            insert_charge_transactions(tx, &charged, &balance_after, recorded_at).await?;
            balance_after
        }
    };
    Ok(outcomes(&new, &charged, &balance_after))
}

/// What a CDR is charged under `cap`: its charge, or the cap when that is less.
fn capped_micros(micros: i64, cap: Option<&Cap>) -> i64 {
    match cap {
        Some(cap) => micros.min(cap.micros),
        None => micros,
    }
}

/// Caps the charges of late CDRs (their holds had expired) at what their accounts can still
/// spend: each account's spendable, plus what this batch's settled holds release, minus this
/// batch's other charges (owed whatever happens), minus the late charges before it. Every
/// account the batch updates is locked here first, in tenant order, the order
/// [`debit_balances`] and [`DEBIT_AT_ONCE`] update them in.
async fn cap_late_charges(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    new: &[NewCdr<'_>],
    settlement: &Settlement,
    caps: &mut HashMap<usize, Cap>,
) -> Result<(), LedgerError> {
    let late: HashMap<usize, &Cap> = settlement
        .late
        .iter()
        .map(|(index, _, cap)| (*index, cap))
        .collect();
    let mut tenants: BTreeSet<&str> = new
        .iter()
        .filter(|new| new.prepared.charge.is_some())
        .map(|new| new.prepared.tenant.as_str())
        .collect();
    tenants.extend(settlement.released.keys().map(String::as_str));
    tenants.extend(settlement.late.iter().map(|(_, tenant, _)| tenant.as_str()));
    let mut left: HashMap<&str, i64> = HashMap::new();
    for tenant in tenants {
        let account = lock_account(tx, tenant).await?;
        let released = settlement.released.get(tenant).copied().unwrap_or(0);
        left.insert(tenant, account.spendable().saturating_add(released));
    }
    for new in new.iter().filter(|new| !late.contains_key(&new.index)) {
        if let (Some((micros, _)), Some(left)) = (
            new.prepared.charge.as_ref(),
            left.get_mut(new.prepared.tenant.as_str()),
        ) {
            *left = left.saturating_sub(capped_micros(*micros, caps.get(&new.index)));
        }
    }
    let charges: HashMap<usize, i64> = new
        .iter()
        .filter_map(|new| new.prepared.charge.as_ref().map(|(m, _)| (new.index, *m)))
        .collect();
    for (index, tenant, cap) in &settlement.late {
        let Some(left) = left.get_mut(tenant.as_str()) else {
            continue;
        };
        let cap = Cap {
            seconds: cap.seconds,
            micros: cap.micros.min((*left).max(0)),
        };
        let charged = charges
            .get(index)
            .map_or(0, |m| capped_micros(*m, Some(&cap)));
        *left = left.saturating_sub(charged);
        caps.insert(*index, cap);
    }
    Ok(())
}

/// Inserts the CDRs not recorded before; returns the row ids of those inserted, by (uuid, leg).
async fn insert_cdrs(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    batch: &[(usize, &Cdr, Prepared)],
    recorded_at: i64,
) -> Result<HashMap<(String, Leg), i64>, LedgerError> {
    let mut ids: HashMap<(String, Leg), i64> = HashMap::new();
    // In key order: two batches holding the same CDRs (a retried post beside the err-log
    // replay) wait for each other's rows in one order, never in a cycle.
    let mut in_key_order: Vec<&(usize, &Cdr, Prepared)> = batch.iter().collect();
    in_key_order
        .sort_unstable_by(|a, b| (&a.1.uuid, a.1.leg.as_str()).cmp(&(&b.1.uuid, b.1.leg.as_str())));
    for chunk in in_key_order.chunks(ROWS_PER_STATEMENT) {
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
                .bind(cdr.hangup_cause.as_ref().map(HangupCause::as_str))
                .bind(prepared.outcome.as_str())
                .bind(&cdr.raw)
                .bind(recorded_at);
        }
        for row in query.fetch_all(&mut **tx).await? {
            let leg: Leg = row.try_get::<String, _>(2)?.parse()?;
            ids.insert((row.try_get(1)?, leg), row.try_get(0)?);
        }
    }
    Ok(ids)
}

/// Inserts one charges row per charged CDR.
async fn insert_charges(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    charged: &[ChargedCdr<'_>],
) -> Result<(), LedgerError> {
    for chunk in charged.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO charges (cdr_id, plan, prefix, rate_per_minute, billed_seconds, amount_micros) VALUES {}",
            placeholders(chunk.len(), 6)
        );
        let mut query = sqlx::query(&sql);
        for charged in chunk {
            let charge = charged.charge;
            query = query
                .bind(charged.new.id)
                .bind(&charge.plan)
                .bind(&charge.prefix)
                .bind(charge.per_minute.to_string())
                .bind(charged.billed_seconds as i64)
                .bind(charged.micros);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// PostgreSQL's [`debit_balances`] and [`insert_charge_transactions`] in one statement, so the
/// accounts stay locked for it and the commit only, not for a round trip per tenant and one
/// more for the transactions. `$1`: per tenant, `[tenant, charged, released]`; `$2`: per
/// charge in batch order, `[tenant, micros, cdr id, reference]`; `$3`: when. It locks the
/// accounts in tenant order (as every batch does), debits each, and gives each charge the
/// balance after it: the account's before the batch, less the batch's charges up to it.
/// Returns (CDR id, balance after) per charge.
const DEBIT_AT_ONCE: &str = "
    WITH totals AS (
        SELECT e ->> 0 AS tenant, CAST(e ->> 1 AS BIGINT) AS charged, CAST(e ->> 2 AS BIGINT) AS released
        FROM jsonb_array_elements(CAST($1 AS JSONB)) AS e
    ), locked AS MATERIALIZED (
        SELECT tenant FROM accounts WHERE tenant IN (SELECT tenant FROM totals)
        ORDER BY tenant FOR UPDATE
    ), debited AS (
        UPDATE accounts AS a
        SET balance_micros = a.balance_micros - t.charged, held_micros = a.held_micros - t.released
        FROM totals AS t
        WHERE a.tenant = t.tenant AND a.tenant IN (SELECT tenant FROM locked)
        RETURNING a.tenant, a.balance_micros + t.charged AS before_micros
    ), charges AS (
        SELECT c.e ->> 0 AS tenant, CAST(c.e ->> 1 AS BIGINT) AS micros,
               CAST(c.e ->> 2 AS BIGINT) AS cdr_id, c.e ->> 3 AS reference, c.n
        FROM jsonb_array_elements(CAST($2 AS JSONB)) WITH ORDINALITY AS c(e, n)
    ), inserted AS (
        INSERT INTO transactions (tenant, kind, amount_micros, balance_after_micros, cdr_id, reference, created_at_us)
        SELECT c.tenant, 'charge', -c.micros,
               d.before_micros - SUM(c.micros) OVER (PARTITION BY c.tenant ORDER BY c.n),
               c.cdr_id, c.reference, $3
        FROM charges AS c JOIN debited AS d ON d.tenant = c.tenant
        ORDER BY c.n
        RETURNING cdr_id, balance_after_micros
    )
    SELECT (SELECT COUNT(*) FROM debited), cdr_id, balance_after_micros FROM inserted
    UNION ALL SELECT (SELECT COUNT(*) FROM debited), NULL, NULL";

/// What the batch does to each tenant's account, in tenant order (the order accounts are
/// locked in): (charged, released by settled holds), in micro-units.
fn totals_by_tenant<'a>(
    charged: &'a [ChargedCdr<'_>],
    released: &'a BTreeMap<String, i64>,
) -> BTreeMap<&'a str, (i64, i64)> {
    let mut totals: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for charged in charged {
        totals
            .entry(charged.new.prepared.tenant.as_str())
            .or_default()
            .0 += charged.micros;
    }
    for (tenant, micros) in released {
        totals.entry(tenant.as_str()).or_default().1 += micros;
    }
    totals
}

/// [`DEBIT_AT_ONCE`]: each charge's balance after, by CDR index.
async fn debit_at_once(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    charged: &[ChargedCdr<'_>],
    released: &BTreeMap<String, i64>,
    recorded_at: i64,
) -> Result<HashMap<usize, i64>, LedgerError> {
    let totals = totals_by_tenant(charged, released);
    if totals.is_empty() {
        return Ok(HashMap::new());
    }
    let per_tenant: Vec<serde_json::Value> = totals
        .iter()
        .map(|(tenant, (charged, released))| serde_json::json!([tenant, charged, released]))
        .collect();
    let per_charge: Vec<serde_json::Value> = charged
        .iter()
        .map(|charged| {
            let new = charged.new;
            serde_json::json!([
                new.prepared.tenant,
                charged.micros,
                new.id,
                format!("{}:{}", new.cdr.uuid, new.cdr.leg.as_str()),
            ])
        })
        .collect();
    let rows = sqlx::query(DEBIT_AT_ONCE)
        .bind(serde_json::Value::Array(per_tenant).to_string())
        .bind(serde_json::Value::Array(per_charge).to_string())
        .bind(recorded_at)
        .fetch_all(&mut **tx)
        .await?;
    let index_of: HashMap<i64, usize> = charged
        .iter()
        .map(|charged| (charged.new.id, charged.new.index))
        .collect();
    let mut balance_after = HashMap::new();
    let mut debited = 0;
    for row in &rows {
        debited = row.try_get::<i64, _>(0)?;
        if let Some(cdr_id) = row.try_get::<Option<i64>, _>(1)? {
            let index = index_of.get(&cdr_id).ok_or(sqlx::Error::RowNotFound)?;
            balance_after.insert(*index, row.try_get(2)?);
        }
    }
    // An account missing, as `fetch_one` finds it on the other path.
    if debited != totals.len() as i64 || balance_after.len() != charged.len() {
        return Err(sqlx::Error::RowNotFound.into());
    }
    Ok(balance_after)
}

/// Updates each tenant's account once, in tenant order (so concurrent batches lock accounts
/// in one order): the balance debited by the sum of its charges, what it holds reduced by what
/// its settled holds released. Returns each charge's balance-after (in micro-units, by CDR
/// index), following batch order.
async fn debit_balances(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    charged: &[ChargedCdr<'_>],
    released: &BTreeMap<String, i64>,
) -> Result<HashMap<usize, i64>, LedgerError> {
    let totals = totals_by_tenant(charged, released);
    let mut running: HashMap<&str, i64> = HashMap::new();
    for (tenant, (total, released)) in &totals {
        let after: i64 = sqlx::query(
            "UPDATE accounts SET balance_micros = balance_micros - $1, held_micros = held_micros - $2
             WHERE tenant = $3 RETURNING balance_micros",
        )
        .bind(*total)
        .bind(*released)
        .bind(*tenant)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
        running.insert(tenant, after + total);
    }
    let mut balance_after = HashMap::new();
    for charged in charged {
        let balance = running
            .get_mut(charged.new.prepared.tenant.as_str())
            .expect("every charged tenant was updated");
        *balance -= charged.micros;
        balance_after.insert(charged.new.index, *balance);
    }
    Ok(balance_after)
}

/// Inserts one charge transaction per charged CDR, with its balance-after.
async fn insert_charge_transactions(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    charged: &[ChargedCdr<'_>],
    balance_after: &HashMap<usize, i64>,
    recorded_at: i64,
) -> Result<(), LedgerError> {
    for chunk in charged.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO transactions (tenant, kind, amount_micros, balance_after_micros, cdr_id, reference, created_at_us) VALUES {}",
            placeholders(chunk.len(), 7)
        );
        let mut query = sqlx::query(&sql);
        for charged in chunk {
            let new = charged.new;
            query = query
                .bind(&new.prepared.tenant)
                .bind(TransactionKind::Charge.as_str())
                .bind(-charged.micros)
                .bind(balance_after[&new.index])
                .bind(new.id)
                .bind(format!("{}:{}", new.cdr.uuid, new.cdr.leg.as_str()))
                .bind(recorded_at);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// What recording each new CDR did, by CDR index.
fn outcomes(
    new: &[NewCdr<'_>],
    charged: &[ChargedCdr<'_>],
    balance_after: &HashMap<usize, i64>,
) -> HashMap<usize, Recorded> {
    let charges: HashMap<usize, &ChargedCdr> = charged.iter().map(|c| (c.new.index, c)).collect();
    let mut recorded = HashMap::new();
    for new in new {
        let outcome = match charges.get(&new.index) {
            Some(charged) => Outcome::Charged {
                amount: from_micros(charged.micros),
                billed_seconds: charged.billed_seconds,
                balance_after: from_micros(balance_after[&new.index]),
            },
            None => Outcome::NotCharged(new.prepared.outcome),
        };
        recorded.insert(
            new.index,
            Recorded {
                cdr_id: new.id,
                outcome,
                duplicate: false,
            },
        );
    }
    recorded
}
