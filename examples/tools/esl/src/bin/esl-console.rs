//! A console for FreeSWITCH's event socket: `-x` runs an api command, otherwise events stream
//! as JSON lines.

use clap::Parser;
use esl::client::{Backoff, Options};
use esl::proto::EventFormat;
use esl_tools::console::{Mode, run};
use std::process::ExitCode;
use std::time::Duration;

/// Talk to FreeSWITCH's event socket: run an api command, or stream events as JSON lines.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// FreeSWITCH host.
    #[arg(long, env = "ESL_HOST", default_value = "127.0.0.1")]
    host: String,
    /// Event socket port.
    #[arg(long, env = "ESL_PORT", default_value_t = 8021)]
    port: u16,
    /// Event socket password.
    #[arg(
        long,
        env = "ESL_PASSWORD",
        default_value = "ClueCon",
        hide_env_values = true
    )]
    password: String,
    /// Authenticate as a directory user (`user@domain`) with --password as its ESL password.
    #[arg(long, env = "ESL_USER")]
    user: Option<String>,
    /// Run this api command, print its result and exit.
    #[arg(short = 'x', long = "execute")]
    execute: Option<String>,
    /// Events to stream (names, `CUSTOM` and subclasses); all by default.
    #[arg(long, num_args = 1.., default_value = "ALL")]
    events: Vec<String>,
    /// Only events whose header has this value: `Header=value` (repeatable).
    #[arg(long = "filter", value_parser = parse_filter)]
    filters: Vec<(String, String)>,
    /// Wire format of events.
    #[arg(long, default_value = "plain", value_parser = parse_format)]
    format: EventFormat,
    /// Stop after this many events.
    #[arg(long)]
    count: Option<u64>,
    /// Reconnect when the connection drops.
    #[arg(long)]
    reconnect: bool,
    /// Seconds allowed to connect and authenticate.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
}

fn parse_filter(text: &str) -> Result<(String, String), String> {
    let (header, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not Header=value"))?;
    Ok((header.to_owned(), value.to_owned()))
}

fn parse_format(text: &str) -> Result<EventFormat, String> {
    match text {
        "plain" => Ok(EventFormat::Plain),
        "json" => Ok(EventFormat::Json),
        "xml" => Ok(EventFormat::Xml),
        other => Err(format!("{other:?} is not plain, json or xml")),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let mut options = Options::new(
        format!("{}:{}", args.host, args.port),
        args.password.clone(),
    )
    .connect_timeout(Duration::from_secs(args.timeout));
    if let Some(user) = &args.user {
        let Some((user, domain)) = user.split_once('@') else {
            eprintln!("esl-console: --user must be user@domain");
            return ExitCode::from(2);
        };
        options = options.userauth(user, domain, args.password.clone());
    }
    if args.reconnect {
        options = options.reconnect(Backoff::default());
    }
    let mode = match args.execute {
        Some(command) => Mode::Api(command),
        None => Mode::Events {
            format: args.format,
            names: args.events,
            filters: args.filters,
            count: args.count,
        },
    };
    let mut stdout = std::io::stdout().lock();
    let result = tokio::select! {
        result = run(options, mode, &mut stdout) => result,
        _ = tokio::signal::ctrl_c() => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("esl-console: {error}");
            ExitCode::FAILURE
        }
    }
}
