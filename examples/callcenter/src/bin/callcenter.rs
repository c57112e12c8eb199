//! The all-in-one daemon: xml_curl server, CDR gateway, recording worker, ESL worker and the
//! REST API on one port, SQLite by default; and its one-shot commands.

use callcenter::api::{ApiUser, Role};
use callcenter::daemon::{
    CommonArgs, Daemon, DaemonConfig, DaemonError, Roles, build_roles, exit_code, init_logs,
    seed_demo_data, serve, shutdown_signal,
};
use callcenter::import::import_cdrs;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve (the default).
    Serve {
        /// Create the demo tenant first (tenant `demo`, domain `demo.local`, extensions 1000 and
        /// 1001, a rate plan and some credit).
        #[arg(long)]
        demo_data: bool,
    },
    /// Create the demo tenant and exit.
    DemoData,
    /// Add or replace an API user; the password is read from CALLCENTER_NEW_PASSWORD, else
    /// from the first line of standard input.
    AddUser {
        /// The tenant.
        tenant: String,
        /// The user name.
        username: String,
        /// What the user may do.
        role: RoleArg,
        /// The user's own extension (click-to-call rings it first).
        #[arg(long)]
        extension: Option<String>,
    },
    /// Add or replace a platform operator (top-ups, unassigned data; no tenant's calls); the
    /// password is read as for add-user.
    AddOperator {
        /// The user name.
        username: String,
    },
    /// Give a DID (a number on the trunk) to a tenant: its extensions may then present it as
    /// caller ID, and with `--to` calls to it from the trunk reach that target. A DID is one
    /// tenant's only.
    AddDid {
        /// The number, digits with an optional leading `+`, as the trunk presents it.
        number: String,
        /// The tenant.
        tenant: String,
        /// Where its calls go: `extension:NAME`, `queue:NAME`, `menu:NAME` (a queue or menu
        /// with a dial name) or `outside:NUMBER`. Without it, the DID keeps its route, if any
        /// (a DID without one refuses its calls).
        #[arg(long)]
        to: Option<platform::inbound::DidRoute>,
    },
    /// Record the CDRs FreeSWITCH left in its err-log-dir (`*.cdr.json`, as posted); each
    /// recorded file is renamed `*.imported`. Already recorded CDRs change nothing.
    ImportCdrs {
        /// The err-log-dir.
        dir: PathBuf,
    },
}

/// A user's role on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    /// Manages the tenant.
    Admin,
    /// Works calls.
    Agent,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Admin => Role::Admin,
            RoleArg::Agent => Role::Agent,
        }
    }
}

/// Why a command failed; a [`DaemonError`] in it keeps its exit status.
type Failure = Box<dyn std::error::Error>;

fn main() -> ExitCode {
    let args = Args::parse();
    init_logs(args.common.json_logs);
    let command = args.command.unwrap_or(Command::Serve { demo_data: false });
    let result = DaemonConfig::load(args.common.config.as_deref())
        .map_err(Failure::from)
        .and_then(|config| run(config, command));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("callcenter: {error}");
            error
                .downcast_ref::<DaemonError>()
                .map_or(ExitCode::FAILURE, exit_code)
        }
    }
}

fn run(config: DaemonConfig, command: Command) -> Result<(), Failure> {
    let runtime = tokio::runtime::Runtime::new().map_err(DaemonError::Runtime)?;
    runtime.block_on(async {
        // One-shot commands do not start the workers or the API.
        let roles = match command {
            Command::Serve { .. } => Roles::ALL,
            _ => Roles {
                recordings: false,
                esl: false,
                api: false,
                ..Roles::ALL
            },
        };
        let daemon = build_roles(&config, roles).await?;
        match command {
            Command::Serve { demo_data } => serve_all(&config, daemon, demo_data).await,
            Command::DemoData => Ok(seed_demo_data(&daemon.ledger, &daemon.store).await?),
            Command::AddUser {
                tenant,
                username,
                role,
                extension,
            } => {
                let user = ApiUser {
                    tenant,
                    username,
                    role: role.into(),
                    extension,
                };
                add_user(&daemon, user).await
            }
            Command::AddDid { number, tenant, to } => {
                daemon.store.put_did(&number, &tenant).await?;
                // Without --to, a route the DID has is kept.
                match to {
                    Some(route) => {
                        daemon
                            .store
                            .route_did(&number, &tenant, Some(&route))
                            .await?;
                        println!(
                            "DID {number} is {tenant}'s, routed to {} {}",
                            route.kind(),
                            route.target()
                        );
                    }
                    None => println!("DID {number} is {tenant}'s"),
                }
                Ok(())
            }
            Command::AddOperator { username } => {
                let password = new_password()?;
                daemon.users().put_operator(&username, &password).await?;
                println!("operator {username} saved");
                Ok(())
            }
            Command::ImportCdrs { dir } => import(&config, &daemon, &dir).await,
        }
    })
}

async fn serve_all(config: &DaemonConfig, daemon: Daemon, demo_data: bool) -> Result<(), Failure> {
    if demo_data {
        seed_demo_data(&daemon.ledger, &daemon.store).await?;
        tracing::info!("demo tenant ready: domain demo.local, extensions 1000 and 1001");
    }
    serve(config, daemon, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// A new user's password: CALLCENTER_NEW_PASSWORD, else the first line of standard input.
fn new_password() -> Result<String, Failure> {
    let password = match std::env::var("CALLCENTER_NEW_PASSWORD") {
        Ok(password) => password,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    if password.len() < 8 {
        return Err("a password has at least 8 characters".into());
    }
    Ok(password)
}

async fn add_user(daemon: &Daemon, user: ApiUser) -> Result<(), Failure> {
    let password = new_password()?;
    if daemon.store.tenant(&user.tenant).await?.is_none() {
        return Err(format!("no tenant {:?}", user.tenant).into());
    }
    daemon.users().put(&user, &password).await?;
    println!("user {} of {} saved", user.username, user.tenant);
    Ok(())
}

async fn import(
    config: &DaemonConfig,
    daemon: &Daemon,
    dir: &std::path::Path,
) -> Result<(), Failure> {
    let options = config.variables().cdr_options();
    let summary = import_cdrs(&daemon.ledger, dir, &options).await?;
    println!("{}", serde_json::to_string(&summary).unwrap_or_default());
    if summary.failed > 0 {
        return Err("some files were not imported".into());
    }
    Ok(())
}
