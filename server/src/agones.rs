//! Running as an Agones GameServer (issue 12; cargo feature `agones`, `--agones`), through the
//! official SDK crate talking gRPC to the SDK server beside the process (localhost,
//! `AGONES_SDK_GRPC_PORT`, default 9357).
//!
//! What Agones is told, and why:
//! - **Ready** once the server listens: only then may Agones hand the process out.
//! - **Health** pings only while the rooms demonstrably tick: every [`PERIOD`] the lobby must
//!   list its rooms within [`LOBBY_DEADLINE`], and every room's tick counter must have moved
//!   within [`STALL`]. A wedged lobby, or one room whose thread is stuck, stops the pings, and
//!   Agones marks the GameServer Unhealthy and replaces it. A timer that pinged on its own would
//!   keep a wedged process alive for ever.
//! - **Allocated** while anyone plays: a Fleet scales down Ready GameServers only, so a process
//!   with players is never taken away from them. Once the last player leaves it goes back to
//!   **Ready** (the SDK's Ready returns an Allocated GameServer to the pool). A process that
//!   Agones allocated (a matchmaker's `GameServerAllocation`) and that has had no player yet is
//!   left Allocated: its players are on their way.
//! - Players and rooms as the annotations [`PLAYERS_ANNOTATION`] and [`ROOMS_ANNOTATION`],
//!   written when they change, for operators and allocators.
//! - **Shutdown** once a drain is over (SIGTERM, which is how Agones stops a GameServer, or
//!   `POST /api/admin/drain`), so Agones deletes the pod instead of waiting for it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use actix::Addr;
use agones::Sdk;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use crate::operations::config::Config;
use crate::rooms::lobby::Lobby;
use crate::rooms::messages::{ListRooms, RoomInfo};
use crate::server::DrainState;

/// How long start-up waits for the SDK server. The crate alone waits 30 s, silently: a process
/// started without its SDK server (or with the wrong port) should say so sooner.
pub const CONNECT_WAIT: Duration = Duration::from_secs(10);
/// How often the process looks at its rooms: one health ping per look while they tick. Agones'
/// default health check wants one every 5 s (`periodSeconds`) and gives up after 3 missed
/// (`failureThreshold`), so a few lost looks cost nothing.
pub const PERIOD: Duration = Duration::from_secs(1);
/// How long a room may go without a tick before the process counts as wedged: longer than the
/// slowest room's tick (1 Hz) plus a look, so that a healthy room never trips it.
pub const STALL: Duration = Duration::from_secs(3);
/// How long the lobby may take to list its rooms; one that takes longer is wedged.
pub const LOBBY_DEADLINE: Duration = Duration::from_secs(1);
/// The bound on each SDK call, so that a hung SDK server cannot stop the looks.
const CALL_DEADLINE: Duration = Duration::from_secs(2);

/// The GameServer annotation with the players seated in this process.
pub const PLAYERS_ANNOTATION: &str = "arena.dev/players";
/// The GameServer annotation with the rooms open in this process.
pub const ROOMS_ANNOTATION: &str = "arena.dev/rooms";

/// Why the process could not join Agones.
#[derive(Debug, thiserror::Error)]
pub enum AgonesError {
    /// Nothing answered the SDK's gRPC within [`CONNECT_WAIT`].
    #[error(
        "no Agones SDK server answered on localhost:{port} within {}s (set \
         AGONES_SDK_GRPC_PORT, or run without --agones)",
        wait.as_secs()
    )]
    Unreachable {
        /// The port tried.
        port: String,
        /// How long it was tried.
        wait: Duration,
    },
    /// The SDK server answered with an error.
    #[error("Agones SDK: {0}")]
    Sdk(#[from] agones::errors::Error),
    /// The SDK server took longer than [`CALL_DEADLINE`] to answer.
    #[error("Agones SDK: no answer within {}s", CALL_DEADLINE.as_secs())]
    Timeout,
}

/// This process as an Agones GameServer, connected but not yet Ready.
pub struct Agones {
    sdk: Sdk,
    /// The GameServer's name (also its pod's); empty when the SDK server gives none.
    pub name: String,
    /// Where players reach it: `ws://{status.address}:{first port}/ws`, once Agones has
    /// placed it on a node and given it a port; `None` before (or from a local SDK server).
    pub public_url: Option<String>,
}

