//! Prepaid reservations: credit held for a call in progress, a slice at a time.
//!
//! [`Ledger::reserve`] (in `reserve`) holds the cost of a call's first slice (connect fee included; less
//! when less credit remains) against its account, [`Ledger::extend_hold`] holds the next
//! slice before the current one ends, and the call's charged CDR settles the hold (charging
//! at most what was held) in the transaction that records it. What a tenant may still spend
//! is `balance + credit limit - every open hold` ([`Balance::available`]).
//!
//! Every hold is taken or grown under its account row's lock (the `UPDATE` that opens each
//! transaction: a row lock on PostgreSQL, the write lock on SQLite), so two processes cannot
//! both spend the last cent; locks are taken hold first, account second, everywhere. A hold
//! leaves `open` exactly once (`UPDATE ... WHERE state = 'open'`): settled by a CDR, or
//! expired ([`Ledger::expire_hold`]) when its call is gone without one.

use super::micros::{from_micros, now_us, to_micros};
use super::store::in_list;
use super::{Ledger, LedgerError, Plans};
use crate::plan::{Authorization, NoCharge, RatePlan};
use crate::stored::stored_text;
use rust_decimal::Decimal;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::time::Duration;

stored_text! {
    /// Where a hold is in its life (`holds.state`).
    ///
    /// ```
    /// use billing::HoldState;
    /// assert_eq!(HoldState::Open.as_str(), "open");
    /// assert_eq!("expired".parse(), Ok(HoldState::Expired));
    /// ```
    pub enum HoldState("hold state") {
        /// Credit held for a call in progress (or whose CDR has not arrived).
        Open = "open",
        /// Released by the call's charged CDR, which was charged at most the hold.
        Settled = "settled",
        /// Released without a CDR: the call was gone and none had arrived.
        Expired = "expired",
    }
}

/// Credit held for one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// Row id: what the dialplan names the hold by, and what [`Ledger::extend_hold`] takes.
    pub id: i64,
    /// The tenant whose account holds it.
    pub tenant: String,
    /// The channel the call was authorised on (the dialplan's caller leg).
    pub call_uuid: String,
    /// The number dialled.
    pub destination: String,
    /// Seconds after answer the hold pays for (the call's limit).
    pub seconds: u64,
    /// What is held: the cost of a call of `seconds`.
    pub amount: Decimal,
    /// Open, settled or expired.
    pub state: HoldState,
    /// Last taken or extended, Unix microseconds.
    pub touched_us: i64,
    /// When it was taken, Unix microseconds: with the id, what tells it apart from a hold
    /// given the same id after a database crash lost this one ([`HoldKey`]).
    pub created_us: i64,
}

impl Hold {
    /// What [`Ledger::extend_hold`] finds this hold by.
    pub fn key(&self) -> HoldKey<'_> {
        HoldKey {
            id: self.id,
            tenant: &self.tenant,
            created_us: Some(self.created_us),
        }
    }
}

/// Which hold [`Ledger::extend_hold`] grows: the one of this id, of this tenant, and taken at
/// `created_us` when that is known. A hold id alone is not enough: ids are a sequence, and a
/// hold committed asynchronously ([`HoldCommit`](crate::HoldCommit)) that a crash of the
/// database lost can leave its id to be given again, to a new hold of any tenant.
///
/// ```
/// use billing::HoldKey;
/// let key = HoldKey { id: 42, tenant: "acme", created_us: Some(1_700_000_000_000_000) };
/// assert_eq!(key.tenant, "acme");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldKey<'a> {
    /// The hold's id.
    pub id: i64,
    /// The tenant it must belong to.
    pub tenant: &'a str,
    /// When it was taken (Unix µs), if known: a hold taken at another moment is not it.
    pub created_us: Option<i64>,
}

/// What [`Ledger::reserve`] decided for a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// The destination costs nothing: no hold, no limit.
    Unlimited,
    /// Credit held: hang up `seconds` after answer unless extended.
    Held(Hold),
    /// Not even the first billed increment is affordable: refuse the call.
    NoCredit,
    /// The plan has no rate for the destination: refuse the call.
    NoRoute,
}

