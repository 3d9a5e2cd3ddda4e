//! Every message that crosses a boundary of the rooms layer, and the data they carry, in one
//! module that both sides import: sessions → lobby (join, resume, spectate, find, list),
//! lobby → room (seat, resume, watch, close), sessions → room (detach, leave, chat, stop
//! watching), room → lobby (a player left, the room stopped) and room → session (a snapshot is
//! ready, the room let go of the connection). Arrows run one way by import: a session names no
//! room type (it holds a [`RoomHandle`] of recipients), a room names no lobby or session type
//! (it holds the [`LobbyLink`] and [`SessionLink`] recipients it was handed).

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex};

use actix::prelude::*;
use arena_shared::RoomOptions;
use arena_shared::game::{EntityId, Game, Replicate};
use arena_shared::interest::TickView;
use serde::Serialize;

use crate::close::Farewell;
use crate::rooms::inputs::InputQueue;
use crate::rooms::slot::SnapshotSlot;
use crate::socket::ConnectionSocket;

// Shared data: a room's identity and counters, and how a room reaches one session.

/// A room's identity inside the lobby; names can be reused after a room is disposed, ids not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoomId(pub u64);

/// A room's newest published state, whatever its game: what `GET /api/rooms/{name}/state`
/// serves.
pub trait PublishedState: Send + Sync {
    /// The tick it is the result of.
    fn tick(&self) -> u64;
    /// The state as a JSON document: `header`'s fields plus every entity, by id, in the JSON
    /// subprotocol's form.
    fn to_json(&self, header: StateHeader<'_>) -> serde_json::Result<Vec<u8>>;
}

/// What a state document says about its room.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct StateHeader<'a> {
    /// The room.
    pub room: &'a str,
    /// Its game.
    pub game: &'a str,
    /// The tick this state is the result of (also the `ETag`).
    pub tick: u64,
    /// Ticks per second.
    pub tick_rate: u16,
    /// Tick `T` was due at `origin_unix_ms + T * 1000 / tick_rate`.
    pub origin_unix_ms: u64,
}

impl<E: Replicate> PublishedState for TickView<E> {
    fn tick(&self) -> u64 {
        TickView::tick(self)
    }

    fn to_json(&self, header: StateHeader<'_>) -> serde_json::Result<Vec<u8>> {
        #[derive(Serialize)]
        struct Doc<'a, E> {
            #[serde(flatten)]
            header: StateHeader<'a>,
            entities: &'a [E],
        }
        serde_json::to_vec(&Doc {
            header,
            entities: self.entities(),
        })
    }
}

/// Counters a room updates and the lobby reads for `/api/rooms` without messaging the room.
#[derive(Default)]
pub struct RoomStats {
    /// The newest snapshot's entities, for `GET /api/rooms/{name}/state`.
    pub latest: Mutex<Option<Arc<dyn PublishedState>>>,
    /// That state's JSON, built by the first request for a tick and shared by the rest.
    pub latest_json: Mutex<Option<(u64, bytes::Bytes)>>,
    /// Spectators watching now.
    pub spectators: AtomicUsize,
    /// Tick `T` was due at `origin_unix_ms + T * 1000 / tick_rate`.
    pub origin_unix_ms: AtomicU64,
    /// Players seated now (detached ones included).
    pub players: AtomicUsize,
    /// Seated players whose connection is lost, waiting to be resumed.
    pub detached: AtomicUsize,
    /// Ticks run.
    pub ticks: AtomicU64,
    /// Ticks that started more than half a period late, plus ticks skipped after a stall.
    pub overruns: AtomicU64,
    /// Snapshots replaced unsent because a session had not taken the previous one.
    pub skipped_snapshots: AtomicU64,
    /// Inputs dropped, for any reason (`arena_dropped_inputs_total` has them by reason).
    pub dropped_inputs: AtomicU64,
}

