//! The wire protocol: one [`ClientMsg`] or [`ServerMsg`] per WebSocket binary frame, encoded
//! with bincode 2 (standard config: little-endian, variable-length integers).
//!
//! Compatibility rule: `ClientMsg::Hello` stays variant 0 with `protocol_version` as its first
//! field in every version, so [`peek_hello_version`] can read a newer or older client's version
//! and refuse it with a clear [`ErrorCode::VersionMismatch`] instead of a garbled decode.
//!
//! Decoding untrusted bytes is bounded twice: the frame is rejected before decoding when it is
//! longer than the caller's limit, and bincode's own allocation limit caps what any length
//! prefix inside a message can make the decoder reserve.

use bincode::config::{Configuration, Limit, LittleEndian, Varint};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::game::{EntityId, Game, Replicate};

/// The protocol version this build speaks. Bump on any change to the messages below.
pub const PROTOCOL_VERSION: u16 = 5;
/// Longest player name, in characters.
pub const MAX_NAME_CHARS: usize = 24;
/// Longest room name, in characters.
pub const MAX_ROOM_NAME_CHARS: usize = 32;
/// Longest chat line, in characters.
pub const MAX_CHAT_CHARS: usize = 200;
/// Longest `Error` message text, in bytes.
pub const MAX_ERROR_TEXT: usize = 256;

/// Most bytes a single client message may make the decoder allocate. Client messages are
/// small; this is the backstop behind the server's configured frame limit.
pub const CLIENT_DECODE_LIMIT: usize = 64 * 1024;
/// Most bytes a single server message may make a client's decoder allocate. Snapshots of large
/// rooms are the biggest messages; 16 MiB is far above any room Arena allows.
pub const SERVER_DECODE_LIMIT: usize = 16 * 1024 * 1024;

type WireConfig<const N: usize> = Configuration<LittleEndian, Varint, Limit<N>>;

const fn wire<const N: usize>() -> WireConfig<N> {
    bincode::config::standard().with_limit::<N>()
}

/// A message from a client to the server; `I` is the game's input type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ClientMsg<I> {
    /// The first message on every connection: who the client is and where it wants to play.
    /// Must stay variant 0 with `protocol_version` first (see the module docs).
    Hello {
        /// Must equal the server's [`PROTOCOL_VERSION`].
        protocol_version: u16,
        /// Display name, 1..=[`MAX_NAME_CHARS`] characters.
        name: String,
        /// A room to join or create by name; `None` means quick-play.
        room: Option<String>,
        /// A join ticket, required when the server runs with `auth = "ticket"`.
        ticket: Option<String>,
        /// The `resume_token` of an earlier `Welcome`: take that player back within the grace
        /// period after a dropped connection, instead of joining as a new one.
        resume: Option<String>,
        /// How a room this `Hello` creates is set up (within the server's limits); ignored when
        /// the room exists. `None`: the server's defaults.
        options: Option<RoomOptions>,
    },
    /// The player's controls; send one per server tick (`tick_rate` a second), which is one or
    /// more per snapshot.
    Input(Input<I>),
    /// A chat line for the room, at most [`MAX_CHAT_CHARS`] characters.
    Chat {
        /// The text.
        text: String,
    },
    /// Round-trip probe; the server answers with [`ServerMsg::Pong`] carrying the same value.
    Ping {
        /// Opaque to the server: typically the client's clock in microseconds.
        client_time: u64,
    },
    /// Leave the room and close the connection cleanly.
    Leave,
    /// Steers the replay this connection watches (`/ws/GAME?replay=ID`); refused elsewhere.
    Playback(PlaybackControl),
}

/// How a watched replay plays: the whole state each time, so a lost or repeated message does
/// no harm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaybackControl {
    /// Hold the current tick.
    pub paused: bool,
    /// Speed in percent of real time, [`MIN_PLAYBACK_SPEED`]..=[`MAX_PLAYBACK_SPEED`].
    pub speed_percent: u16,
    /// Jump to this tick (0 = the start; past the end = the end), then play on from there.
    pub seek: Option<u64>,
}

