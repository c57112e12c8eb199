//! Inbound calls through the xml_curl server: the lookups a real FreeSWITCH made for a DID call
//! (DID → IVR menu → queue, `fixtures/freeswitch/xml_curl_callcenter/`), replayed byte for
//! byte against a platform holding the same tenant, DID, menu and queue, and the served
//! documents compared with what FreeSWITCH was given; DIDs routed to extensions and outside
//! numbers; everything else a trunk sends refused; the store's rules for routes and dial names.

use billing::{Decimal, Ledger, PlanRecord, Rounding};
use callcenter::http::basic_auth::BasicAuth;
use callcenter::roles::xml_curl::{XmlCurlConfig, router};
use platform::cache::Cache;
use platform::inbound::DidRoute;
use platform::ivr::{MenuAction, MenuEntry};
use platform::store::{AgentRow, ExtensionRow, MenuRow, PlatformStore, QueueRow, Tenant, TierRow};
use quick_xml::events::Event;
use std::net::SocketAddr;
use std::time::Duration;
use tests::http;

const AUTHORIZATION: (&str, &str) = ("Authorization", "Basic ZnJlZXN3aXRjaDpjdXJscGFzcw=="); // freeswitch:curlpass
const DID: &str = "02873001234";

fn captured(name: &str) -> Vec<u8> {
    std::fs::read(tests::fixture(&format!(
        "xml_curl_callcenter/run-json/{name}"
    )))
    .unwrap()
}

/// What FreeSWITCH was given for a captured request: the response's body.
fn given(name: &str) -> String {
    let response = String::from_utf8(captured(&format!("{name}.response.http"))).unwrap();
    let start = response.find("<document").expect("an XML body");
    response[start..].to_owned()
}

struct Platform {
    address: SocketAddr,
    store: PlatformStore,
}

