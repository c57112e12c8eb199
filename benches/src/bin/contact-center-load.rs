//! Load: the wallboards of a busy contact center. A FreeSWITCH node plays mod_callcenter's
//! events for callers joining 200 queues (20 per tenant over 10 tenants) served by 20 agents
//! each (4,000 agents), at 100 joins per second by default: each caller's captured way through
//! a queue (`fixtures/freeswitch/callcenter/esl-callcenter-plain.raw`, the first caller:
//! joined, offered to an agent, answered, hung up), its member, channel and agent UUIDs renewed
//! and its queue and agent varied per caller. The ESL worker keeps the live state, stores each
//! caller's steps for the day's statistics (SQLite, or `--database`), and publishes every change
//! to the tenants' wallboards on `/ws`.
//!
//! Reports the joins per second the node sent, the wallboard messages per second, and the
//! update latency: from the moment the node wrote a caller's events to the moment a wallboard
//! read each queue or agent update naming that caller (updates naming nobody, such as an
//! emptied queue or the day's statistics, are counted, not timed).
//!
//! ```text
//! cargo run --release -p benches --bin contact-center-load -- [--callers N] [--rate JOINS_PER_S]
//!     [--wallboards N] [--database URL]
//! ```

use benches::percentile;
use billing::Ledger;
use callcenter::api::{ApiState, ApiUser, Limits, Role, Tokens, Users};
use callcenter::roles::esl_worker::{EslWorker, EslWorkerConfig, NodeConfig};
use futures_util::StreamExt;
use platform::cache::Cache;
use platform::events::Hub;
use platform::store::{PlatformStore, QueueRow, Tenant};
use platform::variables::ChannelVariables;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tests::node::{Calls, EventFrame, FakeNode, SentTimes, Session, call_index, event_frames};
use tokio_tungstenite::tungstenite::Message;

const TENANTS: usize = 10;
const QUEUES_PER_TENANT: usize = 20;
const AGENTS_PER_QUEUE: usize = 20;
const QUEUES: usize = TENANTS * QUEUES_PER_TENANT;
const AGENTS: usize = QUEUES * AGENTS_PER_QUEUE;

/// The first captured caller's member, channel and agent-leg UUIDs.
const UUIDS: [&str; 3] = [
    "5a461382-5080-4d17-8589-335e8c042d40",
    "6c8c644b-4c22-4988-bdc2-f8c9287f8e7a",
    "675c3ac5-bf20-442a-88d0-d4e6349c1628",
];

struct Args {
    callers: usize,
    rate: u32,
    wallboards: usize,
    database: Option<String>,
}

fn args() -> Args {
    let mut args = Args {
        callers: 6_000,
        rate: 100,
        wallboards: 100,
        database: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next();
        let number = value.as_deref().and_then(|v| v.parse::<usize>().ok());
        match (flag.as_str(), number) {
            ("--callers", Some(v)) => args.callers = v.clamp(1, 1_000_000),
            ("--rate", Some(v)) => args.rate = v.clamp(1, 100_000) as u32,
            ("--wallboards", Some(v)) => args.wallboards = v.clamp(1, 10_000),
            ("--database", _) if value.is_some() => args.database = value,
            _ => {
                eprintln!(
                    "usage: contact-center-load [--callers N] [--rate JOINS_PER_S] [--wallboards N] [--database URL]"
                );
                std::process::exit(2);
            }
        }
    }
    args
}

/// The first captured caller's mod_callcenter events, from joining to leaving.
fn one_caller() -> Vec<EventFrame> {
    let raw = std::fs::read(tests::fixture("callcenter/esl-callcenter-plain.raw")).unwrap();
    let frames: Vec<EventFrame> = event_frames(&raw)
        .into_iter()
        .filter(|f| f.subclass.as_deref() == Some("callcenter::info"))
        .collect();
    let text = |f: &EventFrame| String::from_utf8_lossy(&f.bytes).into_owned();
    let first = frames
        .iter()
        .position(|f| text(f).contains("CC-Action: member-queue-start"))
        .unwrap();
    let last = frames
        .iter()
        .position(|f| text(f).contains("CC-Action: member-queue-end"))
        .unwrap();
    frames[first..=last].to_vec()
}