/// Slowest replay speed, percent: a quarter of real time.
pub const MIN_PLAYBACK_SPEED: u16 = 25;
/// Fastest replay speed, percent: four times real time.
pub const MAX_PLAYBACK_SPEED: u16 = 400;

/// How a room is created: each `None` takes the server's default. The server refuses values
/// outside its limits with [`ErrorCode::BadOptions`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomOptions {
    /// One of the game's maps (`GET /api/games` lists them).
    pub map: Option<String>,
    /// Seats, at most the server's `max_players`.
    pub max_players: Option<u16>,
    /// Ticks per second, at most the server's `max_tick_rate`.
    pub tick_rate: Option<u16>,
    /// Snapshots per second, at most the tick rate (it need not divide it).
    pub snapshot_rate: Option<u16>,
}

/// `a <= b` for input sequence numbers, which may wrap (RFC 1982 style): what a predictor
/// compares `Snapshot::last_input_seq` with.
pub fn seq_le(a: u32, b: u32) -> bool {
    b.wrapping_sub(a) < 1 << 31
}

/// One input sample, for one server tick: the engine's sequencing around the game's controls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Input<I> {
    /// Increases by one per input; snapshots echo the last applied one. The server applies at
    /// most one input per tick, in this order, and repeats the last one when none arrived.
    pub seq: u32,
    /// The newest snapshot tick the client holds (`Replica::ack`), 0 for none: the server
    /// encodes the next snapshot as a delta against it.
    pub ack: u64,
    /// How far behind snapshot `ack` the client drew the others when it chose these controls,
    /// in 1/64 ticks (its interpolation delay; 0 = it drew `ack` as it is). With `ack` it says
    /// which moment the player was looking at, so the server can judge a shot against it
    /// ([`crate::game::Rewind::claimed`]).
    pub behind: u16,
    /// The game's controls for this tick.
    pub controls: I,
}

/// A message from the server to a client: `S` is the game's settings, `E` its entity and `V`
/// its event type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound(
    serialize = "S: Serialize, E: Replicate, V: Serialize",
    deserialize = "S: serde::de::DeserializeOwned, E: Replicate, V: serde::de::DeserializeOwned"
))]
pub enum ServerMsg<S, E: Replicate, V> {
    /// The answer to a successful `Hello`.
    Welcome {
        /// The client's own player entity.
        player_id: EntityId,
        /// The room joined.
        room: String,
        /// Simulation ticks per second: send one `Input` per tick.
        tick_rate: u16,
        /// Snapshots per second, at most `tick_rate` ([`crate::schedule`]).
        snapshot_rate: u16,
        /// Width and height of the box around the player whose entities a snapshot carries;
        /// `None` = the whole map.
        view: Option<(f32, f32)>,
        /// The game's settings (map, tuning), so the client draws and predicts with the
        /// server's numbers.
        settings: S,
        /// Who is already in the room, with names (snapshots carry ids only).
        players: Vec<(EntityId, String)>,
        /// Present this in `Hello::resume` to get this player back after a dropped connection.
        /// Good for one resume: the `Welcome` of a resume carries a new one.
        resume_token: String,
        /// The newest input sequence number the room has applied for this player: 0 on a new
        /// join; on a resume, send inputs numbered above it (the server drops any others).
        last_input_seq: u32,
    },
    /// The world after a tick, with the events since the previous snapshot.
    Snapshot(Snapshot<E, V>),
    /// Answer to a spectator's connection (`GET /ws?spectate=ROOM`, no `Hello`): what it
    /// watches. Complete snapshots of the whole room and all its events follow.
    Spectating {
        /// The room.
        room: String,
        /// Simulation ticks per second.
        tick_rate: u16,
        /// Snapshots per second.
        snapshot_rate: u16,
        /// Tick `T` was due at `origin_unix_ms + T * 1000 / tick_rate` (Unix time, ms): lets an
        /// observer on a synchronised clock measure how old each snapshot is.
        origin_unix_ms: u64,
        /// The game's settings.
        settings: S,
        /// Who is in the room, with names.
        players: Vec<(EntityId, String)>,
    },
    /// Answer to [`ClientMsg::Ping`].
    Pong {
        /// The value the client sent.
        client_time: u64,
        /// The room's current tick, or 0 outside a room.
        server_tick: u64,
    },
    /// A refusal or failure; usually followed by a close frame.
    Error {
        /// Machine-readable reason.
        code: ErrorCode,
        /// Human-readable detail, at most [`MAX_ERROR_TEXT`] bytes.
        message: String,
    },
}