/// The captured scenario's platform: tenant `acme` (context `acme`), users 1001 and 1002 who
/// are the agents of queue `support` (dialled as 8000), IVR menu `main` (dialled as `ivr`:
/// 1 → the queue, 2 → 1001, 9 → the top), and DID 02873001234 routed to the menu. A second
/// tenant, `beta`, has a queue of its own.
async fn platform() -> Platform {
    let name = format!("inbound-{}-{}", std::process::id(), rand_suffix());
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
    let store = PlatformStore::open(ledger.pool().clone(), ledger.backend())
        .await
        .unwrap();
    for tenant in ["acme", "beta"] {
        ledger
            .open_account(tenant, "retail", Decimal::ZERO)
            .await
            .unwrap();
        store
            .put_tenant(&Tenant {
                tenant: tenant.into(),
                domain: format!("{tenant}.example"),
                context: tenant.into(),
                gateway: Some("trunk".into()),
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
                tenant: tenant.into(),
                name: "support".into(),
                extension: Some("8000".into()),
                strategy: "longest-idle-agent".into(),
                moh_sound: Some("tone_stream://%(2000,4000,440)".into()),
                service_level_seconds: 20,
            })
            .await
            .unwrap();
    }
    for (user, line) in [("1001", "7001"), ("1002", "7002")] {
        store
            .put_extension(&ExtensionRow {
                tenant: "acme".into(),
                extension: user.into(),
                password: Some(format!("password-of-{user}")),
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
                name: user.into(),
                contact: format!("loopback/{line}/agents"),
                status: "Available".into(),
            })
            .await
            .unwrap();
    }
    for (agent, position) in [("1001", 1), ("1002", 2)] {
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
    store
        .put_menu(&MenuRow {
            tenant: "acme".into(),
            name: "main".into(),
            extension: Some("ivr".into()),
            greet_long: "tone_stream://%(500,0,800)".into(),
            greet_short: "tone_stream://%(500,0,800)".into(),
            invalid_sound: "ivr/ivr-that_was_an_invalid_entry.wav".into(),
            exit_sound: "voicemail/vm-goodbye.wav".into(),
            timeout_ms: 3000,
            max_failures: 2,
            entries: vec![
                MenuEntry {
                    digits: "1".into(),
                    action: MenuAction::Queue("support".into()),
                },
                MenuEntry {
                    digits: "2".into(),
                    action: MenuAction::Extension("1001".into()),
                },
                MenuEntry {
                    digits: "9".into(),
                    action: MenuAction::Repeat,
                },
            ],
        })
        .await
        .unwrap();
    store.put_did(DID, "acme").await.unwrap();
    store
        .route_did(DID, "acme", Some(&DidRoute::Menu("main".into())))
        .await
        .unwrap();
    // Prompts in the S3 store the recording tests use.
    let config = XmlCurlConfig {
        prompts: Some(callcenter::prompts::Prompts::new(
            recording::Destination::s3(&tests::recordings::require_s3()).unwrap(),
            None,
        )),
        ..XmlCurlConfig::new(BasicAuth::new("freeswitch", "curlpass").unwrap())
    };
    let app = router(
        Cache::new(store.clone(), Duration::from_secs(60)),
        ledger,
        config,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Platform { address, store }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Our answer to a captured request, replayed byte for byte (with the credentials).
async fn ask(platform: &Platform, capture: &str) -> String {
    let request = http::with_headers(&captured(&format!("{capture}.http")), &[AUTHORIZATION]);
    let response = http::send(platform.address, &request).await.unwrap();
    assert_eq!(response.status, 200);
    String::from_utf8(response.body).unwrap()
}

/// Our answer to a captured request with `from` in its body replaced by `to` (its
/// Content-Length set to match).
async fn ask_renamed(platform: &Platform, capture: &str, from: &str, to: &str) -> String {
    let raw = String::from_utf8(captured(&format!("{capture}.http"))).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let body = body.replace(from, to);
    let head: Vec<String> = head
        .split("\r\n")
        .map(|line| match line.split_once(": ") {
            Some((name, _)) if name.eq_ignore_ascii_case("content-length") => {
                format!("Content-Length: {}", body.len())
            }
            _ => line.to_owned(),
        })
        .collect();
    let request = format!("{}\r\n\r\n{body}", head.join("\r\n"));
    let request = http::with_headers(request.as_bytes(), &[AUTHORIZATION]);
    let response = http::send(platform.address, &request).await.unwrap();
    assert_eq!(response.status, 200);
    String::from_utf8(response.body).unwrap()
}

/// A dialplan lookup of `destination` in `context`, as FreeSWITCH sends one.
async fn dial(platform: &Platform, context: &str, destination: &str) -> String {
    dial_from_did(platform, context, destination, None).await
}

/// The lookup of a call that came in to DID `did` (the variable our `public` answer set).
async fn dial_from_did(
    platform: &Platform,
    context: &str,
    destination: &str,
    did: Option<&str>,
) -> String {
    let mut form = format!(
        "section=dialplan&Hunt-Context={context}&Hunt-Destination-Number={}&Unique-ID=3f0c6a1e-0000-4000-8000-000000000001",
        urlencode(destination)
    );
    if let Some(did) = did {
        form.push_str(&format!("&variable_callcenter_did={}", urlencode(did)));
    }
    let request = http::post(
        "/fsapi",
        &[
            AUTHORIZATION,
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        form.as_bytes(),
    );
    let response = http::send(platform.address, &request).await.unwrap();
    assert_eq!(response.status, 200);
    String::from_utf8(response.body).unwrap()
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A dialplan document's context and its actions in order: (application, data).
fn dialplan(xml: &str) -> (String, Vec<(String, String)>) {
    let context = elements(xml, "context")
        .first()
        .map(|c| attribute(c, "name").to_owned())
        .unwrap_or_default();
    let actions = elements(xml, "action")
        .iter()
        .map(|a| action(attribute(a, "application"), attribute(a, "data")))
        .collect();
    (context, actions)
}

/// Every element named `element` of a document, as its attributes (name, value), in order.
fn elements(xml: &str, element: &str) -> Vec<Vec<(String, String)>> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut found = Vec::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == element => {
                found.push(
                    e.attributes()
                        .map(|a| {
                            let a = a.expect("a well-formed attribute");
                            let value = a
                                .normalized_value(quick_xml::XmlVersion::Explicit1_0)
                                .expect("valid escapes")
                                .into_owned();
                            (a.key.as_ref().to_owned(), value)
                        })
                        .collect(),
                );
            }
            _ => {}
        }
    }
    found
}

fn action(application: &str, data: &str) -> (String, String) {
    (application.to_owned(), data.to_owned())
}

fn attribute<'a>(element: &'a [(String, String)], name: &str) -> &'a str {
    element
        .iter()
        .find(|(key, _)| key == name)
        .map_or("", |(_, value)| value.as_str())
}