/// The handles a room uses to reach one player's session.
pub struct SessionLink<G: Game> {
    /// The connection (its session's id, unique in the process). Everything a session says
    /// about a seat names it, and the room ignores what comes from a connection that no longer
    /// holds the seat: a frozen session's late detach must not unseat the connection that
    /// resumed it (shared/ACTIX-FACTS.md).
    pub id: u64,
    /// The connection's inputs, drained one per tick.
    pub inputs: Arc<InputQueue<G::Input>>,
    /// Holds the session's next snapshot.
    pub slot: Arc<SnapshotSlot<G>>,
    /// Wakes the session when its slot is filled.
    pub snapshots: Recipient<SnapshotReady>,
    /// Where the room says it is dropping the player.
    pub closed: Recipient<RoomClosed>,
    /// The connection's socket, to shut down a session that froze (stopped being polled).
    pub socket: Option<ConnectionSocket>,
}

impl<G: Game> Clone for SessionLink<G> {
    fn clone(&self) -> Self {
        Self {
            id: self.id,
            inputs: self.inputs.clone(),
            slot: self.slot.clone(),
            snapshots: self.snapshots.clone(),
            closed: self.closed.clone(),
            socket: self.socket.clone(),
        }
    }
}

/// How a room reaches its lobby, without naming the lobby's type.
#[derive(Clone)]
pub struct LobbyLink {
    /// A seated player left (the lobby frees the seat and may dispose of the room).
    pub left: Recipient<PlayerLeft>,
    /// The room stopped (closed, shut down or failed).
    pub stopped: Recipient<RoomStopped>,
}

// Room → session (through the recipients of a SessionLink).

/// The room put a snapshot in this session's empty [`SnapshotSlot`]. Only the first snapshot
/// into an empty slot sends one, so a session that is not running has at most one of these
/// waiting, however long it stalls.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SnapshotReady;

/// The room drops this player (room closing, or the session fell too far behind).
#[derive(Message)]
#[rtype(result = "()")]
pub struct RoomClosed {
    /// What to tell the client.
    pub farewell: Farewell,
}

// Sessions and the HTTP API → lobby, and room → lobby.

/// A session has a valid `Hello` and wants a seat in a room of its game.
pub struct JoinRequest<G: Game> {
    /// Validated player name.
    pub name: String,
    /// Validated room name, or `None` for quick-play.
    pub room: Option<String>,
    /// How a room this join creates is set up (checked by the lobby).
    pub options: Option<RoomOptions>,
    /// How the room reaches the session.
    pub link: SessionLink<G>,
    /// The session's thread, where a new room is started.
    pub arbiter: ArbiterHandle,
    /// The client's address, charged for a named room this join creates.
    pub creator: Option<IpAddr>,
    /// The seat a matchmaker reserved for this join (its ticket's nonce), if any.
    pub reservation: Option<u64>,
}

impl<G: Game> Message for JoinRequest<G> {
    type Result = Result<Admission<G>, Farewell>;
}

/// How a session reaches the room it joined or watches: one recipient per message it may send,
/// so the session never names the room's type.
#[derive(Clone, Debug)]
pub struct RoomHandle {
    /// Where a lost connection detaches its player.
    pub detached: Recipient<PlayerDetached>,
    /// Where a player leaves.
    pub leaving: Recipient<PlayerLeaving>,
    /// Where chat goes.
    pub chat: Recipient<ChatReceived>,
    /// Where a spectator stops watching.
    pub spectator_leaving: Recipient<SpectatorLeaving>,
    /// Where a replay's viewer steers it; `None` for a live room.
    pub playback: Option<Recipient<crate::rooms::playback::Steer>>,
}

/// A granted join.
pub struct Admission<G: Game> {
    /// The room's recipients.
    pub room: RoomHandle,
    /// The seat.
    pub seated: Seated<G>,
}

/// A session presents a resume token from an earlier `Welcome`.
pub struct ResumeRequest<G: Game> {
    /// The token.
    pub token: String,
    /// How the room reaches the new session.
    pub link: SessionLink<G>,
}

impl<G: Game> Message for ResumeRequest<G> {
    type Result = Result<Admission<G>, Farewell>;
}

/// A spectator wants to watch the room of this name.
pub struct SpectateRequest<G: Game> {
    /// The room's name (already validated).
    pub room: String,
    /// How the room reaches the session.
    pub link: SessionLink<G>,
}