/// One SDK call, bounded by [`CALL_DEADLINE`].
async fn call<T>(
    future: impl Future<Output = agones::errors::Result<T>>,
) -> Result<T, AgonesError> {
    match tokio::time::timeout(CALL_DEADLINE, future).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(AgonesError::Timeout),
    }
}

impl Agones {
    /// With `config.agones` set, connects to the SDK server (within [`CONNECT_WAIT`]) and, when
    /// `server_id` is empty, takes the GameServer's name for it; `None` without `agones`.
    pub async fn join(config: &mut Config) -> Result<Option<Self>, AgonesError> {
        if !config.agones {
            return Ok(None);
        }
        let agones = Self::connect(CONNECT_WAIT).await?;
        if config.server_id.is_empty() {
            match agones.server_id() {
                Some(id) => config.server_id = id.to_owned(),
                // The local SDK servers (`sdk-server --local`, dummy-agones) name no GameServer.
                None if agones.name.is_empty() => {}
                None => warn!(
                    name = %agones.name,
                    "the GameServer's name is no usable server id; a random one it is"
                ),
            }
        }
        if config.public_url.is_empty()
            && let Some(url) = &agones.public_url
        {
            config.public_url = url.clone();
        }
        info!(gameserver = %agones.name, public_url = ?agones.public_url, "joined Agones");
        Ok(Some(agones))
    }

    /// Connects to the SDK server on localhost (`AGONES_SDK_GRPC_PORT`, default 9357), waiting
    /// at most `wait` for it to answer, and reads the GameServer's name.
    pub async fn connect(wait: Duration) -> Result<Self, AgonesError> {
        let unreachable = || AgonesError::Unreachable {
            port: std::env::var("AGONES_SDK_GRPC_PORT").unwrap_or_else(|_| "9357".into()),
            wait,
        };
        // The crate polls GetGameServer for 30 s before it gives up; bound that.
        let mut sdk = match tokio::time::timeout(wait, Sdk::new(None, None)).await {
            Ok(Ok(sdk)) => sdk,
            Ok(Err(agones::errors::Error::TimedOut(_))) | Err(_) => return Err(unreachable()),
            Ok(Err(e)) => return Err(e.into()),
        };
        let gameserver = call(sdk.get_gameserver()).await?;
        let name = gameserver.object_meta.map(|m| m.name).unwrap_or_default();
        // The node's address and the host port Agones gave the container (`portPolicy:
        // Dynamic`): what the fleet directory must list, which no flag can know in advance.
        let public_url = gameserver.status.and_then(|status| {
            let port = status.ports.first().map_or(0, |p| p.port);
            (!status.address.is_empty() && port > 0)
                .then(|| format!("ws://{}:{port}/ws", status.address))
        });
        Ok(Self {
            sdk,
            name,
            public_url,
        })
    }

    /// The GameServer's name when it is a valid `server_id` (Kubernetes names are, up to 64
    /// characters).
    pub fn server_id(&self) -> Option<&str> {
        as_server_id(&self.name)
    }

    /// Tells Agones the process is Ready (the server must be listening) and keeps it informed
    /// from then on (see the module's documentation) until `stopping` turns true: the drain is
    /// over. Runs on the actix system, beside the lobby.
    pub fn start(
        self,
        lobby: Addr<Lobby>,
        drain: Arc<DrainState>,
        stopping: watch::Receiver<bool>,
    ) -> Running {
        let task = actix_rt::spawn(keep_informed(self.sdk.clone(), lobby, drain, stopping));
        Running {
            sdk: self.sdk,
            task,
        }
    }
}

/// `name` when it passes `server_id`'s validation (letters, digits, `.`, `_`, `-`; at most 64).
fn as_server_id(name: &str) -> Option<&str> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    valid.then_some(name)
}

/// The process as a GameServer that Agones was told is Ready.
pub struct Running {
    sdk: Sdk,
    task: JoinHandle<()>,
}

impl Running {
    /// Tells Agones the process is done (call once the drain is over): it deletes the
    /// GameServer. Waits for the last look to end first, so no Ready follows the Shutdown.
    pub async fn shutdown(mut self) {
        let _ = tokio::time::timeout(CALL_DEADLINE, &mut self.task).await;
        match call(self.sdk.shutdown()).await {
            Ok(()) => info!("told Agones: Shutdown"),
            Err(e) => error!(error = %e, "could not tell Agones Shutdown"),
        }
    }
}