/// The call's three dialplan lookups, as FreeSWITCH made them: the DID in `public` is given
/// its tenant (and marked as the DID's) and transferred to the menu's dial name in the
/// tenant's context, which answers and runs the menu; the menu's entry 1 reaches the queue's dial name, which answers and
/// runs `callcenter support@acme`. The documents carry what the captured ones did, but for
/// two choices of ours: the menu is named `main@acme` (every call-center name is
/// `name@tenant`), and the DID's call is not answered in `public` (a DID routed to a user
/// rings it first: the caller pays from its answer on, not from the trunk's).
#[tokio::test]
async fn captured_did_menu_and_queue_lookups_get_what_freeswitch_was_given() {
    let platform = platform().await;

    let (context, mut actions) = dialplan(&ask(&platform, "004_fsapi_dialplan").await);
    let (given_context, given_actions) = dialplan(&given("004_fsapi_dialplan"));
    assert_eq!(context, given_context);
    assert_eq!(given_actions[0], action("answer", ""));
    // Ours also marks the call as a DID's (it may dial out only to the DID's own route).
    assert_eq!(
        actions.remove(1),
        action("set", "callcenter_did=02873001234")
    );
    assert_eq!(actions, given_actions[1..]);

    let (context, actions) = dialplan(&ask(&platform, "005_fsapi_dialplan").await);
    let (given_context, given_actions) = dialplan(&given("005_fsapi_dialplan"));
    assert_eq!(context, given_context);
    assert_eq!(
        given_actions,
        [action("answer", ""), action("ivr", "acme_main")]
    );
    assert_eq!(
        actions,
        [
            action("set", "tenant_id=acme"),
            action("answer", ""),
            action("ivr", "main@acme")
        ]
    );

    let (context, actions) = dialplan(&ask(&platform, "007_fsapi_dialplan").await);
    let (given_context, given_actions) = dialplan(&given("007_fsapi_dialplan"));
    assert_eq!(context, given_context);
    assert_eq!(actions, given_actions);
}