/// What happened in a room, as snapshots carry it: the engine's own events (who came, who
/// left, what was said) around the game's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum RoomEvent<V> {
    /// A player entered the room.
    Joined {
        /// The new player's entity.
        player: EntityId,
        /// The name they will be shown with.
        name: String,
    },
    /// A player left the room (on purpose, by disconnecting past the resume grace period).
    Left {
        /// The departed player's entity.
        player: EntityId,
    },
    /// A chat line, already length-limited and stripped of control characters by the server.
    Chat {
        /// The speaker.
        from: EntityId,
        /// The text.
        text: String,
    },
    /// The game's own event.
    Game(V),
}

/// The entities a client can see after a tick, as a change to a view it already holds
/// (`baseline`) or complete (`baseline == 0`). Apply it with [`crate::sync::Replica`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound(
    serialize = "E: Replicate, V: Serialize",
    deserialize = "E: Replicate, V: serde::de::DeserializeOwned"
))]
pub struct Snapshot<E: Replicate, V> {
    /// The tick this state is the result of.
    pub tick: u64,
    /// The tick of the view this is a delta against (one the client acknowledged); 0 =
    /// complete, `created` lists every visible entity.
    pub baseline: u64,
    /// The newest of this client's inputs applied at or before `tick` (0: none yet).
    pub last_input_seq: u32,
    /// This client's inputs waiting in the server's queue after `tick` (at most 255). The room
    /// applies one per tick, so each waiting input is a tick of latency; it stays above 0 when
    /// inputs arrived in a burst, until the client sends that many fewer.
    pub queued_inputs: u8,
    /// Entities new to the view, in full, by ascending id.
    pub created: Vec<E>,
    /// Changed fields of entities in both views, by ascending id.
    pub changed: Vec<E::Delta>,
    /// Entities that left the view (gone from the world or out of range), ascending.
    pub removed: Vec<EntityId>,
    /// What happened since the previous snapshot, `(tick, event)`, oldest first: every join,
    /// leave and chat line in the room, and the game's events this client should hear of
    /// ([`crate::game::Game::event_relevant`]). Events ride in the snapshot rather than in
    /// messages of their own because a message's fixed cost (a frame, a wake-up, a syscall)
    /// dwarfs an event's few bytes in big rooms.
    pub events: Vec<(u64, RoomEvent<V>)>,
}

impl<E: Replicate, V> Default for Snapshot<E, V> {
    fn default() -> Self {
        Self {
            tick: 0,
            baseline: 0,
            last_input_seq: 0,
            queued_inputs: 0,
            created: Vec::new(),
            changed: Vec::new(),
            removed: Vec::new(),
            events: Vec::new(),
        }
    }
}

