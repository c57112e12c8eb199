//! Two daemons (API and ESL worker each) as one platform over PostgreSQL and NATS, with two
//! capture-driven FreeSWITCH nodes: `/ws` clients of either API see every call of both nodes
//! once; an extension written through one API is in the other's next directory lookup; when
//! the active worker of a node is killed, the standby takes the node over (within 5 s) and
//! publishes only what changed since: the calls in progress end once and never start again.

use billing::Ledger;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tests::http;
use tests::node::{EventFrame, FakeNode, Session, api_responses, event_frames, substitute};

const DAEMON: &str = env!("CARGO_BIN_EXE_callcenter");
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";
const NATS: &str = "nats://127.0.0.1:4222";
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

/// A daemon of every role on `database` and the bus, following both nodes.
async fn start(
    database: &str,
    scratch: &Path,
    prefix: &str,
    nodes: &[&FakeNode; 2],
    demo_data: bool,
) -> Daemon {
    let port = tests::free_port();
    let config = scratch.join(format!("callcenter-{port}.toml"));
    let mut toml = format!("[nats]\nprefix = \"{prefix}\"\n");
    for (name, node) in ["fs1", "fs2"].iter().zip(nodes) {
        toml.push_str(&format!(
            "[[esl.nodes]]\nname = \"{name}\"\naddress = \"{}\"\npassword = \"ClueCon\"\n",
            node.address()
        ));
    }
    std::fs::write(&config, toml).unwrap();
    let mut args = vec!["--config", config.to_str().unwrap(), "serve"];
    if demo_data {
        args.push("--demo-data");
    }
    let child = Command::new(DAEMON)
        .args(args)
        .env("CALLCENTER_DATABASE", database)
        .env("CALLCENTER_NATS_URL", NATS)
        .env(
            "CALLCENTER_RECORDINGS_NODE",
            if demo_data { "fs1" } else { "fs2" },
        )
        .env("CALLCENTER_LISTEN", format!("127.0.0.1:{port}"))
        .env("CALLCENTER_CDR_USER", "freeswitch")
        .env("CALLCENTER_CDR_PASSWORD", "cdrpass")
        .env("CALLCENTER_XML_CURL_USER", "freeswitch")
        .env("CALLCENTER_XML_CURL_PASSWORD", "curlpass")
        .env("CALLCENTER_API_JWT_SECRET", "scale-out-daemons-share-this")
        .env(
            "CALLCENTER_RECORDINGS_DIR",
            scratch.join(format!("staging-{port}")),
        )
        .env("CALLCENTER_RECORDINGS_STORE", scratch.join("store"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    http::wait_healthy(address).await;
    Daemon { child, address }
}

impl Daemon {
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

    async fn login(&self) -> String {
        let body = json!({"tenant": "demo", "username": "admin", "password": "demo-admin"});
        for _ in 0..100 {
            let (status, answer) = self.api("POST", "/api/login", None, body.clone()).await;
            if status == 200 {
                return answer["token"].as_str().unwrap().to_owned();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("cannot log in");
    }

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
}

/// A `/ws` client: what it received, in order.
#[derive(Clone, Default)]
struct Client {
    received: Arc<Mutex<Vec<Value>>>,
}

impl Client {
    async fn connect(daemon: &Daemon, token: &str) -> Self {
        let url = format!("ws://{}/ws?token={token}", daemon.address);
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let client = Client::default();
        let received = client.received.clone();
        // The snapshot first.
        let first = socket.next().await.unwrap().unwrap();
        let first: Value = serde_json::from_str(first.to_text().unwrap()).unwrap();
        assert_eq!(first["type"], "snapshot");
        tokio::spawn(async move {
            while let Some(Ok(message)) = socket.next().await {
                if let Ok(text) = message.to_text()
                    && let Ok(value) = serde_json::from_str::<Value>(text)
                {
                    received.lock().unwrap().push(value);
                }
            }
        });
        client
    }

    /// How many of each (type, call uuid) it received.
    fn counts(&self) -> HashMap<(String, String), usize> {
        let mut counts = HashMap::new();
        for event in self.received.lock().unwrap().iter() {
            let uuid = event["call"]["uuid"].as_str().unwrap_or("").to_owned();
            let kind = event["type"].as_str().unwrap_or("").to_owned();
            *counts.entry((kind, uuid)).or_default() += 1;
        }
        counts
    }

    fn count(&self, kind: &str, uuid: &str) -> usize {
        self.counts()
            .get(&(kind.to_owned(), uuid.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    /// Waits (15 s at most) until the client has every call ended.
    async fn wait_ended(&self, uuids: &[String]) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !uuids.iter().all(|uuid| self.count("call_ended", uuid) > 0) {
            assert!(
                Instant::now() < deadline,
                "not every call ended: {:#?}",
                self.received.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn seqs_in_order(&self) -> bool {
        let seqs: Vec<u64> = self
            .received
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| e["seq"].as_u64())
            .collect();
        seqs.windows(2).all(|w| w[1] == w[0] + 1)
    }
}

/// The captured call (context `default`): its events, cut after the last answer, the channel
/// list FreeSWITCH gave during it, and its two legs' UUIDs.
fn captured_call() -> (Vec<EventFrame>, Vec<EventFrame>, String, Vec<String>) {
    let raw = std::fs::read(tests::fixture("esl/esl-plain.raw")).unwrap();
    let frames = event_frames(&raw);
    let cut = frames
        .iter()
        .rposition(|f| f.name == "CHANNEL_ANSWER")
        .unwrap()
        + 1;
    let during = api_responses(&raw)
        .into_iter()
        .find(|body| body.starts_with("{\"row_count\":2"))
        .unwrap();
    let rows: Value = serde_json::from_str(&during).unwrap();
    let uuids = rows["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["uuid"].as_str().unwrap().to_owned())
        .collect();
    (
        frames[..cut].to_vec(),
        frames[cut..].to_vec(),
        during,
        uuids,
    )
}

/// The same frames with other UUIDs.
fn renamed(frames: &[EventFrame], pairs: &[(String, String)]) -> Vec<EventFrame> {
    frames
        .iter()
        .map(|frame| EventFrame {
            bytes: substitute(&frame.bytes, pairs),
            ..frame.clone()
        })
        .collect()
}

/// The node a daemon's process holds the lease of, by the lease's holder name.
async fn lease_holder(ledger: &Ledger, schema: &str, node: &str) -> Option<String> {
    sqlx::query_scalar::<_, String>(&format!(
        "SELECT holder FROM {schema}.esl_leases WHERE node = $1 AND expires_at > clock_timestamp()"
    ))
    .bind(node)
    .fetch_optional(ledger.pool())
    .await
    .unwrap()
}

fn pid_of(holder: &str) -> u32 {
    holder.split('/').nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_two_nodes_one_platform() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!("scale_out_{}_{nanos}", std::process::id());
    let prefix = format!("test{}x{}", std::process::id(), nanos % 1_000_000_000);
    let public = Ledger::connect(POSTGRES)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(public.pool())
        .await
        .unwrap();
    let nats = async_nats::connect(NATS)
        .await
        .expect("NATS on 127.0.0.1:4222");
    let database = format!("{POSTGRES}?options=-c%20search_path%3D{schema}");
    let scratch = tests::fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), "scale-out");

    // Node 1: a call answered on the first connection; on the next (the standby's) the node
    // lists it in progress, then it ends. Node 2: a whole call with other UUIDs, then idle.
    let (before, after, during, uuids) = captured_call();
    let pairs: Vec<(String, String)> = uuids
        .iter()
        .enumerate()
        .map(|(i, uuid)| (uuid.clone(), tests::node::call_uuid(2, i)))
        .collect();
    let second: Vec<String> = pairs.iter().map(|(_, to)| to.clone()).collect();
    let hold_node1 = Arc::new(tokio::sync::Notify::new());
    let node1 = FakeNode::start(
        "ClueCon",
        vec![
            Session {
                events: before.clone(),
                pause_before: vec![(0, hold_node1.clone())],
                ..Session::idle()
            },
            Session {
                channels: during,
                events: after.clone(),
                ..Session::idle()
            },
        ],
    )
    .await;
    let whole: Vec<EventFrame> = before.iter().chain(&after).cloned().collect();
    let hold_node2 = Arc::new(tokio::sync::Notify::new());
    let node2 = FakeNode::start(
        "ClueCon",
        vec![Session {
            events: renamed(&whole, &pairs),
            pause_before: vec![(0, hold_node2.clone())],
            ..Session::idle()
        }],
    )
    .await;

    let one = start(&database, &scratch, &prefix, &[&node1, &node2], true).await;
    let two = start(&database, &scratch, &prefix, &[&node1, &node2], false).await;
    // The captured call's context is the demo tenant's.
    sqlx::query(&format!(
        "UPDATE {schema}.tenants SET context = 'default' WHERE tenant = 'demo'"
    ))
    .execute(public.pool())
    .await
    .unwrap();
    let token = one.login().await;

    // An extension written through daemon 1 is in daemon 2's next lookup.
    assert!(!two.directory("2000").await.contains(r#"<user id="2000""#));
    let (status, body) = one
        .api(
            "PUT",
            "/api/extensions/2000",
            Some(&token),
            json!({"password": "phone-2000-password", "caller_id_name": null, "caller_id_number": null, "record_calls": false}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let started = Instant::now();
    while !two.directory("2000").await.contains(r#"<user id="2000""#) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "not seen within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Node 1's call starts before the clients connect: the API shows it, through either
    // daemon.
    hold_node1.notify_one();
    for daemon in [&one, &two] {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (status, body) = daemon
                .api("GET", "/api/calls", Some(&token), Value::Null)
                .await;
            assert_eq!(status, 200, "{body}");
            let listed: Vec<&str> = body["calls"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|c| c["uuid"].as_str())
                .collect();
            if uuids.iter().all(|u| listed.contains(&u.as_str())) {
                break;
            }
            assert!(Instant::now() < deadline, "{body}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // A call-center change through the daemon standing by for node 1 reaches it through its
    // active worker (over the bus), and node 2 whichever holds it.
    let holder = lease_holder(&public, &schema, "fs1")
        .await
        .expect("a lease");
    let standby = if pid_of(&holder) == one.child.id() {
        &two
    } else {
        &one
    };
    let (status, body) = standby
        .api("PUT", "/api/agents/1000", Some(&token), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["nodes"],
        json!([{"node": "fs1", "applied": true}, {"node": "fs2", "applied": true}]),
        "{body}"
    );
    for node in [&node1, &node2] {
        let log = node.log();
        assert_eq!(log.connections, 1, "one worker only connected");
        let adds = log
            .commands
            .iter()
            .filter(|c| c.starts_with("api callcenter_config agent add 1000@demo"))
            .count();
        assert_eq!(adds, 1, "{:?}", log.commands);
    }

    // One client on each API; node 2's call goes once both listen.
    let client_one = Client::connect(&one, &token).await;
    let client_two = Client::connect(&two, &token).await;
    hold_node2.notify_one();
    for client in [&client_one, &client_two] {
        client.wait_ended(&second).await;
        for uuid in &second {
            for kind in ["call_started", "call_answered", "call_ended"] {
                assert_eq!(client.count(kind, uuid), 1, "{kind} {uuid}");
            }
        }
        for uuid in &uuids {
            assert_eq!(client.count("call_started", uuid), 0, "before the clients");
        }
    }

    // The active worker of node 1 dies.
    let holder = lease_holder(&public, &schema, "fs1")
        .await
        .expect("a lease");
    let (mut victim, survivor, client) = if pid_of(&holder) == one.child.id() {
        (one, two, client_two)
    } else {
        (two, one, client_one)
    };
    assert_eq!(node1.log().connections, 1, "one worker only connected");
    victim.child.kill().unwrap();
    let killed = Instant::now();
    victim.child.wait().unwrap();
    while node1
        .log()
        .commands
        .iter()
        .filter(|c| c.starts_with("api show channels"))
        .count()
        < 2
    {
        assert!(
            killed.elapsed() < Duration::from_secs(5),
            "the standby did not take node 1 over within 5 s: {:?}",
            node1.log()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let takeover = killed.elapsed();
    eprintln!("node 1 taken over {takeover:?} after its active worker was killed");
    let holder_now = lease_holder(&public, &schema, "fs1")
        .await
        .expect("a lease");
    assert_eq!(pid_of(&holder_now), survivor.child.id());

    // The call ends once on the survivor's clients; it never starts again.
    client.wait_ended(&uuids).await;
    // Anything published twice would arrive right behind.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for uuid in &uuids {
        assert_eq!(client.count("call_ended", uuid), 1, "{uuid}");
        assert_eq!(client.count("call_started", uuid), 0, "{uuid}");
        assert_eq!(client.count("call_answered", uuid), 0, "{uuid}");
    }
    for uuid in &second {
        for kind in ["call_started", "call_answered", "call_ended"] {
            assert_eq!(
                client.count(kind, uuid),
                1,
                "{kind} {uuid} after the takeover"
            );
        }
    }
    assert!(
        client.seqs_in_order(),
        "{:#?}",
        client.received.lock().unwrap()
    );
    // Node 2 went to the survivor too (if the victim held it), with nothing to publish.
    let (status, body) = survivor
        .api("GET", "/api/calls", Some(&token), Value::Null)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["calls"], json!([]), "{body}");

    drop((victim, survivor));
    let jetstream = async_nats::jetstream::new(nats);
    for stream in ["EVENTS", "RECORDINGS"] {
        let _ = jetstream
            .delete_stream(format!("{}_{stream}", prefix.to_ascii_uppercase()))
            .await;
    }
    let _ = std::fs::remove_dir_all(&scratch);
}

/// The bus is for live events: a daemon whose NATS is down starts and serves FreeSWITCH (and
/// the API) all the same, its events waiting for the bus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_serves_freeswitch_while_nats_is_down() {
    let scratch = tests::fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), "nats-down");
    let port = tests::free_port();
    let nowhere = tests::free_port();
    let child = Command::new(DAEMON)
        .arg("serve")
        .arg("--demo-data")
        .env(
            "CALLCENTER_DATABASE",
            format!("sqlite://{}?mode=rwc", scratch.join("db.sqlite").display()),
        )
        .env("CALLCENTER_NATS_URL", format!("nats://127.0.0.1:{nowhere}"))
        .env("CALLCENTER_RECORDINGS_NODE", "fs1")
        .env("CALLCENTER_LISTEN", format!("127.0.0.1:{port}"))
        .env("CALLCENTER_CDR_USER", "freeswitch")
        .env("CALLCENTER_CDR_PASSWORD", "cdrpass")
        .env("CALLCENTER_XML_CURL_USER", "freeswitch")
        .env("CALLCENTER_XML_CURL_PASSWORD", "curlpass")
        .env("CALLCENTER_RECORDINGS_DIR", scratch.join("staging"))
        .env("CALLCENTER_RECORDINGS_STORE", scratch.join("store"))
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let daemon = Daemon {
        address: SocketAddr::from(([127, 0, 0, 1], port)),
        child,
    };
    http::wait_healthy(daemon.address).await;
    assert!(
        daemon
            .directory("1000")
            .await
            .contains(r#"<user id="1000""#)
    );
    let token = daemon.login().await;
    let (status, _) = daemon
        .api("GET", "/api/calls", Some(&token), Value::Null)
        .await;
    assert_eq!(status, 200, "the API answers from the bus's (empty) view");
    drop(daemon);
    let _ = std::fs::remove_dir_all(&scratch);
}
