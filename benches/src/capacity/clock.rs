//! The run's clock, and when each call's events were handed to the node's connection: what
//! the clients' and the recordings' latencies are measured from.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Micros since the run started, and each call's two moments (setup and end frames written).
#[derive(Debug)]
pub struct Clock {
    start: Instant,
    setup: Vec<AtomicU64>,
    end: Vec<AtomicU64>,
}

impl Clock {
    /// A clock starting now, for `calls` calls.
    pub fn new(calls: usize) -> Self {
        Clock {
            start: Instant::now(),
            setup: (0..calls).map(|_| AtomicU64::new(0)).collect(),
            end: (0..calls).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// When the run started.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Micros since the start.
    pub fn now_micros(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    /// Notes that call `k`'s setup frames go out now.
    pub fn mark_setup(&self, k: usize) {
        self.mark(&self.setup, k);
    }

    /// Notes that call `k`'s end frames (its RECORD_STOP among them) go out now.
    pub fn mark_end(&self, k: usize) {
        self.mark(&self.end, k);
    }

    /// When call `k`'s setup frames went out, micros.
    pub fn setup_sent(&self, k: usize) -> Option<u64> {
        read(&self.setup, k)
    }

    /// When call `k`'s end frames went out, micros.
    pub fn end_sent(&self, k: usize) -> Option<u64> {
        read(&self.end, k)
    }

    /// Stores now + 1 (0 means never).
    fn mark(&self, moments: &[AtomicU64], k: usize) {
        moments[k].store(self.now_micros() + 1, Ordering::Relaxed);
    }
}

/// Call `k`'s moment, if it was marked.
fn read(moments: &[AtomicU64], k: usize) -> Option<u64> {
    moments
        .get(k)
        .map(|t| t.load(Ordering::Relaxed))
        .filter(|&t| t > 0)
        .map(|t| t - 1)
}
