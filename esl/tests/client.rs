//! The inbound client against a scripted FreeSWITCH on loopback: replies, job results and
//! execution completions reach the call that waits for them however the peer interleaves them.

#![cfg(feature = "client")]

use bytes::BytesMut;
use esl::client::{Client, Error, EventStream, Incoming, Options};
use esl::proto::{EventFormat, write_plain_event};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The FreeSWITCH side of one connection, driven step by step by the test.
struct Peer {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Peer {
    /// The next command the client sent, up to its blank line (the tests send no bodies).
    async fn command(&mut self) -> String {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let command = String::from_utf8(self.buf[..end].to_vec()).unwrap();
                self.buf.drain(..end + 2);
                return command;
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "client closed while a command was expected");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    async fn reply(&mut self, text: &str) {
        let frame = format!("Content-Type: command/reply\nReply-Text: {text}\n\n");
        self.send(frame.as_bytes()).await;
    }

    async fn api_response(&mut self, body: &str) {
        let frame = format!(
            "Content-Type: api/response\nContent-Length: {}\n\n{body}",
            body.len()
        );
        self.send(frame.as_bytes()).await;
    }

    async fn event(&mut self, headers: &[(&str, &str)], body: Option<&[u8]>) {
        let mut wire = BytesMut::new();
        write_plain_event(headers, body, &mut wire).unwrap();
        self.send(&wire).await;
    }
}

/// A connected, authenticated client and the peer it talks to.
async fn connect() -> (Client, EventStream, Peer) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let peer = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut peer = Peer {
            stream,
            buf: Vec::new(),
        };
        peer.send(b"Content-Type: auth/request\n\n").await;
        assert_eq!(peer.command().await, "auth ClueCon");
        peer.reply("+OK accepted").await;
        peer
    });
    let (client, events) = Options::new(address, "ClueCon")
        .command_timeout(Duration::from_secs(5))
        .job_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap();
    (client, events, peer.await.unwrap())
}

fn job_uuid(command: &str) -> String {
    command
        .lines()
        .find_map(|l| l.strip_prefix("Job-UUID: "))
        .expect("a Job-UUID header")
        .to_owned()
}

fn event_uuid(command: &str) -> String {
    command
        .lines()
        .find_map(|l| l.strip_prefix("event-uuid: "))
        .expect("an event-uuid header")
        .to_owned()
}

async fn next_event_name(events: &mut EventStream) -> String {
    let event = tokio::time::timeout(Duration::from_secs(5), events.next_event())
        .await
        .expect("an event in time")
        .expect("the stream is open");
    event.name().unwrap_or_default().into_owned()
}

#[tokio::test]
async fn api_returns_the_body_of_its_response() {
    let (client, _events, mut peer) = connect().await;
    let call = tokio::spawn(async move { client.api("status").await });
    assert_eq!(peer.command().await, "api status");
    peer.api_response("UP 0 years\n").await;
    assert_eq!(call.await.unwrap().unwrap(), "UP 0 years\n");
}

#[tokio::test]
async fn pipelined_replies_resolve_in_send_order_with_events_between() {
    let (client, mut events, mut peer) = connect().await;
    let subscribe = {
        let client = client.clone();
        tokio::spawn(async move { client.subscribe(EventFormat::Plain, &["ALL"]).await })
    };
    assert_eq!(peer.command().await, "event plain ALL");
    peer.reply("+OK event listener enabled plain").await;
    subscribe.await.unwrap().unwrap();

    let calls =
        tokio::spawn(async move { tokio::join!(client.api("first"), client.api("second")) });
    assert_eq!(peer.command().await, "api first");
    assert_eq!(peer.command().await, "api second");
    peer.event(&[("Event-Name", "HEARTBEAT")], None).await;
    peer.api_response("one").await;
    peer.event(&[("Event-Name", "CHANNEL_CREATE")], None).await;
    peer.api_response("two").await;
    let (first, second) = calls.await.unwrap();
    assert_eq!(first.unwrap(), "one");
    assert_eq!(second.unwrap(), "two");
    assert_eq!(next_event_name(&mut events).await, "HEARTBEAT");
    assert_eq!(next_event_name(&mut events).await, "CHANNEL_CREATE");
}

