//! The state of one entity as a snapshot carries it, quantised as [`crate::quant`] describes.

use glam::Vec2;
use serde::{Deserialize, Serialize};

use crate::game::EntityId;

/// One entity's visible state at a tick.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// Stable for the entity's whole life.
    pub id: EntityId,
    /// Centre, in world units (1/8 unit precision on the wire).
    #[serde(with = "crate::quant::serde_vec::pos")]
    pub pos: Vec2,
    /// Velocity, units/s (lets a client extrapolate; 1/8 unit/s precision on the wire).
    #[serde(with = "crate::quant::serde_vec::vel")]
    pub vel: Vec2,
    /// What the entity is, with the fields only that kind has.
    pub kind: EntityKind,
}

/// The kind-specific part of an [`Entity`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum EntityKind {
    /// A player.
    Player {
        /// The aim as an angle in 1/65,536 turns counter-clockwise from +x, as the wire carries
        /// it and the simulation rounds to ([`crate::quant::aim_from_wire`] gives the unit
        /// vector). Kept in wire form so a snapshot encoded for hundreds of clients converts it
        /// once per tick, not once per client.
        aim: u16,
        /// Current health; 0 while dead.
        health: u8,
        /// Kills scored.
        score: u32,
        /// Times died.
        deaths: u32,
        /// False while waiting to respawn.
        alive: bool,
    },
    /// A projectile in flight.
    Projectile {
        /// The player who fired it.
        owner: EntityId,
    },
}

crate::replicate! {
    /// The fields of one shooter entity that changed since the baseline; `None` = unchanged.
    /// Positions and velocities are differences in wire steps (small numbers, so one or two
    /// bytes each); a projectile's owner never changes (a different owner is a new entity).
    Entity => EntityDelta, position: pos,
    fields { pos: crate::game::Position, vel: crate::game::Velocity }
    kind: kind EntityKind {
        Player { aim: u16, health: u8, score: u32, deaths: u32, alive: bool } identity {}
        Projectile {} identity { owner }
    }
}
