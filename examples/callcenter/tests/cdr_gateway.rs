//! The CDR gateway over real HTTP: FreeSWITCH's captured mod_json_cdr posts replayed byte for
//! byte into the gateway, recorded in SQLite and PostgreSQL; retries charge nothing twice; bad
//! credentials and bad bodies store nothing; the database going away gives 503, and the retried
//! posts land once it is back.

use billing::{Decimal, Ledger, PlanRecord, Rounding};
use callcenter::http::basic_auth::BasicAuth;
use callcenter::roles::cdr_gateway::{GatewayConfig, GatewayMetrics, router};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tests::http;

const AUTHORIZATION: (&str, &str) = ("Authorization", "Basic ZnJlZXN3aXRjaDpjZHJwYXNz"); // freeswitch:cdrpass

/// A PostgreSQL URL whose tables live in a schema of their own: the captured CDRs keep their
/// UUIDs, and each run must see them as new.
async fn fresh_postgres(port: u16) -> String {
    let schema = unique("gw").replace('-', "_");
    let public = Ledger::connect("postgres://postgres@127.0.0.1:5432/test")
        .await
        .expect("PostgreSQL on 127.0.0.1:5432");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(public.pool())
        .await
        .unwrap();
    format!("postgres://postgres@127.0.0.1:{port}/test?options=-c%20search_path%3D{schema}")
}

/// Drops the schema of a URL made by [`fresh_postgres`], once its test has passed.
async fn drop_schema(url: &str) {
    let schema = url.rsplit("%3D").next().unwrap();
    let public = Ledger::connect("postgres://postgres@127.0.0.1:5432/test")
        .await
        .unwrap();
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(public.pool())
        .await
        .unwrap();
}

