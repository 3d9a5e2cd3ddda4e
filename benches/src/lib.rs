//! Fixtures shared by Arena's criterion benches: real worlds in a steady state, built from the
//! same code the server runs.

use std::sync::Arc;

use arena_shared::{Command, EntityId, Map, PlayerInput, Rules, World};
use glam::Vec2;

/// The tick rate benches simulate at (the server's default).
pub const TICK_RATE: u32 = 30;

/// A world on the default map with `players` players, a third of them firing, all moving in
/// fixed pseudo-random directions, stepped `warmup` ticks so projectiles are in flight and
/// deaths and respawns are happening.
pub fn busy_world(players: usize, warmup: u32) -> World {
    let mut world = World::new(
        Arc::new(Map::default_map()),
        Rules::default(),
        TICK_RATE,
        0xA7E4A,
    );
    let ids: Vec<EntityId> = (0..players)
        .filter_map(|i| {
            world.apply(Command::Join {
                name: format!("p{i}"),
            })
        })
        .collect();
    for (i, &player) in ids.iter().enumerate() {
        // A golden-angle spiral of directions: spread out, and the same on every run.
        let angle = i as f32 * 2.399_963;
        let input = PlayerInput {
            move_dir: Vec2::from_angle(angle),
            aim: Vec2::from_angle(angle * 1.7),
            fire: i % 3 == 0,
        };
        world.apply(Command::Input { player, input });
    }
    for _ in 0..warmup {
        world.step();
        world.drain_events().for_each(drop);
    }
    world
}
