//! The three legs of each real bridged call (`fixtures/freeswitch/json_cdr_bridged/`), through
//! the ledger on SQLite and PostgreSQL: every leg stored under the tenant (the trunk leg, which
//! names none, by its link or its context), exactly one charge per call, on the trunk leg's
//! billsec; the same in any order, in separate batches, twice, and from concurrent tasks.

use billing::{
    Cdr, CdrOutcome, Decimal, Ledger, Outcome, RatePlan, Rounding, TenantDirectory,
    UnassignedReason,
};
use std::path::Path;
use std::sync::Arc;

mod common;

use common::{ledgers, open_tenant, unique};

const RATES: &str = "prefix,name,rate_per_minute,connect_fee\n09,Mobile,0.60,0.05\n";

/// The platform's mapping: context `demo` (the captures') is this run's tenant.
#[derive(Debug)]
struct Contexts {
    demo: String,
}

impl TenantDirectory for Contexts {
    fn tenant_of_place(&self, context: Option<&str>, _domain: Option<&str>) -> Option<String> {
        (context == Some("demo")).then(|| self.demo.clone())
    }
}

/// A ledger with this run's tenant on the mobile plan, and the directory mapping `demo` to it.
async fn with_tenant(ledger: Ledger) -> (Ledger, String) {
    let tenant = open_tenant(&ledger, RATES, Decimal::ZERO).await;
    let ledger = ledger.with_tenant_directory(Arc::new(Contexts {
        demo: tenant.clone(),
    }));
    (ledger, tenant)
}

fn body(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    match bytes.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(at) if bytes.starts_with(b"POST ") => bytes[at + 4..].to_vec(),
        _ => bytes,
    }
}

/// Each folder's call, its legs read from the capture, made unique to this run (UUIDs and
/// links get a suffix; `tenant_id=demo` becomes this run's tenant).
fn calls(tenant: &str) -> Vec<(String, Vec<Cdr>)> {
    let root =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/freeswitch/json_cdr_bridged");
    let mut folders: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    folders.sort();
    let run = unique("run");
    folders
        .into_iter()
        .map(|folder| {
            let mut files: Vec<_> = std::fs::read_dir(&folder)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            let legs = files
                .iter()
                .map(|path| {
                    let mut cdr = Cdr::parse(&body(path), &Default::default()).unwrap();
                    cdr.uuid = format!("{}-{run}", cdr.uuid);
                    for link in &mut cdr.links {
                        *link = format!("{link}-{run}");
                    }
                    if cdr.tenant.as_deref() == Some("demo") {
                        cdr.tenant = Some(tenant.to_owned());
                    }
                    cdr
                })
                .collect();
            (
                folder.file_name().unwrap().to_string_lossy().into_owned(),
                legs,
            )
        })
        .collect()
}

/// What the plan charges for the trunk leg.
fn trunk_cost(legs: &[Cdr]) -> Decimal {
    let trunk = legs.iter().find(|cdr| cdr.reaches_outside()).unwrap();
    let plan = RatePlan::from_csv(
        "p",
        billing::Currency::new("EUR", 2).unwrap(),
        Rounding::Up,
        RATES.as_bytes(),
    )
    .unwrap();
    plan.rate_call(
        trunk.destination.as_deref().unwrap(),
        trunk.answered_at(),
        trunk.duration_ms(),
    )
    .unwrap()
    .amount
    .amount
}

async fn check_stored(ledger: &Ledger, tenant: &str, name: &str, legs: &[Cdr]) {
    for leg in legs {
        let call = ledger.call(tenant, &leg.uuid).await.unwrap();
        assert_eq!(call.len(), 3, "{name}: every leg of the call, from any leg");
        let charged: Vec<_> = call
            .iter()
            .filter(|record| record.outcome == CdrOutcome::Charged)
            .collect();
        assert_eq!(charged.len(), 1, "{name}: one charge per call");
        assert_eq!(charged[0].amount, Some(trunk_cost(legs)), "{name}");
        let trunk = legs.iter().find(|cdr| cdr.reaches_outside()).unwrap();
        assert_eq!(
            charged[0].uuid, trunk.uuid,
            "{name}: charged on the trunk leg"
        );
        assert_eq!(
            call.iter()
                .filter(|record| record.outcome == CdrOutcome::PartOfCall)
                .count(),
            2,
            "{name}"
        );
    }
}

