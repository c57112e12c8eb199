//! Serving: the HTTP listener with graceful shutdown, the workers' shutdown, logs, signals and
//! the `main` of the single-role daemons.
//!
//! FreeSWITCH's routes on a listener of their own (`freeswitch_listen`) are also served by a
//! runtime of their own, on a thread of their own: a directory or dialplan lookup holds up a
//! call's setup, so it must not wait in the queue behind the fan-out of events to hundreds of
//! WebSockets (measured by `capacity-load`, README "Capacity").

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
    // Both listeners stop on the one shutdown signal.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut freeswitch = match (config.freeswitch_listen, daemon.freeswitch_app) {
        (Some(address), Some(app)) => {
            Some(serve_freeswitch(address, app, config, wait_for(stopped.clone())).await?)
        }
        _ => None,
    };
    tracing::info!(address = %config.listen, database = %redact(&config.database), "serving");
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let header_timeout = Duration::from_millis(config.header_timeout_ms.max(1));
    server::serve(listener, daemon.app, header_timeout, wait_for(stopped)).await;
    if let Some(thread) = &mut freeswitch {
        // Its connections are drained (or dropped after the drain time).
        let _ = (&mut thread.served).await;
    }
    if let Some(worker) = daemon.esl_worker {
        worker.shutdown().await;
    }
    if let Some(worker) = daemon.recording_worker {
        // Encodes and uploads in flight may finish; the rest stays staged for the next start.
        worker.shutdown(Duration::from_secs(10)).await;
    }
    // Only now: database connections opened on that runtime may have served the workers.
    drop(freeswitch);
    Ok(())
}

/// The thread serving FreeSWITCH's routes. Its runtime lives until this is dropped: a database
/// connection the pool opened from a handler there belongs to its reactor, and may be serving
/// anyone.
struct FreeswitchThread {
    /// Resolves when the routes are no longer served.
    served: tokio::sync::oneshot::Receiver<()>,
    /// Dropped: the runtime stops.
    _release: tokio::sync::oneshot::Sender<()>,
}

/// Serves FreeSWITCH's routes on a thread and a one-thread runtime of their own until `stop`;
/// returns once the listener is bound (or failed to bind). The handlers' shared state (caches,
/// the CDR batcher) stays where it was built: the sockets and the routes' own work move. The
/// lookups' prepaid holds have a database pool of their own, opened from this runtime
/// (`Ledger::with_pool_of_its_own`); the caches' reads of the store still use the main pool.
async fn serve_freeswitch(
    address: std::net::SocketAddr,
    app: axum::Router,
    config: &DaemonConfig,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<FreeswitchThread, DaemonError> {
    let config = config.clone();
    let header_timeout = Duration::from_millis(config.header_timeout_ms.max(1));
    let (bound, is_bound) = tokio::sync::oneshot::channel();
    let (served, is_served) = tokio::sync::oneshot::channel();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("freeswitch-http".into())
        .spawn(move || {
            // Built (and dropped) on this thread, never inside another runtime.
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    let _ = bound.send(Err(DaemonError::Runtime(error)));
                    return;
                }
            };
            runtime.block_on(async move {
                // Bound here, so its sockets belong to this runtime's reactor.
                let listener = match bind(address, &config).await {
                    Ok(listener) => listener,
                    Err(error) => {
                        let _ = bound.send(Err(error));
                        return;
                    }
                };
                let _ = bound.send(Ok(()));
                tracing::info!(%address, "serving FreeSWITCH's routes on their own thread");
                server::serve(listener, app, header_timeout, stop).await;
                let _ = served.send(());
                let _ = released.await;
            });
        })
        .map_err(DaemonError::Runtime)?;
    match is_bound.await {
        Ok(Ok(())) => Ok(FreeswitchThread {
            served: is_served,
            _release: release,
        }),
        Ok(Err(error)) => Err(error),
        // The thread ended before binding: only a panic does that.
        Err(_) => Err(DaemonError::Runtime(std::io::Error::other(
            "the FreeSWITCH routes' thread stopped before listening",
        ))),
    }
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
