//! Real bridged calls through a trunk (`fixtures/freeswitch/json_cdr_bridged/`), into the
//! daemon as FreeSWITCH 1.10.12 sent them: every post replayed byte for byte over HTTP (its
//! Content-Type and credentials as captured), every err-log-dir file imported. All are
//! answered 2xx or imported, every leg is stored under tenant `demo` (the trunk leg names no
//! tenant: its context does), and each call is charged exactly once, on the trunk leg's billsec,
//! in any order, in separate batches, and however often it is repeated.

use billing::{Cdr, CdrOutcome, Decimal, JsonCdrSettings, Ledger};
use callcenter::daemon::{Daemon, DaemonConfig, build, seed_demo_data};
use callcenter::import::import_cdrs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tests::http;

/// What the demo plan (0.02 a minute for everything) charges for the trunk leg.
fn demo_cost(trunk: &Cdr) -> Decimal {
    let plan = billing::RatePlan::from_csv(
        "demo",
        billing::Currency::new("EUR", 2).unwrap(),
        billing::Rounding::Up,
        "prefix,name,rate_per_minute,connect_fee\n,Everywhere,0.02,0\n".as_bytes(),
    )
    .unwrap();
    let charge = plan
        .rate_call(
            trunk.destination.as_deref().unwrap(),
            trunk.answered_at(),
            trunk.duration_ms(),
        )
        .unwrap();
    assert!(charge.amount.amount > Decimal::ZERO);
    charge.amount.amount
}

fn scratch(label: &str) -> PathBuf {
    tests::fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), label)
}

/// The daemon on a fresh SQLite with the demo tenant (context `demo`), FreeSWITCH's captured
/// credentials (`freeswitch:capture-pw`) and 10.00 of credit.
async fn daemon(dir: &Path) -> (Daemon, SocketAddr) {
    let mut config = DaemonConfig {
        database: format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display()),
        recordings_dir: dir.join("staging"),
        recordings_store: dir.join("store"),
        ..DaemonConfig::default()
    };
    config.cdr.credentials.user = Some("freeswitch".into());
    config.cdr.credentials.password = Some("capture-pw".into());
    let daemon = build(&config).await.unwrap();
    seed_demo_data(&daemon.ledger, &daemon.store).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = daemon.app.clone();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (daemon, address)
}

