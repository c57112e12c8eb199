//! Client scenarios on loopback TCP against the replay server, for our client and for
//! `freeswitch-esl-tokio`'s, through each one's public API and default settings.

use std::sync::Arc;
use std::time::{Duration, Instant};
use tests::replay::{Capture, Flood, Plan, ReplayServer};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Which client runs the scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contender {
    /// Our `esl` client.
    Esl,
    /// `freeswitch-esl-tokio` 2.8.0.
    FreeswitchEslTokio,
}

impl Contender {
    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Esl => "esl",
            Self::FreeswitchEslTokio => "freeswitch-esl-tokio",
        }
    }
}

/// A replay server that floods `events` real events (esl-plain.raw's, repeated) after the
/// client authenticates and subscribes.
pub async fn flood_server(events: usize) -> ReplayServer {
    ReplayServer::start(
        Capture::load("esl-plain.raw"),
        Plan {
            flood: Some(Flood {
                after_commands: 2,
                events,
                max_frame_len: None,
            }),
            ..Plan::default()
        },
    )
    .await
}

/// A replay server answering every `bgapi` with its reply and `BACKGROUND_JOB` event.
pub async fn bgapi_server() -> ReplayServer {
    ReplayServer::start(
        Capture::load("esl-plain.raw"),
        Plan {
            answer_bgapi_after: Some(1),
            ..Plan::default()
        },
    )
    .await
}

/// Connects, subscribes to all events in plain format and receives `events` of them; returns
/// the time from the subscription's reply to the last event.
pub async fn receive_events(
    contender: Contender,
    server: &ReplayServer,
    events: usize,
) -> Duration {
    match contender {
        Contender::Esl => {
            let (client, mut stream) = esl::client::Options::new(server.address(), "ClueCon")
                .connect()
                .await
                .expect("connect");
            client
                .subscribe(esl::proto::EventFormat::Plain, &["ALL"])
                .await
                .expect("subscribe");
            let start = Instant::now();
            let mut received = 0;
            while received < events {
                match stream.recv().await {
                    Some(esl::client::Incoming::Event(event)) => {
                        std::hint::black_box(event.name());
                        received += 1;
                    }
                    Some(_) => {}
                    None => panic!("stream ended after {received} events"),
                }
            }
            start.elapsed()
        }
        Contender::FreeswitchEslTokio => {
            use freeswitch_esl_tokio::{EslClient, EventFormat};
            let (client, mut stream) =
                EslClient::connect("127.0.0.1", server.addr().port(), "ClueCon")
                    .await
                    .expect("connect");
            client
                .subscribe_events_raw(EventFormat::Plain, "ALL")
                .await
                .expect("subscribe");
            let start = Instant::now();
            let mut received = 0;
            while received < events {
                match stream.recv().await {
                    Some(Ok(event)) => {
                        std::hint::black_box(event.event_type());
                        received += 1;
                    }
                    Some(Err(e)) => panic!("event error after {received}: {e}"),
                    None => panic!("stream ended after {received} events"),
                }
            }
            start.elapsed()
        }
    }
}

/// Runs `jobs` `bgapi status` commands on one connection, at most `in_flight` at a time, until
/// every result is in; returns the elapsed time.
pub async fn pipelined_bgapi(
    contender: Contender,
    server: &ReplayServer,
    jobs: usize,
    in_flight: usize,
) -> Duration {
    let permits = Arc::new(Semaphore::new(in_flight));
    match contender {
        Contender::Esl => {
            let (client, _events) = esl::client::Options::new(server.address(), "ClueCon")
                .connect()
                .await
                .expect("connect");
            let start = Instant::now();
            let mut tasks = JoinSet::new();
            for _ in 0..jobs {
                let permit = permits.clone().acquire_owned().await.expect("semaphore");
                let client = client.clone();
                tasks.spawn(async move {
                    let result = client.bgapi("status").await.expect("bgapi");
                    drop(permit);
                    result.len()
                });
            }
            while let Some(done) = tasks.join_next().await {
                std::hint::black_box(done.expect("task"));
            }
            start.elapsed()
        }
        Contender::FreeswitchEslTokio => {
            use freeswitch_esl_tokio::{EslClient, EventFormat, HeaderLookup};
            let (client, mut stream) =
                EslClient::connect("127.0.0.1", server.addr().port(), "ClueCon")
                    .await
                    .expect("connect");
            client
                .subscribe_events_raw(EventFormat::Plain, "BACKGROUND_JOB")
                .await
                .expect("subscribe");
            let start = Instant::now();
            // Results arrive on the event stream; each frees a slot for the next command.
            let results = tokio::spawn({
                let permits = permits.clone();
                async move {
                    let mut received = 0;
                    while received < jobs {
                        match stream.recv().await {
                            Some(Ok(event)) => {
                                std::hint::black_box(event.job_uuid());
                                received += 1;
                                permits.add_permits(1);
                            }
                            other => panic!("event stream: {other:?}"),
                        }
                    }
                }
            });
            let mut replies = JoinSet::new();
            for _ in 0..jobs {
                permits.acquire().await.expect("semaphore").forget();
                let client = client.clone();
                replies.spawn(async move {
                    client
                        .bgapi("status")
                        .await
                        .expect("bgapi")
                        .job_uuid()
                        .map(str::len)
                });
            }
            while let Some(reply) = replies.join_next().await {
                std::hint::black_box(reply.expect("task"));
            }
            results.await.expect("results");
            start.elapsed()
        }
    }
}

/// Peak resident memory of this process, in KiB (Linux).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
