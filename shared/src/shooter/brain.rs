//! How a shooter bot plays: from the latest snapshot to the next input.
//!
//! Styles: `chase` hunts the nearest living player and shoots at it; `wander` roams in random
//! directions, firing now and then; `mixed` (the default) makes even-numbered bots chase.

use glam::Vec2;
use rand::{Rng, RngCore};

use crate::game::{EntityId, Tally};
use crate::shooter::{Entity, EntityKind, GameEvent, PlayerInput, World};

/// Distance under which a chaser stops closing in and circles instead.
const CHASE_STANDOFF: f32 = 140.0;
/// Distance under which a chaser opens fire.
const CHASE_FIRE_RANGE: f32 = 650.0;

/// One bot's decision state.
#[derive(Clone, Debug)]
pub struct Brain {
    chase: bool,
    heading: Vec2,
    /// When to pick a new heading, in seconds since the bot started.
    next_turn: f64,
    /// Circling direction around a target: +1 or -1.
    orbit: f32,
    /// The newest of the bot's projectiles counted as a shot: ids only grow, so a projectile
    /// above it is new.
    newest_shot: EntityId,
}

impl crate::game::Brain<World> for Brain {
    fn new(
        _: &crate::shooter::Settings,
        style: &str,
        index: usize,
        mut rng: &mut dyn RngCore,
    ) -> Self {
        let chase = match style {
            "wander" => false,
            "chase" => true,
            _ => index % 2 == 0,
        };
        Self {
            chase,
            heading: random_unit(&mut rng),
            next_turn: 0.0,
            orbit: if rng.random_bool(0.5) { 1.0 } else { -1.0 },
            newest_shot: EntityId(0),
        }
    }

    /// Shots are the bot's projectiles as snapshots first show them. A projectile is in view
    /// from the tick it is fired (it starts at the shooter), but one that hits within the
    /// snapshot interval it was fired in is never seen: at the chase range (140 units and up,
    /// 24 units of flight per tick) that takes a target closer than 68 units, so few are missed.
    fn tally(&mut self, me: EntityId, view: &[Entity], events: &[&GameEvent]) -> Tally {
        let mut tally = Tally::default();
        for e in view {
            if let EntityKind::Projectile { owner } = e.kind
                && owner == me
                && e.id > self.newest_shot
            {
                self.newest_shot = e.id;
                tally.shots += 1;
            }
        }
        tally.hits = events
            .iter()
            .filter(|e| matches!(e, GameEvent::Hit { shooter, victim, .. } if *shooter == me && *victim != me))
            .count() as u32;
        tally
    }

    fn decide(
        &mut self,
        me: EntityId,
        view: &[Entity],
        now: f64,
        mut rng: &mut dyn RngCore,
    ) -> PlayerInput {
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
        // Turn on schedule, or at once when a wall has stopped us.
        let stuck = own.vel.length_squared() < 100.0;
        if now >= self.next_turn || stuck && rng.random_bool(0.2) {
            self.heading = random_unit(&mut rng);
            self.next_turn = now + rng.random_range(0.8..2.5);
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
