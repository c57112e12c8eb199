//! Prepaid holds on SQLite and PostgreSQL: any interleaving of concurrent reservations,
//! extensions, CDRs (either leg first, repeated, or never arriving), top-ups and expiries
//! never lets the charges exceed top-ups plus the credit limit, and every hold leaves `open`
//! exactly once (settled by its call's charged leg, or expired).

mod common;

use billing::{
    Cdr, Decimal, Extension, Hold, HoldKey, HoldState, Ledger, Outcome, Reservation,
    TransactionKind,
};
use common::{hold_ledgers, open_tenant, unique};
use proptest::prelude::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// 0.60 a minute (0.01 a second) after a 0.05 connect fee, billed per second.
const RATES: &str = "prefix,name,rate_per_minute,connect_fee\n09,Mobile,0.60,0.05\n";
const AT: i64 = 1_795_261_109;

/// A channel UUID unique to this run.
fn channel_uuid(run: u64, call: usize, leg: char) -> String {
    let leg = if leg == 'a' { 0xa } else { 0xb };
    format!("{:08x}-0000-4000-8{leg:03x}-{:012x}", run as u32, call)
}

async fn tenant(ledger: &Ledger, credit_limit: Decimal) -> String {
    open_tenant(ledger, RATES, credit_limit).await
}

/// One leg's CDR of call `call`: the caller leg (A, naming B) or the trunk leg (B, out through
/// a gateway, naming A), answered and lasting `millis`.
fn cdr(tenant: &str, run: u64, call: usize, leg: char, millis: u64) -> Cdr {
    let (own, other) = match leg {
        'a' => (channel_uuid(run, call, 'a'), channel_uuid(run, call, 'b')),
        _ => (channel_uuid(run, call, 'b'), channel_uuid(run, call, 'a')),
    };
    let destination = destination(call);
    let billmsec = millis.to_string();
    let billsec = (millis / 1000).to_string();
    let answer = AT.to_string();
    let mut pairs = vec![
        ("Unique-ID", own.as_str()),
        ("Caller-Destination-Number", destination.as_str()),
        ("variable_tenant_id", tenant),
        ("variable_billsec", billsec.as_str()),
        ("variable_billmsec", billmsec.as_str()),
        ("variable_bridge_uuid", other.as_str()),
    ];
    if millis > 0 {
        pairs.push(("variable_answer_epoch", answer.as_str()));
    }
    if leg == 'a' {
        pairs.push(("Call-Direction", "inbound"));
    } else {
        pairs.push(("Call-Direction", "outbound"));
        pairs.push(("variable_sip_gateway_name", "carrier"));
    }
    Cdr::from_pairs(pairs, &Default::default()).unwrap()
}

fn destination(call: usize) -> String {
    format!("0912{call:06}")
}

/// A new call (of a run of its own) to `destination(0)`, held on `tenant`'s account for
/// `slice`; `name` is the ledger's, for the panic when it is not held.
async fn held_call(ledger: &Ledger, tenant: &str, slice: Duration, name: &str) -> Hold {
    let uuid = channel_uuid(u64::from(rand_run()), 0, 'a');
    match ledger
        .reserve(tenant, &uuid, &destination(0), AT, slice)
        .await
        .unwrap()
    {
        Reservation::Held(hold) => hold,
        other => panic!("{name}: not held: {other:?}"),
    }
}

#[derive(Debug, Clone)]
enum Op {
    Reserve(usize),
    Extend(usize),
    /// A leg's CDR (`a` or `b`) lasting this many milliseconds.
    Cdr(usize, char, u64),
    TopUp(u32),
    Expire(usize),
}

fn op(calls: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..calls).prop_map(Op::Reserve),
        3 => (0..calls).prop_map(Op::Extend),
        4 => (0..calls, prop_oneof![Just('a'), Just('b')], 0u64..400_000).prop_map(|(c, l, m)| Op::Cdr(c, l, m)),
        1 => (1u32..500).prop_map(Op::TopUp),
        1 => (0..calls).prop_map(Op::Expire),
    ]
}

/// What the test saw happen to holds, to check "exactly once".
#[derive(Default)]
struct Seen {
    /// Hold of each call, once reserved.
    holds: HashMap<usize, i64>,
    /// Expiries that took effect, per hold.
    expired: HashMap<i64, u32>,
    /// Top-ups, in micro-units... as decimals.
    top_ups: Decimal,
}

