//! Load on the all-in-one daemon's HTTP roles, in one process over loopback, bounded:
//!
//! - `cdr`: N posts of the real mod_json_cdr documents (UUIDs varied, all three encodings) from
//!   C kept-alive connections into the CDR gateway on PostgreSQL (a fresh schema); CDR/s and
//!   the time to 2xx (p50, p99, max). Every CDR is checked to be in the database afterwards.
//! - `directory`: N mod_xml_curl directory lookups (the captured request, for users of a
//!   1000-extension tenant) from C connections; lookups/s and latency.
//!
//! `cargo run --release -p benches --bin platform-load -- cdr 50000 64`
//! `cargo run --release -p benches --bin platform-load -- directory 200000 64`
//! PostgreSQL: `PLATFORM_LOAD_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/test`).

use billing::{Decimal, Ledger, PlanRecord, Rounding};
use callcenter::daemon::{DaemonConfig, build};
use platform::store::{ExtensionRow, Tenant};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tests::http::Connection;

fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0
}

/// The captured posts' bodies, each with the UUID marker to vary.
fn cdr_templates() -> Vec<(String, Vec<u8>)> {
    let dir = tests::fixture("json_cdr");
    let mut templates = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".response.http") {
            continue;
        }
        let raw = std::fs::read(&path).unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let content_type = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Type: "))
            .unwrap_or("application/json")
            .to_owned();
        templates.push((content_type, raw[split + 4..].to_vec()));
    }
    templates
}

/// The posted body with a new call UUID: for raw and URL-encoded JSON the UUID is replaced
/// where it appears; base64 bodies are decoded, changed and encoded again.
fn vary(body: &[u8], n: usize) -> Vec<u8> {
    use base64::Engine;
    let cdr = billing::Cdr::parse(body, &Default::default()).unwrap();
    let new_uuid = format!("{}{:012}", &cdr.uuid[..24], n);
    let text = String::from_utf8_lossy(body);
    if let Some(encoded) = text.strip_prefix("cdr=")
        && !encoded.contains('%')
        && !encoded.starts_with('{')
    {
        let engine = base64::engine::general_purpose::STANDARD;
        if let Ok(json) = engine.decode(encoded.trim()) {
            let json = String::from_utf8_lossy(&json).replace(&cdr.uuid, &new_uuid);
            return format!("cdr={}", engine.encode(json)).into_bytes();
        }
    }
    text.replace(&cdr.uuid, &new_uuid).into_bytes()
}

/// `freeswitch:load-pw`, base64.
const FREESWITCH: &str = "ZnJlZXN3aXRjaDpsb2FkLXB3";

