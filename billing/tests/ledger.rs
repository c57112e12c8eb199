//! The ledger against real databases: PostgreSQL at 127.0.0.1:5432 (database `test`, or
//! `BILLING_TEST_POSTGRES`) and SQLite in a file. Each test uses its own tenant and call UUIDs,
//! so runs never see each other's rows.

use billing::{
    Cdr, CdrOutcome, Decimal, Ledger, LedgerError, Leg, Outcome, TransactionKind, UnassignedReason,
};
mod common;

use common::{cdr, ledgers, open_tenant, unique};

/// The rows agree with each other: every charge has its CDR and exactly one transaction of the
/// same amount, and the balance is the sum of the tenant's transactions.
async fn assert_rows_consistent(ledger: &Ledger, tenant: &str, name: &str) {
    use sqlx::Row;
    let row = sqlx::query(
        "SELECT
            (SELECT COUNT(*) FROM charges g JOIN cdrs c ON c.id = g.cdr_id WHERE c.tenant = $1),
            (SELECT COUNT(*) FROM charges g
                JOIN cdrs c ON c.id = g.cdr_id
                JOIN transactions t ON t.cdr_id = g.cdr_id
                WHERE c.tenant = $1 AND t.tenant = $1 AND t.kind = 'charge'
                  AND t.amount_micros = -g.amount_micros),
            (SELECT COUNT(*) FROM transactions t WHERE t.tenant = $1 AND t.kind = 'charge'),
            (SELECT CAST(COALESCE(SUM(amount_micros), 0) AS BIGINT) FROM transactions WHERE tenant = $1),
            (SELECT balance_micros FROM accounts WHERE tenant = $1)",
    )
    .bind(tenant)
    .fetch_one(ledger.pool())
    .await
    .unwrap();
    let counts: Vec<i64> = (0..5).map(|i| row.try_get(i).unwrap()).collect();
    assert_eq!(
        counts[0], counts[1],
        "{name}: a charge without its CDR or transaction"
    );
    assert_eq!(
        counts[0], counts[2],
        "{name}: a charge transaction without its charge"
    );
    assert_eq!(
        counts[3], counts[4],
        "{name}: balance differs from its transactions"
    );
}

/// A tenant on a plan of 0.60/min with a 0.05 connect fee, 1/1 increments, rounded up to cents.
async fn tenant(ledger: &Ledger) -> String {
    open_tenant(
        ledger,
        "prefix,name,rate_per_minute,connect_fee,free\n44,UK,0.60,0.05,false\n800,Freephone,0,,true\n",
        Decimal::ZERO,
    )
    .await
}

