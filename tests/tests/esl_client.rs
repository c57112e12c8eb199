//! The inbound client against the replay server, session by session as each real capture
//! recorded it.

use esl::api::{Destination, Endpoint, Originate};
use esl::client::{Backoff, Error, EventStream, Incoming, Options};
use esl::proto::{Body, Command, EventFormat, LogLevel};
use std::collections::BTreeMap;
use std::time::Duration;
use tests::replay::{Capture, Plan, ReplayServer};

async fn connect(server: &ReplayServer) -> (esl::client::Client, EventStream) {
    Options::new(server.address(), "ClueCon")
        .command_timeout(Duration::from_secs(10))
        .connect()
        .await
        .expect("connects and authenticates")
}

/// Everything left on the stream until it ends.
async fn drain(events: &mut EventStream) -> Vec<Incoming> {
    let mut items = Vec::new();
    while let Some(item) = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("the stream ends")
    {
        items.push(item);
    }
    items
}

fn event_names(items: &[Incoming]) -> BTreeMap<String, usize> {
    let mut names = BTreeMap::new();
    for item in items {
        if let Incoming::Event(event) = item {
            *names.entry(event.name().unwrap().into_owned()).or_default() += 1;
        }
    }
    names
}

fn loopback_originate(uuid: &str, extension: &str) -> Originate {
    Originate::new(
        Endpoint::Loopback {
            extension: extension.into(),
            context: Some("default".into()),
        },
        Destination::Application {
            app: "playback".into(),
            arg: Some("tone_stream://%(1000,0,440);loops=5".into()),
        },
    )
    .variable("origination_uuid", uuid)
    .variable("origination_caller_id_number", "1000")
}

async fn call_session(capture: &str, format: EventFormat, uuid: &str, extension: &str) {
    let server = ReplayServer::start(
        Capture::load(capture),
        Plan {
            skip_commands: vec!["nosuchcommand"],
            ..Plan::default()
        },
    )
    .await;
    let (client, mut events) = connect(&server).await;
    client.subscribe(format, &["ALL"]).await.unwrap();
    let status = client.api("status").await.unwrap();
    assert!(status.starts_with("UP 0 years"), "{status}");
    let background = client.bgapi("status").await.unwrap();
    assert!(background.contains("is ready"), "{background}");
    assert!(
        client
            .api("show channels as json")
            .await
            .unwrap()
            .contains("row_count")
    );
    let call = client
        .originate(&loopback_originate(uuid, extension))
        .await
        .unwrap();
    assert_eq!(call, uuid);
    client.api("show channels as json").await.unwrap();
    let dump = client.api(&format!("uuid_dump {uuid} json")).await.unwrap();
    assert!(dump.contains(uuid));
    assert!(client.api("show api").await.unwrap().len() > 10_000);
    match client.api("nosuchcommand foo").await {
        Err(Error::ApiFailed(text)) => assert!(text.starts_with("-ERR"), "{text}"),
        other => panic!("expected an api error, got {other:?}"),
    }
    client.exit().await.unwrap();
    let items = drain(&mut events).await;
    let names = event_names(&items);
    assert_eq!(names.values().sum::<usize>(), 64, "{capture}: {names:?}");
    assert_eq!(
        names["BACKGROUND_JOB"], 2,
        "the user subscribed to ALL, so sees job events"
    );
    assert_eq!(names["RECORD_STOP"], 1);
    assert!(matches!(items.last(), Some(Incoming::DisconnectNotice(_))));
    assert!(
        items
            .iter()
            .all(|i| !matches!(i, Incoming::Disconnected(_)))
    );
    assert!(server.log().errors.is_empty(), "{:?}", server.log().errors);
}

#[tokio::test]
async fn plain_session_api_bgapi_and_events() {
    call_session(
        "esl-plain.raw",
        EventFormat::Plain,
        "ed22627b-4a74-4b96-b832-34a59357db96",
        "9999",
    )
    .await;
}

#[tokio::test]
async fn json_session_api_bgapi_and_events() {
    call_session(
        "esl-json.raw",
        EventFormat::Json,
        "e9e0875f-a631-49d6-b13d-e8a163362d56",
        "9998",
    )
    .await;
}

#[tokio::test]
async fn xml_session_api_bgapi_and_events() {
    call_session(
        "esl-xml.raw",
        EventFormat::Xml,
        "60e75c04-80ba-42ef-8b30-2a51c2ad7f1a",
        "9999",
    )
    .await;
}

#[tokio::test]
async fn wrong_password_is_a_typed_error() {
    let server = ReplayServer::start(Capture::load("esl-auth-fail.raw"), Plan::default()).await;
    let result = Options::new(server.address(), "WrongPassword")
        .connect()
        .await;
    match result {
        Err(Error::AuthFailed(text)) => assert_eq!(text, "-ERR invalid"),
        other => panic!("expected AuthFailed, got {other:?}"),
    }
    assert!(server.log().errors.is_empty(), "{:?}", server.log().errors);
}

