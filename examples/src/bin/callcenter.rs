//! The all-in-one daemon: xml_curl server, CDR gateway, recording worker, ESL worker and the
//! REST API on one port, SQLite by default.

use clap::{Parser, Subcommand};
use examples::api::{ApiUser, Role};
use examples::daemon::{
    DaemonConfig, Roles, build_roles, init_logs, seed_demo_data, serve, shutdown_signal,
};
use examples::import::import_cdrs;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// TOML configuration (see the examples crate's `daemon` module); CALLCENTER_* variables
    /// override it.
    #[arg(long, env = "CALLCENTER_CONFIG")]
    config: Option<PathBuf>,
    /// Logs as JSON lines instead of text.
    #[arg(long)]
    json_logs: bool,
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
        /// `admin` or `agent`.
        #[arg(value_parser = ["admin", "agent"])]
        role: String,
        /// The user's own extension (click-to-call rings it first).
        #[arg(long)]
        extension: Option<String>,
    },
    /// Record the CDRs FreeSWITCH left in its err-log-dir (`*.cdr.json`, as posted); each
    /// recorded file is renamed `*.imported`. Already recorded CDRs change nothing.
    ImportCdrs {
        /// The err-log-dir.
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_logs(args.json_logs);
    let config = match DaemonConfig::load(args.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("callcenter: {error}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("callcenter: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let command = args.command.unwrap_or(Command::Serve { demo_data: false });
        // One-shot commands do not start the recording worker.
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
            Command::Serve { demo_data } => {
                if demo_data {
                    seed_demo_data(&daemon.ledger, &daemon.store).await?;
                    tracing::info!(
                        "demo tenant ready: domain demo.local, extensions 1000 and 1001"
                    );
                }
                serve(&config, daemon, shutdown_signal()).await?;
                tracing::info!("stopped");
            }
            Command::DemoData => seed_demo_data(&daemon.ledger, &daemon.store).await?,
            Command::AddUser {
                tenant,
                username,
                role,
                extension,
            } => {
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
                if daemon.store.tenant(&tenant).await?.is_none() {
                    return Err(format!("no tenant {tenant:?}").into());
                }
                let role = if role == "admin" {
                    Role::Admin
                } else {
                    Role::Agent
                };
                let user = ApiUser {
                    tenant,
                    username,
                    role,
                    extension,
                };
                daemon.users().put(&user, &password).await?;
                println!("user {} of {} saved", user.username, user.tenant);
            }
            Command::ImportCdrs { dir } => {
                let summary = import_cdrs(&daemon.ledger, &dir, &config.cdr).await?;
                println!("{}", serde_json::to_string(&summary).unwrap_or_default());
                if summary.failed > 0 {
                    return Err("some files were not imported".into());
                }
            }
        }
        Ok::<(), Box<dyn std::error::Error>>(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("callcenter: {error}");
            ExitCode::FAILURE
        }
    }
}
