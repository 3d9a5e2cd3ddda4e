//! Grid movement, shared by the simulation and the client's prediction: the four directions,
//! the integer pace that decides on which ticks a cycle moves, and cells in world units.
//!
//! Everything here is integer arithmetic or exact float operations, so a client replaying a
//! cycle's moves gets the server's cells and positions bit for bit.

use glam::Vec2;

use crate::quant;
use crate::tron::input::Heading;

/// A direction a cycle can face (a [`Heading`] without [`Heading::Keep`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Dir {
    North,
    East,
    South,
    West,
}

impl Dir {
    /// Every direction, in wire order.
    pub(crate) const ALL: [Dir; 4] = [Dir::North, Dir::East, Dir::South, Dir::West];

    /// The direction of a cycle entity's `heading` field.
    pub(crate) fn from_wire(heading: u8) -> Option<Dir> {
        Self::ALL.get(usize::from(heading)).copied()
    }

    /// The entity's `heading` field for this direction.
    pub(crate) fn wire(self) -> u8 {
        match self {
            Dir::North => 0,
            Dir::East => 1,
            Dir::South => 2,
            Dir::West => 3,
        }
    }

    /// The direction an input asks for, if any.
    pub(crate) fn from_heading(heading: Heading) -> Option<Dir> {
        match heading {
            Heading::Keep => None,
            Heading::North => Some(Dir::North),
            Heading::East => Some(Dir::East),
            Heading::South => Some(Dir::South),
            Heading::West => Some(Dir::West),
        }
    }

    /// The input asking for this direction.
    pub(crate) fn heading(self) -> Heading {
        match self {
            Dir::North => Heading::North,
            Dir::East => Heading::East,
            Dir::South => Heading::South,
            Dir::West => Heading::West,
        }
    }

    /// The way back.
    pub(crate) fn opposite(self) -> Dir {
        self.rotated(2)
    }

    /// A quarter turn counter-clockwise on screen (North to West).
    pub(crate) fn left(self) -> Dir {
        self.rotated(3)
    }

    /// A quarter turn clockwise on screen (North to East).
    pub(crate) fn right(self) -> Dir {
        self.rotated(1)
    }

    fn rotated(self, quarters: u8) -> Dir {
        Self::ALL[usize::from((self.wire() + quarters) % 4)]
    }

    /// The step to the neighbouring cell this way; North is toward `y = 0`.
    pub(crate) fn delta(self) -> (i32, i32) {
        match self {
            Dir::North => (0, -1),
            Dir::East => (1, 0),
            Dir::South => (0, 1),
            Dir::West => (-1, 0),
        }
    }

    /// The cell next to `cell` this way (possibly outside the grid).
    pub(crate) fn next(self, (x, y): (i32, i32)) -> (i32, i32) {
        let (dx, dy) = self.delta();
        (x.saturating_add(dx), y.saturating_add(dy))
    }

    /// The direction a cycle facing `self` takes on its next move when its player wants
    /// `want`: `want`, unless that is no wish or a reversal, which are ignored.
    pub(crate) fn turn(self, want: Heading) -> Dir {
        match Dir::from_heading(want) {
            Some(d) if d != self.opposite() => d,
            _ => self,
        }
    }
}

/// On which ticks a cycle moves: each tick adds `moves_per_second` to the cycle's phase, and a
/// phase reaching the tick rate moves the cycle one cell and wraps. Integer only, so prediction
/// replays it exactly, and the long-run pace is exactly `moves_per_second` whether or not it
/// divides the tick rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pace {
    /// Phase gained per tick: `moves_per_second`, at most the tick rate (one cell a tick).
    per_tick: u32,
    /// The phase of one move: the tick rate.
    tick_rate: u32,
}

impl Pace {
    /// The pace of `moves_per_second` cells a second at `tick_rate` ticks a second.
    pub(crate) fn new(moves_per_second: u16, tick_rate: u16) -> Self {
        let tick_rate = u32::from(tick_rate.max(1));
        Self {
            per_tick: u32::from(moves_per_second).clamp(1, tick_rate),
            tick_rate,
        }
    }

