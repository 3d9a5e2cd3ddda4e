//! Counters and interval histograms every bot updates as it goes. The 1 Hz sampler
//! ([`crate::timeline`]) reads the totals and takes the interval's histograms each second, for
//! the report's per-second series and the progress line.
//!
//! Cost per bot: relaxed atomic adds, and one uncontended lock per snapshot and per pong (the
//! histograms of a snapshot are recorded under one lock).

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use arena_shared::game::Game;
use hdrhistogram::Histogram;

use crate::bot::{distance_histogram, latency_histogram};
use crate::connection::Connection;

/// Fleet-wide live counters, and histograms of the current one-second interval.
pub struct Live {
    /// Bots connected now (a churned bot counts as connected while it resumes).
    connected: AtomicI64,
    /// First joins (`Welcome` for a new player).
    joins: AtomicU64,
    /// Deliberate connection cuts (`--churn`).
    churns: AtomicU64,
    /// Cuts that came back as the same player.
    resumes: AtomicU64,
    /// Bots whose connection ended before the run did.
    disconnects: AtomicU64,
    /// Anything that failed: a join, a resume, a connection, a snapshot that did not apply.
    errors: AtomicU64,
    /// WebSocket messages sent, bots' connections only.
    messages_sent: AtomicU64,
    /// WebSocket messages received.
    messages_received: AtomicU64,
    /// Binary payload bytes sent.
    bytes_sent: AtomicU64,
    /// Binary payload bytes received.
    bytes_received: AtomicU64,
    /// What this interval measured; swapped out whole by [`Live::take_interval`].
    interval: Mutex<Interval>,
}

/// What the bots measured over one interval.
pub struct Interval {
    /// Snapshots received.
    pub snapshots: u64,
    /// Ping round trips, µs.
    pub rtt_us: Histogram<u64>,
    /// Input-to-acknowledgement delays, µs.
    pub ack_us: Histogram<u64>,
    /// How far each snapshot's arrival strays from its due gap after the previous one, µs.
    pub jitter_us: Histogram<u64>,
    /// Prediction error at reconciliation, thousandths of a world unit.
    pub prediction_milli: Histogram<u64>,
}

impl Interval {
    /// Empty histograms.
    pub fn new() -> Self {
        Self {
            snapshots: 0,
            rtt_us: latency_histogram(),
            ack_us: latency_histogram(),
            jitter_us: latency_histogram(),
            prediction_milli: distance_histogram(),
        }
    }

    /// Empties it for reuse (no allocation).
    pub fn reset(&mut self) {
        self.snapshots = 0;
        self.rtt_us.reset();
        self.ack_us.reset();
        self.jitter_us.reset();
        self.prediction_milli.reset();
    }
}

impl Default for Interval {
    fn default() -> Self {
        Self::new()
    }
}

/// The running totals at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Bots connected now.
    pub connected: i64,
    /// First joins so far.
    pub joins: u64,
    /// Churn cuts so far.
    pub churns: u64,
    /// Resumes as the same player so far.
    pub resumes: u64,
    /// Unexpected disconnects so far.
    pub disconnects: u64,
    /// Errors so far.
    pub errors: u64,
    /// Messages sent so far.
    pub messages_sent: u64,
    /// Messages received so far.
    pub messages_received: u64,
    /// Payload bytes sent so far.
    pub bytes_sent: u64,
    /// Payload bytes received so far.
    pub bytes_received: u64,
}

/// How much of one connection's counters a bot has already added to [`Live`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Synced {
    messages_sent: u64,
    messages_received: u64,
    bytes_sent: u64,
    bytes_received: u64,
}

impl Live {
    /// All zero.
    pub fn new() -> Self {
        Self {
            connected: AtomicI64::new(0),
            joins: AtomicU64::new(0),
            churns: AtomicU64::new(0),
            resumes: AtomicU64::new(0),
            disconnects: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            messages_sent: AtomicU64::new(0),
            messages_received: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
            interval: Mutex::new(Interval::new()),
        }
    }

    /// A bot connected (+1) or finished (-1).
    pub fn connected(&self, delta: i64) {
        self.connected.fetch_add(delta, Ordering::Relaxed);
    }

    /// A bot joined as a new player.
    pub fn joined(&self) {
        self.joins.fetch_add(1, Ordering::Relaxed);
    }

    /// A bot cut its connection on purpose (churn).
    pub fn churned(&self) {
        self.churns.fetch_add(1, Ordering::Relaxed);
    }

    /// A churned bot came back as the same player.
    pub fn resumed(&self) {
        self.resumes.fetch_add(1, Ordering::Relaxed);
    }

    /// A bot lost its connection before the end.
    pub fn disconnected(&self) {
        self.disconnects.fetch_add(1, Ordering::Relaxed);
    }

    /// Something failed.
    pub fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds what `conn` sent and received since the last sync (`synced`, which starts at
    /// `Synced::default()` for each new connection).
    pub fn traffic<G: Game>(&self, conn: &Connection<G>, synced: &mut Synced) {
        let add = |counter: &AtomicU64, now: u64, seen: &mut u64| {
            if now > *seen {
                counter.fetch_add(now - *seen, Ordering::Relaxed);
                *seen = now;
            }
        };
        add(
            &self.messages_sent,
            conn.messages_sent,
            &mut synced.messages_sent,
        );
        add(
            &self.messages_received,
            conn.messages_received,
            &mut synced.messages_received,
        );
        add(&self.bytes_sent, conn.bytes_sent, &mut synced.bytes_sent);
        add(
            &self.bytes_received,
            conn.bytes_received,
            &mut synced.bytes_received,
        );
    }

    /// A ping round trip, µs.
    pub fn rtt(&self, us: u64) {
        if let Ok(mut i) = self.interval.lock() {
            let _ = i.rtt_us.record(us);
        }
    }

    /// A snapshot arrived: its jitter (none for a connection's first), the input it
    /// acknowledged (if any), and the prediction error it showed (if it reconciled), under one
    /// lock.
    pub fn snapshot(
        &self,
        jitter_us: Option<u64>,
        ack_us: Option<u64>,
        prediction_milli: Option<u64>,
    ) {
        if let Ok(mut i) = self.interval.lock() {
            i.snapshots += 1;
            if let Some(v) = jitter_us {
                let _ = i.jitter_us.record(v);
            }
            if let Some(v) = ack_us {
                let _ = i.ack_us.record(v);
            }
            if let Some(v) = prediction_milli {
                let _ = i.prediction_milli.record(v);
            }
        }
    }

    /// The running totals now.
    pub fn totals(&self) -> Totals {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Totals {
            connected: self.connected.load(Ordering::Relaxed),
            joins: get(&self.joins),
            churns: get(&self.churns),
            resumes: get(&self.resumes),
            disconnects: get(&self.disconnects),
            errors: get(&self.errors),
            messages_sent: get(&self.messages_sent),
            messages_received: get(&self.messages_received),
            bytes_sent: get(&self.bytes_sent),
            bytes_received: get(&self.bytes_received),
        }
    }

    /// Ends the interval: swaps its histograms into `spare`, which must be empty, and starts
    /// the next interval on the histograms `spare` held. The lock is held only for the swap.
    pub fn take_interval(&self, spare: &mut Interval) {
        if let Ok(mut i) = self.interval.lock() {
            std::mem::swap(&mut *i, spare);
        }
    }
}

impl Default for Live {
    fn default() -> Self {
        Self::new()
    }
}
