//! Prepaid authorisations in bursts against one account on PostgreSQL, from several daemon
//! processes at once: each round, every process fires its share of the burst at the same
//! instant (`--processes` × `--calls`, default 4 × 50 = 200), each authorisation a
//! `Ledger::reserve` of a 300 s slice against an account whose credit runs out inside the
//! burst. Two ways, side by side in one run:
//!
//! - `per-call`: one transaction per authorisation (each takes the account row's lock alone);
//! - `combined`: `Ledger::reserve` as the daemon calls it (a process's concurrent
//!   reservations of one tenant written together).
//!
//! Before the timed bursts each process warms its pool as a running daemon's is: the same
//! statements prepared and planned on every connection.
//!
//! It reports the latency of every authorisation (p50, p99, max) and checks, each round, that
//! what the processes were granted is exactly what the account holds, and never more than it
//! may spend (balance + credit limit).
//!
//! `cargo run --release -p benches --bin prepaid-load -- --rounds 20`
//! PostgreSQL: `PREPAID_LOAD_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/test`).

use billing::{Decimal, Ledger, PlanRecord, Reservation, ReserveRequest, Rounding};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// 0.60 a minute after a 0.05 connect fee: a 300 s slice holds 3.05.
const RATES: &str = "prefix,rate_per_minute,connect_fee\n09,0.60,0.05\n";
const SLICE: Duration = Duration::from_secs(300);
/// What each round's account starts with: 163 full slices, then the credit runs out.
const CREDIT: i64 = 500;
/// Time between rounds, and before the first (the processes start and connect).
const ROUND_GAP_MS: u64 = 400;
const START_MS: u64 = 6000;
/// Untimed authorisations each process makes first, one at a time, then in bursts, against
/// an account that runs out among the bursts: a daemon's connections have prepared (and
/// PostgreSQL has planned) its statements long before, on the one-statement and the exact
/// path. PostgreSQL plans a prepared statement afresh for its first five executions on each
/// connection, and the pool hands its connections out in turn.
const WARM_SINGLE: usize = 160;
const WARM_BURSTS: usize = 8;

struct Args {
    processes: usize,
    calls: usize,
    rounds: usize,
    child: Option<Child>,
}

/// A child process's part: its index, the mode, the round tenants and the first round's time.
struct Child {
    index: usize,
    mode: String,
    tenants: Vec<String>,
    start_ms: u64,
}

fn args() -> Args {
    let mut args = Args {
        processes: 4,
        calls: 50,
        rounds: 20,
        child: None,
    };
    let mut child = (None, None, None, None);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--processes" => args.processes = value().parse().expect("--processes N"),
            "--calls" => args.calls = value().parse().expect("--calls N"),
            "--rounds" => args.rounds = value().parse().expect("--rounds N"),
            "--child" => child.0 = Some(value().parse::<usize>().expect("--child N")),
            "--mode" => child.1 = Some(value()),
            "--tenants" => child.2 = Some(value().split(',').map(str::to_owned).collect()),
            "--start-ms" => child.3 = Some(value().parse::<u64>().expect("--start-ms T")),
            other => panic!("unknown argument {other}"),
        }
    }
    if let (Some(index), Some(mode), Some(tenants), Some(start_ms)) = child {
        args.child = Some(Child {
            index,
            mode,
            tenants,
            start_ms,
        });
    }
    args
}

