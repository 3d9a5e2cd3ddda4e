//! Prometheus metrics for one server instance (`GET /metrics`). Every label has a fixed, small
//! set of values (close codes, reason names, limit kinds), except `room`, whose series are
//! removed when the room closes: at most `max_rooms` exist at once, and no client can grow them.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

/// The server's metrics. Cheap to update from any thread (atomics).
pub struct Metrics {
    registry: Registry,
    /// WebSocket connections open now.
    pub connections_open: IntGauge,
    /// WebSocket connections accepted since start.
    pub connections_total: IntCounter,
    /// Sessions ended, by close code and reason.
    pub connections_closed: IntCounterVec,
    /// Upgrades refused before a session started, by reason.
    pub connections_refused: IntCounterVec,
    /// Messages received from clients.
    pub messages_in: IntCounter,
    /// Messages sent to clients.
    pub messages_out: IntCounter,
    /// Payload bytes received from clients.
    pub bytes_in: IntCounter,
    /// Payload bytes sent to clients.
    pub bytes_out: IntCounter,
    /// Frames that did not decode as a message.
    pub decode_errors: IntCounter,
    /// Messages dropped by rate limits, by kind (`message`, `chat`).
    pub rate_limited: IntCounterVec,
    /// Rooms open now.
    pub rooms: IntGauge,
    /// Players seated now.
    pub players: IntGauge,
    /// Snapshots replaced unsent because the session had not taken the previous one.
    pub skipped_snapshots: IntCounter,
    /// Snapshots sent complete (`snapshots_total{kind="full"}`).
    pub snapshots_full: IntCounter,
    /// Snapshots sent as a delta against an acknowledged view (`{kind="delta"}`).
    pub snapshots_delta: IntCounter,
    /// Inputs dropped, by reason (`overflow`, `stale`, `not_seated`, `before_welcome`).
    pub dropped_inputs: IntCounterVec,
    /// Time to simulate a tick and hand out its snapshots, all rooms.
    pub tick_seconds: Histogram,
    /// Ticks that started more than half a period late, or were skipped after a stall.
    pub tick_overruns: IntCounter,
    /// Rooms closed because their game code panicked.
    pub room_panics: IntCounter,
    /// Players dropped because their client stopped reading snapshots.
    pub slow_clients_dropped: IntCounter,
    /// 1 while the fleet directory answers, 0 while it does not (or before it first did).
    pub fleet_up: IntGauge,
    /// Fleet directory operations that failed, by operation.
    pub fleet_errors: IntCounterVec,
    /// Matchmade seats, by outcome: reserved, claimed (its join came), expired.
    pub seat_reservations: IntCounterVec,
    /// `POST /api/matchmake` answers, by outcome ([`MATCHMAKE_OUTCOMES`]).
    pub matchmakes: IntCounterVec,
    /// Time to answer a `POST /api/matchmake` that found a seat, forwarding included.
    pub matchmake_seconds: Histogram,
    /// Tick duration per open room, by [`ROOM_LABELS`].
    pub room_tick_seconds: HistogramVec,
    /// Late or skipped ticks per open room, by [`ROOM_LABELS`].
    pub room_tick_overruns: IntCounterVec,
}

/// The fleet directory operations `arena_fleet_errors_total` counts, registered up front.
pub const FLEET_OPERATIONS: [&str; 4] = ["register", "deregister", "list", "matchmake"];

/// The outcomes `arena_matchmake_total` counts, registered up front.
pub const MATCHMAKE_OUTCOMES: [&str; 5] =
    ["ok", "bad_request", "rate_limited", "full", "unavailable"];

/// The outcomes `arena_seat_reservations_total` counts, registered up front.
pub const SEAT_OUTCOMES: [&str; 3] = ["reserved", "claimed", "expired"];

/// The `reason` labels of `arena_dropped_inputs_total`, registered up front so every series
/// reads 0 before the first drop (`crate::rooms::inputs::InputDrop` has one variant each).
pub const DROPPED_INPUT_REASONS: [&str; 4] = ["overflow", "stale", "not_seated", "before_welcome"];

/// The labels of the per-room series: the room's id (never reused) and its name (for people).
pub const ROOM_LABELS: &[&str] = &["room_id", "room"];