/// What [`Ledger::extend_hold`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extension {
    /// Held for more: the call may now last `seconds` after answer in all.
    Extended {
        /// The call's new limit, from answer.
        seconds: u64,
        /// What is held for it now.
        amount: Decimal,
    },
    /// No credit for more: the call ends at its limit, `seconds` after answer.
    Exhausted {
        /// The call's limit, unchanged.
        seconds: u64,
    },
    /// The hold is settled or expired (its call ended), or there is no such hold.
    Closed,
}

/// The state text of open holds, written into SQL (so PostgreSQL matches the partial indexes).
pub(super) const OPEN: &str = HoldState::Open.as_str();

impl Ledger {
    /// Holds the next `slice` of the call held by `hold` (less when less credit remains)
    /// beyond `from`, the limit the caller knows the call to have (seconds after answer),
    /// priced as its first slice was. A hold that is not open, or not the one `hold` names
    /// (another tenant's, or taken at another moment), is [`Extension::Closed`].
    ///
    /// Idempotent by `from`: a hold already longer than `from` was extended by an earlier
    /// attempt whose answer the caller lost (a broken connection after the commit), so it is
    /// reported as it is, [`Extension::Extended`], and not grown again. A retry therefore
    /// never holds a second slice. A hold shorter than `from` (a limit the switch enforces
    /// beyond what is held, which our callers never pass) is grown from `from` as far as the
    /// credit reaches.
    pub async fn extend_hold(
        &self,
        hold: HoldKey<'_>,
        from: u64,
        slice: Duration,
    ) -> Result<Extension, LedgerError> {
        // The plans before a connection is taken: reading them may need one of the pool's
        // (SQLite's pool has one), and the hold must be its tenant's (below).
        let (plan, plans) = match self.tenant_plan(hold.tenant).await {
            // No such account: no hold of it either.
            Err(LedgerError::UnknownTenant(_)) => return Ok(Extension::Closed),
            planned => planned?,
        };
        let mut connection = self.pool.acquire().await?;
        let mut tx = self.begin_without_flush(&mut connection).await?;
        // The hold's row first (the lock order everywhere): a settlement racing this one
        // either waits for it or has closed the hold already.
        let taken_at = if hold.created_us.is_some() {
            "AND created_us = $3"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE holds SET touched_us = touched_us
             WHERE id = $1 AND tenant = $2 {taken_at} AND state = '{OPEN}'
             RETURNING id, tenant, call_uuid, destination, seconds, amount_micros, state, touched_us, created_us, rated_at"
        );
        let mut query = sqlx::query(&sql).bind(hold.id).bind(hold.tenant);
        if let Some(created_us) = hold.created_us {
            query = query.bind(created_us);
        }
        let row = query.fetch_optional(&mut *tx).await?;
        let Some(row) = row else {
            tx.rollback().await?;
            // Closed, perhaps by a settlement that is not on disk yet.
            self.wait_for_disk(&mut connection).await?;
            return Ok(Extension::Closed);
        };
        let current = hold_of(&row)?;
        if current.seconds > from {
            tx.rollback().await?;
            // Grown by an attempt whose answer was lost: it may not be on disk yet, and nobody
            // was told the money changed.
            self.wait_for_disk(&mut connection).await?;
            self.money_changed(&current.tenant);
            return Ok(Extension::Extended {
                seconds: current.seconds,
                amount: current.amount,
            });
        }
        let rated_at: i64 = row.try_get(9)?;
        let plans = self.in_force(plans, rated_at);
        let account = lock_account(&mut tx, &current.tenant).await?;
        let current_micros = to_micros(current.amount)?;
        // What this call may hold in all: what is free, plus what it holds already.
        let available = account.spendable() + current_micros;
        let grown = slice_within(
            &plans[&plan],
            &plans,
            &current.destination,
            rated_at,
            from,
            slice,
            available,
        )?;
        match grown {
            Some((seconds, micros)) if seconds > from => {
                sqlx::query(
                    "UPDATE holds SET seconds = $1, amount_micros = $2, touched_us = $3 WHERE id = $4",
                )
                .bind(seconds as i64)
                .bind(micros)
                .bind(now_us())
                .bind(current.id)
                .execute(&mut *tx)
                .await?;
                add_held(&mut tx, &current.tenant, micros - current_micros).await?;
                tx.commit().await?;
                self.money_changed(&current.tenant);
                self.wait_for_disk(&mut connection).await?;
                Ok(Extension::Extended {
                    seconds,
                    amount: from_micros(micros),
                })
            }
            _ => {
                tx.rollback().await?;
                // The credit it read may be others' writes not on disk yet.
                self.wait_for_disk(&mut connection).await?;
                Ok(Extension::Exhausted {
                    seconds: current.seconds,
                })
            }
        }
    }

