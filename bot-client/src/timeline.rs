//! The run over time: one point a second of what the bots saw, sampled from [`Live`] by a 1 Hz
//! task, kept in the report as per-second series (its `timeline`) for trends and charts. The
//! same task prints the progress line.
//!
//! Bounded: a series holds at most [`MAX_POINTS`] points (36,000: ten hours at 1 Hz, about
//! 12 MB for the whole timeline in memory and about 9 MB in the JSON, at the 245 bytes a second
//! measured). A longer run halves its resolution each time it reaches the bound: neighbouring
//! points merge pairwise (counts add up, rates and medians average, p99s keep the larger) and
//! each point then covers twice as long (`interval_s`).

use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::sync::oneshot;
use tokio::time::{Instant, MissedTickBehavior};

use crate::bot::latency_histogram;
use crate::live::{Interval, Live, Totals};

/// Most points a series keeps before it halves its resolution.
pub const MAX_POINTS: usize = 36_000;

/// How the sampler looks at the fleet.
pub const SAMPLE_PERIOD: Duration = Duration::from_secs(1);

/// How two or more neighbouring points of one series become one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// The last one (a time stamp).
    Last,
    /// Their sum (counts of events in the interval).
    Sum,
    /// Their mean (rates, gauges, medians).
    Mean,
    /// The largest (tail percentiles: a spike must stay visible).
    Max,
    /// The smallest (rates whose dips matter).
    Min,
}

/// A value a series can hold: a number, or a number that may be missing (a percentile of an
/// interval without samples is `null`, and charts leave a gap).
pub trait Column: Copy {
    /// Several neighbouring values merged into one.
    fn merge(values: &[Self], how: Merge) -> Self;
}

fn merge_present(values: impl Iterator<Item = f64> + Clone, how: Merge) -> Option<f64> {
    let n = values.clone().count();
    if n == 0 {
        return None;
    }
    Some(match how {
        Merge::Last => values.last().unwrap_or(0.0),
        Merge::Sum => values.sum(),
        Merge::Mean => round3(values.sum::<f64>() / n as f64),
        Merge::Max => values.fold(f64::NEG_INFINITY, f64::max),
        Merge::Min => values.fold(f64::INFINITY, f64::min),
    })
}

impl Column for f64 {
    fn merge(values: &[Self], how: Merge) -> Self {
        merge_present(values.iter().copied(), how).unwrap_or(0.0)
    }
}

impl Column for Option<f64> {
    fn merge(values: &[Self], how: Merge) -> Self {
        merge_present(values.iter().flatten().copied(), how)
    }
}

/// Merges runs of `factor` neighbouring values.
pub fn reduce<T: Column>(values: &[T], factor: usize, how: Merge) -> Vec<T> {
    values
        .chunks(factor.max(1))
        .map(|c| T::merge(c, how))
        .collect()
}

