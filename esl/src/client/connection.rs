//! One connection's machinery, shared by the inbound client and outbound sessions: a writer
//! that pipelines commands (recording each in the [`Router`] before its bytes go out), a
//! reader that hands every frame to the router (which wakes the request it resolves; the rest
//! goes to the event stream), and a supervisor that fails pending work on disconnect and, when
//! asked, reconnects.

use super::error::{Error, check_reply};
use super::incoming::{Incoming, LogLine, Sink};
use super::router::{Expect, Router};
use super::subscriptions::{Setup, Subscriptions};
use crate::proto::{ContentType, Frame, FrameDecoder, Limits, RequestId, Routed};
use backon::{BackoffBuilder, ExponentialBuilder};
use bytes::{Bytes, BytesMut};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

/// Bytes to write, with what the caller waits for from each command in them, in order.
pub(crate) struct Request {
    pub(crate) bytes: Bytes,
    pub(crate) expects: Vec<Expect>,
}

/// Locks a mutex, ignoring poisoning: the data is plain bookkeeping that stays consistent.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Correlation ids (`Job-UUID`, `event-uuid`) for this client: 128 bits of a keyed hash
/// (SipHash with keys drawn at random, std's `RandomState`) of a counter, so each id costs no
/// system call. Ids are unique for the client's life (with overwhelming probability) and
/// unpredictable to other clients on the same FreeSWITCH, whose `BACKGROUND_JOB` events every
/// subscriber sees: without the keys, seeing some ids tells nothing of the next.
pub(crate) struct Ids {
    keys: std::hash::RandomState,
    counter: std::sync::atomic::AtomicU64,
}

impl Ids {
    fn new() -> Self {
        Self {
            keys: std::hash::RandomState::new(),
            counter: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The next id, formatted as a version-4 UUID.
    pub(crate) fn next(&self) -> String {
        use std::hash::BuildHasher;
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let high = self.keys.hash_one((n, 0u8));
        let low = self.keys.hash_one((n, 1u8));
        let bytes = ((u128::from(high) << 64) | u128::from(low)).to_be_bytes();
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }
}

/// State shared by the handles and the connection task.
pub(crate) struct Shared {
    pub(crate) ids: Ids,
    requests: AtomicU64,
    router: Mutex<Router>,
    pub(crate) subscriptions: Mutex<Subscriptions>,
    pub(crate) sink: Sink,
    /// The user asked to leave (`exit`): do not reconnect.
    pub(crate) exiting: AtomicBool,
}

impl Shared {
    pub(crate) fn new(sink: Sink, limits: Limits) -> Self {
        Self {
            ids: Ids::new(),
            requests: AtomicU64::new(0),
            router: Mutex::new(Router::new(limits)),
            subscriptions: Mutex::new(Subscriptions::default()),
            sink,
            exiting: AtomicBool::new(false),
        }
    }

    /// A fresh id for one command of a request.
    pub(crate) fn request_id(&self) -> RequestId {
        RequestId::new(self.requests.fetch_add(1, Ordering::Relaxed))
    }

    /// Nobody waits for `id` any more (its caller gave up).
    pub(crate) fn cancel(&self, id: RequestId) {
        lock(&self.router).cancel(id);
    }

    /// Fails every reply, job and execution waiting on this connection.
    fn fail_all(&self) {
        lock(&self.router).disconnected();
    }

    /// Routes one frame: the router wakes the request it resolves; what the user should see
    /// is returned.
    fn route(&self, frame: Frame) -> Option<Incoming> {
        let routed = lock(&self.router).route(frame)?;
        match routed {
            Routed::Event(event) => {
                let wanted = match event.name() {
                    Some(name) => lock(&self.subscriptions).user_wants(&name),
                    None => true,
                };
                wanted.then_some(Incoming::Event(event))
            }
            Routed::Unparsed { frame, error } => {
                tracing::warn!(%error, "unparseable event delivered raw");
                Some(Incoming::Unparsed { frame, error })
            }
            Routed::Log(frame) => Some(Incoming::Log(LogLine::new(frame))),
            Routed::DisconnectNotice(notice) => Some(Incoming::DisconnectNotice(notice)),
            Routed::Rejected(text) => Some(Incoming::Disconnected(Error::Rejected(text))),
            other => {
                tracing::debug!(?other, "frame with nothing for the stream");
                None
            }
        }
    }

    /// Routes one frame and delivers what the user should see right away.
    async fn route_now(&self, frame: Frame) {
        if let Some(item) = self.route(frame) {
            self.sink.deliver(&mut vec![item]).await;
        }
    }
}

/// A TCP connection past its handshake, with whatever bytes were read beyond it.
pub(crate) struct Established {
    stream: TcpStream,
    buf: BytesMut,
    decoder: FrameDecoder,
}

impl Established {
    pub(crate) fn new(stream: TcpStream, limits: Limits) -> Self {
        let _ = stream.set_nodelay(true);
        Self {
            stream,
            buf: BytesMut::with_capacity(64 * 1024),
            decoder: FrameDecoder::with_limits(limits),
        }
    }

    /// The next frame, reading as needed.
    pub(crate) async fn next_frame(&mut self) -> Result<Frame, Error> {
        loop {
            if let Some(frame) = self.decoder.decode(&mut self.buf)? {
                return Ok(frame);
            }
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return Err(Error::Disconnected);
            }
        }
    }

    pub(crate) async fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.stream.write_all(bytes).await?;
        Ok(())
    }

