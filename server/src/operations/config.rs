//! The server's one `Config`: defaults (mirrored in `assets/server.toml`), a TOML file over
//! them, CLI flags over that, and validation with a message for every bad value.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arena_shared::Rewind;
use arena_shared::shooter::{Map, Rules};
use serde::{Deserialize, Serialize};

/// The configuration file shipped as documentation of every key and its default.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../../../assets/server.toml");

/// How players prove they may join.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Auth {
    /// Anyone may join.
    #[default]
    None,
    /// `Hello` must carry a valid join ticket signed with `ticket_secret`.
    Ticket,
}

/// The largest message a well-behaved client sends, in bytes: a `Hello` in JSON with a
/// 24-character name and a 32-character room name of 4-byte characters, a ticket of the longest
/// length accepted and a resume token of the largest ids, or a chat line of 200 control
/// characters, each escaped as six bytes of JSON. `max_message_bytes` defaults to about three
/// times this; a test builds these messages and holds the two together.
pub const LARGEST_CLIENT_MESSAGE: usize = 1_400;

/// The default spectator delay on a ticketed server: a player moves at most `max_speed`
/// (260 units/s) for 5 s, 1,300 units, more than half the view box (2,048 units wide), so what a
/// second connection shows a cheater is too old to aim with or to know where anybody is.
pub const TICKETED_SPECTATOR_DELAY_MS: u64 = 5_000;

/// The default bound on lag compensation. What a shooter needs is its round trip plus its
/// interpolation delay plus a tick or two of queueing: about 270 ms at a 150 ms round trip with
/// the browser's 50 ms delay at 20 Hz snapshots. What it costs the victim is being hit after
/// reaching cover: at 400 ms up to 104 units late (260 units/s), three player widths. Past
/// 400 ms the shooter leads the target by the rest, which keeps a 300+ ms player from
/// shooting others long after they took cover. (Source allows up to 1 s, `sv_maxunlag`.)
pub const DEFAULT_MAX_REWIND_MS: u64 = 400;

/// The environment variable that supplies `ticket_secret` without writing it into a file.
pub const TICKET_SECRET_ENV: &str = "ARENA_TICKET_SECRET";

/// The environment variable that overrides `admin_token`.
pub const ADMIN_TOKEN_ENV: &str = "ARENA_ADMIN_TOKEN";

