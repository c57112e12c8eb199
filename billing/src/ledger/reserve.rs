//! Taking holds: [`Ledger::reserve_batch`] authorises many calls of one tenant in one
//! transaction under the account row's lock, and [`Ledger::reserve`] combines the
//! reservations of a tenant that arrive together into such batches.
//!
//! Every authorisation of a tenant takes the same row lock, so a burst of calls is served one
//! transaction after another: with a transaction each, the last of 200 waits for 199 commits.
//! Combined, the calls that arrive while one batch commits go together in the next (group
//! commit): the lock is taken once per batch, and the new holds written by one statement.
//!
//! On PostgreSQL the row lock is held as briefly as it can be: a batch writes its holds
//! (full slices) first, then a conditional `UPDATE` of the account row adds their cost to
//! what it holds only if balance + credit limit still covers it, checked on the row's latest
//! version once any other lock on it is released; the commit follows at once. When the credit
//! runs out inside the batch, the same transaction, under the lock the `UPDATE` took, cuts
//! the holds to what is left in order (a shorter slice, then none) before it commits. A
//! batch with a call held already takes the exact path: lock, read, size each slice, write.

use super::holds::{OPEN, add_held, hold_of, lock_account, slice_within};
use super::micros::{from_micros, now_us};
use super::{Backend, Ledger, LedgerError, Plans};
use crate::ledger::{Hold, HoldState, Reservation};
use crate::plan::{NoCharge, RatePlan};
use sqlx::Row;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::oneshot;

/// One call to authorise: what [`Ledger::reserve_batch`] takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReserveRequest {
    /// The channel the call is authorised on.
    pub call_uuid: String,
    /// The number dialled.
    pub destination: String,
    /// When it is rated, Unix seconds.
    pub at: i64,
    /// The first slice to hold.
    pub slice: Duration,
}

/// Most holds written (or calls looked up) by one statement: five values a hold, well under
/// every driver's limit on parameters.
const INSERT_CHUNK: usize = 500;

/// PostgreSQL's batch of new holds: `$1` the tenant, `$2` now (µs), `$3` the holds as a
/// JSON array of `[call_uuid, destination, rated_at, seconds, amount_micros]`. A call held
/// already is left out (the caller sees fewer rows and rolls back), each looked up by the
/// unique index.
const INSERT_BATCH: &str = "
    INSERT INTO holds (tenant, call_uuid, destination, rated_at, seconds, amount_micros, state, created_us, touched_us)
    SELECT $1, e ->> 0, e ->> 1, CAST(e ->> 2 AS BIGINT), CAST(e ->> 3 AS BIGINT),
           CAST(e ->> 4 AS BIGINT), 'open', $2, $2
    FROM jsonb_array_elements(CAST($3 AS JSONB)) AS e
    WHERE NOT EXISTS (
        SELECT 1 FROM holds AS h WHERE h.call_uuid = e ->> 0 AND h.destination = e ->> 1)
    RETURNING id, call_uuid, destination";

/// Removes the holds `$1` (a JSON array of ids) that a batch wrote and the credit did not
/// cover, before its transaction commits.
const DELETE_REFUSED: &str = "
    DELETE FROM holds WHERE id IN (SELECT CAST(value AS BIGINT) FROM jsonb_array_elements_text(CAST($1 AS JSONB)))";

/// Adds `$1` to what `$2`'s holds add up to if its balance + credit limit still covers it,
/// checked on the row as it is once any lock on it is released. No row: it does not.
const TAKE_FROM_ACCOUNT: &str = "
    UPDATE accounts SET held_micros = held_micros + $1
    WHERE tenant = $2 AND balance_micros + credit_limit_micros - held_micros >= $1
    RETURNING held_micros";

/// The holds of the calls in `$1` (a JSON array of `[call_uuid, destination]`), on PostgreSQL.
const HELD_ALREADY_POSTGRES: &str = "
    SELECT h.id, h.tenant, h.call_uuid, h.destination, h.seconds, h.amount_micros, h.state, h.touched_us
    FROM jsonb_array_elements(CAST($1 AS JSONB)) AS c (e)
    JOIN holds AS h ON h.call_uuid = c.e ->> 0 AND h.destination = c.e ->> 1";

/// The holds of the calls in `$1` (a JSON array of `[call_uuid, destination]`), on SQLite.
const HELD_ALREADY_SQLITE: &str = "
    SELECT h.id, h.tenant, h.call_uuid, h.destination, h.seconds, h.amount_micros, h.state, h.touched_us
    FROM json_each($1) AS c
    JOIN holds AS h ON h.call_uuid = json_extract(c.value, '$[0]') AND h.destination = json_extract(c.value, '$[1]')";