/// `callcenter.conf` and `ivr.conf`, asked for as FreeSWITCH asked: the queue, the agents
/// (with their contacts), the tiers and the menu's entries are those it was given.
#[tokio::test]
async fn captured_configuration_lookups_get_the_queue_agents_tiers_and_menu() {
    let platform = platform().await;
    let ours = ask(&platform, "003_fsapi_configuration").await;
    let theirs = given("003_fsapi_configuration");
    let names = |xml: &str, element: &str, keys: &[&str]| -> Vec<Vec<String>> {
        elements(xml, element)
            .iter()
            .map(|e| keys.iter().map(|k| attribute(e, k).to_owned()).collect())
            .collect()
    };
    // The other tenant's queue is served too, under its own name.
    let mut queues = names(&ours, "queue", &["name"]);
    assert!(queues.contains(&vec!["support@beta".to_owned()]), "{ours}");
    queues.retain(|q| q[0] != "support@beta");
    assert_eq!(queues, names(&theirs, "queue", &["name"]));
    let agent = &["name", "contact", "status"][..];
    assert_eq!(names(&ours, "agent", agent), names(&theirs, "agent", agent));
    let tier = &["agent", "queue", "level", "position"][..];
    assert_eq!(names(&ours, "tier", tier), names(&theirs, "tier", tier));

    // A submenu of acme's (served beside its menu: FreeSWITCH finds submenus in the same
    // document) and a menu of beta's with the same name (not served for acme's).
    for (tenant, name) in [("acme", "sub"), ("beta", "main")] {
        platform
            .store
            .put_menu(&MenuRow {
                tenant: tenant.into(),
                name: name.into(),
                extension: None,
                greet_long: "ivr/welcome.wav".into(),
                greet_short: "ivr/short.wav".into(),
                invalid_sound: "ivr/invalid.wav".into(),
                exit_sound: "ivr/bye.wav".into(),
                timeout_ms: 3000,
                max_failures: 2,
                entries: Vec::new(),
            })
            .await
            .unwrap();
    }
    // FreeSWITCH asks for the menu the dialplan named: ours is main@acme where the capture's
    // was acme_main.
    let ours = ask_renamed(
        &platform,
        "006_fsapi_configuration",
        "acme_main",
        "main%40acme",
    )
    .await;
    let theirs = given("006_fsapi_configuration");
    let menus = elements(&ours, "menu");
    let served: Vec<&str> = menus.iter().map(|m| attribute(m, "name")).collect();
    assert_eq!(served, ["main@acme", "sub@acme"], "{ours}");
    for key in ["greet-long", "greet-short", "timeout", "max-failures"] {
        assert_eq!(
            attribute(&menus[0], key),
            attribute(&elements(&theirs, "menu")[0], key),
            "{key}"
        );
    }
    let entry = &["action", "digits", "param"][..];
    assert_eq!(names(&ours, "entry", entry), names(&theirs, "entry", entry));
}

/// A DID reaches what its route names, in its own tenant's context: a user, an outside
/// number (then routed there as any of the tenant's calls), a queue; the tenant's users dial
/// the queue and the menu by their dial names.
#[tokio::test]
async fn dids_reach_their_routes_in_their_tenants_context() {
    let platform = platform().await;
    let store = &platform.store;
    for (number, route, destination) in [
        ("0287300001", DidRoute::Extension("1001".into()), "1001"),
        (
            "0287300002",
            DidRoute::Outside("+442079460000".into()),
            "+442079460000",
        ),
        ("0287300003", DidRoute::Queue("support".into()), "8000"),
    ] {
        store.put_did(number, "acme").await.unwrap();
        store.route_did(number, "acme", Some(&route)).await.unwrap();
        let (context, actions) = dialplan(&dial(&platform, "public", number).await);
        assert_eq!(context, "public");
        assert_eq!(
            actions,
            [
                action("set", "tenant_id=acme"),
                action("set", &format!("callcenter_did={number}")),
                action("transfer", &format!("{destination} XML acme"))
            ],
            "{number}"
        );
    }
    let (_, actions) = dialplan(&dial(&platform, "acme", "+442079460000").await);
    assert_eq!(
        actions.last(),
        Some(&action("bridge", "sofia/gateway/trunk/+442079460000"))
    );
    let (_, actions) = dialplan(&dial(&platform, "beta", "8000").await);
    assert_eq!(actions.last(), Some(&action("callcenter", "support@beta")));
    let (_, actions) = dialplan(&dial(&platform, "acme", "ivr").await);
    assert_eq!(actions.last(), Some(&action("ivr", "main@acme")));
}

