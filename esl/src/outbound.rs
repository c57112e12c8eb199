//! The outbound-socket server: FreeSWITCH's `socket` application dials us for each call. Each
//! connection gets `connect`, its channel data as an [`Event`], and a session to drive the call
//! (myevents, linger, execute with awaitable completion, hangup), in a task of its own.
//!
//! ```no_run
//! use esl::outbound::OutboundServer;
//!
//! # async fn run() -> std::io::Result<()> {
//! let server = OutboundServer::bind("127.0.0.1:8084").await?;
//! server
//!     .serve(|mut session| async move {
//!         session.myevents().await?;
//!         session.linger(None).await?;
//!         let answered = session.execute("answer", None).await?;
//!         answered.completed().await?;
//!         session.execute("playback", Some("ivr/ivr-welcome.wav")).await?.completed().await?;
//!         session.hangup("NORMAL_CLEARING").await?;
//!         while session.events().recv().await.is_some() {}
//!         Ok(())
//!     })
//!     .await
//! # }
//! ```

use crate::client::Established;
use crate::client::{Client, Error, EventStream, Execution, Overflow, SharedState, Sink};
use crate::proto::{Command, ContentType, Event, EventFormat, Frame, Limits};
use std::borrow::Cow;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, ToSocketAddrs};

/// Settings for each outbound session.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Time allowed for `connect` and for each command's reply.
    pub command_timeout: Duration,
    /// Time allowed for an execution to complete.
    pub execute_timeout: Duration,
    /// The event stream's capacity.
    pub event_capacity: usize,
    /// What happens when the event stream is full.
    pub overflow: Overflow,
    /// Limits on frames from FreeSWITCH.
    pub limits: Limits,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            command_timeout: Duration::from_secs(30),
            execute_timeout: Duration::from_secs(3600),
            event_capacity: 1024,
            overflow: Overflow::Backpressure,
            limits: Limits::default(),
        }
    }
}

/// A listener for FreeSWITCH's `socket` application.
#[derive(Debug)]
pub struct OutboundServer {
    listener: TcpListener,
    options: SessionOptions,
}

impl OutboundServer {
    /// Listens on `address`.
    pub async fn bind(address: impl ToSocketAddrs) -> std::io::Result<Self> {
        Ok(Self {
            listener: TcpListener::bind(address).await?,
            options: SessionOptions::default(),
        })
    }

    /// Uses these options for every session.
    pub fn with_options(mut self, options: SessionOptions) -> Self {
        self.options = options;
        self
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts one call and performs `connect`.
    pub async fn accept(&self) -> Result<OutboundSession, Error> {
        let (stream, _) = self.listener.accept().await?;
        OutboundSession::establish(stream, &self.options).await
    }

    /// Serves calls until the listener fails: one task per call running `handler`. A handler
    /// that fails or panics is logged and ends only its own call.
    pub async fn serve<H, F>(self, handler: H) -> std::io::Result<()>
    where
        H: Fn(OutboundSession) -> F + Send + Sync + 'static,
        F: Future<Output = Result<(), Error>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let options = Arc::new(self.options);
        loop {
            let (stream, peer) = self.listener.accept().await?;
            let (handler, options) = (handler.clone(), options.clone());
            tokio::spawn(async move {
                let session = match OutboundSession::establish(stream, &options).await {
                    Ok(session) => session,
                    Err(error) => {
                        tracing::warn!(%peer, %error, "outbound connect failed");
                        return;
                    }
                };
                let call = session.unique_id().map(Cow::into_owned);
                match tokio::spawn(handler(session)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => {
                        tracing::warn!(%peer, ?call, %error, "outbound session failed")
                    }
                    Err(join) => {
                        tracing::error!(%peer, ?call, panic = join.is_panic(), "outbound handler panicked")
                    }
                }
            });
        }
    }
}

