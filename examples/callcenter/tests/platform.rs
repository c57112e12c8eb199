//! End to end with the real captures, through the all-in-one daemon: three real calls played
//! by a FreeSWITCH node over ESL (one of them also reported by the real mod_json_cdr posts),
//! the eight json_cdr documents posted over HTTP, the four real WAVs staged → exactly the
//! expected CDRs, charges and balance, the live transitions on `/ws`, and the MP3 objects in S3
//! (Garage on 127.0.0.1).
//!
//! One test, because each step feeds the next (the calls make the CDRs, the charges and the
//! recordings the later steps read); its body is the sequence of named steps, each asserting
//! what it pins.

use billing::{Decimal, PlanRecord, Rounding};
use callcenter::api::{ApiUser, Role};
use callcenter::daemon::{Daemon, DaemonConfig, build};
use callcenter::roles::esl_worker::NodeConfig;
use futures_util::StreamExt;
use object_store::ObjectStoreExt;
use platform::store::Tenant;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tests::http::{request, send, with_headers};
use tests::node::{EventFrame, FakeNode, Session, event_frames, substitute};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The plain capture's call carries the json_cdr call's UUIDs (leg for leg: the inbound
/// de9d1a63 is 0e11178b, the outbound ed22627b is ff55e9cb), as if both sources saw one call.
const SAME_CALL: [(&str, &str); 2] = [
    (
        "de9d1a63-359d-4c70-9c3e-368107efbe3c",
        "0e11178b-0a91-4f66-91bd-12898bc1f518",
    ),
    (
        "ed22627b-4a74-4b96-b832-34a59357db96",
        "ff55e9cb-4b5a-424c-9de1-2fc9a2b681f4",
    ),
];

/// The real recordings (fixture, path under the staging directory): FreeSWITCH wrote the first
/// three under /srv/rec-staging/rec (ours: staging/rec), and the fourth two hours ago, its
/// RECORD_STOP never came.
const STAGED: [(&str, &str); 4] = [
    (
        "mono_de9d1a63-359d-4c70-9c3e-368107efbe3c.wav",
        "rec/mono_0e11178b-0a91-4f66-91bd-12898bc1f518.wav",
    ),
    (
        "stereo_4c42a0ff-18a8-40a2-92b4-b2dd769aef43.wav",
        "rec/stereo_4c42a0ff-18a8-40a2-92b4-b2dd769aef43.wav",
    ),
    (
        "mono_9305d10d-2b68-4741-87ff-fdd2e1702f9c.wav",
        "rec/mono_9305d10d-2b68-4741-87ff-fdd2e1702f9c.wav",
    ),
    (
        "mono_6321df0c-0ae2-46a8-bfb3-7cc6e4e671c5.wav",
        "mono_6321df0c-0ae2-46a8-bfb3-7cc6e4e671c5.wav",
    ),
];

/// The twelve legs stored: the posted CDRs, and the legs only ESL saw. Each call is a loopback
/// pair (each leg names its twin) that never went out through a trunk: every leg is part of
/// its call and none is charged (a call is charged once, on its trunk leg).
const EXPECTED_LEGS: [&str; 12] = [
    "0e11178b-0a91-4f66-91bd-12898bc1f518",
    "ff55e9cb-4b5a-424c-9de1-2fc9a2b681f4",
    "b8225513-fc58-4ad4-bb67-001280ae3fc2",
    "08a65048-6e32-4f9f-8492-69114b7a80e0",
    "616b2281-b0ef-45d2-bd9a-ffbcab62cc1a",
    "7ce1d573-b169-4b9f-ad90-13fae054fc2c",
    "08564497-c92a-45c1-b1df-621c72c2d232",
    "9fb7a41b-75c2-4083-9c6f-02b9dcbc91a1",
    "e9e0875f-a631-49d6-b13d-e8a163362d56",
    "4c42a0ff-18a8-40a2-92b4-b2dd769aef43",
    "60e75c04-80ba-42ef-8b30-2a51c2ad7f1a",
    "9305d10d-2b68-4741-87ff-fdd2e1702f9c",
];

type LiveCalls = WebSocketStream<MaybeTlsStream<TcpStream>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_calls_cdrs_and_recordings_end_to_end() {
    let p = start().await;
    let mut live = watch_live_calls(&p).await;
    // mod_json_cdr posts first, then the calls play over ESL.
    post_the_eight_json_cdrs(&p).await;
    play_the_three_calls_over_esl(&p);
    // The orphan appears now: nothing names its tenant, so no tenant's client is told of it
    // (the default tenant is for CDRs only).
    stage_the_orphan_recording(&p);
    let ready = every_leg_starts_is_answered_and_ends_once(&mut live).await;
    every_leg_is_stored_once_and_none_charged(&p).await;
    the_four_recordings_become_mp3_objects_in_s3(&p, ready).await;
    the_orphan_recording_is_unassigned(&p).await;
    the_shared_calls_recording_downloads_from_s3(&p).await;
    an_api_extension_is_what_the_next_directory_lookup_gets(&p).await;
    live.close(None).await.unwrap();
    shut_down(p).await;
}

/// The running daemon, its node (its calls held until `go`), and the tenant's admin token.
struct Platform {
    tenant: String,
    staging: PathBuf,
    s3: recording::S3Config,
    go: Arc<Notify>,
    _node: FakeNode,
    daemon: Daemon,
    address: SocketAddr,
    token: String,
}

/// A fresh tenant (its own database, staging directory and S3 prefix), the first three WAVs
/// staged, the three calls queued on the node, the daemon serving, the admin logged in.
async fn start() -> Platform {
    let s3 = tests::recordings::require_s3();
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let tenant = format!("e2e{stamp}");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("platform-{stamp}"));
    let staging = dir.join("staging");
    std::fs::create_dir_all(staging.join("rec")).unwrap();
    let recordings = tests::fixture("recordings");
    for (source, target) in &STAGED[..3] {
        std::fs::copy(recordings.join(source), staging.join(target)).unwrap();
    }
    let go = Arc::new(Notify::new());
    let node = FakeNode::start(
        "ClueCon",
        vec![Session {
            events: the_three_captured_calls(),
            pause_before: vec![(0, go.clone())],
            ..Session::idle()
        }],
    )
    .await;
    let daemon = start_the_daemon(&dir, &staging, &tenant, &s3, node.address()).await;
    open_the_tenant(&daemon, &tenant).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = daemon.app.clone();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let token = log_in(address, &tenant).await;
    Platform {
        tenant,
        staging,
        s3,
        go,
        _node: node,
        daemon,
        address,
        token,
    }
}

