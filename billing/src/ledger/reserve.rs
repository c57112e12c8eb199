//! Taking holds: [`Ledger::reserve_batch`] authorises many calls of one tenant in one
//! transaction under the account row's lock, and [`Ledger::reserve`] combines the
//! reservations of a tenant that arrive together into such batches.
//!
//! Every authorisation of a tenant takes the same row lock, so a burst of calls is served one
//! transaction after another: with a transaction each, the last of 200 waits for 199 commits.
//! Combined, the calls that arrive while one batch commits go together in the next (group
//! commit): the lock is taken once per batch, and the new holds written by one statement.
//!
//! On PostgreSQL the row lock is held as briefly as it can be. A batch is one statement
//! (`take_holds_at_once`, migration 0007) run outside any explicit transaction: it writes the
//! batch's holds (full slices) first, then adds their cost to what the account holds by a
//! conditional `UPDATE` (only if balance + credit limit still covers it, checked on the row's
//! latest version once any other lock on it is released), and commits at once on the server:
//! no round trip to a client happens while the lock is held, nor the commit's flush to disk,
//! which the answer waits for after the row is free (`flush`). When the credit does not cover
//! the whole batch that statement writes nothing, and a transaction writes the holds, then
//! locks the account row and gives each call in order its slice, what is left of the credit
//! (a shorter slice), or nothing. Both take the holds first and the account row last, as
//! settlement, extension and expiry do. SQLite (one writer) takes the account's lock first.

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

/// Most holds the exact path writes by one statement: five values a hold, well under every
/// driver's limit on parameters.
const INSERT_CHUNK: usize = 500;

/// PostgreSQL's batch of new holds, one statement outside any transaction (migration 0007's
/// `take_holds_at_once`, called through migration 0009's): `$1` the tenant, `$2` now (µs),
/// `$3` the holds as a JSON array of `[call_uuid, destination, rated_at, seconds,
/// amount_micros]`, `$4` whether its commit waits for the disk (always `false`: the account row is
/// freed at once and the answer waits for the disk apart, `flush`). It returns the holds it
/// wrote (a call held already is left out: the caller answers it with its hold); when the
/// account does not cover the batch, one row of NULLs, or (when that is found only under the
/// lock) an error [`NOT_COVERED`], having written nothing either way.
const TAKE_HOLDS_AT_ONCE: &str = "SELECT hold_id, hold_call, hold_destination FROM take_holds_at_once($1, $2, CAST($3 AS JSONB), $4)";

/// The SQLSTATE `take_holds_at_once` fails with when balance + credit limit does not cover
/// the batch it has written (found under the account row's lock).
const NOT_COVERED: &str = "LH001";

/// The insert of `take_holds_at_once`, inside a transaction: the holds of a batch the account
/// may not cover, written before the account row is locked (every path takes holds first and
/// the account last) and cut under that lock. Same parameters; returns the holds written.
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

/// SQLSTATEs after which a PostgreSQL batch is tried again, whole: another writer of the same
/// call committed first (unique violation: the next attempt finds its hold), a deadlock
/// PostgreSQL broke by failing this side, or a serialization failure (a database whose
/// default isolation is stricter than read committed).
const TRY_AGAIN: [&str; 3] = ["23505", "40P01", "40001"];

/// The holds of the calls in `$1` (a JSON array of `[call_uuid, destination]`), on PostgreSQL.
const HELD_ALREADY_POSTGRES: &str = "
    SELECT h.id, h.tenant, h.call_uuid, h.destination, h.seconds, h.amount_micros, h.state, h.touched_us, h.created_us
    FROM jsonb_array_elements(CAST($1 AS JSONB)) AS c (e)
    JOIN holds AS h ON h.call_uuid = c.e ->> 0 AND h.destination = c.e ->> 1";

/// The holds of the calls in `$1` (a JSON array of `[call_uuid, destination]`), on SQLite.
const HELD_ALREADY_SQLITE: &str = "
    SELECT h.id, h.tenant, h.call_uuid, h.destination, h.seconds, h.amount_micros, h.state, h.touched_us, h.created_us
    FROM json_each($1) AS c
    JOIN holds AS h ON h.call_uuid = json_extract(c.value, '$[0]') AND h.destination = json_extract(c.value, '$[1]')";

