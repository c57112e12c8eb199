//! What the connection delivers to the user: events, log lines and connection notices, on a
//! bounded stream.

use super::error::Error;
use crate::proto::{Disconnect, Event, EventError, Frame};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tokio::sync::{Notify, Semaphore, mpsc};

/// Set when the connection has ended for good, so the stream can end while handles live on.
#[derive(Debug, Default)]
struct Closed {
    flag: AtomicBool,
    notify: Notify,
}

/// What to do when the user does not keep up with events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
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
        crate::proto::text(self.frame.body())
    }

    /// The whole frame, for `Log-File`, `Log-Func`, `Log-Line`, `User-Data`...
    pub fn frame(&self) -> &Frame {
        &self.frame
    }
}

/// An item on the event stream.
#[derive(Debug, Clone)]
#[non_exhaustive]
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

/// Items travel in batches (what one socket read decoded), so a busy stream costs one wake-up
/// per read rather than one per event. Permits keep the bound exact, per item.
#[derive(Debug)]
struct Delivery {
    items: Vec<Incoming>,
    /// Permits taken for these items (notices take none).
    permits: usize,
}

/// Most items sent in one batch.
pub(crate) const BATCH: usize = 64;

/// The receiving end of a connection's events, bounded by the capacity chosen at connect.
/// It ends (`recv` returns `None`) when the connection ends for good.
#[derive(Debug)]
pub struct EventStream {
    rx: mpsc::UnboundedReceiver<Delivery>,
    ready: VecDeque<Incoming>,
    room: Arc<Semaphore>,
    dropped: Arc<AtomicU64>,
    closed: Arc<Closed>,
}

impl EventStream {
    /// The next item, or `None` once the connection has ended and everything was delivered.
    pub async fn recv(&mut self) -> Option<Incoming> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Some(item);
            }
            let delivery = match self.rx.try_recv() {
                Ok(delivery) => delivery,
                Err(_) if self.closed.flag.load(Ordering::Acquire) => return None,
                Err(_) => tokio::select! {
                    biased;
                    delivery = self.rx.recv() => delivery?,
                    () = self.closed.notify.notified() => continue,
                },
            };
            self.room.add_permits(delivery.permits);
            self.ready.extend(delivery.items);
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
    tx: mpsc::UnboundedSender<Delivery>,
    room: Arc<Semaphore>,
    batch_limit: usize,
    overflow: Overflow,
    dropped: Arc<AtomicU64>,
    closed: Arc<Closed>,
}

impl Sink {
    pub(crate) fn channel(capacity: usize, overflow: Overflow) -> (Self, EventStream) {
        let capacity = capacity.max(1);
        let (tx, rx) = mpsc::unbounded_channel();
        let room = Arc::new(Semaphore::new(capacity));
        let dropped = Arc::new(AtomicU64::new(0));
        let closed = Arc::new(Closed::default());
        let stream = EventStream {
            rx,
            ready: VecDeque::new(),
            room: room.clone(),
            dropped: dropped.clone(),
            closed: closed.clone(),
        };
        let sink = Self {
            tx,
            room,
            batch_limit: capacity.min(BATCH),
            overflow,
            dropped,
            closed,
        };
        (sink, stream)
    }

    pub(crate) fn dropped(&self) -> &Arc<AtomicU64> {
        &self.dropped
    }

    /// Whether a batch this long should be delivered before adding more.
    pub(crate) fn batch_full(&self, batch: &[Incoming]) -> bool {
        batch.len() >= self.batch_limit
    }

    /// Delivers a batch by the overflow policy and leaves `batch` empty.
    pub(crate) async fn deliver(&self, batch: &mut Vec<Incoming>) {
        if batch.is_empty() {
            return;
        }
        let mut items = std::mem::replace(batch, Vec::with_capacity(self.batch_limit));
        let wanted = items.len();
        let permits = match self.overflow {
            Overflow::Backpressure => match self.room.acquire_many(wanted as u32).await {
                Ok(permit) => {
                    permit.forget();
                    wanted
                }
                Err(_) => return,
            },
            Overflow::DropNewest => {
                let available = self.room.available_permits().min(wanted);
                let taken = match self.room.try_acquire_many(available as u32) {
                    Ok(permit) => {
                        permit.forget();
                        available
                    }
                    Err(_) => 0,
                };
                if taken < wanted {
                    items.truncate(taken);
                    let lost = (wanted - taken) as u64;
                    let before = self.dropped.fetch_add(lost, Ordering::Relaxed);
                    if before == 0 || (before + lost).ilog2() > before.max(1).ilog2() {
                        tracing::warn!(
                            dropped = before + lost,
                            "event stream full; dropping events"
                        );
                    }
                }
                taken
            }
        };
        if !items.is_empty() {
            let _ = self.tx.send(Delivery { items, permits });
        }
    }

    /// Delivers a connection notice ([`Incoming::Disconnected`], [`Incoming::Reconnected`]).
    /// Notices are never dropped and take no room: a lost `Reconnected` would leave the user's
    /// state silently stale.
    pub(crate) fn notify(&self, item: Incoming) {
        let _ = self.tx.send(Delivery {
            items: vec![item],
            permits: 0,
        });
    }

    /// Ends the stream once what it holds has been read.
    pub(crate) fn close(&self) {
        self.closed.flag.store(true, Ordering::Release);
        self.closed.notify.notify_one();
    }
}