async fn apply(
    ledger: &Ledger,
    tenant: &str,
    run: u64,
    op: Op,
    holds: &HashMap<usize, i64>,
) -> (Op, Option<i64>, bool) {
    let slice = Duration::from_secs(60);
    match op {
        Op::Reserve(call) => {
            let uuid = channel_uuid(run, call, 'a');
            match ledger
                .reserve(tenant, &uuid, &destination(call), AT, slice)
                .await
                .unwrap()
            {
                Reservation::Held(hold) => {
                    assert!(hold.seconds > 0);
                    (op, Some(hold.id), false)
                }
                Reservation::NoCredit => (op, None, false),
                other => panic!("unexpected {other:?}"),
            }
        }
        Op::Extend(call) => {
            if let Some(hold) = holds.get(&call) {
                let key = HoldKey {
                    id: *hold,
                    tenant,
                    created_us: None,
                };
                // From the hold's own length, as the worker knows it.
                let from = ledger.hold(*hold).await.unwrap().unwrap().seconds;
                match ledger.extend_hold(key, from, slice).await.unwrap() {
                    Extension::Extended { seconds, .. } | Extension::Exhausted { seconds } => {
                        assert!(seconds > 0)
                    }
                    Extension::Closed => {}
                }
            }
            (op, None, false)
        }
        Op::Cdr(call, leg, millis) => {
            // A call refused for want of credit never connects: its legs were not answered.
            let millis = if holds.contains_key(&call) { millis } else { 0 };
            let recorded = ledger
                .record(&cdr(tenant, run, call, leg, millis))
                .await
                .unwrap();
            assert!(!matches!(recorded.outcome, Outcome::Unassigned(_)));
            if leg == 'a' {
                assert!(!matches!(recorded.outcome, Outcome::Charged { .. }));
            }
            (op, None, false)
        }
        Op::TopUp(cents) => {
            ledger
                .top_up(tenant, Decimal::new(cents.into(), 2), &unique("ref"))
                .await
                .unwrap();
            (op, None, false)
        }
        Op::Expire(call) => {
            let expired = match holds.get(&call) {
                Some(hold) => ledger.expire_hold(*hold).await.unwrap(),
                None => false,
            };
            (op, None, expired)
        }
    }
}

async fn check(ledger: Ledger, credit_cents: u32, initial_cents: u32, rounds: Vec<Vec<Op>>) {
    let credit = Decimal::new(credit_cents.into(), 2);
    let tenant = tenant(&ledger, credit).await;
    let run = u64::from(rand_run());
    let mut seen = Seen::default();
    if initial_cents > 0 {
        let amount = Decimal::new(initial_cents.into(), 2);
        ledger.top_up(&tenant, amount, "initial").await.unwrap();
        seen.top_ups += amount;
    }
    for round in rounds {
        // Each round's operations run at once, on the pool's connections.
        let tasks: Vec<_> = round
            .into_iter()
            .map(|op| {
                let (ledger, tenant, holds) = (ledger.clone(), tenant.clone(), seen.holds.clone());
                tokio::spawn(async move { apply(&ledger, &tenant, run, op, &holds).await })
            })
            .collect();
        for task in tasks {
            let (op, hold, expired) = task.await.unwrap();
            match op {
                Op::Reserve(call) => {
                    if let Some(hold) = hold {
                        let previous = seen.holds.insert(call, hold);
                        assert!(previous.is_none_or(|p| p == hold), "one hold per call");
                    }
                }
                Op::TopUp(cents) => seen.top_ups += Decimal::new(cents.into(), 2),
                Op::Expire(call) if expired => {
                    *seen.expired.entry(seen.holds[&call]).or_default() += 1;
                }
                _ => {}
            }
        }
        let money = ledger.balance(&tenant).await.unwrap();
        assert!(money.held >= Decimal::ZERO);
        assert_eq!(
            money.held,
            open_holds(&ledger, &tenant).await,
            "held on the account"
        );
        assert!(
            money.available() >= Decimal::ZERO,
            "holds exceed what may be spent: {money:?}"
        );
        assert!(
            money.balance + credit >= Decimal::ZERO,
            "overspent: {money:?}"
        );
    }
    // Calls whose CDRs never arrived: their holds expire (the live list would confirm).
    for hold in seen.holds.values() {
        if ledger.expire_hold(*hold).await.unwrap() {
            *seen.expired.entry(*hold).or_default() += 1;
        }
    }
    let charges: Decimal = ledger
        .transactions(&tenant, None, 1000)
        .await
        .unwrap()
        .iter()
        .filter(|t| t.kind == TransactionKind::Charge)
        .map(|t| -t.amount)
        .sum();
    assert!(
        charges <= seen.top_ups + credit,
        "charges {charges} exceed top-ups {} + credit {credit}",
        seen.top_ups
    );
    let money = ledger.balance(&tenant).await.unwrap();
    assert_eq!(money.balance, seen.top_ups - charges);
    assert_eq!(money.held, Decimal::ZERO, "every hold is closed");
    let holds = ledger.holds(&tenant, None, 1000).await.unwrap();
    assert_eq!(holds.len(), seen.holds.len());
    for hold in holds {
        let expiries = seen.expired.get(&hold.id).copied().unwrap_or(0);
        match hold.state {
            HoldState::Settled => assert_eq!(expiries, 0, "settled and expired: {hold:?}"),
            HoldState::Expired => assert_eq!(expiries, 1, "expired {expiries} times: {hold:?}"),
            other => panic!("hold left {other}: {hold:?}"),
        }
    }
}

/// What the tenant's open holds add up to, summed from the holds themselves (the account
/// row keeps the total, changed with every hold).
async fn open_holds(ledger: &Ledger, tenant: &str) -> Decimal {
    let rows = ledger
        .holds(tenant, None, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|hold| hold.state == HoldState::Open);
    rows.map(|hold| hold.amount).sum()
}

fn rand_run() -> u32 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    (std::process::id().wrapping_mul(7919) ^ NEXT.fetch_add(1, Ordering::Relaxed) as u32)
        .wrapping_add(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos(),
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn no_interleaving_overspends_or_settles_twice(
        credit_cents in 0u32..300,
        initial_cents in 0u32..1500,
        rounds in prop::collection::vec(prop::collection::vec(op(6), 1..8), 1..12),
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            for (_, ledger) in hold_ledgers("holds").await {
                check(ledger, credit_cents, initial_cents, rounds.clone()).await;
            }
        });
    }
}