/// Queue `q` (`qu00000`..) of tenant `q / 20` (`t000`..), as mod_callcenter's events write it.
fn queue_name(q: usize) -> String {
    format!("qu{q:05}%40t{:03}", q / QUEUES_PER_TENANT)
}

/// Agent `a` (`0000`..) answers queue `a % 200`, of that queue's tenant.
fn agent_name(a: usize) -> String {
    format!("{a:04}%40t{:03}", (a % QUEUES) / QUEUES_PER_TENANT)
}

/// The newest caller a wallboard message names (its members' or its call's UUIDs).
fn newest_caller(text: &str) -> Option<usize> {
    let mut newest = None;
    for key in ["\"uuid\":\"", "\"member_session_uuid\":\""] {
        let mut rest = text;
        while let Some(at) = rest.find(key) {
            rest = &rest[at + key.len()..];
            newest = newest.max(call_index(rest));
        }
    }
    newest
}

#[tokio::main]
async fn main() {
    let args = args();
    let dir = std::env::temp_dir().join(format!("contact-center-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = args
        .database
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display()));
    let ledger = Ledger::connect(&url).await.unwrap();
    let store = PlatformStore::open(ledger.pool().clone(), ledger.backend())
        .await
        .unwrap();
    for t in 0..TENANTS {
        store
            .put_tenant(&Tenant {
                tenant: format!("t{t:03}"),
                domain: format!("t{t:03}.example"),
                context: format!("t{t:03}"),
                gateway: None,
                prepaid: false,
                record_calls: false,
                prepaid_slice_seconds: None,
                time_zone: None,
                disabled: false,
            })
            .await
            .unwrap();
    }
    for q in 0..QUEUES {
        store
            .put_queue(&QueueRow {
                tenant: format!("t{:03}", q / QUEUES_PER_TENANT),
                name: format!("qu{q:05}"),
                extension: None,
                strategy: "longest-idle-agent".into(),
                moh_sound: None,
                service_level_seconds: 20,
            })
            .await
            .unwrap();
    }

    let template = one_caller();
    let frames_per_caller = template.len();
    let sent = SentTimes::new(args.callers);
    let node = FakeNode::start(
        "ClueCon",
        vec![Session {
            calls: Some(Calls {
                template,
                uuids: UUIDS.map(String::from).to_vec(),
                vary: vec![
                    (
                        "support%40acme".into(),
                        (0..QUEUES).map(queue_name).collect(),
                    ),
                    ("1001%40acme".into(), (0..AGENTS).map(agent_name).collect()),
                ],
                calls: args.callers,
                rate: Some(args.rate.saturating_mul(frames_per_caller as u32)),
                sent: sent.clone(),
            }),
            ..Session::idle()
        }],
    )
    .await;

    let hub = Hub::new(65_536);
    let tokens = Tokens::new(b"load test secret, long enough", Duration::from_secs(3600));
    let users = Users::new(ledger.pool().clone());
    let supervisors: Vec<ApiUser> = (0..TENANTS)
        .map(|t| ApiUser {
            tenant: format!("t{t:03}"),
            username: "board".into(),
            role: Role::Admin,
            extension: None,
        })
        .collect();
    for user in &supervisors {
        users.put(user, "board-password").await.unwrap();
    }
    let mut config = EslWorkerConfig::new(
        vec![NodeConfig {
            name: "fs1".into(),
            address: node.address(),
            password: "ClueCon".into(),
        }],
        dir.join("staging"),
    );
    config.prepaid = false;
    let cache = Cache::new(store.clone(), Duration::from_secs(60));
    let mut limits = Limits::default();
    limits.sockets_per_token = args.wallboards;

    // The wallboards connect first (the node waits for the worker), each reading its snapshot.
    let done = Arc::new(AtomicBool::new(false));
    let state_hub = hub.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let api_state = ApiState {
        tokens: tokens.clone(),
        users,
        ledger: ledger.clone(),
        cache: cache.clone(),
        variables: ChannelVariables::default(),
        esl: None,
        live: None,
        hub: state_hub,
        recordings: None,
        download_ttl: Duration::from_secs(60),
        media_sources: Default::default(),
        limits,
    };
    tokio::spawn(async move {
        axum::serve(listener, callcenter::api::router(api_state))
            .await
            .unwrap()
    });
    let mut boards = Vec::new();
    for b in 0..args.wallboards {
        let (token, _) = tokens.issue(&supervisors[b % TENANTS], 0);
        let (mut socket, _) =
            tokio_tungstenite::connect_async(format!("ws://{address}/ws?token={token}"))
                .await
                .unwrap();
        let _snapshot = socket.next().await.unwrap().unwrap();
        let (sent, done) = (sent.clone(), done.clone());
        boards.push(tokio::spawn(async move {
            let (mut timed, mut untimed, mut lagged) = (Vec::new(), 0u64, 0u64);
            loop {
                let next = tokio::time::timeout(Duration::from_millis(500), socket.next()).await;
                let text = match next {
                    Ok(Some(Ok(Message::Text(text)))) => text,
                    Ok(_) => break,
                    Err(_) if done.load(Ordering::Acquire) => break,
                    Err(_) => continue,
                };
                let now = Instant::now();
                if text.contains("\"type\":\"lagged\"") {
                    lagged += 1;
                    continue;
                }
                match newest_caller(&text).and_then(|k| sent.get(k)) {
                    Some(at) => timed.push(now.saturating_duration_since(at)),
                    None => untimed += 1,
                }
            }
            (timed, untimed, lagged)
        }));
    }

    let started = Instant::now();
    let worker = EslWorker::start(config, ledger, cache, hub, None);
    let metrics = worker.metrics();
    let expected_events = (args.callers * frames_per_caller) as u64;
    let mut last = (0, Instant::now());
    while metrics.events.get() < expected_events {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let seen = metrics.events.get();
        if seen != last.0 {
            last = (seen, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(10) {
            eprintln!("the worker stopped at {seen} of {expected_events} events");
            break;
        }
    }
    let ingest = started.elapsed();
    // Every caller's steps stored (2 each: joined, answered; its end is no abandonment).
    let deadline = Instant::now() + Duration::from_secs(60);
    while metrics.members_recorded.get() < 2 * args.callers as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stored_in = started.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    done.store(true, Ordering::Release);

    let (mut all, mut untimed, mut lagged) = (Vec::new(), 0u64, 0u64);
    for board in boards {
        let (timed, board_untimed, board_lagged) = board.await.unwrap();
        all.extend(timed);
        untimed += board_untimed;
        lagged += board_lagged;
    }
    all.sort();
    let messages = all.len() as u64 + untimed;
    println!(
        "{} callers into {QUEUES} queues ({AGENTS} agents, {TENANTS} tenants) at {} joins/s, {} wallboards",
        args.callers, args.rate, args.wallboards
    );
    println!(
        "node: {} events in {:.2} s ({:.0} joins/s); worker: {} events; steps stored {} ({} dropped) in {:.2} s",
        node.events_sent(),
        ingest.as_secs_f64(),
        args.callers as f64 / ingest.as_secs_f64(),
        metrics.events.get(),
        metrics.members_recorded.get(),
        metrics.members_dropped.get(),
        stored_in.as_secs_f64()
    );
    println!(
        "wallboards: {messages} messages ({:.0}/s), {} timed, {untimed} naming no caller, lagged notices {lagged}",
        messages as f64 / ingest.as_secs_f64(),
        all.len()
    );
    println!(
        "update latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&all, 0.50).as_secs_f64() * 1e3,
        percentile(&all, 0.99).as_secs_f64() * 1e3,
        all.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    worker.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    if metrics.events.get() < expected_events || lagged > 0 {
        std::process::exit(1);
    }
}
