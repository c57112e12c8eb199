//! The REST API and `/ws` over real HTTP: logins, tokens (expired, forged, tampered), roles,
//! and tenant isolation on every route; click-to-call through the ESL worker to a node.

use billing::{Cdr, Decimal, Ledger, PlanRecord, RecordingRecord, Rounding};
use callcenter::api::{ApiState, ApiUser, Role, Tokens, Users};
use callcenter::roles::esl_worker::{EslWorker, EslWorkerConfig, NodeConfig};
use futures_util::StreamExt;
use platform::cache::Cache;
use platform::calls::{Call, CallEvent};
use platform::events::Hub;
use platform::store::{ExtensionRow, PlatformStore, Tenant};
use platform::variables::ChannelVariables;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tests::http::{request, send};
use tests::node::{FakeNode, Session, api_responses};
use tokio_tungstenite::tungstenite::Message;

const SECRET: &[u8] = b"a test secret of some length";

fn temp_dir(name: &str) -> PathBuf {
    tests::fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), name)
}

struct Platform {
    address: SocketAddr,
    ledger: Ledger,
    hub: Hub,
    node: FakeNode,
    store_dir: PathBuf,
    _worker: EslWorker,
    dir: PathBuf,
}

impl Drop for Platform {
    /// Each scenario's database and store go with it.
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Two tenants: `acme` (context `default`, the captured call's) and `beta`; each with an admin
/// and an agent; a node whose FreeSWITCH has the captured call's two legs up.
async fn platform() -> Platform {
    let dir = temp_dir("api");
    let url = format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display());
    let ledger = Ledger::connect(&url).await.unwrap();
    let store = PlatformStore::open(ledger.pool().clone(), ledger.backend())
        .await
        .unwrap();
    let users = Users::new(ledger.pool().clone());
    open_the_two_tenants(&ledger, &store, &users).await;
    let node = a_node_with_the_captured_call_up().await;
    let hub = Hub::new(256);
    let cache = Cache::new(store, Duration::from_secs(60));
    let worker = EslWorker::start(
        EslWorkerConfig::new(
            vec![NodeConfig {
                name: "fs1".into(),
                address: node.address(),
                password: "ClueCon".into(),
            }],
            dir.join("staging"),
        ),
        ledger.clone(),
        cache.clone(),
        hub.clone(),
        None,
    );
    let store_dir = dir.join("store");
    let state = ApiState {
        tokens: Tokens::new(SECRET, Duration::from_secs(3600)),
        users,
        ledger: ledger.clone(),
        cache,
        variables: ChannelVariables::default(),
        esl: Some(worker.clone()),
        hub: hub.clone(),
        recordings: Some(recording::Destination::local(&store_dir).unwrap()),
        download_ttl: Duration::from_secs(60),
    };
    let app = callcenter::api::router(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    // The worker has read the node's channels.
    for _ in 0..200 {
        if worker.active_calls("acme").len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        worker.active_calls("acme").len(),
        2,
        "the worker never re-synced the node's two legs"
    );
    Platform {
        address,
        ledger,
        hub,
        node,
        store_dir,
        _worker: worker,
        dir,
    }
}

/// Both tenants on one plan (0.60/min), each with extension 1000, an admin and an agent (whose
/// extension is 1000); passwords are `<tenant>-<user>-pw`.
async fn open_the_two_tenants(ledger: &Ledger, store: &PlatformStore, users: &Users) {
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
    for (tenant, context) in [("acme", "default"), ("beta", "beta")] {
        ledger
            .open_account(tenant, "p", Decimal::ZERO)
            .await
            .unwrap();
        store
            .put_tenant(&Tenant {
                tenant: tenant.into(),
                domain: format!("{tenant}.example"),
                context: context.into(),
                gateway: Some("trunk".into()),
                prepaid: false,
                record_calls: false,
            })
            .await
            .unwrap();
        store
            .put_extension(&ExtensionRow {
                tenant: tenant.into(),
                extension: "1000".into(),
                password: Some("secret-1000".into()),
                a1_hash: None,
                caller_id_name: Some(format!("{tenant} 1000")),
                caller_id_number: None,
                record_calls: false,
            })
            .await
            .unwrap();
        for (name, role) in [("admin", Role::Admin), ("agent", Role::Agent)] {
            let user = ApiUser {
                tenant: tenant.into(),
                username: name.into(),
                role,
                extension: (role == Role::Agent).then(|| "1000".into()),
            };
            users
                .put(&user, &format!("{tenant}-{name}-pw"))
                .await
                .unwrap();
        }
    }
}

/// A node whose FreeSWITCH has the captured call's two legs up.
async fn a_node_with_the_captured_call_up() -> FakeNode {
    let capture = std::fs::read(tests::fixture("esl/esl-plain.raw")).unwrap();
    let during_call = api_responses(&capture)
        .into_iter()
        .find(|body| body.starts_with("{\"row_count\":2"))
        .unwrap();
    FakeNode::start(
        "ClueCon",
        vec![Session {
            channels: during_call,
            ..Session::idle()
        }],
    )
    .await
}

async fn call(
    address: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth.as_str()));
    }
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let response = send(address, &request(method, path, &headers, body.as_bytes()))
        .await
        .unwrap();
    let json = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    (response.status, json)
}