fn folders(prefix: &str) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(tests::fixture("json_cdr_bridged"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .collect();
    folders.sort();
    folders
}

fn files(folder: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

fn leg(path: &Path) -> Cdr {
    let bytes = std::fs::read(path).unwrap();
    let body = match bytes.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(at) if bytes.starts_with(b"POST ") => &bytes[at + 4..],
        _ => &bytes[..],
    };
    Cdr::parse(body, &Default::default()).unwrap()
}

/// Each call (one per folder) stored whole under `demo`, charged once on its trunk leg; the
/// sum of the charges.
async fn check_calls(ledger: &Ledger, folders: &[PathBuf]) -> Decimal {
    let mut total = Decimal::ZERO;
    for folder in folders {
        let legs: Vec<Cdr> = files(folder).iter().map(|p| leg(p)).collect();
        let trunk = legs.iter().find(|l| l.reaches_outside()).unwrap();
        let call = ledger.call("demo", &trunk.uuid).await.unwrap();
        let name = folder.display();
        assert_eq!(call.len(), 3, "{name}: every leg stored under demo");
        let charged: Vec<_> = call
            .iter()
            .filter(|r| r.outcome == CdrOutcome::Charged)
            .collect();
        assert_eq!(charged.len(), 1, "{name}: one charge per call");
        assert_eq!(charged[0].uuid, trunk.uuid, "{name}: on the trunk leg");
        assert_eq!(charged[0].billsec, trunk.billsec as i64, "{name}");
        assert_eq!(charged[0].amount, Some(demo_cost(trunk)), "{name}");
        total += demo_cost(trunk);
    }
    total
}

async fn balance(ledger: &Ledger) -> Decimal {
    ledger.balance("demo").await.unwrap().balance
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_captured_post_is_recorded_and_each_call_charged_once() {
    let dir = scratch("bridged-posts");
    let (daemon, address) = daemon(&dir).await;
    let start = balance(&daemon.ledger).await;
    let posted = folders("enc_");
    assert_eq!(posted.len(), 4);
    for (index, folder) in posted.iter().enumerate() {
        // As captured, headers and all; only `Connection: close` is added, to end each exchange.
        let mut requests: Vec<Vec<u8>> = files(folder)
            .iter()
            .map(|p| http::with_headers(&std::fs::read(p).unwrap(), &[]))
            .collect();
        if index % 2 == 1 {
            requests.reverse(); // the trunk leg first
        }
        // Each leg, then all of them again at once (FreeSWITCH retrying).
        for round in 0..2 {
            let mut sent = tokio::task::JoinSet::new();
            for request in requests.clone() {
                sent.spawn(async move { http::send(address, &request).await.unwrap() });
                if round == 0 {
                    let response = sent.join_next().await.unwrap().unwrap();
                    assert_eq!(
                        response.status,
                        200,
                        "{}: {:?}",
                        folder.display(),
                        String::from_utf8_lossy(&response.body)
                    );
                }
            }
            while let Some(response) = sent.join_next().await {
                assert_eq!(response.unwrap().status, 200, "{}", folder.display());
            }
        }
    }
    let charged = check_calls(&daemon.ledger, &posted).await;
    assert_eq!(balance(&daemon.ledger).await, start - charged);
    assert!(
        daemon
            .ledger
            .unassigned_cdrs(None, 100)
            .await
            .unwrap()
            .is_empty()
    );
    // The ambiguous form was seen, and counted.
    let metrics = http::send(address, &http::request("GET", "/metrics", &[], b""))
        .await
        .unwrap();
    let metrics = String::from_utf8_lossy(&metrics.body);
    assert!(
        metrics.contains(r#"callcenter_cdr_formats_total{encode="true",encode_values="true"} 6"#),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_err_log_dir_file_is_imported_and_each_call_charged_once() {
    let dir = scratch("bridged-import");
    let (daemon, _) = daemon(&dir).await;
    let start = balance(&daemon.ledger).await;
    let errdirs = folders("errdir_");
    assert_eq!(errdirs.len(), 3);
    let errlog = dir.join("err-log");
    std::fs::create_dir_all(&errlog).unwrap();
    for folder in &errdirs {
        for file in files(folder) {
            std::fs::copy(&file, errlog.join(file.file_name().unwrap())).unwrap();
        }
    }
    let options = billing::CdrOptions::default();
    let summary = import_cdrs(&daemon.ledger, &errlog, &options)
        .await
        .unwrap();
    assert_eq!((summary.recorded, summary.failed), (9, 0), "{summary:?}");
    assert_eq!(summary.unassigned, 0);
    let charged = check_calls(&daemon.ledger, &errdirs).await;
    assert_eq!(balance(&daemon.ledger).await, start - charged);
    // Imported files are renamed; importing the originals again changes nothing.
    for folder in &errdirs {
        for file in files(folder) {
            std::fs::copy(&file, errlog.join(file.file_name().unwrap())).unwrap();
        }
    }
    let again = import_cdrs(&daemon.ledger, &errlog, &options)
        .await
        .unwrap();
    assert_eq!((again.recorded, again.duplicates), (0, 9));
    assert_eq!(balance(&daemon.ledger).await, start - charged);
}

#[test]
fn the_shipped_deploy_file_is_the_unambiguous_encoding() {
    let deploy = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/json_cdr.conf.xml"),
    )
    .unwrap();
    let setting = |name: &str| {
        let at = deploy
            .find(&format!(r#"<param name="{name}" value=""#))
            .unwrap();
        let rest = &deploy[at + name.len() + 22..];
        rest[..rest.find('"').unwrap()].to_owned()
    };
    assert_eq!(setting("encode"), JsonCdrSettings::SHIPPED.encode.as_str());
    assert_eq!(
        setting("encode-values"),
        JsonCdrSettings::SHIPPED.encode_values.to_string()
    );
}
