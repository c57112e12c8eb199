//! Rates CDR files against a CSV rate plan, or authorises a prepaid call.

use billing::{CdrOptions, Decimal};
use billing_rate::{authorize, load_plan, rate, read_cdr};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// Rate mod_json_cdr CDRs (any encoding, or saved requests) against a rate plan, one JSON line
/// per CDR; or, with --authorize, print the longest call a balance pays for.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The rate plan (CSV; see the billing crate's documentation for its columns).
    #[arg(long)]
    plan: PathBuf,
    /// The plan's currency (ISO code).
    #[arg(long, default_value = "EUR")]
    currency: String,
    /// Decimals of the currency.
    #[arg(long, default_value_t = 2)]
    decimals: u32,
    /// Rounding of each charge: up, half-up or down.
    #[arg(long, default_value = "up")]
    rounding: String,
    /// The channel variable naming the tenant.
    #[arg(long, default_value = "tenant_id")]
    tenant_variable: String,
    /// Authorise a call instead of rating CDRs.
    #[arg(long, requires_all = ["balance", "destination"])]
    authorize: bool,
    /// Balance plus credit limit available (with --authorize).
    #[arg(long)]
    balance: Option<Decimal>,
    /// Number to call (with --authorize).
    #[arg(long)]
    destination: Option<String>,
    /// When the call would be answered, Unix seconds (with --authorize; default now).
    #[arg(long)]
    at: Option<i64>,
    /// CDR files to rate.
    cdrs: Vec<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let plan = match load_plan(&args.plan, &args.currency, args.decimals, &args.rounding) {
        Ok(plan) => plan,
        Err(error) => {
            eprintln!("billing-rate: {error}");
            return ExitCode::from(2);
        }
    };
    if args.authorize {
        let at = args.at.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        });
        let (Some(balance), Some(destination)) = (args.balance, args.destination.as_deref()) else {
            eprintln!("billing-rate: --authorize needs --balance and --destination");
            return ExitCode::from(2);
        };
        println!("{}", authorize(&plan, destination, at, balance));
        return ExitCode::SUCCESS;
    }
    let options = CdrOptions {
        tenant_variable: args.tenant_variable,
    };
    let mut failed = false;
    for path in &args.cdrs {
        match read_cdr(path, &options) {
            Ok(cdr) => println!("{}", rate(&plan, &cdr)),
            Err(error) => {
                eprintln!("billing-rate: {error}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