/// From a trunk, only a routed DID reaches a tenant: an unknown number, a DID without a
/// route (a caller ID only), a tenant's extension or dial name, and anything that is not a
/// number are refused as unallocated, whatever was dialled.
#[tokio::test]
async fn a_trunk_reaches_no_tenant_but_through_a_routed_did() {
    let platform = platform().await;
    platform.store.put_did("0287300009", "acme").await.unwrap();
    for dialled in [
        "0299999999",
        "0287300009",
        "1001",
        "8000",
        "ivr",
        "02873001234 XML acme",
        "${sofia_contact(1001)}",
    ] {
        let (context, actions) = dialplan(&dial(&platform, "public", dialled).await);
        assert_eq!(context, "public", "{dialled}");
        assert_eq!(
            actions,
            [action("hangup", "UNALLOCATED_NUMBER")],
            "{dialled}"
        );
    }
    // Taken back: the DID's calls are refused again.
    platform.store.route_did(DID, "acme", None).await.unwrap();
    let (_, actions) = dialplan(&dial(&platform, "public", DID).await);
    assert_eq!(actions, [action("hangup", "UNALLOCATED_NUMBER")]);
}

/// A caller from a trunk never becomes an outside call the tenant did not route: a DID routed
/// to an extension that was removed is refused (its number is not dialled out), and in the
/// tenant's context a DID's call reaches an outside number only when it is that DID's own
/// outside route (an IVR entry or a transfer re-running the dialplan cannot dial out).
#[tokio::test]
async fn a_did_call_dials_out_only_to_its_own_outside_route() {
    let platform = platform().await;
    let store = &platform.store;
    store.put_did("0287300020", "acme").await.unwrap();
    store
        .route_did(
            "0287300020",
            "acme",
            Some(&DidRoute::Extension("1002".into())),
        )
        .await
        .unwrap();
    // The store refuses to remove an extension a DID routes to; removed all the same (by
    // hand, or racing the route's write), it is not dialled as a number.
    assert!(store.delete_extension("acme", "1002").await.is_err());
    sqlx::query("DELETE FROM extensions WHERE tenant = 'acme' AND extension = '1002'")
        .execute(store.pool())
        .await
        .unwrap();
    // Any write through the store drops what the server's cache read before.
    store.put_did("0287300021", "acme").await.unwrap();
    let (_, actions) = dialplan(&dial(&platform, "public", "0287300020").await);
    assert_eq!(actions, [action("hangup", "UNALLOCATED_NUMBER")]);
    // In the tenant's context: the removed extension's number, or any outside number, from
    // the DID's call: refused. The same numbers from the tenant's own users: out.
    for dialled in ["1002", "+442079460000"] {
        let (_, actions) =
            dialplan(&dial_from_did(&platform, "acme", dialled, Some("0287300020")).await);
        assert_eq!(
            actions,
            [action("hangup", "UNALLOCATED_NUMBER")],
            "{dialled}"
        );
        let (_, actions) = dialplan(&dial(&platform, "acme", dialled).await);
        assert_eq!(
            actions.last(),
            Some(&action("bridge", &format!("sofia/gateway/trunk/{dialled}"))),
            "{dialled}"
        );
    }
    // A DID forwarded outside reaches its own route, and only it.
    store.put_did("0287300021", "acme").await.unwrap();
    store
        .route_did(
            "0287300021",
            "acme",
            Some(&DidRoute::Outside("+442079460000".into())),
        )
        .await
        .unwrap();
    let (_, actions) =
        dialplan(&dial_from_did(&platform, "acme", "+442079460000", Some("0287300021")).await);
    assert_eq!(
        actions.last(),
        Some(&action("bridge", "sofia/gateway/trunk/+442079460000"))
    );
    let (_, actions) =
        dialplan(&dial_from_did(&platform, "acme", "+442079460001", Some("0287300021")).await);
    assert_eq!(actions, [action("hangup", "UNALLOCATED_NUMBER")]);
    // A DID of another tenant names no route here.
    let (_, actions) =
        dialplan(&dial_from_did(&platform, "beta", "+442079460000", Some("0287300021")).await);
    assert_eq!(actions, [action("hangup", "UNALLOCATED_NUMBER")]);
}

