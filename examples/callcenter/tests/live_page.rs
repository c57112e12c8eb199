//! The daemon's live page in headless Chromium: sign in through the form, then watch the
//! tenant's calls appear, get answered and go as a real captured call moves on.

use callcenter::api::{ApiUser, Role};
use callcenter::daemon::{DaemonConfig, Roles, build_roles};
use callcenter::roles::esl_worker::NodeConfig;
use platform::store::Tenant;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tests::browser::Browser;
use tests::node::{FakeNode, Session, event_frames};
use tokio::sync::Notify;

const ROWS: &str = "JSON.stringify([...document.querySelectorAll('#calls tbody tr')]\
    .map(r => [r.dataset.uuid, r.querySelector('.state').textContent]).sort())";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_page_follows_a_call() {
    let dir = tests::fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), "live-page");
    // The captured call, held before its first event and after its answers.
    let frames = event_frames(&std::fs::read(tests::fixture("esl/esl-plain.raw")).unwrap());
    let answered = frames
        .iter()
        .rposition(|f| f.name == "CHANNEL_ANSWER")
        .unwrap()
        + 1;
    let (start, hang_up) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let node = FakeNode::start(
        "ClueCon",
        vec![Session {
            events: frames,
            pause_before: vec![(0, start.clone()), (answered, hang_up.clone())],
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
    let daemon = build_roles(
        &config,
        Roles {
            recordings: false,
            ..Roles::ALL
        },
    )
    .await
    .unwrap();
    daemon
        .store
        .put_tenant(&Tenant {
            tenant: "acme".into(),
            domain: "acme.example".into(),
            context: "default".into(),
            gateway: None,
            prepaid: false,
            record_calls: false,
            prepaid_slice_seconds: None,
            time_zone: None,
        })
        .await
        .unwrap();
    daemon
        .users()
        .put(
            &ApiUser {
                tenant: "acme".into(),
                username: "ann".into(),
                role: Role::Agent,
                extension: None,
            },
            "ann-password",
        )
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = daemon.app.clone();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut browser = Browser::start(&dir).await;
    browser.navigate(&format!("http://{address}/live")).await;
    let ready = browser
        .wait_for(
            "document.readyState === 'complete' && !!document.querySelector('#login')",
            &json!(true),
            Duration::from_secs(20),
        )
        .await;
    assert_eq!(ready, json!(true));
    // A wrong password is shown, and nothing is listed.
    browser
        .eval(
            "document.getElementById('tenant').value = 'acme';\
             document.getElementById('username').value = 'ann';\
             document.getElementById('password').value = 'wrong';\
             document.getElementById('login').requestSubmit(); true",
        )
        .await;
    let error = browser
        .wait_for(
            "document.getElementById('login-error').textContent",
            &json!("wrong tenant, user or password"),
            Duration::from_secs(20),
        )
        .await;
    assert_eq!(error, json!("wrong tenant, user or password"));
    browser
        .eval(
            "document.getElementById('password').value = 'ann-password';\
             document.getElementById('login').requestSubmit(); true",
        )
        .await;
    let live = browser
        .wait_for(
            "document.getElementById('status').textContent",
            &json!("live"),
            Duration::from_secs(20),
        )
        .await;
    assert_eq!(live, json!("live"));
    assert_eq!(browser.eval(ROWS).await, json!("[]"));

    // The call rings and is answered: both legs listed as answered.
    start.notify_one();
    let both_answered = json!(
        "[[\"de9d1a63-359d-4c70-9c3e-368107efbe3c\",\"answered\"],\
          [\"ed22627b-4a74-4b96-b832-34a59357db96\",\"answered\"]]"
    );
    let rows = browser
        .wait_for(ROWS, &both_answered, Duration::from_secs(20))
        .await;
    assert_eq!(rows, both_answered);
    assert_eq!(
        browser
            .eval("document.getElementById('count').textContent")
            .await,
        json!("2 calls")
    );
    // A reload keeps the session and shows the same calls (from the snapshot).
    browser.navigate(&format!("http://{address}/live")).await;
    let rows = browser
        .wait_for(ROWS, &both_answered, Duration::from_secs(20))
        .await;
    assert_eq!(rows, both_answered);

    // It hangs up: the list empties.
    hang_up.notify_one();
    let rows = browser
        .wait_for(ROWS, &json!("[]"), Duration::from_secs(20))
        .await;
    assert_eq!(rows, Value::from("[]"));
    drop(browser);
    if let Some(worker) = daemon.esl_worker {
        worker.shutdown().await;
    }
}
