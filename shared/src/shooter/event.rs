//! What happened during a tick, as the simulation reports it and the wire carries it.

use glam::Vec2;
use serde::{Deserialize, Serialize};

use crate::game::EntityId;

/// A discrete shooter event. Snapshots carry state; events carry the moments a client wants to
/// show (a hit marker, a kill feed line) and could not infer from two states. Joins, leaves and
/// chat are the engine's ([`crate::protocol::RoomEvent`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum GameEvent {
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
        /// Where the victim was when struck, as the shooter saw it: with lag compensation,
        /// where the hit test rewound them to, so a client can mark the hit where its player
        /// aimed.
        at: Vec2,
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
}