/// What a call of `ms` costs on the test plan: 0.05 + 0.01 per started second, in cents.
fn cost_cents(ms: u64) -> i64 {
    5 + ms.div_ceil(1000) as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_tasks_recording_the_same_cdrs_charge_each_once() {
    for (name, ledger) in ledgers("ledger").await {
        let tenant = tenant(&ledger).await;
        ledger
            .top_up(&tenant, "1000.00".parse().unwrap(), "initial")
            .await
            .unwrap();
        let prefix = unique("call");
        let cdrs: Vec<Cdr> = (0..1000u64)
            .map(|i| {
                cdr(
                    &format!("{prefix}-{i}"),
                    &tenant,
                    "442079460000",
                    Some(500 + i * 997 % 300_000),
                )
            })
            .collect();
        let expected_cents: i64 = cdrs.iter().map(|c| cost_cents(c.billmsec.unwrap())).sum();
        let cdrs = std::sync::Arc::new(cdrs);
        let mut tasks = Vec::new();
        for task in 0..50u64 {
            let (ledger, cdrs) = (ledger.clone(), cdrs.clone());
            tasks.push(tokio::spawn(async move {
                // Each task walks the CDRs in its own order.
                let mut order: Vec<usize> = (0..cdrs.len()).collect();
                let mut state = task * 7919 + 1;
                for i in (1..order.len()).rev() {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    order.swap(i, (state % (i as u64 + 1)) as usize);
                }
                let mut first_times = 0;
                for i in order {
                    let recorded = ledger.record(&cdrs[i]).await.expect("recorded");
                    first_times += usize::from(!recorded.duplicate);
                }
                first_times
            }));
        }
        let mut first_times = 0;
        for task in tasks {
            first_times += task.await.unwrap();
        }
        assert_eq!(
            first_times, 1000,
            "{name}: each CDR recorded for the first time exactly once"
        );
        let stored = ledger.cdrs(&tenant, 0, i64::MAX, None, 5000).await.unwrap();
        assert_eq!(stored.len(), 1000, "{name}");
        let balance = ledger.balance(&tenant).await.unwrap().balance;
        let expected = Decimal::from(1000) - Decimal::new(expected_cents, 2);
        assert_eq!(balance, expected, "{name}: exact balance");
        let charges = ledger.transactions(&tenant, None, 5000).await.unwrap();
        assert_eq!(
            charges
                .iter()
                .filter(|t| t.kind == TransactionKind::Charge)
                .count(),
            1000,
            "{name}"
        );
        assert_rows_consistent(&ledger, &tenant, &name).await;
    }
}

#[tokio::test]
async fn a_duplicate_returns_the_first_outcome_and_changes_nothing() {
    for (name, ledger) in ledgers("ledger").await {
        let tenant = tenant(&ledger).await;
        let call = cdr(&unique("call"), &tenant, "442079460000", Some(61_200));
        let first = ledger.record(&call).await.unwrap();
        assert_eq!(
            first.outcome,
            Outcome::Charged {
                amount: "0.67".parse().unwrap(),
                billed_seconds: 62,
                balance_after: "-0.67".parse().unwrap(),
            },
            "{name}"
        );
        assert!(!first.duplicate);
        let again = ledger.record(&call).await.unwrap();
        assert_eq!(again.outcome, first.outcome, "{name}");
        assert_eq!(again.cdr_id, first.cdr_id);
        assert!(again.duplicate);
        assert_eq!(
            ledger.balance(&tenant).await.unwrap().balance,
            "-0.67".parse::<Decimal>().unwrap()
        );
        // The B leg of the same call is another CDR.
        let mut b = call.clone();
        b.leg = Leg::B;
        assert!(!ledger.record(&b).await.unwrap().duplicate);
        // Not answered and free calls are stored without charge.
        let unanswered = ledger
            .record(&cdr(&unique("call"), &tenant, "4420", None))
            .await
            .unwrap();
        assert_eq!(
            unanswered.outcome,
            Outcome::NotCharged(CdrOutcome::NotAnswered)
        );
        let free = ledger
            .record(&cdr(&unique("call"), &tenant, "8001234", Some(60_000)))
            .await
            .unwrap();
        assert_eq!(free.outcome, Outcome::NotCharged(CdrOutcome::Free));
        let no_route = ledger
            .record(&cdr(&unique("call"), &tenant, "33123", Some(60_000)))
            .await
            .unwrap();
        assert_eq!(no_route.outcome, Outcome::NotCharged(CdrOutcome::NoRoute));
    }
}

#[tokio::test]
async fn group_commit_gives_an_outcome_per_cdr_and_unattributed_ones_are_kept_apart() {
    for (name, ledger) in ledgers("ledger").await {
        let tenant = tenant(&ledger).await;
        let good: Vec<Cdr> = (0..20)
            .map(|i| cdr(&unique("call"), &tenant, "4420", Some(1000 * i + 1)))
            .collect();
        let mut batch = good.clone();
        batch.insert(
            5,
            cdr(&unique("call"), "no-such-tenant", "4420", Some(1000)),
        );
        let mut no_tenant = cdr(&unique("call"), &tenant, "4420", Some(1000));
        no_tenant.tenant = None;
        let no_tenant_uuid = no_tenant.uuid.clone();
        batch.insert(10, no_tenant);
        batch.push(good[3].clone()); // a duplicate inside the batch
        let results = ledger.record_batch(&batch).await.unwrap();
        assert_eq!(results.len(), 23, "{name}");
        assert_eq!(
            results[5].as_ref().unwrap().outcome,
            Outcome::Unassigned(UnassignedReason::UnknownTenant),
            "{name}"
        );
        assert_eq!(
            results[10].as_ref().unwrap().outcome,
            Outcome::Unassigned(UnassignedReason::NoTenant),
            "{name}"
        );
        assert!(results[22].as_ref().unwrap().duplicate);
        let stored = ledger.cdrs(&tenant, 0, i64::MAX, None, 100).await.unwrap();
        assert_eq!(
            stored.len(),
            20,
            "{name}: unattributed CDRs are not the tenant's"
        );
        let unassigned = ledger.unassigned_cdrs(None, 10_000).await.unwrap();
        let kept = unassigned
            .iter()
            .find(|u| u.uuid == no_tenant_uuid)
            .expect("kept for the operator");
        assert_eq!(kept.reason, UnassignedReason::NoTenant, "{name}");
        let named = unassigned
            .iter()
            .find(|u| u.uuid == batch[5].uuid)
            .expect("kept for the operator");
        assert_eq!(named.named_tenant.as_deref(), Some("no-such-tenant"));
        let expected: i64 = good.iter().map(|c| cost_cents(c.billmsec.unwrap())).sum();
        assert_eq!(
            ledger.balance(&tenant).await.unwrap().balance,
            -Decimal::new(expected, 2)
        );
        // Recording the batch again (a retry) changes nothing.
        let again = ledger.record_batch(&batch).await.unwrap();
        assert!(
            again
                .iter()
                .filter_map(|r| r.as_ref().ok())
                .all(|r| r.duplicate)
        );
        assert_eq!(
            ledger.balance(&tenant).await.unwrap().balance,
            -Decimal::new(expected, 2)
        );
        assert_rows_consistent(&ledger, &tenant, &name).await;
    }
}

#[tokio::test]
async fn queries_topups_and_authorisation() {
    for (name, ledger) in ledgers("ledger").await {
        let tenant = tenant(&ledger).await;
        let balance = ledger
            .top_up(&tenant, "10.00".parse().unwrap(), "card-1")
            .await
            .unwrap();
        assert_eq!(balance.balance, "10".parse::<Decimal>().unwrap());
        // The same top-up posted twice adds once.
        ledger
            .top_up(&tenant, "10.00".parse().unwrap(), "card-1")
            .await
            .unwrap();
        assert_eq!(
            ledger.balance(&tenant).await.unwrap().balance,
            "10".parse::<Decimal>().unwrap(),
            "{name}"
        );
        assert!(matches!(
            ledger.top_up("no-such-tenant", Decimal::ONE, "x").await,
            Err(LedgerError::UnknownTenant(_))
        ));
        // 10.00 at 0.05 + 0.01/s: 995 seconds.
        let allowed = ledger.authorize(&tenant, "442079460000", 0).await.unwrap();
        assert_eq!(allowed, Ok(billing::Authorization::Seconds(995)), "{name}");
        for i in 0..25 {
            let mut call = cdr(&unique("call"), &tenant, "4420", Some(1000));
            call.start_us = Some(1_000_000 * i);
            ledger.record(&call).await.unwrap();
        }
        let page1 = ledger.cdrs(&tenant, 0, 20_000_000, None, 10).await.unwrap();
        let page2 = ledger
            .cdrs(&tenant, 0, 20_000_000, page1.last().map(|c| c.id), 10)
            .await
            .unwrap();
        assert_eq!((page1.len(), page2.len()), (10, 10), "{name}");
        assert!(page1.last().unwrap().id < page2[0].id);
        assert_eq!(page1[0].amount, Some("0.06".parse().unwrap()));
        let transactions = ledger.transactions(&tenant, None, 100).await.unwrap();
        assert_eq!(transactions.len(), 26);
        assert_eq!(transactions[0].kind, TransactionKind::TopUp);
        assert_eq!(
            transactions.last().unwrap().balance_after,
            "8.50".parse::<Decimal>().unwrap()
        );
    }
}

#[tokio::test]
async fn real_fixture_cdrs_are_recorded() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/freeswitch/json_cdr");
    for (name, ledger) in ledgers("ledger").await {
        let tenant = tenant(&ledger).await;
        let mut count = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.to_string_lossy().ends_with(".response.http") {
                continue;
            }
            let raw = std::fs::read(&path).unwrap();
            let body = &raw[raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
            let mut call = Cdr::parse(body, &Default::default()).unwrap();
            // Unique per run; the tenant is ours.
            call.uuid = format!("{}-{}", call.uuid, unique("run"));
            call.tenant = Some(tenant.clone());
            let recorded = ledger.record(&call).await.unwrap();
            // Both legs of a loopback pair, linked, neither through a trunk: part of the call.
            assert_eq!(
                recorded.outcome,
                Outcome::NotCharged(CdrOutcome::PartOfCall),
                "{name}"
            );
            count += 1;
        }
        assert_eq!(count, 8);
        assert_eq!(
            ledger
                .cdrs(&tenant, 0, i64::MAX, None, 100)
                .await
                .unwrap()
                .len(),
            8,
            "{name}"
        );
    }
}

