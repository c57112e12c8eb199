//! A FreeSWITCH node built from a capture: it answers a client's commands the way FreeSWITCH
//! does (`auth`, `event`, `api`, `bgapi` with its `BACKGROUND_JOB`, `exit`) and, once the
//! client has read `show channels as json`, sends the captured events of its session, as
//! FreeSWITCH would, filtered by what the client subscribed to.
//!
//! Unlike the replay server, the client's commands need not be the capture's: this is the
//! other side for programs (the ESL worker) whose commands depend on what they see.

use bytes::{Bytes, BytesMut};
use esl::proto::FrameDecoder;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How the node marks a subscribed subclass among the subscribed names.
const SUBCLASS_MARK: &str = "subclass:";

/// One event frame (bytes as captured) and its event name.
#[derive(Debug, Clone)]
pub struct EventFrame {
    /// The frame, headers and body.
    pub bytes: Bytes,
    /// `Event-Name`.
    pub name: String,
    /// `Event-Subclass` of a `CUSTOM` event.
    pub subclass: Option<String>,
}

/// Cuts a capture's event frames out of a `.raw` stream.
pub fn event_frames(raw: &[u8]) -> Vec<EventFrame> {
    let mut decoder = FrameDecoder::new();
    let mut buf = BytesMut::from(raw);
    let mut start = 0usize;
    let mut frames = Vec::new();
    while let Ok(Some(frame)) = decoder.decode(&mut buf) {
        let end = decoder.consumed() as usize;
        if frame.is_event()
            && let Ok(event) = frame.event()
            && let Some(name) = event.name()
        {
            frames.push(EventFrame {
                bytes: Bytes::copy_from_slice(&raw[start..end]),
                name: name.into_owned(),
                subclass: event.subclass().map(|s| s.into_owned()),
            });
        }
        start = end;
    }
    frames
}

/// Replaces each `from` with its `to` of the same length (Content-Length stays right).
pub fn substitute(bytes: &[u8], pairs: &[(String, String)]) -> Bytes {
    let mut out = bytes.to_vec();
    for (from, to) in pairs {
        assert_eq!(from.len(), to.len(), "substitutions keep lengths");
        let finder = memchr::memmem::Finder::new(from.as_bytes());
        let mut at = 0;
        while let Some(found) = finder.find(&out[at..]) {
            let start = at + found;
            out[start..start + to.len()].copy_from_slice(to.as_bytes());
            at = start + to.len();
        }
    }
    Bytes::from(out)
}

/// Many calls' worth of events: the template's frames once per call, with the template's call
/// UUIDs replaced by fresh ones (`call_uuid(k, i)`), optionally paced.
#[derive(Debug, Clone)]
pub struct Calls {
    /// One call's frames, in order.
    pub template: Vec<EventFrame>,
    /// The UUIDs in the template to replace for each copy.
    pub uuids: Vec<String>,
    /// Other text to vary per call: call `k` gets `alternatives[k % len]` for `text` (same
    /// length), e.g. a different dialplan context, so calls spread over tenants.
    pub vary: Vec<(String, Vec<String>)>,
    /// How many copies.
    pub calls: usize,
    /// Frames per second to aim at; as fast as possible when `None`.
    pub rate: Option<u32>,
    /// Set to the moment each call's first frame was written (index: call number).
    pub sent: Arc<SentTimes>,
}

/// When each generated call's first frame was written.
#[derive(Debug, Default)]
pub struct SentTimes {
    times: Mutex<Vec<Option<Instant>>>,
}

impl SentTimes {
    /// Room for `calls` calls.
    pub fn new(calls: usize) -> Arc<Self> {
        Arc::new(SentTimes {
            times: Mutex::new(vec![None; calls]),
        })
    }

    /// When call `k` was sent.
    pub fn get(&self, k: usize) -> Option<Instant> {
        self.times.lock().unwrap().get(k).copied().flatten()
    }

    fn set(&self, k: usize, at: Instant) {
        if let Some(slot) = self.times.lock().unwrap().get_mut(k) {
            *slot = Some(at);
        }
    }
}

/// The UUID replacing template UUID `i` in call `k` (same length as any UUID).
pub fn call_uuid(k: usize, i: usize) -> String {
    format!("{:08x}-{:04x}-4000-8000-000000000000", k, i)
}

/// Which call a generated UUID belongs to.
pub fn call_index(uuid: &str) -> Option<usize> {
    usize::from_str_radix(uuid.get(..8)?, 16).ok()
}