/// Which rooms have ticked lately: the health check's memory between looks.
#[derive(Debug, Default)]
pub struct TickWatch {
    /// Each room's tick counter when last seen to move, and when that was.
    seen: HashMap<u64, (u64, Instant)>,
}

impl TickWatch {
    /// Notes each room's tick counter (`(room id, ticks)`) at `now` and returns a room that has
    /// not ticked within `stall`, if any. A room seen for the first time counts as ticking
    /// from `now`; rooms no longer listed are forgotten.
    pub fn stalled(
        &mut self,
        rooms: impl IntoIterator<Item = (u64, u64)>,
        now: Instant,
        stall: Duration,
    ) -> Option<u64> {
        let mut stalled = None;
        let mut seen = HashMap::with_capacity(self.seen.len());
        for (id, ticks) in rooms {
            let last = match self.seen.get(&id) {
                Some(&(before, at)) if before == ticks => {
                    if now.saturating_duration_since(at) > stall {
                        stalled.get_or_insert(id);
                    }
                    (before, at)
                }
                _ => (ticks, now),
            };
            seen.insert(id, last);
        }
        self.seen = seen;
        stalled
    }
}

/// What Agones was last told, to tell it only what changed.
#[derive(Debug, Default)]
struct Told {
    ready: bool,
    /// Allocated by this process because it has players (not by a matchmaker).
    allocated: bool,
    players: Option<usize>,
    rooms: Option<usize>,
    /// Whether the last look withheld the health ping, to log each outage once.
    withheld: bool,
    /// Whether the last SDK call failed, to log each SDK outage once, not every look.
    failing: bool,
}

impl Told {
    /// Whether an SDK call (`what`) went through; its failure is logged once per outage.
    fn went_through(&mut self, what: &str, result: Result<(), AgonesError>) -> bool {
        match result {
            Ok(()) => {
                if std::mem::replace(&mut self.failing, false) {
                    info!("the Agones SDK server answers again");
                }
                true
            }
            Err(e) => {
                if !std::mem::replace(&mut self.failing, true) {
                    error!(error = %e, call = what, "the Agones SDK server failed a call; trying again every look");
                }
                false
            }
        }
    }
}

/// The loop behind [`Agones::start`].
async fn keep_informed(
    mut sdk: Sdk,
    lobby: Addr<Lobby>,
    drain: Arc<DrainState>,
    mut stopping: watch::Receiver<bool>,
) {
    let mut told = Told::default();
    let mut health = health_stream(&sdk);
    let mut ticks = TickWatch::default();
    let mut interval = tokio::time::interval(PERIOD);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            changed = stopping.changed() => {
                if changed.is_err() || *stopping.borrow() {
                    break;
                }
            }
        }
        if !told.ready && told.went_through("Ready", call(sdk.ready()).await) {
            info!("told Agones: Ready");
            told.ready = true;
        }
        let rooms = match tokio::time::timeout(LOBBY_DEADLINE, lobby.send(ListRooms)).await {
            Ok(Ok(rooms)) => rooms,
            _ => {
                if !std::mem::replace(&mut told.withheld, true) {
                    warn!("the lobby did not list its rooms in time: no health pings");
                }
                continue;
            }
        };
        let stalled = ticks.stalled(rooms.iter().map(|r| (r.id, r.ticks)), Instant::now(), STALL);
        match stalled.and_then(|id| rooms.iter().find(|r| r.id == id)) {
            Some(room) => {
                if !std::mem::replace(&mut told.withheld, true) {
                    warn!(room = %room.name, ticks = room.ticks, "a room stopped ticking: no health pings");
                }
            }
            None => {
                if std::mem::replace(&mut told.withheld, false) {
                    info!("every room ticks again: health pings resume");
                }
                ping(&sdk, &mut health);
            }
        }
        tell_players(&mut sdk, &mut told, &rooms, &drain).await;
    }
}

/// A health stream: each send is one ping.
fn health_stream(sdk: &Sdk) -> mpsc::Sender<()> {
    sdk.health_check()
}

