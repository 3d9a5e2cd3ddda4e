//! # arena-shared
//!
//! Everything the Arena server, its bots and its benches must agree on, with no I/O and no
//! actors, so that all three run the very same code.
//!
//! # Layout
//! - [`protocol`]: the wire messages ([`ClientMsg`], [`ServerMsg`]), one per WebSocket binary
//!   frame, bincode 2 encoded, and the bounded decoder that turns untrusted bytes into them.
//! - [`world`]: the pure, deterministic simulation. A [`World`] is stepped at a fixed `dt` and
//!   changed only through [`Command`]s, so a room is reproducible from its seed and command log.
//! - [`rules`]: the tuning of the game (speeds, damage, cooldowns), in seconds and world units.
//! - [`collision`]: circle, segment and axis-aligned-box geometry used by the simulation.
//! - [`grid`]: a uniform spatial grid, so finding what is near a point costs what is there, not
//!   what is in the whole arena.
//! - [`map`]: the arena map text format, its parser and validator, and the embedded default map.
//! - [`event`] and [`snapshot`]: what the simulation reports each tick, as sent on the wire.

pub mod collision;
pub mod event;
pub mod grid;
pub mod map;
pub mod protocol;
pub mod rules;
pub mod snapshot;
pub mod world;

pub use event::GameEvent;
pub use map::{Map, MapError};
pub use protocol::{ClientMsg, DecodeError, ErrorCode, Input, PROTOCOL_VERSION, ServerMsg};
pub use rules::Rules;
pub use snapshot::{Entity, EntityKind};
pub use world::{Command, EntityId, PlayerInput, World};