/// A route names only what its tenant has and a call can reach; a dial name is one thing's
/// per tenant; no tenant's context is `public`.
#[tokio::test]
async fn routes_and_dial_names_are_checked() {
    let platform = platform().await;
    let store = &platform.store;
    store.put_did("0287300010", "beta").await.unwrap();
    // Another tenant's DID, another tenant's user, a menu or queue that does not exist.
    assert!(
        store
            .route_did(DID, "beta", Some(&DidRoute::Queue("support".into())))
            .await
            .is_err()
    );
    for route in [
        DidRoute::Extension("1001".into()),
        DidRoute::Menu("main".into()),
        DidRoute::Queue("sales".into()),
        DidRoute::Outside("*97".into()),
        DidRoute::Outside("0290 XML acme".into()),
        // An emergency number, and the platform's own DIDs (a loop through the trunk).
        DidRoute::Outside("112".into()),
        DidRoute::Outside(DID.into()),
        DidRoute::Outside("0287300010".into()),
    ] {
        assert!(
            store
                .route_did("0287300010", "beta", Some(&route))
                .await
                .is_err(),
            "{route:?}"
        );
    }
    // A queue or menu without a dial name can be routed to by no DID.
    store
        .put_queue(&QueueRow {
            tenant: "beta".into(),
            name: "hidden".into(),
            extension: None,
            strategy: "ring-all".into(),
            moh_sound: None,
            service_level_seconds: 20,
        })
        .await
        .unwrap();
    assert!(
        store
            .route_did(
                "0287300010",
                "beta",
                Some(&DidRoute::Queue("hidden".into()))
            )
            .await
            .is_err()
    );
    // One name, one thing: a user's, a queue's or a menu's.
    let queue = |extension: &str| QueueRow {
        tenant: "acme".into(),
        name: "sales".into(),
        extension: Some(extension.into()),
        strategy: "ring-all".into(),
        moh_sound: None,
        service_level_seconds: 20,
    };
    for taken in ["1001", "ivr", "8000", "112", "a b"] {
        assert!(store.put_queue(&queue(taken)).await.is_err(), "{taken}");
    }
    store.put_queue(&queue("8001")).await.unwrap();
    // The queue keeps its own name when written again.
    store.put_queue(&queue("8001")).await.unwrap();
    let user = ExtensionRow {
        tenant: "acme".into(),
        extension: "8001".into(),
        password: Some("password-of-8001".into()),
        a1_hash: None,
        caller_id_name: None,
        caller_id_number: None,
        record_calls: false,
    };
    assert!(store.put_extension(&user).await.is_err());
    // Names that reach `callcenter`/`ivr` data as name@tenant are names.
    for hostile in ["a b", "x@beta", "${api(x)}", ""] {
        let mut q = queue("8002");
        q.name = hostile.into();
        assert!(store.put_queue(&q).await.is_err(), "{hostile:?}");
        let agent = AgentRow {
            tenant: "acme".into(),
            name: hostile.into(),
            contact: "user/1001@acme.example".into(),
            status: "Available".into(),
        };
        assert!(store.put_agent(&agent).await.is_err(), "{hostile:?}");
    }
    // A tenant id that differs from another's only in case (FreeSWITCH matches names
    // ignoring case).
    let twin = Tenant {
        tenant: "Acme".into(),
        domain: "acme-twin.example".into(),
        context: "acme_twin".into(),
        gateway: None,
        prepaid: false,
        record_calls: false,
        prepaid_slice_seconds: None,
        time_zone: None,
        disabled: false,
    };
    assert!(store.put_tenant(&twin).await.is_err());
    assert!(
        store
            .put_tenant(&Tenant {
                tenant: "gamma".into(),
                domain: "gamma.example".into(),
                context: "public".into(),
                gateway: None,
                prepaid: false,
                record_calls: false,
                prepaid_slice_seconds: None,
                time_zone: None,
                disabled: false,
            })
            .await
            .is_err()
    );
}

