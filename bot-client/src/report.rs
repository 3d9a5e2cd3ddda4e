//! A fleet run's results: its settings, counters, latency percentiles, per-second series, the
//! server's view, and whether the run passed (and if not, the rooms to look at); human-readable
//! and JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use arena_shared::RoomOptions;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::behavior::Behavior;
use crate::bot::latency_histogram;
use crate::observe::{ObserverOutcome, Transport};
use crate::scrape::ServerReport;
use crate::timeline::Timeline;

/// The report format's version: 2 added `settings`, `timeline`, `server`, `distributions`
/// and `bot_seconds`. Reports without it are version 1, and still read.
pub const REPORT_VERSION: u32 = 2;

/// Latency percentiles in milliseconds, from an HDR histogram of microseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
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
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
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

/// A whole run's distribution of one latency, in bins forty to a decade (each bin's upper edge
/// is 1.059 times its lower one: 33.1 to 35.1 ms around one tick), for a histogram chart.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Distribution {
    /// Bin edges, ms: one more than `counts`.
    pub edges_ms: Vec<f64>,
    /// Samples in each bin.
    pub counts: Vec<u64>,
}

/// Bins per decade of a [`Distribution`].
pub const BINS_PER_DECADE: f64 = 40.0;

impl Distribution {
    /// The distribution of a histogram recorded in microseconds.
    pub fn of_micros(h: &Histogram<u64>) -> Self {
        let bin = |us: u64| ((us.max(1) as f64 / 1000.0).log10() * BINS_PER_DECADE).floor() as i32;
        let mut bins = std::collections::BTreeMap::<i32, u64>::new();
        for v in h.iter_recorded() {
            *bins.entry(bin(v.value_iterated_to())).or_default() += v.count_at_value();
        }
        let (Some((&lo, _)), Some((&hi, _))) = (bins.first_key_value(), bins.last_key_value())
        else {
            return Self::default();
        };
        let edge = |k: i32| {
            let ms = 10f64.powf(f64::from(k) / BINS_PER_DECADE);
            // Four significant digits keep the JSON short.
            let scale = 10f64.powi(3 - ms.log10().floor() as i32);
            (ms * scale).round() / scale
        };
        Self {
            edges_ms: (lo..=hi + 1).map(edge).collect(),
            counts: (lo..=hi)
                .map(|k| bins.get(&k).copied().unwrap_or(0))
                .collect(),
        }
    }

    /// Samples in all.
    pub fn samples(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// The whole run's latency distributions.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Distributions {
    /// Ping round trips.
    pub rtt_ms: Distribution,
    /// Input to acknowledgement.
    pub input_ack_ms: Distribution,
}

/// How the run was asked to go, and where: the top of the HTML report, and what `compare`
/// checks before it compares two runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Settings {
    /// The game played (`--game`). Reports from before there was a choice say nothing, and
    /// were all of the shooter.
    #[serde(default = "shooter")]
    pub game: String,
    /// The WebSocket URL the bots played on (the game's endpoint).
    pub url: String,
    /// Bots asked for.
    pub bots: usize,
    /// Seconds of play after the ramp.
    pub duration_s: f64,
    /// Seconds over which connects were spread.
    pub ramp_s: f64,
    /// Churn cuts per minute, fleet-wide.
    pub churn_per_min: f64,
    /// The room, or `None` for quick-play.
    pub room: Option<String>,
    /// How the bots asked for the room to be set up (`--room-option`), if they did.
    pub room_options: Option<RoomOptions>,
    /// Play style.
    pub behavior: Option<Behavior>,
    /// Base seed.
    pub seed: u64,
    /// Runtime worker threads of the bots.
    pub threads: usize,
    /// Bots that stopped reading (`--stall`).
    pub stall: usize,
    /// Observers (`--observers`).
    pub observers: usize,
    /// How the observers watched.
    pub transport: Option<Transport>,
    /// Polling period of polling observers, ms.
    pub poll_interval_ms: u64,
    /// Whether the bots minted join tickets.
    pub tickets: bool,
    /// Limits the run had to stay within.
    pub thresholds: Thresholds,
    /// The server's metrics endpoint scraped, if any.
    pub metrics_url: Option<String>,
    /// Simulated one-way network delay of every bot, each way, ms (`--latency-ms`).
    #[serde(default)]
    pub latency_ms: u64,
    /// Simulated jitter on that delay, ± ms (`--jitter-ms`).
    #[serde(default)]
    pub jitter_ms: u64,
    /// When the run started, seconds since the Unix epoch.
    pub started_unix_s: u64,
    /// arena-bot's version.
    pub version: String,
    /// The machine the bots ran on: cores and CPU model.
    pub machine: String,
}

