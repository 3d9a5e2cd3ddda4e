//! The fleet directory (issue 12): with `fleet_url` set, each process registers itself and its
//! rooms in Redis and keeps them alive with a TTL, so any process can list the fleet
//! (`GET /api/fleet`) and, later, send players where their room lives.
//!
//! Keys, each written whole every [`Fleet::period`] (a third of `fleet_ttl_ms`), so a process
//! that dies disappears within the TTL, rooms included, and a Redis that lost everything (a
//! restart without persistence) is filled again within a period:
//! - `arena:server:{id}`: this process as JSON ([`ServerEntry`], its rooms included), `PX` TTL;
//! - `arena:servers`: a sorted set of server ids scored by when their entry expires (Unix ms),
//!   so a listing never scans keys; members past their score are pruned by any lister;
//! - `arena:room:{name}`: the id of the server a room lives on, `PX` TTL (the matchmaker's
//!   lookup, and where creating a named room will claim its name atomically with `NX`).
//!
//! One transaction a period: `MULTI`, `SET`, `ZADD`, `ZREMRANGEBYSCORE`, one script per room
//! (renew its name unless another process holds it: an `EVAL` running a `GET` and a `SET`) and
//! `EXEC`, so a process costs Redis `(5 + 3 × rooms) / period` commands a second as Redis counts
//! them. Redis being unreachable never stops a
//! room: the registrar logs it, counts it (`arena_fleet_errors_total`, `arena_fleet_up` 0) and
//! writes everything again once it answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix::Addr;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::{Deserialize, Serialize};
use tokio::sync::{OnceCell, watch};
use tracing::{info, warn};

use crate::operations::metrics::Metrics;
use crate::rooms::lobby::Lobby;
use crate::rooms::messages::{ListRooms, RoomInfo};
use crate::server::DrainState;

/// The sorted set of live server ids.
const SERVERS: &str = "arena:servers";

/// How old a listing a matchmake may route by. Entries are written only every period (a third
/// of the TTL), so a quarter-second cache loses little a fresh read would show, while Redis
/// then serves each process at most four listings a second (each is every server's entry,
/// rooms included) however many players matchmake. The lobby holding a seat has the last word,
/// so a stale listing costs a retry, never an overfilled room.
pub const LISTING_MAX_AGE: Duration = Duration::from_millis(250);

/// A process as the directory lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerEntry {
    /// `--server-id`.
    pub id: String,
    /// The WebSocket URL clients reach this process on (`--public-url`).
    pub url: String,
    /// Players it takes at most: `max_rooms × max_players`, bounded by `max_connections`.
    pub capacity: usize,
    /// Players seated now.
    pub players: usize,
    /// Rooms it opens at most (`max_rooms`).
    #[serde(default)]
    pub max_rooms: usize,
    /// Whether it is draining: no new rooms or seats.
    pub draining: bool,
    /// When this entry was written, Unix ms.
    pub updated_unix_ms: u64,
    /// Its rooms.
    pub rooms: Vec<RoomEntry>,
}

/// A room as the directory lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoomEntry {
    /// The room's name.
    pub name: String,
    /// The game it plays.
    pub game: String,
    /// Players seated.
    pub players: usize,
    /// Seats.
    pub max_players: usize,
    /// Whether quick-play may place players in it.
    pub public: bool,
    /// Seats held for matchmade joins on their way (not in `players`).
    #[serde(default)]
    pub reserved: usize,
}

impl RoomEntry {
    /// A room as the lobby lists it.
    pub fn of(room: &RoomInfo) -> Self {
        Self {
            name: room.name.clone(),
            game: room.game.to_owned(),
            players: room.players,
            max_players: room.max_players,
            public: room.public,
            reserved: room.reserved,
        }
    }
}

/// Why the directory could not answer.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// Redis did not answer or refused.
    #[error("fleet directory unreachable: {0}")]
    Redis(#[from] redis::RedisError),
}