impl<G: Game> Message for SpectateRequest<G> {
    type Result = Result<SpectatorAdmission<G>, Farewell>;
}

/// A session asks to watch a replay (`/ws/GAME?replay=ID`), already read from disk.
pub struct WatchReplay<G: Game> {
    /// The replay's id.
    pub id: String,
    /// The replay file's bytes.
    pub bytes: Arc<Vec<u8>>,
    /// How the playback reaches the session.
    pub link: SessionLink<G>,
    /// The session's thread: the playback runs beside it.
    pub arbiter: ArbiterHandle,
}

impl<G: Game> Message for WatchReplay<G> {
    type Result = Result<SpectatorAdmission<G>, Farewell>;
}

/// A granted spectator seat.
pub struct SpectatorAdmission<G: Game> {
    /// The room watched.
    pub room: RoomHandle,
    /// What the room said.
    pub watching: Watching<G>,
}

/// The name, game, tick rate and shared counters of the room of this name, if open.
#[derive(Message)]
#[rtype(result = "Option<FoundRoom>")]
pub struct FindRoom {
    /// The room's name.
    pub name: String,
}

/// A room [`FindRoom`] found.
pub struct FoundRoom {
    /// Its name.
    pub name: String,
    /// Its game.
    pub game: &'static str,
    /// Its ticks per second.
    pub tick_rate: u16,
    /// Its counters and latest state.
    pub stats: Arc<RoomStats>,
}

/// Asks for the room list.
#[derive(Message)]
#[rtype(result = "Vec<RoomInfo>")]
pub struct ListRooms;

/// One room as `GET /api/rooms` shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RoomInfo {
    /// The room's id in this process (its replay's file name has it).
    pub id: u64,
    /// Room name.
    pub name: String,
    /// The game it plays.
    pub game: &'static str,
    /// The map it plays on.
    pub map: String,
    /// Whether quick-play places players here (false for rooms created by name).
    pub public: bool,
    /// Players seated (joins in flight not counted).
    pub players: usize,
    /// Of those, players whose connection dropped, kept for a resume.
    pub detached_players: usize,
    /// Capacity.
    pub max_players: usize,
    /// Ticks per second.
    pub tick_rate: u16,
    /// Snapshots per second.
    pub snapshot_rate: u16,
    /// Seconds since the room opened.
    pub uptime_s: f64,
    /// Ticks run.
    pub ticks: u64,
    /// Late or skipped ticks.
    pub tick_overruns: u64,
    /// Snapshots a slow session could not take.
    pub skipped_snapshots: u64,
    /// Inputs dropped from full queues.
    pub dropped_inputs: u64,
    /// Spectators watching.
    pub spectators: usize,
    /// Seats held for matchmade joins not yet arrived (not in `players`).
    pub reserved: usize,
}

/// Holds a seat for a join that a matchmaker is sending (`POST /api/matchmake`): in `room`, or
/// quick-play's choice when `None`, creating the room when needed. The seat is counted as taken
/// until the join bearing `nonce` arrives, or released after `hold`.
pub struct ReserveSeat<G: Game> {
    /// Validated room name, or `None` for quick-play.
    pub room: Option<String>,
    /// The ticket nonce that will claim the seat.
    pub nonce: u64,
    /// How long the seat is held.
    pub hold: std::time::Duration,
    /// Where a room this creates runs (the caller's thread).
    pub arbiter: ArbiterHandle,
    /// The client's address, charged for a named room this creates.
    pub creator: Option<IpAddr>,
    /// Whether quick-play may open a room for it; `false` = only a public room with space.
    pub may_open: bool,
    /// The game whose room it is.
    pub game: std::marker::PhantomData<fn() -> G>,
}

impl<G: Game> Message for ReserveSeat<G> {
    type Result = Result<String, Farewell>;
}

/// The server drains: the lobby takes no new rooms or seats (resumes and spectators still come
/// in) while running rooms play on.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Drain;

/// The server is shutting down: refuse joins and close every room after its current tick.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown;

