//! What happened in a tick that a client shows and could not infer from two states.

use serde::{Deserialize, Serialize};

use crate::game::EntityId;

/// A crash or a respawn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum TronEvent {
    /// A cycle crashed: it is dead, and its trail is gone.
    Crashed {
        /// The cycle that crashed.
        player: EntityId,
        /// Whose trail or cycle it hit (itself for its own trail; the other cycle in a
        /// head-on collision); `None` for the arena's wall.
        into: Option<EntityId>,
    },
    /// A crashed cycle is back on the grid.
    Respawned {
        /// The cycle.
        player: EntityId,
    },
}