/// A ring group: its dial name rings its members in turn (each for its ring time) or all at
/// once, registered users of the tenant's domain; a DID reaches it by its route; an extension
/// in a group cannot be removed, nor a group a DID routes to; its members are the tenant's.
#[tokio::test]
async fn a_ring_group_rings_its_members_in_turn_or_at_once() {
    use platform::ring_groups::{RingGroupRow, RingStrategy};
    let platform = platform().await;
    let store = &platform.store;
    let mut group = RingGroupRow {
        tenant: "acme".into(),
        name: "sales".into(),
        extension: Some("7100".into()),
        strategy: RingStrategy::Sequential,
        ring_seconds: 15,
        members: vec!["1001".into(), "1002".into()],
    };
    store.put_ring_group(&group).await.unwrap();
    let (_, actions) = dialplan(&dial(&platform, "acme", "7100").await);
    assert!(
        actions.contains(&action(
            "bridge",
            "[leg_timeout=15]user/1001@acme.example|[leg_timeout=15]user/1002@acme.example"
        )),
        "{actions:?}"
    );
    assert_eq!(actions.last(), Some(&action("hangup", "NO_ANSWER")));
    group.strategy = RingStrategy::Simultaneous;
    store.put_ring_group(&group).await.unwrap();
    let (_, actions) = dialplan(&dial(&platform, "acme", "7100").await);
    assert!(actions.contains(&action(
        "bridge",
        "[leg_timeout=15]user/1001@acme.example,[leg_timeout=15]user/1002@acme.example"
    )));

    store.put_did("0287300030", "acme").await.unwrap();
    store
        .route_did("0287300030", "acme", Some(&DidRoute::Group("sales".into())))
        .await
        .unwrap();
    let (_, actions) = dialplan(&dial(&platform, "public", "0287300030").await);
    assert!(
        actions.contains(&action("transfer", "7100 XML acme")),
        "{actions:?}"
    );
    assert!(store.delete_extension("acme", "1002").await.is_err());
    assert!(store.delete_ring_group("acme", "sales").await.is_err());

    // Another tenant's extension, the same one twice, a taken dial name: refused.
    for members in [vec!["1001", "1099"], vec!["1001", "1001"], vec![]] {
        let bad = RingGroupRow {
            members: members.into_iter().map(Into::into).collect(),
            ..group.clone()
        };
        assert!(store.put_ring_group(&bad).await.is_err());
    }
    let taken = RingGroupRow {
        name: "other".into(),
        extension: Some("1001".into()),
        ..group.clone()
    };
    assert!(store.put_ring_group(&taken).await.is_err());
    let beta_member = RingGroupRow {
        tenant: "beta".into(),
        ..group.clone()
    };
    assert!(
        store.put_ring_group(&beta_member).await.is_err(),
        "acme's extensions are not beta's"
    );
}

/// A DID routed to a schedule goes where the schedule's rule for the time of the call says
/// (here one that holds all week), else to its `otherwise` route; schedules do not nest, name
/// only the tenant's targets, and one a DID routes to is not removed.
#[tokio::test]
async fn a_scheduled_did_goes_where_the_time_of_day_says() {
    use platform::schedules::{Days, ScheduleRow};
    let platform = platform().await;
    let store = &platform.store;
    let always = Days::parse("mon-sun").unwrap();
    let mut hours = ScheduleRow {
        tenant: "acme".into(),
        name: "hours".into(),
        rules: vec![(always, 0, 1440, DidRoute::Queue("support".into()))],
        otherwise: DidRoute::Menu("main".into()),
    };
    store.put_schedule(&hours).await.unwrap();
    store.put_did("0287300040", "acme").await.unwrap();
    store
        .route_did(
            "0287300040",
            "acme",
            Some(&DidRoute::Schedule("hours".into())),
        )
        .await
        .unwrap();
    let (_, actions) = dialplan(&dial(&platform, "public", "0287300040").await);
    assert!(
        actions.contains(&action("transfer", "8000 XML acme")),
        "{actions:?}"
    );
    hours.rules.clear();
    store.put_schedule(&hours).await.unwrap();
    let (_, actions) = dialplan(&dial(&platform, "public", "0287300040").await);
    assert!(
        actions.contains(&action("transfer", "ivr XML acme")),
        "{actions:?}"
    );

    for bad in [
        DidRoute::Schedule("hours".into()),
        DidRoute::Queue("nosuch".into()),
        DidRoute::Extension("1999".into()),
    ] {
        let nested = ScheduleRow {
            name: "other".into(),
            otherwise: bad.clone(),
            ..hours.clone()
        };
        assert!(store.put_schedule(&nested).await.is_err(), "{bad:?}");
    }
    let backwards = ScheduleRow {
        name: "other".into(),
        rules: vec![(always, 600, 540, DidRoute::Queue("support".into()))],
        ..hours.clone()
    };
    assert!(store.put_schedule(&backwards).await.is_err());
    assert!(store.delete_schedule("acme", "hours").await.is_err());
    let beta = ScheduleRow {
        tenant: "beta".into(),
        otherwise: DidRoute::Menu("main".into()),
        ..hours.clone()
    };
    assert!(
        store.put_schedule(&beta).await.is_err(),
        "acme's menu is not beta's"
    );
}