/// Fifty calls at once against 10.00 at 0.60 a minute: the credit is shared, not each call's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_share_the_credit() {
    for (name, ledger) in hold_ledgers("holds").await {
        let tenant = tenant(&ledger, Decimal::ZERO).await;
        ledger.top_up(&tenant, Decimal::TEN, "ten").await.unwrap();
        let run = u64::from(rand_run());
        let tasks: Vec<_> = (0..50)
            .map(|call| {
                let (ledger, tenant) = (ledger.clone(), tenant.clone());
                tokio::spawn(async move {
                    let uuid = channel_uuid(run, call, 'a');
                    ledger
                        .reserve(
                            &tenant,
                            &uuid,
                            &destination(call),
                            AT,
                            Duration::from_secs(300),
                        )
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut seconds = 0;
        let mut held = Decimal::ZERO;
        for task in tasks {
            if let Reservation::Held(hold) = task.await.unwrap() {
                seconds += hold.seconds;
                held += hold.amount;
            }
        }
        // 10.00 pays for 995 s of one call (0.05 + 9.95); fifty calls share at most that.
        assert!(held <= Decimal::TEN, "{name}: held {held}");
        assert!(seconds <= 995, "{name}: {seconds} s held in all");
        let money = ledger.balance(&tenant).await.unwrap();
        assert_eq!(money.held, held, "{name}");
        assert_eq!(open_holds(&ledger, &tenant).await, held, "{name}");
        assert!(money.available() >= Decimal::ZERO, "{name}");
        // A first slice of 300 s costs 3.05: three calls get it, a fourth what is left.
        assert!(held > Decimal::new(900, 2), "{name}: only {held} held");
    }
}

/// A held call's charge is at most its hold, whatever its CDR says (FreeSWITCH's scheduler
/// may hang up a little late); the hold is settled by the trunk leg only, once.
#[tokio::test]
async fn the_charge_is_capped_at_the_hold_and_settles_once() {
    for (name, ledger) in hold_ledgers("holds").await {
        let tenant = tenant(&ledger, Decimal::ZERO).await;
        ledger.top_up(&tenant, Decimal::ONE, "one").await.unwrap();
        let run = u64::from(rand_run());
        let Reservation::Held(hold) = ledger
            .reserve(
                &tenant,
                &channel_uuid(run, 0, 'a'),
                &destination(0),
                AT,
                Duration::from_secs(60),
            )
            .await
            .unwrap()
        else {
            panic!("{name}: not held");
        };
        // 0.05 + 60 s × 0.01 = 0.65.
        assert_eq!(
            (hold.seconds, hold.amount),
            (60, Decimal::new(65, 2)),
            "{name}"
        );
        // The caller leg first: part of the call, the hold stays.
        let a = ledger
            .record(&cdr(&tenant, run, 0, 'a', 61_400))
            .await
            .unwrap();
        assert!(matches!(a.outcome, Outcome::NotCharged(_)), "{name}");
        assert_eq!(
            ledger.hold(hold.id).await.unwrap().unwrap().state,
            HoldState::Open
        );
        // The trunk leg ran 1.4 s past its limit: charged the hold, not 0.67.
        let b = ledger
            .record(&cdr(&tenant, run, 0, 'b', 61_400))
            .await
            .unwrap();
        match b.outcome {
            Outcome::Charged {
                amount,
                billed_seconds,
                ..
            } => {
                assert_eq!(
                    (amount, billed_seconds),
                    (Decimal::new(65, 2), 60),
                    "{name}"
                )
            }
            other => panic!("{name}: {other:?}"),
        }
        let again = ledger
            .record(&cdr(&tenant, run, 0, 'b', 61_400))
            .await
            .unwrap();
        assert!(again.duplicate);
        assert_eq!(
            ledger.hold(hold.id).await.unwrap().unwrap().state,
            HoldState::Settled
        );
        assert!(
            !ledger.expire_hold(hold.id).await.unwrap(),
            "{name}: settled holds never expire"
        );
        let money = ledger.balance(&tenant).await.unwrap();
        assert_eq!(
            (money.balance, money.held),
            (Decimal::new(35, 2), Decimal::ZERO),
            "{name}"
        );
        assert_eq!(
            ledger
                .extend_hold(hold.key(), hold.seconds, Duration::from_secs(60))
                .await
                .unwrap(),
            Extension::Closed
        );
    }
}

/// A hold is due for expiry only once its call should have ended `grace` ago, and expires once.
#[tokio::test]
async fn holds_are_due_after_their_seconds_and_the_grace() {
    for (name, ledger) in hold_ledgers("holds").await {
        let tenant = tenant(&ledger, Decimal::ZERO).await;
        ledger.top_up(&tenant, Decimal::ONE, "one").await.unwrap();
        let hold = held_call(&ledger, &tenant, Duration::from_secs(1), &name).await;
        assert_eq!(hold.seconds, 1, "{name}");
        let due = |grace| {
            let ledger = ledger.clone();
            async move {
                // Every due hold of the database (other tests' too), not only the oldest few.
                ledger
                    .holds_due(grace, u32::MAX)
                    .await
                    .unwrap()
                    .into_iter()
                    .any(|h| h.id == hold.id)
            }
        };
        assert!(
            !due(Duration::ZERO).await,
            "{name}: due before its second has passed"
        );
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(
            due(Duration::ZERO).await,
            "{name}: not due after its second"
        );
        assert!(
            !due(Duration::from_secs(3600)).await,
            "{name}: due within the grace"
        );
        assert!(ledger.expire_hold(hold.id).await.unwrap());
        assert!(
            !due(Duration::ZERO).await,
            "{name}: an expired hold is not due"
        );
        assert!(
            !ledger.expire_hold(hold.id).await.unwrap(),
            "{name}: expired twice"
        );
    }
}

/// A call's hold is its tenant's: another tenant reserving for the same channel and number is
/// refused, and the first hold stays as it was.
#[tokio::test]
async fn another_tenants_hold_is_never_shared() {
    for (name, ledger) in hold_ledgers("holds").await {
        let (owner, other) = (
            tenant(&ledger, Decimal::ZERO).await,
            tenant(&ledger, Decimal::ZERO).await,
        );
        for tenant in [&owner, &other] {
            ledger.top_up(tenant, Decimal::ONE, "one").await.unwrap();
        }
        let call = channel_uuid(u64::from(rand_run()), 0, 'a');
        let slice = Duration::from_secs(60);
        let Reservation::Held(hold) = ledger
            .reserve(&owner, &call, &destination(0), AT, slice)
            .await
            .unwrap()
        else {
            panic!("{name}: not held");
        };
        let taken = ledger
            .reserve(&other, &call, &destination(0), AT, slice)
            .await
            .unwrap();
        assert_eq!(taken, Reservation::NoCredit, "{name}");
        assert_eq!(ledger.hold(hold.id).await.unwrap(), Some(hold), "{name}");
        assert_eq!(ledger.balance(&other).await.unwrap().held, Decimal::ZERO);
    }
}

/// A batch is served in order from the credit: the same call twice gets one hold, and the
/// calls after the credit runs out are refused; the holds add up to what the account holds.
#[tokio::test]
async fn a_batch_is_served_in_order_and_holds_a_call_once() {
    for (name, ledger) in hold_ledgers("holds").await {
        let tenant = tenant(&ledger, Decimal::ZERO).await;
        // 7.00: two first slices of 300 s (3.05 each), then 0.90 (0.05 + 85 s).
        ledger
            .top_up(&tenant, Decimal::new(700, 2), "seven")
            .await
            .unwrap();
        let run = u64::from(rand_run());
        let request = |call: usize| billing::ReserveRequest {
            call_uuid: channel_uuid(run, call, 'a'),
            destination: destination(call),
            at: AT,
            slice: Duration::from_secs(300),
        };
        let batch = [request(0), request(1), request(0), request(2), request(3)];
        let reservations = ledger.reserve_batch(&tenant, &batch).await.unwrap();
        let held = |r: &Reservation| match r {
            Reservation::Held(hold) => (hold.seconds, hold.amount),
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(
            held(&reservations[0]),
            (300, Decimal::new(305, 2)),
            "{name}"
        );
        assert_eq!(
            held(&reservations[1]),
            (300, Decimal::new(305, 2)),
            "{name}"
        );
        assert_eq!(
            reservations[2], reservations[0],
            "{name}: the same call, the same hold"
        );
        assert_eq!(held(&reservations[3]), (85, Decimal::new(90, 2)), "{name}");
        assert_eq!(reservations[4], Reservation::NoCredit, "{name}");
        let money = ledger.balance(&tenant).await.unwrap();
        assert_eq!(money.held, Decimal::new(700, 2), "{name}");
        assert_eq!(
            ledger.holds(&tenant, None, 10).await.unwrap().len(),
            3,
            "{name}"
        );
    }
}

/// A reservation whose caller gave up (a dialplan lookup past its deadline, its call refused)
/// before its batch was taken holds nothing: the call it was for never happens.
#[tokio::test]
async fn a_reservation_given_up_before_its_batch_holds_nothing() {
    let (name, ledger) = hold_ledgers("holds").await.remove(0);
    assert_eq!(
        name, "sqlite",
        "SQLite's one connection can be held by the test"
    );
    let tenant = tenant(&ledger, Decimal::ZERO).await;
    ledger.top_up(&tenant, Decimal::TEN, "ten").await.unwrap();
    // The plan is cached: the reservations below wait only for the connection.
    let _ = ledger
        .reserve(&tenant, "warm", "1", AT, Duration::from_secs(60))
        .await
        .unwrap();
    let run = u64::from(rand_run());
    let connection = ledger.pool().acquire().await.unwrap();
    let reserve = |call: usize| {
        let (ledger, tenant) = (ledger.clone(), tenant.clone());
        async move {
            ledger
                .reserve(
                    &tenant,
                    &channel_uuid(run, call, 'a'),
                    &destination(call),
                    AT,
                    Duration::from_secs(60),
                )
                .await
        }
    };
    // The first batch (call 0) is taken and waits for the connection; call 1 queues behind
    // it, and both callers give up.
    let first = tokio::spawn(tokio::time::timeout(Duration::from_millis(200), reserve(0)));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        tokio::time::timeout(Duration::from_millis(50), reserve(1))
            .await
            .is_err()
    );
    assert!(first.await.unwrap().is_err());
    drop(connection);
    // The drain task finishes its taken batch, and skips call 1's.
    for _ in 0..100 {
        if !ledger.holds(&tenant, None, 10).await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Call 0's hold stays for the sweeper: another lookup of the call may have been told of it.
    let holds = ledger.holds(&tenant, None, 10).await.unwrap();
    assert_eq!(holds.len(), 1, "{holds:?}");
    assert_eq!(holds[0].call_uuid, channel_uuid(run, 0, 'a'));
    assert_eq!(holds[0].state, HoldState::Open, "{holds:?}");
}

/// The hold of call `call` of `run`, reserved for a first slice of `seconds` (refused: a panic).
async fn hold_for(
    ledger: &Ledger,
    tenant: &str,
    run: u64,
    call: usize,
    seconds: u64,
) -> billing::Hold {
    let reservation = ledger
        .reserve(
            tenant,
            &channel_uuid(run, call, 'a'),
            &destination(call),
            AT,
            Duration::from_secs(seconds),
        )
        .await
        .unwrap();
    match reservation {
        Reservation::Held(hold) => hold,
        other => panic!("call {call}: {other:?}"),
    }
}

/// Two processes' ledgers on PostgreSQL (each its own pool and batches; the second answers
/// new holds before they are on disk, as a process configured so would) and a tenant with
/// `credit` on its account.
async fn two_processes(credit: Decimal) -> (Ledger, Ledger, String) {
    let first = Ledger::connect(&common::postgres_url()).await.unwrap();
    let second = Ledger::connect(&common::postgres_url())
        .await
        .unwrap()
        .with_hold_commit(billing::HoldCommit::Asynchronous);
    let tenant = tenant(&first, Decimal::ZERO).await;
    first.top_up(&tenant, credit, "credit").await.unwrap();
    (first, second, tenant)
}

/// Two processes (two ledgers, each with its own pool and batches) authorise the same calls
/// at the same moment on PostgreSQL, where a batch that fits is written by one statement:
/// each call is held once, both are told the same hold, and the account holds what the holds
/// add up to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_two_processes_authorise_at_once_is_held_once() {
    let (first, second, tenant) = two_processes(Decimal::new(10_000, 2)).await;
    let run = u64::from(rand_run());
    let calls = 20;
    let tasks: Vec<_> = (0..calls)
        .flat_map(|call| [(first.clone(), call), (second.clone(), call)])
        .map(|(ledger, call)| {
            let tenant = tenant.clone();
            tokio::spawn(async move {
                let uuid = channel_uuid(run, call, 'a');
                let reservation = ledger
                    .reserve(
                        &tenant,
                        &uuid,
                        &destination(call),
                        AT,
                        Duration::from_secs(300),
                    )
                    .await
                    .unwrap();
                (call, reservation)
            })
        })
        .collect();
    let mut holds: HashMap<usize, billing::Hold> = HashMap::new();
    for task in tasks {
        let (call, reservation) = task.await.unwrap();
        let Reservation::Held(hold) = reservation else {
            panic!("call {call}: {reservation:?}");
        };
        assert_eq!((hold.seconds, hold.amount), (300, Decimal::new(305, 2)));
        if let Some(other) = holds.insert(call, hold.clone()) {
            assert_eq!(other.id, hold.id, "call {call}: two holds");
        }
    }
    let stored = first.holds(&tenant, None, 100).await.unwrap();
    assert_eq!(stored.len(), calls, "one hold a call");
    let money = first.balance(&tenant).await.unwrap();
    assert_eq!(money.held, Decimal::new(305, 2) * Decimal::from(calls));
    assert_eq!(open_holds(&first, &tenant).await, money.held);
}

/// Late CDRs (their holds expired) recorded in one batch with other charges never take more
/// than the account can spend: neither what the batch's settled calls are charged, nor what
/// another late CDR of the batch took.
#[tokio::test]
async fn late_cdrs_in_one_batch_never_overspend() {
    for (name, ledger) in hold_ledgers("holds").await {
        // A settled call and a late one: 1.00, call 0 held (0.65) then expired, call 1 held
        // for all that is left (95 s = 1.00) and settled in the same batch.
        let (tenant, run) = funded(&ledger, Decimal::ONE).await;
        let late = hold_for(&ledger, &tenant, run, 0, 60).await;
        assert!(ledger.expire_hold(late.id).await.unwrap());
        let last = hold_for(&ledger, &tenant, run, 1, 95).await;
        assert_eq!(last.amount, Decimal::ONE, "{name}");
        record_trunk_legs(&ledger, &tenant, run, &[(1, 95_000), (0, 60_000)]).await;
        let money = ledger.balance(&tenant).await.unwrap();
        assert_eq!(money.balance, Decimal::ZERO, "{name}: settled + late");
        // Two late calls: 1.00, two holds of 90 s (0.95 each) taken and expired in turn.
        let (tenant, run) = funded(&ledger, Decimal::ONE).await;
        for call in 0..2 {
            let hold = hold_for(&ledger, &tenant, run, call, 90).await;
            assert!(ledger.expire_hold(hold.id).await.unwrap());
        }
        record_trunk_legs(&ledger, &tenant, run, &[(0, 90_000), (1, 90_000)]).await;
        let money = ledger.balance(&tenant).await.unwrap();
        assert_eq!(money.balance, Decimal::ZERO, "{name}: two late");
        assert_eq!(money.held, Decimal::ZERO, "{name}");
    }
}

/// A new tenant with `amount` topped up, and a run number for its calls.
async fn funded(ledger: &Ledger, amount: Decimal) -> (String, u64) {
    let tenant = tenant(ledger, Decimal::ZERO).await;
    ledger.top_up(&tenant, amount, "funds").await.unwrap();
    (tenant, u64::from(rand_run()))
}

/// Records, in one batch, the trunk legs' CDRs of `legs` (call, milliseconds).
async fn record_trunk_legs(ledger: &Ledger, tenant: &str, run: u64, legs: &[(usize, u64)]) {
    let cdrs: Vec<Cdr> = legs
        .iter()
        .map(|&(call, millis)| cdr(tenant, run, call, 'b', millis))
        .collect();
    ledger.record_batch(&cdrs).await.unwrap();
}

/// Two processes authorising the same calls in opposite orders at once never deadlock: every
/// authorisation is answered, each call held once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_of_the_same_calls_in_opposite_orders_never_fail() {
    use billing::ReserveRequest;
    let (first, second, tenant) = two_processes(Decimal::new(1_000_000, 2)).await;
    for round in 0..20u64 {
        let run = u64::from(rand_run()) ^ (round << 20);
        let requests: Vec<ReserveRequest> = (0..30)
            .map(|call| ReserveRequest {
                call_uuid: channel_uuid(run, call, 'a'),
                destination: destination(call),
                at: AT,
                slice: Duration::from_secs(60),
            })
            .collect();
        let mut reversed = requests.clone();
        reversed.reverse();
        let (a, b) = (tenant.clone(), tenant.clone());
        let (one, two) = (first.clone(), second.clone());
        let forward = tokio::spawn(async move { one.reserve_batch(&a, &requests).await });
        let backward = tokio::spawn(async move { two.reserve_batch(&b, &reversed).await });
        let forward = forward.await.unwrap().expect("forward batch");
        let mut backward = backward.await.unwrap().expect("backward batch");
        backward.reverse();
        assert_eq!(forward, backward, "round {round}: one hold a call");
    }
    let money = first.balance(&tenant).await.unwrap();
    assert_eq!(money.held, open_holds(&first, &tenant).await);
    assert_eq!(money.held, Decimal::new(65, 2) * Decimal::from(20 * 30));
}

/// Two processes recording the same held calls' CDRs in opposite orders at once (a retried
/// post beside an err-log replay) never deadlock: both batches are answered, each call is
/// charged once and its hold settled once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdr_batches_in_opposite_orders_never_fail() {
    let (first, second, tenant) = two_processes(Decimal::new(1_000_000, 2)).await;
    for round in 0..10u64 {
        let run = u64::from(rand_run()) ^ (round << 20);
        for call in 0..20 {
            hold_for(&first, &tenant, run, call, 60).await;
        }
        let cdrs: Vec<Cdr> = (0..20)
            .flat_map(|call| {
                [
                    cdr(&tenant, run, call, 'a', 30_000),
                    cdr(&tenant, run, call, 'b', 30_000),
                ]
            })
            .collect();
        let mut reversed = cdrs.clone();
        reversed.reverse();
        let (one, two) = (first.clone(), second.clone());
        let forward = tokio::spawn(async move { one.record_batch(&cdrs).await });
        let backward = tokio::spawn(async move { two.record_batch(&reversed).await });
        for outcome in forward
            .await
            .unwrap()
            .expect("forward batch")
            .into_iter()
            .chain(backward.await.unwrap().expect("backward batch"))
        {
            outcome.expect("every CDR recorded");
        }
    }
    // 200 calls of 30 s at 0.60/min after 0.05: 0.35 each, charged once.
    let money = first.balance(&tenant).await.unwrap();
    assert_eq!(money.held, Decimal::ZERO);
    assert_eq!(money.balance, Decimal::new(1_000_000 - 200 * 35, 2));
    let holds = first.holds(&tenant, None, 1000).await.unwrap();
    assert_eq!(holds.len(), 200);
    assert!(holds.iter().all(|hold| hold.state == HoldState::Settled));
}

/// A batch the credit cannot cover (its holds written, then the account row locked and the
/// holds cut) and a batch that fits (one statement) sharing a call with it, on two processes,
/// arranged to meet at the worst moment: the account row is held by a third writer while the
/// big batch and then the single call arrive, so both are under way when it is released.
/// Both take the holds first and the account row last, so neither waits for the other in a
/// cycle (a cut path that locked the account first deadlocked with the statement, and
/// PostgreSQL failed one side). The call is held once, and the account holds what its holds
/// add up to, never more than it may spend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_cut_short_beside_one_that_fits_never_fails() {
    use billing::ReserveRequest;
    let slice = Decimal::new(65, 2);
    let (first, second, tenant) = two_processes(Decimal::ZERO).await;
    for round in 0..3u64 {
        // Ten slices more each round: the batch of thirty runs out, the single call fits.
        first
            .top_up(
                &tenant,
                slice * Decimal::from(10),
                &format!("round-{round}"),
            )
            .await
            .unwrap();
        let run = u64::from(rand_run()) ^ (round << 20);
        let request = |call: usize| ReserveRequest {
            call_uuid: channel_uuid(run, call, 'a'),
            destination: destination(call),
            at: AT,
            slice: Duration::from_secs(60),
        };
        // The shared call first: the big batch has credit for it, and writes its hold.
        let big: Vec<ReserveRequest> = (0..30).map(request).collect();
        let single = vec![request(0)];
        let mut blocker = first.pool().begin().await.unwrap();
        sqlx::query("SELECT 1 FROM accounts WHERE tenant = $1 FOR UPDATE")
            .bind(&tenant)
            .fetch_one(&mut *blocker)
            .await
            .unwrap();
        let (a, b) = (tenant.clone(), tenant.clone());
        let (one, two) = (first.clone(), second.clone());
        let cut = tokio::spawn(async move { one.reserve_batch(&a, &big).await });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let fits = tokio::spawn(async move { two.reserve_batch(&b, &single).await });
        tokio::time::sleep(Duration::from_millis(300)).await;
        blocker.rollback().await.unwrap();
        let cut = cut.await.unwrap().expect("the batch cut short");
        let fits = fits.await.unwrap().expect("the batch that fits");
        let shared = [&cut[0], &fits[0]];
        let held: Vec<i64> = shared
            .iter()
            .filter_map(|r| match r {
                Reservation::Held(hold) => Some(hold.id),
                _ => None,
            })
            .collect();
        assert_eq!(held.len(), 2, "round {round}: {shared:?}");
        assert_eq!(
            held[0], held[1],
            "round {round}: the shared call held twice"
        );
        let money = first.balance(&tenant).await.unwrap();
        assert_eq!(
            money.held,
            open_holds(&first, &tenant).await,
            "round {round}"
        );
        assert!(
            money.held <= money.balance + money.credit_limit,
            "round {round}"
        );
    }
}

