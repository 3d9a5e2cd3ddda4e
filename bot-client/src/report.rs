//! A fleet run's results: counters, latency percentiles, and whether the run passed.

use std::fmt::Write as _;

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::bot::latency_histogram;
use crate::observe::{ObserverOutcome, Transport};

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

/// Distance percentiles in world units, from an HDR histogram of thousandths of a unit.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Distance {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest sample.
    pub max: f64,
    /// Number of samples.
    pub samples: u64,
}

impl Distance {
    /// Percentiles of a histogram recorded in thousandths of a unit.
    pub fn from_milli(h: &Histogram<u64>) -> Self {
        let units = |v: u64| v as f64 / 1000.0;
        Self {
            p50: units(h.value_at_quantile(0.50)),
            p99: units(h.value_at_quantile(0.99)),
            max: units(h.max()),
            samples: h.len(),
        }
    }
}

/// What a set of observers saw and cost.
#[derive(Debug, Clone, Serialize)]
pub struct ObserverReport {
    /// `ws` or `poll`.
    pub transport: Transport,
    /// Observers run.
    pub observers: usize,
    /// Polling period, ms (poll only).
    pub poll_interval_ms: u64,
    /// HTTP requests (poll) or WebSocket messages received (ws), all observers.
    pub requests_or_messages: u64,
    /// New states received: 200 answers (poll) or snapshots (ws).
    pub updates: u64,
    /// 304 answers (poll).
    pub not_modified: u64,
    /// Bytes on the wire to the server (requests, handshakes, frame headers; no TCP/IP).
    pub bytes_sent: u64,
    /// Bytes on the wire from the server.
    pub bytes_received: u64,
    /// Per observer per second.
    pub per_observer_requests_per_s: f64,
    /// Per observer per second.
    pub per_observer_updates_per_s: f64,
    /// Per observer per second.
    pub per_observer_bytes_up_per_s: f64,
    /// Per observer per second.
    pub per_observer_bytes_down_per_s: f64,
    /// For every tick produced, from its due time to an observer holding a state at least that
    /// new (a poller learns of skipped ticks through a newer state).
    pub update_latency_ms: Latency,
    /// Observers that failed, with why.
    pub failures: Vec<String>,
}

impl ObserverReport {
    /// Sums the observers' outcomes.
    pub fn merge(transport: Transport, poll_interval: Duration, seen: &[ObserverOutcome]) -> Self {
        let mut staleness = latency_histogram();
        let sum = |f: fn(&ObserverOutcome) -> u64| seen.iter().map(f).sum::<u64>();
        let observed: f64 = seen.iter().map(|o| o.observed.as_secs_f64()).sum();
        let per = |total: u64| {
            if observed > 0.0 {
                total as f64 / observed
            } else {
                0.0
            }
        };
        for o in seen {
            let _ = staleness.add(&o.update_latency_us);
        }
        let (requests, updates) = (sum(|o| o.requests_or_messages), sum(|o| o.updates));
        let (up, down) = (sum(|o| o.bytes_sent), sum(|o| o.bytes_received));
        Self {
            transport,
            observers: seen.len(),
            poll_interval_ms: poll_interval.as_millis() as u64,
            requests_or_messages: requests,
            updates,
            not_modified: sum(|o| o.not_modified),
            bytes_sent: up,
            bytes_received: down,
            per_observer_requests_per_s: per(requests),
            per_observer_updates_per_s: per(updates),
            per_observer_bytes_up_per_s: per(up),
            per_observer_bytes_down_per_s: per(down),
            update_latency_ms: Latency::from_micros(&staleness),
            failures: seen.iter().filter_map(|o| o.failure.clone()).collect(),
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
    /// Deliberate drop-and-resume cycles (`--churn`).
    pub churns: u64,
    /// Churns that got the same player back.
    pub resumes: u64,
    /// Round-trip time of `Ping`/`Pong`.
    pub rtt_ms: Latency,
    /// From sending an input to the first snapshot acknowledging it (`last_input_seq`).
    pub input_ack_ms: Latency,
    /// How far each snapshot's arrival strays from one snapshot period after the previous one.
    pub snapshot_jitter_ms: Latency,
    /// Distance between each bot's predicted and authoritative own position when a snapshot
    /// confirms an input (client-side prediction with the shared movement code): ~0 unless the
    /// server had to repeat an input that arrived late.
    pub prediction_error: Distance,
    /// Snapshots that did not apply to a bot's replica (delta against a view it lacks, or
    /// inconsistent); any is a server bug and fails the run.
    pub desyncs: u64,
    /// Payload bytes received per bot per second of play: what the netcode costs a client.
    pub bytes_per_bot_s: f64,
    /// Extra bots that joined and stopped reading (`--stall`).
    pub stalled: usize,
    /// Of those, how many the server cut off before the run ended.
    pub stalled_cut_off: usize,
    /// What the observers (`--observers`) saw and cost, if any ran.
    pub observers: Option<ObserverReport>,
    /// Snapshots per second of play, per bot (each bot's time connected, so a ramp does not
    /// dilute it).
    pub snapshot_rate_hz: f64,
    /// Wall-clock length of the run, seconds.
    pub duration_s: f64,
    /// The first few failure reasons, for diagnosis.
    pub problems: Vec<String>,
    /// `pass`, or the first reason the run failed.
    pub result: String,
}

/// Limits a run must stay within to pass (`--max-p99-rtt-ms` and friends).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thresholds {
    /// Highest acceptable p99 ping RTT, ms.
    pub max_p99_rtt_ms: Option<f64>,
    /// Highest acceptable p99 input-to-acknowledgement, ms.
    pub max_p99_input_ack_ms: Option<f64>,
    /// Bots allowed to lose their connection before the end.
    pub max_unexpected_disconnects: usize,
    /// Lowest acceptable snapshot rate per bot, Hz.
    pub min_snapshot_rate: Option<f64>,
}

impl Report {
    /// Every bot connected, played the whole duration, and saw no protocol error.
    pub fn passed(&self) -> bool {
        self.verdict(&Thresholds::default()).is_ok()
    }

