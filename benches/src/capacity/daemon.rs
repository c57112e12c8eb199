//! The platform under load: the `callcenter` daemon built beside this binary, started with
//! every role (xml_curl, CDR gateway, REST API and `/ws`, ESL worker, recording worker) on a
//! fresh PostgreSQL schema, staging recordings on tmpfs and storing them in S3, as an operator
//! runs it; then seeded as its admin would (the demo tenant, recorded, prepaid, with credit
//! enough for the run, and an API user per agent on `/ws`).

use super::call::FREESWITCH_STAGING;
use billing::{Decimal, HoldCommit, Ledger};
use callcenter::api::{ApiUser, Role, Tokens, Users};
use platform::store::PlatformStore;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The database the run makes its schema in.
pub const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";
/// The credentials FreeSWITCH uses for `/fsapi` and `/cdr` (basic auth: freeswitch:curlpass,
/// freeswitch:cdrpass).
pub const FSAPI_AUTH: &str = "Basic ZnJlZXN3aXRjaDpjdXJscGFzcw==";
/// See [`FSAPI_AUTH`].
pub const CDR_AUTH: &str = "Basic ZnJlZXN3aXRjaDpjZHJwYXNz";
/// The ESL password of the generator's node.
pub const ESL_PASSWORD: &str = "ClueCon";
const JWT_SECRET: &str = "capacity-load secret, long enough for HS256";
/// The demo data's tenant, domain and context.
pub const TENANT: &str = "demo";
/// See [`TENANT`].
pub const DOMAIN: &str = "demo.local";

/// A running daemon.
pub struct Daemon {
    child: Child,
    /// Its HTTP listener (the API, /ws).
    pub address: SocketAddr,
    /// The listener of FreeSWITCH's routes (/fsapi, /cdr), served on a thread of their own.
    pub freeswitch_address: SocketAddr,
    /// Its database (the run's schema).
    pub database: String,
    /// The schema, dropped by [`Daemon::stop`] unless kept.
    pub schema: String,
    /// The staging directory on tmpfs.
    pub staging: PathBuf,
    /// Its log.
    pub log: PathBuf,
}

/// Where the run puts things.
#[derive(Debug, Clone)]
pub struct Places {
    /// Scratch directory (configuration, log).
    pub scratch: PathBuf,
    /// The staging directory (tmpfs).
    pub staging: PathBuf,
}

/// The `callcenter` binary beside this one (`cargo build --release -p callcenter`).
pub fn binary() -> PathBuf {
    let here = std::env::current_exe().expect("this binary's path");
    let beside = here.with_file_name("callcenter");
    if !beside.exists() {
        eprintln!(
            "{} is missing: cargo build --release -p callcenter --bin callcenter",
            beside.display()
        );
        std::process::exit(2);
    }
    beside
}

fn config_file(
    places: &Places,
    database: &str,
    ports: (u16, u16),
    node: &str,
    hold_commit: HoldCommit,
) -> String {
    let s3 = tests::recordings::require_s3();
    let (port, freeswitch_port) = ports;
    let hold_commit = match hold_commit {
        HoldCommit::Durable => "durable",
        HoldCommit::Asynchronous => "asynchronous",
    };
    format!(
        r#"listen = "127.0.0.1:{port}"
freeswitch_listen = "127.0.0.1:{freeswitch_port}"
database = "{database}"
prepaid_hold_commit = "{hold_commit}"
recordings_dir = "{staging}"

[recordings_s3]
endpoint = "{endpoint}"
bucket = "{bucket}"
region = "{region}"
access_key_id = "{access_key}"

[xml_curl]
user = "freeswitch"
password = "curlpass"

[cdr]
user = "freeswitch"
password = "cdrpass"
default_tenant = "{TENANT}"

[esl]
freeswitch_recordings_dir = "{FREESWITCH_STAGING}"

[[esl.nodes]]
name = "fs1"
address = "{node}"
password = "{ESL_PASSWORD}"

[api]
jwt_secret = "{JWT_SECRET}"
"#,
        staging = places.staging.display(),
        endpoint = s3.endpoint.unwrap_or_default(),
        bucket = s3.bucket,
        region = s3.region,
        access_key = s3.access_key_id,
    )
}

