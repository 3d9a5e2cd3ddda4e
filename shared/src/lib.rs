//! # arena-shared
//!
//! Everything the Arena server, its bots and its benches must agree on, with no I/O and no
//! actors, so that all three run the very same code.
//!
//! # Layout
//! The engine's half, which names no game:
//! - [`game`]: the seam. A [`Game`] is a state, an input type, entities declared once with
//!   [`replicate!`], events, a step, and (for clients) a [`game::Predict`] and a [`game::Brain`].
//! - [`protocol`]: the wire envelope ([`protocol::ClientMsg`], [`protocol::ServerMsg`]: hello,
//!   welcome, snapshot, ping, errors) around the game's payloads, bincode 2 encoded, and the bounded decoder that
//!   turns untrusted bytes into them.
//! - [`encoding`]: the two encodings of those messages (`arena.bincode.v1` binary frames,
//!   `arena.json.v1` text frames) and their negotiation.
//! - [`sync`]: delta snapshots: the diff a server sends against a view the client acknowledged,
//!   and the [`sync::Replica`] that applies it on the client, for any game's entities.
//! - [`interest`]: a tick's entities with a grid over them, so each player's snapshot holds only
//!   what is within its view box.
//! - [`grid`]: a uniform spatial grid, so finding what is near a point costs what is there, not
//!   what is in the whole arena.
//! - [`quant`]: the precision of positions, velocities and angles on the wire, which games
//!   snap their state to every tick so client prediction is exact.
//! - [`schedule`]: when snapshots go out (`snapshot_rate` of every `tick_rate` ticks), computed
//!   the same way by the server and its clients.
//! - [`replay`]: the replay format (a header, each tick's commands, state hashes) and its
//!   verifier, which re-simulates a room bit for bit (rooms do not record yet).
//! - [`ticket`]: the signed join-ticket format (play or spectate), so a server, a matchmaker
//!   and the bots mint and read the very same tickets.
//!
//! The games, each the same shape (simulation, entities, events, settings, prediction, bot
//! brain), here rather than in crates of their own because server, bots and benches must all
//! run the very same code, which is what this crate is for:
//! - [`shooter`]: the top-down arena shooter.
//! - [`tron`]: light cycles on a grid, steered by absolute heading (discrete input).

pub mod encoding;
pub mod game;
pub mod grid;
pub mod interest;
pub mod protocol;
pub mod quant;
pub mod replay;
pub mod schedule;
pub mod shooter;
pub mod sync;
pub mod ticket;
pub mod tron;

pub use game::{EntityId, Game, Replicate, Rewind};
pub use protocol::{DecodeError, ErrorCode, PROTOCOL_VERSION, RoomOptions};

#[doc(hidden)]
pub use glam as __glam;
#[doc(hidden)]
pub use serde as __serde;
