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
use glam::Vec2;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::event::GameEvent;
use crate::map::Map;
use crate::rules::Rules;
use crate::snapshot::Entity;
use crate::sync::EntityDelta;
use crate::world::{EntityId, PlayerInput};

/// The protocol version this build speaks. Bump on any change to the messages below.
pub const PROTOCOL_VERSION: u16 = 3;
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

/// A message from a client to the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ClientMsg {
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
    },
    /// The player's controls; send one per server tick (`tick_rate` a second), which is one or
    /// more per snapshot.
    Input(Input),
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
}

/// One input sample, for one server tick.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Input {
    /// Increases by one per input; snapshots echo the last applied one. The server applies at
    /// most one input per tick, in this order, and repeats the last one when none arrived.
    pub seq: u32,
    /// The newest snapshot tick the client holds (`Replica::ack`), 0 for none: the server
    /// encodes the next snapshot as a delta against it.
    pub ack: u64,
    /// Desired direction of travel (length <= 1).
    pub move_dir: Vec2,
    /// Aim direction (any length; zero keeps the previous aim).
    pub aim: Vec2,
    /// Trigger held.
    pub fire: bool,
}

impl Input {
    /// The simulation's view of this input.
    pub fn player_input(&self) -> PlayerInput {
        PlayerInput {
            move_dir: self.move_dir,
            aim: self.aim,
            fire: self.fire,
        }
    }
}

/// A message from the server to a client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ServerMsg {
    /// The answer to a successful `Hello`.
    Welcome {
        /// The client's own player entity.
        player_id: EntityId,
        /// The room joined.
        room: String,
        /// Simulation ticks per second: send one `Input` per tick.
        tick_rate: u16,
        /// Snapshots per second (a divisor of `tick_rate`).
        snapshot_rate: u16,
        /// Width and height of the box around the player whose entities a snapshot carries;
        /// `None` = the whole map.
        view: Option<(f32, f32)>,
        /// The game's tuning, so the client predicts with the server's numbers.
        rules: Rules,
        /// The map, so the client can draw and predict.
        map: Map,
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
    Snapshot(Snapshot),
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
        /// The map.
        map: Map,
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

/// The entities a client can see after a tick, as a change to a view it already holds
/// (`baseline`) or complete (`baseline == 0`). Apply it with [`crate::sync::Replica`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
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
    pub created: Vec<Entity>,
    /// Changed fields of entities in both views, by ascending id.
    pub changed: Vec<EntityDelta>,
    /// Entities that left the view (gone from the world or out of range), ascending.
    pub removed: Vec<EntityId>,
    /// What happened since the previous snapshot, `(tick, event)`, oldest first: every join,
    /// leave, kill and chat line in the room, and the hits and respawns this client can see.
    /// Events ride in the snapshot rather than in messages of their own because a message's
    /// fixed cost (a frame, a wake-up, a syscall) dwarfs an event's few bytes in big rooms.
    pub events: Vec<(u64, GameEvent)>,
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
#[derive(Clone, Copy, Debug)]
pub struct SnapshotParts<'a> {
    /// See [`Snapshot::tick`].
    pub tick: u64,
    /// See [`Snapshot::baseline`].
    pub baseline: u64,
    /// See [`Snapshot::last_input_seq`].
    pub last_input_seq: u32,
    /// See [`Snapshot::queued_inputs`].
    pub queued_inputs: u8,
    /// See [`Snapshot::created`].
    pub created: &'a [Entity],
    /// See [`Snapshot::changed`].
    pub changed: &'a [EntityDelta],
    /// See [`Snapshot::removed`].
    pub removed: &'a [EntityId],
    /// See [`Snapshot::events`].
    pub events: &'a [&'a (u64, GameEvent)],
}

impl<'a> SnapshotParts<'a> {
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
struct SnapshotRef<'a> {
    tick: u64,
    baseline: u64,
    last_input_seq: u32,
    queued_inputs: u8,
    created: &'a [Entity],
    changed: &'a [EntityDelta],
    removed: &'a [EntityId],
    events: &'a [&'a (u64, GameEvent)],
}

