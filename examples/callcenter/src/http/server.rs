//! The HTTP server loop: hyper's HTTP/1 connection under each accepted socket, with a deadline
//! for a request's headers (a client that connects and sends nothing, or trickles its headers,
//! or idles between requests, is dropped: with the connection cap alone, a few thousand idle
//! sockets would starve every route, FreeSWITCH's among them), the peer's address for the
//! handlers, WebSocket upgrades, and a graceful stop.

use super::listener::{CappedListener, Peer};
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::time::Duration;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// How long connections in flight may take to finish once a stop is asked for.
const DRAIN: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `stop` resolves; a client has `header_timeout` to send each
/// request's headers (the first, and each next one on a kept-alive connection).
pub async fn serve(
    mut listener: CappedListener,
    app: Router,
    header_timeout: Duration,
    stop: impl std::future::Future<Output = ()>,
) {
    let connections = TaskTracker::new();
    let (stopping, stopped) = tokio::sync::watch::channel(false);
    tokio::pin!(stop);
    loop {
        let (stream, address) = tokio::select! {
            accepted = axum::serve::Listener::accept(&mut listener) => accepted,
            () = &mut stop => break,
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(Peer(address)));
            app.clone().oneshot(request.map(axum::body::Body::new))
        });
        let mut stopped = stopped.clone();
        connections.spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = async { stopped.wait_for(|stop| *stop).await.is_ok() } => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    connections.close();
    if tokio::time::timeout(DRAIN, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {DRAIN:?}: dropped");
    }
}
