//! The daemon's configuration: defaults, then a TOML file, then `CALLCENTER_*` variables.

use super::DaemonError;
use platform::variables::ChannelVariables;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Credentials in the configuration.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// User name. Required with the password (the embedded SQLite default generates both
    /// when neither is set).
    pub user: Option<String>,
    /// Password.
    pub password: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

/// The CDR gateway's settings.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct CdrSettings {
    /// Credentials FreeSWITCH posts with.
    #[serde(flatten)]
    pub credentials: Credentials,
    /// Most CDRs per database transaction.
    pub batch_max: usize,
    /// Longest wait for a batch to fill, ms.
    pub batch_wait_ms: u64,
    /// The channel variable naming a call's tenant, for every role (the directory and
    /// click-to-call set it; live calls and CDRs read it).
    pub tenant_variable: String,
    /// Tenant for CDRs that name none.
    pub default_tenant: Option<String>,
}

impl Default for CdrSettings {
    fn default() -> Self {
        CdrSettings {
            credentials: Credentials::default(),
            batch_max: 500,
            batch_wait_ms: 2,
            tenant_variable: ChannelVariables::DEFAULT_TENANT.into(),
            default_tenant: None,
        }
    }
}

/// The ESL worker's settings.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct EslSettings {
    /// FreeSWITCH nodes; none means the ESL worker does not run.
    pub nodes: Vec<crate::roles::esl_worker::NodeConfig>,
    /// Record CDRs from `CHANNEL_HANGUP_COMPLETE` (when `mod_json_cdr` is not used).
    pub cdrs: bool,
    /// Limit prepaid calls our dialplan did not limit, on answer.
    pub prepaid: bool,
    /// How long to try to limit such a call (the ledger failing) before hanging it up,
    /// milliseconds (1 to 3 600 000). Default 10000.
    pub prepaid_grace_ms: u64,
    /// The staging directory as FreeSWITCH names it, when it differs from `recordings_dir`.
    pub freeswitch_recordings_dir: Option<PathBuf>,
    /// Where CDRs from events wait while the database is down (with `cdrs`).
    pub cdr_journal: PathBuf,
    /// With `[nats]` on PostgreSQL (several daemons sharing nodes), how long a worker's lease
    /// on a node lasts unrenewed, ms: one worker acts for each node, and a standby takes a
    /// node over this long after its active worker died. Default 3000.
    pub lease_ttl_ms: u64,
    /// The longest wait between two attempts to connect to a node, ms: a restarted FreeSWITCH
    /// is followed again at most this long after it accepts connections. Default 1000.
    pub reconnect_max_ms: u64,
}

impl Default for EslSettings {
    fn default() -> Self {
        EslSettings {
            nodes: Vec::new(),
            cdrs: false,
            prepaid: true,
            prepaid_grace_ms: 10_000,
            freeswitch_recordings_dir: None,
            cdr_journal: PathBuf::from("esl-cdr-journal.jsonl"),
            lease_ttl_ms: 3000,
            reconnect_max_ms: 1000,
        }
    }
}

/// The REST API's settings.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSettings {
    /// The HS256 secret of the tokens. Without one, a random secret is made at start (tokens
    /// then die with the process).
    pub jwt_secret: Option<String>,
    /// Token lifetime, seconds. Default 8 hours.
    pub token_ttl_s: u64,
    /// Lifetime of pre-signed recording URLs, seconds. Default 300.
    pub download_ttl_s: u64,
    /// The largest top-up an operator may make at once, a decimal in the account's currency.
    /// Default `10000`.
    pub top_up_max: String,
    /// Most `/ws` sockets open at once per token. Default 8.
    pub sockets_per_token: usize,
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings {
            jwt_secret: None,
            token_ttl_s: 8 * 3600,
            download_ttl_s: 300,
            top_up_max: "10000".into(),
            sockets_per_token: 8,
        }
    }
}

impl std::fmt::Debug for ApiSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiSettings")
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "<hidden>"))
            .field("token_ttl_s", &self.token_ttl_s)
            .field("download_ttl_s", &self.download_ttl_s)
            .field("top_up_max", &self.top_up_max)
            .field("sockets_per_token", &self.sockets_per_token)
            .finish()
    }
}

