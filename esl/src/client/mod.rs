//! The inbound client: connect to FreeSWITCH's event socket, authenticate, send commands
//! (pipelined, from any number of tasks) and receive events on a bounded stream.
//!
//! ```no_run
//! use esl::client::{Incoming, Options};
//! use esl::proto::EventFormat;
//!
//! # async fn run() -> Result<(), esl::client::Error> {
//! let (client, mut events) = Options::new("127.0.0.1:8021", "ClueCon")
//!     .reconnect(Default::default())
//!     .connect()
//!     .await?;
//! println!("{}", client.api("status").await?);
//! client.subscribe(EventFormat::Plain, &["CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"]).await?;
//! let result = client.bgapi("originate loopback/9999/default &park").await?;
//! while let Some(item) = events.recv().await {
//!     match item {
//!         Incoming::Event(event) => println!("{:?} {:?}", event.name(), event.unique_id()),
//!         Incoming::Reconnected { .. } => { /* re-sync: show channels as json */ }
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```

mod commands;
mod connection;
mod error;
mod incoming;
mod options;
mod router;
mod subscriptions;

pub use connection::Backoff;
pub use error::Error;
pub use incoming::{EventStream, Incoming, LogLine, Overflow};
pub use options::{Auth, Options};

use crate::proto::{Command, Event, EventFormat, EventName, Frame, LogLevel, RequestId, SendMsg};
use bytes::BytesMut;
pub(crate) use connection::Established;
use connection::{Connector, Request, Shared, encode_setups, lock, supervise};
use error::{check_api_body, check_reply};
use router::Expect;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use subscriptions::{BACKGROUND_JOB, CHANNEL_EXECUTE_COMPLETE, Setup};
use tokio::sync::{mpsc, oneshot};

pub(crate) use connection::Shared as SharedState;
pub(crate) use incoming::Sink;

/// A handle on one connection. Cheap to clone; every clone shares the connection, and commands
/// from any of them are pipelined. The connection closes when the last handle is dropped.
#[derive(Clone)]
pub struct Client {
    requests: mpsc::Sender<Request>,
    shared: Arc<Shared>,
    command_timeout: Duration,
    job_timeout: Duration,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

/// An application started with [`Client::execute`]; await its completion with
/// [`Execution::completed`].
#[derive(Debug)]
pub struct Execution {
    id: String,
    done: oneshot::Receiver<Event>,
    timeout: Duration,
}

impl Execution {
    /// The `event-uuid` sent with it (FreeSWITCH's `Application-UUID`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Waits for its `CHANNEL_EXECUTE_COMPLETE` event (with `Application-Response`).
    pub async fn completed(self) -> Result<Event, Error> {
        match tokio::time::timeout(self.timeout, self.done).await {
            Err(_) => Err(Error::Timeout(self.timeout)),
            Ok(Err(_)) => Err(Error::Disconnected),
            Ok(Ok(event)) => Ok(event),
        }
    }
}

impl Client {
    pub(crate) fn start(
        conn: Established,
        shared: Arc<Shared>,
        options: &Options,
        reconnect: Option<(Backoff, Connector)>,
    ) -> Self {
        Self::start_with(
            conn,
            shared,
            options.command_timeout,
            options.job_timeout,
            reconnect,
        )
    }

    pub(crate) fn start_with(
        conn: Established,
        shared: Arc<Shared>,
        command_timeout: Duration,
        job_timeout: Duration,
        reconnect: Option<(Backoff, Connector)>,
    ) -> Self {
        let (requests, queue) = mpsc::channel(1024);
        tokio::spawn(supervise(conn, queue, shared.clone(), reconnect));
        Self {
            requests,
            shared,
            command_timeout,
            job_timeout,
        }
    }

    /// Writes the commands in `bytes` and waits for their `count` replies, in order.
    async fn round_trip(&self, bytes: BytesMut, count: usize) -> Result<Vec<Frame>, Error> {
        let (expects, replies) = self.expect_replies(count);
        self.exchange(bytes, expects, replies).await
    }

    /// `count` commands' replies to wait for.
    #[allow(clippy::type_complexity)]
    fn expect_replies(
        &self,
        count: usize,
    ) -> (Vec<Expect>, Vec<oneshot::Receiver<Result<Frame, Error>>>) {
        (0..count)
            .map(|_| {
                let (reply, rx) = oneshot::channel();
                let id = self.shared.request_id();
                (Expect::Reply { id, reply }, rx)
            })
            .unzip()
    }

    /// Writes `bytes` with what each of its commands is awaited by, then waits for `replies`
    /// (in order) within the command timeout.
    async fn exchange(
        &self,
        bytes: BytesMut,
        expects: Vec<Expect>,
        replies: Vec<oneshot::Receiver<Result<Frame, Error>>>,
    ) -> Result<Vec<Frame>, Error> {
        self.requests
            .send(Request {
                bytes: bytes.freeze(),
                expects,
            })
            .await
            .map_err(|_| Error::Disconnected)?;
        let all = async {
            let mut frames = Vec::with_capacity(replies.len());
            for reply in replies {
                frames.push(reply.await.map_err(|_| Error::Disconnected)??);
            }
            Ok(frames)
        };
        tokio::time::timeout(self.command_timeout, all)
            .await
            .map_err(|_| Error::Timeout(self.command_timeout))?
    }

    /// Sends any command and returns its reply frame (a `command/reply` or `api/response`),
    /// without interpreting it. Subscription commands sent this way are not re-applied on
    /// reconnect; use the dedicated methods for those.
    pub async fn send(&self, command: &Command<'_>) -> Result<Frame, Error> {
        let mut bytes = BytesMut::new();
        command.encode(&mut bytes)?;
        let mut frames = self.round_trip(bytes, 1).await?;
        Ok(frames.remove(0))
    }

    /// Sends a command and checks that its `Reply-Text` is not `-ERR`; returns the text.
    pub(crate) async fn command(&self, command: &Command<'_>) -> Result<String, Error> {
        let reply = self.send(command).await?;
        let text = reply.reply_text().unwrap_or_default().into_owned();
        check_reply(&text)?;
        Ok(text)
    }

    /// `api <command>`: the result body, or [`Error::ApiFailed`] with FreeSWITCH's `-ERR` text.
    pub async fn api(&self, command: &str) -> Result<String, Error> {
        check_api_body(self.api_result(command).await?)
    }

    /// `api <command>`: the result body as received, failure or not.
    async fn api_result(&self, command: &str) -> Result<String, Error> {
        let reply = self.send(&Command::Api { command }).await?;
        Ok(crate::proto::text(reply.body()).into_owned())
    }

    /// `bgapi <command>` with a Job-UUID chosen here; resolves with the result from the matching
    /// `BACKGROUND_JOB` event. The client subscribes to those events itself when needed and
    /// keeps them off the event stream unless the user subscribed to them.
    pub async fn bgapi(&self, command: &str) -> Result<String, Error> {
        check_api_body(self.bgapi_result(command).await?)
    }

    /// `bgapi <command>`: the job's result as received, failure or not.
    async fn bgapi_result(&self, command: &str) -> Result<String, Error> {
        let mut waiting = self.wait_for(BACKGROUND_JOB, None)?;
        Command::BgApi {
            command,
            job_uuid: Some(&waiting.correlation),
        }
        .encode(&mut waiting.bytes)?;
        let (mut expects, replies) = self.expect_replies(waiting.setups.len());
        let (job, done) = oneshot::channel();
        expects.push(Expect::Job {
            id: waiting.id,
            job_uuid: waiting.correlation.clone(),
            done: job,
        });
        let replies = self.exchange(waiting.bytes, expects, replies).await?;
        self.check_internal(&waiting.setups, &replies)?;
        // The reply (`-ERR`, or `+OK Job-UUID`) and then the result resolve the job.
        let event = match tokio::time::timeout(self.job_timeout, done).await {
            Err(_) => return Err(Error::Timeout(self.job_timeout)),
            Ok(Err(_)) => return Err(Error::Disconnected),
            Ok(Ok(result)) => result?,
        };
        Ok(event.body_text().unwrap_or_default().into_owned())
    }

    /// A fresh request id and correlation id (`Job-UUID`, `event-uuid`) for a command whose
    /// result comes in an event named `event` (about `channel`), and the start of the request's
    /// bytes: whatever subscription that event needs first.
    fn wait_for(&self, event: &'static str, channel: Option<&str>) -> Result<Waiting<'_>, Error> {
        let id = self.shared.request_id();
        let forget = Forget {
            shared: &self.shared,
            id: Some(id),
        };
        let setups = lock(&self.shared.subscriptions).ensure(event, channel);
        let mut bytes = BytesMut::new();
        encode_setups(&setups, &mut bytes)?;
        Ok(Waiting {
            id,
            correlation: self.shared.ids.next(),
            setups,
            bytes,
            forget,
        })
    }

    /// Checks the replies to the client's own setups; a refused one is taken back.
    fn check_internal(&self, setups: &[Setup], replies: &[Frame]) -> Result<(), Error> {
        let mut result = Ok(());
        for (setup, reply) in setups.iter().zip(replies) {
            if let Err(error) = check_reply(&reply.reply_text().unwrap_or_default()) {
                lock(&self.shared.subscriptions).revert_internal(setup);
                result = result.and(Err(error));
            }
        }
        result
    }

    async fn setup(&self, setup: Setup) -> Result<(), Error> {
        let mut bytes = BytesMut::new();
        setup.encode(&mut bytes)?;
        let reply = self.round_trip(bytes, 1).await?;
        check_reply(&reply[0].reply_text().unwrap_or_default())?;
        lock(&self.shared.subscriptions).applied(&setup);
        Ok(())
    }

    /// `event <format> <names...>`: subscribe to typed event names; custom events are sent
    /// after `CUSTOM` as FreeSWITCH expects ([`EventName::subscription_words`]).
    ///
    /// ```no_run
    /// use esl::proto::{EventFormat, EventName};
    ///
    /// # async fn run(client: esl::client::Client) -> Result<(), esl::client::Error> {
    /// client
    ///     .subscribe_to(
    ///         EventFormat::Json,
    ///         &[EventName::ChannelAnswer, EventName::Custom("sofia::register".into())],
    ///     )
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn subscribe_to(
        &self,
        format: EventFormat,
        events: &[EventName],
    ) -> Result<(), Error> {
        self.subscribe(format, &EventName::subscription_words(events))
            .await
    }

    /// `event <format> <names...>`: subscribe by the names as written (`ALL`, `CUSTOM` and
    /// subclasses after it...); [`Client::subscribe_to`] takes typed names.
    pub async fn subscribe(&self, format: EventFormat, events: &[&str]) -> Result<(), Error> {
        let names = events.iter().map(|n| (*n).to_owned()).collect();
        self.setup(Setup::Event { format, names }).await
    }

    /// `nixevent <names...>`: unsubscribe from some typed event names.
    ///
    /// ```no_run
    /// # async fn run(client: esl::client::Client) -> Result<(), esl::client::Error> {
    /// client.unsubscribe_from(&[esl::proto::EventName::Heartbeat]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn unsubscribe_from(&self, events: &[EventName]) -> Result<(), Error> {
        self.unsubscribe(&EventName::subscription_words(events))
            .await
    }

    /// `nixevent <names...>`: unsubscribe from some events, by the names as written.
    pub async fn unsubscribe(&self, events: &[&str]) -> Result<(), Error> {
        self.setup(Setup::NixEvent(
            events.iter().map(|n| (*n).to_owned()).collect(),
        ))
        .await
    }

    /// `noevents`: unsubscribe from everything.
    pub async fn unsubscribe_all(&self) -> Result<(), Error> {
        self.setup(Setup::NoEvents).await
    }

    /// `filter <header> <value>`: only events matching one of the filters are delivered.
    pub async fn filter(&self, header: &str, value: &str) -> Result<(), Error> {
        self.setup(Setup::Filter {
            header: header.into(),
            value: value.into(),
        })
        .await
    }

    /// `filter delete <header> [value]`.
    pub async fn filter_delete(&self, header: &str, value: Option<&str>) -> Result<(), Error> {
        self.setup(Setup::FilterDelete {
            header: header.into(),
            value: value.map(str::to_owned),
        })
        .await
    }

    /// `filter delete all`.
    pub async fn filter_delete_all(&self) -> Result<(), Error> {
        self.setup(Setup::FilterDeleteAll).await
    }

    /// `myevents [format] [uuid]`: only one channel's events.
    pub async fn myevents(
        &self,
        format: Option<EventFormat>,
        uuid: Option<&str>,
    ) -> Result<(), Error> {
        self.setup(Setup::MyEvents {
            format,
            uuid: uuid.map(str::to_owned),
        })
        .await
    }

    /// `divert_events on|off`.
    pub async fn divert_events(&self, on: bool) -> Result<(), Error> {
        self.setup(Setup::DivertEvents(on)).await
    }

    /// `log <level>`: log lines arrive as [`Incoming::Log`].
    pub async fn log(&self, level: LogLevel) -> Result<(), Error> {
        self.setup(Setup::Log(level)).await
    }

    /// `nolog`.
    pub async fn nolog(&self) -> Result<(), Error> {
        self.setup(Setup::NoLog).await
    }

    /// Runs an application on a channel (`sendmsg <uuid>` with `call-command: execute` and an
    /// `event-uuid` chosen here). Returns once FreeSWITCH accepted it; await
    /// [`Execution::completed`] for its end.
    pub async fn execute(
        &self,
        uuid: &str,
        app: &str,
        arg: Option<&str>,
    ) -> Result<Execution, Error> {
        self.execute_on(Some(uuid), app, arg, false).await
    }

    pub(crate) async fn execute_on(
        &self,
        uuid: Option<&str>,
        app: &str,
        arg: Option<&str>,
        event_lock: bool,
    ) -> Result<Execution, Error> {
        let mut waiting = self.wait_for(CHANNEL_EXECUTE_COMPLETE, uuid)?;
        let mut msg = SendMsg::execute(app, arg)
            .event_uuid(&waiting.correlation)
            .event_lock(event_lock);
        if let Some(uuid) = uuid {
            msg = msg.uuid(uuid);
        }
        Command::SendMsg(msg).encode(&mut waiting.bytes)?;
        let count = waiting.setups.len();
        let (mut expects, mut replies) = self.expect_replies(count);
        let (reply, reply_rx) = oneshot::channel();
        let (completion, done) = oneshot::channel();
        expects.push(Expect::Execution {
            id: waiting.id,
            application_uuid: waiting.correlation.clone(),
            reply,
            done: completion,
        });
        replies.push(reply_rx);
        let replies = self.exchange(waiting.bytes, expects, replies).await?;
        self.check_internal(&waiting.setups, &replies)?;
        check_reply(&replies[count].reply_text().unwrap_or_default())?;
        // From here the execution's waiter outlives this call, until its completion arrives.
        waiting.forget.disarm();
        Ok(Execution {
            id: waiting.correlation,
            done,
            timeout: self.job_timeout,
        })
    }

    /// Hangs a channel up (`sendmsg <uuid>` with `call-command: hangup`).
    pub async fn hangup(&self, uuid: &str, cause: &str) -> Result<(), Error> {
        self.command(&Command::SendMsg(SendMsg::hangup(cause).uuid(uuid)))
            .await
            .map(drop)
    }

    /// `exit`: FreeSWITCH replies `+OK bye` and closes; the client does not reconnect.
    pub async fn exit(&self) -> Result<(), Error> {
        self.shared
            .exiting
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.command(&Command::Exit).await.map(drop)
    }

    /// Events dropped because the event stream was full (with [`Overflow::DropNewest`]).
    pub fn dropped_events(&self) -> u64 {
        self.shared
            .sink
            .dropped()
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A request whose result comes in an event, and the start of its bytes.
struct Waiting<'a> {
    id: RequestId,
    /// The `Job-UUID` or `event-uuid` that FreeSWITCH echoes in the result's event.
    correlation: String,
    setups: Vec<Setup>,
    bytes: BytesMut,
    forget: Forget<'a>,
}

/// Cancels a request when the call that made it ends early (error, timeout, cancel), so the
/// connection keeps nothing for a caller that is gone.
struct Forget<'a> {
    shared: &'a Shared,
    id: Option<RequestId>,
}

impl Forget<'_> {
    /// Keeps the request: something else will resolve it.
    fn disarm(mut self) {
        self.id = None;
    }
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.shared.cancel(id);
        }
    }
}
