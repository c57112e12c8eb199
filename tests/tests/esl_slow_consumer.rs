//! A consumer that stops reading while FreeSWITCH floods a million events: memory stays
//! bounded under either overflow policy, and with the drop policy the counter equals the loss.

use esl::client::{Incoming, Options, Overflow};
use esl::proto::EventFormat;
use std::time::{Duration, Instant};
use tests::replay::{Capture, Flood, Plan, ReplayServer};

const EVENTS: usize = 1_000_000;

/// Peak resident memory of this process, in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

async fn flood_server() -> ReplayServer {
    ReplayServer::start(
        Capture::load("esl-plain.raw"),
        Plan {
            flood: Some(Flood {
                after_commands: 2,
                events: EVENTS,
                max_frame_len: Some(1024),
            }),
            ..Plan::default()
        },
    )
    .await
}

/// Counts events to the end of the stream.
async fn count_events(events: &mut esl::client::EventStream) -> u64 {
    let mut received = 0;
    while let Some(item) = events.recv().await {
        if let Incoming::Event(_) = item {
            received += 1;
        }
    }
    received
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_consumer_memory_is_bounded_and_drops_are_counted() {
    let baseline = peak_rss_kib();

    // Drop policy: the consumer sleeps through the whole flood.
    let server = flood_server().await;
    let (client, mut events) = Options::new(server.address(), "ClueCon")
        .events(1024, Overflow::DropNewest)
        .connect()
        .await
        .unwrap();
    client
        .subscribe(EventFormat::Plain, &["ALL"])
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while server.log().flooded < EVENTS {
        assert!(Instant::now() < deadline, "flood did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let received = count_events(&mut events).await;
    let dropped = client.dropped_events();
    assert_eq!(dropped, events.dropped());
    assert!(
        dropped > 0,
        "a sleeping consumer must lose events under the drop policy"
    );
    assert_eq!(
        received + dropped,
        EVENTS as u64,
        "every lost event is counted"
    );
    assert!(
        received >= 1024,
        "the stream was full when the consumer woke"
    );

    // Backpressure: the consumer sleeps, then reads everything; nothing is lost.
    let server = flood_server().await;
    let (client, mut events) = Options::new(server.address(), "ClueCon")
        .events(1024, Overflow::Backpressure)
        .connect()
        .await
        .unwrap();
    client
        .subscribe(EventFormat::Plain, &["ALL"])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        server.log().flooded < EVENTS,
        "the server is held back by the sleeping consumer"
    );
    let received = count_events(&mut events).await;
    assert_eq!(received, EVENTS as u64);
    assert_eq!(client.dropped_events(), 0);

    // Hundreds of megabytes went through; the process grew by a bounded amount.
    let growth_mib = (peak_rss_kib().saturating_sub(baseline)) / 1024;
    assert!(growth_mib < 64, "peak RSS grew by {growth_mib} MiB");
}