/// The daemon's configuration. Its `Debug` hides the database password and credentials.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct DaemonConfig {
    /// HTTP address of every route. Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// A separate address for FreeSWITCH's routes (`/fsapi`, `/cdr`); when set they are served
    /// there only, so `listen` can be exposed without them.
    pub freeswitch_listen: Option<SocketAddr>,
    /// Most HTTP connections open at once per listener; more wait in the backlog. Default 4096.
    pub max_connections: usize,
    /// How long a request may take before it is answered 503, ms. Default 30000.
    pub request_timeout_ms: u64,
    /// How long a client has to send a request's headers (the first, and each next one on a
    /// kept-alive connection) before its connection is closed, ms. Default 10000.
    pub header_timeout_ms: u64,
    /// How long a write to a client may make no progress (the client stopped reading) before
    /// its connection is dropped, ms; WebSockets included. Default 30000.
    pub write_timeout_ms: u64,
    /// Database URL. Default: SQLite in `callcenter.sqlite`.
    pub database: String,
    /// Where `record_session` writes. Default `recordings/staging`.
    pub recordings_dir: PathBuf,
    /// Where finished recordings are stored, unless `recordings_s3` is set. Default
    /// `recordings/store`.
    pub recordings_store: PathBuf,
    /// An S3 bucket (MinIO, Garage, AWS) for the recordings instead of the local store.
    pub recordings_s3: Option<recording::S3Config>,
    /// How often the recording worker scans the staging directory, ms. Default 30000.
    pub recordings_scan_ms: u64,
    /// A directory on disk that finished recordings move to when the staging directory holds
    /// `recordings_high_water_mb` of them (the store is down or slow), so that FreeSWITCH keeps
    /// room to record; drained first when the store is back. Default: none.
    pub recordings_spill_dir: Option<PathBuf>,
    /// Most MiB of finished recordings (WAVs and MP3s) held in `recordings_dir` before they
    /// spill. Default 1024.
    pub recordings_high_water_mb: u64,
    /// `/healthz` says degraded when the store has failed every upload this long, or a finished
    /// recording has waited this long, s. Default 300.
    pub recordings_degraded_after_s: u64,
    /// With the event bus: the FreeSWITCH node whose host this recording worker stages for
    /// (its WAVs are in `recordings_dir`); the node's active ESL worker, wherever it runs,
    /// hands its finished recordings to this worker over the bus. Required with `[nats]` when
    /// the recording worker runs.
    pub recordings_node: Option<String>,
    /// Extension names refused because they shadow emergency or service numbers; default
    /// `platform::identity::DEFAULT_RESERVED` (112, 911, ...).
    pub reserved_extensions: Option<Vec<String>>,
    /// Whether a prepaid call's dialplan answer waits for its hold to be on disk (`durable`,
    /// the default) or only committed (`asynchronous`; PostgreSQL; what a database crash can
    /// then cost: `billing::HoldCommit`).
    pub prepaid_hold_commit: billing::HoldCommit,
    /// xml_curl credentials.
    pub xml_curl: Credentials,
    /// CDR gateway settings.
    pub cdr: CdrSettings,
    /// ESL worker settings.
    pub esl: EslSettings,
    /// REST API settings.
    pub api: ApiSettings,
    /// The event bus between processes (NATS), when several daemons share the platform.
    pub nats: crate::bus::NatsSettings,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            freeswitch_listen: None,
            max_connections: 4096,
            request_timeout_ms: 30_000,
            header_timeout_ms: 10_000,
            write_timeout_ms: 30_000,
            database: "sqlite://callcenter.sqlite?mode=rwc".into(),
            recordings_dir: PathBuf::from("recordings/staging"),
            recordings_store: PathBuf::from("recordings/store"),
            recordings_s3: None,
            recordings_scan_ms: 30_000,
            recordings_spill_dir: None,
            recordings_high_water_mb: 1024,
            recordings_degraded_after_s: 300,
            recordings_node: None,
            reserved_extensions: None,
            prepaid_hold_commit: billing::HoldCommit::Durable,
            xml_curl: Credentials::default(),
            cdr: CdrSettings::default(),
            esl: EslSettings::default(),
            api: ApiSettings::default(),
            nats: crate::bus::NatsSettings::default(),
        }
    }
}

