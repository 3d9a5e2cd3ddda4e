//! How a bot plays: from the latest snapshot to the next input.

use std::time::{Duration, Instant};

use arena_shared::{Entity, EntityId, EntityKind, PlayerInput};
use glam::Vec2;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// A bot's play style.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Behavior {
    /// Roam in random directions, firing now and then.
    Wander,
    /// Hunt the nearest living player and shoot at it.
    Chase,
    /// Half the bots wander, half chase.
    Mixed,
}

/// Distance under which a chaser stops closing in and circles instead.
const CHASE_STANDOFF: f32 = 140.0;
/// Distance under which a chaser opens fire.
const CHASE_FIRE_RANGE: f32 = 650.0;

/// One bot's decision state.
pub struct Brain {
    chase: bool,
    heading: Vec2,
    next_turn: Instant,
    /// Circling direction around a target: +1 or -1.
    orbit: f32,
}

impl Brain {
    /// A brain for bot number `index` with the fleet's behaviour.
    pub fn new(behavior: Behavior, index: usize, rng: &mut impl Rng) -> Self {
        let chase = match behavior {
            Behavior::Wander => false,
            Behavior::Chase => true,
            Behavior::Mixed => index % 2 == 0,
        };
        Self {
            chase,
            heading: random_unit(rng),
            next_turn: Instant::now(),
            orbit: if rng.random_bool(0.5) { 1.0 } else { -1.0 },
        }
    }

    /// The input for the entities the bot sees (`view`), where `me` is the bot's own entity.
    pub fn decide(&mut self, me: EntityId, view: &[Entity], rng: &mut impl Rng) -> PlayerInput {
        let Some(own) = view.iter().find(|e| e.id == me) else {
            return PlayerInput::default();
        };
        if self.chase {
            let target = view
                .iter()
                .filter(|e| e.id != me && matches!(e.kind, EntityKind::Player { alive: true, .. }))
                .min_by(|a, b| {
                    a.pos
                        .distance_squared(own.pos)
                        .total_cmp(&b.pos.distance_squared(own.pos))
                });
            if let Some(target) = target {
                let to = target.pos - own.pos;
                let dist = to.length();
                let dir = to.normalize_or_zero();
                let move_dir = if dist > CHASE_STANDOFF {
                    dir
                } else {
                    dir.perp() * self.orbit
                };
                return PlayerInput {
                    move_dir,
                    aim: dir,
                    fire: dist < CHASE_FIRE_RANGE,
                };
            }
        }
        let now = Instant::now();
        // Turn on schedule, or at once when a wall has stopped us.
        let stuck = own.vel.length_squared() < 100.0;
        if now >= self.next_turn || stuck && rng.random_bool(0.2) {
            self.heading = random_unit(rng);
            self.next_turn = now + Duration::from_millis(rng.random_range(800..2500));
        }
        PlayerInput {
            move_dir: self.heading,
            aim: self.heading,
            fire: rng.random_bool(0.05),
        }
    }
}

fn random_unit(rng: &mut impl Rng) -> Vec2 {
    let angle = rng.random_range(0.0..std::f32::consts::TAU);
    Vec2::from_angle(angle)
}
