//! The xml_curl server over real HTTP: FreeSWITCH's captured directory and dialplan requests
//! replayed byte for byte and answered from the database; prepaid limits and refusals from
//! billing; recording; configuration; the cache following writes; credentials.

use billing::{Decimal, Ledger, PlanRecord, Rounding};
use callcenter::http::basic_auth::BasicAuth;
use callcenter::roles::xml_curl::{XmlCurlConfig, router};
use platform::cache::Cache;
use platform::ivr::{MenuAction, MenuEntry};
use platform::store::{AgentRow, ExtensionRow, MenuRow, PlatformStore, QueueRow, Tenant, TierRow};
use std::net::SocketAddr;
use std::time::Duration;
use tests::http;

const AUTHORIZATION: (&str, &str) = ("Authorization", "Basic ZnJlZXN3aXRjaDpjdXJscGFzcw=="); // freeswitch:curlpass

fn captured(name: &str) -> Vec<u8> {
    std::fs::read(tests::fixture(&format!("xml_curl/{name}"))).unwrap()
}

/// The body of an answer, checked to be well-formed XML.
fn xml(response: &http::Response) -> String {
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    assert_eq!(response.header("content-type"), Some("text/xml"));
    let text = String::from_utf8(response.body.clone()).unwrap();
    let mut reader = quick_xml::Reader::from_str(&text);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed: {e}\n{text}"),
        }
    }
    text
}

struct Platform {
    address: SocketAddr,
    store: PlatformStore,
    ledger: Ledger,
    recordings: std::path::PathBuf,
}