impl std::fmt::Debug for DaemonConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaemonConfig")
            .field("listen", &self.listen)
            .field("freeswitch_listen", &self.freeswitch_listen)
            .field("max_connections", &self.max_connections)
            .field("request_timeout_ms", &self.request_timeout_ms)
            .field("header_timeout_ms", &self.header_timeout_ms)
            .field("write_timeout_ms", &self.write_timeout_ms)
            .field("database", &redact(&self.database))
            .field("recordings_dir", &self.recordings_dir)
            .field("recordings_store", &self.recordings_store)
            .field("recordings_s3", &self.recordings_s3)
            .field("recordings_scan_ms", &self.recordings_scan_ms)
            .field("recordings_spill_dir", &self.recordings_spill_dir)
            .field("recordings_high_water_mb", &self.recordings_high_water_mb)
            .field(
                "recordings_degraded_after_s",
                &self.recordings_degraded_after_s,
            )
            .field("recordings_node", &self.recordings_node)
            .field("reserved_extensions", &self.reserved_extensions)
            .field("prepaid_hold_commit", &self.prepaid_hold_commit)
            .field("xml_curl", &self.xml_curl)
            .field("cdr", &self.cdr)
            .field("esl", &self.esl)
            .field("api", &self.api)
            .field("nats", &self.nats)
            .finish()
    }
}

impl DaemonConfig {
    /// The channel variables every role sets and reads (the tenant's is `cdr.tenant_variable`).
    pub fn variables(&self) -> ChannelVariables {
        ChannelVariables::new(&self.cdr.tenant_variable)
    }

    /// Defaults, then `file` (TOML) if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, DaemonError> {
        let mut config = match file {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| DaemonError::ConfigFile {
                        path: path.display().to_string(),
                        source,
                    })?;
                toml::from_str(&text).map_err(|e| DaemonError::Config(e.to_string()))?
            }
            None => DaemonConfig::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        Ok(config)
    }

    /// Overrides from `CALLCENTER_LISTEN`, `CALLCENTER_FREESWITCH_LISTEN`, `CALLCENTER_DATABASE`, `CALLCENTER_RECORDINGS_DIR`,
    /// `CALLCENTER_RECORDINGS_STORE`, `CALLCENTER_RECORDINGS_SCAN_MS`,
    /// `CALLCENTER_RECORDINGS_S3_SECRET_ACCESS_KEY`, `CALLCENTER_XML_CURL_USER`/`_PASSWORD`,
    /// `CALLCENTER_CDR_USER`/`_PASSWORD`, `CALLCENTER_CDR_DEFAULT_TENANT`,
    /// `CALLCENTER_API_JWT_SECRET`, `CALLCENTER_ESL_PASSWORD` (every node's),
    /// `CALLCENTER_NATS_URL`, `CALLCENTER_RECORDINGS_NODE`.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), DaemonError> {
        if let Some(listen) = var("CALLCENTER_LISTEN") {
            self.listen = listen
                .parse()
                .map_err(|e| DaemonError::Config(format!("CALLCENTER_LISTEN: {e}")))?;
        }
        if let Some(listen) = var("CALLCENTER_FREESWITCH_LISTEN") {
            self.freeswitch_listen =
                Some(listen.parse().map_err(|e| {
                    DaemonError::Config(format!("CALLCENTER_FREESWITCH_LISTEN: {e}"))
                })?);
        }
        if let Some(database) = var("CALLCENTER_DATABASE") {
            self.database = database;
        }
        if let Some(dir) = var("CALLCENTER_RECORDINGS_DIR") {
            self.recordings_dir = dir.into();
        }
        if let Some(dir) = var("CALLCENTER_RECORDINGS_STORE") {
            self.recordings_store = dir.into();
        }
        if let Some(ms) = var("CALLCENTER_RECORDINGS_SCAN_MS") {
            self.recordings_scan_ms = ms
                .parse()
                .map_err(|e| DaemonError::Config(format!("CALLCENTER_RECORDINGS_SCAN_MS: {e}")))?;
        }
        if let (Some(s3), Some(secret)) = (
            self.recordings_s3.as_mut(),
            var("CALLCENTER_RECORDINGS_S3_SECRET_ACCESS_KEY"),
        ) {
            s3.secret_access_key = secret;
        }
        let set = |target: &mut Option<String>, name: &str| {
            if let Some(value) = var(name) {
                *target = Some(value);
            }
        };
        set(&mut self.xml_curl.user, "CALLCENTER_XML_CURL_USER");
        set(&mut self.xml_curl.password, "CALLCENTER_XML_CURL_PASSWORD");
        set(&mut self.cdr.credentials.user, "CALLCENTER_CDR_USER");
        set(
            &mut self.cdr.credentials.password,
            "CALLCENTER_CDR_PASSWORD",
        );
        set(
            &mut self.cdr.default_tenant,
            "CALLCENTER_CDR_DEFAULT_TENANT",
        );
        set(&mut self.api.jwt_secret, "CALLCENTER_API_JWT_SECRET");
        set(&mut self.nats.url, "CALLCENTER_NATS_URL");
        set(&mut self.recordings_node, "CALLCENTER_RECORDINGS_NODE");
        if let Some(password) = var("CALLCENTER_ESL_PASSWORD") {
            for node in &mut self.esl.nodes {
                node.password.clone_from(&password);
            }
        }
        Ok(())
    }
}