/// Everything an operator can set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// HTTP worker threads; 0 = one per core.
    pub workers: usize,
    /// Simulation ticks per second (and inputs per second a client sends), for rooms created
    /// without a `tick_rate` option.
    pub tick_rate: u16,
    /// The highest tick rate a room option may ask for (at least `tick_rate`, and below
    /// `msg_rate` whatever this says, since a client sends one input per tick).
    pub max_tick_rate: u16,
    /// Snapshots per second, at most `tick_rate`; 0 = one per tick. A rate that does not
    /// divide the tick rate alternates gaps (20 Hz at 30 Hz: one tick, then two).
    pub snapshot_rate: u16,
    /// Width of the box around a player whose entities its snapshots carry, units.
    pub view_width: f32,
    /// Height of that box, units.
    pub view_height: f32,
    /// Send every player every entity in full each snapshot (no deltas, no view box): the
    /// baseline to compare the netcode against.
    pub full_snapshots: bool,
    /// Players per room.
    pub max_players: usize,
    /// Rooms per server.
    pub max_rooms: usize,
    /// Named rooms one address (IPv4, or IPv6 /64) may have created and still open; more are
    /// refused (1013), so a few sockets cannot hold every room of the server.
    pub max_named_rooms_per_ip: usize,
    /// The shooter's map file; empty = its embedded default map. The file's stem names it in
    /// room options (`GET /api/games`).
    pub map: PathBuf,
    /// Seed for every room's RNG; 0 = random per room.
    pub room_seed: u64,
    /// Where rooms record their replays; empty = no recording.
    pub replay_dir: PathBuf,
    /// Most bytes one room's replay may take; the room stops recording there.
    pub max_replay_bytes_per_room: u64,
    /// Most bytes all replays in `replay_dir` may take; the oldest are deleted first.
    pub max_replay_bytes: u64,
    /// The fleet directory, `redis://host:port[/db]` (`--fleet`); empty = this process alone.
    pub fleet_url: String,
    /// The WebSocket URL clients reach this process on (`--public-url`), as the fleet lists
    /// it; empty = `ws://<bound address>/ws`.
    pub public_url: String,
    /// This process's id in the fleet (`--server-id`): letters, digits, `.`, `_`, `-`; empty =
    /// the Agones GameServer's name under `agones`, else random.
    pub server_id: String,
    /// Run as an Agones GameServer (`--agones`; needs the `agones` cargo feature): Ready once
    /// listening, health pings while the rooms tick, Allocated while anyone plays, Shutdown
    /// after a drain. See `arena_server::agones`.
    pub agones: bool,
    /// How long the directory keeps this process and its rooms without a renewal, ms: a
    /// process that dies is gone from the fleet within it. Renewed every third of it.
    pub fleet_ttl_ms: u64,
    /// How long a matchmade seat is held for its join, ms; unused, it is released.
    pub seat_reservation_ms: u64,
    /// `POST /api/matchmake` calls one address may make per second (twice that in a burst).
    pub matchmake_per_ip_per_s: u32,
    /// Matchmade seats held at once for one address in this process; more: 429.
    pub max_held_seats_per_ip: usize,
    /// Largest client message, bytes (see [`LARGEST_CLIENT_MESSAGE`] for how it is sized).
    pub max_message_bytes: usize,
    /// Most frames one client message may be split into (continuation frames); more: 1008.
    pub max_message_fragments: usize,
    /// After the server closes a connection, how long it keeps reading (and discarding) what
    /// the client still sends, waiting for its close frame, before closing TCP, ms. Closing
    /// with unread data would send a reset, and the client could lose the close code.
    pub close_linger_ms: u64,
    /// Server ping period, ms.
    pub heartbeat_interval_ms: u64,
    /// Silence after which a client is dropped, ms.
    pub client_timeout_ms: u64,
    /// Time allowed between the upgrade and `Hello`, ms.
    pub hello_timeout_ms: u64,
    /// Inputs a player may have queued for the next tick.
    pub max_pending_inputs: usize,
    /// How long a session may hold an unsent snapshot (its client is not reading) before the
    /// player is dropped, ms.
    pub slow_client_timeout_ms: u64,
    /// Drain deadline on shutdown, ms.
    pub shutdown_timeout_ms: u64,
    /// On SIGTERM or `POST /api/admin/drain`, how long running rooms may play on (no new rooms
    /// or seats) before whoever is left is told 1001 and the process exits, seconds; it exits
    /// as soon as its rooms are empty. Keep a pod's termination grace period above it.
    pub drain_timeout_s: u64,
    /// The bearer token of `POST /api/admin/drain`, at least 32 bytes; empty = no admin calls.
    /// The environment variable `ARENA_ADMIN_TOKEN` overrides it.
    pub admin_token: String,
    /// Messages (and pings) per second a client may send, sustained.
    pub msg_rate: f64,
    /// Messages a client may send at once above the sustained rate.
    pub msg_burst: f64,
    /// Over-rate messages dropped before a flooding client is closed (1008).
    pub flood_tolerance: f64,
    /// Chat lines per minute a player may send, sustained; excess lines are dropped.
    pub chat_per_minute: f64,
    /// Chat lines a player may send at once.
    pub chat_burst: f64,
    /// Open WebSocket connections the server accepts; more get HTTP 503.
    pub max_connections: usize,
    /// Open WebSocket connections from one address (IPv4, or IPv6 /64); more get HTTP 429.
    pub max_connections_per_ip: usize,
    /// Kernel send buffer per connection, bytes; 0 = the OS default (Linux doubles the value).
    /// Bounds what a client that stops reading can make the kernel hold.
    pub socket_send_buffer: usize,
    /// Time a new TCP connection has to send its HTTP request (the upgrade), ms.
    pub handshake_timeout_ms: u64,
    /// Browser origins allowed to open sessions (`https://host[:port]`); empty = any.
    pub allowed_origins: Vec<String>,
    /// Who may join: anyone, or holders of a join ticket.
    pub auth: Auth,
    /// HMAC key for join tickets, at least 32 bytes; the environment variable
    /// `ARENA_TICKET_SECRET` overrides it.
    pub ticket_secret: String,
    /// Longest ticket lifetime accepted, seconds: bounds how long a used ticket is remembered.
    pub max_ticket_ttl_s: u64,
    /// Used tickets remembered (to refuse replays) at most; beyond, joins wait for expiries.
    pub max_remembered_tickets: usize,
    /// How long a player whose connection dropped keeps their seat for a resume, ms; 0 = off.
    pub resume_grace_ms: u64,
    /// Also serve `GET /echo`, an echo WebSocket through the same frame layer (for Autobahn).
    pub echo: bool,
    /// Spectators (`GET /ws?spectate=ROOM`) a room admits at once.
    pub max_spectators: usize,
    /// Spectator connections one address may hold open at once, server-wide; more get 429.
    pub max_spectators_per_ip: usize,
    /// How far in the past spectators and the state endpoint see rooms, ms (anti-ghosting).
    /// Unset: 0 with `auth = "none"`, [`TICKETED_SPECTATOR_DELAY_MS`] with tickets.
    pub spectator_delay_ms: Option<u64>,
    /// Judge each input's shots against the moment its player was looking at (lag
    /// compensation); false judges everything against the present, to compare on one build.
    pub lag_compensation: bool,
    /// The most a shot is rewound, ms (at most [`Rewind::MAX_MS`]).
    pub max_rewind_ms: u64,
    /// Serve the browser client from this folder instead of the copy built into the binary
    /// (for working on it); empty = built in.
    pub web_dir: PathBuf,
    /// Test-only: a `/panic` chat line makes its room panic, to prove fault containment; a
    /// `/wedge` line blocks its room's thread for good, to prove a wedged process is noticed.
    /// Never enable in production.
    pub fault_injection: bool,
    /// The shooter's tuning.
    pub rules: Rules,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            workers: 0,
            tick_rate: 30,
            max_tick_rate: 60,
            snapshot_rate: 0,
            view_width: 2048.0,
            view_height: 1280.0,
            full_snapshots: false,
            max_players: 16,
            max_rooms: 64,
            max_named_rooms_per_ip: 4,
            map: PathBuf::new(),
            room_seed: 0,
            replay_dir: PathBuf::new(),
            max_replay_bytes_per_room: 64 << 20,
            max_replay_bytes: 1 << 30,
            fleet_url: String::new(),
            public_url: String::new(),
            server_id: String::new(),
            agones: false,
            fleet_ttl_ms: 6_000,
            seat_reservation_ms: 15_000,
            matchmake_per_ip_per_s: 10,
            max_held_seats_per_ip: 64,
            max_message_bytes: 4096,
            max_message_fragments: 16,
            close_linger_ms: 1_000,
            heartbeat_interval_ms: 5_000,
            client_timeout_ms: 15_000,
            hello_timeout_ms: 10_000,
            max_pending_inputs: 8,
            slow_client_timeout_ms: 3_000,
            shutdown_timeout_ms: 5_000,
            drain_timeout_s: 30,
            admin_token: String::new(),
            msg_rate: 120.0,
            msg_burst: 60.0,
            flood_tolerance: 120.0,
            chat_per_minute: 20.0,
            chat_burst: 5.0,
            max_connections: 8_000,
            max_connections_per_ip: 256,
            handshake_timeout_ms: 5_000,
            socket_send_buffer: 0,
            allowed_origins: Vec::new(),
            auth: Auth::None,
            ticket_secret: String::new(),
            max_ticket_ttl_s: 3600,
            max_remembered_tickets: 100_000,
            resume_grace_ms: 10_000,
            echo: false,
            fault_injection: false,
            max_spectators: 64,
            max_spectators_per_ip: 8,
            spectator_delay_ms: None,
            lag_compensation: true,
            max_rewind_ms: DEFAULT_MAX_REWIND_MS,
            web_dir: PathBuf::new(),
            rules: Rules::default(),
        }
    }
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("config {path}: {source}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong, with line and column.
        source: toml::de::Error,
    },
    /// Values that parse but make no sense, all of them listed.
    #[error("invalid configuration: {0}")]
    Invalid(String),
    /// The map file is bad.
    #[error(transparent)]
    Map(#[from] arena_shared::shooter::MapError),
}

