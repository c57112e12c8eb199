//! The all-in-one daemon: the xml_curl server, the CDR gateway, the REST API with `/ws` and
//! `/live` on one HTTP port, the recording worker and the ESL worker, over one database (SQLite
//! by default), with `/healthz` and `/metrics`.
//!
//! Configuration: defaults, then a TOML file, then `CALLCENTER_*` environment variables (which
//! win). Secrets are never logged: credentials print as `<hidden>`.
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! database = "sqlite://callcenter.sqlite?mode=rwc"
//! recordings_dir = "recordings/staging"
//!
//! [xml_curl]
//! user = "freeswitch"
//! password = "change-me"
//!
//! [cdr]
//! user = "freeswitch"
//! password = "change-me"
//! batch_max = 500
//! batch_wait_ms = 2
//! default_tenant = "demo"
//!
//! [esl]
//! cdrs = false
//! [[esl.nodes]]
//! name = "fs1"
//! address = "127.0.0.1:8021"
//! password = "ClueCon"
//!
//! [api]
//! jwt_secret = "at least sixteen characters"
//! ```

mod compose;
mod config;
mod credentials;
mod demo;
mod health;
mod serve;

pub use compose::{build, build_roles};
pub use config::{ApiSettings, CdrSettings, Credentials, DaemonConfig, EslSettings, redact};
pub use credentials::{FreeswitchRoute, GENERATED_USER, credentials_for};
pub use demo::seed_demo_data;
pub use serve::{CommonArgs, EXIT_CONFIG, exit_code, init_logs, main_for, serve, shutdown_signal};

use crate::roles::esl_worker::EslWorker;
use crate::roles::recording_worker::RecordingWorker;
use axum::Router;
use billing::Ledger;
use platform::cache::Cache;
use platform::events::Hub;
use platform::store::PlatformStore;
use std::net::SocketAddr;

/// Why the daemon could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The configuration file could not be read.
    #[error("reading {path}: {source}")]
    ConfigFile {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The configuration is invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// The ledger failed.
    #[error(transparent)]
    Ledger(#[from] billing::LedgerError),
    /// The platform's tables failed.
    #[error(transparent)]
    Platform(#[from] platform::store::PlatformError),
    /// The event bus could not be reached or set up.
    #[error(transparent)]
    Bus(#[from] crate::bus::BusError),
    /// The async runtime could not start.
    #[error("runtime: {0}")]
    Runtime(std::io::Error),
    /// The listener failed.
    #[error("listening on {address}: {source}")]
    Listen {
        /// The address.
        address: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// The running daemon's parts.
pub struct Daemon {
    /// The ledger.
    pub ledger: Ledger,
    /// The platform's tables.
    pub store: PlatformStore,
    /// What the roles read through.
    pub cache: Cache,
    /// All routes, but FreeSWITCH's when `freeswitch_listen` is set.
    pub app: Router,
    /// FreeSWITCH's routes (`/fsapi`, `/cdr`) when they have their own address
    /// (`freeswitch_listen`); `None` when they are in `app`.
    pub freeswitch_app: Option<Router>,
    /// The recording worker, when that role runs.
    pub recording_worker: Option<RecordingWorker>,
    /// The ESL worker, when that role runs and nodes are configured.
    pub esl_worker: Option<EslWorker>,
    /// Call events.
    pub hub: Hub,
}

/// Which roles a process serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    /// `POST /fsapi`.
    pub xml_curl: bool,
    /// `POST /cdr`.
    pub cdr: bool,
    /// The recording worker over the staging directory.
    pub recordings: bool,
    /// The ESL worker (when nodes are configured).
    pub esl: bool,
    /// The REST API, `/ws` and `/live`.
    pub api: bool,
}

impl Roles {
    /// Every role: the all-in-one daemon.
    pub const ALL: Roles = Roles {
        xml_curl: true,
        cdr: true,
        recordings: true,
        esl: true,
        api: true,
    };
    /// The xml_curl server alone.
    pub const XML_CURL: Roles = Roles {
        xml_curl: true,
        cdr: false,
        recordings: false,
        esl: false,
        api: false,
    };
    /// The CDR gateway alone.
    pub const CDR: Roles = Roles {
        xml_curl: false,
        cdr: true,
        recordings: false,
        esl: false,
        api: false,
    };
    /// The recording worker alone (with `/healthz` and `/metrics`).
    pub const RECORDINGS: Roles = Roles {
        xml_curl: false,
        cdr: false,
        recordings: true,
        esl: false,
        api: false,
    };
    /// The ESL worker with the API over its live state.
    pub const ESL: Roles = Roles {
        xml_curl: false,
        cdr: false,
        recordings: false,
        esl: true,
        api: true,
    };
}

impl Daemon {
    /// The API users, in the daemon's database.
    pub fn users(&self) -> crate::api::Users {
        crate::api::Users::new(self.ledger.pool().clone())
    }
}