    /// Releases an open hold whose call is gone without a CDR; `true` if this call did (a
    /// hold expires once, and never after it was settled). A CDR arriving later is charged
    /// at most what the hold was.
    pub async fn expire_hold(&self, hold: i64) -> Result<bool, LedgerError> {
        let mut connection = self.pool.acquire().await?;
        let mut tx = self.begin_without_flush(&mut connection).await?;
        // The hold's row, then its account's (the lock order everywhere).
        let expired = sqlx::query(&format!(
            "UPDATE holds SET state = '{}', closed_us = $1 WHERE id = $2 AND state = '{OPEN}'
             RETURNING tenant, amount_micros",
            HoldState::Expired.as_str()
        ))
        .bind(now_us())
        .bind(hold)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = expired else {
            tx.rollback().await?;
            // Closed already, perhaps by a settlement that is not on disk yet.
            self.wait_for_disk(&mut connection).await?;
            return Ok(false);
        };
        let tenant: String = row.try_get(0)?;
        add_held(&mut tx, &tenant, -row.try_get::<i64, _>(1)?).await?;
        tx.commit().await?;
        self.money_changed(&tenant);
        self.wait_for_disk(&mut connection).await?;
        Ok(true)
    }

    /// Open holds whose call should have ended `grace` ago (taken or extended longer ago than
    /// their seconds plus `grace`), oldest first, at most `limit`: candidates for
    /// [`Ledger::expire_hold`] once the live channel list confirms their call is gone.
    pub async fn holds_due(&self, grace: Duration, limit: u32) -> Result<Vec<Hold>, LedgerError> {
        let now = now_us();
        let grace_us = i64::try_from(grace.as_micros()).unwrap_or(i64::MAX);
        let rows = sqlx::query(&format!(
            "{SELECT_HOLD} WHERE state = '{OPEN}' AND touched_us < $1
             AND touched_us + seconds * 1000000 < $1 ORDER BY touched_us LIMIT $2"
        ))
        .bind(now.saturating_sub(grace_us))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(hold_of).collect()
    }

    /// A hold by its id, in whatever state.
    pub async fn hold(&self, hold: i64) -> Result<Option<Hold>, LedgerError> {
        let row = sqlx::query(&format!("{SELECT_HOLD} WHERE id = $1"))
            .bind(hold)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(hold_of).transpose()
    }

