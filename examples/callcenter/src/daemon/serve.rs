//! Serving: the HTTP listener with graceful shutdown, the workers' shutdown, logs, signals and
//! the `main` of the single-role daemons.

use super::{Daemon, DaemonConfig, DaemonError, Roles, build_roles, redact};
use crate::http::listener::CappedListener;
use crate::http::server;
use std::path::PathBuf;
use std::time::Duration;

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(
    config: &DaemonConfig,
    daemon: Daemon,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), DaemonError> {
    let listener = bind(config.listen, config).await?;
    let freeswitch = match (config.freeswitch_listen, daemon.freeswitch_app) {
        (Some(address), Some(app)) => Some((bind(address, config).await?, app)),
        _ => None,
    };
    tracing::info!(address = %config.listen, database = %redact(&config.database), "serving");
    // Both listeners stop on the one shutdown signal.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let header_timeout = Duration::from_millis(config.header_timeout_ms.max(1));
    let freeswitch = freeswitch.map(|(listener, app)| {
        tracing::info!(address = ?config.freeswitch_listen, "serving FreeSWITCH's routes");
        tokio::spawn(server::serve(
            listener,
            app,
            header_timeout,
            wait_for(stopped.clone()),
        ))
    });
    server::serve(listener, daemon.app, header_timeout, wait_for(stopped)).await;
    if let Some(task) = freeswitch {
        let _ = task.await;
    }
    if let Some(worker) = daemon.esl_worker {
        worker.shutdown().await;
    }
    if let Some(worker) = daemon.recording_worker {
        // Encodes and uploads in flight may finish; the rest stays staged for the next start.
        worker.shutdown(Duration::from_secs(10)).await;
    }
    Ok(())
}

async fn bind(
    address: std::net::SocketAddr,
    config: &DaemonConfig,
) -> Result<CappedListener, DaemonError> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| DaemonError::Listen { address, source })?;
    Ok(CappedListener::new(
        listener,
        config.max_connections,
        Duration::from_millis(config.write_timeout_ms.max(1)),
    ))
}

async fn wait_for(mut stopped: tokio::sync::watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// The command line every daemon binary takes.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// TOML configuration (see `examples/deploy/callcenter.toml`); CALLCENTER_*
    /// variables override it.
    #[arg(long, env = "CALLCENTER_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Logs as JSON lines instead of text.
    #[arg(long)]
    pub json_logs: bool,
}

#[derive(Debug, clap::Parser)]
#[command(
    version,
    about = "One role of the call-center platform; CALLCENTER_* variables override the configuration file."
)]
struct RoleArgs {
    #[command(flatten)]
    common: CommonArgs,
}

/// The exit status of a daemon that stopped on `error`: [`EXIT_CONFIG`] when the configuration
/// is at fault (restarting cannot help), 1 otherwise.
pub fn exit_code(error: &DaemonError) -> std::process::ExitCode {
    match error {
        DaemonError::ConfigFile { .. } | DaemonError::Config(_) => {
            std::process::ExitCode::from(EXIT_CONFIG)
        }
        _ => std::process::ExitCode::FAILURE,
    }
}

/// The exit status for a bad configuration (`EX_CONFIG` of sysexits.h); the systemd units list
/// it in `RestartPreventExitStatus`, so a daemon that cannot start is not restarted in a loop.
pub const EXIT_CONFIG: u8 = 78;

/// The `main` of a single-role daemon: `--config FILE`, `--json-logs`, then serve until
/// SIGINT or SIGTERM.
pub fn main_for(roles: Roles) -> std::process::ExitCode {
    let args = <RoleArgs as clap::Parser>::parse();
    init_logs(args.common.json_logs);
    let result = DaemonConfig::load(args.common.config.as_deref()).and_then(|config| {
        let runtime = tokio::runtime::Runtime::new().map_err(DaemonError::Runtime)?;
        runtime.block_on(async {
            let daemon = build_roles(&config, roles).await?;
            serve(&config, daemon, shutdown_signal()).await
        })
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            exit_code(&error)
        }
    }
}

/// Text or JSON logs on stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Logs go to stderr: stdout carries the one-shot commands' results.
    if json {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
}

/// SIGINT or SIGTERM: stop accepting, finish what is in flight.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
