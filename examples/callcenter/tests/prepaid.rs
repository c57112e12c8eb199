//! Prepaid through the daemon, as a process on PostgreSQL (through a relay the test takes
//! down) with a capture-driven FreeSWITCH node: click-to-call to an outside number is limited
//! at the dialled number's rate on the leg that reaches it, the live balance reaches `/ws`, a
//! trunk leg that bypassed the dialplan is limited by the worker and its hold extended slice by
//! slice, and with the database down the call is refused (never sent to a static dialplan).

mod common;

use billing::{Decimal, Ledger, PlanRecord, Reservation, Rounding};
use callcenter::api::{ApiUser, Role, Users};
use common::{call, login, next_text};
use platform::store::{ExtensionRow, PlatformStore, Tenant};
use platform::variables::{ChannelVariables, HoldReference};
use serde_json::json;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use tests::http;
use tests::node::{EventFrame, FakeNode, Session};
use tests::relay::Relay;

const DAEMON: &str = env!("CARGO_BIN_EXE_callcenter");
const AUTHORIZATION: (&str, &str) = ("Authorization", "Basic ZnJlZXN3aXRjaDpjdXJscGFzcw=="); // freeswitch:curlpass
/// 1.20 a minute to UK numbers (1.00 pays 50 s), 0.60 to anything else (1.00 pays 100 s).
const RATES: &str = "prefix,rate_per_minute,connect_fee\n44,1.20,0\n,0.60,0\n";
const DIALLED: &str = "442079460000";

fn unique(label: &str) -> String {
    format!(
        "{label}{}x{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

fn rand_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
        .into()
}

fn scratch(label: &str) -> PathBuf {
    tests::fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), &unique(label))
}

fn postgres_url(port: u16) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/test")
}

/// A prepaid tenant of its own (its own context and domain), 1.00 on its account, slices of
/// 10 s, with extension 1000 and an agent on it.
async fn prepaid_tenant(ledger: &Ledger) -> (String, String) {
    let tenant = unique("pp");
    let plan = format!("{tenant}-plan");
    ledger
        .save_plan(&PlanRecord {
            id: plan.clone(),
            currency: "EUR".into(),
            decimals: 2,
            rounding: Rounding::Up,
            utc_offset_minutes: 0,
            fallback: None,
            rates_csv: RATES.into(),
        })
        .await
        .unwrap();
    ledger
        .open_account(&tenant, &plan, Decimal::ZERO)
        .await
        .unwrap();
    ledger.top_up(&tenant, Decimal::ONE, "card").await.unwrap();
    let store = PlatformStore::open(ledger.pool().clone(), ledger.backend())
        .await
        .unwrap();
    let context = format!("{tenant}-ctx");
    store
        .put_tenant(&Tenant {
            tenant: tenant.clone(),
            domain: format!("{tenant}.example"),
            context: context.clone(),
            gateway: Some("trunk".into()),
            prepaid: true,
            record_calls: false,
            prepaid_slice_seconds: Some(10),
            time_zone: None,
            disabled: false,
        })
        .await
        .unwrap();
    store
        .put_extension(&ExtensionRow {
            tenant: tenant.clone(),
            extension: "1000".into(),
            password: Some("secret-1000".into()),
            a1_hash: None,
            caller_id_name: None,
            caller_id_number: None,
            record_calls: false,
        })
        .await
        .unwrap();
    let user = ApiUser {
        tenant: tenant.clone(),
        username: "agent".into(),
        role: Role::Agent,
        extension: Some("1000".into()),
    };
    Users::new(ledger.pool().clone())
        .put(&user, &format!("{tenant}-agent-pw"))
        .await
        .unwrap();
    (tenant, context)
}

