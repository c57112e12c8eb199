//! What the connection delivers to the user: events, log lines and connection notices, on a
//! bounded stream.

use super::error::Error;
use crate::proto::{Disconnect, Event, EventError, Frame};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tokio::sync::{Notify, mpsc};

/// Set when the connection has ended for good, so the stream can end while handles live on.
#[derive(Debug, Default)]
struct Closed {
    flag: AtomicBool,
    notify: Notify,
}

/// What to do when the user does not keep up with events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Overflow {
    /// The socket reader waits for room on the stream; nothing is lost, and FreeSWITCH's own
    /// queue absorbs the delay (it drops events for a listener that lags by 100,000). Consume
    /// events in a task other than the one awaiting commands.
    #[default]
    Backpressure,
    /// The newest event or log line is dropped when the stream is full, and counted: see
    /// [`EventStream::dropped`] and [`crate::client::Client::dropped_events`]. Connection
    /// notices are never dropped.
    DropNewest,
}

/// One `log/data` frame: a log line with its metadata.
#[derive(Debug, Clone)]
pub struct LogLine {
    frame: Frame,
}

impl LogLine {
    pub(crate) fn new(frame: Frame) -> Self {
        Self { frame }
    }

    /// `Log-Level` (0 emergency to 7 debug).
    pub fn level(&self) -> Option<u8> {
        self.frame.header("Log-Level")?.trim().parse().ok()
    }

    /// The log line as FreeSWITCH formatted it.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.frame.body())
    }

    /// The whole frame, for `Log-File`, `Log-Func`, `Log-Line`, `User-Data`...
    pub fn frame(&self) -> &Frame {
        &self.frame
    }
}

/// An item on the event stream.
#[derive(Debug, Clone)]
pub enum Incoming {
    /// An event the user subscribed to.
    Event(Event),
    /// A log line (after `log <level>`).
    Log(LogLine),
    /// An event frame whose body could not be parsed, delivered raw rather than lost.
    Unparsed {
        /// The frame as received.
        frame: Frame,
        /// Why it did not parse.
        error: EventError,
    },
    /// FreeSWITCH announced the end of the session (`text/disconnect-notice`); with
    /// [`Disconnect::Linger`] the final events still follow.
    DisconnectNotice(Disconnect),
    /// The connection dropped; with reconnect enabled, a [`Incoming::Reconnected`] follows
    /// when it is back.
    Disconnected(Error),
    /// The connection is back, authenticated and with every subscription and filter
    /// re-applied. Events sent while it was down are lost: re-sync state now (e.g. with
    /// `show channels as json`).
    Reconnected {
        /// How many attempts it took.
        attempts: u32,
    },
}

/// The receiving end of a connection's events, bounded by the capacity chosen at connect.
/// It ends (`recv` returns `None`) when the connection ends for good.
#[derive(Debug)]
pub struct EventStream {
    rx: mpsc::Receiver<Incoming>,
    dropped: Arc<AtomicU64>,
    closed: Arc<Closed>,
}

impl EventStream {
    /// The next item, or `None` once the connection has ended and everything was delivered.
    pub async fn recv(&mut self) -> Option<Incoming> {
        loop {
            if let Ok(item) = self.rx.try_recv() {
                return Some(item);
            }
            if self.closed.flag.load(Ordering::Acquire) {
                return None;
            }
            tokio::select! {
                biased;
                item = self.rx.recv() => return item,
                () = self.closed.notify.notified() => {}
            }
        }
    }

    /// The next event, skipping log lines and notices; `None` at the end.
    pub async fn next_event(&mut self) -> Option<Event> {
        while let Some(item) = self.recv().await {
            if let Incoming::Event(event) = item {
                return Some(event);
            }
        }
        None
    }

    /// Items dropped so far because the stream was full (with [`Overflow::DropNewest`]).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The sending end, owned by the connection.
#[derive(Debug, Clone)]
pub(crate) struct Sink {
    tx: mpsc::Sender<Incoming>,
    overflow: Overflow,
    dropped: Arc<AtomicU64>,
    closed: Arc<Closed>,
}

impl Sink {
    pub(crate) fn channel(capacity: usize, overflow: Overflow) -> (Self, EventStream) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        let closed = Arc::new(Closed::default());
        let stream = EventStream {
            rx,
            dropped: dropped.clone(),
            closed: closed.clone(),
        };
        (
            Self {
                tx,
                overflow,
                dropped,
                closed,
            },
            stream,
        )
    }

    /// Delivers a connection notice ([`Incoming::Disconnected`], [`Incoming::Reconnected`]).
    /// Notices are never dropped: they wait for room whatever the policy, since a lost
    /// `Reconnected` would leave the user's state silently stale.
    pub(crate) async fn notify(&self, item: Incoming) {
        let _ = self.tx.send(item).await;
    }

    /// Ends the stream once what it holds has been read.
    pub(crate) fn close(&self) {
        self.closed.flag.store(true, Ordering::Release);
        self.closed.notify.notify_one();
    }

    pub(crate) fn dropped(&self) -> &Arc<AtomicU64> {
        &self.dropped
    }

    /// Delivers an item by the overflow policy. A stream the user dropped takes nothing.
    pub(crate) async fn deliver(&self, item: Incoming) {
        match self.overflow {
            Overflow::Backpressure => {
                let _ = self.tx.send(item).await;
            }
            Overflow::DropNewest => match self.tx.try_send(item) {
                Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    let before = self.dropped.fetch_add(1, Ordering::Relaxed);
                    if before.is_power_of_two() || before == 0 {
                        tracing::warn!(dropped = before + 1, "event stream full; dropping events");
                    }
                }
            },
        }
    }
}