    /// Reads up to the next reply, routing anything else (events that race the reply).
    pub(crate) async fn read_reply(&mut self, shared: &Shared) -> Result<Frame, Error> {
        loop {
            let frame = self.next_frame().await?;
            match frame.content_type() {
                ContentType::CommandReply | ContentType::ApiResponse => return Ok(frame),
                ContentType::RudeRejection => {
                    let text = String::from_utf8_lossy(frame.body()).trim().to_owned();
                    return Err(Error::Rejected(text));
                }
                _ => shared.route_now(frame).await,
            }
        }
    }

    /// Re-applies subscriptions, filters and log level on a fresh connection.
    pub(crate) async fn replay(&mut self, shared: &Shared) -> Result<(), Error> {
        let setups = lock(&shared.subscriptions).replay();
        for setup in setups {
            let mut bytes = BytesMut::new();
            setup.encode(&mut bytes)?;
            self.write(&bytes).await?;
            let reply = self.read_reply(shared).await?;
            check_reply(&reply.reply_text().unwrap_or_default())?;
        }
        Ok(())
    }
}

/// How a connection ended.
enum End {
    /// Every handle was dropped: nothing more can be asked.
    HandlesGone,
    /// The socket closed or failed.
    Lost(Error),
}

async fn read_loop(
    mut read: OwnedReadHalf,
    mut buf: BytesMut,
    mut decoder: FrameDecoder,
    shared: &Shared,
) -> End {
    let mut batch = Vec::with_capacity(super::incoming::BATCH);
    loop {
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => {
                    if let Some(item) = shared.route(frame) {
                        batch.push(item);
                        if shared.sink.batch_full(&batch) {
                            shared.sink.deliver(&mut batch).await;
                        }
                    }
                }
                Ok(None) => break,
                Err(err) => {
                    shared.sink.deliver(&mut batch).await;
                    return End::Lost(err.into());
                }
            }
        }
        // Everything decoded from this read goes out before waiting for the next one.
        shared.sink.deliver(&mut batch).await;
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(64 * 1024);
        }
        match read.read_buf(&mut buf).await {
            Ok(0) => return End::Lost(Error::Disconnected),
            Ok(_) => {}
            Err(err) => return End::Lost(err.into()),
        }
    }
}

/// Writes requests as they come, batching whatever is already queued into one write. Each
/// command is recorded in the router before the bytes go out, so replies always find it.
async fn write_loop(
    mut write: OwnedWriteHalf,
    requests: &mut mpsc::Receiver<Request>,
    shared: &Shared,
) -> End {
    let mut out = BytesMut::with_capacity(16 * 1024);
    loop {
        let Some(first) = requests.recv().await else {
            return End::HandlesGone;
        };
        out.clear();
        {
            let mut router = lock(&shared.router);
            let mut next = Some(first);
            while let Some(request) = next {
                out.extend_from_slice(&request.bytes);
                for expect in request.expects {
                    router.sent(expect);
                }
                next = if out.len() < 64 * 1024 {
                    requests.try_recv().ok()
                } else {
                    None
                };
            }
        }
        if let Err(err) = write.write_all(&out).await {
            return End::Lost(err.into());
        }
    }
}

async fn run(conn: Established, requests: &mut mpsc::Receiver<Request>, shared: &Shared) -> End {
    let Established {
        stream,
        buf,
        decoder,
    } = conn;
    let (read, write) = stream.into_split();
    tokio::select! {
        end = read_loop(read, buf, decoder, shared) => end,
        end = write_loop(write, requests, shared) => end,
    }
}