/// A plain event frame with these headers, as FreeSWITCH writes one.
fn plain_event(headers: &[(&str, String)]) -> EventFrame {
    let mut body = String::new();
    for (name, value) in headers {
        let encoded: String = value
            .bytes()
            .map(|b| match b {
                b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                other => format!("%{other:02X}"),
            })
            .collect();
        body.push_str(&format!("{name}: {encoded}\n"));
    }
    body.push('\n');
    let name = headers[0].1.clone();
    EventFrame {
        bytes: format!(
            "Content-Length: {}\nContent-Type: text/event-plain\n\n{body}",
            body.len()
        )
        .into(),
        name,
        subclass: None,
    }
}

/// A trunk leg of `tenant`'s answered `seconds_ago`, out through its gateway to `DIALLED`, that
/// did not pass our dialplan (no limit marker: a transfer, an originate to a gateway).
fn trunk_leg_answered(tenant: &str, uuid: &str, seconds_ago: u64) -> EventFrame {
    plain_event(&trunk_leg_headers(tenant, uuid, seconds_ago))
}

/// The headers of [`trunk_leg_answered`].
fn trunk_leg_headers(tenant: &str, uuid: &str, seconds_ago: u64) -> Vec<(&'static str, String)> {
    let now_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64;
    let answered = now_us - seconds_ago * 1_000_000;
    vec![
        ("Event-Name", "CHANNEL_ANSWER".into()),
        ("Unique-ID", uuid.into()),
        ("Call-Direction", "outbound".into()),
        ("Channel-State", "CS_EXCHANGE_MEDIA".into()),
        ("Answer-State", "answered".into()),
        ("Caller-Destination-Number", DIALLED.into()),
        ("Caller-Caller-ID-Number", "1000".into()),
        ("Caller-Channel-Created-Time", answered.to_string()),
        ("Caller-Channel-Answered-Time", answered.to_string()),
        ("variable_sip_gateway_name", "trunk".into()),
        ("variable_tenant_id", tenant.into()),
    ]
}

/// The trunk leg of a call our dialplan limited to 10 s and held by `hold`, answered
/// `seconds_ago`.
fn limited_leg_answered(
    tenant: &str,
    uuid: &str,
    seconds_ago: u64,
    hold: HoldReference,
) -> EventFrame {
    let (hold_header, limit_header) = (
        format!("variable_{}", ChannelVariables::HOLD),
        format!("variable_{}", ChannelVariables::LIMIT),
    );
    let mut headers: Vec<(&str, String)> = trunk_leg_headers(tenant, uuid, seconds_ago);
    headers.push((&hold_header, hold.to_string()));
    headers.push((&limit_header, "10".into()));
    plain_event(&headers)
}

fn start_daemon(database: &str, port: u16, node: &FakeNode) -> Child {
    daemon_command(database, port, node).spawn().unwrap()
}