/// Why the server refused or ended something.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorCode {
    /// The client speaks another protocol version.
    VersionMismatch,
    /// A frame did not decode as a message of this protocol.
    BadMessage,
    /// A message arrived that is not allowed now (e.g. `Input` before `Hello`, second `Hello`).
    UnexpectedMessage,
    /// The name is empty, too long or not printable.
    BadName,
    /// The room name is too long or uses characters outside `[A-Za-z0-9_-]`.
    BadRoomName,
    /// The room has `max_players` players.
    RoomFull,
    /// The server has `max_rooms` rooms and cannot open another.
    ServerFull,
    /// No `Hello` arrived in time.
    HelloTimeout,
    /// The client sent messages faster than the server allows, for too long.
    RateLimited,
    /// The server is shutting down.
    ShuttingDown,
    /// The room failed; the connection cannot continue.
    Internal,
    /// The join ticket is missing, malformed, forged, expired or already used.
    BadTicket,
    /// The resume token names no player that can be resumed (unknown, or the grace period ended).
    ResumeFailed,
    /// There is no room of that name to spectate.
    NoSuchRoom,
    /// The room options are outside the server's limits or name an unknown map.
    BadOptions,
    /// The named room plays another game than the one this connection speaks.
    WrongGame,
}

/// Why bytes did not decode into a message.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The frame is longer than the receiver accepts.
    #[error("message of {len} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// Bytes received.
        len: usize,
        /// The receiver's limit.
        max: usize,
    },
    /// Zero bytes.
    #[error("empty message")]
    Empty,
    /// The message decoded but bytes were left over: a framing or version error.
    #[error("{extra} trailing bytes after the message")]
    TrailingBytes {
        /// How many.
        extra: usize,
    },
    /// The bytes are not a message: truncated, unknown variant, bad UTF-8, over the allocation
    /// limit, and so on.
    #[error("malformed message: {0}")]
    Malformed(#[from] bincode::error::DecodeError),
    /// A text frame on `arena.json.v1` that is not a message.
    #[error("malformed JSON message: {0}")]
    Json(String),
}

/// Why a message could not be encoded. Arena's messages contain nothing bincode can refuse,
/// so this signals a bug, not bad input.
pub type EncodeError = bincode::error::EncodeError;

/// Appends the encoding of `msg` to `out` (reusing its allocation).
pub fn encode_into<M: Serialize>(msg: &M, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    bincode::serde::encode_into_std_write(msg, out, bincode::config::standard()).map(|_| ())
}

/// The encoding of `msg` in a new buffer.
pub fn encode<M: Serialize>(msg: &M) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    encode_into(msg, &mut out)?;
    Ok(out)
}

/// A snapshot's parts, borrowed: serialises to the same bytes as [`ServerMsg::Snapshot`] without
/// owning the entities, so a session encodes the lists it reuses every tick without copying them
/// into a message.
#[derive(Debug)]
pub struct SnapshotParts<'a, E: Replicate, V> {
    /// See [`Snapshot::tick`].
    pub tick: u64,
    /// See [`Snapshot::baseline`].
    pub baseline: u64,
    /// See [`Snapshot::last_input_seq`].
    pub last_input_seq: u32,
    /// See [`Snapshot::queued_inputs`].
    pub queued_inputs: u8,
    /// See [`Snapshot::created`].
    pub created: &'a [E],
    /// See [`Snapshot::changed`].
    pub changed: &'a [E::Delta],
    /// See [`Snapshot::removed`].
    pub removed: &'a [EntityId],
    /// See [`Snapshot::events`].
    pub events: &'a [&'a (u64, RoomEvent<V>)],
}

impl<E: Replicate, V> Clone for SnapshotParts<'_, E, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E: Replicate, V> Copy for SnapshotParts<'_, E, V> {}

impl<'a, E: Replicate, V: Serialize> SnapshotParts<'a, E, V> {
    /// A value that serialises as [`Snapshot`] does (for encoders other than bincode).
    pub fn as_serializable(&self) -> impl Serialize + 'a {
        SnapshotRef {
            tick: self.tick,
            baseline: self.baseline,
            last_input_seq: self.last_input_seq,
            queued_inputs: self.queued_inputs,
            created: self.created,
            changed: self.changed,
            removed: self.removed,
            events: self.events,
        }
    }
}

