//! The daemon attacked from the network: FreeSWITCH's routes without credentials (the daemon
//! refuses to start without them), a body pushed before credentials, a forged CDR and one that
//! pre-empts a real call, the FreeSWITCH routes on their own address, and a failing database
//! whose text must reach no caller.

use billing::{Decimal, Ledger, PlanRecord, Rounding};
use callcenter::api::{ApiUser, Role};
use callcenter::daemon::{DaemonConfig, build, serve};
use platform::store::Tenant;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tests::http;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const DAEMON: &str = env!("CARGO_BIN_EXE_callcenter");

/// freeswitch:fs-secret
const FREESWITCH: (&str, &str) = ("Authorization", "Basic ZnJlZXN3aXRjaDpmcy1zZWNyZXQ=");

fn scratch(label: &str) -> PathBuf {
    tests::fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), label)
}

fn free_address() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// The daemon's configuration on `database`, FreeSWITCH's credentials set, on free ports.
fn configured(database: String, dir: &Path) -> DaemonConfig {
    let mut config = DaemonConfig {
        listen: free_address(),
        database,
        recordings_dir: dir.join("staging"),
        recordings_store: dir.join("store"),
        ..DaemonConfig::default()
    };
    for credentials in [&mut config.xml_curl, &mut config.cdr.credentials] {
        credentials.user = Some("freeswitch".into());
        credentials.password = Some("fs-secret".into());
    }
    config.api.jwt_secret = Some("a secret of at least sixteen characters".into());
    config
}

