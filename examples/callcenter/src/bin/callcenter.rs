//! The all-in-one daemon: xml_curl server, CDR gateway, recording worker, ESL worker and the
//! REST API on one port, SQLite by default; and its one-shot commands.

use callcenter::admin::{self, TenantSpec};
use callcenter::api::{ApiUser, Role};
use callcenter::daemon::{
    CommonArgs, Daemon, DaemonConfig, DaemonError, Roles, build_roles, exit_code, init_logs,
    seed_demo_data, serve, shutdown_signal,
};
use callcenter::import::import_cdrs;
use clap::{Parser, Subcommand, ValueEnum};
use platform::balance::money_text as money;
use platform::store::{ExtensionRow, Tenant};
use platform::trunks::TrunkRow;
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
    /// Print the REST API's OpenAPI description (as `GET /api/openapi.json` serves it) and
    /// exit; needs no configuration or database.
    Openapi,
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
        /// Where its calls go: `extension:NAME`, `queue:NAME`, `menu:NAME`, `group:NAME`,
        /// `schedule:NAME` (a queue, menu, ring group or schedule with a dial name) or
        /// `outside:NUMBER`; the target must exist. Without it, the DID keeps its route, if any
        /// (a DID without one refuses its calls).
        #[arg(long)]
        to: Option<platform::inbound::DidRoute>,
    },
    /// Tenants: add (or change), list, show, disable, enable.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// SIP trunks (sofia gateways), served to FreeSWITCH in the directory.
    #[command(subcommand)]
    Trunk(TrunkCommand),
    /// Rate plans.
    #[command(subcommand)]
    Plan(PlanCommand),
    /// Credit a tenant's account, once per payment reference.
    Topup {
        /// The tenant.
        tenant: String,
        /// The amount, in the account's currency (`10.50`).
        amount: String,
        /// The payment's reference: the same reference again adds nothing (another amount
        /// with it is refused).
        #[arg(long)]
        reference: String,
    },
    /// A tenant's API users.
    #[command(subcommand)]
    User(UserCommand),
    /// A tenant's extensions (SIP users).
    #[command(subcommand)]
    Extension(ExtensionCommand),
    /// Record the CDRs FreeSWITCH left in its err-log-dir (`*.cdr.json`, as posted); each
    /// recorded file is renamed `*.imported`. Already recorded CDRs change nothing.
    ImportCdrs {
        /// The err-log-dir.
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum TenantCommand {
    /// Add a tenant, or change one (every setting is given again), with its account.
    Add {
        /// The tenant's id.
        tenant: String,
        /// Its SIP domain.
        #[arg(long)]
        domain: String,
        /// Its dialplan context (default: the tenant's id).
        #[arg(long)]
        context: Option<String>,
        /// The rate plan its calls are charged by.
        #[arg(long)]
        plan: String,
        /// Calls limited to what the balance pays for.
        #[arg(long)]
        prepaid: bool,
        /// How far below zero the balance may go (`0`).
        #[arg(long, default_value = "0")]
        credit_limit: String,
        /// Record every call.
        #[arg(long)]
        record_calls: bool,
        /// Its time zone (IANA, e.g. Europe/London; default UTC).
        #[arg(long)]
        time_zone: Option<String>,
        /// The trunk its outside calls leave by (none: such calls are refused).
        #[arg(long)]
        trunk: Option<String>,
    },
    /// List the tenants.
    List,
    /// Show a tenant and its account.
    Show {
        /// The tenant.
        tenant: String,
    },
    /// Disable a tenant: its data is kept, its users are not served and its calls refused.
    Disable {
        /// The tenant.
        tenant: String,
    },
    /// Enable a disabled tenant.
    Enable {
        /// The tenant.
        tenant: String,
    },
}

#[derive(Debug, Subcommand)]
enum TrunkCommand {
    /// Add or replace a trunk; its password is read as a user's is (CALLCENTER_NEW_PASSWORD or
    /// standard input) when `--username` is given. FreeSWITCH adds it on `sofia profile
    /// PROFILE rescan` (the API applies it on every node at once).
    Add {
        /// The trunk's name (`sofia/gateway/NAME/...`).
        name: String,
        /// The carrier's host, `host` or `host:port`.
        #[arg(long)]
        proxy: String,
        /// The sofia profile it belongs to.
        #[arg(long, default_value = "external")]
        profile: String,
        /// The user name to authenticate as.
        #[arg(long)]
        username: Option<String>,
        /// The digest realm, when not the proxy's.
        #[arg(long)]
        realm: Option<String>,
        /// Register with the carrier.
        #[arg(long)]
        register: bool,
        /// The From header's domain, when not the proxy's.
        #[arg(long)]
        from_domain: Option<String>,
        /// Put the caller ID in the From header.
        #[arg(long)]
        caller_id_in_from: bool,
    },
    /// List the trunks (never their passwords).
    List,
    /// Remove a trunk no tenant uses.
    Remove {
        /// The trunk.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum PlanCommand {
    /// Import (or replace) a rate plan from a CSV file (`prefix,name,rate_per_minute,
    /// connect_fee`); a bad row is reported with its line and nothing is stored.
    Import {
        /// The plan's id.
        id: String,
        /// The CSV file.
        file: PathBuf,
        /// Its ISO currency.
        #[arg(long)]
        currency: String,
        /// The currency's decimals.
        #[arg(long, default_value_t = 2)]
        decimals: u32,
        /// How charges are rounded: up, half-up or down.
        #[arg(long, default_value = "up")]
        rounding: String,
        /// In force from (ISO 8601 such as 2027-01-01T00:00:00Z, or Unix seconds); now by
        /// default. Calls answered before keep the version they were answered under.
        #[arg(long)]
        valid_from: Option<String>,
    },
    /// List the plans.
    List,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add or replace a tenant's user (the password as for add-user).
    Add {
        /// The tenant.
        tenant: String,
        /// The user name.
        username: String,
        /// What the user may do.
        role: RoleArg,
        /// The user's own extension.
        #[arg(long)]
        extension: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum ExtensionCommand {
    /// Add or replace an extension; its SIP password is read as a user's is.
    Add {
        /// The tenant.
        tenant: String,
        /// The extension's name and number.
        extension: String,
        /// Caller ID name.
        #[arg(long)]
        caller_id_name: Option<String>,
        /// Caller ID number (one of the tenant's extensions or DIDs).
        #[arg(long)]
        caller_id_number: Option<String>,
        /// Record its calls.
        #[arg(long)]
        record_calls: bool,
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
    if let Command::Openapi = command {
        println!("{}", callcenter::api::openapi());
        return ExitCode::SUCCESS;
    }
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
            // Answered before any configuration is read (see main).
            Command::Openapi => Ok(()),
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
            Command::Tenant(command) => tenant_command(&daemon, command).await,
            Command::Trunk(command) => trunk_command(&daemon, command).await,
            Command::Plan(command) => plan_command(&daemon, command).await,
            Command::Topup {
                tenant,
                amount,
                reference,
            } => {
                let balance = admin::top_up(
                    &daemon.ledger,
                    &tenant,
                    &amount,
                    &reference,
                    config
                        .api
                        .top_up_max
                        .parse()
                        .map_err(|_| "api.top_up_max is not an amount")?,
                )
                .await?;
                println!(
                    "{tenant}: balance {}, available {}",
                    money(balance.balance),
                    money(balance.available())
                );
                Ok(())
            }
            Command::User(UserCommand::Add {
                tenant,
                username,
                role,
                extension,
            }) => {
                let user = ApiUser {
                    tenant,
                    username,
                    role: role.into(),
                    extension,
                };
                add_user(&daemon, user).await
            }
            Command::Extension(ExtensionCommand::Add {
                tenant,
                extension,
                caller_id_name,
                caller_id_number,
                record_calls,
            }) => {
                let password = new_password()?;
                daemon
                    .store
                    .put_extension(&ExtensionRow {
                        tenant: tenant.clone(),
                        extension: extension.clone(),
                        password: Some(password),
                        a1_hash: None,
                        caller_id_name,
                        caller_id_number,
                        record_calls,
                    })
                    .await?;
                println!("extension {extension} of {tenant} saved");
                Ok(())
            }
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
    admin::check_user(&daemon.store, &user, &password).await?;
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

async fn tenant_command(daemon: &Daemon, command: TenantCommand) -> Result<(), Failure> {
    match command {
        TenantCommand::Add {
            tenant,
            domain,
            context,
            plan,
            prepaid,
            credit_limit,
            record_calls,
            time_zone,
            trunk,
        } => {
            let existing = daemon.store.tenant(&tenant).await?;
            let spec = TenantSpec {
                tenant: Tenant {
                    context: context.unwrap_or_else(|| tenant.clone()),
                    tenant: tenant.clone(),
                    domain,
                    gateway: trunk,
                    prepaid,
                    record_calls,
                    prepaid_slice_seconds: existing.as_ref().and_then(|t| t.prepaid_slice_seconds),
                    time_zone,
                    disabled: existing.is_some_and(|t| t.disabled),
                },
                rate_plan: plan,
                credit_limit: billing::parse_amount(&credit_limit)?,
            };
            admin::put_tenant(&daemon.ledger, &daemon.store, &spec).await?;
            println!("tenant {tenant} saved");
        }
        TenantCommand::List => {
            for t in daemon.store.tenants().await? {
                let state = if t.disabled { " (disabled)" } else { "" };
                println!("{}\t{}\t{}{state}", t.tenant, t.domain, t.context);
            }
        }
        TenantCommand::Show { tenant } => {
            let (spec, balance) = admin::tenant(&daemon.ledger, &daemon.store, &tenant)
                .await?
                .ok_or_else(|| format!("no tenant {tenant:?}"))?;
            let t = &spec.tenant;
            let show = serde_json::json!({
                "tenant": t.tenant, "domain": t.domain, "context": t.context,
                "rate_plan": spec.rate_plan, "prepaid": t.prepaid,
                "credit_limit": money(spec.credit_limit), "record_calls": t.record_calls,
                "time_zone": t.time_zone, "trunk": t.gateway, "disabled": t.disabled,
                "balance": balance.map(|b| money(b.balance)),
            });
            println!("{}", serde_json::to_string_pretty(&show)?);
        }
        TenantCommand::Disable { tenant } => set_disabled(daemon, &tenant, true).await?,
        TenantCommand::Enable { tenant } => set_disabled(daemon, &tenant, false).await?,
    }
    Ok(())
}

async fn set_disabled(daemon: &Daemon, tenant: &str, disabled: bool) -> Result<(), Failure> {
    let mut row = daemon
        .store
        .tenant(tenant)
        .await?
        .ok_or_else(|| format!("no tenant {tenant:?}"))?;
    row.disabled = disabled;
    daemon.store.put_tenant(&row).await?;
    let done = if disabled { "disabled" } else { "enabled" };
    println!("tenant {tenant} {done}");
    Ok(())
}

async fn trunk_command(daemon: &Daemon, command: TrunkCommand) -> Result<(), Failure> {
    match command {
        TrunkCommand::Add {
            name,
            proxy,
            profile,
            username,
            realm,
            register,
            from_domain,
            caller_id_in_from,
        } => {
            let password = match username {
                Some(_) => Some(new_password()?),
                None => None,
            };
            let trunk = TrunkRow {
                name: name.clone(),
                profile: profile.clone(),
                proxy,
                realm,
                username,
                password,
                register,
                from_domain,
                caller_id_in_from,
                expire_seconds: 3600,
                retry_seconds: 30,
            };
            admin::put_trunk(&daemon.store, &trunk).await?;
            println!(
                "trunk {name} saved; FreeSWITCH adds it on `sofia profile {profile} rescan` (a changed trunk: `sofia profile {profile} killgw {name}` first)"
            );
        }
        TrunkCommand::List => {
            for t in daemon.store.trunks(None).await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    t.name,
                    t.profile,
                    t.proxy,
                    if t.register { "registers" } else { "static" }
                );
            }
        }
        TrunkCommand::Remove { name } => match daemon.store.delete_trunk(&name).await? {
            Some(trunk) => println!(
                "trunk {name} removed; run `sofia profile {} killgw {name}`",
                trunk.profile
            ),
            None => return Err(format!("no trunk {name:?}").into()),
        },
    }
    Ok(())
}

async fn plan_command(daemon: &Daemon, command: PlanCommand) -> Result<(), Failure> {
    match command {
        PlanCommand::Import {
            id,
            file,
            currency,
            decimals,
            rounding,
            valid_from,
        } => {
            let valid_from = valid_from.as_deref().map(admin::parse_time).transpose()?;
            let rounding =
                billing::Rounding::parse(&rounding).ok_or("rounding is up, half-up or down")?;
            let csv =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            admin::import_plan(
                &daemon.ledger,
                &id,
                &currency,
                decimals,
                rounding,
                csv,
                valid_from,
            )
            .await
            .map_err(|e| format!("{}: {e}", file.display()))?;
            println!("rate plan {id} imported");
        }
        PlanCommand::List => {
            for (id, currency, decimals) in daemon.ledger.plan_ids().await? {
                println!("{id}\t{currency}\t{decimals}");
            }
        }
    }
    Ok(())
}