#[tokio::test]
async fn bgapi_result_arriving_before_its_reply_still_resolves_the_job() {
    let (client, _events, mut peer) = connect().await;
    let call = tokio::spawn(async move { client.bgapi("status").await });
    assert_eq!(peer.command().await, "event plain BACKGROUND_JOB");
    let bgapi = peer.command().await;
    assert!(bgapi.starts_with("bgapi status\nJob-UUID: "), "{bgapi}");
    let job = job_uuid(&bgapi);
    peer.reply("+OK event listener enabled plain").await;
    peer.event(
        &[("Event-Name", "BACKGROUND_JOB"), ("Job-UUID", &job)],
        Some(b"+OK done\n"),
    )
    .await;
    peer.reply(&format!("+OK Job-UUID: {job}")).await;
    assert_eq!(call.await.unwrap().unwrap(), "+OK done\n");
}

#[tokio::test]
async fn bgapi_result_after_its_reply_resolves_and_other_jobs_are_ignored() {
    let (client, mut events, mut peer) = connect().await;
    let call = {
        let client = client.clone();
        tokio::spawn(async move { client.bgapi("status").await })
    };
    assert_eq!(peer.command().await, "event plain BACKGROUND_JOB");
    let job = job_uuid(&peer.command().await);
    peer.reply("+OK event listener enabled plain").await;
    peer.reply(&format!("+OK Job-UUID: {job}")).await;
    peer.event(
        &[
            ("Event-Name", "BACKGROUND_JOB"),
            ("Job-UUID", "someone-else"),
        ],
        Some(b"+OK not yours\n"),
    )
    .await;
    peer.event(
        &[("Event-Name", "BACKGROUND_JOB"), ("Job-UUID", &job)],
        Some(b"-ERR no such channel\n"),
    )
    .await;
    match call.await.unwrap() {
        Err(Error::ApiFailed(text)) => assert_eq!(text, "-ERR no such channel"),
        other => panic!("expected ApiFailed, got {other:?}"),
    }
    // The client subscribed to BACKGROUND_JOB for itself: none of them reach the stream.
    peer.event(&[("Event-Name", "HEARTBEAT")], None).await;
    assert_eq!(next_event_name(&mut events).await, "HEARTBEAT");
    drop(client);
}

#[tokio::test]
async fn bgapi_refused_by_its_reply_fails_with_that_text() {
    let (client, _events, mut peer) = connect().await;
    let call = tokio::spawn(async move { client.bgapi("status").await });
    assert_eq!(peer.command().await, "event plain BACKGROUND_JOB");
    peer.command().await;
    peer.reply("+OK event listener enabled plain").await;
    peer.reply("-ERR no permission").await;
    match call.await.unwrap() {
        Err(Error::CommandFailed(text)) => assert_eq!(text, "-ERR no permission"),
        other => panic!("expected CommandFailed, got {other:?}"),
    }
}

#[tokio::test]
async fn execution_completes_on_its_own_application_uuid() {
    let (client, _events, mut peer) = connect().await;
    let call = tokio::spawn(async move {
        let execution = client.execute("abc", "playback", Some("x.wav")).await?;
        execution.completed().await
    });
    assert_eq!(peer.command().await, "event plain CHANNEL_EXECUTE_COMPLETE");
    let sendmsg = peer.command().await;
    assert!(sendmsg.starts_with("sendmsg abc\ncall-command: execute\n"));
    let id = event_uuid(&sendmsg);
    peer.reply("+OK event listener enabled plain").await;
    peer.reply("+OK").await;
    peer.event(
        &[
            ("Event-Name", "CHANNEL_EXECUTE_COMPLETE"),
            ("Application-UUID", "another-execution"),
            ("Application-Response", "WRONG"),
        ],
        None,
    )
    .await;
    peer.event(
        &[
            ("Event-Name", "CHANNEL_EXECUTE_COMPLETE"),
            ("Application-UUID", &id),
            ("Application-Response", "FILE PLAYED"),
        ],
        None,
    )
    .await;
    let event = call.await.unwrap().unwrap();
    assert_eq!(
        event.header("Application-Response").as_deref(),
        Some("FILE PLAYED")
    );
}