/// This process's place in the fleet.
pub struct Fleet {
    /// This server's id.
    pub id: String,
    /// Where clients reach it.
    pub url: String,
    ttl: Duration,
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    up: AtomicBool,
    metrics: Arc<Metrics>,
    /// The newest listing and when it was read, shared by matchmakes within [`LISTING_MAX_AGE`];
    /// an async lock, so matchmakes that find it stale wait for one read instead of each
    /// making their own.
    listing: tokio::sync::Mutex<Option<(std::time::Instant, Arc<Vec<ServerEntry>>)>>,
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Fleet {
    /// The directory at `url` (`redis://host:port`) for server `id`, reachable at
    /// `public_url`, whose entries live `ttl`. Connects lazily: a Redis that is down now does
    /// not stop the server from starting.
    pub fn new(
        url: &str,
        id: String,
        public_url: String,
        ttl: Duration,
        metrics: Arc<Metrics>,
    ) -> Result<Self, FleetError> {
        Ok(Self {
            id,
            url: public_url,
            ttl,
            client: redis::Client::open(url)?,
            connection: OnceCell::new(),
            up: AtomicBool::new(false),
            metrics,
            listing: tokio::sync::Mutex::new(None),
        })
    }

    /// How often the registrar writes: a third of the TTL, so two writes can fail in a row
    /// before an entry expires.
    pub fn period(&self) -> Duration {
        self.ttl / 3
    }

    /// Whether the last write or read reached Redis.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    async fn connection(&self) -> Result<ConnectionManager, FleetError> {
        let wait = Some(self.period().min(Duration::from_secs(2)));
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(wait)
            .set_response_timeout(wait)
            .set_number_of_retries(1);
        let connection = self
            .connection
            .get_or_try_init(|| ConnectionManager::new_with_config(self.client.clone(), config))
            .await?;
        Ok(connection.clone())
    }

    /// Notes whether Redis answered, counting and logging a failure once per outage.
    fn observe<T>(&self, op: &str, result: Result<T, FleetError>) -> Result<T, FleetError> {
        match &result {
            Ok(_) => {
                if !self.up.swap(true, Ordering::Relaxed) {
                    info!(server = %self.id, "fleet directory reachable");
                }
                self.metrics.fleet_up.set(1);
            }
            Err(e) => {
                self.metrics.fleet_errors.with_label_values(&[op]).inc();
                self.metrics.fleet_up.set(0);
                if self.up.swap(false, Ordering::Relaxed) {
                    warn!(server = %self.id, error = %e, "fleet directory unreachable; rooms play on, fleet matchmaking answers 503 until it is back");
                }
            }
        }
        result
    }

    /// Writes this process and its rooms, whole, with the TTL.
    pub async fn register(&self, entry: &ServerEntry) -> Result<(), FleetError> {
        let result = self.write(entry).await;
        self.observe("register", result)
    }

    async fn write(&self, entry: &ServerEntry) -> Result<(), FleetError> {
        let mut conn = self.connection().await?;
        let ttl_ms = self.ttl.as_millis() as u64;
        let now = unix_ms();
        let json = serde_json::to_string(entry).unwrap_or_default();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(format!("arena:server:{}", self.id))
            .arg(json)
            .arg("PX")
            .arg(ttl_ms)
            .ignore()
            .cmd("ZADD")
            .arg(SERVERS)
            .arg(now + ttl_ms)
            .arg(&self.id)
            .ignore()
            .cmd("ZREMRANGEBYSCORE")
            .arg(SERVERS)
            .arg("-inf")
            .arg(now)
            .ignore();
        for room in &entry.rooms {
            // Never over another process's claim: a name two processes hold (a direct Hello
            // opened it elsewhere) stays with the first, not flipping every period.
            pipe.cmd("EVAL")
                .arg(RENEW)
                .arg(1)
                .arg(room_key(&room.name))
                .arg(&self.id)
                .arg(ttl_ms)
                .ignore();
        }
        pipe.query_async::<()>(&mut conn).await?;
        Ok(())
    }

    /// Removes this process from the directory (a clean exit), rooms included.
    pub async fn deregister(&self, rooms: &[RoomEntry]) -> Result<(), FleetError> {
        let result = async {
            let mut conn = self.connection().await?;
            let mut pipe = redis::pipe();
            pipe.atomic()
                .cmd("DEL")
                .arg(format!("arena:server:{}", self.id))
                .ignore()
                .cmd("ZREM")
                .arg(SERVERS)
                .arg(&self.id)
                .ignore();
            for room in rooms {
                // Only its own: a name another process has claimed since stays.
                pipe.cmd("EVAL")
                    .arg(RELEASE)
                    .arg(1)
                    .arg(room_key(&room.name))
                    .arg(&self.id)
                    .ignore();
            }
            pipe.query_async::<()>(&mut conn).await?;
            Ok(())
        }
        .await;
        self.observe("deregister", result)
    }

    /// Every live server, by id.
    pub async fn servers(&self) -> Result<Vec<ServerEntry>, FleetError> {
        let result = self.read().await;
        self.observe("list", result)
    }

