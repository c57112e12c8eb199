//! Recordings played in the administration page: a call's recording for the tenant's admin,
//! an unassigned one for the operator. An `<audio>` cannot send a token, so the API hands out
//! short-lived links: a ticket on this daemon for a local store (tested here end to end in
//! headless Chromium, under the page's Content-Security-Policy), a pre-signed URL on S3
//! (tested against Garage).

use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tests::http;

const DAEMON: &str = env!("CARGO_BIN_EXE_callcenter");
/// The call of the captured CDR the test posts (it lands in the demo tenant, the default).
const CALL: &str = "0e11178b-0a91-4f66-91bd-12898bc1f518";
/// The captured CDR's loopback twin, which the template leaves out.
const TWIN: &str = "ff55e9cb-4b5a-424c-9de1-2fc9a2b681f4";
const UNASSIGNED_CALL: &str = "5d1c2b7e-0000-4000-8000-00000000c0de";
const WAIT: Duration = Duration::from_secs(30);

struct Daemon {
    child: Child,
    address: SocketAddr,
    dir: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn command(dir: &Path, port: u16, config: &Path) -> Command {
    let mut command = Command::new(DAEMON);
    command
        .arg("--config")
        .arg(config)
        .env(
            "CALLCENTER_DATABASE",
            format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display()),
        )
        .env("CALLCENTER_LISTEN", format!("127.0.0.1:{port}"))
        .env("CALLCENTER_CDR_USER", "freeswitch")
        .env("CALLCENTER_CDR_PASSWORD", "cdrpass")
        .env("CALLCENTER_CDR_DEFAULT_TENANT", "demo")
        .env("CALLCENTER_XML_CURL_USER", "freeswitch")
        .env("CALLCENTER_XML_CURL_PASSWORD", "curlpass")
        .env(
            "CALLCENTER_API_JWT_SECRET",
            "playback-test-secret-0123456789",
        )
        .env("CALLCENTER_RECORDINGS_DIR", dir.join("staging"))
        .env("CALLCENTER_RECORDINGS_STORE", dir.join("store"))
        .env("CALLCENTER_RECORDINGS_SCAN_MS", "100")
        .env("RUST_LOG", "warn")
        .env_remove("CALLCENTER_NEW_PASSWORD")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// A recording FreeSWITCH finished for `tenant`'s call `uuid`, staged for the worker.
fn stage(dir: &Path, tenant: &str, uuid: &str) {
    let staging = dir.join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    let job = recording::Job {
        wav: staging.join(format!("{uuid}.wav")),
        tags: recording::Tags {
            call_uuid: uuid.into(),
            tenant: tenant.into(),
            start_epoch: Some(1_700_000_000),
            ..Default::default()
        },
    };
    let source = std::fs::read_dir(tests::fixture("recordings"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("mono_")
        })
        .unwrap();
    std::fs::copy(source, &job.wav).unwrap();
    job.write_job_file().unwrap();
}

/// The demo tenant (admin `admin`/`demo-admin`), an operator `ops`, one of the demo tenant's
/// calls with its CDR and recording, and an unassigned recording; `s3` stores them there
/// instead of in a local directory.
async fn daemon(label: &str, s3: Option<&recording::S3Config>) -> Daemon {
    let dir = tests::fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), label);
    let config = dir.join("callcenter.toml");
    let mut text = String::new();
    if let Some(s3) = s3 {
        text.push_str(&format!(
            "[recordings_s3]\nendpoint = {:?}\nbucket = {:?}\nregion = {:?}\naccess_key_id = {:?}\nsecret_access_key = {:?}\n",
            s3.endpoint.as_deref().unwrap_or_default(),
            s3.bucket,
            s3.region,
            s3.access_key_id,
            s3.secret_access_key
        ));
    }
    std::fs::write(&config, text).unwrap();
    let port = tests::free_port();
    let added = command(&dir, port, &config)
        .args(["add-operator", "ops"])
        .env("CALLCENTER_NEW_PASSWORD", "ops-password")
        .status()
        .unwrap();
    assert!(added.success());
    stage(&dir, "demo", CALL);
    stage(&dir, "", UNASSIGNED_CALL);
    let child = command(&dir, port, &config)
        .args(["serve", "--demo-data"])
        .spawn()
        .unwrap();
    let daemon = Daemon {
        child,
        address: SocketAddr::from(([127, 0, 0, 1], port)),
        dir,
    };
    http::wait_healthy(daemon.address).await;
    let raw = std::fs::read_to_string(tests::fixture(
        "json_cdr/009_cdr_encode_false_uuid_0e11178b_0a91_4f66.http",
    ))
    .unwrap();
    let body = raw.split_once("\r\n\r\n").unwrap().1.replace(TWIN, "");
    let post = http::post(
        "/cdr",
        &[
            ("Authorization", "Basic ZnJlZXN3aXRjaDpjZHJwYXNz"),
            ("Content-Type", "application/json"),
        ],
        body.as_bytes(),
    );
    let answer = http::send(daemon.address, &post).await.unwrap();
    assert_eq!(answer.status, 200);
    daemon
}

