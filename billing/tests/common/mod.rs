//! What the ledger's tests share: names no other run uses, both databases (PostgreSQL at
//! 127.0.0.1:5432, database `test`, or `BILLING_TEST_POSTGRES`; SQLite in a file), and a
//! tenant with an account on a plan of its own.

#![allow(dead_code)]

use billing::{Cdr, Decimal, HoldCommit, Ledger, Leg, PlanRecord, Rounding};
use std::sync::atomic::{AtomicU64, Ordering};

pub fn postgres_url() -> String {
    std::env::var("BILLING_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A name no other test run uses.
pub fn unique(label: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{label}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A ledger on SQLite (a new file named after `label`) and one on PostgreSQL, by name.
pub async fn ledgers(label: &str) -> Vec<(String, Ledger)> {
    let sqlite_path =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{}.sqlite", unique(label)));
    let sqlite = Ledger::connect(&format!("sqlite://{}?mode=rwc", sqlite_path.display()))
        .await
        .expect("SQLite ledger");
    let url = postgres_url();
    let postgres = Ledger::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must be running for these tests ({url}): {e}"));
    vec![("sqlite".into(), sqlite), ("postgres".into(), postgres)]
}

/// [`ledgers`], and a ledger on PostgreSQL that answers new holds before they are on disk
/// ([`HoldCommit::Asynchronous`]): every rule of holds must hold on each.
pub async fn hold_ledgers(label: &str) -> Vec<(String, Ledger)> {
    let mut all = ledgers(label).await;
    let asynchronous = Ledger::connect(&postgres_url())
        .await
        .expect("PostgreSQL ledger")
        .with_hold_commit(HoldCommit::Asynchronous);
    all.push(("postgres, asynchronous holds".into(), asynchronous));
    all
}

/// A new tenant with an account of `credit_limit` on a new EUR plan of `rates_csv`, rounded
/// up to cents.
pub async fn open_tenant(ledger: &Ledger, rates_csv: &str, credit_limit: Decimal) -> String {
    let plan = unique("plan");
    ledger
        .save_plan(&PlanRecord {
            id: plan.clone(),
            currency: "EUR".into(),
            decimals: 2,
            rounding: Rounding::Up,
            utc_offset_minutes: 0,
            fallback: None,
            rates_csv: rates_csv.into(),
        })
        .await
        .unwrap();
    let tenant = unique("tenant");
    ledger
        .open_account(&tenant, &plan, credit_limit)
        .await
        .unwrap();
    tenant
}

/// The A leg of `tenant`'s call `uuid` to `destination`, answered for `billmsec` (`None`:
/// not answered).
pub fn cdr(uuid: &str, tenant: &str, destination: &str, billmsec: Option<u64>) -> Cdr {
    Cdr {
        uuid: uuid.into(),
        leg: Leg::A,
        core_uuid: None,
        switchname: Some("fs1".into()),
        direction: Some("inbound".into()),
        start_us: Some(1_795_261_100_000_000),
        answer_us: billmsec.map(|_| 1_795_261_109_000_000),
        end_us: Some(1_795_261_200_000_000),
        billsec: billmsec.unwrap_or(0) / 1000,
        billmsec,
        duration: 100,
        caller_id_number: Some("1000".into()),
        destination: Some(destination.into()),
        hangup_cause: Some(esl::proto::HangupCause::NormalClearing),
        tenant: Some(tenant.into()),
        accountcode: None,
        links: Vec::new(),
        context: None,
        domain: None,
        gateway: None,
        format: None,
        raw: format!("{{\"uuid\":\"{uuid}\"}}"),
    }
}
