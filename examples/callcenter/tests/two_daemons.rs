//! Two daemons on one PostgreSQL database, as several hosts run them: a write through one is
//! what the other serves at once (not after its caches' 60 s), because every write notifies
//! every daemon (`platform::changes`): an extension added through daemon 1's API is in daemon
//! 2's next directory lookup, and a password changed through daemon 1 ends the user's tokens
//! on daemon 2; a tenant moved to another rate plan by another process is charged by it on
//! daemon 2's next CDR.

use billing::{Decimal, Ledger, PlanRecord, Rounding};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tests::http;

const DAEMON: &str = env!("CARGO_BIN_EXE_callcenter");
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";
const FSAPI_AUTH: (&str, &str) = ("Authorization", "Basic ZnJlZXN3aXRjaDpjdXJscGFzcw=="); // freeswitch:curlpass

struct Daemon {
    child: Child,
    address: SocketAddr,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A daemon on `database`, listening on a port of its own.
async fn start(database: &str, scratch: &std::path::Path, demo_data: bool) -> Daemon {
    let port = tests::free_port();
    let mut args = vec!["serve"];
    if demo_data {
        args.push("--demo-data");
    }
    let child = Command::new(DAEMON)
        .args(args)
        .env("CALLCENTER_DATABASE", database)
        .env("CALLCENTER_LISTEN", format!("127.0.0.1:{port}"))
        .env("CALLCENTER_CDR_USER", "freeswitch")
        .env("CALLCENTER_CDR_PASSWORD", "cdrpass")
        .env("CALLCENTER_CDR_DEFAULT_TENANT", "demo")
        .env("CALLCENTER_XML_CURL_USER", "freeswitch")
        .env("CALLCENTER_XML_CURL_PASSWORD", "curlpass")
        .env("CALLCENTER_API_JWT_SECRET", "two-daemons-share-this-secret")
        .env(
            "CALLCENTER_RECORDINGS_DIR",
            scratch.join(format!("staging-{port}")),
        )
        .env("CALLCENTER_RECORDINGS_STORE", scratch.join("store"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    http::wait_healthy(address).await;
    Daemon { child, address }
}

impl Daemon {
    /// FreeSWITCH's directory lookup of `user` in the demo tenant's domain.
    async fn directory(&self, user: &str) -> String {
        let form = format!(
            "section=directory&tag_name=domain&key_name=name&key_value=demo.local&user={user}&domain=demo.local"
        );
        let request = http::post(
            "/fsapi",
            &[
                FSAPI_AUTH,
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            form.as_bytes(),
        );
        let answer = http::send(self.address, &request).await.unwrap();
        assert_eq!(answer.status, 200);
        String::from_utf8(answer.body).unwrap()
    }

    async fn api(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (u16, Value) {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(auth) = &auth {
            headers.push(("Authorization", auth.as_str()));
        }
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let request = http::request(method, path, &headers, body.as_bytes());
        let answer = http::send(self.address, &request).await.unwrap();
        (
            answer.status,
            serde_json::from_slice(&answer.body).unwrap_or(Value::Null),
        )
    }

    async fn login(&self, user: &str, password: &str) -> String {
        let body = json!({"tenant": "demo", "username": user, "password": password});
        for _ in 0..100 {
            let (status, answer) = self.api("POST", "/api/login", None, body.clone()).await;
            if status == 200 {
                return answer["token"].as_str().unwrap().to_owned();
            }
            // The demo data is seeded once the first daemon listens.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{user} cannot log in");
    }
}

/// Asks `check` until it holds, for 5 s at most (the caches' TTL is 60 s); how long it took.
async fn within_seconds(mut check: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "not seen within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_one_daemon_is_served_by_the_other_at_once() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!("two_daemons_{}_{nanos}", std::process::id());
    let public = Ledger::connect(POSTGRES)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(public.pool())
        .await
        .unwrap();
    let database = format!("{POSTGRES}?options=-c%20search_path%3D{schema}");
    let scratch = tests::fresh_dir(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")),
        "two-daemons",
    );
    let one = start(&database, &scratch, true).await;
    let two = start(&database, &scratch, false).await;
    let admin = one.login("admin", "demo-admin").await;

    // Daemon 2 looks for extension 2000 (and caches that there is none), then daemon 1's API
    // adds it.
    assert!(!two.directory("2000").await.contains(r#"<user id="2000""#));
    let (status, body) = one
        .api(
            "PUT",
            "/api/extensions/2000",
            Some(&admin),
            json!({"password": "phone-2000-password", "caller_id_name": null, "caller_id_number": null, "record_calls": false}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    within_seconds(async || two.directory("2000").await.contains(r#"<user id="2000""#)).await;

    // The agent's token works on both; a new password set through daemon 1 ends it on 2.
    let agent = two.login("agent", "demo-agent").await;
    assert_eq!(
        two.api("GET", "/api/balance", Some(&agent), Value::Null)
            .await
            .0,
        200
    );
    let (status, body) = one
        .api(
            "PUT",
            "/api/users/agent",
            Some(&admin),
            json!({"role": "agent", "extension": "1000", "password": "another-agent-password"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    within_seconds(async || {
        two.api("GET", "/api/balance", Some(&agent), Value::Null)
            .await
            .0
            == 401
    })
    .await;
    drop((one, two));
    let _ = std::fs::remove_dir_all(&scratch);
}

/// A captured CDR (`encode=false`) as call `uuid`.
fn cdr(uuid: &str) -> Vec<u8> {
    const CAPTURED: &str = "0e11178b-0a91-4f66-91bd-12898bc1f518";
    const TWIN: &str = "ff55e9cb-4b5a-424c-9de1-2fc9a2b681f4";
    let raw = std::fs::read_to_string(tests::fixture(
        "json_cdr/009_cdr_encode_false_uuid_0e11178b_0a91_4f66.http",
    ))
    .unwrap();
    let body = raw.split_once("\r\n\r\n").unwrap().1;
    let body = body.replace(TWIN, "").replace(CAPTURED, uuid);
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
async fn a_plan_changed_elsewhere_rates_the_next_call() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!("two_daemons_plans_{}_{nanos}", std::process::id());
    let public = Ledger::connect(POSTGRES)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(public.pool())
        .await
        .unwrap();
    let database = format!("{POSTGRES}?options=-c%20search_path%3D{schema}");
    let scratch = tests::fresh_dir(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")),
        "two-daemons-plans",
    );
    let one = start(&database, &scratch, true).await;
    let two = start(&database, &scratch, false).await;
    let charged = async |uuid: &str| -> Decimal {
        let ledger = Ledger::connect(&database).await.unwrap();
        let legs = ledger.call("demo", uuid).await.unwrap();
        legs.iter().filter_map(|leg| leg.amount).sum()
    };
    // Daemon 2 charges a call on the demo plan (0.02/min), and keeps the account's plan.
    let answer = http::send(two.address, &cdr("11111111-0a91-4f66-91bd-12898bc1f518"))
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    let cheap = charged("11111111-0a91-4f66-91bd-12898bc1f518").await;
    assert!(cheap > Decimal::ZERO, "{cheap}");

    // Another process (the command line, say) moves the tenant to a dearer plan.
    let elsewhere = Ledger::connect(&database).await.unwrap();
    elsewhere
        .save_plan(&PlanRecord {
            id: "premium".into(),
            currency: "EUR".into(),
            decimals: 2,
            rounding: Rounding::Up,
            utc_offset_minutes: 0,
            fallback: None,
            rates_csv: "prefix,name,rate_per_minute,connect_fee\n,Everywhere,60.00,0\n".into(),
        })
        .await
        .unwrap();
    elsewhere
        .open_account("demo", "premium", Decimal::ZERO)
        .await
        .unwrap();
    // Daemon 2's next call is charged on it (3000 times the demo plan's rate; rounded up to the cent).
    let mut dear = Decimal::ZERO;
    let started = Instant::now();
    for attempt in 0.. {
        let uuid = format!("{attempt:08x}-0a91-4f66-91bd-000000000002");
        let answer = http::send(two.address, &cdr(&uuid)).await.unwrap();
        assert_eq!(answer.status, 200);
        dear = charged(&uuid).await;
        if dear >= cheap * Decimal::from(50) || started.elapsed() > Duration::from_secs(5) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        dear >= cheap * Decimal::from(50),
        "still charged {dear} after 5 s (was {cheap})"
    );
    drop((one, two));
    let _ = std::fs::remove_dir_all(&scratch);
}