/// A menu greeting with an uploaded prompt: ivr.conf gives FreeSWITCH a pre-signed URL of the
/// object in the S3 store behind `http_cache://`, and that URL serves the prompt's bytes (one
/// never uploaded answers 404).
#[tokio::test]
async fn a_prompt_in_the_store_is_served_as_a_url_freeswitch_can_fetch() {
    use object_store::ObjectStoreExt;
    let platform = platform().await;
    let (samples, layout) = tests::recordings::fixture_samples("mono_");
    let wav = tests::recordings::looped_wav(&samples, layout.sample_rate, 1, 1);
    let s3 = recording::Destination::s3(&tests::recordings::require_s3()).unwrap();
    let key = callcenter::prompts::key("acme", "welcome");
    s3.store()
        .put(
            &object_store::path::Path::parse(&key).unwrap(),
            wav.clone().into(),
        )
        .await
        .unwrap();
    let menu = MenuRow {
        tenant: "acme".into(),
        name: "greeted".into(),
        extension: None,
        greet_long: "prompt:welcome".into(),
        greet_short: "prompt:missing".into(),
        invalid_sound: "ivr/ivr-that_was_an_invalid_entry.wav".into(),
        exit_sound: "voicemail/vm-goodbye.wav".into(),
        timeout_ms: 3000,
        max_failures: 2,
        entries: Vec::new(),
    };
    platform.store.put_menu(&menu).await.unwrap();
    let form = "section=configuration&tag_name=configuration&key_name=name&key_value=ivr.conf&Menu-Name=greeted%40acme";
    let request = http::post(
        "/fsapi",
        &[
            AUTHORIZATION,
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        form.as_bytes(),
    );
    let response = http::send(platform.address, &request).await.unwrap();
    let xml = String::from_utf8(response.body).unwrap();
    let menu = elements(&xml, "menu")
        .into_iter()
        .find(|m| attribute(m, "name") == "greeted@acme")
        .unwrap();
    let greeting = attribute(&menu, "greet-long").to_owned();
    let url = greeting
        .strip_prefix("http_cache://http://127.0.0.1:3900")
        .unwrap_or_else(|| panic!("{greeting}"));
    assert!(url.starts_with(&format!("/recordings/{key}?")), "{url}");
    let fetched = signed_get(url).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body, wav);
    // One never uploaded (or removed): its URL answers 404, FreeSWITCH plays nothing.
    let missing = attribute(&menu, "greet-short").to_owned();
    let url = missing
        .strip_prefix("http_cache://http://127.0.0.1:3900")
        .unwrap();
    assert_eq!(signed_get(url).await.status, 404);
}

/// A GET of a pre-signed path on the test S3 server, with the host it was signed for.
async fn signed_get(path_and_query: &str) -> http::Response {
    let request = format!(
        "GET {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1:3900\r\nConnection: close\r\n\r\n"
    );
    http::send("127.0.0.1:3900".parse().unwrap(), request.as_bytes())
        .await
        .unwrap()
}