/// A call's slice: its request's index, the seconds held and their cost (micro-units).
type Sliced = (usize, u64, i64);

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
            match self.reserve_retrying(&tenant, &mut batch).await {
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
                        let mut alone = vec![waiting];
                        let reserved =
                            self.reserve_retrying(&tenant, &mut alone)
                                .await
                                .and_then(|mut r| {
                                    r.pop().ok_or(LedgerError::Corrupt(
                                        super::Corruption::MissingOutcome,
                                    ))
                                });
                        if let Some(waiting) = alone.pop() {
                            let _ = waiting.reply.send(reserved);
                        }
                    }
                }
            }
        }
    }

    /// [`Ledger::reserve_batch`], tried again while the connection under it broke (the pool
    /// pings a connection before handing it out, but the server can end it after the ping: a
    /// restart, an administrator's termination, a failover). A failed reservation refuses the
    /// call, so a broken connection must not be its end. Each broken connection is closed as
    /// it fails, so one attempt more than the pool holds reaches a new connection. A batch is
    /// idempotent per call: a retry after a commit whose answer was lost returns the holds it
    /// wrote. Callers that gave up meanwhile leave `batch` before each retry (nothing new is
    /// held for them); the answer is one reservation per waiter left, in order.
    async fn reserve_retrying(
        &self,
        tenant: &str,
        batch: &mut Vec<Waiting>,
    ) -> Result<Vec<Reservation>, LedgerError> {
        let most = self.pool.options().get_max_connections() + 1;
        let mut attempts = 1;
        let answer = loop {
            let requests: Vec<ReserveRequest> = batch.iter().map(|w| w.request.clone()).collect();
            match self.reserve_batch(tenant, &requests).await {
                Err(error) if error.is_connection_lost() && attempts < most => {
                    attempts += 1;
                    batch.retain(|waiting| !waiting.reply.is_closed());
                    if batch.is_empty() {
                        break Ok(Vec::new());
                    }
                }
                answer => break answer,
            }
        };
        if attempts > 1 {
            // An attempt whose answer was lost may have committed holds nobody was told of.
            self.money_changed(tenant);
        }
        answer
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
        // A batch is of calls being set up now: priced by the plans in force then.
        let plans = match requests.first() {
            Some(first) => self.in_force(plans, first.at),
            None => plans,
        };
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
        if self.backend == Backend::Postgres {
            self.reserve_holds_first(priced, &pending, &mut results)
                .await?;
            return all_decided(results);
        }
        self.reserve_under_lock(priced, &pending, results).await
    }

    /// SQLite's path: under the account row's lock, each call of the batch in order gets its
    /// slice, or what is left of the credit, or nothing (SQLite has one writer, so the lock
    /// is the database's).
    async fn reserve_under_lock(
        &self,
        priced: Priced<'_>,
        pending: &[usize],
        mut results: Vec<Option<Reservation>>,
    ) -> Result<Vec<Reservation>, LedgerError> {
        let (firsts, same_as) = priced.first_of_each_call(pending);
        let mut connection = self.pool.acquire().await?;
        let mut tx = self.begin_without_flush(&mut connection).await?;
        let account = lock_account(&mut tx, priced.tenant).await?;
        let keys: Vec<(&str, &str)> = firsts.iter().map(|&i| priced.key(i)).collect();
        let existing = self.holds_of_calls(&mut tx, &keys).await?;
        let mut available = account.spendable();
        let mut new: Vec<Sliced> = Vec::new();
        for i in firsts {
            let (call, destination) = priced.key(i);
            if let Some(hold) = existing.get(&(call.to_owned(), destination.to_owned())) {
                results[i] = Some(held_already_answer(hold, priced.tenant));
                continue;
            }
            match priced.slice(i, available)? {
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
                let mut query = sqlx::query(&sql).bind(priced.tenant).bind(now);
                for (i, seconds, micros) in chunk {
                    let request = &priced.requests[*i];
                    query = query
                        .bind(request.call_uuid.as_str())
                        .bind(request.destination.as_str())
                        .bind(request.at)
                        .bind(*seconds as i64)
                        .bind(*micros);
                }
                ids.extend(ids_by_call(query.fetch_all(&mut *tx).await?)?);
            }
            let total: i64 = new.iter().map(|(_, _, micros)| *micros).sum();
            add_held(&mut tx, priced.tenant, total).await?;
            tx.commit().await?;
            self.money_changed(priced.tenant);
            for (i, seconds, micros) in new {
                results[i] = Some(Reservation::Held(
                    priced.new_hold(i, &ids, seconds, micros, now)?,
                ));
            }
        }
        // Holds found, as well as those written: another batch's may not be on disk yet.
        self.wait_for_holds_on_disk(&mut connection).await?;
        for (i, first) in same_as {
            results[i] = results[first].clone();
        }
        all_decided(results)
    }

    /// The holds the calls `keys` (call UUID, destination) have already, whoever's they are,
    /// by key: each looked up by the unique index whatever the planner's statistics say (with
    /// none yet, an `IN` list was a scan of the table).
    async fn holds_of_calls(
        &self,
        connection: &mut sqlx::AnyConnection,
        keys: &[(&str, &str)],
    ) -> Result<HashMap<(String, String), Hold>, LedgerError> {
        let mut existing = HashMap::new();
        if keys.is_empty() {
            return Ok(existing);
        }
        let held_already = match self.backend {
            Backend::Postgres => HELD_ALREADY_POSTGRES,
            Backend::Sqlite => HELD_ALREADY_SQLITE,
        };
        let keys: Vec<[&str; 2]> = keys.iter().map(|(call, to)| [*call, *to]).collect();
        for row in sqlx::query(held_already)
            .bind(serde_json::json!(keys).to_string())
            .fetch_all(&mut *connection)
            .await?
        {
            let hold = hold_of(&row)?;
            existing.insert((hold.call_uuid.clone(), hold.destination.clone()), hold);
        }
        Ok(existing)
    }

    /// PostgreSQL's path (see the module's notes): the batch in one statement when the
    /// account covers it, else in a transaction that writes the holds, then locks the account
    /// row and cuts them to what it can pay for. Both take the holds' index entries first and
    /// the account row last, as every writer of holds does, so no two wait on each other in a
    /// cycle; a batch that lost a race ([`TRY_AGAIN`]) is tried again, whole, twice at most.
    async fn reserve_holds_first(
        &self,
        priced: Priced<'_>,
        pending: &[usize],
        results: &mut [Option<Reservation>],
    ) -> Result<(), LedgerError> {
        let (firsts, same_as) = priced.first_of_each_call(pending);
        // Each call's full first slice.
        let mut full: Vec<Sliced> = Vec::new();
        for i in firsts {
            match priced.slice(i, i64::MAX)? {
                Some((seconds, micros)) => full.push((i, seconds, micros)),
                None => results[i] = Some(Reservation::NoCredit),
            }
        }
        let mut attempt = 0;
        loop {
            let written = match self.take_at_once(priced, &full, results).await {
                Ok(true) => Ok(()),
                Ok(false) => self.write_then_cut(priced, &full, results).await,
                Err(error) => Err(error),
            };
            match written {
                Ok(()) => break,
                Err(LedgerError::Database(sqlx::Error::Database(error)))
                    if attempt < 2
                        && error
                            .code()
                            .is_some_and(|code| TRY_AGAIN.contains(&code.as_ref())) =>
                {
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
        for (i, first) in same_as {
            results[i] = results[first].clone();
        }
        Ok(())
    }

    /// The batch `full` (request index, full slice seconds and cost) as one statement that
    /// commits on the server: the holds no call has yet, in key order, and their cost added
    /// to the account. `false`: the account does not cover it, and nothing was written.
    async fn take_at_once(
        &self,
        priced: Priced<'_>,
        full: &[Sliced],
        results: &mut [Option<Reservation>],
    ) -> Result<bool, LedgerError> {
        let now = now_us();
        let mut connection = self.pool.acquire().await?;
        let written = sqlx::query(TAKE_HOLDS_AT_ONCE)
            .bind(priced.tenant)
            .bind(now)
            .bind(priced.batch_in_key_order(full))
            // Its commit frees the account row at once; the answer waits for the disk below.
            .bind(false)
            .fetch_all(&mut *connection)
            .await;
        let ids = match written {
            Ok(rows) if not_covered(&rows)? => return Ok(false),
            Ok(rows) => ids_by_call(rows)?,
            Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some(NOT_COVERED) => {
                return Ok(false);
            }
            Err(error) => return Err(error.into()),
        };
        // Committed: the balance's subscribers hear of it whatever happens next.
        if !ids.is_empty() {
            self.money_changed(priced.tenant);
        }
        let (new, held_already): (Vec<Sliced>, Vec<Sliced>) =
            full.iter().partition(|(i, _, _)| priced.has_id(*i, &ids));
        if !held_already.is_empty() {
            let answers = self
                .answer_held_already(&mut connection, priced, &held_already)
                .await?;
            for (i, reservation) in answers {
                results[i] = Some(reservation);
            }
        }
        // After reading the holds found: they too may be others' writes not on disk yet.
        self.wait_for_holds_on_disk(&mut connection).await?;
        for (i, seconds, micros) in new {
            results[i] = Some(Reservation::Held(
                priced.new_hold(i, &ids, seconds, micros, now)?,
            ));
        }
        Ok(true)
    }

    /// The batch `full` when the account may not cover it, in one transaction: writes the
    /// holds no call has yet (full slices, key order), then locks the account row and gives
    /// each new hold in request order its full slice, a shorter one, or nothing (its row
    /// removed), as SQLite's path would.
    async fn write_then_cut(
        &self,
        priced: Priced<'_>,
        full: &[Sliced],
        results: &mut [Option<Reservation>],
    ) -> Result<(), LedgerError> {
        let tenant = priced.tenant;
        let now = now_us();
        let mut connection = self.pool.acquire().await?;
        let mut tx = self.begin_without_flush(&mut connection).await?;
        let ids = ids_by_call(
            sqlx::query(INSERT_BATCH)
                .bind(tenant)
                .bind(now)
                .bind(priced.batch_in_key_order(full))
                .fetch_all(&mut *tx)
                .await?,
        )?;
        let (new, held_already): (Vec<Sliced>, Vec<Sliced>) =
            full.iter().partition(|(i, _, _)| priced.has_id(*i, &ids));
        let mut answered = self
            .answer_held_already(&mut tx, priced, &held_already)
            .await?;
        let account = lock_account(&mut tx, tenant).await?;
        let mut available = account.spendable();
        let mut granted = Vec::new();
        let mut refused = Vec::new();
        for (i, full_seconds, _) in new {
            let id = priced.id(i, &ids)?;
            match priced.slice(i, available)? {
                Some((seconds, micros)) => {
                    if seconds != full_seconds {
                        sqlx::query(
                            "UPDATE holds SET seconds = $1, amount_micros = $2 WHERE id = $3",
                        )
                        .bind(seconds as i64)
                        .bind(micros)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    }
                    available -= micros;
                    granted.push((i, seconds, micros));
                }
                None => {
                    refused.push(id);
                    answered.push((i, Reservation::NoCredit));
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
        tx.commit().await?;
        if !granted.is_empty() {
            self.money_changed(tenant);
        }
        self.wait_for_holds_on_disk(&mut connection).await?;
        for (i, reservation) in answered {
            results[i] = Some(reservation);
        }
        for (i, seconds, micros) in granted {
            results[i] = Some(Reservation::Held(
                priced.new_hold(i, &ids, seconds, micros, now)?,
            ));
        }
        Ok(())
    }

    /// The answers to the calls of `held` (request index first) that had a hold already
    /// when the batch was written: their holds as they are.
    async fn answer_held_already(
        &self,
        connection: &mut sqlx::AnyConnection,
        priced: Priced<'_>,
        held: &[Sliced],
    ) -> Result<Vec<(usize, Reservation)>, LedgerError> {
        let keys: Vec<(&str, &str)> = held.iter().map(|(i, _, _)| priced.key(*i)).collect();
        let existing = self.holds_of_calls(connection, &keys).await?;
        held.iter()
            .map(|(i, _, _)| {
                let (call, destination) = priced.key(*i);
                let hold = existing
                    .get(&(call.to_owned(), destination.to_owned()))
                    .ok_or(LedgerError::Corrupt(super::Corruption::MissingOutcome))?;
                Ok((*i, held_already_answer(hold, priced.tenant)))
            })
            .collect()
    }
}

impl Priced<'_> {
    /// Request `i`'s call: (call UUID, destination), what a hold is unique by.
    fn key(&self, i: usize) -> (&str, &str) {
        let request = &self.requests[i];
        (request.call_uuid.as_str(), request.destination.as_str())
    }

    /// The first request of each call among `pending`, and each later one with the first it
    /// repeats (it gets the same answer).
    fn first_of_each_call(&self, pending: &[usize]) -> (Vec<usize>, Vec<(usize, usize)>) {
        let mut first_of: HashMap<(&str, &str), usize> = HashMap::new();
        let mut firsts = Vec::new();
        let mut same_as = Vec::new();
        for &i in pending {
            match first_of.get(&self.key(i)) {
                Some(&first) => same_as.push((i, first)),
                None => {
                    first_of.insert(self.key(i), i);
                    firsts.push(i);
                }
            }
        }
        (firsts, same_as)
    }

    /// The first slice request `i` can have from `available` (micro-units): its seconds and
    /// cost, or `None`.
    fn slice(&self, i: usize, available: i64) -> Result<Option<(u64, i64)>, LedgerError> {
        let request = &self.requests[i];
        slice_within(
            self.plan,
            self.plans,
            &request.destination,
            request.at,
            0,
            request.slice,
            available,
        )
    }

    /// `full`'s holds as the JSON parameter PostgreSQL's batch statements take, in key order
    /// (two batches of the same calls take their index entries in one order, never in a
    /// cycle). One parameter: the statements' text is the same for every batch, so each
    /// connection prepares (and PostgreSQL plans) them once.
    fn batch_in_key_order(&self, full: &[Sliced]) -> String {
        let mut in_key_order: Vec<&Sliced> = full.iter().collect();
        in_key_order.sort_unstable_by_key(|(i, _, _)| self.key(*i));
        serde_json::Value::Array(
            in_key_order
                .iter()
                .map(|(i, seconds, micros)| {
                    let request = &self.requests[*i];
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
        .to_string()
    }

    /// Whether a hold was written for request `i` (the insert returned its id).
    fn has_id(&self, i: usize, ids: &HashMap<(String, String), i64>) -> bool {
        let (call, destination) = self.key(i);
        ids.contains_key(&(call.to_owned(), destination.to_owned()))
    }

    /// The id of the hold written for request `i`, from the rows the insert returned.
    fn id(&self, i: usize, ids: &HashMap<(String, String), i64>) -> Result<i64, LedgerError> {
        let (call, destination) = self.key(i);
        ids.get(&(call.to_owned(), destination.to_owned()))
            .copied()
            .ok_or(LedgerError::Corrupt(super::Corruption::MissingOutcome))
    }

    /// The hold written for request `i` at `now`.
    fn new_hold(
        &self,
        i: usize,
        ids: &HashMap<(String, String), i64>,
        seconds: u64,
        micros: i64,
        now: i64,
    ) -> Result<Hold, LedgerError> {
        let request = &self.requests[i];
        Ok(Hold {
            id: self.id(i, ids)?,
            tenant: self.tenant.to_owned(),
            call_uuid: request.call_uuid.clone(),
            destination: request.destination.clone(),
            seconds,
            amount: from_micros(micros),
            state: HoldState::Open,
            touched_us: now,
            created_us: now,
        })
    }
}

/// The ids of inserted holds (rows of `id, call_uuid, destination`), by call.
fn ids_by_call(
    rows: Vec<sqlx::any::AnyRow>,
) -> Result<HashMap<(String, String), i64>, LedgerError> {
    rows.iter()
        .map(|row| Ok(((row.try_get(1)?, row.try_get(2)?), row.try_get(0)?)))
        .collect()
}

/// Whether `take_holds_at_once` answered that the account does not cover the batch (a row
/// of NULLs).
fn not_covered(rows: &[sqlx::any::AnyRow]) -> Result<bool, LedgerError> {
    match rows.first() {
        Some(row) => Ok(row.try_get::<Option<i64>, _>(0)?.is_none()),
        None => Ok(false),
    }
}

/// The batch's answers, once every request has one.
fn all_decided(results: Vec<Option<Reservation>>) -> Result<Vec<Reservation>, LedgerError> {
    results
        .into_iter()
        .map(|r| r.ok_or(LedgerError::Corrupt(super::Corruption::MissingOutcome)))
        .collect()
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
