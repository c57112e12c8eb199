//! The ESL worker against a node playing a real FreeSWITCH session (the loopback call of
//! `esl-plain.raw`): live state, call events, a dropped and restored connection, CDRs from
//! hangup events, the recording handed over on RECORD_STOP, and the prepaid limit on answer.

use billing::{Decimal, Ledger, PlanRecord, Rounding};
use callcenter::roles::esl_worker::{EslWorker, EslWorkerConfig, NodeConfig};
use callcenter::roles::recording_worker::{RecordingWorker, RecordingWorkerConfig};
use platform::cache::Cache;
use platform::events::{Hub, Received, Subscription};
use platform::store::{PlatformStore, Tenant};
use recording::Target;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tests::node::{EventFrame, FakeNode, Session, api_responses, event_frames};

const A_LEG: &str = "ed22627b-4a74-4b96-b832-34a59357db96";
const B_LEG: &str = "de9d1a63-359d-4c70-9c3e-368107efbe3c";

fn temp_dir(name: &str) -> PathBuf {
    tests::fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), name)
}

fn capture() -> Vec<u8> {
    std::fs::read(tests::fixture("esl/esl-plain.raw")).unwrap()
}

/// The call's events, cut after the last CHANNEL_ANSWER: before and after a dropped connection.
fn call_events_split() -> (Vec<EventFrame>, Vec<EventFrame>) {
    let frames = event_frames(&capture());
    let cut = frames
        .iter()
        .rposition(|f| f.name == "CHANNEL_ANSWER")
        .unwrap()
        + 1;
    (frames[..cut].to_vec(), frames[cut..].to_vec())
}

/// Ledger and platform: tenant `acme` owns context `default` (the captured call's), prepaid,
/// 0.60/min for everything, 10.00 of credit.
async fn platform(dir: &Path) -> (Ledger, PlatformStore) {
    let url = format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display());
    seed(Ledger::connect(&url).await.unwrap()).await
}

/// The platform of [`platform`] in `ledger`'s database.
async fn seed(ledger: Ledger) -> (Ledger, PlatformStore) {
    let store = PlatformStore::open(ledger.pool().clone(), ledger.backend())
        .await
        .unwrap();
    ledger
        .save_plan(&PlanRecord {
            id: "p".into(),
            currency: "EUR".into(),
            decimals: 2,
            rounding: Rounding::Up,
            utc_offset_minutes: 0,
            fallback: None,
            rates_csv: "prefix,rate_per_minute,connect_fee\n,0.60,0\n".into(),
        })
        .await
        .unwrap();
    ledger
        .open_account("acme", "p", Decimal::ZERO)
        .await
        .unwrap();
    ledger
        .top_up("acme", Decimal::new(1000, 2), "initial")
        .await
        .unwrap();
    store
        .put_tenant(&Tenant {
            tenant: "acme".into(),
            domain: "acme.example".into(),
            context: "default".into(),
            gateway: None,
            prepaid: true,
            record_calls: false,
            prepaid_slice_seconds: None,
            time_zone: None,
            disabled: false,
        })
        .await
        .unwrap();
    (ledger, store)
}

/// Receives until `done` says so, or fails after 30 s.
async fn collect(
    events: &mut Subscription,
    mut done: impl FnMut(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !done(&seen) {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Received::Event(event)) => seen.push(serde_json::from_slice(&event.json).unwrap()),
            Ok(other) => panic!("{other:?}"),
            Err(_) => panic!("timed out; seen so far: {seen:#?}"),
        }
    }
    seen
}

