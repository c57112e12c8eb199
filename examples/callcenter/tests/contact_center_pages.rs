//! The agent's page and the wallboard in headless Chromium, side by side, while a node plays
//! the captured mod_callcenter run (`fixtures/freeswitch/callcenter/esl-callcenter-plain.raw`,
//! its times moved to now): the answered call shows on agent 1001's page with its caller and
//! queue; 1001 goes On Break from its page (the node is told, and the captured status event
//! that followed that same command on a real FreeSWITCH comes back) and the wallboard shows
//! it; the second caller waits past the queue's threshold and its longest wait turns red;
//! when it abandons, the day's service level is 50%; click-to-call from the agent's page rings
//! the agent's extension first.

use callcenter::api::{ApiUser, Role};
use callcenter::daemon::{DaemonConfig, Roles, build_roles};
use callcenter::roles::esl_worker::NodeConfig;
use platform::store::{AgentRow, ExtensionRow, QueueRow, Tenant, TierRow};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tests::browser::Browser;
use tests::node::{EventFrame, FakeNode, Session, event_frames, substitute};
use tokio::sync::Notify;

/// The captured second caller joined at this time.
const CAPTURED_JOIN: i64 = 1_795_458_650;

/// The queue's service-level threshold, seconds.
const THRESHOLD: u32 = 3;

/// When the second caller joins, seconds after the test starts.
const JOIN_IN: i64 = 20;

const WAIT: Duration = Duration::from_secs(45);

fn position(frames: &[EventFrame], needles: &[&str], nth: usize) -> usize {
    let matching = frames.iter().enumerate().filter(|(_, f)| {
        let text = String::from_utf8_lossy(&f.bytes);
        needles.iter().all(|needle| text.contains(needle))
    });
    matching
        .map(|(i, _)| i)
        .nth(nth)
        .unwrap_or_else(|| panic!("no frame {nth} with {needles:?}"))
}

/// The capture's event times moved by `shift` seconds (same width: lengths stay right).
fn shifted(frames: Vec<EventFrame>, shift: i64) -> Vec<EventFrame> {
    let pairs: Vec<(String, String)> = (CAPTURED_JOIN - 20..=CAPTURED_JOIN + 20)
        .map(|t| (t.to_string(), (t + shift).to_string()))
        .collect();
    frames
        .into_iter()
        .map(|f| EventFrame {
            bytes: substitute(&f.bytes, &pairs),
            ..f
        })
        .collect()
}

async fn sign_in(browser: &mut Browser, url: &str, user: &str, password: &str) {
    browser.navigate(url).await;
    let ready = browser
        .wait_for(
            "document.readyState === 'complete' && !document.querySelector('#login').classList.contains('hidden')",
            &json!(true),
            WAIT,
        )
        .await;
    assert_eq!(ready, json!(true), "{url}");
    browser
        .eval(&format!(
            "document.getElementById('tenant').value = 'acme';\
             document.getElementById('username').value = '{user}';\
             document.getElementById('password').value = '{password}';\
             document.getElementById('login').requestSubmit(); true"
        ))
        .await;
    let live = browser
        .wait_for(
            "document.getElementById('status').textContent",
            &json!("live"),
            WAIT,
        )
        .await;
    assert_eq!(live, json!("live"), "{url}");
}