impl Settings {
    /// Only the parts that describe this moment and machine: start time, version, machine.
    pub fn now() -> Self {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        let model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|m| m.trim().to_owned())
            })
            .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
        Self {
            started_unix_s: started,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            machine: format!("{cores} cores, {model}, {}", std::env::consts::OS),
            threads: 1,
            ..Self::default()
        }
    }
}

/// What a set of observers saw and cost.
#[derive(Debug, Clone, Serialize, Deserialize)]
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

/// The result of a fleet run; also its JSON form (`--json FILE`), of which the HTML report
/// (`--html FILE`) is a view.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    /// [`REPORT_VERSION`]; 1 when absent.
    #[serde(default = "version_one")]
    pub report_version: u32,
    /// How the run was asked to go.
    #[serde(default)]
    pub settings: Settings,
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
    /// Times a bot's server vanished and it matchmade and played on elsewhere (`--rejoin`).
    #[serde(default)]
    pub rejoins: u64,
    /// Matchmade bots by the fleet id of the server each played on last (`--matchmaker`).
    #[serde(default)]
    pub servers: std::collections::BTreeMap<String, usize>,
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
    /// Shots the bots fired, as their snapshots first showed them (games that shoot).
    #[serde(default)]
    pub shots: u64,
    /// Shots that damaged another player (the bots' `Hit` events).
    #[serde(default)]
    pub hits: u64,
    /// `hits / shots`; `None` without shots.
    #[serde(default)]
    pub hit_ratio: Option<f64>,
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
    /// Seconds of play summed over the bots (each bot's time connected).
    #[serde(default)]
    pub bot_seconds: f64,
    /// The first few failure reasons, for diagnosis.
    pub problems: Vec<String>,
    /// `pass`, or the first reason the run failed.
    pub result: String,
    /// Whole-run distributions of RTT and input-to-ack, for histograms.
    #[serde(default)]
    pub distributions: Distributions,
    /// Per-second series of what the bots saw.
    #[serde(default)]
    pub timeline: Timeline,
    /// The server's `/metrics` over the run, when scraped (`--metrics-url`).
    #[serde(default)]
    pub server: Option<ServerReport>,
    /// Where to look when the run failed: the rooms of the bots that broke it (desync,
    /// protocol error, unexpected disconnect), or every room the fleet played in when the
    /// failure was the fleet's as a whole (a threshold); at most [`MAX_ROOMS_INVOLVED`], the
    /// worst first. Empty when the run passed.
    #[serde(default)]
    pub rooms_involved: Vec<RoomInvolved>,
    /// Rooms involved beyond those listed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub more_rooms_involved: usize,
    /// What the look-up of the rooms' replays on the server found, or why it found none, in
    /// one line; `None` when there was nothing to look up (the run passed).
    #[serde(default)]
    pub replay_lookup: Option<String>,
    /// Every room the bots played in, with how many bots there had which trouble: what
    /// [`Report::name_rooms`] chooses from once the verdict is known. Not in the JSON: the
    /// rooms involved are.
    #[serde(skip)]
    pub rooms_played: BTreeMap<String, RoomPlayed>,
}

/// Rooms a failing report names at most: enough to find the culprit, few enough to read.
pub const MAX_ROOMS_INVOLVED: usize = 20;