#[tokio::test]
async fn recording_metadata_is_stored_once_per_object() {
    for (name, ledger) in ledgers("ledger").await {
        let call = unique("call");
        let recording = billing::RecordingRecord {
            call_uuid: call.clone(),
            tenant: "t".into(),
            object_key: format!("t/2026/11/21/{call}.mp3"),
            size_bytes: 18_432,
            duration_ms: 2_304,
            sha256: "ab".repeat(32),
            bitrate_kbps: 64,
        };
        assert!(ledger.save_recording(&recording).await.unwrap(), "{name}");
        assert!(
            !ledger.save_recording(&recording).await.unwrap(),
            "{name}: a retry adds nothing"
        );
        assert_eq!(ledger.recordings(&call).await.unwrap(), vec![recording]);
    }
}

#[tokio::test]
async fn concurrent_retries_of_one_top_up_add_once() {
    for (name, ledger) in ledgers("ledger").await {
        let tenant = tenant(&ledger).await;
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let ledger = ledger.clone();
            let tenant = tenant.clone();
            tasks.push(tokio::spawn(async move {
                ledger
                    .top_up(&tenant, "2.50".parse().unwrap(), "card-7")
                    .await
            }));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(
            ledger.balance(&tenant).await.unwrap().balance,
            "2.5".parse::<Decimal>().unwrap(),
            "{name}"
        );
        let topups = ledger.transactions(&tenant, None, 100).await.unwrap();
        assert_eq!(topups.len(), 1, "{name}");
    }
}