/// The statement that writes a batch of holds on PostgreSQL commits without waiting for the
/// disk when asked to, and for its own transaction only: the connection's next transaction
/// waits for the disk again.
#[tokio::test]
async fn a_hold_statement_commits_asynchronously_only_when_asked() {
    let ledger = Ledger::connect(&common::postgres_url()).await.unwrap();
    let tenant = tenant(&ledger, Decimal::ZERO).await;
    let mut connection = ledger.pool().acquire().await.unwrap();
    let setting = "SELECT current_setting('synchronous_commit')";
    for (wait_for_flush, during) in [(false, "off"), (true, "on")] {
        let mut tx = sqlx::Connection::begin(&mut *connection).await.unwrap();
        sqlx::query("SELECT hold_id FROM take_holds_at_once($1, 0, CAST('[]' AS JSONB), $2)")
            .bind(&tenant)
            .bind(wait_for_flush)
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        let now: String = sqlx::query_scalar(setting)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(now, during, "wait_for_flush = {wait_for_flush}");
        tx.commit().await.unwrap();
        let after: String = sqlx::query_scalar(setting)
            .fetch_one(&mut *connection)
            .await
            .unwrap();
        assert_eq!(
            after, "on",
            "after a commit with wait_for_flush = {wait_for_flush}"
        );
    }
}