    /// A tenant's holds, by id, after `after`, at most `limit`.
    pub async fn holds(
        &self,
        tenant: &str,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Hold>, LedgerError> {
        let rows = sqlx::query(&format!(
            "{SELECT_HOLD} WHERE tenant = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(tenant)
        .bind(after.unwrap_or(0))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(hold_of).collect()
    }
}

pub(super) const SELECT_HOLD: &str = "SELECT id, tenant, call_uuid, destination, seconds, amount_micros, state, touched_us, created_us FROM holds";

pub(super) fn hold_of(row: &AnyRow) -> Result<Hold, LedgerError> {
    Ok(Hold {
        id: row.try_get(0)?,
        tenant: row.try_get(1)?,
        call_uuid: row.try_get(2)?,
        destination: row.try_get(3)?,
        seconds: row.try_get::<i64, _>(4)?.max(0) as u64,
        amount: from_micros(row.try_get(5)?),
        state: row.try_get::<String, _>(6)?.parse()?,
        touched_us: row.try_get(7)?,
        created_us: row.try_get(8)?,
    })
}

/// An account's money, read under its row's lock.
pub(super) struct LockedAccount {
    /// Balance plus credit limit, in micro-units.
    pub(super) available: i64,
    /// What its open holds add up to, in micro-units.
    pub(super) held: i64,
}

impl LockedAccount {
    /// What may still be held or charged: balance + credit limit - held.
    pub(super) fn spendable(&self) -> i64 {
        self.available.saturating_sub(self.held)
    }
}

/// Locks the account row for the rest of the transaction (a write that changes nothing: a
/// row lock on PostgreSQL, the database's write lock on SQLite) and reads it.
pub(super) async fn lock_account(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant: &str,
) -> Result<LockedAccount, LedgerError> {
    let row = sqlx::query(
        "UPDATE accounts SET balance_micros = balance_micros WHERE tenant = $1
         RETURNING balance_micros, credit_limit_micros, held_micros",
    )
    .bind(tenant)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| LedgerError::UnknownTenant(tenant.to_owned()))?;
    let balance: i64 = row.try_get(0)?;
    let credit: i64 = row.try_get(1)?;
    Ok(LockedAccount {
        available: balance.saturating_add(credit),
        held: row.try_get(2)?,
    })
}

/// Adds `delta` (micro-units; negative to release) to what `tenant`'s holds add up to, in the
/// transaction that opens, grows or closes them.
pub(super) async fn add_held(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant: &str,
    delta: i64,
) -> Result<(), LedgerError> {
    if delta != 0 {
        sqlx::query("UPDATE accounts SET held_micros = held_micros + $1 WHERE tenant = $2")
            .bind(delta)
            .bind(tenant)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The longest call, up to `from + slice` seconds, whose cost is within `available`
/// (micro-units), and that cost; `None` when not even `from` plus one billed increment fits.
pub(super) fn slice_within(
    plan: &RatePlan,
    plans: &Plans,
    destination: &str,
    at: i64,
    from: u64,
    slice: Duration,
    available: i64,
) -> Result<Option<(u64, i64)>, LedgerError> {
    let target = from.saturating_add(slice.as_secs().max(1));
    let affordable =
        match plan.authorize_with(plans, destination, at, from_micros(available.max(0))) {
            Ok(Authorization::Seconds(seconds)) => seconds,
            // Free now (a plan changed under a held call): hold the slice at no cost.
            Ok(Authorization::Unlimited) | Err(NoCharge::Free { .. }) => target,
            Err(_) => return Ok(None),
        };
    let seconds = target.min(affordable);
    if seconds == 0 || seconds <= from {
        return Ok(None);
    }
    let cost = match plan.rate_call_with(plans, destination, Some(at), seconds * 1000) {
        Ok(charge) => to_micros(charge.amount.amount)?,
        Err(NoCharge::Free { .. }) => 0,
        Err(_) => return Ok(None),
    };
    Ok(Some((seconds, cost)))
}

/// A CDR this batch inserted, as settlement sees it.
pub(super) struct SettlingCdr<'a> {
    /// Its index in the batch.
    pub(super) index: usize,
    /// Its row id.
    pub(super) cdr_id: i64,
    pub(super) cdr: &'a crate::cdr::Cdr,
    pub(super) tenant: &'a str,
}

/// The most a settled call may be charged: what its hold paid for.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cap {
    pub(super) seconds: u64,
    pub(super) micros: i64,
}

/// Settles the holds of the calls the rated CDRs (not those [part of a
/// call](crate::CdrOutcome::PartOfCall)) end: each CDR closes the hold, on its own UUID or a
/// leg it names, to its destination (or the only one there is). Returns, by CDR index, what
/// its charge is capped at, by tenant what the settled holds released (for the account
/// update that charges them), and the CDRs of expired holds (late), whose caps the caller
/// sets once it knows the batch's other charges.
pub(super) async fn settle_holds(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    rated: &[SettlingCdr<'_>],
) -> Result<Settlement, LedgerError> {
    use std::collections::HashSet;
    let mut settlement = Settlement::default();
    let uuids: Vec<&str> = rated
        .iter()
        .flat_map(|s| {
            std::iter::once(s.cdr.uuid.as_str()).chain(s.cdr.links.iter().map(String::as_str))
        })
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut candidates: Vec<(i64, String, String, String)> = Vec::new();
    for chunk in uuids.chunks(500) {
        let sql = format!(
            "SELECT id, tenant, call_uuid, destination FROM holds
             WHERE call_uuid IN ({}) AND cdr_id IS NULL AND state <> '{}'",
            in_list(chunk.len()),
            HoldState::Settled.as_str()
        );
        let mut query = sqlx::query(&sql);
        for uuid in chunk {
            query = query.bind(*uuid);
        }
        for row in query.fetch_all(&mut **tx).await? {
            candidates.push((
                row.try_get(0)?,
                row.try_get(1)?,
                row.try_get(2)?,
                row.try_get(3)?,
            ));
        }
    }
    if candidates.is_empty() {
        return Ok(settlement);
    }
    let mut taken = HashSet::new();
    let mut chosen_holds: Vec<(i64, &str, &SettlingCdr<'_>)> = Vec::new();
    for settling in rated {
        let cdr = settling.cdr;
        let of_call: Vec<&(i64, String, String, String)> = candidates
            .iter()
            .filter(|(id, tenant, call, _)| {
                !taken.contains(id)
                    && tenant == settling.tenant
                    && (*call == cdr.uuid || cdr.links.contains(call))
            })
            .collect();
        let chosen = of_call
            .iter()
            .find(|(_, _, _, destination)| Some(destination.as_str()) == cdr.destination.as_deref())
            .or(if of_call.len() == 1 {
                of_call.first()
            } else {
                None
            });
        let Some((hold, tenant, _, _)) = chosen else {
            continue;
        };
        taken.insert(*hold);
        chosen_holds.push((*hold, tenant.as_str(), settling));
    }
    // Closed in id order: two batches settling the same holds lock them in one order.
    chosen_holds.sort_unstable_by_key(|(hold, _, _)| *hold);
    for (hold, tenant, settling) in chosen_holds {
        match settle_one(tx, hold, settling.cdr_id).await? {
            Closing::Settled(cap) => {
                *settlement.released.entry(tenant.to_owned()).or_default() += cap.micros;
                settlement.caps.insert(settling.index, cap);
            }
            Closing::Late(cap) => settlement
                .late
                .push((settling.index, tenant.to_owned(), cap)),
            Closing::Closed => {}
        }
    }
    settlement.late.sort_unstable_by_key(|(index, _, _)| *index);
    Ok(settlement)
}

/// What settling a batch's holds decided.
#[derive(Default)]
pub(super) struct Settlement {
    /// By CDR index: the most its charge may be.
    pub(super) caps: std::collections::HashMap<usize, Cap>,
    /// By tenant: what the holds settled released, in micro-units.
    pub(super) released: std::collections::BTreeMap<String, i64>,
    /// CDRs of expired holds, in batch order: (CDR index, tenant, what the hold paid for).
    /// Their charge is capped by the caller too, at what the account can still spend once
    /// the batch's other charges are counted (see `store::cap_late_charges`).
    pub(super) late: Vec<(usize, String, Cap)>,
}

/// What [`settle_one`] did with a hold.
enum Closing {
    /// It was open: now settled; the charge is capped at what it held.
    Settled(Cap),
    /// It had expired: its late CDR is capped at what it held (and at what may be spent).
    Late(Cap),
    /// Settled already, or given its late CDR already.
    Closed,
}

/// Closes one hold for a CDR: an open one is settled, an expired one is given its late CDR.
async fn settle_one(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    hold: i64,
    cdr_id: i64,
) -> Result<Closing, LedgerError> {
    let settled = sqlx::query(&format!(
        "UPDATE holds SET state = '{}', closed_us = $1, cdr_id = $2
         WHERE id = $3 AND state = '{OPEN}' AND cdr_id IS NULL RETURNING seconds, amount_micros",
        HoldState::Settled.as_str()
    ))
    .bind(now_us())
    .bind(cdr_id)
    .bind(hold)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(row) = settled {
        return Ok(Closing::Settled(Cap {
            seconds: row.try_get::<i64, _>(0)?.max(0) as u64,
            micros: row.try_get(1)?,
        }));
    }
    let late = sqlx::query(&format!(
        "UPDATE holds SET cdr_id = $1 WHERE id = $2 AND state = '{}' AND cdr_id IS NULL
         RETURNING seconds, amount_micros",
        HoldState::Expired.as_str()
    ))
    .bind(cdr_id)
    .bind(hold)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = late else {
        return Ok(Closing::Closed);
    };
    Ok(Closing::Late(Cap {
        seconds: row.try_get::<i64, _>(0)?.max(0) as u64,
        micros: row.try_get(1)?,
    }))
}
