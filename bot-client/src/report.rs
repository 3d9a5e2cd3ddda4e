//! A fleet run's results: counters, latency percentiles, and whether the run passed.

use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Latency percentiles in milliseconds, from an HDR histogram of microseconds.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest sample.
    pub max: f64,
    /// Number of samples.
    pub samples: u64,
}

impl Latency {
    /// Percentiles of a histogram recorded in microseconds.
    pub fn from_micros(h: &Histogram<u64>) -> Self {
        let ms = |v: u64| v as f64 / 1000.0;
        Self {
            p50: ms(h.value_at_quantile(0.50)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
            samples: h.len(),
        }
    }
}

/// The result of a fleet run; also its JSON form (`--json FILE`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Bots started.
    pub bots: usize,
    /// Bots that received `Welcome`.
    pub connected: usize,
    /// Bots that never got in (connect, handshake or join failed).
    pub failed: usize,
    /// Bots whose connection ended before the duration did.
    pub unexpected_disconnects: usize,
    /// Bots that saw an undecodable message, an `Error`, or a message out of place.
    pub protocol_errors: usize,
    /// Bots that played the whole duration and left cleanly.
    pub completed: usize,
    /// Messages sent by all bots.
    pub messages_sent: u64,
    /// Messages received by all bots.
    pub messages_received: u64,
    /// Snapshots received by all bots.
    pub snapshots_received: u64,
    /// Events received by all bots.
    pub events_received: u64,
    /// Binary payload bytes sent (WebSocket and TCP headers not included).
    pub bytes_sent: u64,
    /// Binary payload bytes received.
    pub bytes_received: u64,
    /// Round-trip time of `Ping`/`Pong`.
    pub rtt_ms: Latency,
    /// Snapshots per second per connected bot, averaged.
    pub snapshot_rate_hz: f64,
    /// Wall-clock length of the run, seconds.
    pub duration_s: f64,
    /// The first few failure reasons, for diagnosis.
    pub problems: Vec<String>,
}

impl Report {
    /// Every bot connected, played the whole duration, and saw no protocol error.
    pub fn passed(&self) -> bool {
        self.bots > 0
            && self.connected == self.bots
            && self.completed == self.bots
            && self.unexpected_disconnects == 0
            && self.protocol_errors == 0
    }

    /// The report for people.
    pub fn human(&self) -> String {
        let mut s = String::new();
        let secs = self.duration_s.max(1e-9);
        let _ = writeln!(
            s,
            "arena-bot report: {} bots, {:.1} s",
            self.bots, self.duration_s
        );
        let _ = writeln!(
            s,
            "  connected {}  failed {}  completed {}  unexpected disconnects {}  protocol errors {}",
            self.connected,
            self.failed,
            self.completed,
            self.unexpected_disconnects,
            self.protocol_errors
        );
        let _ = writeln!(
            s,
            "  sent     {} msgs ({:.0}/s), {} bytes ({:.1} KiB/s)",
            self.messages_sent,
            self.messages_sent as f64 / secs,
            self.bytes_sent,
            self.bytes_sent as f64 / secs / 1024.0
        );
        let _ = writeln!(
            s,
            "  received {} msgs ({:.0}/s), {} bytes ({:.1} KiB/s); {} snapshots ({:.1} Hz per bot), {} events",
            self.messages_received,
            self.messages_received as f64 / secs,
            self.bytes_received,
            self.bytes_received as f64 / secs / 1024.0,
            self.snapshots_received,
            self.snapshot_rate_hz,
            self.events_received
        );
        let r = &self.rtt_ms;
        let _ = writeln!(
            s,
            "  rtt ms   p50 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}  ({} samples)",
            r.p50, r.p99, r.p999, r.max, r.samples
        );
        for p in &self.problems {
            let _ = writeln!(s, "  problem: {p}");
        }
        let _ = writeln!(
            s,
            "  result: {}",
            if self.passed() { "PASS" } else { "FAIL" }
        );
        s
    }
}