    /// Advances `phase` by one tick; true when the cycle moves on this tick. A phase out of
    /// range (from the network) counts as one tick short of a move.
    pub(crate) fn tick(&self, phase: &mut u16) -> bool {
        let p = u32::from(*phase).min(self.tick_rate - 1) + self.per_tick;
        let moves = p >= self.tick_rate;
        let p = if moves { p - self.tick_rate } else { p };
        // p < tick_rate <= u16::MAX here.
        *phase = u16::try_from(p).unwrap_or(0);
        moves
    }
}

/// The centre of cell `(x, y)` in world units, at wire precision.
pub(crate) fn centre(cell: f32, (x, y): (i32, i32)) -> Vec2 {
    quant::snap_pos(Vec2::new((x as f32 + 0.5) * cell, (y as f32 + 0.5) * cell))
}

/// The cell whose centre `pos` is (the inverse of [`centre`] for cells of at least one unit).
pub(crate) fn cell_of(cell: f32, pos: Vec2) -> (i32, i32) {
    // `as` saturates and maps NaN to 0, and the clamp keeps a hostile server's position far
    // from i32's ends, so neither this nor a step to the next cell can overflow.
    const FAR: i32 = 1 << 20;
    (
        ((pos.x / cell - 0.5).round() as i32).clamp(-FAR, FAR),
        ((pos.y / cell - 0.5).round() as i32).clamp(-FAR, FAR),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moves(pace: Pace, ticks: u32) -> Vec<u32> {
        let mut phase = 0;
        (1..=ticks).filter(|_| pace.tick(&mut phase)).collect()
    }

    #[test]
    fn a_cycle_moves_every_tick_rate_over_moves_per_second_ticks() {
        assert_eq!(moves(Pace::new(10, 30), 12), vec![3, 6, 9, 12]);
        assert_eq!(moves(Pace::new(30, 30), 3), vec![1, 2, 3]);
        // Not a divisor: 20 moves in 30 ticks, evenly spread.
        assert_eq!(moves(Pace::new(20, 30), 6), vec![2, 3, 5, 6]);
        assert_eq!(moves(Pace::new(20, 30), 30).len(), 20);
        // Never more than one cell a tick.
        assert_eq!(moves(Pace::new(60, 30), 4), vec![1, 2, 3, 4]);
        // A tick rate of zero is one tick a second, not a division by zero.
        assert_eq!(moves(Pace::new(1, 0), 2), vec![1, 2]);
    }

    #[test]
    fn a_phase_from_the_network_cannot_overflow() {
        let pace = Pace::new(10, 30);
        let mut phase = u16::MAX;
        assert!(pace.tick(&mut phase));
        assert!(phase < 30);
    }

    #[test]
    fn reversal_and_keep_are_ignored() {
        assert_eq!(Dir::North.turn(Heading::South), Dir::North);
        assert_eq!(Dir::North.turn(Heading::Keep), Dir::North);
        assert_eq!(Dir::North.turn(Heading::East), Dir::East);
        assert_eq!(Dir::East.turn(Heading::West), Dir::East);
        assert_eq!(Dir::East.turn(Heading::North), Dir::North);
        for d in Dir::ALL {
            assert_eq!(Dir::from_wire(d.wire()), Some(d));
            assert_eq!(Heading::from_wire(d.wire()), Some(d.heading()));
            assert_eq!(d.heading().to_wire(), Some(d.wire()));
            assert_eq!(d.left().right(), d);
            assert_eq!(d.opposite().next(d.next((5, 5))), (5, 5));
        }
        assert_eq!(Dir::from_wire(4), None);
        assert_eq!(Dir::North.left(), Dir::West);
        assert_eq!(Dir::North.right(), Dir::East);
    }

    #[test]
    fn cell_centres_read_back_as_their_cells() {
        for cell in [1.0, 7.3, 16.0, 255.9] {
            for c in [(0, 0), (255, 0), (17, 201), (255, 255)] {
                assert_eq!(cell_of(cell, centre(cell, c)), c, "cell size {cell}");
            }
        }
        assert_eq!(centre(16.0, (2, 3)), Vec2::new(40.0, 56.0));
    }
}
