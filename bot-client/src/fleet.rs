//! Many bots as tasks on one async runtime, merged into one report; beside them the 1 Hz
//! sampler (per-second series and the progress line on stderr) and the server's `/metrics`
//! scraper. A fleet plays one game, named in its spec ([`crate::games`] turns the name into
//! the game's type).

use std::sync::Arc;
use std::time::Duration;

use arena_shared::RoomOptions;
use arena_shared::game::Game;
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::behavior::Behavior;
use crate::bot::{BotOutcome, BotSpec, distance_histogram, latency_histogram, run_bot};
use crate::games::{self, game_url};
use crate::live::Live;
use crate::netem::Delay;
use crate::observe::{Transport, run_observer};
use crate::report::{
    Distance, Distribution, Latency, ObserverReport, REPORT_VERSION, Report, Settings,
};
use crate::scrape::scrape;
use crate::stall::run_stalled_bot;
use crate::ticket::Minter;
use crate::timeline::{ProgressLine, sample};

/// Problems quoted in a report; the counters hold the full numbers.
const MAX_PROBLEMS: usize = 20;

/// What a fleet run is asked to do.
#[derive(Clone, Debug)]
pub struct FleetSpec {
    /// The game to play: one of [`games::NAMES`].
    pub game: String,
    /// The server: `ws://host:port/ws`, which becomes the game's endpoint `/ws/GAME`
    /// ([`game_url`]), or any other URL, used as it is.
    pub url: String,
    /// Number of bots.
    pub bots: usize,
    /// How long the fleet plays once every bot has started.
    pub duration: Duration,
    /// Connects are spread evenly over this long.
    pub ramp: Duration,
    /// Bots per minute (fleet-wide, on average) that drop their connection and resume.
    pub churn_per_min: f64,
    /// Room for all bots; `None` = quick-play.
    pub room: Option<String>,
    /// How the room is set up when the bots' `Hello` creates it; `None` = the server's
    /// defaults.
    pub room_options: Option<RoomOptions>,
    /// Play style.
    pub behavior: Behavior,
    /// Base seed; bot `i` uses `seed + i`.
    pub seed: u64,
    /// Print a progress line to stderr this often; `None` = quiet.
    pub progress: Option<Duration>,
    /// Extra bots that join once the ramp is over and then stop reading (`--stall`); each must
    /// be cut off by the server before the run ends.
    pub stalled: usize,
    /// Observers of `room` (`--observers`), from the end of the ramp.
    pub observers: usize,
    /// How observers watch.
    pub transport: Transport,
    /// How often a polling observer asks.
    pub poll_interval: Duration,
    /// Mints every bot's join ticket and every observer's spectator ticket, for servers with
    /// `auth = "ticket"`; `None` = no tickets.
    pub tickets: Option<Minter>,
    /// The server's Prometheus endpoint (`http://host:port/metrics`), scraped once a second
    /// into the report's `server` section; `None` = not scraped.
    pub metrics_url: Option<String>,
    /// The simulated network delay each way of every bot (`--latency-ms`, `--jitter-ms`).
    pub network: Delay,
}

impl FleetSpec {
    /// A quiet fleet of the default game with no ramp or churn.
    pub fn simple(url: String, bots: usize, duration: Duration) -> Self {
        Self {
            game: games::DEFAULT.to_owned(),
            url,
            bots,
            duration,
            ramp: Duration::ZERO,
            churn_per_min: 0.0,
            room: None,
            room_options: None,
            behavior: Behavior::Mixed,
            seed: 1,
            progress: None,
            stalled: 0,
            observers: 0,
            transport: Transport::Ws,
            poll_interval: Duration::from_millis(100),
            tickets: None,
            metrics_url: None,
            network: Delay::default(),
        }
    }

    /// The game's endpoint: where the bots play and the observers watch.
    pub fn game_url(&self) -> String {
        game_url(&self.url, &self.game)
    }

    /// The settings part of the report, started now on this machine.
    pub fn settings(&self) -> Settings {
        Settings {
            game: self.game.clone(),
            url: self.game_url(),
            bots: self.bots,
            duration_s: self.duration.as_secs_f64(),
            ramp_s: self.ramp.as_secs_f64(),
            churn_per_min: self.churn_per_min,
            room: self.room.clone(),
            room_options: self.room_options.clone(),
            behavior: Some(self.behavior),
            seed: self.seed,
            stall: self.stalled,
            observers: self.observers,
            transport: (self.observers > 0).then_some(self.transport),
            poll_interval_ms: self.poll_interval.as_millis() as u64,
            tickets: self.tickets.is_some(),
            metrics_url: self.metrics_url.clone(),
            latency_ms: self.network.latency.as_millis() as u64,
            jitter_ms: self.network.jitter.as_millis() as u64,
            ..Settings::now()
        }
    }
}

/// Runs the fleet to completion and reports. A game this arena-bot does not know fails every
/// bot, with the games it knows in the report's problems.
pub async fn run_fleet(spec: FleetSpec) -> Report {
    let settings = spec.settings();
    match games::run_fleet(spec).await {
        Ok(report) => report,
        Err(unknown) => Report {
            report_version: REPORT_VERSION,
            bots: settings.bots,
            failed: settings.bots,
            problems: vec![unknown.to_string()],
            settings,
            ..Report::default()
        },
    }
}

