//! Headless Chromium (Debian's `chromium`), driven over the DevTools protocol: open a page,
//! run JavaScript in it and read the result.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Where Chromium is; the tests need it (`.ci/run` installs it).
pub fn require_chromium() -> PathBuf {
    // Debian's /usr/bin/chromium is a wrapper script; the browser itself is under /usr/lib.
    for candidate in [
        "/usr/lib/chromium/chromium",
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
    ] {
        if Path::new(candidate).exists() {
            return PathBuf::from(candidate);
        }
    }
    panic!("headless Chromium is needed: apt-get install chromium (.ci/run does)");
}

/// A running headless Chromium with one page.
pub struct Browser {
    child: Child,
    page: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    _profile: PathBuf,
}

impl Browser {
    /// Starts Chromium with a fresh profile under `scratch` and attaches to its page.
    pub async fn start(scratch: &Path) -> Self {
        let profile = scratch.join("chromium-profile");
        std::fs::create_dir_all(&profile).expect("profile directory");
        use std::os::unix::process::CommandExt;
        let child = Command::new(require_chromium())
            // Its own process group, so that it goes with all its helpers.
            .process_group(0)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        // Chromium writes its DevTools port into the profile once it listens.
        let port_file = profile.join("DevToolsActivePort");
        let mut port = None;
        for _ in 0..300 {
            if let Ok(text) = std::fs::read_to_string(&port_file)
                && let Some(first) = text.lines().next()
                && let Ok(p) = first.trim().parse::<u16>()
            {
                port = Some(p);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let port = port.expect("chromium's DevTools port within 30 s");
        let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let mut page_url = None;
        for _ in 0..100 {
            if let Ok(body) = get_json(address, "/json/list").await
                && let Ok(targets) = serde_json::from_slice::<Vec<Value>>(&body)
                && let Some(id) = targets
                    .iter()
                    .find(|t| t["type"] == "page")
                    .and_then(|t| t["id"].as_str())
            {
                // Its own URL names `localhost`, which may resolve to ::1 where it does not listen.
                page_url = Some(format!("ws://{address}/devtools/page/{id}"));
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let page_url = page_url.expect("a page target");
        let (page, _) = tokio_tungstenite::connect_async(page_url)
            .await
            .expect("attach to the page");
        Browser {
            child,
            page,
            next_id: 0,
            _profile: profile,
        }
    }

    /// Signs in on one of the daemon's pages once its sign-in form shows (20 s at most): the
    /// pages share the form (`tenant`, `username`, `password`); an empty tenant is the
    /// operator.
    pub async fn sign_in(&mut self, tenant: &str, user: &str, password: &str) {
        let form_shown = "!!document.getElementById('login') && !document.getElementById('login').classList.contains('hidden')";
        assert_eq!(
            self.wait_for(form_shown, &json!(true), Duration::from_secs(20))
                .await,
            json!(true),
            "the sign-in form never showed"
        );
        self.eval(&format!(
            "document.getElementById('tenant').value = {tenant:?};\
             document.getElementById('username').value = {user:?};\
             document.getElementById('password').value = {password:?};\
             document.getElementById('login').requestSubmit(); true"
        ))
        .await;
    }

    /// Sends one DevTools command and returns its result.
    pub async fn command(&mut self, method: &str, params: Value) -> Value {
        match self.try_command(method, params).await {
            Ok(result) => result,
            Err(error) => panic!("{method}: {error}"),
        }
    }

    /// Sends one DevTools command: its result, or the error Chromium answered (an evaluation
    /// in a page being replaced, say).
    pub async fn try_command(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        self.next_id += 1;
        let id = self.next_id;
        let message = json!({ "id": id, "method": method, "params": params }).to_string();
        self.page
            .send(Message::Text(message.into()))
            .await
            .expect("send to chromium");
        loop {
            let message = tokio::time::timeout(Duration::from_secs(30), self.page.next())
                .await
                .expect("chromium answers within 30 s")
                .expect("chromium connection open")
                .expect("chromium message");
            if let Message::Text(text) = message {
                let value: Value = serde_json::from_str(&text).expect("JSON from chromium");
                if value["id"] == id {
                    if let Some(error) = value.get("error") {
                        return Err(error.clone());
                    }
                    return Ok(value["result"].clone());
                }
            }
        }
    }

    /// Loads `url` in the page.
    pub async fn navigate(&mut self, url: &str) {
        self.command("Page.navigate", json!({ "url": url })).await;
    }

    /// Evaluates `expression` in the page (awaiting a promise) and returns its value.
    pub async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .command(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
            )
            .await;
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("{expression}: {exception}");
        }
        result["result"]["value"].clone()
    }

    /// Evaluates `expression` until it returns `expected`, for up to `timeout`; returns the
    /// last value seen.
    pub async fn wait_for(
        &mut self,
        expression: &str,
        expected: &Value,
        timeout: Duration,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // A page still loading (or being replaced) is not there yet: asked again.
            let value = self
                .try_command(
                    "Runtime.evaluate",
                    json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
                )
                .await
                .ok()
                .filter(|result| result.get("exceptionDetails").is_none())
                .map(|result| result["result"]["value"].clone())
                .unwrap_or(Value::Null);
            if &value == expected || tokio::time::Instant::now() > deadline {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// GET over HTTP/1.1, reading the body by its Content-Length (Chromium keeps the connection).
async fn get_json(address: std::net::SocketAddr, path: &str) -> std::io::Result<Vec<u8>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(address).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    let read = async {
        loop {
            let mut chunk = [0u8; 8192];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::Error::other("closed before the body"));
            }
            raw.extend_from_slice(&chunk[..n]);
            if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if raw.len() >= end + 4 + length {
                    return Ok(raw[end + 4..end + 4 + length].to_vec());
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .map_err(|_| std::io::Error::other("timed out"))?
}

impl Drop for Browser {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