fn call_frames(capture: &str) -> Vec<EventFrame> {
    let raw = std::fs::read(tests::fixture(&format!("esl/{capture}"))).unwrap();
    event_frames(&raw)
        .into_iter()
        .filter(|f| f.name.starts_with("CHANNEL_") || f.name == "RECORD_STOP")
        .collect()
}

/// The plain capture's call (as the json_cdr call, see [`SAME_CALL`]), the json and the xml
/// captures' calls.
fn the_three_captured_calls() -> Vec<EventFrame> {
    let pairs: Vec<(String, String)> = SAME_CALL
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let mut events: Vec<EventFrame> = call_frames("esl-plain.raw")
        .into_iter()
        .map(|f| EventFrame {
            bytes: substitute(&f.bytes, &pairs),
            name: f.name,
            subclass: f.subclass,
        })
        .collect();
    events.extend(call_frames("esl-json.raw"));
    events.extend(call_frames("esl-xml.raw"));
    events
}

/// The all-in-one daemon on its own SQLite database: CDRs from json_cdr (by default the
/// tenant's) and from ESL, recordings scanned every 200 ms and uploaded to S3.
async fn start_the_daemon(
    dir: &Path,
    staging: &Path,
    tenant: &str,
    s3: &recording::S3Config,
    node: String,
) -> Daemon {
    let mut config = DaemonConfig {
        database: format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display()),
        recordings_dir: staging.to_owned(),
        recordings_s3: Some(s3.clone()),
        recordings_scan_ms: 200,
        ..DaemonConfig::default()
    };
    config.cdr.default_tenant = Some(tenant.to_owned());
    config.cdr.credentials.user = Some("freeswitch".into());
    config.cdr.credentials.password = Some("cdrpass".into());
    config.xml_curl.user = Some("freeswitch".into());
    config.xml_curl.password = Some("curlpass".into());
    config.esl.nodes = vec![NodeConfig {
        name: "fs1".into(),
        address: node,
        password: "ClueCon".into(),
    }];
    config.esl.cdrs = true;
    config.esl.cdr_journal = dir.join("esl-cdr-journal.jsonl");
    config.esl.freeswitch_recordings_dir = Some("/srv/rec-staging".into());
    build(&config).await.unwrap()
}

