//! A fresh daemon with no demo data taken from empty to a tenant that places and receives
//! calls, once with the command line only and once with the API only (the first operator
//! comes from the command line, as it must): rate plan, trunk, tenant with its account, SIP
//! extension, DID, credit and admin user; then FreeSWITCH's lookups, replayed as captured,
//! get the extension's credentials, the trunk as a gateway, the call out through it (prepaid,
//! limited) and the DID's call to the extension.

use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;
use tests::http;

const DAEMON: &str = env!("CARGO_BIN_EXE_callcenter");
const FSAPI_AUTH: (&str, &str) = ("Authorization", "Basic ZnJlZXN3aXRjaDpjdXJscGFzcw=="); // freeswitch:curlpass
const DID: &str = "02873001234";
const PLAN_CSV: &str =
    "prefix,name,rate_per_minute,connect_fee\n,Everywhere,0.06,0\n44,UK,0.02,0\n";

struct Fresh {
    dir: PathBuf,
    database: String,
    port: u16,
}

impl Drop for Fresh {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn fresh(label: &str) -> Fresh {
    let dir = tests::fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), label);
    let database = format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    Fresh {
        dir,
        database,
        port,
    }
}

impl Fresh {
    fn command(&self, args: &[&str], password: Option<&str>) -> Command {
        let mut command = Command::new(DAEMON);
        command
            .args(args)
            .env("CALLCENTER_DATABASE", &self.database)
            .env("CALLCENTER_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("CALLCENTER_CDR_USER", "freeswitch")
            .env("CALLCENTER_CDR_PASSWORD", "cdrpass")
            .env("CALLCENTER_XML_CURL_USER", "freeswitch")
            .env("CALLCENTER_XML_CURL_PASSWORD", "curlpass")
            .env("CALLCENTER_API_JWT_SECRET", "administration-test-secret")
            .env("CALLCENTER_RECORDINGS_DIR", self.dir.join("staging"))
            .env("CALLCENTER_RECORDINGS_STORE", self.dir.join("store"))
            .env("RUST_LOG", "warn")
            .env_remove("CALLCENTER_NEW_PASSWORD")
            .stdin(Stdio::null());
        if let Some(password) = password {
            command.env("CALLCENTER_NEW_PASSWORD", password);
        }
        command
    }

    /// Runs a one-shot command; its output.
    fn run(&self, args: &[&str], password: Option<&str>) -> Output {
        self.command(args, password).output().unwrap()
    }

    /// Runs a one-shot command that must succeed; its standard output.
    fn ok(&self, args: &[&str], password: Option<&str>) -> String {
        let output = self.run(args, password);
        assert!(
            output.status.success(),
            "callcenter {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// The daemon, serving, once it answers.
    async fn serve(&self) -> Serving {
        let child = self
            .command(&["serve"], None)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let serving = Serving {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], self.port)),
        };
        for _ in 0..300 {
            let probe = http::request("GET", "/healthz", &[], b"");
            if http::send(serving.address, &probe)
                .await
                .is_ok_and(|r| r.status == 200)
            {
                return serving;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the daemon never answered /healthz");
    }
}

struct Serving {
    child: Child,
    address: SocketAddr,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serving {
    async fn fsapi(&self, form: &str) -> String {
        let request = http::post(
            "/fsapi",
            &[
                FSAPI_AUTH,
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            form.as_bytes(),
        );
        let response = http::send(self.address, &request).await.unwrap();
        assert_eq!(response.status, 200);
        String::from_utf8(response.body).unwrap()
    }

    /// A captured lookup replayed byte for byte.
    async fn captured(&self, name: &str) -> String {
        let raw = std::fs::read(tests::fixture(&format!("xml_curl/{name}"))).unwrap();
        let request = http::with_headers(&raw, &[FSAPI_AUTH]);
        let response = http::send(self.address, &request).await.unwrap();
        assert_eq!(response.status, 200);
        String::from_utf8(response.body).unwrap()
    }

    async fn api(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(auth) = &auth {
            headers.push(("Authorization", auth));
        }
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        self.send(method, path, &headers, body.as_bytes()).await
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Value) {
        let response = http::send(self.address, &http::request(method, path, headers, body))
            .await
            .unwrap();
        let json = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        (response.status, json)
    }

    async fn login(&self, body: Value) -> String {
        let (status, answer) = self.api("POST", "/api/login", None, Some(body)).await;
        assert_eq!(status, 200, "{answer}");
        answer["token"].as_str().unwrap().to_owned()
    }
}

/// What FreeSWITCH is told for tenant `acme` (domain 127.0.0.1 and context `default`, as the
/// captured lookups have them): extension 1000 with its credential, the trunk as a gateway of
/// profile `external`, a call out through it limited by the prepaid credit, and the DID's
/// call sent to extension 1000.
async fn freeswitch_can_place_and_receive_calls(daemon: &Serving) {
    // The phone registers: captured directory lookup of 1000@127.0.0.1.
    let directory = daemon.captured("002_fsapi_directory.http").await;
    let hash = xmlcurl::a1_hash("1000", "127.0.0.1", "phone-1000-pw");
    assert!(
        directory.contains(&format!(r#"name="a1-hash" value="{hash}""#)),
        "{directory}"
    );
    assert!(
        directory.contains(r#"name="user_context" value="default""#),
        "{directory}"
    );
    // The profile asks for its gateways (at start and on rescan).
    let gateways = daemon
        .fsapi(&format!(
            "hostname=fs1&section=directory&tag_name=domain&key_name=name&key_value={}&purpose=gateways&profile=external",
            platform::trunks::GATEWAYS_DOMAIN
        ))
        .await;
    assert!(
        gateways.contains(r#"<gateway name="carrier">"#),
        "{gateways}"
    );
    assert!(
        gateways.contains(r#"name="proxy" value="sip.carrier.example:5060""#),
        "{gateways}"
    );
    assert!(
        gateways.contains(r#"name="password" value="carrier-secret""#),
        "{gateways}"
    );
    assert!(
        gateways.contains(r#"name="register" value="true""#),
        "{gateways}"
    );
    let other_profile = daemon
        .fsapi(&format!(
            "section=directory&tag_name=domain&key_name=name&key_value={}&purpose=gateways&profile=internal",
            platform::trunks::GATEWAYS_DOMAIN
        ))
        .await;
    assert!(!other_profile.contains("<gateway"), "{other_profile}");
    // A call out: the captured dialplan lookup of 7777 in context default.
    let out = daemon.captured("005_fsapi_dialplan.http").await;
    assert!(out.contains("sofia/gateway/carrier/7777"), "{out}");
    assert!(
        out.contains("ALLOTTED_TIMEOUT"),
        "prepaid: the call is limited: {out}"
    );
    // A call in, to the DID, from the trunk.
    let form = format!(
        "section=dialplan&Hunt-Context=public&Hunt-Destination-Number={DID}&Unique-ID=3f0c6a1e-0000-4000-8000-000000000009"
    );
    let inbound = daemon.fsapi(&form).await;
    assert!(inbound.contains(r#"data="1000 XML default""#), "{inbound}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_daemon_is_taken_to_calls_with_the_command_line_only() {
    let f = fresh("administration-cli");
    let plan = f.dir.join("retail.csv");
    // A bad row is refused with its line, and nothing is stored.
    std::fs::write(&plan, format!("{PLAN_CSV}49,Germany,ten cents,0\n")).unwrap();
    let refused = f.run(
        &[
            "plan",
            "import",
            "retail",
            plan.to_str().unwrap(),
            "--currency",
            "EUR",
        ],
        None,
    );
    assert!(!refused.status.success());
    let error = String::from_utf8_lossy(&refused.stderr);
    assert!(error.contains("line 4"), "{error}");
    assert_eq!(f.ok(&["plan", "list"], None), "");

    std::fs::write(&plan, PLAN_CSV).unwrap();
    f.ok(
        &[
            "plan",
            "import",
            "retail",
            plan.to_str().unwrap(),
            "--currency",
            "EUR",
        ],
        None,
    );
    assert_eq!(f.ok(&["plan", "list"], None), "retail\tEUR\t2\n");
    // A tenant cannot name a trunk that does not exist.
    let refused = f.run(
        &[
            "tenant",
            "add",
            "acme",
            "--domain",
            "127.0.0.1",
            "--context",
            "default",
            "--plan",
            "retail",
            "--trunk",
            "carrier",
        ],
        None,
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no trunk"));
    f.ok(
        &[
            "trunk",
            "add",
            "carrier",
            "--proxy",
            "sip.carrier.example:5060",
            "--username",
            "acct-1",
            "--register",
        ],
        Some("carrier-secret"),
    );
    let trunks = f.ok(&["trunk", "list"], None);
    assert_eq!(
        trunks,
        "carrier\texternal\tsip.carrier.example:5060\tregisters\n"
    );
    assert!(!trunks.contains("carrier-secret"));
    f.ok(
        &[
            "tenant",
            "add",
            "acme",
            "--domain",
            "127.0.0.1",
            "--context",
            "default",
            "--plan",
            "retail",
            "--prepaid",
            "--trunk",
            "carrier",
        ],
        None,
    );
    f.ok(
        &[
            "extension",
            "add",
            "acme",
            "1000",
            "--caller-id-name",
            "Front desk",
        ],
        Some("phone-1000-pw"),
    );
    f.ok(&["add-did", DID, "acme", "--to", "extension:1000"], None);
    // Amounts are the currency's; a reference is one payment.
    let refused = f.run(&["topup", "acme", "0.001", "--reference", "pay-1"], None);
    assert!(!refused.status.success());
    assert!(
        f.ok(&["topup", "acme", "20.00", "--reference", "pay-1"], None)
            .contains("balance 20.00")
    );
    assert!(
        f.ok(&["topup", "acme", "20.00", "--reference", "pay-1"], None)
            .contains("balance 20.00")
    );
    let refused = f.run(&["topup", "acme", "25.00", "--reference", "pay-1"], None);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("already used"));
    f.ok(
        &["user", "add", "acme", "boss", "admin"],
        Some("boss-password"),
    );
    let shown: Value = serde_json::from_str(&f.ok(&["tenant", "show", "acme"], None)).unwrap();
    assert_eq!(shown["balance"], "20.00");
    assert_eq!(shown["rate_plan"], "retail");
    assert_eq!(shown["trunk"], "carrier");
    assert_eq!(
        f.ok(&["tenant", "list"], None),
        "acme\t127.0.0.1\tdefault\n"
    );

    let daemon = f.serve().await;
    freeswitch_can_place_and_receive_calls(&daemon).await;
    let token = daemon
        .login(json!({"tenant": "acme", "username": "boss", "password": "boss-password"}))
        .await;
    let (status, balance) = daemon.api("GET", "/api/balance", Some(&token), None).await;
    assert_eq!(status, 200);
    assert_eq!(balance["balance"], "20.00");
    drop(daemon);

    // Disabled: its phones are not served and its DID refuses calls; the data stays.
    assert!(
        f.ok(&["tenant", "disable", "acme"], None)
            .contains("disabled")
    );
    assert_eq!(
        f.ok(&["tenant", "list"], None),
        "acme\t127.0.0.1\tdefault (disabled)\n"
    );
    let daemon = f.serve().await;
    let directory = daemon.captured("002_fsapi_directory.http").await;
    assert!(directory.contains(r#"status="not found""#), "{directory}");
    let form = format!("section=dialplan&Hunt-Context=public&Hunt-Destination-Number={DID}");
    let inbound = daemon.fsapi(&form).await;
    assert!(inbound.contains("UNALLOCATED_NUMBER"), "{inbound}");
    // A trunk a tenant uses stays.
    drop(daemon);
    let refused = f.run(&["trunk", "remove", "carrier"], None);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("tenant acme still uses it"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_daemon_is_taken_to_calls_with_the_api_only() {
    let f = fresh("administration-api");
    // The first operator can only come from the host.
    f.ok(&["add-operator", "ops"], Some("ops-password"));
    let daemon = f.serve().await;
    let ops = daemon
        .login(json!({"username": "ops", "password": "ops-password"}))
        .await;

    // A rate plan upload: a bad row is refused with its line.
    let csv = |body: &str| body.as_bytes().to_vec();
    let auth = format!("Bearer {ops}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "text/csv"),
    ];
    let (status, body) = daemon
        .send(
            "PUT",
            "/api/operator/plans/retail?currency=EUR&decimals=2",
            &headers,
            &csv(&format!("{PLAN_CSV}49,Germany,-1,0\n")),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("line 4"), "{body}");
    let (status, body) = daemon
        .send(
            "PUT",
            "/api/operator/plans/retail?currency=EUR&decimals=2",
            &headers,
            &csv(PLAN_CSV),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, plans) = daemon
        .api("GET", "/api/operator/plans", Some(&ops), None)
        .await;
    assert_eq!(
        plans["plans"],
        json!([{"id": "retail", "currency": "EUR", "decimals": 2}])
    );

    let trunk = json!({"profile": "external", "proxy": "sip.carrier.example:5060", "realm": null,
        "username": "acct-1", "password": "carrier-secret", "register": true, "from_domain": null,
        "caller_id_in_from": false, "expire_seconds": 3600, "retry_seconds": 30});
    let (status, body) = daemon
        .api(
            "PUT",
            "/api/operator/trunks/carrier",
            Some(&ops),
            Some(trunk),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["has_password"], true);
    assert!(!body.to_string().contains("carrier-secret"), "{body}");
    let tenant = json!({"domain": "127.0.0.1", "context": "default", "rate_plan": "retail",
        "prepaid": true, "credit_limit": "0", "record_calls": false, "time_zone": "Europe/London",
        "trunk": "carrier", "disabled": false});
    let (status, body) = daemon
        .api(
            "PUT",
            "/api/operator/tenants/acme",
            Some(&ops),
            Some(tenant.clone()),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["balance"], "0.00");
    let (status, body) = daemon
        .api(
            "PUT",
            &format!("/api/operator/dids/{DID}"),
            Some(&ops),
            Some(json!({"tenant": "acme"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let user = json!({"role": "admin", "extension": null, "password": "boss-password"});
    let (status, body) = daemon
        .api(
            "PUT",
            "/api/operator/tenants/acme/users/boss",
            Some(&ops),
            Some(user),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let top_up = json!({"tenant": "acme", "amount": "20.00", "reference": "pay-1"});
    let (status, body) = daemon
        .api("POST", "/api/topups", Some(&ops), Some(top_up))
        .await;
    assert_eq!(status, 200, "{body}");

    // The tenant's admin does the rest.
    let boss = daemon
        .login(json!({"tenant": "acme", "username": "boss", "password": "boss-password"}))
        .await;
    let (status, body) = daemon
        .api("GET", "/api/operator/tenants", Some(&boss), None)
        .await;
    assert_eq!(status, 403, "a tenant's admin is no operator: {body}");
    let extension = json!({"password": "phone-1000-pw", "caller_id_name": "Front desk",
        "caller_id_number": null, "record_calls": false});
    let (status, body) = daemon
        .api("PUT", "/api/extensions/1000", Some(&boss), Some(extension))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = daemon
        .api(
            "PUT",
            &format!("/api/dids/{DID}"),
            Some(&boss),
            Some(json!({"route": "extension:1000"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    freeswitch_can_place_and_receive_calls(&daemon).await;

    // The operator's view, and what the rules refuse.
    let (_, shown) = daemon
        .api("GET", "/api/operator/tenants/acme", Some(&ops), None)
        .await;
    assert_eq!(shown["balance"], "20.00");
    assert_eq!(shown["time_zone"], "Europe/London");
    let (status, body) = daemon
        .api("DELETE", "/api/operator/trunks/carrier", Some(&ops), None)
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        body["error"],
        "tenant acme still uses it; change that first"
    );
    let mut dollars = tenant.clone();
    dollars["rate_plan"] = json!("usd");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "text/csv"),
    ];
    daemon
        .send(
            "PUT",
            "/api/operator/plans/usd?currency=USD&decimals=2",
            &headers,
            &csv(PLAN_CSV),
        )
        .await;
    let (status, body) = daemon
        .api(
            "PUT",
            "/api/operator/tenants/acme",
            Some(&ops),
            Some(dollars),
        )
        .await;
    assert_eq!(
        status, 409,
        "an EUR account does not become a USD one: {body}"
    );
    let (status, body) = daemon
        .api(
            "PATCH",
            "/api/operator/tenants/acme",
            Some(&ops),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["disabled"], true);
    assert_eq!(
        body["trunk"], "carrier",
        "a PATCH keeps what it does not name"
    );
    // Disabled: its users are refused, their tokens too.
    let (status, body) = daemon.api("GET", "/api/balance", Some(&boss), None).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "the tenant is disabled");
    let (status, _) = daemon
        .api(
            "POST",
            "/api/login",
            None,
            Some(json!({"tenant": "acme", "username": "boss", "password": "boss-password"})),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = daemon
        .api(
            "PATCH",
            "/api/operator/tenants/acme",
            Some(&ops),
            Some(json!({"disabled": false})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = daemon.api("GET", "/api/balance", Some(&boss), None).await;
    assert_eq!(status, 200, "enabled again, the token works again");

    // A PUT names every field: one forgotten is refused, not reset.
    let mut partial = tenant.clone();
    partial.as_object_mut().unwrap().remove("trunk");
    let (status, body) = daemon
        .api(
            "PUT",
            "/api/operator/tenants/acme",
            Some(&ops),
            Some(partial),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("trunk"), "{body}");
    // Another tenant cannot take its domain; its own domain cannot change under its phones.
    let mut twin = tenant.clone();
    twin["context"] = json!("twin");
    let (status, body) = daemon
        .api("PUT", "/api/operator/tenants/twin", Some(&ops), Some(twin))
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = daemon
        .api(
            "PATCH",
            "/api/operator/tenants/acme",
            Some(&ops),
            Some(json!({"domain": "acme.example"})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    // A plan accounts are charged by keeps its currency.
    let (status, body) = daemon
        .send(
            "PUT",
            "/api/operator/plans/retail?currency=USD&decimals=2",
            &headers,
            &csv(PLAN_CSV),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = daemon
        .send(
            "PUT",
            "/api/operator/plans/retail?currency=EUR&decimals=2",
            &headers,
            &csv(PLAN_CSV),
        )
        .await;
    assert_eq!(status, 200, "new rates in the same currency: {body}");
    // New rates are a new version, from now or a later time, never before the one in force.
    let dearer = PLAN_CSV.replace("0.06", "0.07");
    let (status, body) = daemon
        .send(
            "PUT",
            "/api/operator/plans/retail?currency=EUR&decimals=2",
            &headers,
            &csv(&dearer),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = daemon
        .send(
            "PUT",
            "/api/operator/plans/retail?currency=EUR&decimals=2&valid_from=2000-01-01T00:00:00Z",
            &headers,
            &csv(PLAN_CSV),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    // A profile that names none gets no trunk.
    let nameless = daemon
        .fsapi(&format!(
            "section=directory&tag_name=domain&key_name=name&key_value={}&purpose=gateways&profile=",
            platform::trunks::GATEWAYS_DOMAIN
        ))
        .await;
    assert!(!nameless.contains("carrier-secret"), "{nameless}");
}

/// Fills the form's fields (by id: text, or `true`/`false` for a checkbox), submits it and
/// waits for its result; the result's text.
async fn submit(
    browser: &mut tests::browser::Browser,
    form: &str,
    fields: &[(&str, Value)],
) -> Value {
    let mut script = String::from("(() => {");
    for (id, value) in fields {
        let set = match value {
            Value::Bool(checked) => format!("document.getElementById({id:?}).checked = {checked};"),
            other => format!("document.getElementById({id:?}).value = {other};"),
        };
        script.push_str(&set);
    }
    script.push_str(&format!(
        "const result = document.getElementById(document.getElementById({form:?}).dataset.result);\
         result.textContent = ''; document.getElementById({form:?}).requestSubmit(); return true; }})()"
    ));
    browser.eval(&script).await;
    let result = format!(
        "(() => {{ const r = document.getElementById(document.getElementById({form:?}).dataset.result).textContent; return r === '' || r === '…' ? null : r; }})()"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let text = browser.eval(&result).await;
        if !text.is_null() || tokio::time::Instant::now() > deadline {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_administration_page_takes_a_fresh_daemon_to_calls() {
    let f = fresh("administration-page");
    f.ok(&["add-operator", "ops"], Some("ops-password"));
    let daemon = f.serve().await;
    let mut browser = tests::browser::Browser::start(&f.dir).await;
    let saved = json!("saved");
    let wait = Duration::from_secs(20);

    // The operator: a plan, a trunk, the tenant on them, its admin, its DID and credit.
    browser
        .navigate(&format!("http://{}/admin", daemon.address))
        .await;
    browser.sign_in("", "ops", "ops-password").await;
    let operator_shown = "!document.getElementById('operator').classList.contains('hidden')";
    assert_eq!(
        browser.wait_for(operator_shown, &json!(true), wait).await,
        json!(true)
    );
    let plan = [
        ("plan-id", json!("retail")),
        ("plan-currency", json!("EUR")),
        ("plan-decimals", json!("2")),
        (
            "plan-csv",
            json!(format!("{PLAN_CSV}49,Germany,ten cents,0\n")),
        ),
    ];
    let refused = submit(&mut browser, "plan-form", &plan).await;
    assert!(refused.as_str().unwrap().contains("line 4"), "{refused}");
    let plan = [("plan-csv", json!(PLAN_CSV))];
    assert_eq!(submit(&mut browser, "plan-form", &plan).await, saved);
    let trunk = [
        ("trunk-name", json!("carrier")),
        ("trunk-proxy", json!("sip.carrier.example:5060")),
        ("trunk-username", json!("acct-1")),
        ("trunk-password", json!("carrier-secret")),
        ("trunk-register", json!(true)),
    ];
    assert_eq!(submit(&mut browser, "trunk-form", &trunk).await, saved);
    let tenant = [
        ("tenant-id", json!("acme")),
        ("tenant-domain", json!("127.0.0.1")),
        ("tenant-context", json!("default")),
        ("tenant-plan", json!("retail")),
        ("tenant-trunk", json!("carrier")),
        ("tenant-prepaid", json!(true)),
    ];
    assert_eq!(submit(&mut browser, "tenant-form", &tenant).await, saved);
    let listed = "document.getElementById('tenants').textContent";
    assert_eq!(
        browser
            .wait_for(listed, &json!("acme127.0.0.1defaultcarrieryesactive"), wait)
            .await,
        json!("acme127.0.0.1defaultcarrieryesactive")
    );
    let user = [
        ("user-tenant", json!("acme")),
        ("user-name", json!("boss")),
        ("user-role", json!("admin")),
        ("user-password", json!("boss-password")),
    ];
    assert_eq!(submit(&mut browser, "user-form", &user).await, saved);
    let did = [("did-number", json!(DID)), ("did-tenant", json!("acme"))];
    assert_eq!(submit(&mut browser, "did-form", &did).await, saved);
    let top_up = [
        ("topup-tenant", json!("acme")),
        ("topup-amount", json!("20.00")),
        ("topup-reference", json!("pay-1")),
    ];
    assert_eq!(submit(&mut browser, "topup-form", &top_up).await, saved);
    browser
        .eval("document.getElementById('sign-out').click(); true")
        .await;

    // The tenant's admin: an extension and the DID's route.
    browser.sign_in("acme", "boss", "boss-password").await;
    let balance = "document.getElementById('balance').textContent";
    let expected = json!("20.00 (available 20.00, held 0.00)");
    assert_eq!(browser.wait_for(balance, &expected, wait).await, expected);
    let extension = [
        ("extension-name", json!("1000")),
        ("extension-password", json!("phone-1000-pw")),
        ("extension-caller-name", json!("Front desk")),
    ];
    assert_eq!(
        submit(&mut browser, "extension-form", &extension).await,
        saved
    );
    let route = [
        ("route-number", json!(DID)),
        ("route-to", json!("extension:1000")),
    ];
    assert_eq!(submit(&mut browser, "route-form", &route).await, saved);
    let dids = "document.getElementById('dids').textContent";
    let expected = json!(format!("{DID}extension:1000"));
    assert_eq!(browser.wait_for(dids, &expected, wait).await, expected);

    // An agent, a queue and a menu to it, from the same page.
    let user = [
        ("tenant-user-name", json!("ann")),
        ("tenant-user-role", json!("agent")),
        ("tenant-user-extension", json!("1000")),
        ("tenant-user-password", json!("ann-password")),
    ];
    assert_eq!(submit(&mut browser, "tenant-user-form", &user).await, saved);
    let queue = [
        ("queue-name", json!("support")),
        ("queue-extension", json!("8000")),
    ];
    assert_eq!(submit(&mut browser, "queue-form", &queue).await, saved);
    let menu = [
        ("menu-name", json!("main")),
        ("menu-extension", json!("ivr")),
        ("menu-greeting", json!("ivr/ivr-welcome.wav")),
        ("menu-entries", json!("1=queue:support\n2=extension:1000")),
    ];
    assert_eq!(submit(&mut browser, "menu-form", &menu).await, saved);
    let menus = "document.getElementById('menus').textContent";
    let expected = json!("mainivr1=queue:support 2=extension:1000");
    assert_eq!(browser.wait_for(menus, &expected, wait).await, expected);
    let refused = [("menu-entries", json!("1=queue:nowhere"))];
    let answer = submit(&mut browser, "menu-form", &refused).await;
    assert_ne!(answer, saved, "a menu entry to nothing is refused");

    // FreeSWITCH's next lookups serve them.
    freeswitch_can_place_and_receive_calls(&daemon).await;
}
