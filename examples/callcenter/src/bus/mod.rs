//! The event bus between processes: NATS JetStream, when the deployment has it.
//!
//! Every process's hub sends what it publishes (calls, queues, agents, balances, recordings)
//! to one stream, `<PREFIX>_EVENTS`, on a subject per tenant (and node); active ESL workers
//! also send their nodes' whole state there from time to time. Every process that serves the
//! API or stands by for a node follows the stream in order ([`Follower`]): each event reaches
//! its `/ws` clients once, numbered by that process's hub, and keeps the [`Mirror`] of every
//! node's live state, which the API shows and a standby ESL worker starts from when it takes
//! a node over.
//!
//! Without NATS (the embedded default) the hub stays in the process.

pub mod commands;
mod follower;
mod publisher;
pub mod recordings;
pub mod subjects;

pub use follower::Follower;

use platform::events::mirror::Mirror;
use serde::Deserialize;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use subjects::Names;

/// The bus's settings (`[nats]`).
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct NatsSettings {
    /// The NATS server, e.g. `nats://127.0.0.1:4222` (user and password or token in the URL
    /// if it needs them); none: events stay in the process.
    pub url: Option<String>,
    /// What the stream and subjects are named after, so deployments can share a server.
    /// Default `callcenter`.
    pub prefix: String,
    /// How long the stream keeps events, seconds, at least 120 (a process that starts
    /// replays from the nodes' last states, published every `state_every_s`). Default 3600.
    pub retention_s: u64,
    /// How often an active ESL worker publishes its node's whole state, seconds. Default 30.
    pub state_every_s: u64,
}

impl Default for NatsSettings {
    fn default() -> Self {
        NatsSettings {
            url: None,
            prefix: "callcenter".into(),
            retention_s: 3600,
            state_every_s: 30,
        }
    }
}

impl std::fmt::Debug for NatsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsSettings")
            .field("url", &self.url.as_deref().map(without_credentials))
            .field("prefix", &self.prefix)
            .field("retention_s", &self.retention_s)
            .field("state_every_s", &self.state_every_s)
            .finish()
    }
}

/// A NATS URL's address, and its credentials: a user and password, or a token.
fn split_credentials(url: &str) -> (String, Option<(&str, Option<&str>)>) {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let address = format!("{}{}", &url[..scheme + 3], &url[at + 1..]);
            let credentials = match userinfo.split_once(':') {
                Some((user, password)) => (user, Some(password)),
                None => (userinfo, None),
            };
            (address, Some(credentials))
        }
        _ => (url.to_owned(), None),
    }
}

/// A NATS URL without what precedes its `@` (a user and password, or a token).
fn without_credentials(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}<hidden>{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Why the bus cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The settings are wrong.
    #[error("nats: {0}")]
    Config(String),
    /// The client could not be set up.
    #[error("nats: cannot connect: {0}")]
    Connect(String),
}

/// Every node's live state as the bus tells it, shared by the API and the ESL worker.
pub type SharedMirror = Arc<RwLock<Mirror>>;

/// A connection to the bus. Cheap to clone.
#[derive(Clone)]
pub struct Bus {
    client: async_nats::Client,
    jetstream: async_nats::jetstream::Context,
    names: Names,
    retention: Duration,
    state_every: Duration,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

impl Bus {
    /// A client of the bus, connecting (and reconnecting) in the background: a daemon starts,
    /// and serves FreeSWITCH, while NATS is down; its events wait in the publisher's queue.
    /// Only wrong settings are refused.
    pub async fn connect(settings: &NatsSettings) -> Result<Self, BusError> {
        let url = settings
            .url
            .as_deref()
            .ok_or_else(|| BusError::Config("no url".into()))?;
        let names = Names::new(&settings.prefix).map_err(BusError::Config)?;
        // JetStream refuses a stream that keeps messages for less than its duplicate window.
        if settings.retention_s < 120 {
            return Err(BusError::Config(
                "retention_s must be at least 120 (the stream's duplicate window)".into(),
            ));
        }
        if settings.state_every_s >= settings.retention_s {
            return Err(BusError::Config(
                "state_every_s must be shorter than retention_s (a starting process reads from the nodes' last states)".into(),
            ));
        }
        // Credentials go to the client apart from the address, which its own logs show.
        let (address, credentials) = split_credentials(url);
        let options = match credentials {
            Some((user, Some(password))) => async_nats::ConnectOptions::with_user_and_password(
                user.to_owned(),
                password.to_owned(),
            ),
            Some((token, None)) => async_nats::ConnectOptions::with_token(token.to_owned()),
            None => async_nats::ConnectOptions::new(),
        };
        let client = options
            .name("callcenter")
            .connection_timeout(Duration::from_secs(5))
            .retry_on_initial_connect()
            .connect(address.as_str())
            .await
            .map_err(|e| BusError::Connect(e.to_string()))?;
        let jetstream = async_nats::jetstream::new(client.clone());
        Ok(Bus {
            client,
            jetstream,
            names,
            retention: Duration::from_secs(settings.retention_s),
            state_every: Duration::from_secs(settings.state_every_s.max(1)),
        })
    }

    /// The events' stream, made if missing and set to these settings (a changed retention
    /// applies at the next start).
    pub(crate) async fn events_stream(
        &self,
    ) -> Result<async_nats::jetstream::stream::Stream, String> {
        let config = async_nats::jetstream::stream::Config {
            name: self.names.stream(),
            subjects: vec![self.names.all()],
            max_age: self.retention,
            max_bytes: 1 << 30,
            // A publish retried after a lost acknowledgement is stored once.
            duplicate_window: Duration::from_secs(120),
            storage: async_nats::jetstream::stream::StorageType::File,
            ..Default::default()
        };
        let stream = self
            .jetstream
            .get_or_create_stream(config.clone())
            .await
            .map_err(|e| format!("stream {}: {e}", self.names.stream()))?;
        if stream.cached_info().config.max_age != config.max_age {
            // Only the retention: what the operator set on the server (replicas, limits) stays.
            let mut updated = stream.cached_info().config.clone();
            updated.max_age = config.max_age;
            self.jetstream
                .update_stream(updated)
                .await
                .map_err(|e| format!("stream {}: {e}", self.names.stream()))?;
        }
        Ok(stream)
    }

    /// How often an active ESL worker publishes its node's whole state.
    pub fn state_every(&self) -> Duration {
        self.state_every
    }

    /// The hub's way out to the bus: a task publishes, in order, what the hub hands it.
    pub fn outbound(&self) -> Arc<publisher::Publisher> {
        Arc::new(publisher::Publisher::start(self.clone()))
    }
}

pub use publisher::Publisher;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_the_address() {
        assert_eq!(
            split_credentials("nats://cc:s3cret@10.0.0.5:4222"),
            (
                "nats://10.0.0.5:4222".to_owned(),
                Some(("cc", Some("s3cret")))
            )
        );
        assert_eq!(
            split_credentials("nats://tok@nats.internal"),
            ("nats://nats.internal".to_owned(), Some(("tok", None)))
        );
        assert_eq!(
            split_credentials("nats://127.0.0.1:4222"),
            ("nats://127.0.0.1:4222".to_owned(), None)
        );
        let settings = NatsSettings {
            url: Some("nats://tok@nats.internal".into()),
            ..NatsSettings::default()
        };
        assert!(!format!("{settings:?}").contains("tok"));
    }
}
