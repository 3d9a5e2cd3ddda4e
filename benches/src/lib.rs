//! Fixtures shared by Arena's criterion benches: real worlds in a steady state, built from the
//! same code the server runs.

use std::sync::Arc;

use arena_shared::shooter::{Command, Map, PlayerInput, Rules, World};
use arena_shared::{EntityId, Rewind};
use glam::Vec2;

/// The tick rate benches simulate at (the server's default).
pub const TICK_RATE: u32 = 30;

/// `assets/maps/large.map`: the default map tiled 4 x 4, for rooms of hundreds.
pub const LARGE_MAP_TEXT: &str = include_str!("../../assets/maps/large.map");

/// The large map.
pub fn large_map() -> Map {
    Map::parse(LARGE_MAP_TEXT).expect("the large map in assets/ is valid")
}

/// A world on the default map with `players` players, a third of them firing, all moving in
/// fixed pseudo-random directions, stepped `warmup` ticks so projectiles are in flight and
/// deaths and respawns are happening.
pub fn busy_world(players: usize, warmup: u32) -> World {
    busy_world_rewound(players, warmup, Rewind::NONE)
}

/// [`busy_world`] with every player's shots judged `rewind` in the past (lag compensation),
/// as a room does for clients with that round trip plus interpolation delay.
pub fn busy_world_rewound(players: usize, warmup: u32, rewind: Rewind) -> World {
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
        world.input(player, input, rewind);
    }
    for _ in 0..warmup {
        world.step();
        world.drain_events().for_each(drop);
    }
    world
}

/// A world whose players keep changing course like bots do: each turns to a new heading every
/// 1.5 s (at its own phase) and sweeps its aim every tick; a third of them fire. Deterministic,
/// so every run measures the same ticks.
pub struct Game {
    /// The world.
    pub world: World,
    ids: Vec<EntityId>,
}

impl Game {
    /// `players` players on `map`, not yet stepped.
    pub fn new(map: Map, players: usize) -> Self {
        let mut world = World::new(Arc::new(map), Rules::default(), TICK_RATE, 0xA7E4A);
        let ids = (0..players)
            .filter_map(|i| {
                world.apply(Command::Join {
                    name: format!("p{i}"),
                })
            })
            .collect();
        let mut game = Self { world, ids };
        game.steer();
        game
    }

    /// Sets every player's input for the next tick.
    fn steer(&mut self) {
        let tick = self.world.tick();
        for (i, &player) in self.ids.iter().enumerate() {
            // A golden-angle spiral of directions: spread out, and the same on every run.
            let leg = (tick + i as u64 * 7) / 45;
            let heading = (i as f32 + leg as f32 * 3.7) * 2.399_963;
            let input = PlayerInput {
                move_dir: Vec2::from_angle(heading),
                aim: Vec2::from_angle(heading + tick as f32 * 0.05),
                fire: i % 3 == 0,
            };
            self.world.apply(Command::Input { player, input });
        }
    }

    /// One tick: steer, step, discard the events.
    pub fn step(&mut self) {
        self.steer();
        self.world.step();
        self.world.drain_events().for_each(drop);
    }
}
