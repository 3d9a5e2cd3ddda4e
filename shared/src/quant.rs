//! Quantisation: the precision of everything the wire carries, applied to the simulation too.
//!
//! The world snaps its state to these steps at the end of every tick, so the values a client
//! receives are exactly the values the server simulates with. A client that replays its own
//! inputs from the last authoritative state (prediction) therefore reproduces the server's
//! result bit for bit, instead of drifting by rounding error.
//!
//! | quantity | step | wire form |
//! | --- | --- | --- |
//! | position | 1/8 world unit | `i32` per axis (zigzag varint; deltas in 1 byte while moving) |
//! | velocity | 1/8 unit/s, rounded toward zero | `i32` per axis |
//! | aim angle | 1/65,536 turn (0.0055°) | `u16` |
//!
//! Velocity rounds toward zero so friction always brings a player to a full stop; rounding to
//! nearest would leave a residual 1/8 unit/s drift forever.

use glam::Vec2;

/// Position steps per world unit.
pub const POS_SCALE: f32 = 8.0;
/// Velocity steps per unit/s.
pub const VEL_SCALE: f32 = 8.0;
/// Aim steps per full turn.
const ANGLE_STEPS: f32 = 65_536.0;

/// A position as the wire carries it: steps of 1/[`POS_SCALE`] unit.
pub fn pos_to_wire(v: Vec2) -> (i32, i32) {
    (round(v.x * POS_SCALE), round(v.y * POS_SCALE))
}

/// Rounds to the nearest integer, ties to even, without a libm call: adding and removing
/// 1.5 * 2^23 leaves no fraction bits in an f32, so the FPU's own round-to-nearest-even does the
/// work (`f32::round` is a call to `roundf` on baseline x86-64, and this runs for every moving
/// entity every tick). Outside +-2^22, where that trick no longer holds, `round` takes over;
/// `as` saturates out-of-range values and maps NaN to 0, so no input can make this panic.
fn round(t: f32) -> i32 {
    const MAGIC: f32 = 12_582_912.0;
    if t.abs() < 4_194_304.0 {
        ((t + MAGIC) - MAGIC) as i32
    } else {
        t.round() as i32
    }
}

/// The position a wire value stands for; exact for any map smaller than 2^21 units.
pub fn pos_from_wire((x, y): (i32, i32)) -> Vec2 {
    Vec2::new(x as f32 / POS_SCALE, y as f32 / POS_SCALE)
}

/// A velocity as the wire carries it: steps of 1/[`VEL_SCALE`] unit/s, toward zero.
pub fn vel_to_wire(v: Vec2) -> (i32, i32) {
    // `as` truncates toward zero, saturates, and maps NaN to 0.
    ((v.x * VEL_SCALE) as i32, (v.y * VEL_SCALE) as i32)
}

/// The velocity a wire value stands for.
pub fn vel_from_wire((x, y): (i32, i32)) -> Vec2 {
    Vec2::new(x as f32 / VEL_SCALE, y as f32 / VEL_SCALE)
}

/// An aim direction as an angle in 1/65,536 turns; a zero vector is angle 0 (+x).
pub fn aim_to_wire(v: Vec2) -> u16 {
    // libm, not `f32::atan2`: the platform's atan2 differs in the last bit between C libraries,
    // and a client predicting with a different one would disagree with the server.
    let turns = libm::atan2f(v.y, v.x) / std::f32::consts::TAU;
    // rem_euclid folds [-0.5, 0.5) turns into [0, 1); the u32 cast then wraps 1.0 to 0.
    ((turns.rem_euclid(1.0) * ANGLE_STEPS).round() as u32 & 0xffff) as u16
}

/// The unit aim vector an angle stands for.
pub fn aim_from_wire(angle: u16) -> Vec2 {
    let radians = f32::from(angle) / ANGLE_STEPS * std::f32::consts::TAU;
    // libm, not `f32::cos`/`sin`: portable code gives the same bits on every platform, so
    // every client's aim (and the shots fired along it) matches the server's.
    Vec2::new(libm::cosf(radians), libm::sinf(radians))
}

/// Snaps a position to the wire's precision.
pub fn snap_pos(v: Vec2) -> Vec2 {
    pos_from_wire(pos_to_wire(v))
}