#[tokio::test]
async fn each_call_is_charged_once_on_its_trunk_leg_whatever_the_order() {
    for (name, ledger) in ledgers("calls").await {
        let (ledger, tenant) = with_tenant(ledger).await;
        let calls = calls(&tenant);
        let mut expected = Decimal::ZERO;
        for (index, (folder, legs)) in calls.iter().enumerate() {
            let name = format!("{name}/{folder}");
            expected += trunk_cost(legs);
            match index % 3 {
                // All legs in one batch.
                0 => {
                    for result in ledger.record_batch(legs).await.unwrap() {
                        assert!(!matches!(result.unwrap().outcome, Outcome::Unassigned(_)));
                    }
                }
                // One batch per leg, in reverse order: the trunk leg first, alone.
                1 => {
                    for leg in legs.iter().rev() {
                        let recorded = ledger.record(leg).await.unwrap();
                        assert!(
                            !matches!(recorded.outcome, Outcome::Unassigned(_)),
                            "{name}"
                        );
                    }
                }
                // Trunk leg with one loopback leg, then the other.
                _ => {
                    let (trunk, others): (Vec<Cdr>, Vec<Cdr>) =
                        legs.iter().cloned().partition(Cdr::reaches_outside);
                    ledger
                        .record_batch(&[others[1].clone(), trunk[0].clone()])
                        .await
                        .unwrap();
                    ledger.record(&others[0]).await.unwrap();
                }
            }
            // Everything again, reversed (FreeSWITCH retrying, an import after the posts).
            let mut again = legs.clone();
            again.reverse();
            for result in ledger.record_batch(&again).await.unwrap() {
                assert!(result.unwrap().duplicate, "{name}");
            }
            check_stored(&ledger, &tenant, &name, legs).await;
        }
        assert_eq!(
            ledger.balance(&tenant).await.unwrap().balance,
            -expected,
            "{name}: the balance paid each call once"
        );
    }
}

#[tokio::test]
async fn concurrent_batches_of_the_legs_charge_once() {
    for (name, ledger) in ledgers("calls").await {
        let (ledger, tenant) = with_tenant(ledger).await;
        let calls = calls(&tenant);
        let mut tasks = Vec::new();
        for (_, legs) in &calls {
            // Each leg of each call posted by four tasks at once.
            for _ in 0..4 {
                for leg in legs {
                    let ledger = ledger.clone();
                    let leg = leg.clone();
                    tasks.push(tokio::spawn(async move {
                        loop {
                            // SQLite may be busy with another writer: retried, as the gateway does.
                            if let Ok(recorded) = ledger.record(&leg).await {
                                return recorded;
                            }
                            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                        }
                    }));
                }
            }
        }
        for task in tasks {
            task.await.unwrap();
        }
        let expected: Decimal = calls.iter().map(|(_, legs)| trunk_cost(legs)).sum();
        for (folder, legs) in &calls {
            check_stored(&ledger, &tenant, &format!("{name}/{folder}"), legs).await;
        }
        assert_eq!(
            ledger.balance(&tenant).await.unwrap().balance,
            -expected,
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_leg_whose_variable_contradicts_its_context_is_not_charged_to_either() {
    for (name, ledger) in ledgers("calls").await {
        let (ledger, tenant) = with_tenant(ledger).await;
        let (victim_ledger, victim) = with_tenant(ledger.clone()).await;
        drop(victim_ledger);
        let (_, mut legs) = calls(&tenant).remove(0);
        // The trunk leg claims another tenant (a forged variable): its context is ours.
        let trunk = legs.iter_mut().find(|cdr| cdr.reaches_outside()).unwrap();
        trunk.tenant = Some(victim.clone());
        let recorded = ledger.record(trunk).await.unwrap();
        assert_eq!(
            recorded.outcome,
            Outcome::Unassigned(UnassignedReason::TenantConflict),
            "{name}"
        );
        assert_eq!(
            ledger.balance(&victim).await.unwrap().balance,
            Decimal::ZERO
        );
        assert_eq!(
            ledger.balance(&tenant).await.unwrap().balance,
            Decimal::ZERO
        );
        let kept = ledger.unassigned_cdrs(None, 100_000).await.unwrap();
        assert!(kept.iter().any(|u| u.uuid == trunk.uuid), "{name}");
    }
}

#[tokio::test]
async fn without_a_directory_the_trunk_leg_takes_its_linked_legs_tenant() {
    for (name, ledger) in ledgers("calls").await {
        let (with_directory, tenant) = with_tenant(ledger.clone()).await;
        drop(with_directory);
        let (_, legs) = calls(&tenant).remove(0);
        // The loopback legs first, then the trunk leg: found through its link.
        let (trunk, others): (Vec<Cdr>, Vec<Cdr>) =
            legs.iter().cloned().partition(Cdr::reaches_outside);
        ledger.record_batch(&others).await.unwrap();
        let recorded = ledger.record(&trunk[0]).await.unwrap();
        assert!(
            matches!(recorded.outcome, Outcome::Charged { .. }),
            "{name}"
        );
        check_stored(&ledger, &tenant, &name, &legs).await;
        // A leg nothing attributes is kept apart, answered, never charged.
        let mut stray = trunk[0].clone();
        stray.uuid = unique("stray");
        stray.links.clear();
        let recorded = ledger.record(&stray).await.unwrap();
        assert_eq!(
            recorded.outcome,
            Outcome::Unassigned(UnassignedReason::NoTenant),
            "{name}"
        );
    }
}