/// Builds and serves the daemon until the test ends; the tenant `acme` (domain acme.example,
/// context acme) with an admin `boss`.
async fn running(config: &DaemonConfig) -> Ledger {
    let daemon = build(config).await.unwrap();
    let ledger = daemon.ledger.clone();
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
    daemon
        .store
        .put_tenant(&Tenant {
            tenant: "acme".into(),
            domain: "acme.example".into(),
            context: "acme".into(),
            gateway: Some("trunk".into()),
            prepaid: false,
            record_calls: false,
            prepaid_slice_seconds: None,
            time_zone: None,
            disabled: false,
        })
        .await
        .unwrap();
    let boss = ApiUser {
        tenant: "acme".into(),
        username: "boss".into(),
        role: Role::Admin,
        extension: None,
    };
    daemon.users().put(&boss, "boss-password").await.unwrap();
    let serving = config.clone();
    tokio::spawn(async move { serve(&serving, daemon, std::future::pending()).await });
    for _ in 0..100 {
        if http::send(config.listen, &get("/healthz")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ledger
}

fn get(path: &str) -> Vec<u8> {
    http::request("GET", path, &[], b"")
}

/// The captured raw-JSON post of a real call (its UUID, its body).
fn a_real_cdr_post() -> (String, Vec<u8>) {
    let raw = std::fs::read(tests::fixture(
        "json_cdr/009_cdr_encode_false_uuid_0e11178b_0a91_4f66.http",
    ))
    .unwrap();
    let body = raw[raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..].to_vec();
    let json: Value = serde_json::from_slice(&body).unwrap();
    let uuid = json["variables"]["uuid"].as_str().unwrap().to_owned();
    (uuid, body)
}

fn cdr_post(body: &[u8], authorization: Option<&str>) -> Vec<u8> {
    let mut headers = vec![("Content-Type", "application/json")];
    headers.extend(authorization.map(|a| ("Authorization", a)));
    http::post("/cdr", &headers, body)
}

#[test]
fn the_daemon_refuses_to_start_without_freeswitch_credentials() {
    let dir = scratch("no-credentials");
    let start = |vars: &[(&str, &str)]| {
        let mut command = Command::new(DAEMON);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            // Not the embedded default (a SQLite file): nothing is generated.
            .env("CALLCENTER_DATABASE", "sqlite::memory:")
            .env("CALLCENTER_LISTEN", free_address().to_string())
            .env("CALLCENTER_RECORDINGS_DIR", dir.join("staging"))
            .env("CALLCENTER_RECORDINGS_STORE", dir.join("store"));
        for (name, value) in vars {
            command.env(name, value);
        }
        command.output().unwrap()
    };
    let refused = |output: std::process::Output, setting: &str| {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(78), "{stderr}");
        assert!(stderr.contains(setting), "{setting} not named: {stderr}");
    };
    refused(start(&[]), "cdr.user and cdr.password");
    let cdr = [
        ("CALLCENTER_CDR_USER", "freeswitch"),
        ("CALLCENTER_CDR_PASSWORD", "x-secret"),
    ];
    refused(start(&cdr), "xml_curl.user and xml_curl.password");
    let empty = [
        cdr[0],
        cdr[1],
        ("CALLCENTER_XML_CURL_USER", "freeswitch"),
        ("CALLCENTER_XML_CURL_PASSWORD", ""),
    ];
    refused(start(&empty), "the password is empty");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_checked_before_a_body_is_read() {
    let dir = scratch("before-body");
    let config = configured(
        format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display()),
        &dir,
    );
    running(&config).await;
    for path in ["/cdr", "/fsapi"] {
        // Headers announcing 2 MB, and no body: the answer comes without it.
        let mut socket = tokio::net::TcpStream::connect(config.listen).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n"
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        let mut answer = vec![0; 512];
        let read = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut answer))
            .await
            .expect("an answer without the body")
            .unwrap();
        let answer = String::from_utf8_lossy(&answer[..read]);
        assert!(answer.starts_with("HTTP/1.1 401"), "{path}: {answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_preempting_cdrs_are_refused_and_the_real_one_lands() {
    let dir = scratch("forged-cdr");
    let config = configured(
        format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display()),
        &dir,
    );
    let ledger = running(&config).await;
    let (uuid, real) = a_real_cdr_post();
    // A forged CDR naming acme for 30 days, and one pre-empting the real call's UUID as
    // unanswered: without FreeSWITCH's credentials, or with an empty password.
    let forged = json!({
        "variables": {"uuid": "5b1d0c3e-0000-4000-8000-000000000001", "tenant_id": "acme",
                      "billsec": "2592000", "direction": "outbound", "sip_gateway_name": "trunk",
                      "destination_number": "0901"}
    })
    .to_string();
    let preempting = json!({
        "variables": {"uuid": uuid, "tenant_id": "acme", "billsec": "0", "hangup_cause": "NO_ANSWER"}
    })
    .to_string();
    let empty_password = format!("Basic {}", base64("freeswitch:"));
    let wrong = format!("Basic {}", base64("freeswitch:guess"));
    for body in [&forged, &preempting] {
        for authorization in [None, Some(empty_password.as_str()), Some(wrong.as_str())] {
            let response = http::send(config.listen, &cdr_post(body.as_bytes(), authorization))
                .await
                .unwrap();
            assert_eq!(response.status, 401, "{authorization:?}");
        }
    }
    assert_eq!(
        ledger
            .cdrs("acme", i64::MIN, i64::MAX, None, 10)
            .await
            .unwrap()
            .len(),
        0
    );
    let response = http::send(config.listen, &cdr_post(&real, Some(FREESWITCH.1)))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn freeswitch_routes_can_have_an_address_of_their_own() {
    let dir = scratch("own-address");
    let mut config = configured(
        format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display()),
        &dir,
    );
    let freeswitch = free_address();
    config.freeswitch_listen = Some(freeswitch);
    running(&config).await;
    let lookup = http::post(
        "/fsapi",
        &[
            FREESWITCH,
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        b"section=directory&user=1000&domain=acme.example",
    );
    // The public address has no FreeSWITCH route.
    for request in [lookup.clone(), cdr_post(b"{}", Some(FREESWITCH.1))] {
        assert_eq!(
            http::send(config.listen, &request).await.unwrap().status,
            404
        );
    }
    assert_eq!(
        http::send(config.listen, &get("/healthz"))
            .await
            .unwrap()
            .status,
        200
    );
    // FreeSWITCH's address has nothing else.
    assert_eq!(http::send(freeswitch, &lookup).await.unwrap().status, 200);
    let login = http::post("/api/login", &[("Content-Type", "application/json")], b"{}");
    assert_eq!(http::send(freeswitch, &login).await.unwrap().status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_database_s_text_reaches_no_caller() {
    let dir = scratch("database-text");
    let mut relay = tests::relay::Relay::start("127.0.0.1:5432").await;
    let schema = format!("sec_{}", std::process::id());
    let public = Ledger::connect("postgres://postgres@127.0.0.1:5432/test")
        .await
        .expect("PostgreSQL on 127.0.0.1:5432");
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(public.pool())
        .await
        .unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(public.pool())
        .await
        .unwrap();
    let config = configured(
        format!(
            "postgres://postgres@127.0.0.1:{}/test?options=-c%20search_path%3D{schema}",
            relay.port
        ),
        &dir,
    );
    running(&config).await;
    let login = http::post(
        "/api/login",
        &[("Content-Type", "application/json")],
        json!({"tenant": "acme", "username": "boss", "password": "boss-password"})
            .to_string()
            .as_bytes(),
    );
    let answer = http::send(config.listen, &login).await.unwrap();
    let token: Value = serde_json::from_slice(&answer.body).unwrap();
    let bearer = format!("Bearer {}", token["token"].as_str().unwrap());
    relay.down();
    tokio::time::sleep(callcenter::api::REVOCATION_DELAY).await;
    let lookup = http::post(
        "/fsapi",
        &[
            FREESWITCH,
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        // A known tenant (the tenants are cached since the login read them) and an extension
        // never read: the lookup needs the database.
        b"section=directory&user=1077&domain=acme.example",
    );
    let cdrs = http::request(
        "GET",
        "/api/cdrs",
        &[("Authorization", bearer.as_str())],
        b"",
    );
    for (what, request) in [
        ("healthz", get("/healthz")),
        ("login", login),
        ("cdrs", cdrs),
        ("fsapi", lookup),
    ] {
        let answer = http::send(config.listen, &request).await.unwrap();
        let body = String::from_utf8_lossy(&answer.body).to_lowercase();
        assert_eq!(answer.status, 503, "{what}: {body}");
        assert!(body.contains("error id"), "{what}: {body}");
        let port = relay.port.to_string();
        for leak in [
            port.as_str(),
            "127.0.0.1",
            "pool",
            "connection",
            "io error",
            &schema,
        ] {
            assert!(!body.contains(leak), "{what} leaks {leak}: {body}");
        }
    }
    relay.up().await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(public.pool())
        .await
        .unwrap();
}

fn base64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_cannot_hold_every_place() {
    let dir = scratch("idle");
    let mut config = configured(
        format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display()),
        &dir,
    );
    config.max_connections = 8;
    config.header_timeout_ms = 500;
    running(&config).await;
    // Every place taken: seven sockets that never send a byte, one that idles after a request
    // on a kept-alive connection.
    let mut idle = Vec::new();
    for _ in 0..7 {
        idle.push(tokio::net::TcpStream::connect(config.listen).await.unwrap());
    }
    let mut kept = tokio::net::TcpStream::connect(config.listen).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut answer = vec![0; 256];
    let read = kept.read(&mut answer).await.unwrap();
    assert!(answer[..read].starts_with(b"HTTP/1.1 200"));
    idle.push(kept);
    // Each is dropped once it has sent no headers for the deadline: the next client gets in.
    let started = std::time::Instant::now();
    let answer = tokio::time::timeout(
        Duration::from_secs(5),
        http::send(config.listen, &get("/healthz")),
    )
    .await
    .expect("idle connections starved the server")
    .unwrap();
    assert_eq!(answer.status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "the cap did not hold"
    );
    for mut socket in idle {
        let mut byte = [0u8; 1];
        let closed = tokio::time::timeout(Duration::from_secs(2), socket.read(&mut byte)).await;
        assert!(
            matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
            "an idle socket stayed open"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_nothing_attributes_reaches_no_tenant_not_even_the_default_one() {
    let dir = scratch("default-tenant");
    // The captured calls run in context `default`, which no tenant owns here.
    let capture = std::fs::read(tests::fixture("esl/esl-plain.raw")).unwrap();
    let during_call = tests::node::api_responses(&capture)
        .into_iter()
        .find(|body| body.starts_with("{\"row_count\":2"))
        .unwrap();
    let node = tests::node::FakeNode::start(
        "ClueCon",
        vec![tests::node::Session {
            channels: during_call,
            ..tests::node::Session::idle()
        }],
    )
    .await;
    let mut config = configured(
        format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display()),
        &dir,
    );
    // A real tenant as the CDRs' default: before, its agents were sent every tenant's
    // unattributed calls and recordings.
    config.cdr.default_tenant = Some("acme".into());
    config.esl.nodes = vec![callcenter::roles::esl_worker::NodeConfig {
        name: "fs1".into(),
        address: node.address(),
        password: "ClueCon".into(),
    }];
    let daemon = build(&config).await.unwrap();
    let worker = daemon.esl_worker.clone().unwrap();
    // The worker re-syncs the node's two legs (the worker may connect before any subscriber,
    // so the live state is what is read): held, and published, as no tenant's. An agent's
    // `/ws` and `GET /api/calls` read this state by their tenant.
    let mut unassigned = Vec::new();
    for _ in 0..200 {
        unassigned = worker.active_calls(platform::identity::UNASSIGNED);
        if unassigned.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(unassigned.len(), 2, "the node's calls were never read");
    assert!(
        worker.active_calls("acme").is_empty(),
        "acme sees unattributed calls"
    );
    worker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_stop_reading_cannot_hold_every_place() {
    let dir = scratch("not-reading");
    let mut config = configured(
        format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display()),
        &dir,
    );
    config.max_connections = 4;
    config.write_timeout_ms = 500;
    running(&config).await;
    // Every place taken by a client that pipelines requests for a large answer and never reads
    // (a small receive buffer: the server's writes soon block).
    let pipelined = "GET /api/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".repeat(2000);
    let mut stuck = Vec::new();
    for _ in 0..4 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut stream = socket.connect(config.listen).await.unwrap();
        stream.write_all(pipelined.as_bytes()).await.unwrap();
        stuck.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let answer = tokio::time::timeout(
        Duration::from_secs(5),
        http::send(config.listen, &get("/healthz")),
    )
    .await
    .expect("clients that never read starved the server")
    .unwrap();
    assert_eq!(answer.status, 200);
    drop(stuck);
}
