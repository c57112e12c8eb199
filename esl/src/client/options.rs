//! Connection settings and opening a connection (TCP, authentication, re-subscription).

use super::connection::{Connector, Established, Shared};
use super::incoming::{self, EventStream, Overflow};
use super::{Backoff, Client, Error};
use crate::proto::{Command, ContentType, Limits};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

/// How to authenticate.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Auth {
    /// `auth <password>`: the event socket's password.
    Password(String),
    /// `userauth <user>@<domain>:<password>`: a directory user with an `esl-password`.
    User {
        /// Directory user.
        user: String,
        /// Directory domain.
        domain: String,
        /// The user's ESL password.
        password: String,
    },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Password(_) => f.write_str("Password(***)"),
            Self::User { user, domain, .. } => write!(f, "User({user}@{domain}, ***)"),
        }
    }
}

/// Connection settings; [`Options::connect`] opens the connection.
///
/// ```
/// use std::time::Duration;
/// use esl::client::{Options, Overflow};
///
/// let options = Options::new("10.0.0.5:8021", "secret")
///     .command_timeout(Duration::from_secs(5))
///     .events(10_000, Overflow::DropNewest);
/// assert!(!format!("{options:?}").contains("secret"));
/// ```
#[derive(Clone)]
pub struct Options {
    pub(super) address: String,
    pub(super) auth: Auth,
    pub(super) connect_timeout: Duration,
    pub(super) command_timeout: Duration,
    pub(super) job_timeout: Duration,
    pub(super) event_capacity: usize,
    pub(super) overflow: Overflow,
    pub(super) reconnect: Option<Backoff>,
    pub(super) limits: Limits,
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("address", &self.address)
            .field("auth", &self.auth)
            .field("connect_timeout", &self.connect_timeout)
            .field("command_timeout", &self.command_timeout)
            .field("job_timeout", &self.job_timeout)
            .field("event_capacity", &self.event_capacity)
            .field("overflow", &self.overflow)
            .field("reconnect", &self.reconnect)
            .finish()
    }
}

impl Options {
    /// Connect to `address` (`host:port`) with the event socket password.
    pub fn new(address: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            auth: Auth::Password(password.into()),
            connect_timeout: Duration::from_secs(10),
            command_timeout: Duration::from_secs(30),
            job_timeout: Duration::from_secs(300),
            event_capacity: 4096,
            overflow: Overflow::Backpressure,
            reconnect: None,
            limits: Limits::default(),
        }
    }

    /// Authenticate as a directory user instead (`userauth`).
    pub fn userauth(
        mut self,
        user: impl Into<String>,
        domain: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.auth = Auth::User {
            user: user.into(),
            domain: domain.into(),
            password: password.into(),
        };
        self
    }

    /// Time allowed for TCP connect and authentication (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for each command's reply (default 30 s).
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// Time allowed for a `bgapi` result after its reply (default 5 min; originate can ring long).
    pub fn job_timeout(mut self, timeout: Duration) -> Self {
        self.job_timeout = timeout;
        self
    }

    /// The event stream's capacity and what happens when it is full (default 4096, backpressure).
    pub fn events(mut self, capacity: usize, overflow: Overflow) -> Self {
        self.event_capacity = capacity;
        self.overflow = overflow;
        self
    }

    /// Reconnect after a lost connection, re-authenticating and re-applying subscriptions and
    /// filters; the stream then yields [`Incoming::Reconnected`](super::Incoming::Reconnected).
    pub fn reconnect(mut self, backoff: Backoff) -> Self {
        self.reconnect = Some(backoff);
        self
    }

    /// Limits on frames from FreeSWITCH.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Connects and authenticates.
    pub async fn connect(self) -> Result<(Client, EventStream), Error> {
        let (sink, stream) = incoming::Sink::channel(self.event_capacity, self.overflow);
        let shared = Arc::new(Shared::new(sink, self.limits));
        let options = Arc::new(self);
        let conn = open(&options, &shared).await?;
        let reconnect = options.reconnect.map(|backoff| {
            let (options, shared) = (options.clone(), shared.clone());
            let connector: Connector = Box::new(move || {
                let (options, shared) = (options.clone(), shared.clone());
                Box::pin(async move { open(&options, &shared).await })
            });
            (backoff, connector)
        });
        Ok((Client::start(conn, shared, &options, reconnect), stream))
    }
}

/// TCP connect, authenticate, and re-apply subscriptions, within the connect timeout.
async fn open(options: &Options, shared: &Shared) -> Result<Established, Error> {
    let attempt = async {
        let stream = TcpStream::connect(&options.address).await?;
        let mut conn = Established::new(stream, options.limits);
        let first = conn.next_frame().await?;
        match first.content_type() {
            ContentType::AuthRequest => {}
            ContentType::RudeRejection => {
                let text = String::from_utf8_lossy(first.body()).trim().to_owned();
                return Err(Error::Rejected(text));
            }
            other => {
                return Err(Error::Protocol(format!(
                    "expected auth/request, got {other:?}"
                )));
            }
        }
        let command = match &options.auth {
            Auth::Password(password) => Command::Auth { password },
            Auth::User {
                user,
                domain,
                password,
            } => Command::UserAuth {
                user,
                domain,
                password,
            },
        };
        conn.write(&command.to_bytes()?).await?;
        let reply = conn.read_reply(shared).await?;
        let text = reply.reply_text().unwrap_or_default();
        if !text.starts_with("+OK") {
            return Err(Error::AuthFailed(text.trim_end().to_owned()));
        }
        conn.replay(shared).await?;
        Ok(conn)
    };
    tokio::time::timeout(options.connect_timeout, attempt)
        .await
        .map_err(|_| Error::ConnectTimeout(options.connect_timeout))?
}
