//! Counters every bot updates as it goes, read by the progress line every few seconds.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use hdrhistogram::Histogram;

use crate::bot::latency_histogram;

/// Fleet-wide live counters. The histograms hold only the current progress interval.
pub struct Live {
    connected: AtomicI64,
    sent: AtomicU64,
    received: AtomicU64,
    errors: AtomicU64,
    rtt_us: Mutex<Histogram<u64>>,
    ack_us: Mutex<Histogram<u64>>,
}

/// One progress sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Bots connected now.
    pub connected: i64,
    /// Messages sent since start.
    pub sent: u64,
    /// Messages received since start.
    pub received: u64,
    /// Errors since start.
    pub errors: u64,
    /// p99 ping RTT over the interval, ms (0 without samples).
    pub rtt_p99_ms: f64,
    /// p99 input-to-ack over the interval, ms (0 without samples).
    pub ack_p99_ms: f64,
}

impl Live {
    /// All zero.
    pub fn new() -> Self {
        Self {
            connected: AtomicI64::new(0),
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            rtt_us: Mutex::new(latency_histogram()),
            ack_us: Mutex::new(latency_histogram()),
        }
    }

    /// A bot connected (+1) or finished (-1).
    pub fn connected(&self, delta: i64) {
        self.connected.fetch_add(delta, Ordering::Relaxed);
    }

    /// Messages sent.
    pub fn sent(&self, n: u64) {
        self.sent.fetch_add(n, Ordering::Relaxed);
    }

    /// Messages received.
    pub fn received(&self, n: u64) {
        self.received.fetch_add(n, Ordering::Relaxed);
    }

    /// Something failed.
    pub fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// A ping round trip, µs.
    pub fn rtt(&self, us: u64) {
        if let Ok(mut h) = self.rtt_us.lock() {
            let _ = h.record(us);
        }
    }

    /// An input acknowledgement delay, µs.
    pub fn ack(&self, us: u64) {
        if let Ok(mut h) = self.ack_us.lock() {
            let _ = h.record(us);
        }
    }

    /// The current totals and the interval's percentiles; starts a new interval.
    pub fn sample(&self) -> Progress {
        let take = |m: &Mutex<Histogram<u64>>| {
            m.lock().map_or(0.0, |mut h| {
                let p = if h.is_empty() {
                    0.0
                } else {
                    h.value_at_quantile(0.99) as f64 / 1000.0
                };
                h.reset();
                p
            })
        };
        Progress {
            connected: self.connected.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            rtt_p99_ms: take(&self.rtt_us),
            ack_p99_ms: take(&self.ack_us),
        }
    }
}

impl Default for Live {
    fn default() -> Self {
        Self::new()
    }
}