#[tokio::test]
async fn stored_texts_are_those_existing_databases_hold() {
    use sqlx::Row;
    for (name, ledger) in ledgers("ledger").await {
        let tenant = tenant(&ledger).await;
        ledger
            .top_up(&tenant, "5.00".parse().unwrap(), "card-1")
            .await
            .unwrap();
        let mut calls = Vec::new();
        for (destination, billmsec, leg, outcome, text) in [
            ("4420", Some(1000), Leg::A, CdrOutcome::Charged, "charged"),
            (
                "4420",
                None,
                Leg::B,
                CdrOutcome::NotAnswered,
                "not_answered",
            ),
            ("8001234", Some(1000), Leg::A, CdrOutcome::Free, "free"),
            ("33123", Some(1000), Leg::B, CdrOutcome::NoRoute, "no_route"),
        ] {
            let mut call = cdr(&unique("call"), &tenant, destination, billmsec);
            call.leg = leg;
            let recorded = ledger.record(&call).await.unwrap();
            assert_eq!(recorded.outcome.cdr_outcome(), outcome, "{name}");
            let row = sqlx::query("SELECT outcome, leg FROM cdrs WHERE uuid = $1")
                .bind(&call.uuid)
                .fetch_one(ledger.pool())
                .await
                .unwrap();
            let stored: (String, String) = (row.try_get(0).unwrap(), row.try_get(1).unwrap());
            let leg_text = if leg == Leg::A { "a" } else { "b" };
            assert_eq!(stored, (text.into(), leg_text.into()), "{name}");
            calls.push((call.uuid, leg, outcome));
        }
        let listed: Vec<(String, Leg, CdrOutcome)> = ledger
            .cdrs(&tenant, 0, i64::MAX, None, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.uuid, c.leg, c.outcome))
            .collect();
        assert_eq!(listed, calls, "{name}");
        let kinds: Vec<String> =
            sqlx::query("SELECT kind FROM transactions WHERE tenant = $1 ORDER BY id")
                .bind(&tenant)
                .fetch_all(ledger.pool())
                .await
                .unwrap()
                .iter()
                .map(|row| row.try_get(0).unwrap())
                .collect();
        assert_eq!(kinds, ["topup", "charge"], "{name}");
        let kinds: Vec<TransactionKind> = ledger
            .transactions(&tenant, None, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .collect();
        assert_eq!(
            kinds,
            [TransactionKind::TopUp, TransactionKind::Charge],
            "{name}"
        );
    }
}