impl Daemon {
    /// Starts the daemon on a fresh schema, its one node at `node`, its prepaid holds
    /// committed as `hold_commit` says, and waits until it answers `/healthz`.
    pub async fn start(places: &Places, node: &str, hold_commit: HoldCommit) -> Daemon {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let schema = format!("capacity_{}_{nanos}", std::process::id());
        let public = Ledger::connect(POSTGRES)
            .await
            .expect("PostgreSQL on 127.0.0.1:5432 (run .ci/test once, or start it)");
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(public.pool())
            .await
            .expect("create the run's schema");
        let database = format!("{POSTGRES}?options=-c%20search_path%3D{schema}");
        let port = tests::free_port();
        let freeswitch_port = std::iter::repeat_with(tests::free_port)
            .find(|other| *other != port)
            .expect("a second free port");
        let config = places.scratch.join("callcenter.toml");
        std::fs::write(
            &config,
            config_file(
                places,
                &database,
                (port, freeswitch_port),
                node,
                hold_commit,
            ),
        )
        .unwrap();
        let log = places.scratch.join("callcenter.log");
        let child = Command::new(binary())
            .args(["serve", "--demo-data"])
            .env("CALLCENTER_CONFIG", &config)
            .env(
                "CALLCENTER_RECORDINGS_S3_SECRET_ACCESS_KEY",
                tests::recordings::s3_config().secret_access_key,
            )
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(places.scratch.join("callcenter.err")).unwrap())
            .spawn()
            .expect("start the daemon");
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        tests::http::wait_healthy(address).await;
        Daemon {
            child,
            address,
            freeswitch_address: SocketAddr::from(([127, 0, 0, 1], freeswitch_port)),
            database,
            schema,
            staging: places.staging.clone(),
            log,
        }
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What an admin sets up before the shift: every call of the demo tenant recorded, its
    /// calls authorised against its credit in the dialplan lookup (prepaid, the demo's) unless
    /// `postpaid`, credit enough for the run, and `agents` API users; returns a token per agent.
    pub async fn seed(&self, agents: usize, postpaid: bool) -> Vec<String> {
        let ledger = Ledger::connect(&self.database).await.unwrap();
        let store = PlatformStore::open(ledger.pool().clone(), ledger.backend())
            .await
            .unwrap();
        // The demo data is written once the daemon listens.
        let mut tenant = None;
        for _ in 0..100 {
            tenant = store.tenant(TENANT).await.ok().flatten();
            if tenant.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut tenant = tenant.expect("the demo tenant");
        tenant.record_calls = true;
        tenant.prepaid = !postpaid;
        store.put_tenant(&tenant).await.unwrap();
        ledger
            .top_up(TENANT, Decimal::new(100_000_000, 2), "capacity-load credit")
            .await
            .unwrap();
        let users = Users::new(ledger.pool().clone());
        let tokens = Tokens::new(JWT_SECRET.as_bytes(), Duration::from_secs(3600));
        let mut issued = Vec::new();
        for n in 0..agents {
            let user = ApiUser {
                tenant: TENANT.into(),
                username: format!("agent{n:04}"),
                role: Role::Agent,
                extension: None,
            };
            users.put(&user, "capacity-agent-password").await.unwrap();
            // Each was put once: credentials version 0, as the daemon's login would issue.
            issued.push(tokens.issue(&user, 0).0);
        }
        issued
    }

    /// Stops the daemon (SIGTERM, then SIGKILL after 10 s) and drops the schema unless `keep`.
    pub async fn stop(mut self, keep: bool) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !keep && let Ok(public) = Ledger::connect(POSTGRES).await {
            let _ = sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.schema))
                .execute(public.pool())
                .await;
        }
    }
}

impl Drop for Daemon {
    /// A run that fails midway does not leave the daemon running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The bytes and files staged under `dir` now (the quarantine included).
pub fn staged(dir: &Path) -> (u64, u64) {
    let (mut bytes, mut files) = (0, 0);
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.metadata() {
                Ok(meta) if meta.is_dir() => stack.push(entry.path()),
                Ok(meta) => {
                    bytes += meta.len();
                    files += 1;
                }
                Err(_) => {}
            }
        }
    }
    (bytes, files)
}