    /// `Ok` if the run met every condition, else the first one it broke, as one line.
    pub fn verdict(&self, t: &Thresholds) -> Result<(), String> {
        let first = || {
            self.problems
                .first()
                .map_or(String::new(), |p| format!(" (first: {p})"))
        };
        if self.bots == 0 {
            return Err("no bots ran".into());
        }
        if self.failed > 0 || self.connected < self.bots {
            return Err(format!(
                "{} of {} bots never got in{}",
                self.bots - self.connected,
                self.bots,
                first()
            ));
        }
        if self.protocol_errors > 0 {
            return Err(format!(
                "{} bots saw protocol errors{}",
                self.protocol_errors,
                first()
            ));
        }
        if let Some(o) = &self.observers
            && !o.failures.is_empty()
        {
            return Err(format!(
                "{} of {} observers failed (first: {})",
                o.failures.len(),
                o.observers,
                o.failures[0]
            ));
        }
        if self.stalled_cut_off < self.stalled {
            return Err(format!(
                "{} of {} bots that stopped reading were never cut off by the server{}",
                self.stalled - self.stalled_cut_off,
                self.stalled,
                first()
            ));
        }
        if self.desyncs > 0 {
            return Err(format!(
                "{} snapshots did not apply to the bots' replicas",
                self.desyncs
            ));
        }
        if self.unexpected_disconnects > t.max_unexpected_disconnects {
            return Err(format!(
                "{} unexpected disconnects, more than the {} allowed{}",
                self.unexpected_disconnects,
                t.max_unexpected_disconnects,
                first()
            ));
        }
        if self.completed + self.unexpected_disconnects < self.bots {
            return Err(format!(
                "only {} of {} bots played to the end",
                self.completed, self.bots
            ));
        }
        if let Some(max) = t.max_p99_rtt_ms
            && self.rtt_ms.p99 > max
        {
            return Err(format!(
                "p99 RTT {:.2} ms exceeds {max} ms",
                self.rtt_ms.p99
            ));
        }
        if let Some(max) = t.max_p99_input_ack_ms
            && self.input_ack_ms.p99 > max
        {
            return Err(format!(
                "p99 input-to-ack {:.2} ms exceeds {max} ms",
                self.input_ack_ms.p99
            ));
        }
        if let Some(min) = t.min_snapshot_rate
            && self.snapshot_rate_hz < min
        {
            return Err(format!(
                "snapshot rate {:.2} Hz per bot is below {min} Hz",
                self.snapshot_rate_hz
            ));
        }
        Ok(())
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
        let _ = writeln!(
            s,
            "  per bot  {:.0} bytes/s received; snapshot desyncs {}",
            self.bytes_per_bot_s, self.desyncs
        );
        for (label, r) in [
            ("rtt ms      ", &self.rtt_ms),
            ("input-ack ms", &self.input_ack_ms),
            ("jitter ms   ", &self.snapshot_jitter_ms),
        ] {
            let _ = writeln!(
                s,
                "  {label} p50 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}  ({} samples)",
                r.p50, r.p99, r.p999, r.max, r.samples
            );
        }
        let e = &self.prediction_error;
        let _ = writeln!(
            s,
            "  prediction error units p50 {:.3}  p99 {:.3}  max {:.3}  ({} samples)",
            e.p50, e.p99, e.max, e.samples
        );
        if let Some(o) = &self.observers {
            let how = match o.transport {
                Transport::Ws => "ws push, bincode".to_owned(),
                Transport::WsJson => "ws push, JSON".to_owned(),
                Transport::Poll => format!("poll every {} ms", o.poll_interval_ms),
            };
            let _ = writeln!(
                s,
                "  observers {} ({how}): {} {} ({:.1}/s each), {} new states ({:.1}/s each), {} not modified",
                o.observers,
                o.requests_or_messages,
                if o.transport == Transport::Poll {
                    "requests"
                } else {
                    "messages"
                },
                o.per_observer_requests_per_s,
                o.updates,
                o.per_observer_updates_per_s,
                o.not_modified
            );
            let _ = writeln!(
                s,
                "  observer wire bytes  up {} ({:.0}/s each)  down {} ({:.0}/s each)",
                o.bytes_sent,
                o.per_observer_bytes_up_per_s,
                o.bytes_received,
                o.per_observer_bytes_down_per_s
            );
            let l = &o.update_latency_ms;
            let _ = writeln!(
                s,
                "  observer update latency ms p50 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}  ({} samples)",
                l.p50, l.p99, l.p999, l.max, l.samples
            );
        }
        if self.stalled > 0 {
            let _ = writeln!(
                s,
                "  stalled  {} bots stopped reading; {} cut off by the server",
                self.stalled, self.stalled_cut_off
            );
        }
        if self.churns > 0 {
            let _ = writeln!(
                s,
                "  churn    {} drops, {} resumed as the same player",
                self.churns, self.resumes
            );
        }
        for p in &self.problems {
            let _ = writeln!(s, "  problem: {p}");
        }
        let _ = writeln!(s, "  result: {}", self.result);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(bots: usize) -> Report {
        Report {
            bots,
            connected: bots,
            completed: bots,
            snapshot_rate_hz: 30.0,
            rtt_ms: Latency {
                p99: 2.0,
                ..Latency::default()
            },
            input_ack_ms: Latency {
                p99: 35.0,
                ..Latency::default()
            },
            ..Report::default()
        }
    }

    #[test]
    fn a_clean_run_passes_and_each_breach_names_itself() {
        assert_eq!(clean(10).verdict(&Thresholds::default()), Ok(()));
        let strict = Thresholds {
            max_p99_rtt_ms: Some(1.0),
            max_p99_input_ack_ms: Some(66.7),
            max_unexpected_disconnects: 0,
            min_snapshot_rate: Some(28.5),
        };
        assert!(
            clean(10)
                .verdict(&strict)
                .is_err_and(|e| e.contains("p99 RTT 2.00 ms exceeds 1 ms"))
        );
        let slow = Report {
            snapshot_rate_hz: 20.0,
            ..clean(10)
        };
        let ok_rtt = Thresholds {
            max_p99_rtt_ms: None,
            ..strict.clone()
        };
        assert!(
            slow.verdict(&ok_rtt)
                .is_err_and(|e| e.contains("snapshot rate 20.00 Hz"))
        );
    }

    #[test]
    fn disconnects_fail_unless_allowed_and_failures_never_pass() {
        let dropped = Report {
            completed: 8,
            unexpected_disconnects: 2,
            problems: vec!["bot-3: connection closed".into()],
            ..clean(10)
        };
        let err = dropped.verdict(&Thresholds::default()).expect_err("fails");
        assert!(
            err.contains("2 unexpected disconnects") && err.contains("bot-3"),
            "{err}"
        );
        let lenient = Thresholds {
            max_unexpected_disconnects: 2,
            ..Thresholds::default()
        };
        assert_eq!(dropped.verdict(&lenient), Ok(()));
        let never_in = Report {
            connected: 9,
            failed: 1,
            completed: 9,
            ..clean(10)
        };
        assert!(
            never_in
                .verdict(&lenient)
                .is_err_and(|e| e.contains("1 of 10 bots never got in"))
        );
        let garbled = Report {
            protocol_errors: 1,
            ..clean(10)
        };
        assert!(garbled.verdict(&lenient).is_err());
        assert!(Report::default().verdict(&lenient).is_err());
    }
}
