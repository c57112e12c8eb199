//! Writes of a tenant's money on PostgreSQL (a charge, a hold, a top-up) free the account row
//! before their commit is flushed to disk, and answer only once it is on disk.
//!
//! The writing ledger's connections hold every flush back 100 ms (`commit_delay` with
//! `commit_siblings = 0`, a superuser's settings: the tests' user is one), so the moment
//! between a write's commit and its answer is long enough to be seen from another connection.
//! Whether the commit is on disk is read from PostgreSQL's log itself (`pg_walinspect`).
//! They need the server as CI runs it: `fsync` on (PostgreSQL skips `commit_delay` without
//! it), and a superuser (both settings, and reading the log, are a superuser's).

use billing::{Decimal, Ledger, Reservation};
use sqlx::Row;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

mod common;

use common::{cdr, open_tenant, postgres_url, unique};

/// A plan of 0.60/min to the UK, with credit to spend.
async fn tenant(ledger: &Ledger) -> String {
    open_tenant(
        ledger,
        "prefix,name,rate_per_minute,connect_fee,free\n44,UK,0.60,0.05,false\n",
        "100.00".parse().unwrap(),
    )
    .await
}

/// A ledger whose connections' flushes each wait 100 ms before the fsync.
async fn slow_flushing_ledger() -> Ledger {
    let url = postgres_url();
    let separator = if url.contains('?') { '&' } else { '?' };
    let url =
        format!("{url}{separator}options=-c%20commit_delay%3D100000%20-c%20commit_siblings%3D0");
    Ledger::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must be running for these tests: {e}"))
}

/// The observer's connections, flushing as the server does.
async fn observer() -> sqlx::AnyPool {
    let ledger = Ledger::connect(&postgres_url()).await.unwrap();
    static EXTENSION: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    EXTENSION
        .get_or_init(|| async {
            sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
                .execute(ledger.pool())
                .await
                .expect("pg_walinspect (PostgreSQL's contrib) for reading the log");
        })
        .await;
    ledger.pool().clone()
}

/// Runs `write`, whose row is `rows` (a table and condition on `$1` = `key`), and checks
/// from another connection that while it had not answered, its row was visible and its
/// tenant's account row free to lock; and that once it answered, its commit was on disk.
async fn frees_the_account_then_answers_on_disk(
    tenant: &str,
    rows: &str,
    key: &str,
    write: impl Future<Output = ()> + Send + 'static,
) {
    let observer = observer().await;
    let log_start: String = sqlx::query("SELECT CAST(pg_current_wal_insert_lsn() AS TEXT)")
        .fetch_one(&observer)
        .await
        .unwrap()
        .get(0);
    let answered = Arc::new(AtomicBool::new(false));
    let flushed_at_answer = {
        let answered = answered.clone();
        let observer = observer.clone();
        tokio::spawn(async move {
            write.await;
            answered.store(true, Ordering::SeqCst);
            // Read after the answer: the log can only have been flushed further by then.
            let flushed: String = sqlx::query("SELECT CAST(pg_current_wal_flush_lsn() AS TEXT)")
                .fetch_one(&observer)
                .await
                .unwrap()
                .get(0);
            flushed
        })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut free_before_answer = false;
    while !answered.load(Ordering::SeqCst) && Instant::now() < deadline {
        let mut tx = observer.begin().await.unwrap();
        let visible: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM {rows}"))
            .bind(key)
            .fetch_one(&mut *tx)
            .await
            .unwrap()
            .get(0);
        if visible > 0 {
            let lock = sqlx::query("SELECT 1 FROM accounts WHERE tenant = $1 FOR UPDATE NOWAIT")
                .bind(tenant)
                .fetch_one(&mut *tx)
                .await;
            if lock.is_ok() && !answered.load(Ordering::SeqCst) {
                free_before_answer = true;
            }
        }
        tx.rollback().await.unwrap();
        if free_before_answer {
            break;
        }
    }
    let flushed_at_answer = flushed_at_answer.await.unwrap();
    assert!(
        free_before_answer,
        "the write was never seen committed, its account free, before it answered"
    );
    // The write's commit record, found by the transaction that wrote its row.
    let writer: String = sqlx::query(&format!("SELECT CAST(xmin AS TEXT) FROM {rows}"))
        .bind(key)
        .fetch_one(&observer)
        .await
        .unwrap()
        .get(0);
    let commit_end: String = sqlx::query(
        "SELECT CAST(end_lsn AS TEXT) FROM pg_get_wal_records_info(CAST($1 AS pg_lsn), pg_current_wal_flush_lsn())
         WHERE xid = CAST($2 AS xid) AND resource_manager = 'Transaction' AND record_type = 'COMMIT'",
    )
    .bind(&log_start)
    .bind(&writer)
    .fetch_one(&observer)
    .await
    .expect("the write's commit in the log")
    .get(0);
    let on_disk: bool = sqlx::query("SELECT CAST($1 AS pg_lsn) <= CAST($2 AS pg_lsn)")
        .bind(&commit_end)
        .bind(&flushed_at_answer)
        .fetch_one(&observer)
        .await
        .unwrap()
        .get(0);
    assert!(
        on_disk,
        "answered before its commit (ending at {commit_end}) was on disk (flushed to {flushed_at_answer})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_charge_frees_the_account_before_its_flush_and_answers_after_it() {
    let ledger = slow_flushing_ledger().await;
    let tenant = tenant(&ledger).await;
    let uuid = unique("charge");
    let call = cdr(&uuid, &tenant, "442071234567", Some(60_000));
    let write = {
        let ledger = ledger.clone();
        async move {
            let recorded = ledger.record(&call).await.unwrap();
            assert!(!recorded.duplicate);
        }
    };
    frees_the_account_then_answers_on_disk(&tenant, "cdrs WHERE uuid = $1", &uuid, write).await;
    let balance = ledger.balance(&tenant).await.unwrap();
    assert_eq!(balance.balance, "-0.65".parse::<Decimal>().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_frees_the_account_before_its_flush_and_answers_after_it() {
    let ledger = slow_flushing_ledger().await;
    let tenant = tenant(&ledger).await;
    let uuid = unique("hold");
    let write = {
        let (ledger, tenant, uuid) = (ledger.clone(), tenant.clone(), uuid.clone());
        async move {
            let held = ledger
                .reserve(
                    &tenant,
                    &uuid,
                    "442071234567",
                    1_795_261_109,
                    Duration::from_secs(60),
                )
                .await
                .unwrap();
            assert!(matches!(held, Reservation::Held(_)), "{held:?}");
        }
    };
    frees_the_account_then_answers_on_disk(&tenant, "holds WHERE call_uuid = $1", &uuid, write)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_top_up_frees_the_account_before_its_flush_and_answers_after_it() {
    let ledger = slow_flushing_ledger().await;
    let tenant = tenant(&ledger).await;
    let reference = unique("card");
    let write = {
        let (ledger, tenant, reference) = (ledger.clone(), tenant.clone(), reference.clone());
        async move {
            ledger
                .top_up(&tenant, "10.00".parse().unwrap(), &reference)
                .await
                .unwrap();
        }
    };
    frees_the_account_then_answers_on_disk(
        &tenant,
        "transactions WHERE reference = $1",
        &reference,
        write,
    )
    .await;
}
