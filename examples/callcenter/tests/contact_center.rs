//! The call center live through the ESL worker: a node playing the captured mod_callcenter run
//! (`fixtures/freeswitch/callcenter/esl-callcenter-plain.raw`: a DID call answered by agent
//! 1001@acme, then a call abandoned while both agents were on a break); the tenant's `/ws`
//! hub receives each queue and agent change once, in order, another tenant none, and the
//! worker's state is what the capture ends with.

use billing::Ledger;
use callcenter::roles::esl_worker::{EslWorker, EslWorkerConfig, NodeConfig};
use platform::cache::Cache;
use platform::events::{Hub, Received, Subscription};
use platform::statistics::QueueDay;
use platform::store::{PlatformStore, QueueRow, Tenant};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tests::node::{FakeNode, Session, event_frames};
use tokio::sync::Notify;

/// An ESL worker (its own SQLite platform) connected to a node playing `session`, publishing
/// to `hub`.
async fn worker_on(label: &str, session: Session, hub: &Hub) -> (EslWorker, FakeNode) {
    let (worker, node, _) = worker_with_store(label, vec![session], hub).await;
    (worker, node)
}

/// The same, with the platform's store, for nodes playing `sessions` one connection each.
async fn worker_with_store(
    label: &str,
    sessions: Vec<Session>,
    hub: &Hub,
) -> (EslWorker, FakeNode, PlatformStore) {
    let dir = tests::fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), label);
    let url = format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display());
    let ledger = Ledger::connect(&url).await.unwrap();
    let store = PlatformStore::open(ledger.pool().clone(), ledger.backend())
        .await
        .unwrap();
    let node = FakeNode::start("ClueCon", sessions).await;
    let config = EslWorkerConfig::new(
        vec![NodeConfig {
            name: "fs1".into(),
            address: node.address(),
            password: "ClueCon".into(),
        }],
        dir.join("staging"),
    );
    let worker = EslWorker::start(
        config,
        ledger,
        Cache::new(store.clone(), Duration::from_secs(60)),
        hub.clone(),
        None,
    );
    (worker, node, store)
}