/// A hold is extended only when the key names it whole: its id, its tenant, and the moment it
/// was taken. After a crash of the database lost an asynchronous hold, its id can be given to
/// another hold; the lost call's worker, which still has the id, must not grow that one.
#[tokio::test]
async fn a_hold_is_extended_only_by_its_own_key() {
    for (name, ledger) in hold_ledgers("holds").await {
        let other = tenant(&ledger, Decimal::ZERO).await;
        let tenant = tenant(&ledger, Decimal::ZERO).await;
        ledger.top_up(&tenant, Decimal::TEN, "ten").await.unwrap();
        ledger.top_up(&other, Decimal::TEN, "ten").await.unwrap();
        let slice = Duration::from_secs(60);
        let hold = held_call(&ledger, &tenant, slice, &name).await;
        let strangers = [
            HoldKey {
                tenant: &other,
                ..hold.key()
            },
            HoldKey {
                created_us: Some(hold.created_us + 1),
                ..hold.key()
            },
        ];
        for key in strangers {
            assert_eq!(
                ledger.extend_hold(key, 60, slice).await.unwrap(),
                Extension::Closed,
                "{name}: {key:?}"
            );
        }
        assert_eq!(
            ledger.hold(hold.id).await.unwrap().unwrap().seconds,
            60,
            "{name}: untouched"
        );
        assert!(
            matches!(
                ledger.extend_hold(hold.key(), 60, slice).await.unwrap(),
                Extension::Extended { seconds: 120, .. }
            ),
            "{name}"
        );
        // An earlier version's reference (the id alone) still finds it, within its tenant.
        let by_id = HoldKey {
            created_us: None,
            ..hold.key()
        };
        assert!(
            matches!(
                ledger.extend_hold(by_id, 120, slice).await.unwrap(),
                Extension::Extended { seconds: 180, .. }
            ),
            "{name}"
        );
    }
}

