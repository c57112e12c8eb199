//! Three concurrent prepaid calls share a balance worth ten minutes, on SQLite and PostgreSQL:
//! the ESL worker's slice logic ([`platform::slices`]) is driven on a simulated clock against
//! the real ledger, with FreeSWITCH's scheduler played by the test (it hangs a leg up at its
//! limit, a little late, as its scheduler does). Slices are extended while credit remains,
//! the calls end when together they have used exactly the credit, and the CDRs charge exactly
//! the balance, never more.

use billing::{Cdr, Decimal, HoldState, Ledger, PlanRecord, Reservation, Rounding};
use billing::{Extension, TransactionKind};
use platform::slices::{Limit, Slices, Step};
use std::time::Duration;

/// 1.00 a minute in 6-second increments (0.10 each), no connect fee: 10.00 pays for 600 s.
const RATES: &str = "prefix,name,rate_per_minute,initial_increment,subsequent_increment\n\
                     0912,Mobile,1.00,6,6\n";
const SLICE: Duration = Duration::from_secs(60);
/// When the first call answers.
const T0: i64 = 1_795_261_100;
/// How late FreeSWITCH's scheduler may hang up (it runs every half second at most).
const SCHEDULER_LATE_MS: u64 = 400;

fn unique(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{label}-{}-{nanos}", std::process::id())
}

async fn ledgers() -> Vec<(&'static str, Ledger)> {
    let sqlite_path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{}.sqlite", unique("slices")));
    let sqlite = Ledger::connect(&format!("sqlite://{}?mode=rwc", sqlite_path.display()))
        .await
        .expect("SQLite ledger");
    let url = std::env::var("BILLING_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let postgres = Ledger::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must be running for this test ({url}): {e}"));
    vec![("sqlite", sqlite), ("postgres", postgres)]
}

/// One running call as the test sees it: the worker's slices, and FreeSWITCH's limit.
struct Call {
    caller: String,
    trunk: String,
    destination: String,
    answered: i64,
    hold: billing::Hold,
    slices: Slices,
    /// When FreeSWITCH's scheduler hangs the trunk leg up, Unix seconds.
    limit_at: i64,
    /// When it did.
    ended: Option<i64>,
    extensions: u32,
}

fn leg_cdr(tenant: &str, call: &Call, own: &str, other: &str, outbound: bool) -> Cdr {
    let ended = call.ended.expect("ended");
    let millis = ((ended - call.answered) as u64) * 1000 + SCHEDULER_LATE_MS;
    let (billsec, billmsec) = ((millis / 1000).to_string(), millis.to_string());
    let answer = call.answered.to_string();
    let mut pairs = vec![
        ("Unique-ID", own),
        ("Caller-Destination-Number", call.destination.as_str()),
        ("variable_tenant_id", tenant),
        ("variable_billsec", billsec.as_str()),
        ("variable_billmsec", billmsec.as_str()),
        ("variable_answer_epoch", answer.as_str()),
        ("variable_bridge_uuid", other),
    ];
    if outbound {
        pairs.extend([
            ("Call-Direction", "outbound"),
            ("variable_sip_gateway_name", "carrier"),
        ]);
    } else {
        pairs.push(("Call-Direction", "inbound"));
    }
    Cdr::from_pairs(pairs, &Default::default()).unwrap()
}

/// What happens next on the simulated clock: the earliest extension the worker wants, or
/// the earliest limit FreeSWITCH applies (an extension due at the same second goes first:
/// the worker extends `lead` seconds ahead, so that never ties with its own limit).
enum Due {
    Extend(usize, i64),
    HangUp(usize, i64),
}

fn next_due(calls: &[Call]) -> Option<Due> {
    let mut due: Option<Due> = None;
    let at = |d: &Due| match d {
        Due::Extend(_, t) | Due::HangUp(_, t) => *t,
    };
    for (i, call) in calls.iter().enumerate().filter(|(_, c)| c.ended.is_none()) {
        if let Step::ExtendAt(t) = call.slices.next()
            && due.as_ref().is_none_or(|d| t < at(d))
        {
            due = Some(Due::Extend(i, t));
        }
        if due.as_ref().is_none_or(|d| call.limit_at < at(d)) {
            due = Some(Due::HangUp(i, call.limit_at));
        }
    }
    due
}