/// One call handed to us by FreeSWITCH.
#[derive(Debug)]
pub struct OutboundSession {
    client: Client,
    events: EventStream,
    channel: Event,
    connect_reply: Frame,
}

impl OutboundSession {
    async fn establish(
        stream: tokio::net::TcpStream,
        options: &SessionOptions,
    ) -> Result<Self, Error> {
        let (sink, events) = Sink::channel(options.event_capacity, options.overflow);
        let shared = Arc::new(SharedState::new(sink, options.limits));
        let mut conn = Established::new(stream, options.limits);
        let handshake = async {
            conn.write(&Command::Connect.to_bytes()?).await?;
            let reply = conn.read_reply(&shared).await?;
            if reply.content_type() != ContentType::CommandReply {
                return Err(Error::Protocol(
                    "connect was not answered by a command/reply".into(),
                ));
            }
            Ok(reply)
        };
        let connect_reply = tokio::time::timeout(options.command_timeout, handshake)
            .await
            .map_err(|_| Error::Timeout(options.command_timeout))??;
        let channel = connect_reply.channel_data();
        let client = Client::start_with(
            conn,
            shared,
            options.command_timeout,
            options.execute_timeout,
            None,
        );
        Ok(Self {
            client,
            events,
            channel,
            connect_reply,
        })
    }

    /// The channel's data, from the reply to `connect` (all its variables as headers).
    pub fn channel_data(&self) -> &Event {
        &self.channel
    }

    /// The reply to `connect` as received (`Socket-Mode`, `Control`...).
    pub fn connect_reply(&self) -> &Frame {
        &self.connect_reply
    }

    /// The channel's UUID.
    pub fn unique_id(&self) -> Option<Cow<'_, str>> {
        self.channel.header("Unique-ID")
    }

    /// The session's events.
    pub fn events(&mut self) -> &mut EventStream {
        &mut self.events
    }

    /// The command handle, for anything else (`api`, `bgapi`...; with `socket ... full`).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// `myevents`: this channel's events, in plain format.
    pub async fn myevents(&self) -> Result<(), Error> {
        self.client.myevents(None, None).await
    }

    /// `myevents <format>`.
    pub async fn myevents_as(&self, format: EventFormat) -> Result<(), Error> {
        self.client.myevents(Some(format), None).await
    }

    /// `linger [seconds]`: keep the socket after hangup until the final events are sent.
    pub async fn linger(&self, seconds: Option<u32>) -> Result<(), Error> {
        self.command(&Command::Linger(seconds)).await
    }

    /// `nolinger`.
    pub async fn nolinger(&self) -> Result<(), Error> {
        self.command(&Command::NoLinger).await
    }

    /// `divert_events on|off`.
    pub async fn divert_events(&self, on: bool) -> Result<(), Error> {
        self.client.divert_events(on).await
    }

    /// `resume`: the dialplan continues when the socket closes.
    pub async fn resume(&self) -> Result<(), Error> {
        self.command(&Command::Resume).await
    }

    /// Runs an application on this channel with `event-lock` (one after another); await
    /// [`Execution::completed`] for its end. Several may be queued before awaiting any.
    pub async fn execute(&self, app: &str, arg: Option<&str>) -> Result<Execution, Error> {
        self.client.execute_on(None, app, arg, true).await
    }

    /// Like [`OutboundSession::execute`], without `event-lock`.
    pub async fn execute_unlocked(&self, app: &str, arg: Option<&str>) -> Result<Execution, Error> {
        self.client.execute_on(None, app, arg, false).await
    }

    /// Hangs the channel up.
    pub async fn hangup(&self, cause: &str) -> Result<(), Error> {
        self.command(&Command::SendMsg(crate::proto::SendMsg::hangup(cause)))
            .await
    }

    /// `exit`: ends the session.
    pub async fn exit(&self) -> Result<(), Error> {
        self.client.exit().await
    }

    async fn command(&self, command: &Command<'_>) -> Result<(), Error> {
        self.client.command(command).await.map(drop)
    }
}