/// Snaps a velocity to the wire's precision.
pub fn snap_vel(v: Vec2) -> Vec2 {
    vel_from_wire(vel_to_wire(v))
}

/// Snaps an aim direction to the wire's precision (a unit vector).
pub fn snap_aim(v: Vec2) -> Vec2 {
    aim_from_wire(aim_to_wire(v))
}

/// Serde adapters that put [`Vec2`] fields on the wire in their quantised form. Binary formats
/// (bincode) get the integers; human-readable ones (JSON) get the same values as plain numbers.
pub mod serde_vec {
    use glam::Vec2;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    fn ser<S: Serializer>(
        v: Vec2,
        s: S,
        to_wire: fn(Vec2) -> (i32, i32),
        from_wire: fn((i32, i32)) -> Vec2,
    ) -> Result<S::Ok, S::Error> {
        let q = to_wire(v);
        if s.is_human_readable() {
            let v = from_wire(q);
            (v.x, v.y).serialize(s)
        } else {
            q.serialize(s)
        }
    }

    fn de<'de, D: Deserializer<'de>>(
        d: D,
        from_wire: fn((i32, i32)) -> Vec2,
        to_wire: fn(Vec2) -> (i32, i32),
    ) -> Result<Vec2, D::Error> {
        if d.is_human_readable() {
            let (x, y) = <(f32, f32)>::deserialize(d)?;
            Ok(from_wire(to_wire(Vec2::new(x, y))))
        } else {
            Ok(from_wire(<(i32, i32)>::deserialize(d)?))
        }
    }

    /// A position field.
    pub mod pos {
        use super::*;
        use crate::quant::{pos_from_wire, pos_to_wire};

        /// Serialises a position quantised.
        pub fn serialize<S: Serializer>(v: &Vec2, s: S) -> Result<S::Ok, S::Error> {
            ser(*v, s, pos_to_wire, pos_from_wire)
        }

        /// Deserialises a quantised position.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec2, D::Error> {
            de(d, pos_from_wire, pos_to_wire)
        }
    }

    /// A velocity field.
    pub mod vel {
        use super::*;
        use crate::quant::{vel_from_wire, vel_to_wire};

        /// Serialises a velocity quantised.
        pub fn serialize<S: Serializer>(v: &Vec2, s: S) -> Result<S::Ok, S::Error> {
            ser(*v, s, vel_to_wire, vel_from_wire)
        }

        /// Deserialises a quantised velocity.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec2, D::Error> {
            de(d, vel_from_wire, vel_to_wire)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::RngSeed;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, rng_seed: RngSeed::Fixed(11), ..ProptestConfig::default() })]

        #[test]
        fn snapped_values_survive_the_wire_exactly(x in -1e5f32..1e5, y in -1e5f32..1e5) {
            let p = snap_pos(Vec2::new(x, y));
            prop_assert_eq!(pos_from_wire(pos_to_wire(p)), p);
            prop_assert!((p - Vec2::new(x, y)).abs().max_element() <= 0.5 / POS_SCALE);
            let v = snap_vel(Vec2::new(x, y));
            prop_assert_eq!(vel_from_wire(vel_to_wire(v)), v);
            let a = snap_aim(Vec2::new(x, y));
            prop_assert_eq!(snap_aim(a), a);
        }
    }

    #[test]
    fn velocity_rounds_toward_zero_so_friction_stops() {
        assert_eq!(snap_vel(Vec2::new(0.124, -0.124)), Vec2::ZERO);
        assert_eq!(snap_vel(Vec2::new(0.13, -0.13)), Vec2::new(0.125, -0.125));
    }

    #[test]
    fn aim_angles_cover_the_circle() {
        assert_eq!(aim_to_wire(Vec2::X), 0);
        assert_eq!(aim_to_wire(Vec2::Y), 16_384);
        assert_eq!(aim_to_wire(-Vec2::X), 32_768);
        assert_eq!(aim_to_wire(-Vec2::Y), 49_152);
        assert_eq!(aim_to_wire(Vec2::new(1.0, -1e-9)), 0);
        assert!((aim_from_wire(16_384) - Vec2::Y).length() < 1e-6);
    }
}
