//! A player's controls: the heading it wants.

use serde::{Deserialize, Serialize};

/// The absolute direction a player wants its cycle to go, held until the next input.
///
/// A level, not an edge: sending the same heading every tick changes nothing after the first,
/// which is what the engine relies on when it repeats the last input of a player whose input is
/// late. North is toward `y = 0` (up on a screen whose y axis points down, as the web client
/// draws), East toward larger `x`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Heading {
    /// No wish: keep going the way the cycle faces. The default, so a client with nothing to
    /// say (or the engine standing a detached player still) never steers a cycle.
    #[default]
    Keep,
    /// Toward `y = 0`.
    North,
    /// Toward larger `x`.
    East,
    /// Toward larger `y`.
    South,
    /// Toward `x = 0`.
    West,
}

impl Heading {
    /// The direction a cycle entity's `heading` field stands for: 0 North, 1 East, 2 South,
    /// 3 West; `None` for anything else.
    pub fn from_wire(heading: u8) -> Option<Heading> {
        match heading {
            0 => Some(Heading::North),
            1 => Some(Heading::East),
            2 => Some(Heading::South),
            3 => Some(Heading::West),
            _ => None,
        }
    }

    /// The entity's `heading` value for this direction; `None` for [`Heading::Keep`].
    pub fn to_wire(self) -> Option<u8> {
        match self {
            Heading::Keep => None,
            Heading::North => Some(0),
            Heading::East => Some(1),
            Heading::South => Some(2),
            Heading::West => Some(3),
        }
    }
}

/// One player's controls for one tick.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TronInput {
    /// Where the player wants to go. Taken at the cycle's next move; the opposite of the way
    /// it faces is ignored (a cycle cannot turn back into its own trail).
    pub heading: Heading,
}
