//! The all-in-one daemon as a process: killed with SIGKILL in the middle of a burst of CDR
//! posts, every CDR that got a 2xx is in PostgreSQL, and re-posting everything (as FreeSWITCH
//! retries) charges nothing twice; the err-log-dir import; health and metrics.

use billing::{Decimal, Ledger, PlanRecord, Rounding};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tests::http;

const DAEMON: &str = env!("CARGO_BIN_EXE_callcenter");

fn unique(label: &str) -> String {
    format!(
        "{label}_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

fn scratch(label: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(unique(label));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn template_body() -> String {
    let raw = std::fs::read_to_string(tests::fixture(
        "json_cdr/009_cdr_encode_false_uuid_0e11178b_0a91_4f66.http",
    ))
    .unwrap();
    let body = raw.split_once("\r\n\r\n").unwrap().1;
    assert!(body.contains(TWIN_UUID));
    body.replace(TWIN_UUID, "")
}

/// The leg the template's `other_loopback_leg_uuid` names.
const TWIN_UUID: &str = "ff55e9cb-4b5a-424c-9de1-2fc9a2b681f4";

const TEMPLATE_UUID: &str = "0e11178b-0a91-4f66-91bd-12898bc1f518";

async fn plan_and_account(ledger: &Ledger, tenant: &str) {
    ledger
        .save_plan(&PlanRecord {
            id: format!("{tenant}-plan"),
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
        .open_account(tenant, &format!("{tenant}-plan"), Decimal::ZERO)
        .await
        .unwrap();
}

fn start(database: &str, port: u16, tenant: &str) -> Child {
    Command::new(DAEMON)
        .env("CALLCENTER_DATABASE", database)
        .env("CALLCENTER_LISTEN", format!("127.0.0.1:{port}"))
        .env("CALLCENTER_CDR_DEFAULT_TENANT", tenant)
        .env("CALLCENTER_CDR_USER", "freeswitch")
        .env("CALLCENTER_CDR_PASSWORD", "cdrpass")
        .env("CALLCENTER_XML_CURL_USER", "freeswitch")
        .env("CALLCENTER_XML_CURL_PASSWORD", "curlpass")
        .env("CALLCENTER_RECORDINGS_DIR", scratch("staging"))
        .env("CALLCENTER_RECORDINGS_STORE", scratch("store"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").into_bytes()
}

fn cdr_post(body: &str) -> Vec<u8> {
    http::post(
        "/cdr",
        &[
            ("Authorization", "Basic ZnJlZXN3aXRjaDpjZHJwYXNz"),
            ("Content-Type", "application/json"),
        ],
        body.as_bytes(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_killed_mid_burst_loses_no_acknowledged_cdr_and_retries_charge_once() {
    // A schema of its own, so the daemon migrates a fresh database.
    let schema = unique("daemon");
    let public = Ledger::connect("postgres://postgres@127.0.0.1:5432/test")
        .await
        .expect("PostgreSQL on 127.0.0.1:5432");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(public.pool())
        .await
        .unwrap();
    let database =
        format!("postgres://postgres@127.0.0.1:5432/test?options=-c%20search_path%3D{schema}");
    let ledger = Ledger::connect(&database).await.unwrap();
    let tenant = "burst";
    plan_and_account(&ledger, tenant).await;

    let template = template_body();
    let bodies: Vec<(String, String)> = (0..3000)
        .map(|i| {
            let uuid = format!("{}-{i:06}", &TEMPLATE_UUID[..23]);
            (uuid.clone(), template.replace(TEMPLATE_UUID, &uuid))
        })
        .collect();

    let port = tests::free_port();
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut daemon = start(&database, port, tenant);
    http::wait_healthy(address).await;

    // 32 connections posting; the daemon is killed while they are at it.
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut posters = tokio::task::JoinSet::new();
    for worker in 0..32 {
        let mine: Vec<(String, String)> = bodies.iter().skip(worker).step_by(32).cloned().collect();
        let acknowledged = acknowledged.clone();
        posters.spawn(async move {
            for (uuid, body) in mine {
                match http::send(address, &cdr_post(&body)).await {
                    Ok(response) if response.status == 200 => {
                        acknowledged.lock().unwrap().push(uuid)
                    }
                    Ok(response) => panic!("unexpected {}", response.status),
                    Err(_) => break, // the daemon is gone
                }
            }
        });
    }
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if acknowledged.lock().unwrap().len() >= 300 {
            break;
        }
    }
    daemon.kill().unwrap(); // SIGKILL
    daemon.wait().unwrap();
    while posters.join_next().await.is_some() {}
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() < bodies.len(),
        "the kill came after the burst"
    );

    let stored: std::collections::HashSet<String> = ledger
        .cdrs(tenant, i64::MIN, i64::MAX, None, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.uuid)
        .collect();
    for uuid in &acknowledged {
        assert!(stored.contains(uuid), "{uuid} got a 2xx but is not stored");
    }

    // FreeSWITCH retries everything against the restarted daemon.
    let mut daemon = start(&database, port, tenant);
    http::wait_healthy(address).await;
    let mut posters = tokio::task::JoinSet::new();
    for worker in 0..32 {
        let mine: Vec<String> = bodies
            .iter()
            .skip(worker)
            .step_by(32)
            .map(|(_, body)| body.clone())
            .collect();
        posters.spawn(async move {
            for body in mine {
                let response = http::send(address, &cdr_post(&body)).await.unwrap();
                assert_eq!(response.status, 200);
            }
        });
    }
    while let Some(done) = posters.join_next().await {
        done.unwrap();
    }
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    let stored = ledger
        .cdrs(tenant, i64::MIN, i64::MAX, None, 10_000)
        .await
        .unwrap();
    assert_eq!(stored.len(), bodies.len());
    // 1 s at 0.60/min, rounded up to the cent: 0.01 each, charged once.
    assert_eq!(
        ledger.balance(tenant).await.unwrap().balance,
        -Decimal::new(bodies.len() as i64, 2)
    );
    ledger.pool().close().await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(public.pool())
        .await
        .unwrap();
}

#[tokio::test]
async fn err_log_dir_files_are_imported_once() {
    let dir = scratch("import");
    let errlog = dir.join("err-log");
    std::fs::create_dir_all(&errlog).unwrap();
    let database = format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display());
    let ledger = Ledger::connect(&database).await.unwrap();
    plan_and_account(&ledger, "imported").await;
    let posts = std::fs::read_dir(tests::fixture("json_cdr"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.to_string_lossy().ends_with(".response.http"));
    for (i, post) in posts.enumerate() {
        let raw = std::fs::read(post).unwrap();
        let body = &raw[raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
        std::fs::write(errlog.join(format!("{i}.cdr.json")), body).unwrap();
    }
    std::fs::write(errlog.join("broken.cdr.json"), b"{not json").unwrap();
    let run = || {
        Command::new(DAEMON)
            .args(["import-cdrs"])
            .arg(&errlog)
            .env("CALLCENTER_DATABASE", &database)
            .env("CALLCENTER_RECORDINGS_DIR", dir.join("staging"))
            .env("CALLCENTER_RECORDINGS_STORE", dir.join("store"))
            .env("CALLCENTER_CDR_DEFAULT_TENANT", "imported")
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let first = run();
    assert!(!first.status.success(), "the broken file is reported");
    let summary: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(summary["recorded"], 8, "{summary}");
    assert_eq!(summary["failed"], 1);
    assert!(errlog.join("broken.cdr.json").exists());
    assert!(errlog.join("0.cdr.json.imported").exists());
    std::fs::remove_file(errlog.join("broken.cdr.json")).unwrap();
    let second = run();
    assert!(second.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(summary["recorded"], 0);
    let stored = ledger
        .cdrs("imported", i64::MIN, i64::MAX, None, 100)
        .await
        .unwrap();
    assert_eq!(stored.len(), 8);
}

#[tokio::test]
async fn health_metrics_and_demo_data() {
    let dir = scratch("health");
    let database = format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display());
    let port = tests::free_port();
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    // A recording FreeSWITCH finished: the daemon's recording worker stores it.
    std::fs::create_dir_all(dir.join("staging")).unwrap();
    let finished = recording::Job {
        wav: dir.join("staging/call-1.wav"),
        tags: recording::Tags {
            call_uuid: "call-1".into(),
            tenant: "demo".into(),
            start_epoch: Some(1_700_000_000),
            ..Default::default()
        },
    };
    let source = std::fs::read_dir(tests::fixture("recordings"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "wav"))
        .unwrap();
    std::fs::copy(source, &finished.wav).unwrap();
    finished.write_job_file().unwrap();
    let mut daemon = Command::new(DAEMON)
        .args(["serve", "--demo-data"])
        .env("CALLCENTER_RECORDINGS_SCAN_MS", "100")
        .env("CALLCENTER_DATABASE", &database)
        .env("CALLCENTER_LISTEN", format!("127.0.0.1:{port}"))
        .env("CALLCENTER_RECORDINGS_DIR", dir.join("staging"))
        .env("CALLCENTER_RECORDINGS_STORE", dir.join("store"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    http::wait_healthy(address).await;
    let directory = |authorization: Option<&str>| {
        let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
        headers.extend(authorization.map(|a| ("Authorization", a)));
        http::post(
            "/fsapi",
            &headers,
            b"section=directory&tag_name=domain&key_name=name&key_value=demo.local&user=1001&domain=demo.local",
        )
    };
    // Nobody reads a SIP credential without FreeSWITCH's credentials; the embedded default
    // generated them beside the database.
    let refused = http::send(address, &directory(None)).await.unwrap();
    assert_eq!(refused.status, 401);
    let generated = std::fs::read_to_string(dir.join("db.sqlite.freeswitch-credentials")).unwrap();
    let generated: toml::Table = toml::from_str(&generated).unwrap();
    let pair = format!(
        "{}:{}",
        generated["user"].as_str().unwrap(),
        generated["password"].as_str().unwrap()
    );
    assert!(pair.len() > 40, "a strong password: {pair}");
    let basic = format!("Basic {}", base64_encode(pair.as_bytes()));
    let wrong = format!("Basic {}", base64_encode(b"freeswitch:"));
    assert_eq!(
        http::send(address, &directory(Some(&wrong)))
            .await
            .unwrap()
            .status,
        401
    );
    let answer = http::send(address, &directory(Some(&basic))).await.unwrap();
    assert_eq!(answer.status, 200);
    let text = String::from_utf8(answer.body).unwrap();
    assert!(text.contains(r#"<user id="1001">"#), "{text}");
    assert!(text.contains(r#"<variable name="record_calls" value="true"/>"#));
    let metrics = http::send(address, &get("/metrics")).await.unwrap();
    let text = String::from_utf8(metrics.body).unwrap();
    assert!(
        text.contains(r#"callcenter_http_requests_total{endpoint="/fsapi",status="200"} 1"#),
        "{text}"
    );
    assert!(text.contains("callcenter_cdrs_recorded_total 0"));
    let stored = dir.join("store/demo/2023/11/14/call-1.mp3");
    for _ in 0..100 {
        if stored.exists() && !finished.wav.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        stored.exists() && !finished.wav.exists(),
        "the recording was not stored"
    );
    let ledger = Ledger::connect(&database).await.unwrap();
    assert_eq!(ledger.recordings("call-1").await.unwrap().len(), 1);
    // SIGTERM: a graceful stop.
    Command::new("kill")
        .arg(daemon.id().to_string())
        .status()
        .unwrap();
    let status = daemon.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn single_role_daemons_serve_only_their_role() {
    let dir = scratch("roles");
    for (binary, served, absent) in [
        (env!("CARGO_BIN_EXE_cdr-gateway"), "/cdr", "/fsapi"),
        (env!("CARGO_BIN_EXE_xmlcurl-server"), "/fsapi", "/cdr"),
    ] {
        let database = format!(
            "sqlite://{}?mode=rwc",
            dir.join(format!("{}.sqlite", served.trim_start_matches('/')))
                .display()
        );
        let port = tests::free_port();
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let mut daemon = Command::new(binary)
            .env("CALLCENTER_DATABASE", &database)
            .env("CALLCENTER_RECORDINGS_DIR", dir.join("staging"))
            .env("CALLCENTER_RECORDINGS_STORE", dir.join("store"))
            .env("CALLCENTER_LISTEN", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        http::wait_healthy(address).await;
        // Without credentials the served route refuses before reading the body; no
        // credentials were configured, so the embedded default generated them.
        let garbage = |path: &str| http::post(path, &[], b"garbage");
        assert_eq!(
            http::send(address, &garbage(served)).await.unwrap().status,
            401
        );
        assert_eq!(
            http::send(address, &garbage(absent)).await.unwrap().status,
            404
        );
        daemon.kill().unwrap();
        daemon.wait().unwrap();
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `add-did NUMBER TENANT --to ROUTE` gives the DID to the tenant and routes it; a route to
/// nothing of the tenant's is refused with the reason (the DID is the tenant's, unrouted: its
/// calls are refused), and text that is no route is refused before anything is written.
#[tokio::test]
async fn add_did_routes_a_number_to_a_tenants_target() {
    let dir = scratch("add-did");
    let database = format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display());
    let run = |args: &[&str]| {
        Command::new(DAEMON)
            .args(args)
            .env("CALLCENTER_DATABASE", &database)
            .env("CALLCENTER_RECORDINGS_DIR", dir.join("staging"))
            .env("CALLCENTER_RECORDINGS_STORE", dir.join("store"))
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    assert!(run(&["demo-data"]).status.success());
    let routed = run(&["add-did", "02873009999", "demo", "--to", "extension:1000"]);
    assert!(routed.status.success(), "{routed:?}");
    assert!(String::from_utf8_lossy(&routed.stdout).contains("routed to extension 1000"));
    let nothing = run(&["add-did", "02873009998", "demo", "--to", "menu:main"]);
    assert!(!nothing.status.success());
    assert!(
        String::from_utf8_lossy(&nothing.stderr).contains("no menu main of this tenant"),
        "{nothing:?}"
    );
    let no_route = run(&["add-did", "02873009997", "demo", "--to", "somewhere"]);
    assert!(!no_route.status.success());
    assert!(String::from_utf8_lossy(&no_route.stderr).contains("extension:NAME"));

    let ledger = Ledger::connect(&database).await.unwrap();
    let store = platform::store::PlatformStore::open(ledger.pool().clone(), ledger.backend())
        .await
        .unwrap();
    let did = store.did("02873009999").await.unwrap().unwrap();
    assert_eq!(did.tenant, "demo");
    assert_eq!(did.destination.as_deref(), Some("1000"));
    // Given to the tenant, not routed: the refused route changed nothing.
    let unrouted = store.did("02873009998").await.unwrap().unwrap();
    assert_eq!(unrouted.route, None);
    assert!(store.did("02873009997").await.unwrap().is_none());
}