    /// Every live server, as listed at most [`LISTING_MAX_AGE`] ago: what matchmaking routes
    /// by.
    pub async fn recent_servers(&self) -> Result<Arc<Vec<ServerEntry>>, FleetError> {
        let mut cached = self.listing.lock().await;
        if let Some((at, listing)) = cached.as_ref()
            && at.elapsed() < LISTING_MAX_AGE
        {
            return Ok(listing.clone());
        }
        let read_at = std::time::Instant::now();
        let listing = Arc::new(self.servers().await?);
        *cached = Some((read_at, listing.clone()));
        Ok(listing)
    }

    async fn read(&self) -> Result<Vec<ServerEntry>, FleetError> {
        let mut conn = self.connection().await?;
        let now = unix_ms();
        let ids: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(SERVERS)
            .arg(format!("({now}"))
            .arg("+inf")
            .query_async(&mut conn)
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|id| format!("arena:server:{id}")).collect();
        let entries: Vec<Option<String>> =
            redis::cmd("MGET").arg(&keys).query_async(&mut conn).await?;
        let mut servers: Vec<ServerEntry> = entries
            .into_iter()
            .flatten()
            .filter_map(|json| serde_json::from_str(&json).ok())
            .collect();
        servers.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(servers)
    }
}

/// Claims a room's name for `server` unless someone holds it, atomically (so two matchmakers
/// never create one name twice), and says who holds it now.
const CLAIM: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return ARGV[1] end
return redis.call('GET', KEYS[1])";

/// Renews a room's name for `server` if it holds it or nobody does.
const RENEW: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  return redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 0";

/// Drops a room's claim if `server` still holds it (a claim by a process that died or
/// refused the room), never someone else's.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0";

impl Fleet {
    /// The server holding room `name`, if any.
    pub async fn owner(&self, name: &str) -> Result<Option<String>, FleetError> {
        let result = async {
            let mut conn = self.connection().await?;
            let owner: Option<String> = redis::cmd("GET")
                .arg(room_key(name))
                .query_async(&mut conn)
                .await?;
            Ok(owner)
        }
        .await;
        self.observe("matchmake", result)
    }

    /// Claims room `name` for `server` (for a TTL, renewed by its registrar once the room
    /// exists) unless someone holds it; the holder afterwards, whoever won.
    pub async fn claim(&self, name: &str, server: &str) -> Result<String, FleetError> {
        let result = async {
            let mut conn = self.connection().await?;
            let owner: String = redis::Script::new(CLAIM)
                .key(room_key(name))
                .arg(server)
                .arg(self.ttl.as_millis() as u64)
                .invoke_async(&mut conn)
                .await?;
            Ok(owner)
        }
        .await;
        self.observe("matchmake", result)
    }

    /// Drops `server`'s claim on room `name`, if it still holds it.
    pub async fn release(&self, name: &str, server: &str) -> Result<(), FleetError> {
        let result = async {
            let mut conn = self.connection().await?;
            redis::Script::new(RELEASE)
                .key(room_key(name))
                .arg(server)
                .invoke_async::<()>(&mut conn)
                .await?;
            Ok(())
        }
        .await;
        self.observe("matchmake", result)
    }
}

fn room_key(name: &str) -> String {
    format!("arena:room:{name}")
}

/// What the registrar reports of this process.
fn entry_of(
    fleet: &Fleet,
    rooms: &[RoomInfo],
    (capacity, max_rooms): (usize, usize),
    draining: bool,
) -> ServerEntry {
    ServerEntry {
        id: fleet.id.clone(),
        url: fleet.url.clone(),
        capacity,
        max_rooms,
        players: rooms.iter().map(|r| r.players).sum(),
        draining,
        updated_unix_ms: unix_ms(),
        rooms: rooms.iter().map(RoomEntry::of).collect(),
    }
}

/// Keeps this process registered (marked draining once a drain starts, so no matchmaker sends
/// anyone here) until the server shuts down (`draining` turns true), then removes it. Runs on
/// the actix system; each period asks the lobby for its rooms and writes them.
pub async fn keep_registered(
    fleet: Arc<Fleet>,
    lobby: Addr<Lobby>,
    capacity: (usize, usize),
    drain: Arc<DrainState>,
    mut draining: watch::Receiver<bool>,
) {
    let mut interval = tokio::time::interval(fleet.period());
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut rooms = Vec::new();
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            changed = draining.changed() => {
                if changed.is_err() || *draining.borrow() {
                    break;
                }
            }
        }
        rooms = lobby.send(ListRooms).await.unwrap_or_default();
        let drain_started = drain.draining.load(Ordering::Relaxed);
        let _ = fleet
            .register(&entry_of(&fleet, &rooms, capacity, drain_started))
            .await;
    }
    let rooms: Vec<RoomEntry> = rooms.iter().map(RoomEntry::of).collect();
    let _ = fleet.deregister(&rooms).await;
}