#[tokio::test]
async fn refused_auth_step_is_a_typed_error() {
    // FreeSWITCH's answer to a command before authentication, given to our auth.
    let raw = std::fs::read(tests::fixture("esl/esl-preauth.raw")).unwrap();
    let server = ReplayServer::start(
        Capture::from_bytes(&raw, b"auth ClueCon\n\nexit\n\n"),
        Plan::default(),
    )
    .await;
    match Options::new(server.address(), "ClueCon").connect().await {
        Err(Error::AuthFailed(text)) => assert_eq!(text, "-ERR command not found"),
        other => panic!("expected AuthFailed, got {other:?}"),
    }
}

#[tokio::test]
async fn rude_rejection_is_a_typed_error() {
    let raw = b"Content-Type: text/rude-rejection\nContent-Length: 24\n\nAccess Denied, go away.\n";
    let server = ReplayServer::start(Capture::from_bytes(raw, b""), Plan::default()).await;
    match Options::new(server.address(), "ClueCon").connect().await {
        Err(Error::Rejected(text)) => assert_eq!(text, "Access Denied, go away."),
        other => panic!("expected Rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn connect_timeout_is_a_typed_error() {
    // A listener that never speaks.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let result = Options::new(silent.local_addr().unwrap().to_string(), "ClueCon")
        .connect_timeout(Duration::from_millis(200))
        .connect()
        .await;
    assert!(
        matches!(result, Err(Error::ConnectTimeout(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn log_stream_delivers_log_lines() {
    let server = ReplayServer::start(Capture::load("esl-log.raw"), Plan::default()).await;
    let (client, mut events) = connect(&server).await;
    client.log(LogLevel::Debug).await.unwrap();
    assert_eq!(client.api("reloadxml").await.unwrap(), "+OK [Success]\n");
    let reply = client
        .send(&Command::BgApi {
            command: "originate loopback/9999/default &playback(tone_stream://%(1000,0,440);loops=4)",
            job_uuid: None,
        })
        .await
        .unwrap();
    assert!(reply.reply_text().unwrap().starts_with("+OK Job-UUID"));
    client.nolog().await.unwrap();
    client.exit().await.unwrap();
    let items = drain(&mut events).await;
    let logs: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            Incoming::Log(line) => Some(line),
            _ => None,
        })
        .collect();
    assert_eq!(logs.len(), 120);
    assert!(
        logs.iter()
            .all(|l| l.level().is_some_and(|level| level <= 7))
    );
    assert!(logs[0].text().contains("Timezone reloaded"));
    assert!(server.log().errors.is_empty(), "{:?}", server.log().errors);
}

#[tokio::test]
async fn filters_sendmsg_sendevent_and_job_ids_chosen_by_the_client() {
    let server = ReplayServer::start(Capture::load("esl-misc.raw"), Plan::default()).await;
    let (client, mut events) = connect(&server).await;
    let uuid = "19168d90-ed14-4df7-90c4-d07dd1c9c147";
    client
        .subscribe(
            EventFormat::Plain,
            &[
                "CHANNEL_CREATE",
                "CHANNEL_ANSWER",
                "CHANNEL_EXECUTE",
                "CHANNEL_EXECUTE_COMPLETE",
                "CHANNEL_HANGUP_COMPLETE",
                "CHANNEL_DESTROY",
                "BACKGROUND_JOB",
                "CUSTOM",
                "esltest::custom",
            ],
        )
        .await
        .unwrap();
    client.filter("Unique-ID", uuid).await.unwrap();
    client.filter("Event-Name", "BACKGROUND_JOB").await.unwrap();
    client.filter("Event-Name", "CUSTOM").await.unwrap();
    let originate = format!("originate {{origination_uuid={uuid}}}loopback/9997/default &park");
    assert_eq!(
        client.bgapi(&originate).await.unwrap(),
        format!("+OK {uuid}\n")
    );
    let playback = client
        .execute(uuid, "playback", Some("tone_stream://%(500,0,440);loops=1"))
        .await
        .unwrap();
    client
        .send(&Command::SendEvent {
            name: "CUSTOM",
            headers: &[
                ("Event-Subclass", "esltest::custom"),
                ("X-Test-Header", "hello world"),
            ],
            body: Some(Body {
                content_type: "text/plain",
                content: b"hello body!",
            }),
        })
        .await
        .unwrap();
    client
        .filter_delete("Event-Name", Some("CUSTOM"))
        .await
        .unwrap();
    assert_eq!(
        client
            .uuid_getvar(uuid, "loopback_leg")
            .await
            .unwrap()
            .as_deref(),
        Some("A")
    );
    assert!(
        client
            .uuid_kill(uuid, None)
            .await
            .unwrap()
            .starts_with("+OK")
    );
    client.filter_delete("Unique-ID", Some(uuid)).await.unwrap();
    client.filter_delete_all().await.unwrap();
    client.unsubscribe(&["CHANNEL_CREATE"]).await.unwrap();
    client.unsubscribe_all().await.unwrap();
    match client
        .uuid_kill("00000000-0000-0000-0000-000000000000", None)
        .await
    {
        Err(Error::ApiFailed(text)) => assert_eq!(text, "-ERR No such channel!"),
        other => panic!("expected an api error, got {other:?}"),
    }
    // FreeSWITCH refuses a subscription without names; the error carries its words.
    match client.subscribe(EventFormat::Plain, &[]).await {
        Err(Error::CommandFailed(text)) => assert_eq!(text, "-ERR no keywords supplied"),
        other => panic!("expected a command error, got {other:?}"),
    }
    // The execution completed while the session went on.
    let done = playback.completed().await.unwrap();
    assert_eq!(done.header("Application").as_deref(), Some("playback"));
    client.exit().await.unwrap();
    let items = drain(&mut events).await;
    let custom = items
        .iter()
        .find_map(|i| match i {
            Incoming::Event(e) if e.name().as_deref() == Some("CUSTOM") => Some(e.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(custom.body(), Some(&b"hello body!"[..]));
    assert_eq!(event_names(&items).values().sum::<usize>(), 10);
    assert!(server.log().errors.is_empty(), "{:?}", server.log().errors);
}

#[tokio::test]
async fn bgapi_result_survives_interleaved_events_and_pipelining() {
    let server = ReplayServer::start(Capture::load("esl-plain.raw"), Plan::default()).await;
    let (client, mut events) = connect(&server).await;
    client
        .subscribe(EventFormat::Plain, &["ALL"])
        .await
        .unwrap();
    // Three commands in flight at once from three tasks on one connection; the replay server
    // checks they arrive in the capture's order, and each gets its own reply.
    let (a, b) = (client.clone(), client.clone());
    let status = tokio::spawn(async move { a.api("status").await });
    tokio::task::yield_now().await;
    let job = tokio::spawn(async move { b.bgapi("status").await });
    let status = status.await.unwrap().unwrap();
    let job = job.await.unwrap().unwrap();
    assert!(status.starts_with("UP"));
    assert!(job.starts_with("UP"));
    assert_ne!(
        status, job,
        "the api and the bgapi results differ in their timing line"
    );
    // The job's own event went to the waiter and, since the user took ALL, to the stream too.
    let mut saw_job_event = false;
    while let Ok(Some(Incoming::Event(event))) =
        tokio::time::timeout(Duration::from_millis(200), events.recv()).await
    {
        saw_job_event |= event.name().as_deref() == Some("BACKGROUND_JOB");
    }
    assert!(saw_job_event);
    assert!(server.log().errors.is_empty(), "{:?}", server.log().errors);
}

#[tokio::test]
async fn disconnect_mid_command_fails_every_pending_command() {
    let server = ReplayServer::start(
        Capture::load("esl-plain.raw"),
        Plan {
            drop_at_command: Some(2),
            ..Plan::default()
        },
    )
    .await;
    let (client, mut events) = connect(&server).await;
    client
        .subscribe(EventFormat::Plain, &["ALL"])
        .await
        .unwrap();
    let (a, b) = (client.clone(), client.clone());
    let first = tokio::spawn(async move { a.api("status").await });
    let second = tokio::spawn(async move { b.bgapi("status").await });
    assert!(matches!(first.await.unwrap(), Err(Error::Disconnected)));
    assert!(matches!(second.await.unwrap(), Err(Error::Disconnected)));
    assert!(matches!(
        client.api("status").await,
        Err(Error::Disconnected)
    ));
    let items = drain(&mut events).await;
    assert!(matches!(
        items.last(),
        Some(Incoming::Disconnected(Error::Disconnected))
    ));
}

#[tokio::test]
async fn reconnect_reauthenticates_and_resubscribes() {
    let server = ReplayServer::start(
        Capture::load("esl-plain.raw"),
        Plan {
            drop_at_command: Some(2),
            ..Plan::default()
        },
    )
    .await;
    let backoff = Backoff {
        initial: Duration::from_millis(10),
        max: Duration::from_millis(100),
        max_attempts: Some(20),
    };
    let (client, mut events) = Options::new(server.address(), "ClueCon")
        .reconnect(backoff)
        .connect()
        .await
        .unwrap();
    client
        .subscribe(EventFormat::Plain, &["ALL"])
        .await
        .unwrap();
    assert!(matches!(
        client.api("status").await,
        Err(Error::Disconnected)
    ));
    let mut reconnected = false;
    while let Some(item) = events.recv().await {
        match item {
            Incoming::Disconnected(_) => {}
            Incoming::Reconnected { attempts } => {
                assert!(attempts >= 1);
                reconnected = true;
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(reconnected);
    // The second connection was authenticated and subscribed again before we were told.
    let log = server.log();
    assert_eq!(log.connections, 2);
    assert_eq!(
        &log.commands[3..5],
        ["auth ClueCon\n\n", "event plain ALL\n\n"]
    );
    assert!(client.api("status").await.unwrap().starts_with("UP"));
    assert!(client.bgapi("status").await.unwrap().starts_with("UP"));
    assert!(server.log().errors.is_empty(), "{:?}", server.log().errors);
}