#[tokio::test]
async fn an_unknown_stored_text_is_a_corrupt_error_not_a_panic() {
    use billing::{Corruption, UnknownText};
    let corrupt = |what: &'static str, text: &str| {
        Corruption::UnknownText(UnknownText {
            what,
            text: text.into(),
        })
    };
    for (name, ledger) in ledgers("ledger").await {
        let tenant = tenant(&ledger).await;
        // A row with an outcome this crate never wrote.
        let uuid = unique("call");
        sqlx::query(
            "INSERT INTO cdrs (uuid, leg, tenant, start_us, billsec, outcome, raw, recorded_at_us)
             VALUES ($1, 'a', $2, 1, 0, 'refunded', '{}', 0)",
        )
        .bind(&uuid)
        .bind(&tenant)
        .execute(ledger.pool())
        .await
        .unwrap();
        match ledger.cdrs(&tenant, 0, i64::MAX, None, 10).await {
            Err(LedgerError::Corrupt(found)) => {
                assert_eq!(found, corrupt("CDR outcome", "refunded"), "{name}")
            }
            other => panic!("{name}: expected a corrupt outcome, got {other:?}"),
        }
        // Recording that CDR again reads its first outcome back: the same error.
        match ledger.record(&cdr(&uuid, &tenant, "4420", None)).await {
            Err(LedgerError::Corrupt(found)) => {
                assert_eq!(found, corrupt("CDR outcome", "refunded"), "{name}")
            }
            other => panic!("{name}: expected a corrupt outcome, got {other:?}"),
        }
        // A leg and a transaction kind this crate never wrote.
        let tenant = self::tenant(&ledger).await;
        sqlx::query(
            "INSERT INTO cdrs (uuid, leg, tenant, start_us, billsec, outcome, raw, recorded_at_us)
             VALUES ($1, 'c', $2, 1, 0, 'free', '{}', 0)",
        )
        .bind(unique("call"))
        .bind(&tenant)
        .execute(ledger.pool())
        .await
        .unwrap();
        assert!(
            matches!(
                ledger.cdrs(&tenant, 0, i64::MAX, None, 10).await,
                Err(LedgerError::Corrupt(found)) if found == corrupt("leg", "c")
            ),
            "{name}"
        );
        sqlx::query(
            "INSERT INTO transactions (tenant, kind, amount_micros, balance_after_micros, created_at_us)
             VALUES ($1, 'bonus', 0, 0, 0)",
        )
        .bind(&tenant)
        .execute(ledger.pool())
        .await
        .unwrap();
        assert!(
            matches!(
                ledger.transactions(&tenant, None, 10).await,
                Err(LedgerError::Corrupt(found)) if found == corrupt("transaction kind", "bonus")
            ),
            "{name}"
        );
    }
}