/// 0.60/min plus 0.05 per call, 10.00 topped up, and an admin `boss`.
async fn open_the_tenant(daemon: &Daemon, tenant: &str) {
    let ledger = &daemon.ledger;
    ledger
        .save_plan(&PlanRecord {
            id: "p".into(),
            currency: "EUR".into(),
            decimals: 2,
            rounding: Rounding::Up,
            utc_offset_minutes: 0,
            fallback: None,
            rates_csv: "prefix,rate_per_minute,connect_fee\n,0.60,0.05\n".into(),
        })
        .await
        .unwrap();
    ledger
        .open_account(tenant, "p", Decimal::ZERO)
        .await
        .unwrap();
    ledger
        .top_up(tenant, Decimal::new(1000, 2), "initial")
        .await
        .unwrap();
    daemon
        .store
        .put_tenant(&Tenant {
            tenant: tenant.to_owned(),
            // The captured directory lookups are for 127.0.0.1.
            domain: "127.0.0.1".into(),
            context: "default".into(),
            gateway: None,
            prepaid: false,
            record_calls: false,
            prepaid_slice_seconds: None,
            time_zone: None,
            disabled: false,
        })
        .await
        .unwrap();
    let boss = ApiUser {
        tenant: tenant.to_owned(),
        username: "boss".into(),
        role: Role::Admin,
        extension: None,
    };
    daemon.users().put(&boss, "boss-password").await.unwrap();
}

async fn log_in(address: SocketAddr, tenant: &str) -> String {
    let login = send(
        address,
        &request(
            "POST",
            "/api/login",
            &[("Content-Type", "application/json")],
            json!({"tenant": tenant, "username": "boss", "password": "boss-password"})
                .to_string()
                .as_bytes(),
        ),
    )
    .await
    .unwrap();
    let token: Value = serde_json::from_slice(&login.body).unwrap();
    token["token"].as_str().unwrap().to_owned()
}

