//! Load: a FreeSWITCH node plays thousands of calls' worth of real events (the captured loopback
//! call, UUIDs renewed per call) into the ESL worker, which publishes each leg's transitions to
//! WebSocket clients through the API's `/ws`.
//!
//! Reports the events per second into the worker, the messages per second out to the clients and
//! the delivery latency (from the moment the node wrote a call's events to the moment a client
//! read each of that call's messages).
//!
//! ```text
//! cargo run --release -p benches --bin live-events-load -- [--calls N] [--clients N]
//!     [--tenants N] [--rate EVENTS_PER_S]
//! ```
//! Without `--rate` the node sends as fast as the worker takes them.

use benches::percentile;
use billing::Ledger;
use callcenter::api::{ApiState, ApiUser, Limits, Role, Tokens, Users};
use callcenter::roles::esl_worker::{EslWorker, EslWorkerConfig, NodeConfig};
use futures_util::StreamExt;
use platform::cache::Cache;
use platform::events::Hub;
use platform::store::{PlatformStore, Tenant};
use platform::variables::ChannelVariables;
use std::time::{Duration, Instant};
use tests::node::{Calls, FakeNode, SentTimes, Session, call_index, event_frames};
use tokio_tungstenite::tungstenite::Message;

const A_LEG: &str = "ed22627b-4a74-4b96-b832-34a59357db96";
const B_LEG: &str = "de9d1a63-359d-4c70-9c3e-368107efbe3c";
/// Messages per call the clients of its tenant receive: each leg starts, is answered, ends.
const MESSAGES_PER_CALL: usize = 6;

struct Args {
    calls: usize,
    clients: usize,
    tenants: usize,
    rate: Option<u32>,
}

fn args() -> Args {
    let mut args = Args {
        calls: 20_000,
        clients: 100,
        tenants: 10,
        rate: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().and_then(|v| v.parse::<usize>().ok());
        match (flag.as_str(), value) {
            ("--calls", Some(v)) => args.calls = v.max(1),
            ("--clients", Some(v)) => args.clients = v.max(1),
            ("--tenants", Some(v)) => args.tenants = v.clamp(1, 1000),
            ("--rate", Some(v)) => args.rate = Some(v.max(1) as u32),
            _ => {
                eprintln!(
                    "usage: live-events-load [--calls N] [--clients N] [--tenants N] [--rate EVENTS_PER_S]"
                );
                std::process::exit(2);
            }
        }
    }
    args
}