/// Extending is idempotent by the limit the caller knows: the ESL worker retries an
/// extension whose answer it lost (the connection broke after the commit), and the retry must
/// report the hold as the first attempt grew it, not hold a second slice of credit.
#[tokio::test]
async fn a_retried_extension_holds_one_slice() {
    for (name, ledger) in hold_ledgers("holds").await {
        let tenant = tenant(&ledger, Decimal::ZERO).await;
        ledger.top_up(&tenant, Decimal::TEN, "ten").await.unwrap();
        let slice = Duration::from_secs(60);
        let hold = held_call(&ledger, &tenant, slice, &name).await;
        let first = ledger.extend_hold(hold.key(), 60, slice).await.unwrap();
        let Extension::Extended {
            seconds: 120,
            amount,
        } = first
        else {
            panic!("{name}: {first:?}");
        };
        let held = ledger.balance(&tenant).await.unwrap().held;
        assert_eq!(held, amount, "{name}: the hold is all that is held");
        for _ in 0..3 {
            assert_eq!(
                ledger.extend_hold(hold.key(), 60, slice).await.unwrap(),
                first,
                "{name}: a retry reports the first attempt's extension"
            );
        }
        assert_eq!(ledger.balance(&tenant).await.unwrap().held, held, "{name}");
        assert_eq!(
            ledger.hold(hold.id).await.unwrap().unwrap().seconds,
            120,
            "{name}: one slice more, not four"
        );
        // The next slice, from the limit the first extension gave.
        assert!(
            matches!(
                ledger.extend_hold(hold.key(), 120, slice).await.unwrap(),
                Extension::Extended { seconds: 180, .. }
            ),
            "{name}"
        );
    }
}

