//! Ledger ingest into PostgreSQL of the real mod_json_cdr documents (UUIDs varied so each is
//! new): `record_batch` (one transaction per 500 CDRs) against `record` (one transaction per
//! CDR), side by side in one run. Every CDR is rated and charged: CDR, charge, transaction and
//! balance are written for each.
//!
//! PostgreSQL: `BILLING_BENCH_POSTGRES`, default `postgres://postgres@127.0.0.1:5432/test`.

use billing::{Cdr, Ledger, PlanRecord, Rounding};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::time::{Duration, Instant};

const CDRS: usize = 1000;

fn fixture_cdrs() -> Vec<Cdr> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/freeswitch/json_cdr");
    let mut cdrs = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".response.http") {
            continue;
        }
        let raw = std::fs::read(&path).unwrap();
        let body = &raw[raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
        cdrs.push(Cdr::parse(body, &Default::default()).unwrap());
    }
    cdrs
}

/// `count` new CDRs made from the fixtures: fresh UUIDs, this run's tenant.
fn fresh(templates: &[Cdr], tenant: &str, run: &str, count: usize) -> Vec<Cdr> {
    (0..count)
        .map(|i| {
            let mut cdr = templates[i % templates.len()].clone();
            cdr.uuid = format!("{}-{run}-{i}", cdr.uuid);
            cdr.tenant = Some(tenant.to_owned());
            cdr
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let url = std::env::var("BILLING_BENCH_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let tenant = format!("bench-{stamp}");
    let ledger = runtime.block_on(async {
        let ledger = Ledger::connect(&url)
            .await
            .expect("PostgreSQL for the ledger bench");
        let plan = format!("bench-plan-{stamp}");
        ledger
            .save_plan(&PlanRecord {
                id: plan.clone(),
                currency: "EUR".into(),
                decimals: 4,
                rounding: Rounding::HalfUp,
                utc_offset_minutes: 0,
                fallback: None,
                rates_csv: "prefix,rate_per_minute,connect_fee\n999,0.0150,0.0010\n".into(),
            })
            .await
            .unwrap();
        ledger
            .open_account(&tenant, &plan, billing::Decimal::ZERO)
            .await
            .unwrap();
        ledger
    });
    let templates = fixture_cdrs();
    let mut run = 0u64;
    let mut group = c.benchmark_group("billing_ledger_postgres");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(15));
    group.throughput(Throughput::Elements(CDRS as u64));
    group.bench_function("record_batch_500", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    run += 1;
                    let cdrs = fresh(&templates, &tenant, &format!("batch{stamp}-{run}"), CDRS);
                    let start = Instant::now();
                    for chunk in cdrs.chunks(500) {
                        let results = ledger.record_batch(chunk).await.unwrap();
                        assert!(
                            results
                                .iter()
                                .all(|r| r.as_ref().is_ok_and(|r| !r.duplicate))
                        );
                    }
                    total += start.elapsed();
                }
                total
            })
        })
    });
    group.bench_function("record_per_cdr", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    run += 1;
                    let cdrs = fresh(&templates, &tenant, &format!("single{stamp}-{run}"), CDRS);
                    let start = Instant::now();
                    for cdr in &cdrs {
                        assert!(!ledger.record(cdr).await.unwrap().duplicate);
                    }
                    total += start.elapsed();
                }
                total
            })
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
