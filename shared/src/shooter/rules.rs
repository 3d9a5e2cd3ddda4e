//! The tuning of the game. Values are in world units and seconds so that they read the same
//! at any tick rate; the world converts durations to whole ticks once, at creation.

use serde::{Deserialize, Serialize};

/// How the arena plays: movement, weapons, health and respawn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    /// Radius of a player's body, in world units.
    pub player_radius: f32,
    /// Acceleration toward the input direction, units/s².
    pub acceleration: f32,
    /// Exponential velocity damping per second: each second keeps `exp(-friction)` of speed.
    pub friction: f32,
    /// Speed cap, units/s.
    pub max_speed: f32,
    /// Health a player (re)spawns with.
    pub max_health: u8,
    /// Damage one projectile deals.
    pub projectile_damage: u8,
    /// Projectile speed, units/s.
    pub projectile_speed: f32,
    /// Projectile radius, units.
    pub projectile_radius: f32,
    /// How long a projectile flies before it expires, seconds.
    pub projectile_lifetime_s: f32,
    /// Minimum time between two shots of one player, seconds.
    pub fire_cooldown_s: f32,
    /// Time a dead player waits before respawning, seconds.
    pub respawn_delay_s: f32,
    /// A spawn point is free when no living player is within this distance of it.
    pub spawn_clearance: f32,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            player_radius: 16.0,
            acceleration: 2400.0,
            friction: 8.0,
            max_speed: 260.0,
            max_health: 100,
            projectile_damage: 25,
            projectile_speed: 720.0,
            projectile_radius: 4.0,
            projectile_lifetime_s: 1.2,
            fire_cooldown_s: 0.25,
            respawn_delay_s: 2.0,
            spawn_clearance: 96.0,
        }
    }
}

impl Rules {
    /// Every value that would make the simulation meaningless, as a list of complaints.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("player_radius", self.player_radius),
            ("acceleration", self.acceleration),
            ("max_speed", self.max_speed),
            ("projectile_speed", self.projectile_speed),
            ("projectile_radius", self.projectile_radius),
            ("projectile_lifetime_s", self.projectile_lifetime_s),
        ];
        let mut bad: Vec<String> = positive
            .iter()
            .filter(|(_, v)| !(v.is_finite() && *v > 0.0))
            .map(|(k, v)| format!("{k} must be a positive number (got {v})"))
            .collect();
        let non_negative = [
            ("friction", self.friction),
            ("fire_cooldown_s", self.fire_cooldown_s),
            ("respawn_delay_s", self.respawn_delay_s),
            ("spawn_clearance", self.spawn_clearance),
        ];
        bad.extend(
            non_negative
                .iter()
                .filter(|(_, v)| !(v.is_finite() && *v >= 0.0))
                .map(|(k, v)| format!("{k} must be zero or more (got {v})")),
        );
        if self.max_health == 0 {
            bad.push("max_health must be at least 1".into());
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(bad.join("; "))
        }
    }
}