async fn login(address: SocketAddr, tenant: &str, user: &str) -> String {
    let (status, body) = call(
        address,
        "POST",
        "/api/login",
        None,
        Some(
            json!({"tenant": tenant, "username": user, "password": format!("{tenant}-{user}-pw")}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tenant"], tenant);
    body["token"].as_str().unwrap().to_owned()
}

fn cdr(uuid: &str, tenant: &str, billsec: u64) -> Cdr {
    let pairs = [
        ("Unique-ID", uuid.to_owned()),
        ("Call-Direction", "inbound".to_owned()),
        ("variable_tenant_id", tenant.to_owned()),
        ("variable_start_epoch", "1795261000".to_owned()),
        ("variable_answer_epoch", "1795261001".to_owned()),
        ("variable_billsec", billsec.to_string()),
        ("Caller-Destination-Number", "442079460000".to_owned()),
    ];
    Cdr::from_pairs(
        pairs.iter().map(|(n, v)| (*n, v.as_str())),
        &Default::default(),
    )
    .unwrap()
}

/// Three one-minute calls of acme's (0.60 each) and a half-minute one of beta's (0.30).
async fn record_three_acme_calls_and_one_beta_call(p: &Platform) {
    let cdrs: Vec<Cdr> = (0..3)
        .map(|i| cdr(&format!("acme-call-{i}"), "acme", 60))
        .chain([cdr("beta-call", "beta", 30)])
        .collect();
    for result in p.ledger.record_batch(&cdrs).await.unwrap() {
        result.unwrap();
    }
}

/// acme's recording of `acme-call-0`, in the local store; its object key.
async fn store_a_recording_of_acme_call_0(p: &Platform) -> &'static str {
    let key = "acme/2026/11/21/acme-call-0.mp3";
    std::fs::create_dir_all(p.store_dir.join("acme/2026/11/21")).unwrap();
    std::fs::write(p.store_dir.join(key), b"ID3 not really an mp3").unwrap();
    p.ledger
        .save_recording(&RecordingRecord {
            call_uuid: "acme-call-0".into(),
            tenant: "acme".into(),
            object_key: key.into(),
            size_bytes: 21,
            duration_ms: 1000,
            sha256: "x".into(),
            bitrate_kbps: 16,
        })
        .await
        .unwrap();
    key
}

/// acme's admin creates extension 2000, and is not shown its password.
async fn create_extension_2000(a: SocketAddr, acme_admin: &str) {
    let (status, created) = call(
        a,
        "PUT",
        "/api/extensions/2000",
        Some(acme_admin),
        Some(json!({"password": "long-enough", "caller_id_name": "Desk", "record_calls": true})),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["has_password"], true);
    assert!(
        created.get("password").is_none(),
        "passwords are write-only"
    );
}

async fn fetch_balance(a: SocketAddr, token: &str) -> Value {
    let (status, balance) = call(a, "GET", "/api/balance", Some(token), None).await;
    assert_eq!(status, 200, "{balance}");
    balance
}

/// The `bgapi originate` commands the node received.
fn originates(p: &Platform) -> Vec<String> {
    let commands = p.node.log().commands.into_iter();
    commands
        .filter(|c| c.starts_with("bgapi originate"))
        .collect()
}

// Logins.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_unknown_user_or_wrong_tenant_get_the_same_401() {
    let p = platform().await;
    for (tenant, user, password) in [
        ("acme", "admin", "nope"),
        ("acme", "nobody", "acme-admin-pw"),
        ("beta", "admin", "acme-admin-pw"),
    ] {
        let (status, body) = call(
            p.address,
            "POST",
            "/api/login",
            None,
            Some(json!({"tenant": tenant, "username": user, "password": password})),
        )
        .await;
        assert_eq!(status, 401, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_login_is_a_400() {
    let p = platform().await;
    let (status, body) = call(
        p.address,
        "POST",
        "/api/login",
        None,
        Some(json!({"tenant": 1})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
}

// Active calls.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_calls_are_the_token_tenants_only() {
    let p = platform().await;
    let a = p.address;
    let acme_agent = login(a, "acme", "agent").await;
    let beta_admin = login(a, "beta", "admin").await;
    // The node's two legs are acme's.
    let (status, body) = call(a, "GET", "/api/calls", Some(&acme_agent), None).await;
    assert_eq!(status, 200);
    assert_eq!(body["calls"].as_array().unwrap().len(), 2, "{body}");
    let (_, body) = call(a, "GET", "/api/calls", Some(&beta_admin), None).await;
    assert_eq!(body["calls"], json!([]));
}

// CDRs.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdrs_are_paginated_per_tenant() {
    let p = platform().await;
    let a = p.address;
    let acme_agent = login(a, "acme", "agent").await;
    let beta_admin = login(a, "beta", "admin").await;
    record_three_acme_calls_and_one_beta_call(&p).await;
    let (status, page) = call(a, "GET", "/api/cdrs?limit=2", Some(&acme_agent), None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["cdrs"].as_array().unwrap().len(), 2);
    let next = page["next"].as_i64().unwrap();
    let (_, rest) = call(
        a,
        "GET",
        &format!("/api/cdrs?limit=2&after={next}"),
        Some(&acme_agent),
        None,
    )
    .await;
    assert_eq!(rest["cdrs"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next"], Value::Null);
    let (_, beta) = call(a, "GET", "/api/cdrs", Some(&beta_admin), None).await;
    let uuids: Vec<&str> = beta["cdrs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["uuid"].as_str().unwrap())
        .collect();
    assert_eq!(uuids, ["beta-call"]);
    assert_eq!(beta["cdrs"][0]["amount"], "0.30");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdrs_are_filtered_by_start_time() {
    let p = platform().await;
    let acme_agent = login(p.address, "acme", "agent").await;
    record_three_acme_calls_and_one_beta_call(&p).await;
    let (_, range) = call(
        p.address,
        "GET",
        "/api/cdrs?from=1795262000",
        Some(&acme_agent),
        None,
    )
    .await;
    assert_eq!(range["cdrs"], json!([]), "nothing that late");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_cdr_limit_is_refused() {
    let p = platform().await;
    let acme_agent = login(p.address, "acme", "agent").await;
    let (status, _) = call(
        p.address,
        "GET",
        "/api/cdrs?limit=0",
        Some(&acme_agent),
        None,
    )
    .await;
    assert_eq!(status, 400);
}

// Recordings.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_is_listed_and_streamed_to_its_tenant() {
    let p = platform().await;
    let a = p.address;
    let acme_agent = login(a, "acme", "agent").await;
    let key = store_a_recording_of_acme_call_0(&p).await;
    let (status, list) = call(
        a,
        "GET",
        "/api/recordings/acme-call-0",
        Some(&acme_agent),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list["recordings"][0]["key"], key);
    let download = send(
        a,
        &request(
            "GET",
            "/api/recordings/acme-call-0/0",
            &[("Authorization", &format!("Bearer {acme_agent}"))],
            b"",
        ),
    )
    .await
    .unwrap();
    assert_eq!(download.status, 200);
    assert_eq!(download.header("content-type"), Some("audio/mpeg"));
    assert_eq!(download.body, b"ID3 not really an mp3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_of_another_tenant_is_not_found() {
    let p = platform().await;
    let a = p.address;
    let beta_admin = login(a, "beta", "admin").await;
    store_a_recording_of_acme_call_0(&p).await;
    let (_, list) = call(
        a,
        "GET",
        "/api/recordings/acme-call-0",
        Some(&beta_admin),
        None,
    )
    .await;
    assert_eq!(list["recordings"], json!([]));
    let (status, _) = call(
        a,
        "GET",
        "/api/recordings/acme-call-0/0",
        Some(&beta_admin),
        None,
    )
    .await;
    assert_eq!(status, 404);
}

// Extensions: admins write, agents read; tenants never see each other's.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_cannot_create_extensions() {
    let p = platform().await;
    let acme_agent = login(p.address, "acme", "agent").await;
    let (status, _) = call(
        p.address,
        "PUT",
        "/api/extensions/2000",
        Some(&acme_agent),
        Some(json!({"password": "long-enough"})),
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extension_an_admin_creates_is_listed_to_agents() {
    let p = platform().await;
    let a = p.address;
    let acme_admin = login(a, "acme", "admin").await;
    let acme_agent = login(a, "acme", "agent").await;
    create_extension_2000(a, &acme_admin).await;
    let (_, list) = call(a, "GET", "/api/extensions", Some(&acme_agent), None).await;
    let names: Vec<&str> = list["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["extension"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["1000", "2000"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_extension_needs_a_password_and_a_valid_name() {
    let p = platform().await;
    let a = p.address;
    let acme_admin = login(a, "acme", "admin").await;
    let (status, _) = call(
        a,
        "PUT",
        "/api/extensions/2001",
        Some(&acme_admin),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 400, "a new extension needs a password");
    let (status, _) = call(
        a,
        "PUT",
        "/api/extensions/a%2Fb",
        Some(&acme_admin),
        Some(json!({"password": "long-enough"})),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenant_can_neither_read_nor_delete_an_extension() {
    let p = platform().await;
    let a = p.address;
    let acme_admin = login(a, "acme", "admin").await;
    let beta_admin = login(a, "beta", "admin").await;
    create_extension_2000(a, &acme_admin).await;
    let (status, _) = call(a, "GET", "/api/extensions/2000", Some(&beta_admin), None).await;
    assert_eq!(status, 404);
    let (status, _) = call(a, "DELETE", "/api/extensions/2000", Some(&beta_admin), None).await;
    assert_eq!(status, 404, "beta cannot delete acme's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_delete_extensions() {
    let p = platform().await;
    let a = p.address;
    let acme_admin = login(a, "acme", "admin").await;
    let acme_agent = login(a, "acme", "agent").await;
    create_extension_2000(a, &acme_admin).await;
    let (status, _) = call(a, "DELETE", "/api/extensions/2000", Some(&acme_agent), None).await;
    assert_eq!(status, 403);
    // Still there for the admin to delete.
    let (status, _) = call(a, "DELETE", "/api/extensions/2000", Some(&acme_admin), None).await;
    assert_eq!(status, 204);
    let (status, _) = call(a, "GET", "/api/extensions/2000", Some(&acme_admin), None).await;
    assert_eq!(status, 404);
}

// Balance and top-ups: admins only, once per reference, this tenant only.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_cannot_top_up() {
    let p = platform().await;
    let a = p.address;
    let acme_agent = login(a, "acme", "agent").await;
    let before = fetch_balance(a, &acme_agent).await;
    let (status, _) = call(
        a,
        "POST",
        "/api/topups",
        Some(&acme_agent),
        Some(json!({"amount": "25.00", "reference": "invoice-7"})),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(fetch_balance(a, &acme_agent).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_negative_top_up_is_refused() {
    let p = platform().await;
    let a = p.address;
    let acme_admin = login(a, "acme", "admin").await;
    let before = fetch_balance(a, &acme_admin).await;
    let (status, _) = call(
        a,
        "POST",
        "/api/topups",
        Some(&acme_admin),
        Some(json!({"amount": "-1", "reference": "x"})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(fetch_balance(a, &acme_admin).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_top_up_is_added_once_per_reference_to_its_tenant_only() {
    let p = platform().await;
    let a = p.address;
    let acme_admin = login(a, "acme", "admin").await;
    let acme_agent = login(a, "acme", "agent").await;
    let beta_admin = login(a, "beta", "admin").await;
    record_three_acme_calls_and_one_beta_call(&p).await;
    let top_up = json!({"amount": "25.00", "reference": "invoice-7"});
    for _ in 0..2 {
        let (status, body) = call(
            a,
            "POST",
            "/api/topups",
            Some(&acme_admin),
            Some(top_up.clone()),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let balance = fetch_balance(a, &acme_agent).await;
    // 25.00 added once, 3 minutes at 0.60 charged.
    assert_eq!(balance["balance"], "23.20", "{balance}");
    let (_, balance) = call(a, "GET", "/api/balance", Some(&beta_admin), None).await;
    assert_eq!(balance["balance"], "-0.30", "{balance}");
}

// Click-to-call: an agent from their own extension, through the tenant's context.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_calls_from_their_own_extension_only() {
    let p = platform().await;
    let acme_agent = login(p.address, "acme", "agent").await;
    let (status, _) = call(
        p.address,
        "POST",
        "/api/calls",
        Some(&acme_agent),
        Some(json!({"to": "442079460000", "from": "2000"})),
    )
    .await;
    assert_eq!(status, 403, "not the agent's extension");
    assert_eq!(originates(&p), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_that_is_not_a_number_is_refused() {
    let p = platform().await;
    let acme_agent = login(p.address, "acme", "agent").await;
    let (status, _) = call(
        p.address,
        "POST",
        "/api/calls",
        Some(&acme_agent),
        Some(json!({"to": "44 20; hangup"})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(originates(&p), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn click_to_call_rings_the_agents_extension_in_the_tenants_context() {
    let p = platform().await;
    let acme_agent = login(p.address, "acme", "agent").await;
    let (status, placed) = call(
        p.address,
        "POST",
        "/api/calls",
        Some(&acme_agent),
        Some(json!({"to": "442079460000"})),
    )
    .await;
    assert_eq!(status, 202, "{placed}");
    let uuid = placed["uuid"].as_str().unwrap();
    assert_eq!(uuid.len(), 36);
    let originate = originates(&p).into_iter().next().unwrap();
    assert!(
        originate.contains(&format!("origination_uuid={uuid}")),
        "{originate}"
    );
    assert!(originate.contains("tenant_id=acme"), "{originate}");
    assert!(
        originate.ends_with("}user/1000@acme.example 442079460000 XML default"),
        "{originate}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_from_an_extension_the_tenant_lacks_is_refused() {
    let p = platform().await;
    // 2000 exists, but as acme's.
    create_extension_2000(p.address, &login(p.address, "acme", "admin").await).await;
    let beta_admin = login(p.address, "beta", "admin").await;
    let (status, _) = call(
        p.address,
        "POST",
        "/api/calls",
        Some(&beta_admin),
        Some(json!({"to": "1", "from": "2000"})),
    )
    .await;
    assert_eq!(status, 400, "2000 is acme's extension, not beta's");
    assert_eq!(originates(&p), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_forged_and_tampered_tokens_are_refused() {
    let p = platform().await;
    let a = p.address;
    let valid = login(a, "acme", "admin").await;
    let short = Tokens::new(SECRET, Duration::from_secs(1));
    let (expired, _) = short.issue("admin", "acme", Role::Admin, None);
    let (forged, _) = Tokens::new(b"somebody else's secret", Duration::from_secs(3600)).issue(
        "admin",
        "acme",
        Role::Admin,
        None,
    );
    // Same signature, payload changed to another tenant.
    let parts: Vec<&str> = valid.split('.').collect();
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: Value = serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
    claims["tenant"] = json!("beta");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        engine.encode(claims.to_string()),
        parts[2]
    );
    let unsigned = format!(
        "{}.{}.",
        engine.encode(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    for (what, token) in [
        ("expired", expired.as_str()),
        ("forged", forged.as_str()),
        ("tampered", tampered.as_str()),
        ("unsigned", unsigned.as_str()),
        ("garbage", "not.a.token"),
    ] {
        for path in ["/api/calls", "/api/cdrs", "/api/balance", "/api/extensions"] {
            let (status, body) = call(a, "GET", path, Some(token), None).await;
            assert_eq!(status, 401, "{what} token on {path}: {body}");
        }
        let ws = tokio_tungstenite::connect_async(format!("ws://{a}/ws?token={token}")).await;
        assert!(ws.is_err(), "{what} token opened /ws");
    }
    let (status, _) = call(a, "GET", "/api/balance", None, None).await;
    assert_eq!(status, 401);
    let (status, _) = call(a, "GET", "/api/balance", Some(&valid), None).await;
    assert_eq!(status, 200);
    // The description is public and names every route.
    let (status, openapi) = call(a, "GET", "/api/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(openapi["openapi"], "3.1.0");
    for path in [
        "/api/login",
        "/api/calls",
        "/api/cdrs",
        "/api/recordings/{call_uuid}",
        "/api/recordings/{call_uuid}/{index}",
        "/api/extensions",
        "/api/extensions/{extension}",
        "/api/balance",
        "/api/topups",
    ] {
        assert!(openapi["paths"].get(path).is_some(), "{path} undescribed");
    }
}

fn started(tenant: &str, uuid: &str) -> CallEvent {
    CallEvent::CallStarted {
        call: Call {
            uuid: uuid.into(),
            node: "fs1".into(),
            tenant: tenant.into(),
            direction: "inbound".into(),
            caller: "1000".into(),
            callee: "2000".into(),
            created_us: 0,
            answered_us: None,
        },
    }
}

async fn next_text<S>(socket: &mut S) -> Value
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s")
            .expect("open")
            .expect("no error");
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_clients_see_their_tenant_only() {
    let p = platform().await;
    let a = p.address;
    let acme = login(a, "acme", "agent").await;
    let beta = login(a, "beta", "agent").await;
    let (mut acme_ws, _) = tokio_tungstenite::connect_async(format!("ws://{a}/ws?token={acme}"))
        .await
        .unwrap();
    let (mut beta_ws, _) = tokio_tungstenite::connect_async(format!("ws://{a}/ws?token={beta}"))
        .await
        .unwrap();
    let snapshot = next_text(&mut acme_ws).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["calls"].as_array().unwrap().len(), 2);
    let snapshot = next_text(&mut beta_ws).await;
    assert_eq!(snapshot["calls"], json!([]));
    for i in 0..5 {
        p.hub.publish(&started("acme", &format!("acme-{i}")));
    }
    p.hub.publish(&started("beta", "beta-0"));
    for i in 0..5 {
        let event = next_text(&mut acme_ws).await;
        assert_eq!(event["call"]["uuid"], format!("acme-{i}"));
    }
    let event = next_text(&mut beta_ws).await;
    assert_eq!(event["call"]["uuid"], "beta-0");
    assert_eq!(event["seq"], 1);
    // Nothing else for beta: acme's events never reach it.
    let more = tokio::time::timeout(Duration::from_millis(300), beta_ws.next()).await;
    assert!(more.is_err(), "beta received {more:?}");
    acme_ws.close(None).await.unwrap();
}