async fn three_calls_share(name: &str, ledger: Ledger) {
    let plan = unique("plan");
    ledger
        .save_plan(&PlanRecord {
            id: plan.clone(),
            currency: "EUR".into(),
            decimals: 2,
            rounding: Rounding::Up,
            utc_offset_minutes: 0,
            fallback: None,
            rates_csv: RATES.into(),
        })
        .await
        .unwrap();
    let tenant = unique("tenant");
    ledger
        .open_account(&tenant, &plan, Decimal::ZERO)
        .await
        .unwrap();
    let credit = Decimal::TEN;
    ledger.top_up(&tenant, credit, "ten").await.unwrap();

    // The dialplan holds each call's first slice as it is placed; they answer 7 and 19 s apart.
    let run = std::process::id();
    let mut calls = Vec::new();
    for (i, offset) in [0, 7, 19].into_iter().enumerate() {
        let caller = format!("{run:08x}-0000-4000-800a-{i:012x}");
        let trunk = format!("{run:08x}-0000-4000-800b-{i:012x}");
        let destination = format!("0912{i:06}");
        let answered = T0 + offset;
        let Reservation::Held(hold) = ledger
            .reserve(&tenant, &caller, &destination, answered, SLICE)
            .await
            .unwrap()
        else {
            panic!("{name}: call {i} not held");
        };
        assert_eq!(hold.seconds, 60, "{name}: a first slice each");
        calls.push(Call {
            caller,
            trunk,
            destination,
            answered,
            slices: Slices::new(answered, hold.seconds, SLICE, Limit::Dialplan),
            limit_at: answered + hold.seconds as i64,
            hold,
            ended: None,
            extensions: 0,
        });
    }

    while let Some(due) = next_due(&calls) {
        match due {
            Due::Extend(i, now) => {
                let call = &mut calls[i];
                let extension = ledger
                    .extend_hold(call.hold.key(), call.slices.seconds(), SLICE)
                    .await
                    .unwrap();
                let money = ledger.balance(&tenant).await.unwrap();
                assert!(money.available() >= Decimal::ZERO, "{name}: {money:?}");
                match call.slices.extended(extension, now) {
                    Some(to) => {
                        call.extensions += 1;
                        // FreeSWITCH takes the new task; the old limit is removed after it.
                        let old = call.slices.moved(to, u64::from(call.extensions));
                        assert_ne!(old, Limit::Unset, "{name}");
                        call.limit_at = now + to.after.as_secs() as i64;
                        assert_eq!(call.limit_at, call.answered + to.seconds as i64);
                    }
                    None => assert!(
                        matches!(extension, Extension::Exhausted { .. }),
                        "{name}: {extension:?}"
                    ),
                }
            }
            Due::HangUp(i, now) => calls[i].ended = Some(now),
        }
    }

    // Together they used exactly the credit: 600 s at 1.00 a minute, in whole increments.
    let used: i64 = calls.iter().map(|c| c.ended.unwrap() - c.answered).sum();
    assert_eq!(used, 600, "{name}: seconds used in all");
    for call in &calls {
        assert!(call.extensions > 0, "{name}: every call was extended");
        assert_eq!((call.ended.unwrap() - call.answered) % 6, 0, "{name}");
    }
    let money = ledger.balance(&tenant).await.unwrap();
    assert_eq!(money.held, credit, "{name}: all of it held until the CDRs");
    assert_eq!(money.available(), Decimal::ZERO, "{name}");

    // The CDRs, caller legs first for one call and trunk legs first for the others, each
    // a little longer than the limit (the scheduler's lateness): charged at most the hold.
    for (i, call) in calls.iter().enumerate() {
        let caller = leg_cdr(&tenant, call, &call.caller, &call.trunk, false);
        let trunk = leg_cdr(&tenant, call, &call.trunk, &call.caller, true);
        let order = if i == 0 {
            [caller, trunk]
        } else {
            [trunk, caller]
        };
        for cdr in order {
            ledger.record(&cdr).await.unwrap();
        }
    }
    let charges: Decimal = ledger
        .transactions(&tenant, None, 100)
        .await
        .unwrap()
        .iter()
        .filter(|t| t.kind == TransactionKind::Charge)
        .map(|t| -t.amount)
        .sum();
    assert_eq!(charges, credit, "{name}: charged exactly the credit");
    let money = ledger.balance(&tenant).await.unwrap();
    assert_eq!(money.balance, Decimal::ZERO, "{name}");
    assert_eq!(money.held, Decimal::ZERO, "{name}");
    let holds = ledger.holds(&tenant, None, 10).await.unwrap();
    assert_eq!(holds.len(), 3, "{name}");
    assert!(
        holds.iter().all(|h| h.state == HoldState::Settled),
        "{name}: {holds:?}"
    );
}

#[tokio::test]
async fn three_calls_share_ten_minutes_of_credit_to_the_increment() {
    for (name, ledger) in ledgers().await {
        three_calls_share(name, ledger).await;
    }
}
