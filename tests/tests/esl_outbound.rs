//! The outbound-socket server against FreeSWITCH's side of a real outbound session, replayed.

use esl::client::Incoming;
use esl::outbound::{OutboundServer, OutboundSession};
use esl::proto::Disconnect;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tests::replay::{Capture, dial};

/// Drives the call as the capture's client did: answer, play, hang up (pipelined, completions
/// awaited afterwards), then reads to the end of the session.
async fn drive_call(mut session: OutboundSession) -> Result<Vec<Incoming>, esl::client::Error> {
    session.myevents().await?;
    session.linger(None).await?;
    let answer = session.execute("answer", None).await?;
    let playback = session
        .execute("playback", Some("tone_stream://%(1000,0,440);loops=3"))
        .await?;
    let hangup = session
        .execute_unlocked("hangup", Some("NORMAL_CLEARING"))
        .await?;
    for execution in [answer, playback, hangup] {
        let done = execution.completed().await?;
        assert!(done.header("Application-Response").is_some());
    }
    let mut items = Vec::new();
    while let Some(item) = session.events().recv().await {
        let linger = matches!(item, Incoming::DisconnectNotice(Disconnect::Linger { .. }));
        items.push(item);
        if linger {
            // The channel is gone; the final events have followed; leave.
            break;
        }
    }
    session.exit().await?;
    while let Some(item) = session.events().recv().await {
        items.push(item);
    }
    Ok(items)
}

#[tokio::test]
async fn outbound_session_from_connect_to_disconnect() {
    let server = OutboundServer::bind("127.0.0.1:0").await.unwrap();
    let freeswitch = tokio::spawn(dial(
        server.local_addr().unwrap(),
        Capture::load("esl-outbound.raw"),
    ));
    let session = server.accept().await.unwrap();
    let channel = session.channel_data();
    assert_eq!(channel.name().as_deref(), Some("CHANNEL_DATA"));
    assert_eq!(
        session.unique_id().as_deref(),
        Some("77c22683-8c3f-4aa4-9acb-b8b871622dfd")
    );
    assert_eq!(
        channel.header("Channel-Destination-Number").as_deref(),
        Some("8084")
    );
    assert_eq!(
        session.connect_reply().header("Socket-Mode").as_deref(),
        Some("async")
    );
    let items = tokio::time::timeout(Duration::from_secs(10), drive_call(session))
        .await
        .expect("session ends")
        .expect("session runs");
    let names: Vec<String> = items
        .iter()
        .filter_map(|i| match i {
            Incoming::Event(e) => e.name().map(|n| n.into_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(names.len(), 14, "{names:?}");
    assert!(names.contains(&"CHANNEL_HANGUP_COMPLETE".to_string()));
    assert!(matches!(
        items.last(),
        Some(Incoming::DisconnectNotice(Disconnect::Close))
    ));
    let log = freeswitch.await.unwrap();
    assert!(log.errors.is_empty(), "{:?}", log.errors);
    assert_eq!(log.commands.len(), 7);
}

#[tokio::test]
async fn a_panicking_handler_ends_only_its_own_call() {
    let server = OutboundServer::bind("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let handled = calls.clone();
    tokio::spawn(server.serve(move |session| {
        let call = handled.fetch_add(1, Ordering::SeqCst);
        async move {
            if call == 0 {
                panic!("handler bug on the first call");
            }
            drive_call(session).await.map(drop)
        }
    }));
    // The first call's handler panics: FreeSWITCH's side sees the socket close early.
    let first = dial(addr, Capture::load("esl-outbound.raw")).await;
    assert_eq!(first.connections, 1);
    // The listener still serves the next call, whole.
    let second = tokio::time::timeout(
        Duration::from_secs(10),
        dial(addr, Capture::load("esl-outbound.raw")),
    )
    .await
    .expect("second call ends");
    assert!(second.errors.is_empty(), "{:?}", second.errors);
    assert_eq!(second.commands.len(), 7);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