async fn put_the_call_center(store: &platform::store::PlatformStore) {
    store
        .put_tenant(&Tenant {
            tenant: "acme".into(),
            domain: "acme.example".into(),
            context: "acme".into(),
            gateway: None,
            prepaid: false,
            record_calls: false,
            prepaid_slice_seconds: None,
            time_zone: None,
            disabled: false,
        })
        .await
        .unwrap();
    store
        .put_queue(&QueueRow {
            tenant: "acme".into(),
            name: "support".into(),
            extension: Some("8000".into()),
            strategy: "longest-idle-agent".into(),
            moh_sound: None,
            service_level_seconds: THRESHOLD,
        })
        .await
        .unwrap();
    for (agent, position) in [("1001", 1), ("1002", 2)] {
        store
            .put_extension(&ExtensionRow {
                tenant: "acme".into(),
                extension: agent.into(),
                password: Some(format!("secret-{agent}")),
                a1_hash: None,
                caller_id_name: None,
                caller_id_number: None,
                record_calls: false,
            })
            .await
            .unwrap();
        store
            .put_agent(&AgentRow {
                tenant: "acme".into(),
                name: agent.into(),
                contact: format!("loopback/7{}/agents", &agent[1..]),
                status: "Available".into(),
            })
            .await
            .unwrap();
        store
            .put_tier(&TierRow {
                tenant: "acme".into(),
                queue: "support".into(),
                agent: agent.into(),
                level: 1,
                position,
            })
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_page_and_the_wallboard_follow_the_captured_run() {
    let dir = tests::fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), "cc-pages");
    let raw = std::fs::read(tests::fixture("callcenter/esl-callcenter-plain.raw")).unwrap();
    // The second caller joins JOIN_IN s from now: the pages are signed in by then.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let frames = shifted(event_frames(&raw), now + JOIN_IN - CAPTURED_JOIN);
    let answered = position(&frames, &["CC-Action: bridge-agent-start"], 0) + 1;
    let on_break = position(
        &frames,
        &[
            "CC-Action: agent-status-change",
            "CC-Agent: 1001%40acme",
            "On%20Break",
        ],
        0,
    );
    let abandons = position(
        &frames,
        &["CC-Action: member-queue-end", "CC-Cause: Cancel"],
        0,
    );
    let gates: Vec<Arc<Notify>> = (0..4).map(|_| Arc::new(Notify::new())).collect();
    let node = FakeNode::start(
        "ClueCon",
        vec![Session {
            events: frames,
            pause_before: vec![
                (0, gates[0].clone()),
                (answered, gates[1].clone()),
                (on_break, gates[2].clone()),
                (abandons, gates[3].clone()),
            ],
            ..Session::idle()
        }],
    )
    .await;
    let mut config = DaemonConfig {
        database: format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display()),
        recordings_dir: dir.join("staging"),
        recordings_store: dir.join("store"),
        ..DaemonConfig::default()
    };
    config.esl.nodes = vec![NodeConfig {
        name: "fs1".into(),
        address: node.address(),
        password: "ClueCon".into(),
    }];
    let roles = Roles {
        recordings: false,
        ..Roles::ALL
    };
    let daemon = build_roles(&config, roles).await.unwrap();
    put_the_call_center(&daemon.store).await;
    for (user, role, extension) in [
        ("ann", Role::Agent, Some("1001")),
        ("boss", Role::Admin, None),
    ] {
        let user = ApiUser {
            tenant: "acme".into(),
            username: user.into(),
            role,
            extension: extension.map(Into::into),
        };
        let password = format!("{}-password", user.username);
        daemon.users().put(&user, &password).await.unwrap();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = daemon.app.clone();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut agent = Browser::start(&dir.join("agent-browser")).await;
    let mut board = Browser::start(&dir.join("board-browser")).await;
    sign_in(
        &mut agent,
        &format!("http://{address}/agent"),
        "ann",
        "ann-password",
    )
    .await;
    sign_in(
        &mut board,
        &format!("http://{address}/wallboard"),
        "boss",
        "boss-password",
    )
    .await;

    // The first caller is answered by 1001: on its page, with the caller and the queue.
    gates[0].notify_one();
    let call = "[document.getElementById('call-state').textContent,\
                 document.getElementById('call-caller').textContent,\
                 document.getElementById('call-queue').textContent].join(' ')";
    let talking = json!("Talking with 0909123456 support");
    assert_eq!(agent.wait_for(call, &talking, WAIT).await, talking);
    let status_of_1001 =
        "(document.querySelector('#agents tr[data-agent=\"1001\"] .status') || {}).textContent";
    let call_of_1001 =
        "(document.querySelector('#agents tr[data-agent=\"1001\"] .call') || {}).textContent";
    let in_call = json!("0909123456 · support");
    assert_eq!(board.wait_for(call_of_1001, &in_call, WAIT).await, in_call);

    // The call ends; 1001 clicks On Break: the node is told, its status event comes back.
    gates[1].notify_one();
    let none = json!(false);
    let call_shown = "!document.getElementById('call-details').classList.contains('hidden')";
    assert_eq!(agent.wait_for(call_shown, &none, WAIT).await, none);
    agent
        .eval("document.querySelector('button[data-status=\"On Break\"]').click(); true")
        .await;
    let command = "api callcenter_config agent set status 1001@acme 'On Break'".to_owned();
    for _ in 0..300 {
        if node.log().commands.contains(&command) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(node.log().commands.contains(&command), "the node was told");
    gates[2].notify_one();
    let on_break = json!("On Break");
    assert_eq!(
        board.wait_for(status_of_1001, &on_break, WAIT).await,
        on_break
    );
    let mine = "document.getElementById('agent-status').textContent";
    assert_eq!(agent.wait_for(mine, &on_break, WAIT).await, on_break);

    // The second caller waits: red once it has waited past the threshold, not before.
    let waiting =
        "(document.querySelector('#queues tr[data-queue=\"support\"] .waiting') || {}).textContent";
    assert_eq!(board.wait_for(waiting, &json!("1"), WAIT).await, json!("1"));
    // Red exactly when it has waited past the threshold (the page redraws every second):
    // before the caller's join time it has waited nothing.
    let colour_and_wait = format!(
        "(() => {{ const cell = document.querySelector('#queues tr[data-queue=\"support\"] .longest');\
           return [cell.classList.contains('late'), Date.now() / 1000 - {join}]; }})()",
        join = now + JOIN_IN,
    );
    let seen = board.eval(&colour_and_wait).await;
    let (late_now, waited) = (seen[0].as_bool().unwrap(), seen[1].as_f64().unwrap());
    if waited < f64::from(THRESHOLD) - 1.0 {
        assert!(!late_now, "red after {waited} s");
    } else if waited > f64::from(THRESHOLD) + 1.0 {
        assert!(late_now, "not red after {waited} s");
    }
    let late = "document.querySelector('#queues tr[data-queue=\"support\"] .longest').classList.contains('late')";
    // ... and it turns red.
    assert_eq!(board.wait_for(late, &json!(true), WAIT).await, json!(true));
    let shown = "document.querySelector('#queues tr[data-queue=\"support\"] .longest').textContent";
    let text = board.eval(shown).await;
    let seconds: Vec<u64> = text
        .as_str()
        .unwrap()
        .split(':')
        .map(|p| p.parse().unwrap())
        .collect();
    assert!(
        seconds[0] * 60 + seconds[1] >= u64::from(THRESHOLD),
        "{text}"
    );

    // It abandons: nobody waits; the day's service level is 1 answered in time of 2.
    gates[3].notify_one();
    let level = "(document.querySelector('#queues tr[data-queue=\"support\"] .service-level') || {}).textContent";
    assert_eq!(
        board.wait_for(level, &json!("50%"), WAIT).await,
        json!("50%")
    );
    assert_eq!(board.eval(waiting).await, json!("0"));
    let row = "['answered', 'abandoned'].map(c => document.querySelector(`#queues tr[data-queue=\"support\"] .${c}`).textContent).join('/')";
    assert_eq!(board.eval(row).await, Value::from("1/1"));

    // Click-to-call from the agent's page: its own extension rings first.
    agent
        .eval(
            "document.getElementById('dial-to').value = '1002';\
             document.getElementById('dial').requestSubmit(); true",
        )
        .await;
    let ringing = json!("ringing your phone");
    let result = "document.getElementById('dial-result').textContent";
    assert_eq!(agent.wait_for(result, &ringing, WAIT).await, ringing);
    let originate = node
        .log()
        .commands
        .into_iter()
        .find(|c| c.starts_with("bgapi originate"))
        .expect("an originate");
    assert!(originate.contains("user/1001@acme.example"), "{originate}");

    drop((agent, board));
    if let Some(worker) = daemon.esl_worker {
        worker.shutdown().await;
    }
}