/// Appends the encoding of `ServerMsg::Snapshot` with these parts to `out`; identical to
/// encoding the owned message (a unit test holds the two together).
pub fn encode_snapshot_into(
    parts: SnapshotParts<'_>,
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
pub fn decode_client(bytes: &[u8], max_len: usize) -> Result<ClientMsg, DecodeError> {
    decode_bounded::<ClientMsg, CLIENT_DECODE_LIMIT>(bytes, max_len)
}

/// Decodes one server message from a frame of at most `max_len` bytes.
pub fn decode_server(bytes: &[u8], max_len: usize) -> Result<ServerMsg, DecodeError> {
    decode_bounded::<ServerMsg, SERVER_DECODE_LIMIT>(bytes, max_len)
}

/// The protocol version of a `Hello` frame from any protocol version, read without decoding the
/// rest; `None` when the frame is not a `Hello`.
pub fn peek_hello_version(bytes: &[u8]) -> Option<u16> {
    let ((tag, version), _): ((u32, u16), usize) =
        bincode::serde::decode_from_slice(bytes, wire::<16>()).ok()?;
    (tag == 0).then_some(version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::EntityKind;

    fn samples() -> (Vec<ClientMsg>, Vec<ServerMsg>) {
        let clients = vec![
            ClientMsg::Hello {
                protocol_version: PROTOCOL_VERSION,
                name: "ann".into(),
                room: Some("r1".into()),
                ticket: Some("v1.a.b".into()),
                resume: None,
            },
            ClientMsg::Hello {
                protocol_version: 7,
                name: "bob".into(),
                room: None,
                ticket: None,
                resume: Some("1.2.3".into()),
            },
            ClientMsg::Input(Input {
                seq: 42,
                ack: 9,
                move_dir: Vec2::new(0.5, -1.0),
                aim: Vec2::X,
                fire: true,
            }),
            ClientMsg::Chat {
                text: "gg ✓".into(),
            },
            ClientMsg::Ping {
                client_time: u64::MAX,
            },
            ClientMsg::Leave,
        ];
        let id = EntityId(3);
        let events = [
            GameEvent::Joined {
                player: id,
                name: "ann".into(),
            },
            GameEvent::Left { player: id },
            GameEvent::Hit {
                shooter: id,
                victim: EntityId(4),
                damage: 25,
                health: 75,
            },
            GameEvent::Killed {
                killer: id,
                victim: EntityId(4),
            },
            GameEvent::Respawned {
                player: id,
                pos: Vec2::new(1.0, 2.0),
            },
            GameEvent::Chat {
                from: id,
                text: "hi".into(),
            },
        ];
        let mut servers = vec![
            ServerMsg::Welcome {
                player_id: id,
                room: "r1".into(),
                tick_rate: 30,
                snapshot_rate: 30,
                view: Some((1600.0, 1000.0)),
                rules: Rules::default(),
                map: Map::default_map(),
                players: vec![(id, "ann".into())],
                resume_token: "1.3.abc".into(),
                last_input_seq: 41,
            },
            ServerMsg::Snapshot(Snapshot {
                tick: 9,
                baseline: 7,
                last_input_seq: 42,
                queued_inputs: 2,
                changed: vec![
                    EntityDelta {
                        id: EntityId(2),
                        pos: Some((-3, 100)),
                        alive: Some(false),
                        ..EntityDelta::default()
                    },
                    EntityDelta {
                        id: EntityId(5),
                        ..EntityDelta::default()
                    },
                ],
                removed: vec![EntityId(6)],
                events: Vec::new(),
                created: vec![
                    Entity {
                        id,
                        pos: Vec2::new(1.5, 2.5),
                        vel: Vec2::ZERO,
                        kind: EntityKind::Player {
                            // Snapped, as everything the simulation produces.
                            aim: crate::quant::aim_to_wire(Vec2::Y),
                            health: 100,
                            score: 2,
                            deaths: 1,
                            alive: true,
                        },
                    },
                    Entity {
                        id: EntityId(8),
                        pos: Vec2::ONE,
                        vel: Vec2::X,
                        kind: EntityKind::Projectile { owner: id },
                    },
                ],
            }),
            ServerMsg::Pong {
                client_time: 5,
                server_tick: 6,
            },
            ServerMsg::Error {
                code: ErrorCode::RoomFull,
                message: "room r1 is full (8/8)".into(),
            },
        ];
        if let Some(ServerMsg::Snapshot(s)) = servers.get_mut(1) {
            s.events = events.into_iter().map(|e| (1, e)).collect();
        }
        (clients, servers)
    }

    #[test]
    fn every_message_round_trips() {
        let (clients, servers) = samples();
        for msg in clients {
            let bytes = encode(&msg).expect("encodes");
            assert_eq!(decode_client(&bytes, 1 << 16).expect("decodes"), msg);
        }
        for msg in servers {
            let bytes = encode(&msg).expect("encodes");
            assert_eq!(decode_server(&bytes, 1 << 20).expect("decodes"), msg);
        }
    }

    #[test]
    fn borrowed_snapshot_encoding_matches_the_owned_message() {
        let (_, servers) = samples();
        let Some(ServerMsg::Snapshot(snap)) = servers
            .into_iter()
            .find(|m| matches!(m, ServerMsg::Snapshot(_)))
        else {
            panic!("samples hold a snapshot");
        };
        let mut borrowed = Vec::new();
        let parts = SnapshotParts {
            tick: snap.tick,
            baseline: snap.baseline,
            last_input_seq: snap.last_input_seq,
            queued_inputs: snap.queued_inputs,
            created: &snap.created,
            changed: &snap.changed,
            removed: &snap.removed,
            events: &snap.events.iter().collect::<Vec<_>>(),
        };
        encode_snapshot_into(parts, &mut borrowed).expect("encodes");
        assert_eq!(
            borrowed,
            encode(&ServerMsg::Snapshot(snap)).expect("encodes")
        );
    }

    #[test]
    fn truncated_messages_give_typed_errors() {
        let (clients, _) = samples();
        for msg in clients {
            let bytes = encode(&msg).expect("encodes");
            for cut in 0..bytes.len() {
                let err = decode_client(&bytes[..cut], 1 << 16).expect_err("truncated must fail");
                assert!(
                    matches!(err, DecodeError::Empty | DecodeError::Malformed(_)),
                    "{err}"
                );
            }
        }
    }

    #[test]
    fn oversized_and_padded_frames_are_refused() {
        let bytes = encode(&ClientMsg::Leave).expect("encodes");
        let mut padded = bytes.clone();
        padded.push(0);
        assert!(matches!(
            decode_client(&padded, 64),
            Err(DecodeError::TrailingBytes { extra: 1 })
        ));
        let chat = encode(&ClientMsg::Chat {
            text: "x".repeat(100),
        })
        .expect("encodes");
        assert!(matches!(
            decode_client(&chat, 64),
            Err(DecodeError::TooLarge { max: 64, .. })
        ));
    }

    #[test]
    fn a_length_prefix_cannot_claim_more_than_the_decode_limit() {
        // Chat (variant 2) whose string claims u32::MAX bytes: varint marker 252 + 4 bytes.
        let hostile = [2u8, 252, 0xff, 0xff, 0xff, 0xff];
        let err = decode_client(&hostile, 1 << 16).expect_err("must fail");
        assert!(matches!(err, DecodeError::Malformed(_)), "{err}");
    }

    #[test]
    fn hello_version_is_readable_across_versions() {
        let future = ClientMsg::Hello {
            protocol_version: 99,
            name: "x".into(),
            room: None,
            ticket: None,
            resume: None,
        };
        assert_eq!(
            peek_hello_version(&encode(&future).expect("encodes")),
            Some(99)
        );
        assert_eq!(
            peek_hello_version(&encode(&ClientMsg::Leave).expect("encodes")),
            None
        );
        assert_eq!(peek_hello_version(&[]), None);
    }
}
