//! What a tron room is created with: the grid, its scale and the pace of play.

use glam::Vec2;
use serde::{Deserialize, Serialize};

/// Fewest cells per side of the grid.
pub const MIN_SIDE: u16 = 8;
/// Most cells per side of the grid: 256 × 256 cells keep the occupancy grid at 256 KiB.
pub const MAX_SIDE: u16 = 256;
/// Smallest cell, world units: at least 8 wire steps ([`crate::quant`]), so a cell centre
/// read back from the wire names its cell without doubt.
pub const MIN_CELL: f32 = 1.0;
/// Largest cell, world units.
pub const MAX_CELL: f32 = 256.0;
/// Fastest pace, cells per second (and never more than one cell per tick, see
/// [`Settings::moves_per_second`]).
pub const MAX_MOVES_PER_SECOND: u16 = 60;
/// Longest trail, cells per cycle: bounds what one player adds to every snapshot.
pub const MAX_TRAIL: u16 = 512;
/// Longest wait before a crashed cycle comes back, seconds.
pub const MAX_RESPAWN_S: f32 = 60.0;

/// What a tron room is created with and every client is told in `Welcome`, so clients draw,
/// predict and steer bots with the server's numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Cells across (x), [`MIN_SIDE`]..=[`MAX_SIDE`].
    pub width: u16,
    /// Cells down (y), [`MIN_SIDE`]..=[`MAX_SIDE`].
    pub height: u16,
    /// World units per cell: entity positions are cell centres in these units.
    pub cell: f32,
    /// Cells a cycle advances per second. Faster than the tick rate plays as one cell per
    /// tick: a cycle never skips a cell, so it can never jump over a trail.
    pub moves_per_second: u16,
    /// Most trail cells a cycle leaves behind; the oldest disappears first.
    pub trail_length: u16,
    /// Seconds between a crash and the respawn.
    pub respawn_s: f32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            width: 64,
            height: 40,
            cell: 16.0,
            moves_per_second: 10,
            trail_length: 48,
            respawn_s: 1.5,
        }
    }
}

impl Settings {
    /// Every value within its bounds, or a message naming the first one that is not, so a
    /// server can refuse a bad configuration at start-up.
    pub fn validate(&self) -> Result<(), String> {
        let side = MIN_SIDE..=MAX_SIDE;
        if !side.contains(&self.width) {
            return Err(format!(
                "tron width {} is outside {MIN_SIDE}..={MAX_SIDE} cells",
                self.width
            ));
        }
        if !side.contains(&self.height) {
            return Err(format!(
                "tron height {} is outside {MIN_SIDE}..={MAX_SIDE} cells",
                self.height
            ));
        }
        if !(MIN_CELL..=MAX_CELL).contains(&self.cell) {
            return Err(format!(
                "tron cell {} is outside {MIN_CELL}..={MAX_CELL} world units",
                self.cell
            ));
        }
        if !(1..=MAX_MOVES_PER_SECOND).contains(&self.moves_per_second) {
            return Err(format!(
                "tron moves_per_second {} is outside 1..={MAX_MOVES_PER_SECOND}",
                self.moves_per_second
            ));
        }
        if !(1..=MAX_TRAIL).contains(&self.trail_length) {
            return Err(format!(
                "tron trail_length {} is outside 1..={MAX_TRAIL} cells",
                self.trail_length
            ));
        }
        if !(0.0..=MAX_RESPAWN_S).contains(&self.respawn_s) {
            return Err(format!(
                "tron respawn_s {} is outside 0..={MAX_RESPAWN_S} seconds",
                self.respawn_s
            ));
        }
        Ok(())
    }

    /// These settings with every value forced into its bounds (non-finite numbers take the
    /// default's), so a game built from unvalidated settings still cannot misbehave. Valid
    /// settings come back unchanged.
    pub fn clamped(&self) -> Settings {
        let d = Settings::default();
        let finite_or = |v: f32, or: f32| if v.is_finite() { v } else { or };
        Settings {
            width: self.width.clamp(MIN_SIDE, MAX_SIDE),
            height: self.height.clamp(MIN_SIDE, MAX_SIDE),
            cell: finite_or(self.cell, d.cell).clamp(MIN_CELL, MAX_CELL),
            moves_per_second: self.moves_per_second.clamp(1, MAX_MOVES_PER_SECOND),
            trail_length: self.trail_length.clamp(1, MAX_TRAIL),
            respawn_s: finite_or(self.respawn_s, d.respawn_s).clamp(0.0, MAX_RESPAWN_S),
        }
    }

    /// The playing area in world units, from `(0, 0)`: `(width × cell, height × cell)`.
    pub fn area(&self) -> Vec2 {
        Vec2::new(
            f32::from(self.width) * self.cell,
            f32::from(self.height) * self.cell,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_valid_and_bad_values_are_named() {
        assert_eq!(Settings::default().validate(), Ok(()));
        assert_eq!(Settings::default().clamped(), Settings::default());
        let bad = [
            (
                Settings {
                    width: 7,
                    ..Settings::default()
                },
                "width",
            ),
            (
                Settings {
                    height: 257,
                    ..Settings::default()
                },
                "height",
            ),
            (
                Settings {
                    cell: f32::NAN,
                    ..Settings::default()
                },
                "cell",
            ),
            (
                Settings {
                    cell: 0.5,
                    ..Settings::default()
                },
                "cell",
            ),
            (
                Settings {
                    moves_per_second: 0,
                    ..Settings::default()
                },
                "moves_per_second",
            ),
            (
                Settings {
                    trail_length: 0,
                    ..Settings::default()
                },
                "trail_length",
            ),
            (
                Settings {
                    trail_length: 513,
                    ..Settings::default()
                },
                "trail_length",
            ),
            (
                Settings {
                    respawn_s: f32::INFINITY,
                    ..Settings::default()
                },
                "respawn_s",
            ),
            (
                Settings {
                    respawn_s: -1.0,
                    ..Settings::default()
                },
                "respawn_s",
            ),
        ];
        for (settings, field) in bad {
            let err = settings.validate().expect_err(field);
            assert!(err.contains(field), "{err} should name {field}");
            assert_eq!(
                settings.clamped().validate(),
                Ok(()),
                "{field} clamps into bounds"
            );
        }
    }

    #[test]
    fn the_area_is_cells_times_cell_size() {
        assert_eq!(Settings::default().area(), Vec2::new(1024.0, 640.0));
    }
}
