//! What a snapshot carries of a cycle or a trail cell.

use glam::Vec2;
use serde::{Deserialize, Serialize};

use crate::game::EntityId;

/// One entity's visible state at a tick.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// Stable for the entity's whole life; cycles and trail cells share one counter from 1.
    pub id: EntityId,
    /// The centre of the entity's cell, in world units: cell `(x, y)` is at
    /// `((x + 0.5) × cell, (y + 0.5) × cell)`, at the wire's precision (1/8 unit).
    #[serde(with = "crate::quant::serde_vec::pos")]
    pub pos: Vec2,
    /// What the entity is, with the fields only that kind has.
    pub kind: EntityKind,
}

/// The kind-specific part of an [`Entity`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum EntityKind {
    /// A player's light cycle: its head. A dead cycle stays where it crashed until it respawns.
    Cycle {
        /// The way it faces (the direction of its last move): 0 North, 1 East, 2 South,
        /// 3 West ([`crate::tron::Heading::from_wire`]).
        heading: u8,
        /// False while waiting to respawn.
        alive: bool,
        /// Crashes of other cycles into this one's trail or body.
        score: u32,
        /// Where the cycle is between two moves: it gains `moves_per_second` each tick and moves
        /// on reaching the tick rate. Lets a client's predictor replay the very ticks the server
        /// moves on.
        phase: u16,
    },
    /// One cell of a cycle's trail: deadly to touch, gone when its owner crashes or the trail
    /// outgrows its length.
    Trail {
        /// The cycle that left it (never changes: another owner is another entity).
        owner: EntityId,
    },
}

crate::replicate! {
    /// The fields of one tron entity that changed since the baseline; `None` = unchanged. A
    /// trail cell never changes, so it costs nothing after its first snapshot; a living cycle
    /// sends its phase each tick and its position (one byte per axis) when it moves.
    Entity => EntityDelta, position: pos,
    fields { pos: crate::game::Position }
    kind: kind EntityKind {
        Cycle { heading: u8, alive: bool, score: u32, phase: u16 } identity {}
        Trail {} identity { owner }
    }
}