/// A database URL without its password.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:<hidden>{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment() {
        let mut config: DaemonConfig = toml::from_str(
            "listen = \"127.0.0.1:9000\"\n[cdr]\nuser = \"fs\"\npassword = \"file-password\"\nbatch_max = 50\n\
             [[esl.nodes]]\nname = \"fs1\"\naddress = \"127.0.0.1:8021\"\npassword = \"ClueCon\"\n",
        )
        .unwrap();
        assert_eq!(config.cdr.batch_max, 50);
        assert_eq!(config.esl.nodes[0].name, "fs1");
        config
            .apply_env(|name| match name {
                "CALLCENTER_CDR_PASSWORD" => Some("from-env".into()),
                "CALLCENTER_DATABASE" => Some("postgres://u:pw@db/x".into()),
                "CALLCENTER_API_JWT_SECRET" => Some("jwt-from-env-0123456789".into()),
                "CALLCENTER_ESL_PASSWORD" => Some("esl-from-env".into()),
                _ => None,
            })
            .unwrap();
        assert_eq!(config.cdr.credentials.password.as_deref(), Some("from-env"));
        assert_eq!(config.esl.nodes[0].password, "esl-from-env");
        let shown = format!("{config:?}");
        for secret in [
            "from-env",
            "file-password",
            "jwt-from-env",
            "esl-from-env",
            "ClueCon",
            ":pw@",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert_eq!(redact(&config.database), "postgres://u:<hidden>@db/x");
        assert!(toml::from_str::<DaemonConfig>("lisen = \"x\"").is_err());
    }

    #[test]
    fn prepaid_holds_are_durable_unless_configured_otherwise() {
        let config: DaemonConfig = toml::from_str("").unwrap();
        assert_eq!(config.prepaid_hold_commit, billing::HoldCommit::Durable);
        let config: DaemonConfig =
            toml::from_str("prepaid_hold_commit = \"asynchronous\"").unwrap();
        assert_eq!(
            config.prepaid_hold_commit,
            billing::HoldCommit::Asynchronous
        );
        assert!(toml::from_str::<DaemonConfig>("prepaid_hold_commit = \"sometimes\"").is_err());
    }

    #[test]
    fn the_shipped_configuration_loads() {
        let config: DaemonConfig =
            toml::from_str(include_str!("../../../deploy/callcenter.toml")).unwrap();
        assert_eq!(config.cdr.credentials.user.as_deref(), Some("freeswitch"));
        assert_eq!(config.recordings_dir, PathBuf::from("/dev/shm/recordings"));
        let with_s3 = include_str!("../../../deploy/callcenter.toml")
            .replace("# [recordings_s3]", "[recordings_s3]")
            .replace("# endpoint", "endpoint")
            .replace("# bucket", "bucket")
            .replace("# region", "region")
            .replace("# access_key_id", "access_key_id");
        let mut config: DaemonConfig = toml::from_str(&with_s3).unwrap();
        config
            .apply_env(|name| {
                (name == "CALLCENTER_RECORDINGS_S3_SECRET_ACCESS_KEY").then(|| "s3-secret".into())
            })
            .unwrap();
        let s3 = config.recordings_s3.as_ref().unwrap();
        assert_eq!(s3.secret_access_key, "s3-secret");
        assert!(!format!("{config:?}").contains("s3-secret"));
    }
}