/// Runs the fleet on game `G` (which `spec.game` names) to completion and reports.
pub(crate) async fn run_game<G: Game>(spec: FleetSpec) -> Report {
    let clock = Instant::now();
    let started = spec.settings();
    let url = spec.game_url();
    let live = Arc::new(Live::new());
    let end_at = clock + spec.ramp + spec.duration;
    let churn_per_s = spec.churn_per_min / 60.0 / spec.bots.max(1) as f64;
    let mut tasks = JoinSet::new();
    for index in 0..spec.bots {
        let offset = spec.ramp.mul_f64(index as f64 / spec.bots.max(1) as f64);
        let bot = BotSpec {
            url: url.clone(),
            index,
            room: spec.room.clone(),
            room_options: spec.room_options.clone(),
            behavior: spec.behavior,
            start_at: clock + offset,
            end_at,
            churn_per_s,
            seed: spec.seed.wrapping_add(index as u64),
            tickets: spec.tickets.clone(),
            network: spec.network,
        };
        tasks.spawn(run_bot::<G>(bot, clock, live.clone()));
    }
    let mut stalled = JoinSet::new();
    for i in 0..spec.stalled {
        let (url, room, tickets) = (url.clone(), spec.room.clone(), spec.tickets.clone());
        let options = spec.room_options.clone();
        let start_at = clock + spec.ramp;
        stalled.spawn(async move {
            let name = format!("stalled-{i}");
            let (room, tickets) = (room.as_deref(), tickets.as_ref());
            run_stalled_bot::<G>(&url, &name, room, options, tickets, start_at, end_at).await
        });
    }
    let mut observers = JoinSet::new();
    let room = spec.room.clone().unwrap_or_default();
    // Observers stop a second before the players leave, so the room is still there for all of
    // them (the last player out closes it).
    let watch_until = (end_at - Duration::from_secs(1)).max(clock + spec.ramp);
    for _ in 0..spec.observers {
        observers.spawn(run_observer::<G>(
            spec.transport,
            url.clone(),
            room.clone(),
            spec.poll_interval,
            clock + spec.ramp,
            watch_until,
            spec.tickets.clone(),
        ));
    }
    let line = spec.progress.map(|every| ProgressLine {
        every,
        bots: spec.bots,
    });
    let (stop_sampler, sampler_stop) = oneshot::channel();
    let sampler = tokio::spawn(sample(live.clone(), clock, line, sampler_stop));
    let scraper = spec.metrics_url.clone().map(|url| {
        let (stop, stopped) = oneshot::channel();
        (stop, tokio::spawn(scrape(url, clock, stopped)))
    });
    let mut outcomes = Vec::with_capacity(spec.bots);
    let mut panicked = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(outcome) => outcomes.push(outcome),
            Err(e) => panicked.push(format!("bot task failed: {e}")),
        }
    }
    let mut report = merge(spec.bots, &outcomes, clock.elapsed());
    report.settings = started;
    let _ = stop_sampler.send(());
    match sampler.await {
        Ok(timeline) => report.timeline = timeline,
        Err(e) => panicked.push(format!("sampler task failed: {e}")),
    }
    if let Some((stop, task)) = scraper {
        let _ = stop.send(());
        match task.await {
            Ok(mut server) => {
                if report.bot_seconds > 0.0 {
                    server.cpu_us_per_bot_s = server.cpu_seconds / report.bot_seconds * 1e6;
                }
                report.server = Some(server);
            }
            Err(e) => panicked.push(format!("scraper task failed: {e}")),
        }
    }
    report.stalled = spec.stalled;
    while let Some(joined) = stalled.join_next().await {
        match joined {
            Ok(outcome) => {
                report.stalled_cut_off += usize::from(outcome.cut_off);
                report.problems.extend(
                    outcome
                        .failure
                        .filter(|_| report.problems.len() < MAX_PROBLEMS),
                );
            }
            Err(e) => panicked.push(format!("stalled bot task failed: {e}")),
        }
    }
    if spec.observers > 0 {
        let mut seen = Vec::new();
        while let Some(joined) = observers.join_next().await {
            match joined {
                Ok(outcome) => seen.push(outcome),
                Err(e) => panicked.push(format!("observer task failed: {e}")),
            }
        }
        let summary = ObserverReport::merge(spec.transport, spec.poll_interval, &seen);
        report
            .problems
            .extend(summary.failures.iter().take(MAX_PROBLEMS).cloned());
        report.observers = Some(summary);
    }
    report.failed += panicked.len();
    report
        .problems
        .extend(panicked.into_iter().take(MAX_PROBLEMS));
    report
}

fn merge(bots: usize, outcomes: &[BotOutcome], elapsed: Duration) -> Report {
    let (mut rtt, mut ack, mut jitter) = (
        latency_histogram(),
        latency_histogram(),
        latency_histogram(),
    );
    let mut prediction = distance_histogram();
    let mut played = Duration::ZERO;
    let mut report = Report {
        report_version: REPORT_VERSION,
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
        report.churns += o.churns;
        played += o.played;
        report.resumes += o.resumes;
        let _ = rtt.add(&o.rtt_us);
        let _ = ack.add(&o.input_ack_us);
        let _ = jitter.add(&o.jitter_us);
        let _ = prediction.add(&o.prediction_error_milli);
        report.desyncs += o.desyncs;
        report.shots += o.shots;
        report.hits += o.hits;
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
    report.input_ack_ms = Latency::from_micros(&ack);
    report.distributions.rtt_ms = Distribution::of_micros(&rtt);
    report.distributions.input_ack_ms = Distribution::of_micros(&ack);
    report.snapshot_jitter_ms = Latency::from_micros(&jitter);
    report.prediction_error = Distance::from_milli(&prediction);
    report.bot_seconds = played.as_secs_f64();
    report.hit_ratio = (report.shots > 0).then(|| report.hits as f64 / report.shots as f64);
    if !played.is_zero() {
        report.snapshot_rate_hz = report.snapshots_received as f64 / played.as_secs_f64();
        report.bytes_per_bot_s = report.bytes_received as f64 / played.as_secs_f64();
    }
    report
}