/// One health ping, never waiting: when the stream's queue is full it is stuck and one ping
/// more changes nothing; a closed stream (the SDK server ended it) is opened again.
fn ping(sdk: &Sdk, health: &mut mpsc::Sender<()>) {
    if let Err(mpsc::error::TrySendError::Closed(())) = health.try_send(()) {
        *health = health_stream(sdk);
        let _ = health.try_send(());
    }
}

/// Annotations when the counts changed, and the allocation state when players came or went.
async fn tell_players(sdk: &mut Sdk, told: &mut Told, rooms: &[RoomInfo], drain: &DrainState) {
    let players: usize = rooms.iter().map(|r| r.players).sum();
    if told.players != Some(players) {
        let result = call(sdk.set_annotation(PLAYERS_ANNOTATION, players.to_string())).await;
        if told.went_through("SetAnnotation", result) {
            told.players = Some(players);
        }
    }
    if told.rooms != Some(rooms.len()) {
        let result = call(sdk.set_annotation(ROOMS_ANNOTATION, rooms.len().to_string())).await;
        if told.went_through("SetAnnotation", result) {
            told.rooms = Some(rooms.len());
        }
    }
    if players > 0 && !told.allocated {
        if told.went_through("Allocate", call(sdk.allocate()).await) {
            info!(
                players,
                "told Agones: Allocated (players here: no scale-down)"
            );
            told.allocated = true;
        }
    } else if players == 0 && told.allocated && !drain.draining.load(Ordering::Relaxed) {
        // A draining process stays as it is: Ready would invite an allocation it must refuse.
        if told.went_through("Ready", call(sdk.ready()).await) {
            info!("told Agones: Ready again (the last player left)");
            told.allocated = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn rooms_that_tick_are_healthy_and_new_rooms_get_their_grace() {
        let mut watch = TickWatch::default();
        let t0 = Instant::now();
        assert_eq!(
            watch.stalled([], t0, 3 * S),
            None,
            "no rooms: nothing stalls"
        );
        assert_eq!(watch.stalled([(1, 10)], t0, 3 * S), None);
        assert_eq!(watch.stalled([(1, 40), (2, 0)], t0 + S, 3 * S), None);
        // Room 2 has not ticked since it was first seen, but only for 2 s of its 3.
        assert_eq!(watch.stalled([(1, 70), (2, 0)], t0 + 3 * S, 3 * S), None);
        assert_eq!(watch.stalled([(1, 100), (2, 1)], t0 + 5 * S, 3 * S), None);
    }

    #[test]
    fn a_room_whose_counter_stops_is_reported_once_its_stall_outlasts_the_bound() {
        let mut watch = TickWatch::default();
        let t0 = Instant::now();
        assert_eq!(watch.stalled([(1, 10), (2, 5)], t0, 3 * S), None);
        assert_eq!(watch.stalled([(1, 40), (2, 5)], t0 + 2 * S, 3 * S), None);
        assert_eq!(watch.stalled([(1, 70), (2, 5)], t0 + 3 * S, 3 * S), None);
        assert_eq!(
            watch.stalled([(1, 100), (2, 5)], t0 + 4 * S, 3 * S),
            Some(2)
        );
        // Stays stalled while stuck; healthy again as soon as it moves.
        assert_eq!(
            watch.stalled([(1, 130), (2, 5)], t0 + 5 * S, 3 * S),
            Some(2)
        );
        assert_eq!(watch.stalled([(1, 160), (2, 6)], t0 + 6 * S, 3 * S), None);
    }

    #[test]
    fn a_closed_room_is_forgotten_and_its_id_never_counts_again() {
        let mut watch = TickWatch::default();
        let t0 = Instant::now();
        assert_eq!(watch.stalled([(1, 10)], t0, 3 * S), None);
        assert_eq!(watch.stalled([], t0 + S, 3 * S), None);
        assert!(watch.seen.is_empty());
    }

    #[test]
    fn only_names_that_are_valid_server_ids_become_one() {
        assert_eq!(
            as_server_id("arena-fleet-x7k2p-4mz9q"),
            Some("arena-fleet-x7k2p-4mz9q")
        );
        assert_eq!(as_server_id(""), None);
        assert_eq!(as_server_id(&"a".repeat(65)), None);
        assert_eq!(as_server_id("a/b"), None);
    }
}