/// A plan replaced from a time on: a call answered before is rated by the version it was
/// answered under, whenever its CDR arrives, by this ledger or a fresh one reading the
/// database; a version cannot start before the one in force.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cdr_is_rated_by_the_plan_in_force_when_its_call_was_answered() {
    use billing::{PlanRecord, Rounding};
    use sqlx::Row;
    for (name, ledger) in ledgers("versions").await {
        let tenant = tenant(&ledger).await;
        let plan: String = sqlx::query("SELECT rate_plan FROM accounts WHERE tenant = $1")
            .bind(&tenant)
            .fetch_one(ledger.pool())
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        // The fixture's calls were answered at 1_795_261_109 (in the past); new rates from now.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let dearer = PlanRecord {
            id: plan.clone(),
            currency: "EUR".into(),
            decimals: 2,
            rounding: Rounding::Up,
            utc_offset_minutes: 0,
            fallback: None,
            rates_csv: "prefix,name,rate_per_minute,connect_fee\n44,UK,1.20,0\n".into(),
        };
        ledger.save_plan_from(&dearer, now).await.unwrap();
        let early = cdr(&unique("early"), &tenant, "4420", Some(60_000));
        let mut late = cdr(&unique("late"), &tenant, "4420", Some(60_000));
        late.answer_us = Some((now + 3600) * 1_000_000);
        late.start_us = Some((now + 3590) * 1_000_000);
        late.end_us = Some((now + 3660) * 1_000_000);
        let amount = |outcome: Outcome| match outcome {
            Outcome::Charged { amount, .. } => amount,
            other => panic!("{name}: {other:?}"),
        };
        let early_charge = amount(ledger.record(&early).await.unwrap().outcome);
        assert_eq!(
            early_charge,
            "0.65".parse::<Decimal>().unwrap(),
            "{name}: the old rates"
        );
        let late_charge = amount(ledger.record(&late).await.unwrap().outcome);
        assert_eq!(
            late_charge,
            "1.20".parse::<Decimal>().unwrap(),
            "{name}: the new rates"
        );

        // Read again from the database, as another process would.
        ledger.reload().await.unwrap();
        let again = cdr(&unique("early-again"), &tenant, "4420", Some(60_000));
        let charge = amount(ledger.record(&again).await.unwrap().outcome);
        assert_eq!(
            charge,
            "0.65".parse::<Decimal>().unwrap(),
            "{name}: from the database"
        );

        let dearest = PlanRecord {
            rates_csv: "prefix,name,rate_per_minute,connect_fee\n44,UK,2.40,0\n".into(),
            ..dearer.clone()
        };
        // What past calls were rated by never changes: a version starting in the past is
        // refused.
        let refused = ledger.save_plan_from(&dearest, now - 3600).await;
        assert!(
            matches!(refused, Err(LedgerError::VersionOrder { .. })),
            "{name}: {refused:?}"
        );
        // A version scheduled for later is replaced, not stacked: the one in force lasts
        // until the new start.
        ledger.save_plan_from(&dearest, now + 7200).await.unwrap();
        let moved = PlanRecord {
            rates_csv: "prefix,name,rate_per_minute,connect_fee\n44,UK,3.00,0\n".into(),
            ..dearer.clone()
        };
        ledger.save_plan_from(&moved, now + 10_800).await.unwrap();
        let mut later = cdr(&unique("later"), &tenant, "4420", Some(60_000));
        later.answer_us = Some((now + 9000) * 1_000_000);
        let charge = amount(ledger.record(&later).await.unwrap().outcome);
        assert_eq!(
            charge,
            "1.20".parse::<Decimal>().unwrap(),
            "{name}: the scheduled 2.40 never came"
        );
        // Imports in quick succession, within one second (as a client retrying or a fuzzer
        // does): scheduled, replaced now, scheduled again; never a clash of versions.
        let clock = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64
        };
        for (rates, later) in [("1.50", 7200), ("1.60", 0), ("1.70", 7200), ("1.80", 0)] {
            let from = clock() + later;
            let record = PlanRecord {
                rates_csv: format!("prefix,name,rate_per_minute,connect_fee\n44,UK,{rates},0\n"),
                ..dearer.clone()
            };
            let saved = ledger.save_plan_from(&record, from).await;
            assert!(saved.is_ok(), "{name}: {rates} from {from}: {saved:?}");
        }
        ledger.reload().await.unwrap();
        let past = cdr(&unique("past"), &tenant, "4420", Some(60_000));
        let charge = amount(ledger.record(&past).await.unwrap().outcome);
        assert_eq!(
            charge,
            "0.65".parse::<Decimal>().unwrap(),
            "{name}: the past is as it was"
        );
        assert_rows_consistent(&ledger, &tenant, &name).await;
    }
}

/// One batch of two tenants' CDRs, interleaved: each charge's balance after is its tenant's
/// balance less the charges before it in the batch, and each balance is its transactions' sum.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_two_tenants_gives_each_charge_its_running_balance() {
    for (name, ledger) in ledgers("running").await {
        let first = tenant(&ledger).await;
        let second = tenant(&ledger).await;
        ledger
            .top_up(&second, "5.00".parse().unwrap(), "start")
            .await
            .unwrap();
        let mut running = std::collections::HashMap::from([
            (first.clone(), Decimal::ZERO),
            (second.clone(), "5.00".parse::<Decimal>().unwrap()),
        ]);
        let cdrs: Vec<Cdr> = (0..6u64)
            .map(|i| {
                let tenant = if i % 2 == 0 { &first } else { &second };
                cdr(&unique("run"), tenant, "442071234567", Some(1000 * (i + 1)))
            })
            .collect();
        let results = ledger.record_batch(&cdrs).await.unwrap();
        for (i, (cdr, result)) in cdrs.iter().zip(results).enumerate() {
            let ms = 1000 * (i as u64 + 1);
            let cost = Decimal::new(cost_cents(ms), 2);
            let balance = running.get_mut(cdr.tenant.as_ref().unwrap()).unwrap();
            *balance -= cost;
            match result.unwrap().outcome {
                Outcome::Charged {
                    amount,
                    balance_after,
                    ..
                } => {
                    assert_eq!(amount, cost, "{name}: CDR {i}");
                    assert_eq!(balance_after, *balance, "{name}: CDR {i}");
                }
                other => panic!("{name}: CDR {i} not charged: {other:?}"),
            }
        }
        for tenant in [&first, &second] {
            assert_eq!(
                ledger.balance(tenant).await.unwrap().balance,
                running[tenant],
                "{name}"
            );
            assert_rows_consistent(&ledger, tenant, &name).await;
        }
    }
}