impl Metrics {
    /// A fresh set of metrics in its own registry, with the process collector where the
    /// platform has one.
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("arena".into()), None)
            .expect("static registry options are valid");
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).expect("static metric options are valid");
            registry
                .register(Box::new(c.clone()))
                .expect("metric names are unique");
            c
        };
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("static metric options are valid");
            registry
                .register(Box::new(g.clone()))
                .expect("metric names are unique");
            g
        };
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels)
                .expect("static metric options are valid");
            registry
                .register(Box::new(c.clone()))
                .expect("metric names are unique");
            c
        };
        // 25 µs to ~51 ms: from an empty room to well past a 30 Hz tick budget.
        let buckets =
            prometheus::exponential_buckets(25e-6, 2.0, 12).expect("static buckets are valid");
        let tick_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "tick_seconds",
                "Time to simulate one tick and hand out its snapshots.",
            )
            .buckets(buckets.clone()),
        )
        .expect("static metric options are valid");
        registry
            .register(Box::new(tick_seconds.clone()))
            .expect("metric names are unique");
        let room_tick_seconds = HistogramVec::new(
            HistogramOpts::new("room_tick_seconds", "Tick duration per open room.")
                .buckets(buckets),
            ROOM_LABELS,
        )
        .expect("static metric options are valid");
        registry
            .register(Box::new(room_tick_seconds.clone()))
            .expect("metric names are unique");
        #[cfg(target_os = "linux")]
        {
            let process = prometheus::process_collector::ProcessCollector::for_self();
            let _ = registry.register(Box::new(process));
        }
        let dropped_inputs = counter_vec(
            "dropped_inputs_total",
            "Inputs dropped, by reason: overflow (queue full, oldest dropped), stale (sequence \
             not above the newest), not_seated (the connection lost its seat), before_welcome.",
            &["reason"],
        );
        for reason in DROPPED_INPUT_REASONS {
            dropped_inputs.with_label_values(&[reason]);
        }
        let fleet_errors = counter_vec(
            "fleet_errors_total",
            "Fleet directory (Redis) operations that failed, by operation: register, \
             deregister, list, matchmake.",
            &["op"],
        );
        for op in FLEET_OPERATIONS {
            fleet_errors.with_label_values(&[op]);
        }
        let seat_reservations = counter_vec(
            "seat_reservations_total",
            "Matchmade seats, by outcome: reserved, claimed (the join arrived), expired (held \
             seat_reservation_ms and released unused).",
            &["outcome"],
        );
        for outcome in SEAT_OUTCOMES {
            seat_reservations.with_label_values(&[outcome]);
        }
        let matchmakes = counter_vec(
            "matchmake_total",
            "POST /api/matchmake answers, by outcome: ok, bad_request, rate_limited, full \
             (no seat anywhere), unavailable (directory or the room's server unreachable).",
            &["outcome"],
        );
        for outcome in MATCHMAKE_OUTCOMES {
            matchmakes.with_label_values(&[outcome]);
        }
        // 250 µs to ~1 s: a local seat to a forward across the fleet on a slow network.
        let matchmake_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "matchmake_seconds",
                "Time to answer a matchmake that found a seat, forwarding included.",
            )
            .buckets(
                prometheus::exponential_buckets(250e-6, 2.0, 13).expect("static buckets are valid"),
            ),
        )
        .expect("static metric options are valid");
        registry
            .register(Box::new(matchmake_seconds.clone()))
            .expect("metric names are unique");
        let snapshots = counter_vec(
            "snapshots_total",
            "Snapshots sent, by kind: full or delta.",
            &["kind"],
        );
        Self {
            connections_open: gauge("connections_open", "WebSocket connections open now."),
            connections_total: counter("connections_total", "WebSocket connections accepted."),
            connections_closed: counter_vec(
                "connections_closed_total",
                "Sessions ended, by close code and reason.",
                &["code", "reason"],
            ),
            connections_refused: counter_vec(
                "connections_refused_total",
                "Upgrades refused before a session started, by reason.",
                &["reason"],
            ),
            messages_in: counter("messages_in_total", "Messages received from clients."),
            messages_out: counter("messages_out_total", "Messages sent to clients."),
            bytes_in: counter("bytes_in_total", "Payload bytes received from clients."),
            bytes_out: counter("bytes_out_total", "Payload bytes sent to clients."),
            decode_errors: counter(
                "decode_errors_total",
                "Frames that did not decode as a message.",
            ),
            rate_limited: counter_vec(
                "rate_limited_total",
                "Messages dropped by rate limits.",
                &["kind"],
            ),
            rooms: gauge("rooms", "Rooms open now."),
            players: gauge("players", "Players seated now (detached ones included)."),
            skipped_snapshots: counter(
                "skipped_snapshots_total",
                "Snapshots replaced unsent because the session had not taken the previous one.",
            ),
            // Every session counts every snapshot: resolve the two series once, not a label
            // look-up (hash and lock) per snapshot.
            snapshots_full: snapshots.with_label_values(&["full"]),
            snapshots_delta: snapshots.with_label_values(&["delta"]),
            dropped_inputs,
            tick_seconds,
            tick_overruns: counter("tick_overruns_total", "Late or skipped ticks."),
            room_panics: counter(
                "room_panics_total",
                "Rooms closed because their game code panicked.",
            ),
            slow_clients_dropped: counter(
                "slow_clients_dropped_total",
                "Players dropped because their client stopped reading snapshots.",
            ),
            fleet_up: gauge(
                "fleet_up",
                "1 while the fleet directory (Redis) answers; 0 while it does not or is off.",
            ),
            fleet_errors,
            seat_reservations,
            matchmakes,
            matchmake_seconds,
            room_tick_seconds,
            room_tick_overruns: counter_vec(
                "room_tick_overruns_total",
                "Late or skipped ticks per open room.",
                ROOM_LABELS,
            ),
            registry,
        }
    }

    /// Forgets a closed room's series, keeping the per-room labels bounded by the rooms open.
    /// Keyed by the room's id too, so a new room that reuses the name keeps its own series.
    pub fn forget_room(&self, labels: &[&str; 2]) {
        let _ = self.room_tick_seconds.remove_label_values(labels);
        let _ = self.room_tick_overruns.remove_label_values(labels);
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for the text format.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}
