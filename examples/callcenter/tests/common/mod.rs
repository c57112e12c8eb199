//! The API scenarios' platform: two tenants over SQLite, a capture-driven FreeSWITCH node, the
//! API served on loopback, and the requests the scenarios make.

#![allow(dead_code)]

use billing::{Cdr, Decimal, Ledger, PlanRecord, RecordingRecord, Rounding};
use callcenter::api::{ApiState, ApiUser, Limits, Role, Tokens, Users};
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

pub const SECRET: &[u8] = b"a test secret of some length";

pub fn temp_dir(name: &str) -> PathBuf {
    tests::fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), name)
}

pub struct Platform {
    pub address: SocketAddr,
    pub ledger: Ledger,
    pub hub: Hub,
    pub node: FakeNode,
    pub store_dir: PathBuf,
    pub _worker: EslWorker,
    pub dir: PathBuf,
}

impl Drop for Platform {
    /// Each scenario's database and store go with it.
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Two tenants: `acme` (context `default`, the captured call's) and `beta`; each with an admin
/// and an agent; a node whose FreeSWITCH has the captured call's two legs up.
pub async fn platform() -> Platform {
    platform_with(Vec::new()).await
}

/// The same platform, its node answering commands that start with a prefix with the body
/// (see [`Session::api_replies`]).
pub async fn platform_with(api_replies: Vec<(String, String)>) -> Platform {
    let dir = temp_dir("api");
    let url = format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display());
    let ledger = Ledger::connect(&url).await.unwrap();
    let store = PlatformStore::open(ledger.pool().clone(), ledger.backend())
        .await
        .unwrap();
    let users = Users::new(ledger.pool().clone());
    open_the_two_tenants(&ledger, &store, &users).await;
    let node = a_node_with_the_captured_call_up(api_replies).await;
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
        live: None,
        hub: hub.clone(),
        recordings: Some(recording::Destination::local(&store_dir).unwrap()),
        download_ttl: Duration::from_secs(60),
        media_sources: Default::default(),
        limits: Limits::default(),
    };
    let app = callcenter::api::router(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    // With the peer address, as the daemon serves (logins are throttled per address).
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
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
pub async fn open_the_two_tenants(ledger: &Ledger, store: &PlatformStore, users: &Users) {
    users.put_operator("ops", "ops-operator-pw").await.unwrap();
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
                prepaid_slice_seconds: None,
                time_zone: None,
                disabled: false,
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
        for (name, role) in [
            ("admin", Role::Admin),
            ("agent", Role::Agent),
            ("roamer", Role::Agent),
        ] {
            let user = ApiUser {
                tenant: tenant.into(),
                username: name.into(),
                role,
                // The agent's own extension is 1000; the roamer has none.
                extension: (name == "agent").then(|| "1000".into()),
            };
            users
                .put(&user, &format!("{tenant}-{name}-pw"))
                .await
                .unwrap();
        }
    }
}

/// A node whose FreeSWITCH has the captured call's two legs up.
pub async fn a_node_with_the_captured_call_up(api_replies: Vec<(String, String)>) -> FakeNode {
    let capture = std::fs::read(tests::fixture("esl/esl-plain.raw")).unwrap();
    let during_call = api_responses(&capture)
        .into_iter()
        .find(|body| body.starts_with("{\"row_count\":2"))
        .unwrap();
    FakeNode::start(
        "ClueCon",
        vec![Session {
            channels: during_call,
            api_replies,
            ..Session::idle()
        }],
    )
    .await
}

pub async fn call(
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

pub async fn login(address: SocketAddr, tenant: &str, user: &str) -> String {
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

pub fn cdr(uuid: &str, tenant: &str, billsec: u64) -> Cdr {
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
pub async fn record_three_acme_calls_and_one_beta_call(p: &Platform) {
    let cdrs: Vec<Cdr> = (0..3)
        .map(|i| cdr(&format!("acme-call-{i}"), "acme", 60))
        .chain([cdr("beta-call", "beta", 30)])
        .collect();
    for result in p.ledger.record_batch(&cdrs).await.unwrap() {
        result.unwrap();
    }
}

/// acme's recording of `acme-call-0`, in the local store; its object key.
pub async fn store_a_recording_of_acme_call_0(p: &Platform) -> &'static str {
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
pub async fn create_extension_2000(a: SocketAddr, acme_admin: &str) {
    let (status, created) = call(
        a,
        "PUT",
        "/api/extensions/2000",
        Some(acme_admin),
        Some(json!({"password": "long-enough", "caller_id_name": "Desk", "caller_id_number": null, "record_calls": true})),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["has_password"], true);
    assert!(
        created.get("password").is_none(),
        "passwords are write-only"
    );
}

pub async fn fetch_balance(a: SocketAddr, token: &str) -> Value {
    let (status, balance) = call(a, "GET", "/api/balance", Some(token), None).await;
    assert_eq!(status, 200, "{balance}");
    balance
}

/// The `bgapi originate` commands the node received.
pub fn originates(p: &Platform) -> Vec<String> {
    let commands = p.node.log().commands.into_iter();
    commands
        .filter(|c| c.starts_with("bgapi originate"))
        .collect()
}

/// The originates the node has seen, once there is at least one (click-to-call sends its
/// originate in the background).
pub async fn originates_sent(p: &Platform) -> Vec<String> {
    for _ in 0..250 {
        let sent = originates(p);
        if !sent.is_empty() {
            return sent;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no originate reached the node");
}

pub fn started(tenant: &str, uuid: &str) -> CallEvent {
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

pub async fn next_text<S>(socket: &mut S) -> Value
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

/// The platform operator `ops` logs in (no tenant).
pub async fn operator_login(address: SocketAddr) -> String {
    let (status, body) = call(
        address,
        "POST",
        "/api/login",
        None,
        Some(json!({"username": "ops", "password": "ops-operator-pw"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["role"], "operator");
    body["token"].as_str().unwrap().to_owned()
}