fn unique(label: &str) -> String {
    format!(
        "{label}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// The captured posts, as FreeSWITCH sent them.
fn captured_posts() -> Vec<Vec<u8>> {
    let dir = tests::fixture("json_cdr");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.to_string_lossy().ends_with(".response.http"))
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// A tenant with a plan charging 0.60/min (+0.05 connect) for everything.
async fn tenant(ledger: &Ledger) -> String {
    let plan = unique("plan");
    ledger
        .save_plan(&PlanRecord {
            id: plan.clone(),
            currency: "EUR".into(),
            decimals: 2,
            rounding: Rounding::Up,
            utc_offset_minutes: 0,
            fallback: None,
            rates_csv: "prefix,rate_per_minute,connect_fee\n,0.60,0.05\n".into(),
        })
        .await
        .unwrap();
    let tenant = unique("tenant");
    ledger
        .open_account(&tenant, &plan, Decimal::ZERO)
        .await
        .unwrap();
    tenant
}

async fn serve(ledger: Ledger, tenant: &str) -> (SocketAddr, Arc<GatewayMetrics>) {
    let config = GatewayConfig {
        max_body: 64 * 1024,
        ..GatewayConfig::new(BasicAuth::new("freeswitch", "cdrpass").unwrap())
    };
    let metrics = Arc::new(GatewayMetrics::default());
    // The captured legs name no tenant and no context of ours: the default tenant's.
    let ledger = ledger.with_default_tenant(Some(tenant.to_owned()));
    let app = router(ledger, config, metrics.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (address, metrics)
}

async fn stored(ledger: &Ledger, tenant: &str) -> usize {
    ledger
        .cdrs(tenant, i64::MIN, i64::MAX, None, 1000)
        .await
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captured_posts_are_recorded_once_however_often_they_are_retried() {
    let sqlite_path =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{}.sqlite", unique("gw")));
    let databases = [
        format!("sqlite://{}?mode=rwc", sqlite_path.display()),
        fresh_postgres(5432).await,
    ];
    for url in databases {
        let ledger = Ledger::connect(&url)
            .await
            .expect("the database (PostgreSQL must run)");
        let tenant = tenant(&ledger).await;
        let (address, metrics) = serve(ledger.clone(), &tenant).await;
        let posts = captured_posts();
        assert_eq!(posts.len(), 8);
        for post in &posts {
            let response = http::send(address, &http::with_headers(post, &[AUTHORIZATION]))
                .await
                .unwrap();
            assert_eq!(
                response.status,
                200,
                "{url}: {:?}",
                String::from_utf8_lossy(&response.body)
            );
            assert_eq!(response.body, b"OK");
        }
        assert_eq!(stored(&ledger, &tenant).await, 8, "{url}");
        let balance = ledger.balance(&tenant).await.unwrap().balance;
        // Loopback pairs (each leg names its twin) that never went out through a trunk: every
        // leg is part of its call, none charged.
        assert_eq!(balance, Decimal::ZERO, "{url}");
        let outcomes = ledger
            .cdrs(&tenant, i64::MIN, i64::MAX, None, 100)
            .await
            .unwrap();
        assert!(
            outcomes
                .iter()
                .all(|c| c.outcome == billing::CdrOutcome::PartOfCall),
            "{url}: {outcomes:?}"
        );
        // FreeSWITCH retrying every post, all at once: nothing changes.
        let mut retries = tokio::task::JoinSet::new();
        for post in posts {
            retries.spawn(async move {
                http::send(address, &http::with_headers(&post, &[AUTHORIZATION]))
                    .await
                    .unwrap()
                    .status
            });
        }
        while let Some(status) = retries.join_next().await {
            assert_eq!(status.unwrap(), 200);
        }
        assert_eq!(stored(&ledger, &tenant).await, 8, "{url}");
        assert_eq!(
            ledger.balance(&tenant).await.unwrap().balance,
            balance,
            "{url}"
        );
        assert_eq!(metrics.recorded.get(), 8);
        assert_eq!(metrics.duplicates.get(), 8);
        if url.starts_with("postgres:") {
            drop_schema(&url).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_and_bad_bodies_store_nothing() {
    let url = fresh_postgres(5432).await;
    let ledger = Ledger::connect(&url).await.unwrap();
    let tenant = tenant(&ledger).await;
    let (address, metrics) = serve(ledger.clone(), &tenant).await;
    let post = &captured_posts()[0];

    let response = http::send(address, &http::with_headers(post, &[]))
        .await
        .unwrap();
    assert_eq!(response.status, 401);
    assert!(
        response
            .header("www-authenticate")
            .unwrap()
            .starts_with("Basic")
    );
    let wrong = ("Authorization", "Basic ZnJlZXN3aXRjaDp3cm9uZw=="); // freeswitch:wrong
    let response = http::send(address, &http::with_headers(post, &[wrong]))
        .await
        .unwrap();
    assert_eq!(response.status, 401);

    let garbage = http::post("/cdr", &[AUTHORIZATION], b"cdr=%7B%22not%22%3A");
    let response = http::send(address, &garbage).await.unwrap();
    assert_eq!(response.status, 400);
    assert!(String::from_utf8_lossy(&response.body).contains("not JSON"));
    // A value forged to repeat billsec, in the ambiguous encoding: refused, never charged.
    let forged = http::post(
        "/cdr?uuid=forged",
        &[AUTHORIZATION],
        b"cdr=%7B%22variables%22%3A%7B%22uuid%22%3A%22f-1%22,%22caller_id_name%22%3A%22x%22,%22billsec%22%3A%220%22,%22billsec%22%3A%225%22%7D%7D",
    );
    let response = http::send(address, &forged).await.unwrap();
    assert_eq!(response.status, 400);
    assert!(String::from_utf8_lossy(&response.body).contains("ambiguous"));
    let no_uuid = http::post(
        "/cdr",
        &[AUTHORIZATION],
        br#"{"variables":{"billsec":"3"}}"#,
    );
    assert_eq!(http::send(address, &no_uuid).await.unwrap().status, 400);
    let huge = http::post("/cdr", &[AUTHORIZATION], &vec![b'{'; 100 * 1024]);
    assert_eq!(http::send(address, &huge).await.unwrap().status, 413);
    assert_eq!(stored(&ledger, &tenant).await, 0);
    // Each refusal counted under its reason.
    let reason = |reason: &str| {
        metrics
            .refused_by_reason
            .get_or_create(&callcenter::roles::cdr_gateway::ReasonLabel {
                reason: reason.into(),
            })
            .get()
    };
    assert_eq!(
        (
            reason("not_json"),
            reason("ambiguous"),
            reason("missing_uuid")
        ),
        (1, 1, 1)
    );
    drop_schema(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_get_503_while_the_database_is_away_and_land_when_it_returns() {
    let mut relay = tests::relay::Relay::start("127.0.0.1:5432").await;
    let url = fresh_postgres(relay.port).await;
    let ledger = Ledger::connect(&url).await.unwrap();
    let tenant = tenant(&ledger).await;
    let (address, metrics) = serve(ledger.clone(), &tenant).await;
    let posts = captured_posts();

    relay.down();
    for post in &posts[..2] {
        let response = http::send(address, &http::with_headers(post, &[AUTHORIZATION]))
            .await
            .unwrap();
        let body = String::from_utf8_lossy(&response.body);
        assert_eq!(response.status, 503, "{body:?}");
        // The database's text (hosts, ports, pool states) stays in our log.
        assert!(
            body.starts_with("database unavailable, error id "),
            "{body:?}"
        );
        assert!(
            !body.contains("127.0.0.1") && !body.contains("pool"),
            "{body:?}"
        );
    }
    relay.up().await;
    // FreeSWITCH's retries: the database may need a moment to be reachable again.
    for post in &posts {
        let mut status = 0;
        for _ in 0..20 {
            status = http::send(address, &http::with_headers(post, &[AUTHORIZATION]))
                .await
                .unwrap()
                .status;
            if status != 503 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert_eq!(status, 200);
    }
    let direct = Ledger::connect(&url.replace(&relay.port.to_string(), "5432"))
        .await
        .unwrap();
    assert_eq!(stored(&direct, &tenant).await, 8);
    assert!(metrics.unavailable.get() >= 2);
}