#[tokio::main]
async fn main() {
    let args = args();
    let dir = std::env::temp_dir().join(format!("live-events-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ledger = Ledger::connect(&format!(
        "sqlite://{}?mode=rwc",
        dir.join("db.sqlite").display()
    ))
    .await
    .unwrap();
    let store = PlatformStore::open(ledger.pool().clone(), ledger.backend())
        .await
        .unwrap();
    // Tenant k owns context `ctx{k:04}`: seven characters, like the capture's `default`.
    let contexts: Vec<String> = (0..args.tenants).map(|k| format!("ctx{k:04}")).collect();
    for (k, context) in contexts.iter().enumerate() {
        store
            .put_tenant(&Tenant {
                tenant: format!("t{k}"),
                domain: format!("t{k}.example"),
                context: context.clone(),
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

    let capture = std::fs::read(tests::fixture("esl/esl-plain.raw")).unwrap();
    let template: Vec<_> = event_frames(&capture)
        .into_iter()
        .filter(|f| f.name.starts_with("CHANNEL_") || f.name == "RECORD_STOP")
        .collect();
    let sent = SentTimes::new(args.calls);
    let node = FakeNode::start(
        "ClueCon",
        vec![Session {
            calls: Some(Calls {
                template,
                uuids: vec![A_LEG.into(), B_LEG.into()],
                vary: vec![(
                    "Caller-Context: default".into(),
                    contexts
                        .iter()
                        .map(|c| format!("Caller-Context: {c}"))
                        .collect(),
                )],
                calls: args.calls,
                rate: args.rate,
                sent: sent.clone(),
            }),
            pause_before: Vec::new(),
            ..Session::idle()
        }],
    )
    .await;

    let hub = Hub::new(65_536);
    let tokens = Tokens::new(b"load test secret, long enough", Duration::from_secs(3600));
    // One agent per tenant, whose token every client of that tenant shares.
    let users = Users::new(ledger.pool().clone());
    let agents: Vec<ApiUser> = (0..args.tenants)
        .map(|k| ApiUser {
            tenant: format!("t{k}"),
            username: "load".into(),
            role: Role::Agent,
            extension: None,
        })
        .collect();
    for agent in &agents {
        users.put(agent, "load-password").await.unwrap();
    }
    let mut limits = Limits::default();
    limits.sockets_per_token = args.clients;
    let state = ApiState {
        tokens: tokens.clone(),
        users,
        ledger: ledger.clone(),
        cache: Cache::new(store.clone(), Duration::from_secs(60)),
        variables: ChannelVariables::default(),
        esl: None,
        live: None,
        hub: hub.clone(),
        recordings: None,
        download_ttl: Duration::from_secs(60),
        media_sources: Default::default(),
        limits,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, callcenter::api::router(state))
            .await
            .unwrap()
    });

    // Clients first, spread over the tenants, each waiting for its snapshot.
    let calls_per_tenant: Vec<usize> = (0..args.tenants)
        .map(|k| (args.calls + args.tenants - 1 - k) / args.tenants)
        .collect();
    let mut clients = Vec::new();
    for c in 0..args.clients {
        let tenant = c % args.tenants;
        let expected = calls_per_tenant[tenant] * MESSAGES_PER_CALL;
        // Each was put once: credentials version 0.
        let (token, _) = tokens.issue(&agents[tenant], 0);
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .read_buffer_size(16 * 1024);
        let (mut socket, _) = tokio_tungstenite::connect_async_with_config(
            format!("ws://{address}/ws?token={token}"),
            Some(config),
            true,
        )
        .await
        .unwrap();
        let _snapshot = socket.next().await.unwrap().unwrap();
        let sent = sent.clone();
        clients.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(expected);
            let mut lagged = 0u64;
            while latencies.len() < expected {
                let next = tokio::time::timeout(Duration::from_secs(30), socket.next()).await;
                let Ok(Some(Ok(Message::Text(text)))) = next else {
                    break;
                };
                let now = Instant::now();
                if text.contains("\"type\":\"lagged\"") {
                    lagged += 1;
                    continue;
                }
                // The call's UUID says which call it is, hence when the node sent it.
                let Some(at) = text.find("\"uuid\":\"") else {
                    continue;
                };
                let uuid = &text[at + 8..];
                if let Some(sent_at) = call_index(uuid).and_then(|k| sent.get(k)) {
                    latencies.push(now.saturating_duration_since(sent_at));
                }
            }
            (latencies, expected, lagged)
        }));
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
    let started = Instant::now();
    let worker = EslWorker::start(
        config,
        ledger,
        Cache::new(store, Duration::from_secs(60)),
        hub,
        None,
    );
    let metrics = worker.metrics();
    let frames_per_call = 9;
    let expected_events = (args.calls * frames_per_call) as u64;
    let mut last_change = Instant::now();
    let mut last_seen = 0;
    while metrics.events.get() < expected_events {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let seen = metrics.events.get();
        if seen != last_seen {
            last_seen = seen;
            last_change = Instant::now();
        } else if last_change.elapsed() > Duration::from_secs(10) {
            eprintln!("the worker stopped at {seen} of {expected_events} events");
            break;
        }
    }
    let ingest = started.elapsed();
    let events = metrics.events.get();

    let mut all = Vec::new();
    let (mut expected_messages, mut lagged) = (0, 0);
    for client in clients {
        let (latencies, expected, client_lagged) = client.await.unwrap();
        expected_messages += expected;
        lagged += client_lagged;
        all.extend(latencies);
    }
    let delivered_in = started.elapsed();
    all.sort();
    println!(
        "{} calls, {} events from the node ({} sent), {} clients over {} tenants, rate {}",
        args.calls,
        events,
        node.events_sent(),
        args.clients,
        args.tenants,
        args.rate
            .map_or("unpaced".to_owned(), |r| format!("{r} events/s"))
    );
    println!(
        "into the worker: {:.0} events/s ({events} in {:.2} s)",
        events as f64 / ingest.as_secs_f64(),
        ingest.as_secs_f64()
    );
    println!(
        "to the clients: {} of {} messages, {:.0} messages/s, lagged notices {}",
        all.len(),
        expected_messages,
        all.len() as f64 / delivered_in.as_secs_f64(),
        lagged
    );
    println!(
        "delivery latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&all, 0.50).as_secs_f64() * 1e3,
        percentile(&all, 0.99).as_secs_f64() * 1e3,
        all.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    worker.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    if all.len() != expected_messages {
        std::process::exit(1);
    }
}