/// A seated player left a room.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PlayerLeft {
    /// Which room.
    pub room: RoomId,
}

/// A room actor stopped (disposed, shut down, or failed).
#[derive(Message)]
#[rtype(result = "()")]
pub struct RoomStopped {
    /// Which room.
    pub room: RoomId,
}

// Lobby → room, and sessions → room (through a RoomHandle).

/// A session asks to seat its player (sent by the lobby, which has reserved the seat).
pub struct PlayerJoining<G: Game> {
    /// Validated display name.
    pub name: String,
    /// How to reach the session.
    pub link: SessionLink<G>,
}

impl<G: Game> Message for PlayerJoining<G> {
    type Result = Seated<G>;
}

/// The answer to [`PlayerJoining`]: everything the `Welcome` needs.
pub struct Seated<G: Game> {
    /// The player's entity.
    pub player: EntityId,
    /// The room's name.
    pub room: String,
    /// Ticks per second.
    pub tick_rate: u16,
    /// Snapshots per second.
    pub snapshot_rate: u16,
    /// The view box, `None` = whole map.
    pub view: Option<(f32, f32)>,
    /// The game's settings, for drawing and prediction.
    pub settings: Arc<G::Settings>,
    /// Everyone in the room, the new player included.
    pub roster: Vec<(EntityId, String)>,
    /// The token that resumes this player after a dropped connection.
    pub resume_token: String,
    /// The newest input the room applied for this player (0 for a new one): a resumed client
    /// continues its numbering above it.
    pub last_input_seq: u32,
    /// The room's counters (the session counts the inputs it drops there).
    pub stats: Arc<RoomStats>,
}

/// A player with a resume token wants its seat back.
pub struct PlayerResuming<G: Game> {
    /// The player to resume.
    pub player: EntityId,
    /// The token's secret.
    pub secret: String,
    /// The new session.
    pub link: SessionLink<G>,
}

impl<G: Game> Message for PlayerResuming<G> {
    type Result = Result<Seated<G>, Farewell>;
}

/// A spectator's session asks to watch this room.
pub struct SpectatorJoining<G: Game> {
    /// How to reach the spectator's session.
    pub link: SessionLink<G>,
}

impl<G: Game> Message for SpectatorJoining<G> {
    type Result = Result<Watching<G>, Farewell>;
}

/// A granted spectator seat.
pub struct Watching<G: Game> {
    /// The spectator's number in this room (to leave with).
    pub id: u64,
    /// The room's name.
    pub room: String,
    /// Ticks per second.
    pub tick_rate: u16,
    /// Snapshots per second.
    pub snapshot_rate: u16,
    /// Tick `T` was due at `origin_unix_ms + T * 1000 / tick_rate`.
    pub origin_unix_ms: u64,
    /// The game's settings.
    pub settings: Arc<G::Settings>,
    /// Everyone in the room.
    pub roster: Vec<(EntityId, String)>,
}

/// The lobby closes the room: it is empty, or the server is shutting down.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CloseRoom {
    /// What seated players are told.
    pub farewell: Farewell,
}

/// A player's connection ended without `Leave`: keep the seat for the resume grace period.
#[derive(Message)]
#[rtype(result = "()")]
pub struct PlayerDetached {
    /// Who.
    pub player: EntityId,
    /// The connection that ended ([`SessionLink::id`]); ignored unless it holds the seat.
    pub link: u64,
}

/// A player's session is ending (Leave, close, error).
#[derive(Message)]
#[rtype(result = "()")]
pub struct PlayerLeaving {
    /// Who.
    pub player: EntityId,
    /// The connection leaving ([`SessionLink::id`]); ignored unless it holds the seat.
    pub link: u64,
}

/// A player said something; it is broadcast with the next tick's events.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ChatReceived {
    /// The speaker.
    pub player: EntityId,
    /// The speaker's connection ([`SessionLink::id`]); ignored unless it holds the seat.
    pub link: u64,
    /// Already sanitised text.
    pub text: String,
}

/// A spectator's session ended.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SpectatorLeaving {
    /// The number [`Watching`] gave it.
    pub id: u64,
}
