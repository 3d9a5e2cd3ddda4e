//! What happened during a tick, as the simulation reports it and the wire carries it.

use glam::Vec2;
use serde::{Deserialize, Serialize};

use crate::world::EntityId;

/// A discrete game event. Snapshots carry state; events carry the moments a client wants to
/// show (a hit marker, a kill feed line, a chat bubble) and could not infer from two states.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum GameEvent {
    /// A player entered the room.
    Joined {
        /// The new player's entity.
        player: EntityId,
        /// The name they will be shown with.
        name: String,
    },
    /// A player left the room (on purpose or by disconnecting).
    Left {
        /// The departed player's entity.
        player: EntityId,
    },
    /// A projectile struck a player.
    Hit {
        /// Who fired.
        shooter: EntityId,
        /// Who was struck.
        victim: EntityId,
        /// Health removed.
        damage: u8,
        /// The victim's health afterwards.
        health: u8,
    },
    /// A player's health reached zero.
    Killed {
        /// Who scored.
        killer: EntityId,
        /// Who died.
        victim: EntityId,
    },
    /// A dead player is back at a spawn point.
    Respawned {
        /// The player.
        player: EntityId,
        /// Where they appeared.
        pos: Vec2,
    },
    /// A chat line, already length-limited and stripped of control characters by the server.
    Chat {
        /// The speaker.
        from: EntityId,
        /// The text.
        text: String,
    },
}