async fn serve(config: &DaemonConfig) -> (SocketAddr, callcenter::daemon::Daemon) {
    let daemon = build(config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = daemon.app.clone();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (address, daemon)
}

async fn run_load(
    address: SocketAddr,
    connections: usize,
    requests: Vec<Vec<u8>>,
) -> (Duration, Vec<Duration>, usize) {
    let requests = Arc::new(requests);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (requests, next) = (requests.clone(), next.clone());
        workers.spawn(async move {
            let mut connection = Connection::open(address).await.unwrap();
            let mut latencies = Vec::new();
            let mut failures = 0;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(request) = requests.get(i) else {
                    break;
                };
                let sent = Instant::now();
                match connection.request(request).await {
                    Ok(200) => latencies.push(sent.elapsed()),
                    _ => failures += 1,
                }
            }
            (latencies, failures)
        });
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    while let Some(done) = workers.join_next().await {
        let (mine, failed) = done.unwrap();
        latencies.extend(mine);
        failures += failed;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    (elapsed, latencies, failures)
}

fn report(
    kind: &str,
    count: usize,
    connections: usize,
    elapsed: Duration,
    latencies: &[Duration],
    failures: usize,
) {
    println!(
        "{}",
        serde_json::json!({
            "load": kind,
            "requests": count,
            "connections": connections,
            "ok": latencies.len(),
            "failed": failures,
            "elapsed_s": elapsed.as_secs_f64(),
            "per_second": latencies.len() as f64 / elapsed.as_secs_f64(),
            "latency_ms": {
                "p50": percentile_ms(latencies, 0.50),
                "p99": percentile_ms(latencies, 0.99),
                "max": percentile_ms(latencies, 1.0),
            },
        })
    );
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let kind = args.next().unwrap_or_else(|| "cdr".into());
    let count: usize = args.next().map_or(50_000, |a| a.parse().expect("a count"));
    let connections: usize = args
        .next()
        .map_or(64, |a| a.parse().expect("a connection count"));
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let base = std::env::var("PLATFORM_LOAD_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("load_{run}");
    let public = Ledger::connect(&base).await.expect("PostgreSQL");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(public.pool())
        .await
        .unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    let config = DaemonConfig {
        database: format!("{base}{separator}options=-c%20search_path%3D{schema}"),
        recordings_dir: std::env::temp_dir().join("platform-load-recordings"),
        ..DaemonConfig::default()
    };
    let mut config = config;
    config.cdr.default_tenant = Some("load".into());
    // FreeSWITCH's credentials, as mod_xml_curl and mod_json_cdr send them.
    for credentials in [&mut config.xml_curl, &mut config.cdr.credentials] {
        credentials.user = Some("freeswitch".into());
        credentials.password = Some("load-pw".into());
    }
    let (address, daemon) = serve(&config).await;
    daemon
        .ledger
        .save_plan(&PlanRecord {
            id: "load".into(),
            currency: "EUR".into(),
            decimals: 4,
            rounding: Rounding::HalfUp,
            utc_offset_minutes: 0,
            fallback: None,
            rates_csv: "prefix,rate_per_minute,connect_fee\n,0.0150,0.0010\n".into(),
        })
        .await
        .unwrap();
    daemon
        .ledger
        .open_account("load", "load", Decimal::ZERO)
        .await
        .unwrap();
    match kind.as_str() {
        "cdr" => {
            let templates = cdr_templates();
            let requests: Vec<Vec<u8>> = (0..count)
                .map(|i| {
                    let (content_type, body) = &templates[i % templates.len()];
                    let body = vary(body, i);
                    let mut request = format!(
                        "POST /cdr HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {FREESWITCH}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    request.extend_from_slice(&body);
                    request
                })
                .collect();
            let (elapsed, latencies, failures) = run_load(address, connections, requests).await;
            report("cdr", count, connections, elapsed, &latencies, failures);
            let stored = sqlx::query("SELECT COUNT(*) FROM cdrs")
                .fetch_one(daemon.ledger.pool())
                .await
                .unwrap();
            let stored: i64 = sqlx::Row::try_get(&stored, 0).unwrap();
            eprintln!("CDR rows in the database: {stored} (distinct uuid and leg posted: {count})");
        }
        "directory" => {
            daemon
                .store
                .put_tenant(&Tenant {
                    tenant: "load".into(),
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
            for n in 0..1000 {
                daemon
                    .store
                    .put_extension(&ExtensionRow {
                        tenant: "load".into(),
                        extension: format!("{}", 1000 + n),
                        password: None,
                        a1_hash: Some(xmlcurl::a1_hash(
                            &format!("{}", 1000 + n),
                            "127.0.0.1",
                            "pw",
                        )),
                        caller_id_name: Some(format!("Agent {n}")),
                        caller_id_number: None,
                        record_calls: false,
                    })
                    .await
                    .unwrap();
            }
            let captured =
                std::fs::read(tests::fixture("xml_curl/002_fsapi_directory.http")).unwrap();
            let split = captured.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
            let body = String::from_utf8_lossy(&captured[split + 4..]).into_owned();
            let requests: Vec<Vec<u8>> = (0..count)
                .map(|i| {
                    let user = 1000 + i % 1000;
                    let body = body.replace("user=1000", &format!("user={user}"));
                    let mut request = format!(
                        "POST /fsapi HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {FREESWITCH}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    request.extend_from_slice(body.as_bytes());
                    request
                })
                .collect();
            let (elapsed, latencies, failures) = run_load(address, connections, requests).await;
            report(
                "directory",
                count,
                connections,
                elapsed,
                &latencies,
                failures,
            );
        }
        other => panic!("unknown load {other}: cdr or directory"),
    }
    let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(public.pool())
        .await;
}