/// Reconnection policy: exponential backoff with random jitter (backon's), so that many clients
/// do not reconnect in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// First step of the wait before an attempt; doubled after each failure.
    pub initial: Duration,
    /// Longest step; a wait is between one and two steps.
    pub max: Duration,
    /// Give up after this many failed attempts; never when `None`.
    pub max_attempts: Option<u32>,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(10),
            max_attempts: None,
        }
    }
}

impl Backoff {
    /// The waits before each attempt, in order; they end after `max_attempts`.
    ///
    /// ```
    /// use esl::client::Backoff;
    /// use std::time::Duration;
    ///
    /// let backoff = Backoff { initial: Duration::from_millis(100), max: Duration::from_secs(1), max_attempts: Some(5) };
    /// let waits: Vec<Duration> = backoff.delays().collect();
    /// assert_eq!(waits.len(), 5);
    /// assert!(waits.iter().all(|w| *w >= Duration::from_millis(100) && *w < Duration::from_secs(2)));
    /// ```
    pub fn delays(&self) -> impl Iterator<Item = Duration> + use<> {
        let builder = ExponentialBuilder::default()
            .with_min_delay(self.initial)
            .with_max_delay(self.max.max(self.initial))
            .with_factor(2.0)
            .with_jitter();
        match self.max_attempts {
            Some(attempts) => builder.with_max_times(attempts as usize),
            None => builder.without_max_times(),
        }
        .build()
    }
}

/// Makes a new connection ready for use (connected, authenticated, subscriptions re-applied).
pub(crate) type Connector = Box<
    dyn Fn() -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<Established, Error>> + Send>,
        > + Send
        + Sync,
>;

/// Runs a connection until it ends for good: on loss, fails what was pending, tells the user,
/// and reconnects when a connector and policy are given.
pub(crate) async fn supervise(
    conn: Established,
    requests: mpsc::Receiver<Request>,
    shared: std::sync::Arc<Shared>,
    reconnect: Option<(Backoff, Connector)>,
) {
    supervise_until_done(conn, requests, &shared, reconnect).await;
    shared.fail_all();
    shared.sink.close();
}

async fn supervise_until_done(
    mut conn: Established,
    mut requests: mpsc::Receiver<Request>,
    shared: &Shared,
    reconnect: Option<(Backoff, Connector)>,
) {
    loop {
        let end = run(conn, &mut requests, shared).await;
        shared.fail_all();
        let error = match end {
            End::HandlesGone => return,
            End::Lost(error) => error,
        };
        let ended_cleanly =
            shared.exiting.load(Ordering::Relaxed) || lock(&shared.router).peer_closed();
        let Some((backoff, connect)) = reconnect
            .as_ref()
            .filter(|_| !shared.exiting.load(Ordering::Relaxed))
        else {
            if !ended_cleanly {
                shared.sink.notify(Incoming::Disconnected(error));
            }
            return;
        };
        lock(&shared.router).connected();
        shared.sink.notify(Incoming::Disconnected(error));
        let mut attempts = 0u32;
        let mut waits = backoff.delays();
        conn = loop {
            attempts += 1;
            let Some(wait) = waits.next() else {
                return;
            };
            let delay = tokio::time::sleep(wait);
            tokio::pin!(delay);
            // While waiting, commands fail at once rather than hang.
            loop {
                tokio::select! {
                    _ = &mut delay => break,
                    request = requests.recv() => match request {
                        Some(request) => request.expects.into_iter().for_each(Expect::fail),
                        None => return,
                    },
                }
            }
            match connect().await {
                Ok(conn) => break conn,
                Err(error) => tracing::warn!(%error, attempts, "reconnect failed"),
            }
        };
        tracing::info!(attempts, "reconnected");
        shared.sink.notify(Incoming::Reconnected { attempts });
    }
}

/// Writes the setups a command needs at the start of its request.
pub(crate) fn encode_setups(setups: &[Setup], out: &mut BytesMut) -> Result<(), Error> {
    for setup in setups {
        setup.encode(out)?;
    }
    Ok(())
}

#[cfg(test)]
mod ids_tests {
    use super::Ids;

    #[test]
    fn ids_are_distinct_uuids_and_differ_between_clients() {
        let (one, other) = (Ids::new(), Ids::new());
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let id = one.next();
            assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 4);
            assert!(seen.insert(id));
        }
        // Another client's first ids share nothing with this one's.
        assert!(!seen.contains(&other.next()));
        assert_ne!(Ids::new().next(), Ids::new().next());
    }
}