/// One room a failing run names, and its replays on the server.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct RoomInvolved {
    /// The room's name, as its `Welcome` gave it.
    pub room: String,
    /// Bots of the fleet whose latest `Welcome` was into it.
    pub bots: usize,
    /// Why it is named: the trouble its bots had (`desync (2 bots), protocol error (1 bot)`),
    /// or `fleet-wide` when none had any and the run failed as a whole.
    pub why: String,
    /// Ids of the server's replays of a room of this name and game, newest first (a
    /// quick-play name may have been reused), at most [`crate::replays::MAX_REPLAYS_PER_ROOM`].
    /// Each is the file `<replay_dir>/<id>.replay`, which `arena-server replay` re-simulates.
    pub replays: Vec<String>,
}

/// How to re-simulate a replay a report names, on the server's machine.
pub const REPLAY_COMMAND: &str = "arena-server replay <replay_dir>/<id>.replay";

/// `1 bot`, `3 bots`.
pub fn bots(n: usize) -> String {
    if n == 1 {
        "1 bot".to_owned()
    } else {
        format!("{n} bots")
    }
}

/// The bots of one room and their trouble, counted as the fleet's outcomes are merged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoomPlayed {
    /// Bots whose latest `Welcome` was into the room.
    pub bots: usize,
    /// Of those, bots with at least one snapshot that did not apply.
    pub desynced: usize,
    /// Bots that saw a protocol error.
    pub protocol_errors: usize,
    /// Bots whose connection ended early for another reason.
    pub disconnected: usize,
}

impl RoomPlayed {
    /// Bots here that had any trouble.
    pub fn troubled(&self) -> usize {
        self.desynced + self.protocol_errors + self.disconnected
    }

    /// The trouble, as [`RoomInvolved::why`] says it.
    fn why(&self) -> String {
        let said: Vec<String> = [
            ("desync", self.desynced),
            ("protocol error", self.protocol_errors),
            ("unexpected disconnect", self.disconnected),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(what, n)| format!("{what} ({})", bots(n)))
        .collect();
        if said.is_empty() {
            "fleet-wide".to_owned()
        } else {
            said.join(", ")
        }
    }
}

/// The rooms a failed run names, the worst first, and how many more there were. `by_bots`:
/// particular bots broke the run, so only their rooms are named (all rooms if none of them
/// had one); otherwise every room is.
pub fn rooms_involved(
    played: &BTreeMap<String, RoomPlayed>,
    by_bots: bool,
) -> (Vec<RoomInvolved>, usize) {
    let only_troubled = by_bots && played.values().any(|p| p.troubled() > 0);
    let mut chosen: Vec<(&String, &RoomPlayed)> = played
        .iter()
        .filter(|(_, p)| !only_troubled || p.troubled() > 0)
        .collect();
    // Stable: rooms alike stay in name order.
    chosen.sort_by_key(|(_, p)| std::cmp::Reverse((p.troubled(), p.bots)));
    let more = chosen.len().saturating_sub(MAX_ROOMS_INVOLVED);
    let listed = chosen
        .into_iter()
        .take(MAX_ROOMS_INVOLVED)
        .map(|(room, p)| RoomInvolved {
            room: room.clone(),
            bots: p.bots,
            why: p.why(),
            replays: Vec::new(),
        })
        .collect();
    (listed, more)
}

/// Why a run failed, and whether particular bots failed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    /// The first condition broken, as one line.
    pub why: String,
    /// Bots broke it (protocol errors, desyncs, unexpected disconnects), so their rooms are
    /// the ones to look at; otherwise the fleet as a whole did (a threshold, bots that never
    /// got in) and every room is.
    pub by_bots: bool,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn version_one() -> u32 {
    1
}

fn shooter() -> String {
    <arena_shared::shooter::World as arena_shared::Game>::NAME.to_owned()
}