fn kinds(events: &[serde_json::Value]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| {
            let uuid = e["call"]["uuid"].as_str().or(e["call_uuid"].as_str());
            (
                e["type"].as_str().unwrap().to_owned(),
                uuid.unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_call_through_a_dropped_connection() {
    let dir = temp_dir("esl-worker");
    let (ledger, store) = platform(&dir).await;
    let (before, after) = call_events_split();
    // The channels FreeSWITCH listed during the call: both legs, answered.
    let during_call = api_responses(&capture())
        .into_iter()
        .find(|body| body.starts_with("{\"row_count\":2"))
        .unwrap();
    let node = FakeNode::start(
        "ClueCon",
        vec![
            Session {
                events: before,
                close_after: true,
                ..Session::idle()
            },
            Session {
                channels: during_call,
                events: after,
                ..Session::idle()
            },
        ],
    )
    .await;

    // FreeSWITCH wrote the recording to /srv/rec-staging/rec/; here that directory is ours.
    let (staging, object_store) = (dir.join("staging"), dir.join("store"));
    std::fs::create_dir_all(staging.join("rec")).unwrap();
    let wav = format!("rec/mono_{B_LEG}.wav");
    std::fs::copy(
        tests::fixture(&format!("recordings/mono_{B_LEG}.wav")),
        staging.join(&wav),
    )
    .unwrap();
    let hub = Hub::new(1024);
    let mut events = hub.subscribe("acme");
    let mut recording_config =
        RecordingWorkerConfig::new(staging.clone(), Target::Directory(object_store.clone()));
    recording_config.events = Some(hub.clone());
    let recordings = RecordingWorker::start(recording_config, ledger.clone()).unwrap();
    let mut config = EslWorkerConfig::new(
        vec![NodeConfig {
            name: "fs1".into(),
            address: node.address(),
            password: "ClueCon".into(),
        }],
        staging.clone(),
    );
    config.freeswitch_staging = Some("/srv/rec-staging".into());
    config.cdrs = true;
    config.journal = dir.join("esl-cdr-journal.jsonl");
    let worker = EslWorker::start(
        config,
        ledger.clone(),
        Cache::new(store, Duration::from_secs(60)),
        hub.clone(),
        Some(recordings.handle()),
    );

    let seen = collect(&mut events, |seen| seen.len() >= 7).await;
    let mut got = kinds(&seen);
    let seqs: Vec<u64> = seen.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=7).collect::<Vec<_>>());
    got.sort();
    let mut expected: Vec<(String, String)> = [
        ("call_answered", A_LEG),
        ("call_answered", B_LEG),
        ("call_ended", A_LEG),
        ("call_ended", B_LEG),
        ("call_started", A_LEG),
        ("call_started", B_LEG),
        ("recording_ready", B_LEG),
    ]
    .iter()
    .map(|(k, u)| (k.to_string(), u.to_string()))
    .collect();
    expected.sort();
    assert_eq!(got, expected, "every transition once, across the reconnect");
    let ended = seen
        .iter()
        .find(|e| e["type"] == "call_ended" && e["call"]["uuid"] == A_LEG)
        .unwrap();
    assert_eq!(ended["cause"], "NORMAL_CLEARING");
    assert_eq!(ended["call"]["tenant"], "acme");
    assert_eq!(ended["call"]["callee"], "9999");
    assert!(worker.active_calls("acme").is_empty());
    assert_eq!(node.log().connections, 2);

    // The recording: stored under the tenant, with its metadata, and gone from staging.
    let ready = seen
        .iter()
        .find(|e| e["type"] == "recording_ready")
        .unwrap();
    let key = ready["key"].as_str().unwrap();
    assert!(key.starts_with("acme/2026/11/21/"), "{key}");
    assert!(object_store.join(key).is_file());
    assert!(!staging.join(&wav).exists());
    assert_eq!(ledger.recordings(B_LEG).await.unwrap().len(), 1);

    // Prepaid: neither captured leg goes out through a gateway (an internal call costs
    // nothing), so neither is limited nor holds credit.
    let limits: Vec<String> = node
        .log()
        .commands
        .into_iter()
        .filter(|c| c.starts_with("api sched_") || c.starts_with("api uuid_kill"))
        .collect();
    assert!(limits.is_empty(), "{limits:?}");
    assert!(ledger.holds("acme", None, 10).await.unwrap().is_empty());

    // Both legs' CDRs from CHANNEL_HANGUP_COMPLETE, charged once each.
    let mut cdrs = Vec::new();
    for _ in 0..100 {
        cdrs = ledger.cdrs("acme", 0, i64::MAX, None, 100).await.unwrap();
        if cdrs.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut legs: Vec<(String, String)> = cdrs
        .iter()
        .map(|c| (c.uuid.clone(), c.leg.to_string()))
        .collect();
    legs.sort();
    assert_eq!(
        legs,
        [
            (B_LEG.to_string(), "a".to_string()),
            (A_LEG.to_string(), "b".to_string())
        ]
    );
    let metrics = worker.metrics();
    assert_eq!(metrics.cdrs.get(), 2);
    worker.shutdown().await;
    recordings.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_is_down_is_retried_and_calls_found_running_are_published() {
    let dir = temp_dir("esl-worker-down");
    let (ledger, store) = platform(&dir).await;
    // Reserve a port, then free it: the node is not there yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let hub = Hub::new(64);
    let mut events = hub.subscribe("acme");
    let worker = EslWorker::start(
        EslWorkerConfig::new(
            vec![NodeConfig {
                name: "fs1".into(),
                address: format!("127.0.0.1:{port}"),
                password: "ClueCon".into(),
            }],
            dir.join("staging"),
        ),
        ledger,
        Cache::new(store, Duration::from_secs(60)),
        hub.clone(),
        None,
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(worker.client(None).is_err(), "not connected yet");
    let during_call = api_responses(&capture())
        .into_iter()
        .find(|body| body.starts_with("{\"row_count\":2"))
        .unwrap();
    let node = FakeNode::start_on(
        ("127.0.0.1", port),
        "ClueCon",
        vec![Session {
            channels: during_call,
            ..Session::idle()
        }],
    )
    .await;
    let seen = collect(&mut events, |seen| seen.len() >= 4).await;
    let mut got = kinds(&seen);
    got.sort();
    assert_eq!(
        got.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        [
            "call_answered",
            "call_answered",
            "call_started",
            "call_started"
        ]
    );
    let active = worker.active_calls("acme");
    assert_eq!(active.len(), 2);
    assert!(active.iter().all(|c| c.answered_us.is_some()));
    assert!(worker.active_calls("other").is_empty());
    assert_eq!(node.log().connections, 1);
    worker.shutdown().await;
}

/// FreeSWITCH restarts take seconds: once its event socket accepts again, the worker is back
/// (connected, subscribed, re-synced) within 2 s, however long the node was away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_is_followed_again_within_two_seconds() {
    let dir = temp_dir("esl-worker-restart");
    let (ledger, store) = platform(&dir).await;
    let go_away = std::sync::Arc::new(tokio::sync::Notify::new());
    let node = FakeNode::start(
        "ClueCon",
        vec![Session {
            events: event_frames(&capture())[..1].to_vec(),
            pause_before: vec![(0, go_away.clone())],
            close_after: true,
            ..Session::idle()
        }],
    )
    .await;
    let address = node.address();
    let worker = EslWorker::start(
        EslWorkerConfig::new(
            vec![NodeConfig {
                name: "fs1".into(),
                address: address.clone(),
                password: "ClueCon".into(),
            }],
            dir.join("staging"),
        ),
        ledger,
        Cache::new(store, Duration::from_secs(60)),
        Hub::new(64),
        None,
    );
    let resynced = |node: &FakeNode| {
        node.log()
            .commands
            .iter()
            .any(|c| c.starts_with("api show channels"))
    };
    while !resynced(&node) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // FreeSWITCH goes away: its listener first, then the connection.
    drop(node);
    go_away.notify_one();
    // Long enough for the worker's waits between attempts to reach their longest.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(worker.connected_nodes(), 0, "the node is away");
    let node = FakeNode::start_on(address.as_str(), "ClueCon", Vec::new()).await;
    let accepting = std::time::Instant::now();
    while !resynced(&node) {
        assert!(
            accepting.elapsed() < Duration::from_secs(2),
            "not back within 2 s: {:?}",
            node.log()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    eprintln!(
        "back {:?} after the node accepted again",
        accepting.elapsed()
    );
    assert!(worker.client(None).is_ok());
    worker.shutdown().await;
}

/// A PostgreSQL schema of its own (the captured UUIDs must be new), reached through `port`.
async fn fresh_postgres(port: u16) -> String {
    let schema = format!(
        "esl_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let public = Ledger::connect("postgres://postgres@127.0.0.1:5432/test")
        .await
        .expect("PostgreSQL on 127.0.0.1:5432");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(public.pool())
        .await
        .unwrap();
    format!("postgres://postgres@127.0.0.1:{port}/test?options=-c%20search_path%3D{schema}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_database_down_events_flow_and_cdrs_wait_in_the_journal() {
    let dir = temp_dir("esl-worker-journal");
    let mut relay = tests::relay::Relay::start("127.0.0.1:5432").await;
    let url = fresh_postgres(relay.port).await;
    let (ledger, store) = seed(Ledger::connect(&url).await.unwrap()).await;
    let cache = Cache::new(store, Duration::from_secs(60));
    cache.refresh_tenants().await.unwrap();
    relay.down();

    let node = FakeNode::start(
        "ClueCon",
        vec![Session {
            events: event_frames(&capture()),
            ..Session::idle()
        }],
    )
    .await;
    let hub = Hub::new(1024);
    let mut events = hub.subscribe("acme");
    let mut config = EslWorkerConfig::new(
        vec![NodeConfig {
            name: "fs1".into(),
            address: node.address(),
            password: "ClueCon".into(),
        }],
        dir.join("staging"),
    );
    config.cdrs = true;
    config.journal = dir.join("state/esl-cdr-journal.jsonl");
    let journal_path = config.journal.clone();
    let worker = EslWorker::start(config, ledger.clone(), cache, hub.clone(), None);

    // The whole call is published while the database is away: nothing waits on it.
    let seen = collect(&mut events, |seen| {
        seen.iter().filter(|e| e["type"] == "call_ended").count() == 2
    })
    .await;
    assert_eq!(seen.len(), 6, "{seen:#?}");
    // Both CDRs wait in the journal, on disk.
    let metrics = worker.metrics();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while metrics.cdrs_journaled.get() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the CDRs were not journaled"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let journaled = std::fs::read_to_string(&journal_path).unwrap();
    assert_eq!(journaled.lines().count(), 2);
    assert!(journaled.contains(A_LEG) && journaled.contains(B_LEG));
    assert_eq!(metrics.cdrs.get(), 0);

    // The database is back: the journal is replayed, once, and emptied.
    relay.up().await;
    let direct = Ledger::connect(&url.replace(&relay.port.to_string(), "5432"))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let stored = direct.cdrs("acme", 0, i64::MAX, None, 100).await.unwrap();
        let drained = std::fs::metadata(&journal_path).unwrap().len() == 0;
        if stored.len() == 2 && drained {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not replayed: {stored:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(metrics.cdrs.get(), 2, "each CDR recorded once");
    // Replaying the same lines again (a crash between the commit and the truncation) changes
    // nothing: the ledger already has both legs.
    let replayed = std::fs::read_to_string(&journal_path).unwrap();
    assert!(replayed.is_empty());
    let again: Vec<billing::Cdr> = journaled
        .lines()
        .map(|line| {
            let map: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(line).unwrap();
            let pairs: Vec<(&str, &str)> = map
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str().unwrap()))
                .collect();
            billing::Cdr::from_pairs(pairs, &Default::default()).unwrap()
        })
        .collect();
    for result in direct.record_batch(&again).await.unwrap() {
        assert!(result.unwrap().duplicate);
    }
    assert_eq!(
        direct
            .cdrs("acme", 0, i64::MAX, None, 100)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        direct.balance("acme").await.unwrap().balance,
        Decimal::new(1000, 2),
        "a loopback pair that never went out: nothing charged"
    );
    worker.shutdown().await;
}

#[test]
fn the_capture_holds_the_whole_call() {
    let (before, after) = call_events_split();
    let names =
        |frames: &[EventFrame], name: &str| frames.iter().filter(|f| f.name == name).count();
    assert_eq!(names(&before, "CHANNEL_CREATE"), 2);
    assert_eq!(names(&before, "CHANNEL_ANSWER"), 2);
    assert_eq!(names(&after, "CHANNEL_HANGUP_COMPLETE"), 2);
    assert_eq!(names(&after, "RECORD_STOP"), 1);
}

/// With the event bus, the node's active worker may run on another host than the node's
/// staging area: it hands the finished recording over NATS to the recording worker beside the
/// node (`recordings_node`), which stores it with its tags; its `recording_ready` comes back to
/// the worker's side through the bus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_goes_over_the_bus_to_the_recording_worker_beside_its_node() {
    use callcenter::bus::recordings::Staging;
    use callcenter::bus::{Bus, Follower, NatsSettings};

    let dir = temp_dir("esl-worker-bus-recording");
    let (ledger, store) = platform(&dir).await;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let settings = NatsSettings {
        url: Some("nats://127.0.0.1:4222".into()),
        prefix: format!("rec{}x{}", std::process::id(), nanos % 1_000_000_000),
        ..NatsSettings::default()
    };
    // The worker's process: its hub goes to the bus, and it follows the bus.
    let worker_bus = Bus::connect(&settings)
        .await
        .expect("NATS on 127.0.0.1:4222");
    let worker_hub = Hub::with_outbound(1024, worker_bus.outbound());
    let follower = Follower::start(&worker_bus, worker_hub.clone());
    let mut events = worker_hub.subscribe("acme");
    // The node's host: the recording worker and the WAV FreeSWITCH wrote as
    // /srv/rec-staging/rec/... .
    let recordings_bus = Bus::connect(&settings).await.unwrap();
    let (staging, object_store) = (dir.join("node-staging"), dir.join("store"));
    std::fs::create_dir_all(staging.join("rec")).unwrap();
    let wav = format!("rec/mono_{B_LEG}.wav");
    std::fs::copy(
        tests::fixture(&format!("recordings/mono_{B_LEG}.wav")),
        staging.join(&wav),
    )
    .unwrap();
    let mut recording_config =
        RecordingWorkerConfig::new(staging.clone(), Target::Directory(object_store.clone()));
    recording_config.events = Some(Hub::with_outbound(16, recordings_bus.outbound()));
    let recordings = RecordingWorker::start(recording_config, ledger.clone()).unwrap();
    let handle = recordings.handle();
    let taking = tokio::spawn(recordings_bus.clone().take_recordings(
        "fs1".into(),
        Staging {
            ours: staging.clone(),
            freeswitch: Some("/srv/rec-staging".into()),
        },
        move |job| {
            let handle = handle.clone();
            async move { handle.record_stopped(job).await.is_ok() }
        },
    ));

    let node = FakeNode::start(
        "ClueCon",
        vec![Session {
            events: event_frames(&capture()),
            ..Session::idle()
        }],
    )
    .await;
    let mut config = EslWorkerConfig::new(
        vec![NodeConfig {
            name: "fs1".into(),
            address: node.address(),
            password: "ClueCon".into(),
        }],
        dir.join("worker-staging"),
    );
    config.freeswitch_staging = Some("/srv/rec-staging".into());
    config.follower = Some(follower);
    // No recording worker in the worker's process.
    let worker = EslWorker::start(
        config,
        ledger.clone(),
        Cache::new(store, Duration::from_secs(60)),
        worker_hub.clone(),
        None,
    );

    let seen = collect(&mut events, |seen| {
        seen.iter().any(|e| e["type"] == "recording_ready")
    })
    .await;
    let ready = seen
        .iter()
        .find(|e| e["type"] == "recording_ready")
        .unwrap();
    assert_eq!(ready["call_uuid"], B_LEG);
    let key = ready["key"].as_str().unwrap();
    assert!(key.starts_with("acme/2026/11/21/"), "{key}");
    assert!(object_store.join(key).is_file());
    assert!(!staging.join(&wav).exists());
    let stored = ledger.recordings(B_LEG).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].tenant, "acme");
    assert_eq!(worker.metrics().recordings.get(), 1);

    worker.shutdown().await;
    taking.abort();
    recordings.shutdown(Duration::from_secs(5)).await;
    let client = async_nats::connect("nats://127.0.0.1:4222").await.unwrap();
    let jetstream = async_nats::jetstream::new(client);
    let upper = settings.prefix.to_ascii_uppercase();
    let _ = jetstream.delete_stream(format!("{upper}_EVENTS")).await;
    let _ = jetstream.delete_stream(format!("{upper}_RECORDINGS")).await;
    let _ = std::fs::remove_dir_all(&dir);
}
