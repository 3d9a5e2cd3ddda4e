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
use crate::replays;
use crate::report::{
    Distance, Distribution, Latency, ObserverReport, REPORT_VERSION, Report, Settings, Thresholds,
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
    /// Matchmakers every bot asks where to play (`--matchmaker`); empty = connect to `url`.
    pub matchmakers: Vec<String>,
    /// A bot whose server vanished matchmakes again and plays on (`--rejoin`).
    pub rejoin: bool,
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
            matchmakers: Vec::new(),
            rejoin: false,
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
            matchmakers: spec.matchmakers.clone(),
            rejoin: spec.rejoin,
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

/// Judges a finished run against `thresholds` (recorded in its settings) and sets its
/// `result`. When it failed, also names the rooms involved and looks up their replays on the
/// server it ran against: once, within [`replays::LOOKUP_TIMEOUT`], and never changing the
/// verdict. What `arena-bot` does at the end of a run, for tests to do the same.
pub async fn judge(report: &mut Report, thresholds: &Thresholds) -> Result<(), String> {
    report.settings.thresholds = thresholds.clone();
    let breach = match report.breach(thresholds) {
        Ok(()) => {
            report.result = "pass".into();
            return Ok(());
        }
        Err(breach) => breach,
    };
    report.result = breach.why.clone();
    report.name_rooms(breach.by_bots);
    report.replay_lookup = Some(if report.rooms_involved.is_empty() {
        "not looked up: no bot got into a room".to_owned()
    } else {
        let (url, game) = (&report.settings.url, &report.settings.game);
        replays::look_up(url, game, &mut report.rooms_involved).await
    });
    Err(breach.why)
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
        report.rejoins += o.rejoins;
        if let Some(server) = &o.server {
            *report.servers.entry(server.clone()).or_default() += 1;
        }
        let _ = rtt.add(&o.rtt_us);
        let _ = ack.add(&o.input_ack_us);
        let _ = jitter.add(&o.jitter_us);
        let _ = prediction.add(&o.prediction_error_milli);
        report.desyncs += o.desyncs;
        if let Some(room) = &o.room {
            let here = report.rooms_played.entry(room.clone()).or_default();
            here.bots += 1;
            here.desynced += usize::from(o.desyncs > 0);
            here.protocol_errors += usize::from(o.protocol_error.is_some());
            // A protocol error ends the connection too; it is said once, as the error.
            here.disconnected += usize::from(o.disconnect.is_some() && o.protocol_error.is_none());
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A bot that played ten seconds in `room` at 30 Hz and left cleanly.
    fn bot(room: &str) -> BotOutcome {
        let mut o = BotOutcome::new();
        o.connected = true;
        o.completed = true;
        o.room = Some(room.into());
        o.played = Duration::from_secs(10);
        o.snapshots = 300;
        o
    }

    fn dropped(room: &str, why: &str) -> BotOutcome {
        let mut o = bot(room);
        o.completed = false;
        o.disconnect = Some(why.into());
        o
    }

    fn named(r: &Report) -> Vec<(&str, usize, &str)> {
        (r.rooms_involved.iter())
            .map(|i| (i.room.as_str(), i.bots, i.why.as_str()))
            .collect()
    }

    #[tokio::test]
    async fn a_failure_by_bots_names_their_rooms_only() {
        let mut desynced = bot("a");
        desynced.desyncs = 3;
        let mut garbled = dropped("b", "bot-2: closed");
        garbled.protocol_error = Some("bot-2: undecodable".into());
        let outcomes = [
            desynced,
            bot("a"),
            garbled,
            dropped("c", "bot-3: closed"),
            bot("d"),
            bot("d"),
            bot("d"),
        ];
        let mut r = merge(outcomes.len(), &outcomes, Duration::from_secs(10));
        let verdict = judge(&mut r, &Thresholds::default()).await;
        assert!(verdict.is_err_and(|e| e.contains("1 bots saw protocol errors")));
        assert_eq!(Err(r.result.clone()), r.verdict(&Thresholds::default()));
        // Room d, the fullest, had no trouble: not named.
        assert_eq!(
            named(&r),
            [
                ("a", 2, "desync (1 bot)"),
                ("b", 1, "protocol error (1 bot)"),
                ("c", 1, "unexpected disconnect (1 bot)"),
            ]
        );
        assert_eq!(r.more_rooms_involved, 0);
        // No server to ask (the report has no URL); said, not fatal.
        assert!(
            r.replay_lookup
                .as_deref()
                .is_some_and(|l| l.contains("not looked up")),
            "{:?}",
            r.replay_lookup
        );
        let human = r.human();
        assert!(
            human.contains("room involved: a (2 bots: desync (1 bot)) replays: none"),
            "{human}"
        );
    }

    #[tokio::test]
    async fn a_threshold_names_every_room_and_a_pass_none() {
        let outcomes = [bot("a"), bot("a"), bot("b"), dropped("c", "bot-3: closed")];
        let clean = merge(outcomes.len(), &outcomes, Duration::from_secs(10));
        let lenient = Thresholds {
            max_unexpected_disconnects: 1,
            ..Thresholds::default()
        };
        let mut passing = clean.clone();
        assert_eq!(judge(&mut passing, &lenient).await, Ok(()));
        assert_eq!(passing.result, "pass");
        assert!(passing.rooms_involved.is_empty());
        assert_eq!(passing.replay_lookup, None);
        assert!(!passing.human().contains("room involved"));

        // The disconnect was allowed; the snapshot rate failed the fleet as a whole.
        let mut slow = clean.clone();
        let strict = Thresholds {
            min_snapshot_rate: Some(1000.0),
            ..lenient
        };
        let verdict = judge(&mut slow, &strict).await;
        assert!(verdict.is_err_and(|e| e.contains("snapshot rate")));
        assert_eq!(slow.settings.thresholds, strict);
        assert_eq!(
            named(&slow),
            [
                ("c", 1, "unexpected disconnect (1 bot)"),
                ("a", 2, "fleet-wide"),
                ("b", 1, "fleet-wide"),
            ]
        );
    }

    #[tokio::test]
    async fn bots_that_never_got_in_name_the_rooms_of_those_that_did() {
        let mut refused = BotOutcome::new();
        refused.failure = Some("bot-1: refused".into());
        let outcomes = [bot("a"), refused];
        let mut r = merge(outcomes.len(), &outcomes, Duration::from_secs(10));
        assert!(judge(&mut r, &Thresholds::default()).await.is_err());
        assert_eq!(named(&r), [("a", 1, "fleet-wide")]);

        let mut nobody = merge(1, &[BotOutcome::new()], Duration::from_secs(10));
        assert!(judge(&mut nobody, &Thresholds::default()).await.is_err());
        assert!(nobody.rooms_involved.is_empty());
        assert!(
            nobody
                .replay_lookup
                .is_some_and(|l| l.contains("no bot got into a room"))
        );
    }
}