/// What one connection plays.
#[derive(Debug, Clone)]
pub struct Session {
    /// The body of the `show channels as json` reply.
    pub channels: String,
    /// Events sent once the client has read the channels.
    pub events: Vec<EventFrame>,
    /// Generated calls sent after `events`.
    pub calls: Option<Calls>,
    /// Close the connection once the events are sent (a dropped connection).
    pub close_after: bool,
    /// Wait for the signal before sending `events[index]`: the test decides when the call
    /// moves on.
    pub pause_before: Vec<(usize, Arc<tokio::sync::Notify>)>,
    /// Answers to `api` commands: the first whose command line (without `api `) starts with
    /// the text gets the body (e.g. a captured `callcenter_config ... list`); others `+OK`.
    /// A `bgapi` job whose command matches gets the body as its result (e.g. `-ERR
    /// USER_NOT_REGISTERED` for an originate); others `+OK <uuid>`.
    pub api_replies: Vec<(String, String)>,
    /// Frames the test writes while the session runs (after `events` and `calls`), sent as
    /// they come and not filtered by the subscription; see [`Feed`].
    pub feed: Option<Feed>,
}

/// Frames handed to a running session: a load generator decides each call's next event as
/// the call goes on (answered now, hung up minutes later).
#[derive(Debug, Clone)]
pub struct Feed(Arc<Mutex<Option<mpsc::Receiver<Bytes>>>>);

impl Feed {
    /// A feed and its sender; the session sends what the sender gives until it is dropped.
    ///
    /// ```
    /// let (sender, feed) = tests::node::Feed::channel(16);
    /// # drop((sender, feed));
    /// ```
    pub fn channel(capacity: usize) -> (mpsc::Sender<Bytes>, Feed) {
        let (sender, receiver) = mpsc::channel(capacity);
        (sender, Feed(Arc::new(Mutex::new(Some(receiver)))))
    }

    fn take(&self) -> Option<mpsc::Receiver<Bytes>> {
        self.0.lock().unwrap().take()
    }
}

impl Session {
    /// An idle node: no channels, no events, kept open.
    pub fn idle() -> Self {
        Session {
            channels: "{\"row_count\": 0}\n".into(),
            events: Vec::new(),
            calls: None,
            close_after: false,
            pause_before: Vec::new(),
            api_replies: Vec::new(),
            feed: None,
        }
    }
}

/// What the node saw.
#[derive(Debug, Default, Clone)]
pub struct NodeLog {
    /// Connections accepted.
    pub connections: usize,
    /// Every command, first line only.
    pub commands: Vec<String>,
}

/// A node listening on loopback. Each connection plays the next session; after the last, idle
/// sessions.
#[derive(Debug)]
pub struct FakeNode {
    addr: SocketAddr,
    log: Arc<Mutex<NodeLog>>,
    sent_events: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl FakeNode {
    /// Listens on 127.0.0.1 (a free port) with this event socket password.
    pub async fn start(password: &str, sessions: Vec<Session>) -> Self {
        Self::start_on(("127.0.0.1", 0), password, sessions).await
    }

    /// Listens on `address`.
    pub async fn start_on(
        address: impl tokio::net::ToSocketAddrs,
        password: &str,
        sessions: Vec<Session>,
    ) -> Self {
        let listener = TcpListener::bind(address).await.expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let log = Arc::new(Mutex::new(NodeLog::default()));
        let sent_events = Arc::new(AtomicUsize::new(0));
        let (task_log, task_sent) = (log.clone(), sent_events.clone());
        let password = password.to_owned();
        let task = tokio::spawn(async move {
            let mut sessions = sessions.into_iter();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let _ = stream.set_nodelay(true);
                task_log.lock().unwrap().connections += 1;
                let session = sessions.next().unwrap_or_else(Session::idle);
                tokio::spawn(serve(
                    stream,
                    password.clone(),
                    session,
                    task_log.clone(),
                    task_sent.clone(),
                ));
            }
        });
        FakeNode {
            addr,
            log,
            sent_events,
            task,
        }
    }

    /// `host:port` to connect to.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// What happened so far.
    pub fn log(&self) -> NodeLog {
        self.log.lock().unwrap().clone()
    }

    /// Event frames written so far, on all connections.
    pub fn events_sent(&self) -> usize {
        self.sent_events.load(Ordering::Relaxed)
    }
}

impl Drop for FakeNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

enum Out {
    Bytes(Bytes),
    Close,
}