impl Config {
    /// Reads a TOML file; missing keys keep their defaults.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// Parses TOML text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: origin.to_owned(),
            source,
        })
    }

    /// Every value checked; all problems reported at once.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut bad = Vec::new();
        let mut check = |ok: bool, msg: &str| {
            if !ok {
                bad.push(msg.to_owned());
            }
        };
        check(
            (1..=240).contains(&self.tick_rate),
            "tick_rate must be 1..=240",
        );
        check(
            self.max_tick_rate <= 240,
            "max_tick_rate must be at most 240",
        );
        check(
            self.max_replay_bytes_per_room >= 4096
                && self.max_replay_bytes >= self.max_replay_bytes_per_room,
            "max_replay_bytes_per_room must be at least 4096 and at most max_replay_bytes",
        );
        check(
            (1..=1024).contains(&self.max_players),
            "max_players must be 1..=1024",
        );
        check(
            (1..=100_000).contains(&self.max_rooms),
            "max_rooms must be 1..=100000",
        );
        check(
            self.max_spectators <= 10_000,
            "max_spectators must be 0..=10000",
        );
        check(self.workers <= 1024, "workers must be 0..=1024");
        check(
            (256..=16 * 1024 * 1024).contains(&self.max_message_bytes),
            "max_message_bytes must be 256..=16777216",
        );
        check(
            (1..=65_536).contains(&self.max_message_fragments),
            "max_message_fragments must be 1..=65536",
        );
        check(
            self.close_linger_ms <= 10_000,
            "close_linger_ms must be at most 10000",
        );
        check(
            self.max_named_rooms_per_ip >= 1,
            "max_named_rooms_per_ip must be at least 1",
        );
        check(
            self.max_spectators_per_ip >= 1,
            "max_spectators_per_ip must be at least 1",
        );
        check(
            self.spectator_delay_ms.is_none_or(|d| d <= 30_000),
            "spectator_delay_ms must be at most 30000",
        );
        check(
            self.fleet_url.is_empty()
                || self.fleet_url.starts_with("redis://")
                || self.fleet_url.starts_with("rediss://"),
            "fleet_url must be empty or redis://host:port",
        );
        check(
            self.public_url.is_empty()
                || self.public_url.starts_with("ws://")
                || self.public_url.starts_with("wss://"),
            "public_url must be empty or a ws:// or wss:// URL",
        );
        check(
            self.server_id.len() <= 64
                && self
                    .server_id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)),
            "server_id must be at most 64 letters, digits, '.', '_' or '-'",
        );
        check(
            !self.agones || cfg!(feature = "agones"),
            "agones = true (--agones) needs arena-server built with the `agones` cargo feature \
             (cargo build --features agones; its build needs protoc)",
        );
        check(
            self.drain_timeout_s <= 3600,
            "drain_timeout_s must be at most 3600",
        );
        check(
            self.admin_token.is_empty() || self.admin_token.len() >= 32,
            "admin_token must be empty or at least 32 bytes",
        );
        check(
            (1_000..=60_000).contains(&self.fleet_ttl_ms),
            "fleet_ttl_ms must be 1000..=60000",
        );
        check(
            (1_000..=300_000).contains(&self.seat_reservation_ms),
            "seat_reservation_ms must be 1000..=300000",
        );
        check(
            self.seat_reservation_ms.div_ceil(1000) < self.max_ticket_ttl_s,
            "seat_reservation_ms must end before max_ticket_ttl_s (a matchmade ticket lives as long as its seat)",
        );
        check(
            (1..=100_000).contains(&self.matchmake_per_ip_per_s),
            "matchmake_per_ip_per_s must be 1..=100000",
        );
        check(
            (1..=1_000_000).contains(&self.max_held_seats_per_ip),
            "max_held_seats_per_ip must be 1..=1000000",
        );
        check(
            self.max_rewind_ms <= u64::from(Rewind::MAX_MS),
            "max_rewind_ms must be at most 1000 (the history a game keeps)",
        );
        check(
            self.heartbeat_interval_ms >= 100,
            "heartbeat_interval_ms must be at least 100",
        );
        check(
            self.client_timeout_ms > self.heartbeat_interval_ms,
            "client_timeout_ms must be longer than heartbeat_interval_ms",
        );
        check(
            self.hello_timeout_ms >= 100,
            "hello_timeout_ms must be at least 100",
        );
        check(
            (1..=256).contains(&self.max_pending_inputs),
            "max_pending_inputs must be 1..=256",
        );
        check(
            self.snapshot_rate <= self.tick_rate,
            "snapshot_rate must be 0 (one per tick) or at most tick_rate",
        );
        check(
            self.view_width.is_finite()
                && self.view_height.is_finite()
                && self.view_width >= 64.0
                && self.view_height >= 64.0,
            "view_width and view_height must be at least 64",
        );
        check(
            (100..=600_000).contains(&self.slow_client_timeout_ms),
            "slow_client_timeout_ms must be 100..=600000",
        );
        let positive = |v: f64| v.is_finite() && v > 0.0;
        check(
            positive(self.msg_rate) && self.msg_rate > f64::from(self.tick_rate),
            "msg_rate must be above tick_rate (a client sends one input per tick)",
        );
        check(
            self.msg_burst.is_finite() && self.msg_burst >= 1.0,
            "msg_burst must be at least 1",
        );
        check(
            positive(self.flood_tolerance),
            "flood_tolerance must be a positive number",
        );
        check(
            positive(self.chat_per_minute),
            "chat_per_minute must be a positive number",
        );
        check(
            self.chat_burst.is_finite() && self.chat_burst >= 1.0,
            "chat_burst must be at least 1",
        );
        check(
            (1..=1_000_000).contains(&self.max_connections),
            "max_connections must be 1..=1000000",
        );
        check(
            self.max_connections_per_ip >= 1,
            "max_connections_per_ip must be at least 1",
        );
        check(
            self.handshake_timeout_ms >= 100,
            "handshake_timeout_ms must be at least 100",
        );
        check(
            self.allowed_origins.len() <= 1024,
            "allowed_origins may list at most 1024 origins",
        );
        check(
            self.auth == Auth::None
                || self.ticket_secret.len() >= crate::operations::ticket::MIN_SECRET_LEN,
            "auth = \"ticket\" needs ticket_secret (or ARENA_TICKET_SECRET) of at least 32 bytes",
        );
        check(
            (1..=7 * 86_400).contains(&self.max_ticket_ttl_s),
            "max_ticket_ttl_s must be 1..=604800",
        );
        check(
            (1..=10_000_000).contains(&self.max_remembered_tickets),
            "max_remembered_tickets must be 1..=10000000",
        );
        check(
            self.resume_grace_ms <= 600_000,
            "resume_grace_ms must be at most 600000",
        );
        if let Err(rules) = self.rules.validate() {
            bad.push(format!("rules: {rules}"));
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(bad.join("; ")))
        }
    }

    /// The configured map, or the embedded default.
    pub fn load_map(&self) -> Result<Arc<Map>, ConfigError> {
        if self.map.as_os_str().is_empty() {
            Ok(Arc::new(Map::default_map()))
        } else {
            Ok(Arc::new(Map::load(&self.map)?))
        }
    }

    /// How long a client may leave a snapshot unread before it is dropped.
    pub fn slow_client_timeout(&self) -> Duration {
        Duration::from_millis(self.slow_client_timeout_ms)
    }

    /// The highest tick rate a room may be created with: `max_tick_rate`, but never below
    /// `tick_rate`, and below `msg_rate`, since each client sends one input per tick.
    pub fn effective_max_tick_rate(&self) -> u16 {
        let below_msg_rate = (self.msg_rate.ceil() - 1.0).clamp(0.0, 240.0) as u16;
        self.max_tick_rate.min(below_msg_rate).max(self.tick_rate)
    }

    /// Snapshots per second in effect (`snapshot_rate`, or the tick rate when that is 0).
    pub fn effective_snapshot_rate(&self) -> u16 {
        match self.snapshot_rate {
            0 => self.tick_rate,
            r => r,
        }
    }

    /// One tick.
    pub fn tick_period(&self) -> Duration {
        Duration::from_secs(1) / u32::from(self.tick_rate.max(1))
    }

    /// Server ping period.
    pub fn heartbeat_interval(&self) -> Duration {
        Duration::from_millis(self.heartbeat_interval_ms)
    }

    /// Silence after which a client is dead.
    pub fn client_timeout(&self) -> Duration {
        Duration::from_millis(self.client_timeout_ms)
    }

    /// Time allowed for `Hello`.
    pub fn hello_timeout(&self) -> Duration {
        Duration::from_millis(self.hello_timeout_ms)
    }

    /// Takes `ticket_secret` from `ARENA_TICKET_SECRET` when that is set.
    pub fn apply_env(&mut self) {
        if let Ok(secret) = std::env::var(TICKET_SECRET_ENV) {
            self.ticket_secret = secret;
        }
        if let Ok(token) = std::env::var(ADMIN_TOKEN_ENV) {
            self.admin_token = token;
        }
    }

    /// After closing, how long to read and discard what the client sends before closing TCP.
    pub fn close_linger(&self) -> Duration {
        Duration::from_millis(self.close_linger_ms)
    }

    /// How far in the past spectators see rooms: `spectator_delay_ms`, or its default for the
    /// `auth` mode.
    pub fn spectator_delay(&self) -> Duration {
        let default = match self.auth {
            Auth::None => 0,
            Auth::Ticket => TICKETED_SPECTATOR_DELAY_MS,
        };
        Duration::from_millis(self.spectator_delay_ms.unwrap_or(default))
    }

    /// How long a drain lets rooms play on.
    pub fn drain_timeout(&self) -> Duration {
        Duration::from_secs(self.drain_timeout_s)
    }

    /// How long the fleet directory keeps this process without a renewal.
    pub fn fleet_ttl(&self) -> Duration {
        Duration::from_millis(self.fleet_ttl_ms)
    }

    /// How long a matchmade seat is held.
    pub fn seat_reservation(&self) -> Duration {
        Duration::from_millis(self.seat_reservation_ms)
    }

    /// The most a shot is rewound: `max_rewind_ms`, or zero without lag compensation.
    pub fn max_rewind(&self) -> Duration {
        if self.lag_compensation {
            Duration::from_millis(self.max_rewind_ms)
        } else {
            Duration::ZERO
        }
    }

    /// How long a dropped player's seat is kept.
    pub fn resume_grace(&self) -> Duration {
        Duration::from_millis(self.resume_grace_ms)
    }

    /// Time allowed for the HTTP upgrade request.
    pub fn handshake_timeout(&self) -> Duration {
        Duration::from_millis(self.handshake_timeout_ms)
    }

    /// Drain deadline.
    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_millis(self.shutdown_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_file_is_exactly_the_defaults() {
        let shipped = Config::from_toml(DEFAULT_CONFIG_TOML, "assets/server.toml").expect("parses");
        assert_eq!(shipped, Config::default());
        shipped.validate().expect("defaults are valid");
    }

    #[test]
    fn the_largest_legitimate_client_message_fits_the_default_limit_with_room_to_spare() {
        use arena_shared::encoding::Encoding;
        use arena_shared::protocol::{
            ClientMsg, MAX_CHAT_CHARS, MAX_NAME_CHARS, MAX_ROOM_NAME_CHARS,
        };
        let widest = "\u{10FFFF}"; // four bytes of UTF-8
        let hello = ClientMsg::Hello {
            protocol_version: u16::MAX,
            name: widest.repeat(MAX_NAME_CHARS),
            room: Some(widest.repeat(MAX_ROOM_NAME_CHARS)),
            ticket: Some("t".repeat(crate::operations::ticket::MAX_TICKET_LEN)),
            resume: Some(format!("{}.{}.{}", u64::MAX, u32::MAX, "f".repeat(32))),
            options: Some(arena_shared::RoomOptions {
                map: Some(widest.repeat(MAX_ROOM_NAME_CHARS)),
                max_players: Some(u16::MAX),
                tick_rate: Some(u16::MAX),
                snapshot_rate: Some(u16::MAX),
            }),
        };
        let hello: ClientMsg<arena_shared::shooter::PlayerInput> = hello;
        // Control characters are stripped from chat by the server, but a client may send them:
        // JSON escapes each as six bytes.
        let chat = ClientMsg::Chat {
            text: "\u{1}".repeat(MAX_CHAT_CHARS),
        };
        let input = ClientMsg::Input(arena_shared::protocol::Input {
            seq: u32::MAX,
            ack: u64::MAX,
            behind: u16::MAX,
            controls: arena_shared::shooter::PlayerInput {
                move_dir: glam::Vec2::splat(f32::MIN),
                aim: glam::Vec2::splat(f32::MIN),
                fire: true,
            },
        });
        for msg in [hello, chat, input] {
            for encoding in [Encoding::Bincode, Encoding::Json] {
                let mut out = Vec::new();
                encoding.encode_into(&msg, &mut out).expect("encodes");
                assert!(
                    out.len() <= LARGEST_CLIENT_MESSAGE,
                    "{encoding:?}: {} bytes > {LARGEST_CLIENT_MESSAGE}",
                    out.len()
                );
            }
        }
        assert!(Config::default().max_message_bytes >= 2 * LARGEST_CLIENT_MESSAGE);
    }

    #[test]
    fn missing_keys_keep_defaults_and_unknown_keys_are_refused() {
        let c =
            Config::from_toml("tick_rate = 60\n[rules]\nmax_speed = 100.0\n", "t").expect("parses");
        assert_eq!(c.tick_rate, 60);
        assert_eq!(c.rules.max_speed, 100.0);
        assert_eq!(c.max_players, Config::default().max_players);
        let err = Config::from_toml("tick_rte = 60\n", "t").expect_err("typo must fail");
        assert!(err.to_string().contains("tick_rte"), "{err}");
    }

    #[test]
    fn every_bad_value_is_reported() {
        let c = Config {
            tick_rate: 0,
            max_players: 0,
            client_timeout_ms: 1,
            msg_rate: f64::NAN,
            auth: Auth::Ticket,
            ..Config::default()
        };
        let msg = c.validate().expect_err("invalid").to_string();
        for key in [
            "tick_rate",
            "max_players",
            "client_timeout_ms",
            "msg_rate",
            "ticket_secret",
        ] {
            assert!(msg.contains(key), "{msg}");
        }
    }

    #[test]
    fn agones_on_a_build_without_the_feature_is_refused_at_start_up() {
        let c = Config {
            agones: true,
            ..Config::default()
        };
        let result = c.validate();
        if cfg!(feature = "agones") {
            assert!(result.is_ok(), "{result:?}");
        } else {
            let msg = result.expect_err("no agones feature").to_string();
            assert!(msg.contains("`agones` cargo feature"), "{msg}");
        }
    }
}