/// What `subscription` receives until `done` says it has enough (30 s at most).
async fn collect(
    subscription: &mut Subscription,
    done: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    let mut seen: Vec<serde_json::Value> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !done(&seen) {
        match tokio::time::timeout_at(deadline, subscription.recv()).await {
            Ok(Received::Event(event)) => seen.push(serde_json::from_slice(&event.json).unwrap()),
            Ok(other) => panic!("{other:?}"),
            Err(_) => panic!("timed out; seen so far: {seen:#?}"),
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_and_agent_changes_reach_their_tenant_once() {
    let raw = std::fs::read(tests::fixture("callcenter/esl-callcenter-plain.raw")).unwrap();
    let hub = Hub::new(4096);
    let mut acme = hub.subscribe("acme");
    let mut beta = hub.subscribe("beta");
    let session = Session {
        events: event_frames(&raw),
        ..Session::idle()
    };
    let (worker, _node) = worker_on("contact-center", session, &hub).await;

    // Until 1001@acme logs out, the capture's last call-center event.
    let seen = collect(&mut acme, |seen| {
        seen.iter()
            .any(|e| e["type"] == "agent_changed" && e["agent"]["status"] == "Logged Out")
    })
    .await;
    let center: Vec<&serde_json::Value> = seen
        .iter()
        .filter(|e| e["type"] == "queue_changed" || e["type"] == "agent_changed")
        .collect();
    let queue_changes: Vec<&serde_json::Value> = center
        .iter()
        .filter(|e| e["type"] == "queue_changed")
        .map(|e| &e["queue"])
        .collect();
    // Joined, offered, answered, left; joined, left (abandoned).
    assert_eq!(queue_changes.len(), 6, "{queue_changes:#?}");
    let waiting = |q: &serde_json::Value| {
        q["members"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["answered_at"].is_null())
            .count()
    };
    let waiting: Vec<usize> = queue_changes.iter().map(|q| waiting(q)).collect();
    assert_eq!(waiting, [1, 1, 0, 0, 1, 0]);
    let last = queue_changes.last().unwrap();
    assert_eq!(last["name"], "support@acme");
    let counts = ["offered", "answered", "abandoned"].map(|k| last[k].as_u64());
    assert_eq!(counts, [Some(2), Some(1), Some(1)]);
    // The agent on the call: offered, talking, then free with one call answered.
    let calls: Vec<&serde_json::Value> = center
        .iter()
        .filter(|e| e["type"] == "agent_changed" && e["agent"]["name"] == "1001@acme")
        .map(|e| &e["agent"]["call"])
        .collect();
    assert!(
        calls
            .iter()
            .any(|c| c["answered_at"].is_null() && !c.is_null())
    );
    assert!(calls.iter().any(|c| c["answered_at"].is_i64()));
    // Sequence numbers without gaps: each change once, in order.
    let seqs: Vec<u64> = seen.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");

    let (queues, agents) = worker.contact_center("acme");
    assert_eq!(queues.len(), 1);
    assert_eq!(
        (queues[0].offered, queues[0].answered, queues[0].abandoned),
        (2, 1, 1)
    );
    assert!(queues[0].members.is_empty());
    let statuses: Vec<(&str, &str)> = agents
        .iter()
        .map(|a| (a.name.as_str(), a.status.as_str()))
        .collect();
    assert_eq!(
        statuses,
        [("1001@acme", "Logged Out"), ("1002@acme", "On Break")]
    );
    assert_eq!(agents[0].calls_answered, 1);
    assert_eq!(worker.contact_center("beta"), (vec![], vec![]));
    assert!(beta.try_recv().is_none(), "another tenant sees nothing");
    worker.shutdown().await;
}

/// A worker that connects while the call center is already busy (it missed the events): it
/// lists the node's agents, its tiers and each queue's members (the captured answers), and
/// publishes what it found: the agents' status and counts, the caller waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_missed_the_events_re_syncs_from_the_lists() {
    let raw = std::fs::read(tests::fixture("callcenter/esl-callcenter-plain.raw")).unwrap();
    let lists: Vec<String> = tests::node::api_responses(&raw)
        .into_iter()
        .filter(|body| body.contains('|'))
        .collect();
    let session = Session {
        api_replies: vec![
            ("callcenter_config agent list".into(), lists[2].clone()),
            ("callcenter_config tier list".into(), lists[3].clone()),
            (
                "callcenter_config queue list members support@acme".into(),
                lists[1].clone(),
            ),
        ],
        ..Session::idle()
    };
    let hub = Hub::new(1024);
    let mut acme = hub.subscribe("acme");
    let (worker, node) = worker_on("contact-center-resync", session, &hub).await;
    let seen = collect(&mut acme, |seen| seen.len() >= 3).await;
    let kinds: Vec<&str> = seen.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["agent_changed", "agent_changed", "queue_changed"]);
    let (queues, agents) = worker.contact_center("acme");
    assert_eq!(
        queues[0].waiting().next().unwrap().caller_number,
        "0909555111"
    );
    assert_eq!(
        (
            agents[0].status.as_str(),
            agents[0].calls_answered,
            agents[0].talk_seconds
        ),
        ("Logged Out", 1, 3)
    );
    let commands = node.log().commands;
    assert!(commands.contains(&"api callcenter_config queue list members support@acme".to_owned()));
    worker.shutdown().await;
}

/// The day's statistics from the captured run, in the tenant's time zone (the run was at 18:30
/// UTC, already the next day in Tokyo): two callers offered, one answered at once (within the
/// queue's threshold), one abandoned. The node plays the run twice (the worker reconnects in
/// between, as after a restart): every caller still counts once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_caller_counts_once_in_the_tenants_day() {
    let raw = std::fs::read(tests::fixture("callcenter/esl-callcenter-plain.raw")).unwrap();
    let start = Arc::new(Notify::new());
    let first = Session {
        events: event_frames(&raw),
        pause_before: vec![(0, start.clone())],
        close_after: true,
        ..Session::idle()
    };
    let again = Session {
        events: event_frames(&raw),
        ..Session::idle()
    };
    let hub = Hub::new(4096);
    let mut acme = hub.subscribe("acme");
    let (worker, _node, store) =
        worker_with_store("contact-center-statistics", vec![first, again], &hub).await;
    store
        .put_tenant(&Tenant {
            tenant: "acme".into(),
            domain: "acme.example".into(),
            context: "acme".into(),
            gateway: None,
            prepaid: false,
            record_calls: false,
            prepaid_slice_seconds: None,
            time_zone: Some("Asia/Tokyo".into()),
            disabled: false,
        })
        .await
        .unwrap();
    store
        .put_queue(&QueueRow {
            tenant: "acme".into(),
            name: "support".into(),
            extension: None,
            strategy: "ring-all".into(),
            moh_sound: None,
            service_level_seconds: 15,
        })
        .await
        .unwrap();
    start.notify_one();

    let expected = QueueDay {
        queue: "support".into(),
        offered: 2,
        answered: 1,
        abandoned: 1,
        answer_wait_seconds: 0,
        average_answer_seconds: Some(0),
        answered_within_threshold: 1,
        threshold_seconds: 15,
        service_level_percent: Some(50),
    };
    // Published as each step is stored, the last with the whole day.
    let seen = collect(&mut acme, |seen| {
        seen.iter()
            .any(|e| e["type"] == "queue_statistics" && e["statistics"]["abandoned"] == 1)
    })
    .await;
    let last = seen
        .iter()
        .rfind(|e| e["type"] == "queue_statistics")
        .unwrap();
    assert_eq!(last["day"], "2026-11-24");
    let published: QueueDay = serde_json::from_value(last["statistics"].clone()).unwrap();
    assert_eq!(published, expected);

    // Both plays stored (4 steps each: two joins, an answer, an abandonment), counted once.
    let metrics = worker.metrics();
    for _ in 0..500 {
        if metrics.members_recorded.get() >= 8 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(metrics.members_recorded.get(), 8);
    assert_eq!(metrics.members_dropped.get(), 0);
    let day = store.daily_statistics("acme", "2026-11-24").await.unwrap();
    assert_eq!(day, [expected]);
    assert_eq!(
        store.daily_statistics("acme", "2026-11-23").await.unwrap(),
        []
    );
    worker.shutdown().await;
}

/// The captured run through the whole daemon to a supervisor's `/ws`: after the snapshot,
/// each queue and agent transition arrives once, in order (sequence numbers without gaps),
/// and the wallboard state it builds is the capture's at each step: the first caller waits,
/// is offered to 1001, answered, leaves; the second waits and abandons (both agents on break);
/// the day's statistics count one answered and one abandoned; another tenant's socket gets
/// nothing of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisors_socket_gets_each_transition_of_the_captured_run_once() {
    use callcenter::api::{ApiUser, Role};
    use callcenter::daemon::{DaemonConfig, Roles, build_roles};
    use futures_util::StreamExt;

    let dir = tests::fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), "cc-daemon-ws");
    let raw = std::fs::read(tests::fixture("callcenter/esl-callcenter-plain.raw")).unwrap();
    let start = Arc::new(Notify::new());
    let node = FakeNode::start(
        "ClueCon",
        vec![Session {
            events: event_frames(&raw),
            pause_before: vec![(0, start.clone())],
            ..Session::idle()
        }],
    )
    .await;
    let mut config = DaemonConfig {
        database: format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display()),
        recordings_dir: dir.join("staging"),
        recordings_store: dir.join("store"),
        ..DaemonConfig::default()
    };
    config.esl.nodes = vec![NodeConfig {
        name: "fs1".into(),
        address: node.address(),
        password: "ClueCon".into(),
    }];
    let roles = Roles {
        recordings: false,
        ..Roles::ALL
    };
    let daemon = build_roles(&config, roles).await.unwrap();
    for tenant in ["acme", "beta"] {
        daemon
            .store
            .put_tenant(&Tenant {
                tenant: tenant.into(),
                domain: format!("{tenant}.example"),
                context: tenant.into(),
                gateway: None,
                prepaid: false,
                record_calls: false,
                prepaid_slice_seconds: None,
                time_zone: None,
                disabled: false,
            })
            .await
            .unwrap();
        let user = ApiUser {
            tenant: tenant.into(),
            username: "boss".into(),
            role: Role::Admin,
            extension: None,
        };
        daemon.users().put(&user, "boss-password").await.unwrap();
    }
    daemon
        .store
        .put_queue(&QueueRow {
            tenant: "acme".into(),
            name: "support".into(),
            extension: None,
            strategy: "ring-all".into(),
            moh_sound: None,
            service_level_seconds: 20,
        })
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = daemon.app.clone();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap()
    });
    let token = |tenant: &'static str| async move {
        let body =
            serde_json::json!({"tenant": tenant, "username": "boss", "password": "boss-password"});
        let request = tests::http::post(
            "/api/login",
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        );
        let response = tests::http::send(address, &request).await.unwrap();
        let answer: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        answer["token"].as_str().unwrap().to_owned()
    };
    let (acme, beta) = (token("acme").await, token("beta").await);
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{address}/ws?token={acme}"))
            .await
            .unwrap();
    let (mut other, _) =
        tokio_tungstenite::connect_async(format!("ws://{address}/ws?token={beta}"))
            .await
            .unwrap();
    let snapshot = next(&mut socket).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(
        snapshot["nodes"],
        serde_json::json!({"configured": 1, "connected": 1})
    );
    assert_eq!(next(&mut other).await["type"], "snapshot");
    start.notify_one();

    let mut seen = Vec::new();
    while !seen.iter().any(|e: &serde_json::Value| {
        e["type"] == "queue_statistics" && e["statistics"]["abandoned"] == 1
    }) {
        seen.push(next(&mut socket).await);
    }
    let seqs: Vec<u64> = seen.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    let queues: Vec<&serde_json::Value> = seen
        .iter()
        .filter(|e| e["type"] == "queue_changed")
        .map(|e| &e["queue"])
        .collect();
    let step = |q: &serde_json::Value| {
        let members = q["members"].as_array().unwrap();
        let waiting = members
            .iter()
            .filter(|m| m["answered_at"].is_null())
            .count();
        let agent = members
            .iter()
            .find_map(|m| m["agent"].as_str())
            .unwrap_or("");
        (
            members.len(),
            waiting,
            agent.to_owned(),
            q["abandoned"].as_u64().unwrap(),
        )
    };
    let steps: Vec<(usize, usize, String, u64)> = queues.iter().map(|q| step(q)).collect();
    let (none, a1001) = (String::new(), "1001@acme".to_owned());
    assert_eq!(
        steps,
        [
            (1, 1, none.clone(), 0),  // the first caller waits
            (1, 1, a1001.clone(), 0), // offered to 1001
            (1, 0, a1001, 0),         // answered
            (0, 0, none.clone(), 0),  // it leaves
            (1, 1, none.clone(), 0),  // the second waits
            (0, 0, none, 1),          // it abandons
        ]
    );
    let statuses: Vec<(String, String)> = seen
        .iter()
        .filter(|e| e["type"] == "agent_changed")
        .map(|e| {
            (
                e["agent"]["name"].as_str().unwrap().to_owned(),
                e["agent"]["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(statuses.contains(&("1001@acme".into(), "On Break".into())));
    assert!(statuses.contains(&("1002@acme".into(), "On Break".into())));
    let last = seen.last().unwrap();
    assert_eq!(
        (
            last["statistics"]["offered"].as_u64(),
            last["statistics"]["answered"].as_u64(),
            last["statistics"]["service_level_percent"].as_u64(),
        ),
        (Some(2), Some(1), Some(50))
    );
    let nothing = tokio::time::timeout(Duration::from_millis(500), other.next()).await;
    assert!(nothing.is_err(), "beta got {nothing:?}");
    if let Some(worker) = daemon.esl_worker {
        worker.shutdown().await;
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next text message of `socket`, as JSON (30 s at most).
async fn next(socket: &mut Socket) -> serde_json::Value {
    use futures_util::StreamExt;
    let message = tokio::time::timeout(Duration::from_secs(30), socket.next())
        .await
        .expect("a message within 30 s")
        .unwrap()
        .unwrap();
    match message {
        tokio_tungstenite::tungstenite::Message::Text(text) => serde_json::from_str(&text).unwrap(),
        other => panic!("{other:?}"),
    }
}