async fn serve(
    stream: TcpStream,
    password: String,
    session: Session,
    log: Arc<Mutex<NodeLog>>,
    sent_events: Arc<AtomicUsize>,
) {
    let (mut read, mut write) = stream.into_split();
    let (out, mut queue) = mpsc::channel::<Out>(64);
    let writer = tokio::spawn(async move {
        while let Some(item) = queue.recv().await {
            match item {
                Out::Bytes(bytes) => {
                    if write.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
                Out::Close => break,
            }
        }
        let _ = write.shutdown().await;
    });
    let reply = |text: &str| {
        Out::Bytes(Bytes::from(format!(
            "Content-Type: command/reply\nReply-Text: {text}\n\n"
        )))
    };
    let api = |body: &str| {
        Out::Bytes(Bytes::from(format!(
            "Content-Type: api/response\nContent-Length: {}\n\n{body}",
            body.len()
        )))
    };
    let _ = out
        .send(Out::Bytes(Bytes::from_static(
            b"Content-Type: auth/request\n\n",
        )))
        .await;
    let mut input = BytesMut::new();
    let mut subscribed: HashSet<String> = HashSet::new();
    let replies = session.api_replies.clone();
    let mut session = Some(session);
    let mut jobs = 0u64;
    let mut tasks = 0u64;
    loop {
        let command = loop {
            if let Some(end) = memchr::memmem::find(&input, b"\n\n") {
                break Some(input.split_to(end + 2));
            }
            match read.read_buf(&mut input).await {
                Ok(0) | Err(_) => break None,
                Ok(_) => {}
            }
        };
        let Some(command) = command else { break };
        let text = String::from_utf8_lossy(&command).into_owned();
        let first = text.lines().next().unwrap_or_default().trim().to_owned();
        log.lock().unwrap().commands.push(first.clone());
        let words: Vec<&str> = first.split_whitespace().collect();
        let sent = match words.as_slice() {
            ["auth", given] if *given == password => out.send(reply("+OK accepted")).await,
            ["auth", ..] => {
                let _ = out.send(reply("-ERR invalid")).await;
                let _ = out.send(Out::Close).await;
                break;
            }
            ["event", format, names @ ..] => {
                // As FreeSWITCH reads it: every word after CUSTOM is a subclass.
                let mut custom = false;
                for name in names {
                    if custom {
                        subscribed.insert(format!("{SUBCLASS_MARK}{name}"));
                    } else {
                        custom = *name == "CUSTOM";
                        subscribed.insert(name.to_string());
                    }
                }
                out.send(reply(&format!("+OK event listener enabled {format}")))
                    .await
            }
            ["api", "show", "channels", "as", "json"] => {
                let Some(session) = session.take() else {
                    let _ = out.send(api("{\"row_count\": 0}\n")).await;
                    continue;
                };
                let _ = out.send(api(&session.channels)).await;
                let (out, subscribed, sent_events) =
                    (out.clone(), subscribed.clone(), sent_events.clone());
                tokio::spawn(play_events(session, subscribed, out, sent_events));
                Ok(())
            }
            // The scheduler, as FreeSWITCH answers it: a task id per `sched_api`, a count
            // per `sched_del` (one: the test's calls file one task per group).
            ["api", "sched_api", ..] => {
                tasks += 1;
                out.send(api(&format!("+OK Added: {tasks}\n"))).await
            }
            ["api", "sched_del", ..] => out.send(api("+OK Deleted: 1\n")).await,
            ["api", ..]
                if let Some((_, body)) = replies
                    .iter()
                    .find(|(prefix, _)| first[4..].starts_with(prefix.as_str())) =>
            {
                out.send(api(body)).await
            }
            ["api", ..] => out.send(api("+OK\n")).await,
            ["bgapi", rest @ ..] => {
                jobs += 1;
                let job = text
                    .lines()
                    .find_map(|l| l.strip_prefix("Job-UUID: ").map(str::to_owned))
                    .unwrap_or_else(|| format!("00000000-0000-4000-9000-{jobs:012}"));
                let joined = rest.join(" ");
                let uuid = joined
                    .split("origination_uuid=")
                    .nth(1)
                    .and_then(|s| s.get(..36))
                    .map_or_else(
                        || format!("00000000-0000-4000-a000-{jobs:012}"),
                        str::to_owned,
                    );
                // A reply the session gives for the command (a failed originate), else
                // FreeSWITCH's success.
                let result = replies
                    .iter()
                    .find(|(prefix, _)| joined.starts_with(prefix.as_str()))
                    .map_or_else(|| format!("+OK {uuid}\n"), |(_, body)| body.clone());
                let body = format!(
                    "Event-Name: BACKGROUND_JOB\nJob-UUID: {job}\nJob-Command: originate\nContent-Length: {}\n\n{result}",
                    result.len()
                );
                let _ = out.send(reply(&format!("+OK Job-UUID: {job}"))).await;
                out.send(Out::Bytes(Bytes::from(format!(
                    "Content-Length: {}\nContent-Type: text/event-plain\n\n{body}",
                    body.len()
                ))))
                .await
            }
            ["exit"] => {
                let _ = out.send(reply("+OK bye")).await;
                let _ = out.send(Out::Close).await;
                break;
            }
            _ => out.send(reply("+OK")).await,
        };
        if sent.is_err() {
            break;
        }
    }
    drop(out);
    let _ = writer.await;
}

async fn play_events(
    session: Session,
    subscribed: HashSet<String>,
    out: mpsc::Sender<Out>,
    sent_events: Arc<AtomicUsize>,
) {
    // FreeSWITCH sends a CUSTOM event with a subclass only when the subclass was named.
    let wanted = |frame: &EventFrame| {
        subscribed.contains("ALL")
            || (subscribed.contains(&frame.name)
                && frame.subclass.as_ref().is_none_or(|subclass| {
                    frame.name != "CUSTOM"
                        || subscribed.contains(&format!("{SUBCLASS_MARK}{subclass}"))
                }))
    };
    for (index, frame) in session.events.iter().enumerate() {
        for (_, gate) in session.pause_before.iter().filter(|(at, _)| *at == index) {
            gate.notified().await;
        }
        if !wanted(frame) {
            continue;
        }
        if out.send(Out::Bytes(frame.bytes.clone())).await.is_err() {
            return;
        }
        sent_events.fetch_add(1, Ordering::Relaxed);
    }
    if let Some(calls) = &session.calls {
        let template: Vec<&EventFrame> = calls.template.iter().filter(|f| wanted(f)).collect();
        // One call's frames as one buffer: one substitution pass per call.
        let whole: Vec<u8> = template
            .iter()
            .flat_map(|f| f.bytes.iter().copied())
            .collect();
        let started = Instant::now();
        let (mut total, mut pending) = (0usize, 0usize);
        let mut batch = BytesMut::with_capacity(256 * 1024);
        for k in 0..calls.calls {
            let mut pairs: Vec<(String, String)> = calls
                .uuids
                .iter()
                .enumerate()
                .map(|(i, uuid)| (uuid.clone(), call_uuid(k, i)))
                .collect();
            for (text, alternatives) in &calls.vary {
                if !alternatives.is_empty() {
                    pairs.push((text.clone(), alternatives[k % alternatives.len()].clone()));
                }
            }
            batch.extend_from_slice(&substitute(&whole, &pairs));
            total += template.len();
            pending += template.len();
            let due = calls
                .rate
                .map(|rate| started + Duration::from_secs_f64(total as f64 / rate as f64));
            if batch.len() >= 128 * 1024 || k + 1 == calls.calls || due.is_some() {
                if let Some(due) = due {
                    tokio::time::sleep_until(due.into()).await;
                }
                let now = Instant::now();
                if out.send(Out::Bytes(batch.split().freeze())).await.is_err() {
                    return;
                }
                calls.sent.set(k, now);
                sent_events.fetch_add(pending, Ordering::Relaxed);
                pending = 0;
                // Calls whose frames went in this batch share its time.
                let mut j = k;
                while j > 0 && calls.sent.get(j - 1).is_none() {
                    j -= 1;
                    calls.sent.set(j, now);
                }
            }
        }
    }
    if let Some(mut feed) = session.feed.as_ref().and_then(Feed::take) {
        while let Some(bytes) = feed.recv().await {
            if out.send(Out::Bytes(bytes)).await.is_err() {
                return;
            }
            sent_events.fetch_add(1, Ordering::Relaxed);
        }
    }
    if session.close_after {
        let _ = out.send(Out::Close).await;
    }
}

/// The bodies of a capture's `api/response` frames, in order.
pub fn api_responses(raw: &[u8]) -> Vec<String> {
    let mut decoder = FrameDecoder::new();
    let mut buf = BytesMut::from(raw);
    let mut bodies = Vec::new();
    while let Ok(Some(frame)) = decoder.decode(&mut buf) {
        if frame.content_type() == esl::proto::ContentType::ApiResponse {
            bodies.push(String::from_utf8_lossy(frame.body()).into_owned());
        }
    }
    bodies
}