#[tokio::test]
async fn refused_execution_fails_at_once() {
    let (client, _events, mut peer) = connect().await;
    let call = tokio::spawn(async move { client.execute("abc", "playback", None).await });
    peer.command().await;
    peer.command().await;
    peer.reply("+OK event listener enabled plain").await;
    peer.reply("-ERR invalid session id [abc]").await;
    match call.await.unwrap() {
        Err(Error::CommandFailed(text)) => assert_eq!(text, "-ERR invalid session id [abc]"),
        other => panic!("expected CommandFailed, got {other:?}"),
    }
}

#[tokio::test]
async fn disconnect_fails_every_pending_request() {
    let (client, mut events, mut peer) = connect().await;
    let job = {
        let client = client.clone();
        tokio::spawn(async move { client.bgapi("originate x &park").await })
    };
    peer.command().await;
    let job_id = job_uuid(&peer.command().await);
    peer.reply("+OK event listener enabled plain").await;
    peer.reply(&format!("+OK Job-UUID: {job_id}")).await;
    let api = {
        let client = client.clone();
        tokio::spawn(async move { client.api("status").await })
    };
    assert_eq!(peer.command().await, "api status");
    drop(peer);
    assert!(matches!(api.await.unwrap(), Err(Error::Disconnected)));
    assert!(matches!(job.await.unwrap(), Err(Error::Disconnected)));
    let notice = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .unwrap();
    assert!(
        matches!(notice, Some(Incoming::Disconnected(_))),
        "{notice:?}"
    );
    assert!(matches!(
        client.api("status").await,
        Err(Error::Disconnected)
    ));
}

#[tokio::test]
async fn log_lines_and_disconnect_notices_reach_the_stream() {
    let (_client, mut events, mut peer) = connect().await;
    peer.send(b"Content-Type: log/data\nContent-Length: 6\nLog-Level: 7\n\nhello\n")
        .await;
    peer.send(b"Content-Type: text/disconnect-notice\nContent-Length: 0\n\n")
        .await;
    match events.recv().await {
        Some(Incoming::Log(line)) => {
            assert_eq!(line.level(), Some(7));
            assert_eq!(line.text(), "hello\n");
        }
        other => panic!("expected a log line, got {other:?}"),
    }
    assert!(matches!(
        events.recv().await,
        Some(Incoming::DisconnectNotice(_))
    ));
}

#[tokio::test]
async fn refused_connection_keeps_its_io_kind() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);
    let error = Options::new(address, "ClueCon")
        .connect()
        .await
        .unwrap_err();
    assert_eq!(
        error.io_kind(),
        Some(std::io::ErrorKind::ConnectionRefused),
        "{error:?}"
    );
    assert!(std::error::Error::source(&error).is_some());
}

#[tokio::test]
async fn typed_subscriptions_put_custom_subclasses_last() {
    use esl::proto::EventName;
    let (client, _events, mut peer) = connect().await;
    let call = tokio::spawn(async move {
        client
            .subscribe_to(
                EventFormat::Json,
                &[
                    EventName::Custom("sofia::register".into()),
                    EventName::ChannelHangupComplete,
                    EventName::RecordStop,
                ],
            )
            .await
    });
    assert_eq!(
        peer.command().await,
        "event json CHANNEL_HANGUP_COMPLETE RECORD_STOP CUSTOM sofia::register"
    );
    peer.reply("+OK event listener enabled json").await;
    call.await.unwrap().unwrap();
}

