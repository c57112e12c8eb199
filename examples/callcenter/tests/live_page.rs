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
            disabled: false,
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

/// The live page's session, as a browser meets it: a token refused before the socket opens
/// (the browser reports only 1006) asks to sign in again instead of reconnecting forever;
/// access revoked while connected leaves nothing of the tenant's calls under the sign-in
/// form; a daemon with no FreeSWITCH node connected does not say "live"; sign-out ends the
/// session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_page_signs_in_again_when_its_session_ends() {
    let dir = tests::fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), "live-page-session");
    let capture = std::fs::read(tests::fixture("esl/esl-plain.raw")).unwrap();
    let during_call = tests::node::api_responses(&capture)
        .into_iter()
        .find(|body| body.starts_with("{\"row_count\":2"))
        .unwrap();
    let node = FakeNode::start(
        "ClueCon",
        vec![Session {
            channels: during_call,
            ..Session::idle()
        }],
    )
    .await;
    // The node is configured but not running yet: nothing is connected.
    let mut config = DaemonConfig {
        database: format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display()),
        recordings_dir: dir.join("staging"),
        recordings_store: dir.join("store"),
        ..DaemonConfig::default()
    };
    config.esl.nodes = vec![NodeConfig {
        name: "fs1".into(),
        address: "127.0.0.1:1".into(),
        password: "ClueCon".into(),
    }];
    let roles = Roles {
        recordings: false,
        ..Roles::ALL
    };
    let lonely = build_roles(&config, roles).await.unwrap();
    config.database = format!("sqlite://{}?mode=rwc", dir.join("db2.sqlite").display());
    config.esl.nodes[0].address = node.address();
    // The tenant is there before the worker reads the node's calls.
    let ledger = billing::Ledger::connect(&config.database).await.unwrap();
    platform::store::PlatformStore::open(ledger.pool().clone(), ledger.backend())
        .await
        .unwrap()
        .put_tenant(&acme())
        .await
        .unwrap();
    let daemon = build_roles(&config, roles).await.unwrap();
    let ann = ApiUser {
        tenant: "acme".into(),
        username: "ann".into(),
        role: Role::Agent,
        extension: None,
    };
    for built in [&lonely, &daemon] {
        built.store.put_tenant(&acme()).await.unwrap();
        built.users().put(&ann, "ann-password").await.unwrap();
    }
    let mut addresses = Vec::new();
    for app in [lonely.app.clone(), daemon.app.clone()] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        addresses.push(listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    }
    let wait = Duration::from_secs(20);
    let mut browser = Browser::start(&dir).await;
    let sign_in = "document.getElementById('tenant').value = 'acme';\
         document.getElementById('username').value = 'ann';\
         document.getElementById('password').value = 'ann-password';\
         document.getElementById('login').requestSubmit(); true";
    // Guarded: the page may be loading when asked.
    let status = "(document.getElementById('status') || {}).textContent";
    let form_shown = "!!document.getElementById('login') && !document.getElementById('login').classList.contains('hidden')";

    // No node connected: signed in, but not "live".
    browser
        .navigate(&format!("http://{}/live", addresses[0]))
        .await;
    browser.wait_for(form_shown, &json!(true), wait).await;
    browser.eval(sign_in).await;
    let degraded = json!("no FreeSWITCH node connected");
    assert_eq!(browser.wait_for(status, &degraded, wait).await, degraded);

    // A token refused before the socket opens: sign in again, and no reconnecting.
    let live_url = format!("http://{}/live", addresses[1]);
    browser.navigate(&live_url).await;
    browser
        .eval("sessionStorage.setItem('token', 'not-a-token'); location.reload(); true")
        .await;
    let expired = json!("session expired: sign in again");
    assert_eq!(browser.wait_for(status, &expired, wait).await, expired);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        browser.eval(status).await,
        expired,
        "still asking, not retrying"
    );
    assert_eq!(browser.eval(form_shown).await, json!(true));

    // Signed in, the calls listed; access revoked (a new password): the table goes with it.
    browser.eval(sign_in).await;
    assert_eq!(
        browser.wait_for(ROWS_COUNT, &json!(2), wait).await,
        json!(2)
    );
    daemon.users().put(&ann, "a-new-password").await.unwrap();
    let revoked = json!("access revoked: sign in again");
    assert_eq!(browser.wait_for(status, &revoked, wait).await, revoked);
    assert_eq!(browser.eval(ROWS_COUNT).await, json!(0));
    assert_eq!(browser.eval(form_shown).await, json!(true));
    let content_hidden = "document.getElementById('content').classList.contains('hidden')";
    assert_eq!(browser.eval(content_hidden).await, json!(true));

    // Signed in again, then out: the token is gone and the socket closed.
    browser
        .eval(
            "document.getElementById('password').value = 'a-new-password';\
             document.getElementById('login').requestSubmit(); true",
        )
        .await;
    assert_eq!(
        browser.wait_for(status, &json!("live"), wait).await,
        json!("live")
    );
    browser
        .eval("window.oldToken = sessionStorage.getItem('token'); document.getElementById('sign-out').click(); true")
        .await;
    let signed_out = json!("signed out");
    assert_eq!(
        browser.wait_for(status, &signed_out, wait).await,
        signed_out
    );
    // Signed out on the server too: the old token is refused.
    let old_token_status = browser
        .eval("fetch('/api/session', { headers: { Authorization: 'Bearer ' + window.oldToken } }).then(r => r.status)")
        .await;
    assert_eq!(old_token_status, json!(401));
    assert_eq!(
        browser.eval("sessionStorage.getItem('token')").await,
        Value::Null
    );
    assert_eq!(browser.eval(ROWS_COUNT).await, json!(0));
    drop(browser);
    for built in [lonely, daemon] {
        if let Some(worker) = built.esl_worker {
            worker.shutdown().await;
        }
    }
}

const ROWS_COUNT: &str = "document.querySelectorAll('#calls tbody tr').length";

fn acme() -> Tenant {
    Tenant {
        tenant: "acme".into(),
        domain: "acme.example".into(),
        context: "default".into(),
        gateway: None,
        prepaid: false,
        record_calls: false,
        prepaid_slice_seconds: None,
        time_zone: None,
        disabled: false,
    }
}