/// A batch of one tenant's calls and the plans that price them.
#[derive(Clone, Copy)]
struct Priced<'a> {
    tenant: &'a str,
    plan: &'a RatePlan,
    plans: &'a Plans,
    requests: &'a [ReserveRequest],
}

/// Reservations waiting for their tenant's next batch; a tenant is present while a task
/// drains its queue.
#[derive(Debug, Default)]
pub(super) struct Combiner {
    queues: Mutex<HashMap<String, Vec<Waiting>>>,
}

#[derive(Debug)]
struct Waiting {
    request: ReserveRequest,
    reply: oneshot::Sender<Result<Reservation, LedgerError>>,
}

/// Removes a tenant's queue when its drain task ends any other way than by emptying it (a
/// panic, the runtime shutting down): the waiters' replies are dropped, so they get an error
/// at once, and the next reservation starts a new task instead of queueing forever.
struct DrainGuard {
    combiner: std::sync::Arc<Combiner>,
    tenant: String,
    done: bool,
}

impl Drop for DrainGuard {
    fn drop(&mut self) {
        if !self.done {
            self.combiner
                .queues
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&self.tenant);
        }
    }
}

impl Ledger {
    /// Holds the cost of the first `slice` of a call of `tenant` to `destination` (rated at
    /// `at`, Unix seconds), or less when less credit remains. Idempotent per (`call_uuid`,
    /// `destination`): a lookup repeated for the same call returns its hold as it is; a call
    /// another tenant holds already is refused ([`Reservation::NoCredit`]). Reservations of
    /// one tenant made at the same time are written together ([`Ledger::reserve_batch`]).
    ///
    /// ```no_run
    /// # async fn demo(ledger: billing::Ledger) -> Result<(), billing::LedgerError> {
    /// use billing::Reservation;
    /// use std::time::Duration;
    ///
    /// match ledger.reserve("demo", "6f1d...", "442079460000", 1_795_261_109, Duration::from_secs(300)).await? {
    ///     Reservation::Held(hold) => println!("hang up {} s after answer (hold {})", hold.seconds, hold.id),
    ///     Reservation::Unlimited => println!("free"),
    ///     Reservation::NoCredit | Reservation::NoRoute => println!("refuse"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn reserve(
        &self,
        tenant: &str,
        call_uuid: &str,
        destination: &str,
        at: i64,
        slice: Duration,
    ) -> Result<Reservation, LedgerError> {
        let request = ReserveRequest {
            call_uuid: call_uuid.to_owned(),
            destination: destination.to_owned(),
            at,
            slice,
        };
        let (reply, answer) = oneshot::channel();
        let first = {
            let mut queues = self
                .reservations
                .queues
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            match queues.get_mut(tenant) {
                Some(queue) => {
                    queue.push(Waiting { request, reply });
                    false
                }
                None => {
                    queues.insert(tenant.to_owned(), vec![Waiting { request, reply }]);
                    true
                }
            }
        };
        if first {
            // A task of its own: a caller giving up (a lookup's deadline) never strands the
            // reservations waiting behind it.
            tokio::spawn(self.clone().drain(tenant.to_owned()));
        }
        // No answer: the drain task died (its guard dropped the queue).
        answer
            .await
            .unwrap_or(Err(LedgerError::Corrupt(super::Corruption::MissingOutcome)))
    }

    /// Serves `tenant`'s queue a batch at a time until it is empty.
    async fn drain(self, tenant: String) {
        let mut guard = DrainGuard {
            combiner: self.reservations.clone(),
            tenant: tenant.clone(),
            done: false,
        };
        // Calls that arrive together (a burst of lookups) join the first batch rather than
        // waiting behind a batch of one: the task lets the others run while the queue grows.
        self.let_queue_fill(&tenant).await;
        loop {
            let mut batch = {
                let mut queues = self
                    .reservations
                    .queues
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                let Some(queue) = queues.get_mut(&tenant) else {
                    guard.done = true;
                    return;
                };
                if queue.is_empty() {
                    queues.remove(&tenant);
                    guard.done = true;
                    return;
                }
                std::mem::take(queue)
            };
            // A caller that gave up (its lookup's deadline passed) was answered already: its
            // call is refused, so nothing is held for it.
            batch.retain(|waiting| !waiting.reply.is_closed());
            if batch.is_empty() {
                continue;
            }
            let requests: Vec<ReserveRequest> = batch.iter().map(|w| w.request.clone()).collect();
            match self.reserve_batch(&tenant, &requests).await {
                Ok(reservations) => {
                    // A caller that gave up while its batch was written was answered already
                    // (its call refused). Its hold stays for the sweeper, which expires it
                    // once the live channel list confirms the call is gone: released here, it
                    // could be a hold another lookup of the same call (a retry, on any
                    // process) was told of meanwhile.
                    for (waiting, reservation) in batch.into_iter().zip(reservations) {
                        let _ = waiting.reply.send(Ok(reservation));
                    }
                }
                // Errors are not shared: each call learns its own (the database's, mostly).
                Err(error) if batch.len() == 1 => {
                    if let Some(waiting) = batch.into_iter().next() {
                        let _ = waiting.reply.send(Err(error));
                    }
                }
                Err(_) => {
                    for waiting in batch {
                        if waiting.reply.is_closed() {
                            continue;
                        }
                        let alone = self
                            .reserve_batch(&tenant, std::slice::from_ref(&waiting.request))
                            .await
                            .and_then(|mut r| {
                                r.pop()
                                    .ok_or(LedgerError::Corrupt(super::Corruption::MissingOutcome))
                            });
                        let _ = waiting.reply.send(alone);
                    }
                }
            }
        }
    }

    /// Yields to the runtime while `tenant`'s queue keeps growing, a few times at most: no
    /// timer, so a lone reservation is not delayed.
    async fn let_queue_fill(&self, tenant: &str) {
        let queued = || {
            self.reservations
                .queues
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(tenant)
                .map_or(0, Vec::len)
        };
        let mut before = queued();
        for _ in 0..8 {
            tokio::task::yield_now().await;
            let now = queued();
            if now == before {
                return;
            }
            before = now;
        }
    }

    /// Authorises `requests`, calls of `tenant`, in order, in one transaction: each as
    /// [`Ledger::reserve`] would, the earlier ones first served from the credit.
    ///
    /// ```no_run
    /// # async fn demo(ledger: billing::Ledger) -> Result<(), billing::LedgerError> {
    /// use billing::ReserveRequest;
    /// use std::time::Duration;
    ///
    /// let calls: Vec<ReserveRequest> = (0..3)
    ///     .map(|i| ReserveRequest {
    ///         call_uuid: format!("call-{i}"),
    ///         destination: "442079460000".into(),
    ///         at: 1_795_261_109,
    ///         slice: Duration::from_secs(300),
    ///     })
    ///     .collect();
    /// for reservation in ledger.reserve_batch("demo", &calls).await? {
    ///     println!("{reservation:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn reserve_batch(
        &self,
        tenant: &str,
        requests: &[ReserveRequest],
    ) -> Result<Vec<Reservation>, LedgerError> {
        let (plan, plans) = self.tenant_plan(tenant).await?;
        let plan = &plans[&plan];
        // Priced before any lock: a free or unrouted destination needs no transaction.
        let mut results: Vec<Option<Reservation>> = requests
            .iter()
            .map(
                |r| match plan.rate_call_with(&plans, &r.destination, Some(r.at), 1000) {
                    Err(NoCharge::Free { .. }) => Some(Reservation::Unlimited),
                    Err(_) => Some(Reservation::NoRoute),
                    Ok(charge)
                        if charge.per_minute.is_zero()
                            && charge.breakdown.connect_fee.is_zero() =>
                    {
                        Some(Reservation::Unlimited)
                    }
                    Ok(_) => None,
                },
            )
            .collect();
        let pending: Vec<usize> = (0..requests.len())
            .filter(|&i| results[i].is_none())
            .collect();
        if pending.is_empty() {
            return Ok(results.into_iter().flatten().collect());
        }
        let priced = Priced {
            tenant,
            plan,
            plans: &plans,
            requests,
        };
        if self.backend == Backend::Postgres
            && self.reserve_at_once(priced, &pending, &mut results).await?
        {
            return results
                .into_iter()
                .map(|r| r.ok_or(LedgerError::Corrupt(super::Corruption::MissingOutcome)))
                .collect();
        }
        self.reserve_under_lock(priced, &pending, results).await
    }

    /// The exact path: under the account row's lock, each call of the batch in order gets its
    /// slice, or what is left of the credit, or nothing.
    async fn reserve_under_lock(
        &self,
        priced: Priced<'_>,
        pending: &[usize],
        mut results: Vec<Option<Reservation>>,
    ) -> Result<Vec<Reservation>, LedgerError> {
        let Priced {
            tenant,
            plan,
            plans,
            requests,
        } = priced;
        let mut tx = self.pool.begin().await?;
        let account = lock_account(&mut tx, tenant).await?;
        // Holds these calls have already (a lookup repeated), whoever's they are.
        let mut existing: HashMap<(String, String), Hold> = HashMap::new();
        let keys: Vec<[&str; 2]> = {
            let mut keys: Vec<[&str; 2]> = pending
                .iter()
                .map(|&i| {
                    [
                        requests[i].call_uuid.as_str(),
                        requests[i].destination.as_str(),
                    ]
                })
                .collect();
            keys.sort_unstable();
            keys.dedup();
            keys
        };
        // The calls as one JSON parameter, each looked up by the unique index whatever the
        // planner's statistics say (with none yet, an `IN` list was a scan of the table).
        let calls = serde_json::json!(keys).to_string();
        let held_already = match self.backend {
            Backend::Postgres => HELD_ALREADY_POSTGRES,
            Backend::Sqlite => HELD_ALREADY_SQLITE,
        };
        for row in sqlx::query(held_already)
            .bind(calls)
            .fetch_all(&mut *tx)
            .await?
        {
            let hold = hold_of(&row)?;
            existing.insert((hold.call_uuid.clone(), hold.destination.clone()), hold);
        }
        let mut available = account.spendable();
        // The new holds, by the first request that asked; later requests for the same call
        // get the same hold.
        let mut new: Vec<(usize, u64, i64)> = Vec::new();
        let mut first_of: HashMap<(&str, &str), usize> = HashMap::new();
        let mut same_as: Vec<(usize, usize)> = Vec::new();
        for &i in pending {
            let request = &requests[i];
            let key = (request.call_uuid.as_str(), request.destination.as_str());
            if let Some(hold) = existing.get(&(key.0.to_owned(), key.1.to_owned())) {
                results[i] = Some(held_already_answer(hold, tenant));
                continue;
            }
            if let Some(&first) = first_of.get(&key) {
                same_as.push((i, first));
                continue;
            }
            first_of.insert(key, i);
            match slice_within(
                plan,
                plans,
                &request.destination,
                request.at,
                0,
                request.slice,
                available,
            )? {
                Some((seconds, micros)) => {
                    available -= micros;
                    new.push((i, seconds, micros));
                }
                None => results[i] = Some(Reservation::NoCredit),
            }
        }
        if new.is_empty() {
            tx.rollback().await?;
        } else {
            let now = now_us();
            let mut ids: HashMap<(String, String), i64> = HashMap::new();
            for chunk in new.chunks(INSERT_CHUNK) {
                let values = (0..chunk.len())
                    .map(|n| {
                        let b = n * 5;
                        format!(
                            "($1, ${}, ${}, ${}, ${}, ${}, '{OPEN}', $2, $2)",
                            b + 3,
                            b + 4,
                            b + 5,
                            b + 6,
                            b + 7
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                let sql = format!(
                    "INSERT INTO holds (tenant, call_uuid, destination, rated_at, seconds, amount_micros, state, created_us, touched_us)
                     VALUES {values} RETURNING id, call_uuid, destination"
                );
                let mut query = sqlx::query(&sql).bind(tenant).bind(now);
                for (i, seconds, micros) in chunk {
                    let request = &requests[*i];
                    query = query
                        .bind(request.call_uuid.as_str())
                        .bind(request.destination.as_str())
                        .bind(request.at)
                        .bind(*seconds as i64)
                        .bind(*micros);
                }
                for row in query.fetch_all(&mut *tx).await? {
                    ids.insert((row.try_get(1)?, row.try_get(2)?), row.try_get(0)?);
                }
            }
            let total: i64 = new.iter().map(|(_, _, micros)| *micros).sum();
            add_held(&mut tx, tenant, total).await?;
            tx.commit().await?;
            self.money_changed(tenant);
            for (i, seconds, micros) in new {
                let request = &requests[i];
                let key = (request.call_uuid.clone(), request.destination.clone());
                let id = *ids
                    .get(&key)
                    .ok_or(LedgerError::Corrupt(super::Corruption::MissingOutcome))?;
                results[i] = Some(Reservation::Held(Hold {
                    id,
                    tenant: tenant.to_owned(),
                    call_uuid: request.call_uuid.clone(),
                    destination: request.destination.clone(),
                    seconds,
                    amount: from_micros(micros),
                    state: HoldState::Open,
                    touched_us: now,
                }));
            }
        }
        for (i, first) in same_as {
            results[i] = results[first].clone();
        }
        results
            .into_iter()
            .map(|r| r.ok_or(LedgerError::Corrupt(super::Corruption::MissingOutcome)))
            .collect()
    }

    /// PostgreSQL's path: the batch's holds are written first and the account row locked last
    /// (see the module's notes). Fills `results`; `false` only if a concurrent writer of the
    /// same calls kept it from finishing (after retries).
    async fn reserve_at_once(
        &self,
        priced: Priced<'_>,
        pending: &[usize],
        results: &mut [Option<Reservation>],
    ) -> Result<bool, LedgerError> {
        let Priced {
            plan,
            plans,
            requests,
            ..
        } = priced;
        // Each call's full first slice, the first request of a call only.
        let mut full: Vec<(usize, u64, i64)> = Vec::new();
        let mut first_of: HashMap<(&str, &str), usize> = HashMap::new();
        let mut same_as: Vec<(usize, usize)> = Vec::new();
        for &i in pending {
            let request = &requests[i];
            let key = (request.call_uuid.as_str(), request.destination.as_str());
            if let Some(&first) = first_of.get(&key) {
                same_as.push((i, first));
                continue;
            }
            first_of.insert(key, i);
            match slice_within(
                plan,
                plans,
                &request.destination,
                request.at,
                0,
                request.slice,
                i64::MAX,
            )? {
                Some((seconds, micros)) => full.push((i, seconds, micros)),
                None => results[i] = Some(Reservation::NoCredit),
            }
        }
        // A unique-index conflict with a writer of the same call that committed meanwhile:
        // the next attempt finds its hold.
        let mut written = false;
        for attempt in 0..3 {
            match self.write_batch(priced, &full, results).await {
                Ok(()) => {
                    written = true;
                    break;
                }
                Err(LedgerError::Database(sqlx::Error::Database(error)))
                    if error.is_unique_violation() && attempt < 2 => {}
                Err(error) => return Err(error),
            }
        }
        if !written {
            return Ok(false);
        }
        for (i, first) in same_as {
            results[i] = results[first].clone();
        }
        Ok(true)
    }

    /// One transaction of [`Ledger::reserve_at_once`]: writes the holds of `full` (request
    /// index, full slice seconds and cost) that no call has yet, in key order (two batches of
    /// the same calls wait for each other in one order, never in a cycle); answers the calls
    /// held already with their holds; then adds the new holds' cost to the account, cutting
    /// them in order if the credit runs out.
    async fn write_batch(
        &self,
        priced: Priced<'_>,
        full: &[(usize, u64, i64)],
        results: &mut [Option<Reservation>],
    ) -> Result<(), LedgerError> {
        let Priced {
            tenant,
            plan,
            plans,
            requests,
        } = priced;
        let key = |i: usize| {
            (
                requests[i].call_uuid.as_str(),
                requests[i].destination.as_str(),
            )
        };
        let mut in_key_order: Vec<&(usize, u64, i64)> = full.iter().collect();
        in_key_order.sort_unstable_by_key(|(i, _, _)| key(*i));
        // The batch as one parameter: the statement's text is the same for every batch, so
        // each connection prepares (and PostgreSQL plans) it once.
        let batch = serde_json::Value::Array(
            in_key_order
                .iter()
                .map(|(i, seconds, micros)| {
                    let request = &requests[*i];
                    serde_json::json!([
                        request.call_uuid,
                        request.destination,
                        request.at,
                        *seconds as i64,
                        micros
                    ])
                })
                .collect(),
        )
        .to_string();
        let now = now_us();
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(INSERT_BATCH)
            .bind(tenant)
            .bind(now)
            .bind(batch)
            .fetch_all(&mut *tx)
            .await?;
        let mut ids: HashMap<(String, String), i64> = HashMap::new();
        for row in rows {
            ids.insert((row.try_get(1)?, row.try_get(2)?), row.try_get(0)?);
        }
        let id_of = |i: usize| {
            let request = &requests[i];
            ids.get(&(request.call_uuid.clone(), request.destination.clone()))
                .copied()
        };
        // Calls held already (the insert left them out): their holds answer them.
        let held_already: Vec<[&str; 2]> = full
            .iter()
            .filter(|(i, _, _)| id_of(*i).is_none())
            .map(|(i, _, _)| [key(*i).0, key(*i).1])
            .collect();
        let mut answered: HashMap<usize, Reservation> = HashMap::new();
        if !held_already.is_empty() {
            let mut existing: HashMap<(String, String), Hold> = HashMap::new();
            for row in sqlx::query(HELD_ALREADY_POSTGRES)
                .bind(serde_json::json!(held_already).to_string())
                .fetch_all(&mut *tx)
                .await?
            {
                let hold = hold_of(&row)?;
                existing.insert((hold.call_uuid.clone(), hold.destination.clone()), hold);
            }
            for (i, _, _) in full.iter().filter(|(i, _, _)| id_of(*i).is_none()) {
                let (call, destination) = key(*i);
                let hold = existing
                    .get(&(call.to_owned(), destination.to_owned()))
                    .ok_or(LedgerError::Corrupt(super::Corruption::MissingOutcome))?;
                answered.insert(*i, held_already_answer(hold, tenant));
            }
        }
        let new: Vec<(usize, u64, i64)> = full
            .iter()
            .filter(|(i, _, _)| id_of(*i).is_some())
            .copied()
            .collect();
        let id_of =
            |i: usize| id_of(i).ok_or(LedgerError::Corrupt(super::Corruption::MissingOutcome));
        let total: i64 = new.iter().map(|(_, _, micros)| *micros).sum();
        let covered = if new.is_empty() {
            None
        } else {
            sqlx::query(TAKE_FROM_ACCOUNT)
                .bind(total)
                .bind(tenant)
                .fetch_optional(&mut *tx)
                .await?
        };
        let mut refused_calls = Vec::new();
        let granted = match covered {
            Some(_) => new,
            None if new.is_empty() => new,
            // The credit runs out inside the batch: under the account's lock now, the holds
            // are cut to what it can pay for, in order, as the exact path would.
            None => {
                let account = lock_account(&mut tx, tenant).await?;
                let mut available = account.spendable();
                let mut granted = Vec::new();
                let mut refused = Vec::new();
                for (i, full_seconds, full_micros) in new {
                    let request = &requests[i];
                    let slice = if full_micros <= available {
                        Some((full_seconds, full_micros))
                    } else {
                        slice_within(
                            plan,
                            plans,
                            &request.destination,
                            request.at,
                            0,
                            request.slice,
                            available,
                        )?
                    };
                    match slice {
                        Some((seconds, micros)) => {
                            if seconds != full_seconds {
                                sqlx::query(
                                    "UPDATE holds SET seconds = $1, amount_micros = $2 WHERE id = $3",
                                )
                                .bind(seconds as i64)
                                .bind(micros)
                                .bind(id_of(i)?)
                                .execute(&mut *tx)
                                .await?;
                            }
                            available -= micros;
                            granted.push((i, seconds, micros));
                        }
                        None => {
                            refused.push(id_of(i)?);
                            refused_calls.push(i);
                        }
                    }
                }
                if !refused.is_empty() {
                    sqlx::query(DELETE_REFUSED)
                        .bind(serde_json::json!(refused).to_string())
                        .execute(&mut *tx)
                        .await?;
                }
                let total: i64 = granted.iter().map(|(_, _, micros)| *micros).sum();
                add_held(&mut tx, tenant, total).await?;
                granted
            }
        };
        tx.commit().await?;
        if !granted.is_empty() {
            self.money_changed(tenant);
        }
        for (i, reservation) in answered {
            results[i] = Some(reservation);
        }
        for i in refused_calls {
            results[i] = Some(Reservation::NoCredit);
        }
        for (i, seconds, micros) in granted {
            let request = &requests[i];
            let id = id_of(i)?;
            results[i] = Some(Reservation::Held(Hold {
                id,
                tenant: tenant.to_owned(),
                call_uuid: request.call_uuid.clone(),
                destination: request.destination.clone(),
                seconds,
                amount: from_micros(micros),
                state: HoldState::Open,
                touched_us: now,
            }));
        }
        Ok(())
    }
}

/// The answer to a call of `tenant` that has `hold` already (a lookup repeated).
fn held_already_answer(hold: &Hold, tenant: &str) -> Reservation {
    match hold.state {
        // A call is one tenant's: another's hold is never shared, nor extended.
        _ if hold.tenant != tenant => Reservation::NoCredit,
        HoldState::Open => Reservation::Held(hold.clone()),
        // The call was settled or expired already: nothing more for it.
        _ => Reservation::NoCredit,
    }
}