#[tokio::test]
async fn typed_commands_run_through_api_and_read_their_results() {
    use esl::api::UuidGetVar;
    let (client, _events, mut peer) = connect().await;
    let calls = tokio::spawn(async move {
        let unset = client
            .run(&UuidGetVar {
                uuid: "abc".into(),
                name: "billsec".into(),
            })
            .await;
        let killed = client.uuid_kill("abc", Some("OUTGOING_CALL_BARRED")).await;
        let limited = client
            .sched_hangup("abc", Duration::from_secs(1000), Some("ALLOTTED_TIMEOUT"))
            .await;
        let refused = client.uuid_kill("abc def", None).await;
        (unset, killed, limited, refused)
    });
    assert_eq!(peer.command().await, "api uuid_getvar abc billsec");
    peer.api_response("_undef_").await;
    assert_eq!(
        peer.command().await,
        "api uuid_kill abc OUTGOING_CALL_BARRED"
    );
    peer.api_response("-ERR No such channel!\n").await;
    assert_eq!(
        peer.command().await,
        "api sched_hangup +1000 abc ALLOTTED_TIMEOUT"
    );
    peer.api_response("+OK Scheduled\n").await;
    let (unset, killed, limited, refused) = calls.await.unwrap();
    assert_eq!(unset.unwrap(), None);
    match killed {
        Err(Error::ApiFailed(text)) => assert_eq!(text, "-ERR No such channel!"),
        other => panic!("expected ApiFailed, got {other:?}"),
    }
    assert_eq!(limited.unwrap(), "+OK Scheduled\n");
    assert!(matches!(refused, Err(Error::Api(_))), "{refused:?}");
}

#[tokio::test]
async fn originate_runs_in_the_background_and_returns_the_new_uuid() {
    use esl::api::{Destination, Endpoint, Originate};
    let (client, _events, mut peer) = connect().await;
    let call = tokio::spawn(async move {
        let originate = Originate::new(
            Endpoint::User {
                user: "1000".into(),
                domain: None,
            },
            Destination::Application {
                app: "park".into(),
                arg: None,
            },
        );
        client.run_background(&originate).await
    });
    assert_eq!(peer.command().await, "event plain BACKGROUND_JOB");
    let bgapi = peer.command().await;
    assert!(bgapi.starts_with("bgapi originate user/1000 &park()\nJob-UUID: "));
    let job = job_uuid(&bgapi);
    peer.reply("+OK event listener enabled plain").await;
    peer.reply(&format!("+OK Job-UUID: {job}")).await;
    peer.event(
        &[("Event-Name", "BACKGROUND_JOB"), ("Job-UUID", &job)],
        Some(b"+OK 7f4b-11\n"),
    )
    .await;
    assert_eq!(call.await.unwrap().unwrap(), "7f4b-11");
}

#[tokio::test]
async fn bgapi_while_reconnecting_fails_at_once_rather_than_at_its_job_timeout() {
    use esl::client::Backoff;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let peer = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut peer = Peer {
            stream,
            buf: Vec::new(),
        };
        peer.send(b"Content-Type: auth/request\n\n").await;
        peer.command().await;
        peer.reply("+OK accepted").await;
        // With every event subscribed, a bgapi needs no setup command of its own.
        assert_eq!(peer.command().await, "event plain ALL");
        peer.reply("+OK event listener enabled plain").await;
        // Keep the listener so the client's reconnect attempts have somewhere to go later.
        (peer, listener)
    });
    let (client, mut events) = Options::new(address, "ClueCon")
        .job_timeout(Duration::from_secs(3))
        .reconnect(Backoff {
            initial: Duration::from_secs(30),
            max: Duration::from_secs(30),
            max_attempts: None,
        })
        .connect()
        .await
        .unwrap();
    client
        .subscribe(EventFormat::Plain, &["ALL"])
        .await
        .unwrap();
    let (peer, _listener) = peer.await.unwrap();
    drop(peer);
    assert!(matches!(
        events.recv().await,
        Some(Incoming::Disconnected(_))
    ));
    let result = client.bgapi("status").await;
    assert!(matches!(result, Err(Error::Disconnected)), "{result:?}");
}