/// Extending a hold reads its tenant's plan before it takes a connection: on SQLite (a pool of
/// one connection) a plan read while holding the connection waited for itself until the pool's
/// timeout, whenever the tenant's plan was not cached (after `reload`), so no call was
/// extended.
#[tokio::test]
async fn a_hold_is_extended_on_sqlite_after_the_plans_are_reloaded() {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{}.sqlite", unique("reload")));
    let ledger = Ledger::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    let tenant = tenant(&ledger, Decimal::ZERO).await;
    ledger.top_up(&tenant, Decimal::TEN, "ten").await.unwrap();
    let slice = Duration::from_secs(60);
    let hold = held_call(&ledger, &tenant, slice, "sqlite").await;
    ledger.reload().await.unwrap();
    let extended = tokio::time::timeout(
        Duration::from_secs(5),
        ledger.extend_hold(hold.key(), hold.seconds, slice),
    )
    .await
    .expect("the extension waited for a connection it held itself")
    .unwrap();
    assert!(
        matches!(extended, Extension::Extended { seconds: 120, .. }),
        "{extended:?}"
    );
}

/// The server ending the ledger's connections (a restart, an administrator's termination)
/// while calls are being authorised never refuses a call that has credit: a reservation whose
/// connection breaks under it is tried again on another, and no call is held twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservations_outlive_their_connections_being_ended() {
    let application = unique("ended").replace('-', "_");
    let separator = if common::postgres_url().contains('?') {
        '&'
    } else {
        '?'
    };
    let url = format!(
        "{}{separator}application_name={application}",
        common::postgres_url()
    );
    let ledger = Ledger::connect(&url).await.expect("PostgreSQL ledger");
    let tenant = tenant(&ledger, Decimal::ZERO).await;
    ledger
        .top_up(&tenant, Decimal::ONE_HUNDRED, "hundred")
        .await
        .unwrap();
    let admin = Ledger::connect(&common::postgres_url()).await.unwrap();
    let run = u64::from(rand_run());
    let slice = Duration::from_secs(60);
    const CALLS: usize = 120;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    // Ends every connection of the ledger's pool every 50 ms, until the calls are done.
    let terminator = tokio::spawn(async move {
        let mut ended = 0;
        while !*stopped.borrow() {
            let rows: Vec<bool> = sqlx::query_scalar(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            )
            .bind(&application)
            .fetch_all(admin.pool())
            .await
            .unwrap();
            ended += rows.iter().filter(|ended| **ended).count();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        ended
    });
    let mut calls = tokio::task::JoinSet::new();
    for call in 0..CALLS {
        let (ledger, tenant) = (ledger.clone(), tenant.clone());
        calls.spawn(async move {
            // Spread over the terminator's rounds.
            tokio::time::sleep(Duration::from_millis(3 * call as u64)).await;
            ledger
                .reserve(
                    &tenant,
                    &channel_uuid(run, call, 'a'),
                    &destination(call),
                    AT,
                    slice,
                )
                .await
        });
    }
    let mut refused = Vec::new();
    while let Some(reserved) = calls.join_next().await {
        match reserved.unwrap() {
            Ok(Reservation::Held(_)) => {}
            other => refused.push(format!("{other:?}")),
        }
    }
    stop.send(true).unwrap();
    let ended = terminator.await.unwrap();
    assert!(
        ended > 0,
        "no connection was ended: the test tested nothing"
    );
    assert!(
        refused.is_empty(),
        "{} of {CALLS} refused, the first: {:?}",
        refused.len(),
        refused.first()
    );
    let holds = ledger.holds(&tenant, None, 1000).await.unwrap();
    assert_eq!(holds.len(), CALLS, "one hold a call");
    let held: Decimal = holds.iter().map(|h| h.amount).sum();
    assert_eq!(ledger.balance(&tenant).await.unwrap().held, held);
}