/// The daemon's command line, environment and configuration, not started.
fn daemon_command(database: &str, port: u16, node: &FakeNode) -> Command {
    let dir = scratch("prepaid-daemon");
    let config = dir.join("callcenter.toml");
    std::fs::write(
        &config,
        format!(
            "[esl]\nprepaid_grace_ms = 1000\n\n[[esl.nodes]]\nname = \"fs1\"\naddress = \"{}\"\npassword = \"ClueCon\"\n",
            node.address()
        ),
    )
    .unwrap();
    let mut command = Command::new(DAEMON);
    command
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .env("CALLCENTER_DATABASE", database)
        .env("CALLCENTER_LISTEN", format!("127.0.0.1:{port}"))
        .env("CALLCENTER_XML_CURL_USER", "freeswitch")
        .env("CALLCENTER_XML_CURL_PASSWORD", "curlpass")
        .env("CALLCENTER_CDR_USER", "freeswitch")
        .env("CALLCENTER_CDR_PASSWORD", "cdrpass")
        .env("CALLCENTER_API_JWT_SECRET", "a prepaid test secret")
        .env("CALLCENTER_RECORDINGS_DIR", dir.join("staging"))
        .env("CALLCENTER_RECORDINGS_STORE", dir.join("store"))
        .env(
            "RUST_LOG",
            std::env::var("PREPAID_TEST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null())
        .stderr(if std::env::var_os("PREPAID_TEST_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        });
    command
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits up to 15 s for `done`; `Err` says what did not happen.
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) -> Result<(), String> {
    for _ in 0..300 {
        if done() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("{what}: not within 15 s"))
}

/// FreeSWITCH's dialplan lookup once the click-to-call's first leg `uuid` has answered and is
/// sent to `dialled` in `context`: the captured lookup, with the call's values.
fn lookup(uuid: &str, context: &str, dialled: &str) -> Vec<u8> {
    let raw = std::fs::read(tests::fixture("xml_curl/005_fsapi_dialplan.http")).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let body = String::from_utf8_lossy(&raw[split..])
        .replace(
            "Destination-Number=7777",
            &format!("Destination-Number={dialled}"),
        )
        .replace("5fb64482-cf92-420a-8fa8-de69f86686d9", uuid)
        .replace("Context=default", &format!("Context={context}"))
        .replace("user_context=default", &format!("user_context={context}"));
    http::post(
        "/fsapi",
        &[
            AUTHORIZATION,
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        body.as_bytes(),
    )
}

async fn ask(address: SocketAddr, request: &[u8]) -> String {
    let response = http::send(address, request).await.unwrap();
    assert_eq!(response.status, 200, "{:?}", response);
    String::from_utf8(response.body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn click_to_call_is_limited_at_the_dialled_rate_and_refused_with_the_database_down() {
    let direct = Ledger::connect(&postgres_url(5432))
        .await
        .expect("PostgreSQL must be running on 127.0.0.1:5432 for this test");
    let (tenant, context) = prepaid_tenant(&direct).await;
    let mut relay = Relay::start("127.0.0.1:5432").await;
    // The node plays two trunk legs that did not pass our dialplan, each when the test says.
    let (first, second) = (
        Arc::new(tokio::sync::Notify::new()),
        Arc::new(tokio::sync::Notify::new()),
    );
    // Channel UUIDs of this run only (holds are per call, across runs of this database).
    let run = format!("{:08x}", std::process::id());
    let transferred = &format!("{run}-0000-4000-8000-{:012x}", rand_nanos());
    let stranded = &format!("{run}-0000-4000-8001-{:012x}", rand_nanos());
    let node = FakeNode::start(
        "ClueCon",
        vec![Session {
            events: vec![
                trunk_leg_answered(&tenant, transferred, 4),
                trunk_leg_answered(&tenant, stranded, 0),
            ],
            pause_before: vec![(0, first.clone()), (1, second.clone())],
            ..Session::idle()
        }],
    )
    .await;
    let port = tests::free_port();
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let _daemon = Daemon(start_daemon(&postgres_url(relay.port), port, &node));
    http::wait_healthy(address).await;
    wait_until("the worker subscribes", || {
        node.log().commands.iter().any(|c| c.starts_with("event "))
    })
    .await
    .unwrap();

    // The agent watches the live balance.
    let token = login(address, &tenant, "agent").await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{address}/ws?token={token}"))
        .await
        .unwrap();
    assert_eq!(next_text(&mut ws).await["type"], "snapshot");

    // Click-to-call: FreeSWITCH rings the agent, then looks the number up in the tenant's
    // context on the agent's (answered) leg.
    let (status, placed) = call(
        address,
        "POST",
        "/api/calls",
        Some(&token),
        Some(json!({"to": DIALLED})),
    )
    .await;
    assert_eq!(status, 202, "{placed}");
    let uuid = placed["uuid"].as_str().unwrap().to_owned();
    let answer = ask(address, &lookup(&uuid, &context, DIALLED)).await;
    // 1.00 at the UK rate (1.20 a minute) is 50 s; a first slice of 10 s is held.
    assert!(
        answer.contains(r#"data="nolocal:execute_on_answer=sched_hangup +10 ALLOTTED_TIMEOUT""#),
        "{answer}"
    );
    assert!(
        answer.contains(&format!(r#"data="sofia/gateway/trunk/{DIALLED}""#)),
        "{answer}"
    );
    let holds = direct.holds(&tenant, None, 10).await.unwrap();
    assert_eq!(holds.len(), 1);
    assert_eq!(holds[0].call_uuid, uuid);
    assert_eq!(
        (holds[0].seconds, holds[0].amount),
        (10, Decimal::new(20, 2))
    );
    let changed = next_text(&mut ws).await;
    assert_eq!(changed["type"], "balance_changed", "{changed}");
    assert_eq!(changed["held"], "0.20");
    assert_eq!(changed["live_balance"], "0.80");

    // A transfer's trunk leg, answered 4 s ago without our dialplan: the worker holds its
    // first slice at the UK rate, limits it (at answer + 10 s), and extends it 5 s before the
    // slice ends, moving the limit (the new task first, then the old one removed).
    first.notify_one();
    wait_until("the worker limits the transferred leg", || {
        node.log()
            .commands
            .iter()
            .any(|c| c.contains(&format!("uuid_kill {transferred}")))
    })
    .await
    .unwrap();
    let limit = node
        .log()
        .commands
        .into_iter()
        .find(|c| c.contains(&format!("uuid_kill {transferred}")))
        .unwrap();
    assert!(
        limit.starts_with("api sched_api +")
            && limit.ends_with(&format!(
                "callcenter-limit-{transferred} uuid_kill {transferred} ALLOTTED_TIMEOUT"
            )),
        "{limit}"
    );
    wait_until("the worker extends the transferred leg's hold", || {
        node.log().commands.iter().any(|c| c == "api sched_del 1")
    })
    .await
    .unwrap_or_else(|what| panic!("{what}: the node saw {:#?}", node.log().commands));
    let transfer_hold = direct
        .holds(&tenant, None, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|h| h.call_uuid == *transferred)
        .expect("the transferred leg's hold");
    assert_eq!(transfer_hold.seconds, 20, "two slices held");
    assert_eq!(transfer_hold.amount, Decimal::new(40, 2));

    // The database goes away: the next click-to-call's lookup refuses the call at once,
    // with a clear cause, rather than answer an error FreeSWITCH would route statically.
    relay.down();
    let (status, placed) = call(
        address,
        "POST",
        "/api/calls",
        Some(&token),
        Some(json!({"to": DIALLED})),
    )
    .await;
    assert_eq!(status, 202, "{placed}");
    let started = std::time::Instant::now();
    let refused = ask(
        address,
        &lookup(placed["uuid"].as_str().unwrap(), &context, DIALLED),
    )
    .await;
    assert!(
        refused.contains(r#"application="hangup" data="SERVICE_UNAVAILABLE""#),
        "{refused}"
    );
    assert!(!refused.contains("bridge"), "{refused}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "within FreeSWITCH's timeout"
    );
    // And a trunk leg the worker cannot limit is hung up after its grace.
    second.notify_one();
    wait_until("the worker hangs up the leg it cannot limit", || {
        node.log()
            .commands
            .iter()
            .any(|c| c == &format!("api uuid_kill {stranded} SERVICE_UNAVAILABLE"))
    })
    .await
    .unwrap();
    relay.up().await;
}

/// The trunk leg of a call our dialplan held names its hold by id and by the moment it was
/// taken (`callcenter_hold`): the worker extends that hold before its slice ends. A leg whose
/// reference has a hold's id but not its moment (the id given again after a database crash
/// lost the first hold) extends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialplan_hold_is_extended_only_by_its_whole_reference() {
    let direct = Ledger::connect(&postgres_url(5432))
        .await
        .expect("PostgreSQL must be running on 127.0.0.1:5432 for this test");
    let (tenant, _) = prepaid_tenant(&direct).await;
    let run = format!("{:08x}", std::process::id());
    let leg = |kind: u32| format!("{run}-0000-4000-80{kind:02x}-{:012x}", rand_nanos());
    let (caller, trunk, other_caller, stale_trunk) = (leg(10), leg(11), leg(12), leg(13));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut held = Vec::new();
    for call in [&caller, &other_caller] {
        let reservation = direct
            .reserve(&tenant, call, DIALLED, now, Duration::from_secs(10))
            .await
            .unwrap();
        let Reservation::Held(hold) = reservation else {
            panic!("{call}: {reservation:?}");
        };
        held.push(hold);
    }
    let (hold, other) = (&held[0], &held[1]);
    let reference = HoldReference {
        id: hold.id,
        created_us: Some(hold.created_us),
    };
    let stale = HoldReference {
        id: other.id,
        created_us: Some(other.created_us + 1),
    };
    // Both answered 4 s ago: their first slices end in 6 s, extended 5 s before.
    let node = FakeNode::start(
        "ClueCon",
        vec![Session {
            events: vec![
                limited_leg_answered(&tenant, &stale_trunk, 4, stale),
                limited_leg_answered(&tenant, &trunk, 4, reference),
            ],
            ..Session::idle()
        }],
    )
    .await;
    let port = tests::free_port();
    let _daemon = Daemon(start_daemon(&postgres_url(5432), port, &node));
    http::wait_healthy(SocketAddr::from(([127, 0, 0, 1], port))).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let now = direct.hold(hold.id).await.unwrap().expect("the hold");
        if now.seconds == 20 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the hold was not extended: {now:?}; the node saw {:#?}",
            node.log().commands
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The stale leg came first and was due at the same moment: its attempt is over.
    let other_now = direct
        .hold(other.id)
        .await
        .unwrap()
        .expect("the other hold");
    assert_eq!(
        other_now.seconds, 10,
        "a stale reference extended {other_now:?}"
    );
    assert!(
        !node
            .log()
            .commands
            .iter()
            .any(|c| c.contains(&format!("uuid_kill {stale_trunk}"))),
        "the stale leg's limit was moved: {:#?}",
        node.log().commands
    );
}

/// FreeSWITCH's routes on an address (and a thread, and database connections) of their own: a
/// prepaid dialplan lookup there holds the call's first slice as on the shared address, and
/// names its hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_on_freeswitch_s_own_address_holds_the_call() {
    let direct = Ledger::connect(&postgres_url(5432))
        .await
        .expect("PostgreSQL must be running on 127.0.0.1:5432 for this test");
    let (tenant, context) = prepaid_tenant(&direct).await;
    let node = FakeNode::start("ClueCon", vec![Session::idle()]).await;
    let port = tests::free_port();
    let freeswitch_port = std::iter::repeat_with(tests::free_port)
        .find(|other| *other != port)
        .unwrap();
    let freeswitch = SocketAddr::from(([127, 0, 0, 1], freeswitch_port));
    let _daemon = Daemon(
        daemon_command(&postgres_url(5432), port, &node)
            .env("CALLCENTER_FREESWITCH_LISTEN", freeswitch.to_string())
            .spawn()
            .unwrap(),
    );
    http::wait_healthy(SocketAddr::from(([127, 0, 0, 1], port))).await;
    let uuid = format!(
        "{:08x}-0000-4000-8020-{:012x}",
        std::process::id(),
        rand_nanos()
    );
    let answer = ask(freeswitch, &lookup(&uuid, &context, DIALLED)).await;
    assert!(
        answer.contains(r#"data="nolocal:execute_on_answer=sched_hangup +10 ALLOTTED_TIMEOUT""#),
        "{answer}"
    );
    let holds = direct.holds(&tenant, None, 10).await.unwrap();
    assert_eq!(holds.len(), 1);
    assert_eq!(holds[0].call_uuid, uuid);
    assert!(
        answer.contains(&format!(
            "callcenter_hold={}-{}",
            holds[0].id, holds[0].created_us
        )),
        "{answer}"
    );
}