#[derive(Serialize)]
#[serde(bound(serialize = "E: Replicate, V: Serialize"))]
struct SnapshotRef<'a, E: Replicate, V> {
    tick: u64,
    baseline: u64,
    last_input_seq: u32,
    queued_inputs: u8,
    created: &'a [E],
    changed: &'a [E::Delta],
    removed: &'a [EntityId],
    events: &'a [&'a (u64, RoomEvent<V>)],
}

/// Appends the encoding of `ServerMsg::Snapshot` with these parts to `out`; identical to
/// encoding the owned message (a unit test holds the two together).
pub fn encode_snapshot_into<E: Replicate, V: Serialize>(
    parts: SnapshotParts<'_, E, V>,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    // bincode writes an enum variant as its index (varint u32); Snapshot is variant 1.
    encode_into(&1u32, out)?;
    encode_into(
        &SnapshotRef {
            tick: parts.tick,
            baseline: parts.baseline,
            last_input_seq: parts.last_input_seq,
            queued_inputs: parts.queued_inputs,
            created: parts.created,
            changed: parts.changed,
            removed: parts.removed,
            events: parts.events,
        },
        out,
    )
}

/// Refuses an empty frame or one over `max_len`, before any decoder sees it.
pub(crate) fn check_frame_len(bytes: &[u8], max_len: usize) -> Result<(), DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    if bytes.len() > max_len {
        return Err(DecodeError::TooLarge {
            len: bytes.len(),
            max: max_len,
        });
    }
    Ok(())
}

fn decode_bounded<T: DeserializeOwned, const N: usize>(
    bytes: &[u8],
    max_len: usize,
) -> Result<T, DecodeError> {
    check_frame_len(bytes, max_len)?;
    let (msg, used) = bincode::serde::decode_from_slice(bytes, wire::<N>())?;
    match bytes.len() - used {
        0 => Ok(msg),
        extra => Err(DecodeError::TrailingBytes { extra }),
    }
}

/// Decodes one client message from a frame of at most `max_len` bytes.
pub fn decode_client<I: DeserializeOwned>(
    bytes: &[u8],
    max_len: usize,
) -> Result<ClientMsg<I>, DecodeError> {
    decode_bounded::<ClientMsg<I>, CLIENT_DECODE_LIMIT>(bytes, max_len)
}

/// Decodes one server message from a frame of at most `max_len` bytes.
pub fn decode_server<S: DeserializeOwned, E: Replicate, V: DeserializeOwned>(
    bytes: &[u8],
    max_len: usize,
) -> Result<ServerMsg<S, E, V>, DecodeError> {
    decode_bounded::<ServerMsg<S, E, V>, SERVER_DECODE_LIMIT>(bytes, max_len)
}

/// The protocol version of a `Hello` frame from any protocol version, read without decoding the
/// rest; `None` when the frame is not a `Hello`.
pub fn peek_hello_version(bytes: &[u8]) -> Option<u16> {
    let ((tag, version), _): ((u32, u16), usize) =
        bincode::serde::decode_from_slice(bytes, wire::<16>()).ok()?;
    (tag == 0).then_some(version)
}

/// A game's client messages.
pub type ClientMsgOf<G> = ClientMsg<<G as Game>::Input>;
/// A game's server messages.
pub type ServerMsgOf<G> = ServerMsg<<G as Game>::Settings, <G as Game>::Entity, <G as Game>::Event>;
/// A game's snapshots.
pub type SnapshotOf<G> = Snapshot<<G as Game>::Entity, <G as Game>::Event>;
/// A game's room events.
pub type RoomEventOf<G> = RoomEvent<<G as Game>::Event>;
/// A game's input message.
pub type InputOf<G> = Input<<G as Game>::Input>;