/// Declares a set of series as a struct of columns (serialized as one array per column), a
/// matching one-point struct, and how the columns grow and merge.
macro_rules! series {
    (
        $(#[$meta:meta])* $name:ident / $(#[$pmeta:meta])* $point:ident {
            $( $(#[doc = $doc:expr])* $col:ident : $ty:ty = $merge:ident ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(default)]
        pub struct $name {
            /// Seconds each point covers: 1, doubled each time the run outgrew
            /// `MAX_POINTS`.
            pub interval_s: f64,
            $( $(#[doc = $doc])* pub $col: Vec<$ty>, )*
            /// Raw points waiting to be merged into one of `interval_s` (after halving).
            #[serde(skip)]
            pending: Vec<$point>,
        }

        $(#[$pmeta])*
        #[derive(Debug, Clone, Copy, Default, PartialEq)]
        pub struct $point {
            $( $(#[doc = $doc])* pub $col: $ty, )*
        }

        impl $name {
            /// No points yet, one per `interval_s` seconds.
            pub fn new(interval_s: f64) -> Self {
                Self { interval_s, ..Self::default() }
            }

            /// Points held.
            pub fn len(&self) -> usize {
                self.t_s.len()
            }

            /// No points held.
            pub fn is_empty(&self) -> bool {
                self.t_s.is_empty()
            }

            /// Adds a raw point (one sample period long); keeps every series within
            /// `MAX_POINTS` by halving the resolution when full.
            pub fn push(&mut self, p: $point, period_s: f64) {
                self.pending.push(p);
                let per_point = (self.interval_s / period_s).round().max(1.0) as usize;
                if self.pending.len() >= per_point {
                    self.flush();
                }
            }

            /// Merges what is pending into one point (the end of the run).
            pub fn flush(&mut self) {
                if self.pending.is_empty() {
                    return;
                }
                let pending = std::mem::take(&mut self.pending);
                $(
                    let column: Vec<$ty> = pending.iter().map(|p| p.$col).collect();
                    self.$col.push(<$ty as $crate::timeline::Column>::merge(
                        &column,
                        $crate::timeline::Merge::$merge,
                    ));
                )*
                if self.len() > $crate::timeline::MAX_POINTS {
                    *self = self.reduced(2);
                }
            }

            /// A copy with every `factor` neighbouring points merged into one.
            pub fn reduced(&self, factor: usize) -> Self {
                let mut out = self.clone();
                out.interval_s = self.interval_s * factor.max(1) as f64;
                $(
                    out.$col = $crate::timeline::reduce(
                        &self.$col,
                        factor,
                        $crate::timeline::Merge::$merge,
                    );
                )*
                out
            }

            /// A copy of at most `points` points, for drawing.
            pub fn at_most(&self, points: usize) -> Self {
                let factor = self.len().div_ceil(points.max(1)).max(1);
                if factor == 1 { self.clone() } else { self.reduced(factor) }
            }
        }
    };
}
pub(crate) use series;

series! {
    /// What the bots saw, per sample interval (one second), from the start of the run: the
    /// report's `timeline`. Counts are per interval; rates per second.
    Timeline /
    /// One point of a [`Timeline`].
    Point {
        /// Seconds since the fleet started, at the end of the interval.
        t_s: f64 = Last,
        /// Bots connected (mean over merged points).
        connected: f64 = Mean,
        /// Bots that joined as new players.
        joins: f64 = Sum,
        /// Deliberate connection cuts (`--churn`).
        churns: f64 = Sum,
        /// Cuts that came back as the same player.
        resumes: f64 = Sum,
        /// Bots whose connection ended before the run did.
        disconnects: f64 = Sum,
        /// Failures of any kind (joins, resumes, connections, desyncs).
        errors: f64 = Sum,
        /// Messages the bots received per second.
        messages_in_per_s: f64 = Mean,
        /// Messages the bots sent per second.
        messages_out_per_s: f64 = Mean,
        /// Payload bytes the bots received per second.
        bytes_in_per_s: f64 = Mean,
        /// Payload bytes the bots sent per second.
        bytes_out_per_s: f64 = Mean,
        /// Snapshots per second per connected bot.
        snapshot_rate_hz: Option<f64> = Mean,
        /// Ping round trip, median of the interval, ms.
        rtt_p50_ms: Option<f64> = Mean,
        /// Ping round trip, p99 of the interval, ms.
        rtt_p99_ms: Option<f64> = Max,
        /// Input to acknowledgement, median, ms.
        input_ack_p50_ms: Option<f64> = Mean,
        /// Input to acknowledgement, p99, ms.
        input_ack_p99_ms: Option<f64> = Max,
        /// Snapshot arrival jitter, median, ms.
        jitter_p50_ms: Option<f64> = Mean,
        /// Snapshot arrival jitter, p99, ms.
        jitter_p99_ms: Option<f64> = Max,
        /// Prediction error at reconciliation, median, world units.
        prediction_error_p50: Option<f64> = Mean,
        /// Prediction error at reconciliation, p99, world units.
        prediction_error_p99: Option<f64> = Max,
    }
}

/// Three decimals: the series' precision (a µs in ms, a thousandth of a message or a
/// percent), which keeps the JSON short.
pub fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// `q` of a histogram scaled by `scale` (µs to ms: 1000), or `None` without samples.
fn quantile(h: &Histogram<u64>, q: f64, scale: f64) -> Option<f64> {
    (!h.is_empty()).then(|| round3(h.value_at_quantile(q) as f64 / scale))
}

/// One point from the totals before and after an interval of `dt` seconds and what the
/// interval measured.
pub fn point(t_s: f64, dt: f64, before: &Totals, now: &Totals, i: &Interval) -> Point {
    let dt = dt.max(1e-3);
    let count = |f: fn(&Totals) -> u64| f(now).saturating_sub(f(before)) as f64;
    let rate = |f: fn(&Totals) -> u64| round3(count(f) / dt);
    let connected = (before.connected + now.connected) as f64 / 2.0;
    Point {
        t_s: round3(t_s),
        connected: now.connected.max(0) as f64,
        joins: count(|t| t.joins),
        churns: count(|t| t.churns),
        resumes: count(|t| t.resumes),
        disconnects: count(|t| t.disconnects),
        errors: count(|t| t.errors),
        messages_in_per_s: rate(|t| t.messages_received),
        messages_out_per_s: rate(|t| t.messages_sent),
        bytes_in_per_s: rate(|t| t.bytes_received),
        bytes_out_per_s: rate(|t| t.bytes_sent),
        snapshot_rate_hz: (connected > 0.0).then(|| round3(i.snapshots as f64 / connected / dt)),
        rtt_p50_ms: quantile(&i.rtt_us, 0.50, 1000.0),
        rtt_p99_ms: quantile(&i.rtt_us, 0.99, 1000.0),
        input_ack_p50_ms: quantile(&i.ack_us, 0.50, 1000.0),
        input_ack_p99_ms: quantile(&i.ack_us, 0.99, 1000.0),
        jitter_p50_ms: quantile(&i.jitter_us, 0.50, 1000.0),
        jitter_p99_ms: quantile(&i.jitter_us, 0.99, 1000.0),
        prediction_error_p50: quantile(&i.prediction_milli, 0.50, 1000.0),
        prediction_error_p99: quantile(&i.prediction_milli, 0.99, 1000.0),
    }
}

/// What the progress line needs: printed every `every`, out of `bots`.
#[derive(Debug, Clone, Copy)]
pub struct ProgressLine {
    /// How often (rounded up to the next sample: the line reads the 1 Hz samples).
    pub every: Duration,
    /// Bots in the fleet.
    pub bots: usize,
}

/// Samples `live` once a second from `clock` until `stop` fires, printing the progress line
/// when asked; then takes a last (partial) sample and returns the timeline.
pub async fn sample(
    live: Arc<Live>,
    clock: Instant,
    progress: Option<ProgressLine>,
    mut stop: oneshot::Receiver<()>,
) -> Timeline {
    let period = SAMPLE_PERIOD.as_secs_f64();
    let mut timeline = Timeline::new(period);
    let mut tick = tokio::time::interval_at(clock + SAMPLE_PERIOD, SAMPLE_PERIOD);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut spare = Interval::new();
    let (mut before, mut last) = (live.totals(), clock);
    let mut window = progress.map(|p| Window::new(p, clock));
    loop {
        let stopping = tokio::select! {
            _ = tick.tick() => false,
            _ = &mut stop => true,
        };
        let now = Instant::now();
        let dt = (now - last).as_secs_f64();
        // A last sample shorter than a tenth of a period says little; its events still count
        // in the run's totals.
        if !stopping || dt >= period / 10.0 {
            live.take_interval(&mut spare);
            let totals = live.totals();
            let t_s = (now - clock).as_secs_f64();
            timeline.push(point(t_s, dt, &before, &totals, &spare), period);
            if let Some(w) = window.as_mut() {
                w.add(now, &totals, &spare);
            }
            spare.reset();
            (before, last) = (totals, now);
        }
        if stopping {
            break;
        }
    }
    timeline.flush();
    timeline
}

/// The progress line's window: what it has summed since it last printed.
struct Window {
    line: ProgressLine,
    clock: Instant,
    next_at: Instant,
    since: (Instant, u64, u64),
    rtt_us: Histogram<u64>,
    ack_us: Histogram<u64>,
}

impl Window {
    fn new(line: ProgressLine, clock: Instant) -> Self {
        Self {
            line,
            clock,
            next_at: clock + line.every,
            since: (clock, 0, 0),
            rtt_us: latency_histogram(),
            ack_us: latency_histogram(),
        }
    }

    fn add(&mut self, now: Instant, totals: &Totals, i: &Interval) {
        let _ = self.rtt_us.add(&i.rtt_us);
        let _ = self.ack_us.add(&i.ack_us);
        // A sample a little early still prints: samples and lines share one clock.
        if now + Duration::from_millis(50) < self.next_at {
            return;
        }
        let (from, received, sent) = self.since;
        let secs = (now - from).as_secs_f64().max(1e-3);
        eprintln!(
            "[{:>5.0}s] connected {}/{}  msgs/s in {:.0} out {:.0}  rtt p99 {:.1} ms  input-ack p99 {:.1} ms  errors {}",
            (now - self.clock).as_secs_f64(),
            totals.connected,
            self.line.bots,
            totals.messages_received.saturating_sub(received) as f64 / secs,
            totals.messages_sent.saturating_sub(sent) as f64 / secs,
            quantile(&self.rtt_us, 0.99, 1000.0).unwrap_or(0.0),
            quantile(&self.ack_us, 0.99, 1000.0).unwrap_or(0.0),
            totals.errors
        );
        self.rtt_us.reset();
        self.ack_us.reset();
        self.since = (now, totals.messages_received, totals.messages_sent);
        while self.next_at <= now + Duration::from_millis(50) {
            self.next_at += self.line.every.max(Duration::from_millis(100));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(t: f64, joins: f64, p99: Option<f64>) -> Point {
        Point {
            t_s: t,
            joins,
            connected: 10.0,
            rtt_p99_ms: p99,
            rtt_p50_ms: p99.map(|v| v / 2.0),
            ..Point::default()
        }
    }

    #[test]
    fn merging_keeps_counts_spikes_and_gaps() {
        assert_eq!(f64::merge(&[1.0, 2.0], Merge::Sum), 3.0);
        assert_eq!(f64::merge(&[1.0, 3.0], Merge::Mean), 2.0);
        assert_eq!(
            Option::<f64>::merge(&[None, Some(4.0)], Merge::Max),
            Some(4.0)
        );
        assert_eq!(Option::<f64>::merge(&[None, None], Merge::Mean), None);
        assert_eq!(
            Option::<f64>::merge(&[Some(1.0), Some(5.0)], Merge::Min),
            Some(1.0)
        );
        assert_eq!(reduce(&[1.0, 2.0, 3.0], 2, Merge::Last), vec![2.0, 3.0]);
    }

    #[test]
    fn a_long_run_halves_its_resolution_and_stays_bounded() {
        let mut t = Timeline::new(1.0);
        // Past the bound once, not twice: two seconds a point.
        let n = MAX_POINTS * 2 - 10;
        for i in 0..n {
            let spike = (i == 5_000).then_some(500.0).or(Some(1.0));
            t.push(p(i as f64 + 1.0, 1.0, spike), 1.0);
        }
        t.flush();
        assert!(t.len() <= MAX_POINTS, "{}", t.len());
        assert_eq!(t.interval_s, 2.0);
        assert_eq!(t.joins.len(), t.t_s.len());
        assert_eq!(t.rtt_p99_ms.len(), t.t_s.len());
        // Every join is still counted, and the spike survived as a p99.
        assert_eq!(t.joins.iter().sum::<f64>(), n as f64);
        assert!(t.rtt_p99_ms.contains(&Some(500.0)));
        assert_eq!(t.t_s.last(), Some(&(n as f64)));
        // Points pushed after the halving merged pairwise as well (the last may be partial).
        assert!(
            t.t_s
                .windows(2)
                .rev()
                .skip(1)
                .take(100)
                .all(|w| w[1] - w[0] == 2.0)
        );
    }

    #[test]
    fn a_view_for_drawing_is_short() {
        let mut t = Timeline::new(1.0);
        for i in 0..5_000 {
            t.push(p(i as f64, 1.0, Some(i as f64)), 1.0);
        }
        let v = t.at_most(1_000);
        assert!(v.len() <= 1_000);
        assert_eq!(v.joins.iter().sum::<f64>(), 5_000.0);
        assert_eq!(v.rtt_p99_ms.last(), Some(&Some(4_999.0)));
    }

    #[test]
    fn a_point_is_rates_per_second_and_interval_percentiles() {
        let before = Totals {
            connected: 10,
            messages_received: 1_000,
            ..Totals::default()
        };
        let now = Totals {
            connected: 10,
            joins: 2,
            messages_received: 1_300,
            bytes_received: 50_000,
            ..Totals::default()
        };
        let mut i = Interval::new();
        i.snapshots = 300;
        for us in [1_000, 2_000, 3_000] {
            let _ = i.rtt_us.record(us);
        }
        let pt = point(5.0, 1.0, &before, &now, &i);
        assert_eq!(pt.joins, 2.0);
        assert_eq!(pt.messages_in_per_s, 300.0);
        assert_eq!(pt.bytes_in_per_s, 50_000.0);
        assert_eq!(pt.snapshot_rate_hz, Some(30.0));
        assert!(pt.rtt_p99_ms.is_some_and(|v| (v - 3.0).abs() < 0.01));
        assert_eq!(pt.input_ack_p99_ms, None);
    }
}