async fn watch_live_calls(p: &Platform) -> LiveCalls {
    let url = format!("ws://{}/ws?token={}", p.address, p.token);
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

fn json_cdr_posts() -> Vec<Vec<u8>> {
    let mut files: Vec<_> = std::fs::read_dir(tests::fixture("json_cdr"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.to_string_lossy().ends_with(".response.http"))
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

async fn post_the_eight_json_cdrs(p: &Platform) {
    for post in json_cdr_posts() {
        let authorization = ("Authorization", "Basic ZnJlZXN3aXRjaDpjZHJwYXNz"); // freeswitch:cdrpass
        let response = send(p.address, &with_headers(&post, &[authorization]))
            .await
            .unwrap();
        assert_eq!(response.status, 200);
    }
}

fn play_the_three_calls_over_esl(p: &Platform) {
    p.go.notify_one();
}

/// The fourth WAV, last written two hours ago.
fn stage_the_orphan_recording(p: &Platform) {
    let orphan = p.staging.join(STAGED[3].1);
    std::fs::copy(tests::fixture("recordings").join(STAGED[3].0), &orphan).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&orphan)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(7200))
        .unwrap();
}

/// On `/ws`, after an empty snapshot: each of the six legs starts, is answered and ends once
/// (the shared call's legs among them); the three calls' recordings become ready, whose keys
/// are returned.
async fn every_leg_starts_is_answered_and_ends_once(live: &mut LiveCalls) -> Vec<String> {
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut ready = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while seen.values().map(Vec::len).sum::<usize>() < 18 || ready.len() < 3 {
        let message = tokio::time::timeout_at(deadline, live.next())
            .await
            .unwrap_or_else(|_| panic!("timed out: {seen:?} {ready:?}"))
            .unwrap()
            .unwrap();
        let Message::Text(text) = message else {
            continue;
        };
        let event: Value = serde_json::from_str(&text).unwrap();
        match event["type"].as_str().unwrap() {
            "snapshot" => assert_eq!(event["calls"], json!([])),
            "recording_ready" => ready.push(event["key"].as_str().unwrap().to_owned()),
            // The calls' charges move the balance: the tenant's own, as the account is now.
            "balance_changed" => assert!(event["balance"].is_string(), "{event}"),
            kind => seen
                .entry(event["call"]["uuid"].as_str().unwrap().to_owned())
                .or_default()
                .push(kind.to_owned()),
        }
    }
    assert_eq!(seen.len(), 6, "{seen:?}");
    for (uuid, kinds) in &seen {
        assert_eq!(
            kinds,
            &["call_started", "call_answered", "call_ended"],
            "{uuid}"
        );
    }
    for (_, uuid) in SAME_CALL {
        assert!(seen.contains_key(uuid));
    }
    ready
}

/// The eight posted CDRs and the four legs only ESL saw; the call both sources reported is
/// stored once per leg. None is charged: see [`EXPECTED_LEGS`].
async fn every_leg_is_stored_once_and_none_charged(p: &Platform) {
    let ledger = &p.daemon.ledger;
    let mut cdrs = Vec::new();
    for _ in 0..200 {
        cdrs = ledger
            .cdrs(&p.tenant, 0, i64::MAX, None, 100)
            .await
            .unwrap();
        if cdrs.len() >= 12 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(cdrs.len(), 12, "{cdrs:#?}");
    for (_, uuid) in SAME_CALL {
        assert_eq!(cdrs.iter().filter(|c| c.uuid == uuid).count(), 1);
    }
    let mut legs: Vec<&str> = cdrs.iter().map(|c| c.uuid.as_str()).collect();
    legs.sort();
    let mut expected = EXPECTED_LEGS;
    expected.sort();
    assert_eq!(legs, expected);
    assert!(
        cdrs.iter()
            .all(|c| c.outcome == billing::CdrOutcome::PartOfCall && c.amount.is_none()),
        "{cdrs:#?}"
    );
    let transactions = ledger.transactions(&p.tenant, None, 100).await.unwrap();
    assert_eq!(transactions.len(), 1, "the top-up only");
    let balance = ledger.balance(&p.tenant).await.unwrap().balance;
    assert_eq!(balance, Decimal::new(1000, 2));
}

/// Three MP3 objects under the tenant, the ones announced ready, each once; the shared call's
/// recording is recorded against it; nothing is left staged.
async fn the_four_recordings_become_mp3_objects_in_s3(p: &Platform, mut ready: Vec<String>) {
    let store = recording::Destination::s3(&p.s3).unwrap();
    let prefix = object_store::path::Path::from(p.tenant.as_str());
    let mut listed = Vec::new();
    for _ in 0..100 {
        listed = store
            .store()
            .list(Some(&prefix))
            .map(|m| m.unwrap().location.to_string())
            .collect::<Vec<_>>()
            .await;
        if listed.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    listed.sort();
    ready.sort();
    assert_eq!(listed, ready);
    for key in &listed {
        let path = object_store::path::Path::from(key.as_str());
        let object = store.store().get(&path).await.unwrap();
        let bytes = object.bytes().await.unwrap();
        assert_eq!(&bytes[..3], b"ID3", "{key}");
    }
    let rows = p.daemon.ledger.recordings(SAME_CALL[0].1).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert!(listed.contains(&rows[0].object_key));
    let wavs_left = walk(&p.staging);
    assert!(wavs_left.is_empty(), "left staged: {wavs_left:?}");
}

/// The orphan is stored, as no tenant's: only the operator sees it, and the tenant's token finds
/// nothing under its call.
async fn the_orphan_recording_is_unassigned(p: &Platform) {
    // Without a job file, a WAV is known by its file name.
    let orphan = "mono_6321df0c-0ae2-46a8-bfb3-7cc6e4e671c5";
    let mut rows = Vec::new();
    for _ in 0..100 {
        rows = p.daemon.ledger.recordings(orphan).await.unwrap();
        if !rows.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(rows.len(), 1, "the orphan was not stored");
    assert_eq!(rows[0].tenant, platform::identity::UNASSIGNED);
    assert!(
        rows[0].object_key.starts_with("_/"),
        "{}",
        rows[0].object_key
    );
    let listed = send(
        p.address,
        &request(
            "GET",
            &format!("/api/recordings/{orphan}"),
            &[("Authorization", &format!("Bearer {}", p.token))],
            b"",
        ),
    )
    .await
    .unwrap();
    // Not the tenant's call: it does not exist for the tenant.
    assert_eq!(listed.status, 404);
    let listed: Value = serde_json::from_slice(&listed.body).unwrap();
    assert_eq!(listed["code"], "not_found", "{listed}");
    // The operator finds it.
    p.daemon
        .users()
        .put_operator("ops", "ops-password")
        .await
        .unwrap();
    let login = json!({"username": "ops", "password": "ops-password"}).to_string();
    let login = send(
        p.address,
        &request(
            "POST",
            "/api/login",
            &[("Content-Type", "application/json")],
            login.as_bytes(),
        ),
    )
    .await
    .unwrap();
    let login: Value = serde_json::from_slice(&login.body).unwrap();
    let bearer = format!("Bearer {}", login["token"].as_str().unwrap());
    let unassigned = send(
        p.address,
        &request(
            "GET",
            "/api/operator/unassigned-recordings",
            &[("Authorization", bearer.as_str())],
            b"",
        ),
    )
    .await
    .unwrap();
    let unassigned: Value = serde_json::from_slice(&unassigned.body).unwrap();
    assert_eq!(
        unassigned["recordings"][0]["call_uuid"], orphan,
        "{unassigned}"
    );
    assert_eq!(
        unassigned["recordings"][0]["key"],
        rows[0].object_key.as_str()
    );
}

/// The API serves the same: the download of the shared call's recording redirects to S3.
async fn the_shared_calls_recording_downloads_from_s3(p: &Platform) {
    let download = send(
        p.address,
        &request(
            "GET",
            &format!("/api/recordings/{}/0", SAME_CALL[0].1),
            &[("Authorization", &format!("Bearer {}", p.token))],
            b"",
        ),
    )
    .await
    .unwrap();
    assert_eq!(download.status, 307);
    let location = download.header("location").unwrap();
    assert!(location.starts_with("http://127.0.0.1:3900/"), "{location}");
    assert!(location.contains("X-Amz-Signature="), "{location}");
}

/// An extension created through the API is what FreeSWITCH's next directory lookup gets.
async fn an_api_extension_is_what_the_next_directory_lookup_gets(p: &Platform) {
    let lookup = std::fs::read(tests::fixture("xml_curl/001_fsapi_directory.http")).unwrap();
    let freeswitch = ("Authorization", "Basic ZnJlZXN3aXRjaDpjdXJscGFzcw=="); // freeswitch:curlpass
    let before = send(p.address, &with_headers(&lookup, &[freeswitch]))
        .await
        .unwrap();
    let before = String::from_utf8_lossy(&before.body).into_owned();
    assert!(before.contains("result status=\"not found\""), "{before}");
    let put = send(
        p.address,
        &request(
            "PUT",
            "/api/extensions/2000",
            &[
                ("Authorization", &format!("Bearer {}", p.token)),
                ("Content-Type", "application/json"),
            ],
            br#"{"password": "from-the-api", "caller_id_name": "Desk 2000", "caller_id_number": null, "record_calls": false}"#,
        ),
    )
    .await
    .unwrap();
    assert_eq!(put.status, 200);
    let after = send(p.address, &with_headers(&lookup, &[freeswitch]))
        .await
        .unwrap();
    let after = String::from_utf8_lossy(&after.body).into_owned();
    assert!(after.contains("<user id=\"2000\""), "{after}");
    // The password is served as its a1-hash only.
    let hash = platform::identity::a1_hash("2000", "127.0.0.1", "from-the-api");
    assert!(after.contains(&hash), "{after}");
    assert!(!after.contains("from-the-api"), "{after}");
}

async fn shut_down(p: Platform) {
    if let Some(worker) = p.daemon.esl_worker {
        worker.shutdown().await;
    }
    if let Some(worker) = p.daemon.recording_worker {
        worker.shutdown(Duration::from_secs(5)).await;
    }
}

/// Files under `dir` but the quarantine.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if !path.ends_with("quarantine") {
                files.extend(walk(&path));
            }
        } else {
            files.push(path);
        }
    }
    files
}