/// Limits a run must stay within to pass (`--max-p99-rtt-ms` and friends).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
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
        self.breach(t).map_err(|b| b.why)
    }

    /// [`Report::verdict`], saying also whether particular bots broke the run.
    pub fn breach(&self, t: &Thresholds) -> Result<(), Breach> {
        let by_bots = |why: String| Breach { why, by_bots: true };
        let by_fleet = |why: String| Breach {
            why,
            by_bots: false,
        };
        let first = || {
            self.problems
                .first()
                .map_or(String::new(), |p| format!(" (first: {p})"))
        };
        if self.bots == 0 {
            return Err(by_fleet("no bots ran".into()));
        }
        if self.failed > 0 || self.connected < self.bots {
            return Err(by_fleet(format!(
                "{} of {} bots never got in{}",
                self.bots - self.connected,
                self.bots,
                first()
            )));
        }
        if self.protocol_errors > 0 {
            return Err(by_bots(format!(
                "{} bots saw protocol errors{}",
                self.protocol_errors,
                first()
            )));
        }
        if let Some(o) = &self.observers
            && !o.failures.is_empty()
        {
            return Err(by_fleet(format!(
                "{} of {} observers failed (first: {})",
                o.failures.len(),
                o.observers,
                o.failures[0]
            )));
        }
        if self.stalled_cut_off < self.stalled {
            return Err(by_fleet(format!(
                "{} of {} bots that stopped reading were never cut off by the server{}",
                self.stalled - self.stalled_cut_off,
                self.stalled,
                first()
            )));
        }
        if self.desyncs > 0 {
            return Err(by_bots(format!(
                "{} snapshots did not apply to the bots' replicas",
                self.desyncs
            )));
        }
        if self.unexpected_disconnects > t.max_unexpected_disconnects {
            return Err(by_bots(format!(
                "{} unexpected disconnects, more than the {} allowed{}",
                self.unexpected_disconnects,
                t.max_unexpected_disconnects,
                first()
            )));
        }
        if self.completed + self.unexpected_disconnects < self.bots {
            return Err(by_fleet(format!(
                "only {} of {} bots played to the end",
                self.completed, self.bots
            )));
        }
        if let Some(max) = t.max_p99_rtt_ms
            && self.rtt_ms.p99 > max
        {
            return Err(by_fleet(format!(
                "p99 RTT {:.2} ms exceeds {max} ms",
                self.rtt_ms.p99
            )));
        }
        if let Some(max) = t.max_p99_input_ack_ms
            && self.input_ack_ms.p99 > max
        {
            return Err(by_fleet(format!(
                "p99 input-to-ack {:.2} ms exceeds {max} ms",
                self.input_ack_ms.p99
            )));
        }
        if let Some(min) = t.min_snapshot_rate
            && self.snapshot_rate_hz < min
        {
            return Err(by_fleet(format!(
                "snapshot rate {:.2} Hz per bot is below {min} Hz",
                self.snapshot_rate_hz
            )));
        }
        Ok(())
    }

    /// Fills `rooms_involved` and `more_rooms_involved` for a failure ([`rooms_involved`]);
    /// their replays are looked up apart ([`crate::replays`]), as that takes the network.
    pub fn name_rooms(&mut self, by_bots: bool) {
        (self.rooms_involved, self.more_rooms_involved) =
            rooms_involved(&self.rooms_played, by_bots);
    }

    /// The report for people.
    pub fn human(&self) -> String {
        let mut s = String::new();
        let secs = self.duration_s.max(1e-9);
        let _ = writeln!(
            s,
            "arena-bot report ({}): {} bots, {:.1} s",
            self.settings.game, self.bots, self.duration_s
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
        if let Some(ratio) = self.hit_ratio {
            let _ = writeln!(
                s,
                "  aim      {} shots, {} hits, hit ratio {:.3}{}",
                self.shots,
                self.hits,
                ratio,
                match (self.settings.latency_ms, self.settings.jitter_ms) {
                    (0, 0) => String::new(),
                    (l, j) => format!(" (simulated {l} ± {j} ms each way)"),
                }
            );
        }
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
        if !self.servers.is_empty() {
            let spread: Vec<String> = self
                .servers
                .iter()
                .map(|(id, n)| format!("{id} {n}"))
                .collect();
            let _ = writeln!(
                s,
                "  fleet    bots by server: {}; {} rejoined after their server vanished",
                spread.join(", "),
                self.rejoins
            );
        }
        if let Some(server) = &self.server {
            let _ = writeln!(s, "  server   {}", server.summary());
        }
        for p in &self.problems {
            let _ = writeln!(s, "  problem: {p}");
        }
        for r in &self.rooms_involved {
            let replays = if r.replays.is_empty() {
                "none".to_owned()
            } else {
                r.replays.join(", ")
            };
            let _ = writeln!(
                s,
                "  room involved: {} ({}: {}) replays: {replays}",
                r.room,
                bots(r.bots),
                r.why
            );
        }
        if self.more_rooms_involved > 0 {
            let _ = writeln!(
                s,
                "  rooms involved: {} more not listed",
                self.more_rooms_involved
            );
        }
        if let Some(lookup) = &self.replay_lookup {
            let _ = writeln!(s, "  replays: {lookup}");
            if self.rooms_involved.iter().any(|r| !r.replays.is_empty()) {
                let _ = writeln!(
                    s,
                    "  re-simulate one where the server runs: {REPLAY_COMMAND}"
                );
            }
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
    fn a_distribution_bins_every_sample_forty_to_a_decade() {
        let mut h = latency_histogram();
        for us in [100, 102, 1_000, 1_050, 33_000, 33_300, 34_000] {
            let _ = h.record(us);
        }
        let d = Distribution::of_micros(&h);
        assert_eq!(d.samples(), 7);
        assert_eq!(d.edges_ms.len(), d.counts.len() + 1);
        assert!(d.edges_ms.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(d.edges_ms[0], 0.1);
        assert!(*d.edges_ms.last().unwrap_or(&0.0) > 34.0);
        let at = |ms: f64| {
            d.edges_ms
                .windows(2)
                .position(|w| w[0] <= ms && ms < w[1])
                .map(|i| d.counts[i])
        };
        // 0.100 and 0.102 ms share the bin 0.1..0.1059; 33.0 and 33.3 share 31.62..33.5.
        assert_eq!(at(0.101), Some(2));
        assert_eq!(at(32.0), Some(2));
        assert_eq!(d.counts.iter().filter(|c| **c > 0).count(), 4);
        assert_eq!(
            Distribution::of_micros(&latency_histogram()),
            Distribution::default()
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

    #[test]
    fn rooms_involved_are_bounded_worst_first() {
        let mut played = BTreeMap::new();
        for i in 0..MAX_ROOMS_INVOLVED + 5 {
            played.insert(
                format!("room-{i:02}"),
                RoomPlayed {
                    bots: 1 + i % 3,
                    ..RoomPlayed::default()
                },
            );
        }
        if let Some(r) = played.get_mut("room-24") {
            r.desynced = 1;
        }
        let (fleet, more) = rooms_involved(&played, false);
        assert_eq!((fleet.len(), more), (MAX_ROOMS_INVOLVED, 5));
        assert_eq!(fleet[0].room, "room-24");
        assert_eq!(fleet[0].why, "desync (1 bot)");
        // Then the fullest, in name order.
        assert_eq!((fleet[1].room.as_str(), fleet[1].bots), ("room-02", 3));
        assert_eq!(fleet[1].why, "fleet-wide");
        let (bots, more) = rooms_involved(&played, true);
        assert_eq!((bots.len(), more), (1, 0));
        assert_eq!(rooms_involved(&BTreeMap::new(), true), (Vec::new(), 0));
    }

    #[test]
    fn reports_without_rooms_involved_still_read() {
        let mut value = serde_json::to_value(clean(3)).expect("encode");
        let fields = value.as_object_mut().expect("an object");
        assert!(!fields.contains_key("more_rooms_involved"), "absent when 0");
        assert!(!fields.contains_key("rooms_played"), "not in the JSON");
        fields.remove("rooms_involved");
        fields.remove("replay_lookup");
        let read: Report = serde_json::from_value(value).expect("an older report reads");
        assert!(read.rooms_involved.is_empty() && read.replay_lookup.is_none());
    }
}
