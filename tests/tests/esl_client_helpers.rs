//! Helpers and guarantees of the inbound client that the captures do not cover directly: the
//! exact commands the helpers send, job results kept off a stream that did not ask for them,
//! and per-command timeouts.

use esl::client::{Client, Error, Incoming, Options};
use esl::proto::EventFormat;
use std::time::Duration;
use tests::replay::{Capture, Plan, ReplayServer};

const AUTH_REQUEST: &str = "Content-Type: auth/request\n\n";
const ACCEPTED: &str = "Content-Type: command/reply\nReply-Text: +OK accepted\n\n";

fn api_response(body: &str) -> String {
    format!(
        "Content-Type: api/response\nContent-Length: {}\n\n{body}",
        body.len()
    )
}

/// A server that accepts `auth ClueCon`, then expects exactly `commands`, answering each api
/// command with `+OK`.
async fn expecting(commands: &[&str]) -> ReplayServer {
    let mut raw = format!("{AUTH_REQUEST}{ACCEPTED}");
    let mut sent = String::from("auth ClueCon\n\n");
    for command in commands {
        raw.push_str(&api_response("+OK\n"));
        sent.push_str(&format!("api {command}\n\n"));
    }
    ReplayServer::start(
        Capture::from_bytes(raw.as_bytes(), sent.as_bytes()),
        Plan::default(),
    )
    .await
}

#[test]
fn client_handles_are_clone_send_and_sync() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    shareable::<Client>();
}

#[tokio::test]
async fn uuid_helpers_send_the_documented_commands() {
    let uuid = "7f4de4bc-17d7-11dd-b7a0-db4edd065621";
    let other = "0b5d4a2e-1c2f-4b0e-9c5a-1f2e3d4c5b6a";
    let server = expecting(&[
        &format!("uuid_kill {uuid} USER_BUSY"),
        &format!("uuid_transfer {uuid} 1000 XML default"),
        &format!("uuid_bridge {uuid} {other}"),
        &format!("uuid_record {uuid} start /recordings/{uuid}.wav"),
        &format!("uuid_setvar {uuid} tenant_id acme corp"),
        &format!("sched_hangup +90 {uuid} ALLOTTED_TIMEOUT"),
    ])
    .await;
    let (client, _events) = Options::new(server.address(), "ClueCon")
        .connect()
        .await
        .unwrap();
    client.uuid_kill(uuid, Some("USER_BUSY")).await.unwrap();
    client
        .uuid_transfer(uuid, "1000", Some("XML"), Some("default"))
        .await
        .unwrap();
    client.uuid_bridge(uuid, other).await.unwrap();
    client
        .uuid_record(uuid, true, &format!("/recordings/{uuid}.wav"))
        .await
        .unwrap();
    client
        .uuid_setvar(uuid, "tenant_id", "acme corp")
        .await
        .unwrap();
    client
        .sched_hangup(uuid, Duration::from_secs(90), Some("ALLOTTED_TIMEOUT"))
        .await
        .unwrap();
    assert!(server.log().errors.is_empty(), "{:?}", server.log().errors);
    // Arguments that would smuggle a second command are refused before anything is sent.
    assert!(matches!(
        client.uuid_kill("x y", None).await,
        Err(Error::Api(_))
    ));
    assert!(matches!(
        client.uuid_setvar(uuid, "a", "b\nexit").await,
        Err(Error::Api(_))
    ));
}

#[tokio::test]
async fn userauth_authenticates_as_a_directory_user() {
    let raw = format!("{AUTH_REQUEST}{ACCEPTED}");
    let server = ReplayServer::start(
        Capture::from_bytes(raw.as_bytes(), b"userauth 1000@example.com:s3cret\n\n"),
        Plan::default(),
    )
    .await;
    let connected = Options::new(server.address(), "unused")
        .userauth("1000", "example.com", "s3cret")
        .connect()
        .await;
    assert!(connected.is_ok(), "{connected:?}");
    assert!(server.log().errors.is_empty(), "{:?}", server.log().errors);
}

#[tokio::test]
async fn job_results_stay_off_a_stream_that_did_not_ask_for_them() {
    let server = ReplayServer::start(
        Capture::load("esl-plain.raw"),
        Plan {
            answer_bgapi_after: Some(1),
            ..Plan::default()
        },
    )
    .await;
    let (client, mut events) = Options::new(server.address(), "ClueCon")
        .connect()
        .await
        .unwrap();
    client
        .subscribe(EventFormat::Plain, &["CHANNEL_ANSWER"])
        .await
        .unwrap();
    for _ in 0..3 {
        let result = client.bgapi("status").await.unwrap();
        assert!(result.starts_with("UP 0 years"), "{result}");
    }
    // The client subscribed to BACKGROUND_JOB for itself, once, and kept the events to itself.
    let log = server.log();
    assert_eq!(log.errors, Vec::<String>::new());
    drop(client);
    while let Ok(Some(item)) = tokio::time::timeout(Duration::from_millis(300), events.recv()).await
    {
        assert!(
            !matches!(&item, Incoming::Event(e) if e.name().as_deref() == Some("BACKGROUND_JOB")),
            "job result leaked to the stream"
        );
    }
}

#[tokio::test]
async fn a_command_without_reply_times_out() {
    // The server reads the command and never answers it.
    let raw = format!("{AUTH_REQUEST}{ACCEPTED}");
    let server = ReplayServer::start(
        Capture::from_bytes(raw.as_bytes(), b"auth ClueCon\n\napi status\n\n"),
        Plan {
            hold_open: true,
            ..Plan::default()
        },
    )
    .await;
    let (client, _events) = Options::new(server.address(), "ClueCon")
        .command_timeout(Duration::from_millis(200))
        .connect()
        .await
        .unwrap();
    match client.api("status").await {
        Err(Error::Timeout(after)) => assert_eq!(after, Duration::from_millis(200)),
        other => panic!("expected a timeout, got {other:?}"),
    }
}