impl Daemon {
    async fn get(&self, path: &str, token: Option<&str>) -> http::Response {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![];
        if let Some(auth) = &auth {
            headers.push(("Authorization", auth.as_str()));
        }
        http::send(self.address, &http::request("GET", path, &headers, b""))
            .await
            .unwrap()
    }

    async fn send_json(&self, method: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
        let auth = format!("Bearer {token}");
        let headers = [
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ];
        let body = body.to_string();
        let request = http::request(method, path, &headers, body.as_bytes());
        let answer = http::send(self.address, &request).await.unwrap();
        let json = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        (answer.status, json)
    }

    async fn json(&self, path: &str, token: &str) -> (u16, Value) {
        let answer = self.get(path, Some(token)).await;
        let body = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        (answer.status, body)
    }

    async fn login(&self, body: Value) -> String {
        let request = http::post(
            "/api/login",
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        );
        for _ in 0..100 {
            let answer = http::send(self.address, &request).await.unwrap();
            if answer.status == 200 {
                let body: Value = serde_json::from_slice(&answer.body).unwrap();
                return body["token"].as_str().unwrap().to_owned();
            }
            // The demo data is seeded once the server listens.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no login for {body}");
    }

    /// The call's recordings once the worker has stored them.
    async fn recordings(&self, path: &str, token: &str, field: &str) -> Vec<Value> {
        for _ in 0..300 {
            let (status, body) = self.json(path, token).await;
            if status == 200 && body[field].as_array().is_some_and(|r| !r.is_empty()) {
                return body[field].as_array().unwrap().clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{path}: never listed a recording");
    }
}

/// A browser's `<audio id>` has loaded the recording: its length is known.
fn loaded(player: &str) -> String {
    format!(
        "(() => {{ const a = document.getElementById({player:?}); return a.readyState >= 1 && a.duration > 1; }})()"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recordings_play_from_a_local_store_with_tickets() {
    let daemon = daemon("playback-local", None).await;
    let admin = daemon
        .login(json!({"tenant": "demo", "username": "admin", "password": "demo-admin"}))
        .await;
    let operator = daemon
        .login(json!({"username": "ops", "password": "ops-password"}))
        .await;

    // The API: a link, played without a token, gives the stored MP3.
    let listed = daemon
        .recordings(&format!("/api/recordings/{CALL}"), &admin, "recordings")
        .await;
    let playback = listed[0]["playback"].as_str().unwrap();
    let (status, link) = daemon.json(playback, &admin).await;
    assert_eq!(status, 200, "{link}");
    let url = link["url"].as_str().unwrap();
    assert!(url.starts_with("/api/playback/"), "{url}");
    let played = daemon.get(url, None).await;
    assert_eq!(played.status, 200);
    assert_eq!(played.header("content-type"), Some("audio/mpeg"));
    let stored = std::fs::read(
        daemon
            .dir
            .join("store/demo/2023/11/14")
            .join(format!("{CALL}.mp3")),
    )
    .unwrap();
    assert_eq!(played.body, stored);
    // A player asks for parts (to seek): one range is answered 206 with that part.
    let part = http::send(
        daemon.address,
        &http::request("GET", url, &[("Range", "bytes=100-199")], b""),
    )
    .await
    .unwrap();
    assert_eq!(part.status, 206);
    assert_eq!(part.body, stored[100..200]);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 100-199/{}", stored.len()).as_str())
    );

    // A ticket dies with its user's credentials, as a token does: the agent's link stops
    // playing once the admin gives the agent a new password.
    let agent = daemon
        .login(json!({"tenant": "demo", "username": "agent", "password": "demo-agent"}))
        .await;
    let (status, agent_link) = daemon.json(playback, &agent).await;
    assert_eq!(status, 200, "{agent_link}");
    let agent_url = agent_link["url"].as_str().unwrap();
    assert_eq!(daemon.get(agent_url, None).await.status, 200);
    let (status, _) = daemon
        .send_json(
            "PUT",
            "/api/users/agent",
            &admin,
            json!({"role": "agent", "extension": "1000", "password": "a-new-agent-password"}),
        )
        .await;
    assert_eq!(status, 200);
    let mut revoked = 0;
    for _ in 0..100 {
        revoked = daemon.get(agent_url, None).await.status;
        if revoked == 404 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(revoked, 404);

    // A ticket opens nothing else: altered, it is refused; it is no bearer token; a token is
    // no ticket; an agent's or the operator's token gets no link to the tenant's recording.
    let ticket = url.trim_start_matches("/api/playback/");
    let mut altered = ticket.to_owned();
    altered.insert(ticket.len() / 2, 'x');
    assert_eq!(
        daemon
            .get(&format!("/api/playback/{altered}"), None)
            .await
            .status,
        404
    );
    assert_eq!(daemon.json("/api/balance", ticket).await.0, 401);
    assert_eq!(
        daemon
            .get(&format!("/api/playback/{admin}"), None)
            .await
            .status,
        404
    );
    assert_eq!(daemon.json(playback, &operator).await.0, 403);
    assert_eq!(
        daemon
            .json(&format!("/api/recordings/{CALL}/7/link"), &admin)
            .await
            .0,
        404
    );

    // The operator's unassigned recording has its own link; a tenant's admin gets none.
    let unassigned = daemon
        .recordings(
            "/api/operator/unassigned-recordings",
            &operator,
            "recordings",
        )
        .await;
    assert_eq!(unassigned[0]["call_uuid"], UNASSIGNED_CALL);
    let id = unassigned[0]["id"].as_i64().unwrap();
    let link_path = format!("/api/operator/unassigned-recordings/{id}/link");
    assert_eq!(daemon.json(&link_path, &admin).await.0, 403);
    let (status, link) = daemon.json(&link_path, &operator).await;
    assert_eq!(status, 200, "{link}");
    let played = daemon.get(link["url"].as_str().unwrap(), None).await;
    assert_eq!(played.status, 200);
    assert!(played.body.len() > 1000);

    // The page: the admin finds the call, lists its recordings and plays one; the operator
    // plays the unassigned one. Each <audio> loads under the page's policy.
    let mut browser = tests::browser::Browser::start(&daemon.dir).await;
    browser
        .navigate(&format!("http://{}/admin", daemon.address))
        .await;
    browser.sign_in("demo", "admin", "demo-admin").await;
    let shown = "!document.getElementById('tenant-admin').classList.contains('hidden')";
    assert_eq!(
        browser.wait_for(shown, &json!(true), WAIT).await,
        json!(true)
    );
    browser
        .eval("document.getElementById('cdr-form').requestSubmit(); true")
        .await;
    let button = "document.querySelector('#cdrs button') !== null";
    assert_eq!(
        browser.wait_for(button, &json!(true), WAIT).await,
        json!(true)
    );
    browser
        .eval("document.querySelector('#cdrs button').click(); true")
        .await;
    let play = "(() => { const b = document.querySelector('#cdrs td:last-child button'); return !!b && b.textContent.startsWith('Play'); })()";
    assert_eq!(
        browser.wait_for(play, &json!(true), WAIT).await,
        json!(true)
    );
    browser
        .eval("document.querySelector('#cdrs td:last-child button').click(); true")
        .await;
    assert_eq!(
        browser
            .wait_for(&loaded("player"), &json!(true), WAIT)
            .await,
        json!(true),
        "the tenant's recording did not load: {}",
        browser
            .eval("document.getElementById('player-result').textContent")
            .await
    );
    browser
        .eval("document.getElementById('sign-out').click(); true")
        .await;

    browser.sign_in("", "ops", "ops-password").await;
    let listed = "document.querySelector('#unassigned-recordings button') !== null";
    assert_eq!(
        browser.wait_for(listed, &json!(true), WAIT).await,
        json!(true)
    );
    browser
        .eval("document.querySelector('#unassigned-recordings button').click(); true")
        .await;
    assert_eq!(
        browser
            .wait_for(&loaded("operator-player"), &json!(true), WAIT)
            .await,
        json!(true)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recordings_play_from_s3_with_pre_signed_urls() {
    let s3 = tests::recordings::require_s3();
    let daemon = daemon("playback-s3", Some(&s3)).await;
    let admin = daemon
        .login(json!({"tenant": "demo", "username": "admin", "password": "demo-admin"}))
        .await;
    let listed = daemon
        .recordings(&format!("/api/recordings/{CALL}"), &admin, "recordings")
        .await;
    let (status, link) = daemon
        .json(listed[0]["playback"].as_str().unwrap(), &admin)
        .await;
    assert_eq!(status, 200, "{link}");
    let url = link["url"].as_str().unwrap();
    let endpoint = s3.endpoint.clone().unwrap();
    assert!(
        url.starts_with(&endpoint) && url.contains("X-Amz-Signature="),
        "{url}"
    );
    // The pre-signed URL gives the object to anyone, with no token, until it expires.
    let address: SocketAddr = endpoint.trim_start_matches("http://").parse().unwrap();
    let path = &url[endpoint.len()..];
    // The signature covers the host as the URL names it, port included.
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    let object = http::send(address, request.as_bytes()).await.unwrap();
    assert_eq!(object.status, 200);
    assert_eq!(
        object.body.len() as i64,
        listed[0]["size_bytes"].as_i64().unwrap()
    );
    // The page may play from the store's origin, and from nowhere else.
    let page = daemon.get("/admin", None).await;
    let policy = page.header("content-security-policy").unwrap().to_owned();
    assert!(
        policy.ends_with(&format!("media-src 'self' {endpoint}")),
        "{policy}"
    );
}
