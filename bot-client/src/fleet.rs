//! Many bots as tasks on one async runtime, merged into one report.

use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::bot::{BotOutcome, BotSpec, rtt_histogram, run_bot};
use crate::brain::Behavior;
use crate::report::{Latency, Report};

/// Problems quoted in a report; the counters hold the full numbers.
const MAX_PROBLEMS: usize = 20;

/// What a fleet run is asked to do.
#[derive(Clone, Debug)]
pub struct FleetSpec {
    /// `ws://host:port/ws`.
    pub url: String,
    /// Number of bots.
    pub bots: usize,
    /// How long each bot plays.
    pub duration: Duration,
    /// Room for all bots; `None` = quick-play.
    pub room: Option<String>,
    /// Play style.
    pub behavior: Behavior,
    /// Base seed; bot `i` uses `seed + i`.
    pub seed: u64,
}

/// Runs the fleet to completion and reports.
pub async fn run_fleet(spec: FleetSpec) -> Report {
    let clock = Instant::now();
    let mut tasks = JoinSet::new();
    for index in 0..spec.bots {
        let bot = BotSpec {
            url: spec.url.clone(),
            index,
            room: spec.room.clone(),
            behavior: spec.behavior,
            duration: spec.duration,
            seed: spec.seed.wrapping_add(index as u64),
        };
        tasks.spawn(run_bot(bot, clock));
    }
    let mut outcomes = Vec::with_capacity(spec.bots);
    let mut panicked = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(outcome) => outcomes.push(outcome),
            Err(e) => panicked.push(format!("bot task failed: {e}")),
        }
    }
    let mut report = merge(spec.bots, &outcomes, clock.elapsed());
    report.failed += panicked.len();
    report
        .problems
        .extend(panicked.into_iter().take(MAX_PROBLEMS));
    report
}

fn merge(bots: usize, outcomes: &[BotOutcome], elapsed: Duration) -> Report {
    let mut rtt = rtt_histogram();
    let mut report = Report {
        bots,
        duration_s: elapsed.as_secs_f64(),
        ..Report::default()
    };
    for o in outcomes {
        report.connected += usize::from(o.connected);
        report.completed += usize::from(o.completed);
        report.failed += usize::from(o.failure.is_some());
        report.unexpected_disconnects += usize::from(o.disconnect.is_some());
        report.protocol_errors += usize::from(o.protocol_error.is_some());
        report.messages_sent += o.messages_sent;
        report.messages_received += o.messages_received;
        report.bytes_sent += o.bytes_sent;
        report.bytes_received += o.bytes_received;
        report.snapshots_received += o.snapshots;
        report.events_received += o.events;
        let _ = rtt.add(&o.rtt_us);
        for problem in [&o.failure, &o.disconnect, &o.protocol_error]
            .into_iter()
            .flatten()
        {
            if report.problems.len() < MAX_PROBLEMS {
                report.problems.push(problem.clone());
            }
        }
    }
    report.rtt_ms = Latency::from_micros(&rtt);
    if report.connected > 0 {
        report.snapshot_rate_hz = report.snapshots_received as f64
            / report.connected as f64
            / elapsed.as_secs_f64().max(1e-9);
    }
    report
}
