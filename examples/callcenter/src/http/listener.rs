//! The HTTP listener: at most so many connections at once (the next waits in the kernel's
//! backlog until one closes), a connection whose client stops reading dropped, small writes
//! sent at once (no Nagle), each request answered within a deadline, and the peer's address
//! for the handlers that limit per address.

use axum::extract::{ConnectInfo, Request};
use axum::http::Extensions;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::serve::Listener;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A TCP listener that holds a permit per open connection, and drops a connection whose
/// writes make no progress for a while (a client that stops reading would otherwise keep its
/// place forever, the header deadline being for reads).
pub struct CappedListener {
    inner: TcpListener,
    permits: Arc<Semaphore>,
    write_stall: Duration,
}

impl CappedListener {
    /// At most `connections` open at once on `inner`; a write blocked for `write_stall` fails
    /// the connection.
    pub fn new(inner: TcpListener, connections: usize, write_stall: Duration) -> Self {
        CappedListener {
            inner,
            permits: Arc::new(Semaphore::new(connections.max(1))),
            write_stall,
        }
    }
}

impl Listener for CappedListener {
    type Io = CappedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (CappedStream, SocketAddr) {
        // Not accepting while full leaves the next connection in the backlog, costing us
        // nothing, instead of accepting and dropping it.
        let permit = match self.permits.clone().acquire_owned().await {
            Ok(permit) => permit,
            Err(_) => std::future::pending().await,
        };
        let (stream, address) = Listener::accept(&mut self.inner).await;
        // Each answer and WebSocket message goes out when written: with Nagle's algorithm a
        // small write waits for the peer's (delayed) acknowledgement of the previous one.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY not set on an accepted connection");
        }
        (
            CappedStream {
                stream,
                _permit: permit,
                write_stall: self.write_stall,
                stalled: None,
            },
            address,
        )
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// A connection and its permit, freed when the connection closes.
pub struct CappedStream {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
    write_stall: Duration,
    /// Armed when a write (or flush) first returns pending, disarmed by progress.
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl CappedStream {
    /// Passes a write's result through, failing it once writes have been pending for the stall
    /// limit without progress.
    fn watch<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<std::io::Result<T>>,
    ) -> Poll<std::io::Result<T>> {
        match polled {
            Poll::Pending => {
                let stall = self.write_stall;
                let timer = self
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(stall)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the client stopped reading",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
            ready => {
                self.stalled = None;
                ready
            }
        }
    }
}

impl AsyncRead for CappedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for CappedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.watch(cx, polled)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let polled = Pin::new(&mut self.stream).poll_flush(cx);
        self.watch(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.watch(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// The peer of a connection (`ConnectInfo<Peer>` in a handler; the server loop,
/// [`super::server::serve`], puts it on every request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

/// The peer's address, when the server was started with connection info (ours with
/// [`Peer`], or axum's `SocketAddr`).
pub fn peer_address(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<Peer>>()
        .map(|ConnectInfo(Peer(address))| address.ip())
        .or_else(|| {
            extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(address)| address.ip())
        })
}

/// Middleware: a request not answered within `deadline` gets a 503 (the handler is dropped).
/// A streamed body, once its headers are out, is not cut.
pub async fn deadline(
    axum::extract::State(deadline): axum::extract::State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        // The API's JSON error (with the request id, when the id's layer is outside this).
        Err(_) => (
            [(axum::http::header::RETRY_AFTER, "1")],
            crate::api::ApiError::Unavailable("request timed out".into()),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_connections_send_small_writes_at_once() {
        let inner = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = inner.local_addr().unwrap();
        let mut listener = CappedListener::new(inner, 4, Duration::from_secs(5));
        let _client = TcpStream::connect(address).await.unwrap();
        let (accepted, _) = listener.accept().await;
        assert!(accepted.stream.nodelay().unwrap());
    }
}