/// A ledger on a pool of its own (another runtime's, in the daemon) shares the account: what
/// it holds, the first ledger sees held, and the credit is shared. SQLite has one writer, so
/// it has no second pool.
#[tokio::test]
async fn a_ledger_on_a_pool_of_its_own_shares_the_credit() {
    let url = common::postgres_url();
    let first = Ledger::connect(&url).await.unwrap();
    let second = first.with_pool_of_its_own(&url, 2).unwrap();
    let tenant = tenant(&first, Decimal::ZERO).await;
    first.top_up(&tenant, Decimal::ONE, "one").await.unwrap();
    let run = u64::from(rand_run());
    let mut held = Decimal::ZERO;
    for (call, ledger) in [&second, &first, &second].into_iter().enumerate() {
        let uuid = channel_uuid(run, call, 'a');
        if let Reservation::Held(hold) = ledger
            .reserve(
                &tenant,
                &uuid,
                &destination(call),
                AT,
                Duration::from_secs(60),
            )
            .await
            .unwrap()
        {
            held += hold.amount;
        }
    }
    // 0.65 a first minute: one call, and what is left (0.35) for the next; none for a third.
    assert_eq!(held, Decimal::ONE);
    assert_eq!(first.balance(&tenant).await.unwrap().held, Decimal::ONE);
    assert_eq!(second.balance(&tenant).await.unwrap().held, Decimal::ONE);
    let sqlite = Ledger::connect("sqlite::memory:").await.unwrap();
    assert!(sqlite.with_pool_of_its_own("sqlite::memory:", 1).is_err());
}
