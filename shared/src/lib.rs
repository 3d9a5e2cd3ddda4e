//! # arena-shared
//!
//! Everything the Arena server, its bots and its benches must agree on, with no I/O and no
//! actors, so that all three run the very same code.
//!
//! # Layout
//! - [`protocol`]: the wire messages ([`ClientMsg`], [`ServerMsg`]), one per WebSocket binary
//!   frame, bincode 2 encoded, and the bounded decoder that turns untrusted bytes into them.
//! - [`encoding`]: the two encodings of those messages (`arena.bincode.v1` binary frames,
//!   `arena.json.v1` text frames) and their negotiation.
//! - [`world`]: the pure, deterministic simulation. A [`World`] is stepped at a fixed `dt` and
//!   changed only through [`Command`]s, so a room is reproducible from its seed and command log.
//! - [`quant`]: the precision of positions, velocities and angles on the wire, which the
//!   simulation snaps to every tick so client prediction is exact.
//! - [`rules`]: the tuning of the game (speeds, damage, cooldowns), in seconds and world units.
//! - [`collision`]: circle, segment and axis-aligned-box geometry used by the simulation.
//! - [`grid`]: a uniform spatial grid, so finding what is near a point costs what is there, not
//!   what is in the whole arena.
//! - [`interest`]: a tick's entities with a grid over them, so each player's snapshot holds only
//!   what is within its view box.
//! - [`sync`]: delta snapshots: the diff a server sends against a view the client acknowledged,
//!   and the [`sync::Replica`] that applies it on the client.
//! - [`predict`]: client-side prediction and reconciliation of the client's own player.
//! - [`schedule`]: when snapshots go out (`snapshot_rate` of every `tick_rate` ticks), computed
//!   the same way by the server and its clients.
//! - [`map`]: the arena map text format, its parser and validator, and the embedded default map.
//! - [`ticket`]: the signed join-ticket format (play or spectate), so a server, a matchmaker
//!   and the bots mint and read the very same tickets.
//! - [`event`] and [`snapshot`]: what the simulation reports each tick, as sent on the wire.

pub mod collision;
pub mod encoding;
pub mod event;
pub mod grid;
pub mod interest;
pub mod map;
pub mod predict;
pub mod protocol;
pub mod quant;
pub mod rules;
pub mod schedule;
pub mod snapshot;
pub mod sync;
pub mod ticket;
pub mod world;

pub use event::GameEvent;
pub use map::{Map, MapError};
pub use protocol::{ClientMsg, DecodeError, ErrorCode, Input, PROTOCOL_VERSION, ServerMsg};
pub use rules::Rules;
pub use snapshot::{Entity, EntityKind};
pub use world::{Command, EntityId, Mover, PlayerInput, World};