fn postgres_url() -> String {
    std::env::var("PREPAID_LOAD_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

async fn sleep_until_ms(at: u64) {
    let now = now_ms();
    if at > now {
        tokio::time::sleep(Duration::from_millis(at - now)).await;
    }
}

/// One process's share of every round; prints `round latencies_us granted_micros` lines.
async fn child(args: &Args, child: &Child) {
    let ledger = Ledger::connect(&postgres_url()).await.expect("PostgreSQL");
    // A daemon's pool is warm and its plans cached: so is this one's before the first round.
    let warm: Vec<_> = (0..16).map(|_| ledger.pool().acquire()).collect();
    for connection in futures_util::future::join_all(warm).await {
        drop(connection.expect("a connection"));
    }
    for tenant in &child.tenants {
        // A destination the plan does not rate: it loads the tenant's plan, holds nothing.
        ledger
            .reserve(tenant, "warm-up", "1", 0, SLICE)
            .await
            .expect("plan");
    }
    let (warm, rounds) = child.tenants.split_first().expect("a warm-up tenant");
    for call in 0..WARM_SINGLE {
        let uuid = format!("{warm}-{}-single-{call}", child.index);
        authorise(&ledger, &child.mode, warm, uuid).await;
    }
    for burst in 0..WARM_BURSTS {
        let tasks: Vec<_> = (0..args.calls)
            .map(|call| {
                let uuid = format!("{warm}-{}-{burst}-{call}", child.index);
                let (ledger, warm, mode) = (ledger.clone(), warm.clone(), child.mode.clone());
                tokio::spawn(async move { authorise(&ledger, &mode, &warm, uuid).await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    }
    for (round, tenant) in rounds.iter().enumerate() {
        sleep_until_ms(child.start_ms + round as u64 * ROUND_GAP_MS).await;
        let tasks: Vec<_> = (0..args.calls)
            .map(|call| {
                let (ledger, tenant, mode) = (ledger.clone(), tenant.clone(), child.mode.clone());
                let uuid = format!("{tenant}-{}-{call}", child.index);
                tokio::spawn(async move {
                    let started = std::time::Instant::now();
                    let granted = authorise(&ledger, &mode, &tenant, uuid).await;
                    (started.elapsed(), granted)
                })
            })
            .collect();
        let mut latencies = Vec::new();
        let mut granted = Decimal::ZERO;
        for task in tasks {
            let (elapsed, amount) = task.await.unwrap();
            latencies.push(elapsed.as_micros().to_string());
            granted += amount;
        }
        println!("{round} {} {granted}", latencies.join(","));
    }
    // Every process stays (its connections open) until every round is over everywhere.
    sleep_until_ms(child.start_ms + rounds.len() as u64 * ROUND_GAP_MS).await;
}

/// One authorisation as `mode` makes it; what it was granted.
async fn authorise(ledger: &Ledger, mode: &str, tenant: &str, uuid: String) -> Decimal {
    let reservation = if mode == "combined" {
        ledger
            .reserve(tenant, &uuid, "0912345678", 1_795_261_109, SLICE)
            .await
    } else {
        let request = ReserveRequest {
            call_uuid: uuid,
            destination: "0912345678".into(),
            at: 1_795_261_109,
            slice: SLICE,
        };
        ledger
            .reserve_batch(tenant, &[request])
            .await
            .map(|mut r| r.pop().expect("one"))
    };
    match reservation.expect("authorised") {
        Reservation::Held(hold) => hold.amount,
        _ => Decimal::ZERO,
    }
}

/// The warm-up account (credit for the single authorisations and half the bursts), then one
/// account per round.
async fn open_round_tenants(
    ledger: &Ledger,
    mode: &str,
    rounds: usize,
    processes: usize,
    calls: usize,
) -> Vec<String> {
    let plan = format!("prepaid-load-{}-{}", std::process::id(), now_ms());
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
    let mut tenants = Vec::new();
    for round in 0..=rounds {
        let tenant = format!("{plan}-{mode}-{round}");
        ledger
            .open_account(&tenant, &plan, Decimal::ZERO)
            .await
            .unwrap();
        let credit = if round == 0 {
            let slices = processes * (WARM_SINGLE + calls * WARM_BURSTS / 2);
            Decimal::new(305, 2) * Decimal::from(slices)
        } else {
            Decimal::from(CREDIT)
        };
        ledger.top_up(&tenant, credit, "load").await.unwrap();
        tenants.push(tenant);
    }
    tenants
}

fn percentile_ms(sorted: &[u64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
}

/// Runs one mode: the processes, then the checks; the sorted latencies (µs).
async fn run(ledger: &Ledger, args: &Args, mode: &str) -> Vec<u64> {
    let tenants = open_round_tenants(ledger, mode, args.rounds, args.processes, args.calls).await;
    let start_ms = now_ms() + START_MS;
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..args.processes)
        .map(|index| {
            Command::new(&exe)
                .args(["--child", &index.to_string(), "--mode", mode])
                .args(["--tenants", &tenants.join(",")])
                .args(["--start-ms", &start_ms.to_string()])
                .args(["--calls", &args.calls.to_string()])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut latencies = Vec::new();
    let mut granted = vec![Decimal::ZERO; args.rounds];
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "a {mode} process failed");
        for line in String::from_utf8(output.stdout).unwrap().lines() {
            let mut fields = line.split(' ');
            let round: usize = fields.next().unwrap().parse().unwrap();
            latencies.extend(
                fields
                    .next()
                    .unwrap()
                    .split(',')
                    .map(|us| us.parse::<u64>().unwrap()),
            );
            granted[round] += fields.next().unwrap().parse::<Decimal>().unwrap();
        }
    }
    for (round, tenant) in tenants[1..].iter().enumerate() {
        let money = ledger.balance(tenant).await.unwrap();
        assert_eq!(
            money.held, granted[round],
            "{mode} round {round}: held vs granted"
        );
        assert!(
            money.held <= money.balance + money.credit_limit,
            "{mode} round {round}: held {} > what may be spent",
            money.held
        );
        // A burst larger than the credit uses it up (less than a slice is left).
        assert!(
            args.processes * args.calls <= 163 || money.available() < Decimal::new(305, 2),
            "{mode} round {round}: {} left unheld with calls refused",
            money.available()
        );
    }
    // The bursts' calls never happen: their holds are released, as the sweeper would.
    for tenant in &tenants {
        for hold in ledger.holds(tenant, None, u32::MAX).await.unwrap() {
            ledger.expire_hold(hold.id).await.unwrap();
        }
    }
    latencies.sort_unstable();
    assert_eq!(latencies.len(), args.processes * args.calls * args.rounds);
    latencies
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = args();
    if let Some(child_args) = &args.child {
        child(&args, child_args).await;
        return;
    }
    let ledger = Ledger::connect(&postgres_url())
        .await
        .expect("PostgreSQL (PREPAID_LOAD_POSTGRES)");
    println!(
        "{} processes x {} concurrent authorisations, {} rounds, one account per round ({CREDIT}.00: 163 slices of 3.05)",
        args.processes, args.calls, args.rounds
    );
    println!("mode       authorisations   p50 ms   p99 ms   max ms   held <= available");
    for mode in ["per-call", "combined"] {
        let sorted = run(&ledger, &args, mode).await;
        println!(
            "{mode:<10} {:>14} {:>8.2} {:>8.2} {:>8.2}   yes (every round)",
            sorted.len(),
            percentile_ms(&sorted, 0.50),
            percentile_ms(&sorted, 0.99),
            percentile_ms(&sorted, 1.0),
        );
    }
}