/// One tenant owning the captured domain (127.0.0.1) and context (default), with the captured
/// users 1000 (password) and 2000 (a1-hash), a trunk gateway, a queue, an agent and a menu.
async fn platform(prepaid: bool) -> Platform {
    let name = format!("xc-{}-{}", std::process::id(), rand_suffix());
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.sqlite"));
    let ledger = Ledger::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    ledger
        .save_plan(&PlanRecord {
            id: "retail".into(),
            currency: "EUR".into(),
            decimals: 2,
            rounding: Rounding::Up,
            utc_offset_minutes: 0,
            fallback: None,
            rates_csv: "prefix,rate_per_minute,connect_fee\n,0.60,0\n".into(),
        })
        .await
        .unwrap();
    ledger
        .open_account("acme", "retail", Decimal::ZERO)
        .await
        .unwrap();
    let store = PlatformStore::open(ledger.pool().clone(), ledger.backend())
        .await
        .unwrap();
    store
        .put_tenant(&Tenant {
            tenant: "acme".into(),
            domain: "127.0.0.1".into(),
            context: "default".into(),
            gateway: Some("trunk".into()),
            prepaid,
            record_calls: false,
            prepaid_slice_seconds: None,
            time_zone: None,
            disabled: false,
        })
        .await
        .unwrap();
    for (extension, password, a1_hash) in [
        ("1000", Some("pw-of-1000"), None),
        (
            "2000",
            None,
            Some(xmlcurl::a1_hash("2000", "127.0.0.1", "curlpass")),
        ),
    ] {
        store
            .put_extension(&ExtensionRow {
                tenant: "acme".into(),
                extension: extension.into(),
                password: password.map(Into::into),
                a1_hash,
                caller_id_name: Some(format!("Agent ({extension}) & co")),
                caller_id_number: None,
                record_calls: false,
            })
            .await
            .unwrap();
    }
    store
        .put_queue(&QueueRow {
            tenant: "acme".into(),
            name: "support".into(),
            extension: None,
            strategy: "ring-all".into(),
            moh_sound: None,
            service_level_seconds: 20,
        })
        .await
        .unwrap();
    store
        .put_agent(&AgentRow {
            tenant: "acme".into(),
            name: "1000".into(),
            contact: "user/1000@127.0.0.1".into(),
            status: "Available".into(),
        })
        .await
        .unwrap();
    store
        .put_tier(&TierRow {
            tenant: "acme".into(),
            queue: "support".into(),
            agent: "1000".into(),
            level: 1,
            position: 1,
        })
        .await
        .unwrap();
    store
        .put_menu(&MenuRow {
            tenant: "acme".into(),
            name: "main".into(),
            extension: None,
            greet_long: "ivr/welcome.wav".into(),
            greet_short: "ivr/short.wav".into(),
            invalid_sound: "ivr/invalid.wav".into(),
            exit_sound: "ivr/bye.wav".into(),
            timeout_ms: 5000,
            max_failures: 3,
            entries: vec![MenuEntry {
                digits: "1".into(),
                action: MenuAction::Extension("1000".into()),
            }],
        })
        .await
        .unwrap();
    let recordings = std::path::PathBuf::from("/tmp/staging");
    let config = XmlCurlConfig {
        recordings_dir: recordings.clone(),
        ..XmlCurlConfig::new(BasicAuth::new("freeswitch", "curlpass").unwrap())
    };
    let app = router(
        Cache::new(store.clone(), Duration::from_secs(60)),
        ledger.clone(),
        config,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Platform {
        address,
        store,
        ledger,
        recordings,
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

async fn ask(platform: &Platform, capture: &str) -> http::Response {
    http::send(
        platform.address,
        &http::with_headers(&captured(capture), &[AUTHORIZATION]),
    )
    .await
    .unwrap()
}

async fn ask_form(platform: &Platform, form: &str) -> http::Response {
    let request = http::post(
        "/fsapi",
        &[
            AUTHORIZATION,
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        form.as_bytes(),
    );
    http::send(platform.address, &request).await.unwrap()
}

#[tokio::test]
async fn captured_directory_requests_are_answered_from_the_database() {
    let platform = platform(false).await;
    for capture in ["001_fsapi_directory.http", "004_fsapi_directory.http"] {
        let answer = xml(&ask(&platform, capture).await);
        assert!(answer.contains(r#"<domain name="127.0.0.1">"#), "{answer}");
        assert!(answer.contains(r#"<user id="2000">"#));
        let hash = xmlcurl::a1_hash("2000", "127.0.0.1", "curlpass");
        assert!(answer.contains(&format!(r#"<param name="a1-hash" value="{hash}"/>"#)));
        assert!(answer.contains(r#"<variable name="user_context" value="default"/>"#));
        assert!(answer.contains(r#"<variable name="tenant_id" value="acme"/>"#));
        assert!(
            answer.contains("Agent (2000) &amp; co"),
            "escaped: {answer}"
        );
    }
    // A password set in plain is served only as its a1-hash, never as itself.
    let hash_1000 = xmlcurl::a1_hash("1000", "127.0.0.1", "pw-of-1000");
    for capture in ["002_fsapi_directory.http", "003_fsapi_directory.http"] {
        let answer = xml(&ask(&platform, capture).await);
        assert!(answer.contains(r#"<user id="1000">"#));
        assert!(answer.contains(&format!(r#"<param name="a1-hash" value="{hash_1000}"/>"#)));
        assert!(!answer.contains("pw-of-1000") && !answer.contains(r#"name="password""#));
    }
    // A write through the store is seen at once, cache or not; a new password replaces the
    // old hash (the old password stops working), and the caller ID is a number acme owns.
    platform
        .store
        .put_did("+442079460000", "acme")
        .await
        .unwrap();
    platform
        .store
        .put_extension(&ExtensionRow {
            tenant: "acme".into(),
            extension: "1000".into(),
            password: Some("changed-pw".into()),
            a1_hash: None,
            caller_id_name: None,
            caller_id_number: Some("+442079460000".into()),
            record_calls: false,
        })
        .await
        .unwrap();
    let answer = xml(&ask(&platform, "002_fsapi_directory.http").await);
    let changed = xmlcurl::a1_hash("1000", "127.0.0.1", "changed-pw");
    assert!(answer.contains(&format!(r#"<param name="a1-hash" value="{changed}"/>"#)));
    assert!(
        !answer.contains(&hash_1000),
        "the old credential still works: {answer}"
    );
    assert!(answer.contains(r#"value="+442079460000""#));
    // Unknown users and domains: not found, so FreeSWITCH tries its next source.
    let unknown = xml(&ask_form(&platform, "section=directory&tag_name=domain&key_name=name&key_value=other.example&user=1000&domain=other.example").await);
    assert!(
        unknown.contains(r#"<result status="not found"/>"#),
        "{unknown}"
    );
}

#[tokio::test]
async fn captured_dialplan_requests_go_out_through_the_gateway_or_to_users() {
    let platform = platform(false).await;
    let answer = xml(&ask(&platform, "005_fsapi_dialplan.http").await);
    assert!(answer.contains(r#"<context name="default">"#), "{answer}");
    assert!(answer.contains(r#"expression="^7777$""#));
    assert!(answer.contains(r#"application="bridge" data="sofia/gateway/trunk/7777""#));
    let answer = xml(&ask(&platform, "006_fsapi_dialplan.http").await);
    assert!(answer.contains(r#"data="sofia/gateway/trunk/9995""#));
    assert!(!answer.contains("record_session"));

    // To an extension that records: bridged to the user, recorded into staging by call UUID.
    platform
        .store
        .put_extension(&ExtensionRow {
            tenant: "acme".into(),
            extension: "7777".into(),
            password: Some("x-long-enough".into()),
            a1_hash: None,
            caller_id_name: None,
            caller_id_number: None,
            record_calls: true,
        })
        .await
        .unwrap();
    let answer = xml(&ask(&platform, "005_fsapi_dialplan.http").await);
    assert!(answer.contains(r#"data="user/7777@127.0.0.1""#), "{answer}");
    let uuid = String::from_utf8_lossy(&captured("005_fsapi_dialplan.http"))
        .split("Unique-ID=")
        .nth(1)
        .unwrap()[..36]
        .to_owned();
    let path = platform.recordings.join(format!("{uuid}.wav"));
    assert!(answer.contains(&format!(
        r#"application="record_session" data="{}""#,
        path.display()
    )));
}

#[tokio::test]
async fn prepaid_calls_are_limited_to_the_balance_and_refused_without_it() {
    let platform = platform(true).await;
    let answer = xml(&ask(&platform, "005_fsapi_dialplan.http").await);
    assert!(
        answer.contains(r#"application="hangup" data="OUTGOING_CALL_BARRED""#),
        "{answer}"
    );
    assert!(!answer.contains("bridge"));
    platform
        .ledger
        .top_up("acme", "1.00".parse().unwrap(), "card-1")
        .await
        .unwrap();
    // 1.00 at 0.60/min, 1/1 increments: 100 seconds, held, on the trunk leg only.
    let answer = xml(&ask(&platform, "005_fsapi_dialplan.http").await);
    assert!(
        answer.contains(
            r#"application="export" data="nolocal:execute_on_answer=sched_hangup +100 ALLOTTED_TIMEOUT""#
        ),
        "{answer}"
    );
    assert!(answer.contains(r#"data="sofia/gateway/trunk/7777""#));
    let money = platform.ledger.balance("acme").await.unwrap();
    assert_eq!(
        money.held,
        "1.00".parse().unwrap(),
        "the whole credit is held"
    );
    assert_eq!(money.available(), "0".parse().unwrap());
    let holds = platform.ledger.holds("acme", None, 10).await.unwrap();
    assert_eq!(holds.len(), 1);
    // The hold by its id and the moment it was taken: together they name it even after a
    // database crash gave its id to another.
    let reference = format!(
        r#"data="nolocal:callcenter_hold={}-{}""#,
        holds[0].id, holds[0].created_us
    );
    assert!(answer.contains(&reference), "{answer}");
    // The same lookup again (FreeSWITCH retrying it) is the same hold, not a second one.
    let again = xml(&ask(&platform, "005_fsapi_dialplan.http").await);
    assert!(again.contains("sched_hangup +100 "), "{again}");
    assert!(again.contains(&reference), "{again}");
    assert_eq!(
        platform.ledger.holds("acme", None, 10).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn configuration_comes_from_the_database_and_other_files_are_not_found() {
    let platform = platform(false).await;
    let form = |file: &str| {
        format!("section=configuration&tag_name=configuration&key_name=name&key_value={file}")
    };
    let answer = xml(&ask_form(&platform, &form("callcenter.conf")).await);
    assert!(
        answer.contains(r#"<queue name="support@acme">"#),
        "{answer}"
    );
    assert!(answer.contains(r#"<agent name="1000@acme""#));
    assert!(answer.contains(r#"<tier agent="1000@acme" queue="support@acme""#));
    // One queue loaded (`queue load`, CC-Queue): that queue, its tiers and agents only.
    let one = format!("{}&CC-Queue=support%40acme", form("callcenter.conf"));
    let answer = xml(&ask_form(&platform, &one).await);
    assert!(answer.contains(r#"<agent name="1000@acme""#), "{answer}");
    let other = format!("{}&CC-Queue=sales%40beta", form("callcenter.conf"));
    let answer = xml(&ask_form(&platform, &other).await);
    assert!(
        !answer.contains("<queue ") && !answer.contains("<agent "),
        "{answer}"
    );
    let answer = xml(&ask_form(&platform, &form("ivr.conf")).await);
    assert!(answer.contains(r#"<menu name="main@acme""#), "{answer}");
    assert!(answer.contains(r#"param="transfer 1000 XML default""#));
    let answer = xml(&ask_form(&platform, &form("sofia.conf")).await);
    assert!(answer.contains(r#"<result status="not found"/>"#));
}

#[tokio::test]
async fn requests_without_the_credentials_are_refused() {
    let platform = platform(false).await;
    let response = http::send(
        platform.address,
        &http::with_headers(&captured("001_fsapi_directory.http"), &[]),
    )
    .await
    .unwrap();
    assert_eq!(response.status, 401);
    let response = ask_form(&platform, "this is not a form").await;
    assert_eq!(response.status, 400);
}

/// The captured dialplan request of a call to 7777, as if `dialled` had been dialled.
fn dialling(dialled: &str) -> Vec<u8> {
    let raw = captured("005_fsapi_dialplan.http");
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let encoded: String = dialled
        .bytes()
        .map(|b| match b {
            b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect();
    let body = String::from_utf8_lossy(&raw[split..]).replace(
        "Destination-Number=7777",
        &format!("Destination-Number={encoded}"),
    );
    http::post(
        "/fsapi",
        &[
            AUTHORIZATION,
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        body.as_bytes(),
    )
}

#[tokio::test]
async fn dialled_strings_that_are_not_numbers_never_reach_a_dial_string() {
    let platform = platform(false).await;
    // The first was proven on a real FreeSWITCH 1.10.12: it bridged to the trunk *and* to
    // loopback/9995/default, another context.
    for hostile in [
        "0800,loopback/9995/default",
        "0901|sofia/gateway/x/1",
        "{x=y}0901",
        "[x=y]0901",
        "${system(id)}",
        "&system(id)",
        "0901\\",
        "0800:_:loopback/1",
        "0800^^:x",
        "0800 x",
        "0800@evil",
        "0800/x",
    ] {
        let response = http::send(platform.address, &dialling(hostile))
            .await
            .unwrap();
        let answer = xml(&response);
        assert!(
            answer.contains(r#"application="hangup" data="UNALLOCATED_NUMBER""#),
            "{hostile}: {answer}"
        );
        for leaked in ["bridge", "loopback", "system", "sofia", "x=y"] {
            assert!(!answer.contains(leaked), "{hostile}: {answer}");
        }
    }
    // A name that is no extension of the tenant is no number either, and the switch's `*` and
    // `#` codes never reach the carrier.
    for dialled in ["alice", "*98", "#31"] {
        let answer = xml(&http::send(platform.address, &dialling(dialled))
            .await
            .unwrap());
        assert!(answer.contains("UNALLOCATED_NUMBER"), "{dialled}: {answer}");
    }
    // Numbers still go out, with their prefix.
    for number in ["+441234567", "0800123"] {
        let answer = xml(&http::send(platform.address, &dialling(number))
            .await
            .unwrap());
        assert!(
            answer.contains(&format!(r#"data="sofia/gateway/trunk/{number}""#)),
            "{number}: {answer}"
        );
    }
}

#[tokio::test]
async fn an_extension_without_a_credential_is_not_served() {
    let platform = platform(false).await;
    // As an older version could leave a row: neither password nor hash. FreeSWITCH would let
    // anyone register as such a user.
    sqlx::query(
        "INSERT INTO extensions (tenant, extension, password, a1_hash, caller_id_name, caller_id_number, record_calls)
         VALUES ('acme', '3000', NULL, NULL, NULL, NULL, 0), ('acme', '3002', NULL, '', NULL, NULL, 0)",
    )
    .execute(platform.ledger.pool())
    .await
    .unwrap();
    let answer = xml(&ask_form(&platform, "section=directory&tag_name=domain&key_name=name&key_value=127.0.0.1&user=3000&domain=127.0.0.1").await);
    assert!(
        answer.contains(r#"<result status="not found"/>"#),
        "{answer}"
    );
    // And no writer can make one.
    let row = ExtensionRow {
        tenant: "acme".into(),
        extension: "3001".into(),
        password: None,
        a1_hash: None,
        caller_id_name: None,
        caller_id_number: None,
        record_calls: false,
    };
    assert!(platform.store.put_extension(&row).await.is_err());
    let empty_hash = ExtensionRow {
        a1_hash: Some(String::new()),
        ..row
    };
    assert!(platform.store.put_extension(&empty_hash).await.is_err());
}
