//! The simulation's rules and its determinism, through the public API a room uses.

use std::sync::Arc;

use arena_shared::EntityId;
use arena_shared::shooter::{Command, GameEvent, Map, PlayerInput, Rules, World};
use glam::Vec2;
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

const TICK_RATE: u32 = 30;

fn world(map_text: &str, seed: u64) -> World {
    let map = Map::parse(map_text).expect("test map parses");
    World::new(Arc::new(map), Rules::default(), TICK_RATE, seed)
}

fn join(world: &mut World, name: &str) -> EntityId {
    world
        .apply(Command::Join { name: name.into() })
        .expect("join returns an id")
}

fn hold(world: &mut World, player: EntityId, move_dir: Vec2, aim: Vec2, fire: bool) {
    world.apply(Command::Input {
        player,
        input: PlayerInput {
            move_dir,
            aim,
            fire,
        },
    });
}

fn run(world: &mut World, ticks: u32) -> Vec<GameEvent> {
    let mut events = Vec::new();
    for _ in 0..ticks {
        world.step();
        events.extend(world.drain_events());
    }
    events
}

/// An open 600 x 400 arena with two spawn points 300 units apart on one horizontal line.
const DUEL: &str = "size 600 400\nspawn 150 200\nspawn 450 200\n";

/// The duel players ordered west, east.
fn duel(world: &mut World) -> (EntityId, EntityId) {
    let a = join(world, "a");
    let b = join(world, "b");
    let pa = world.player(a).expect("a").pos;
    let pb = world.player(b).expect("b").pos;
    assert_ne!(pa, pb, "second player must take the free spawn");
    if pa.x < pb.x { (a, b) } else { (b, a) }
}

#[test]
fn a_player_stops_at_a_wall_and_slides_along_it() {
    // Wall from x=300, player spawns at x=200 and runs right and down into it.
    let mut w = world("size 600 600\nwall 300 0 50 600\nspawn 200 100\n", 1);
    let p = join(&mut w, "p");
    hold(&mut w, p, Vec2::new(1.0, 1.0).normalize(), Vec2::X, false);
    run(&mut w, 60);
    let player = w.player(p).expect("player");
    let radius = Rules::default().player_radius;
    assert!(
        player.pos.x <= 300.0 - radius + 1e-3,
        "inside the wall: {}",
        player.pos
    );
    assert!(
        player.pos.x >= 300.0 - radius - 1.0,
        "did not reach the wall: {}",
        player.pos
    );
    assert!(
        player.pos.y > 300.0,
        "did not slide down the wall: {}",
        player.pos
    );
    assert!(
        player.vel.x.abs() < 1e-3,
        "still moving into the wall: {}",
        player.vel
    );
}

#[test]
fn the_border_is_a_wall() {
    let mut w = world("size 300 300\nspawn 150 150\n", 1);
    let p = join(&mut w, "p");
    hold(&mut w, p, Vec2::new(-1.0, -1.0), Vec2::X, false);
    run(&mut w, 90);
    let pos = w.player(p).expect("player").pos;
    let r = Rules::default().player_radius;
    assert!((pos - Vec2::splat(r)).abs().max_element() < 1e-3, "{pos}");
}

#[test]
fn shots_hit_kill_score_and_the_victim_respawns() {
    let mut w = world(DUEL, 7);
    let (shooter, victim) = duel(&mut w);
    let rules = Rules::default();
    hold(&mut w, shooter, Vec2::ZERO, Vec2::X, true);
    let shots_to_kill = u32::from(rules.max_health.div_ceil(rules.projectile_damage));
    // Enough ticks for the cooldowns plus the flight time, but well under the respawn delay.
    let events = run(&mut w, shots_to_kill * 8 + 15);
    let hits: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, GameEvent::Hit { .. }))
        .collect();
    assert_eq!(hits.len() as u32, shots_to_kill, "{events:?}");
    let victim_at = w.player(victim).expect("victim").pos;
    assert!(events.contains(&GameEvent::Hit {
        shooter,
        victim,
        damage: 25,
        health: 0,
        at: victim_at,
    }));
    assert!(events.contains(&GameEvent::Killed {
        killer: shooter,
        victim
    }));
    assert_eq!(w.player(shooter).expect("shooter").score, 1);
    let dead = w.player(victim).expect("victim");
    assert!(!dead.alive && dead.health == 0 && dead.deaths == 1);

    hold(&mut w, shooter, Vec2::ZERO, Vec2::X, false);
    let later = run(
        &mut w,
        (rules.respawn_delay_s * TICK_RATE as f32) as u32 + 2,
    );
    assert!(
        later
            .iter()
            .any(|e| matches!(e, GameEvent::Respawned { player, .. } if *player == victim))
    );
    let back = w.player(victim).expect("victim");
    assert!(back.alive && back.health == rules.max_health);
}

#[test]
fn projectiles_stop_at_walls() {
    let mut w = world(
        "size 600 400\nwall 280 100 40 200\nspawn 150 200\nspawn 450 200\n",
        7,
    );
    let (shooter, victim) = duel(&mut w);
    hold(&mut w, shooter, Vec2::ZERO, Vec2::X, true);
    let events = run(&mut w, 120);
    assert!(
        !events.iter().any(|e| matches!(e, GameEvent::Hit { .. })),
        "{events:?}"
    );
    assert_eq!(
        w.player(victim).expect("victim").health,
        Rules::default().max_health
    );
    // Every shot died at the wall: none is ever past it.
    assert!(w.projectiles().iter().all(|s| s.pos.x <= 280.0));
}

#[test]
fn projectiles_expire() {
    let mut w = world("size 4000 400\nspawn 100 200\n", 3);
    let p = join(&mut w, "p");
    hold(&mut w, p, Vec2::ZERO, Vec2::X, true);
    run(&mut w, 1);
    hold(&mut w, p, Vec2::ZERO, Vec2::X, false);
    assert_eq!(w.projectiles().len(), 1);
    let lifetime_ticks = (Rules::default().projectile_lifetime_s * TICK_RATE as f32) as u32;
    run(&mut w, lifetime_ticks + 1);
    assert!(w.projectiles().is_empty());
}

#[test]
fn hostile_inputs_cannot_break_the_world() {
    let mut w = world(DUEL, 1);
    let p = join(&mut w, "p");
    hold(
        &mut w,
        p,
        Vec2::new(f32::NAN, f32::INFINITY),
        Vec2::new(f32::NAN, 0.0),
        true,
    );
    run(&mut w, 5);
    hold(&mut w, p, Vec2::new(1e30, 0.0), Vec2::new(1e-30, 0.0), true);
    run(&mut w, 30);
    let player = w.player(p).expect("player");
    assert!(player.pos.is_finite() && player.vel.is_finite() && player.aim.is_finite());
    assert!(player.vel.length() <= Rules::default().max_speed + 1e-3);
}

#[test]
fn leaving_removes_the_player_quietly() {
    let mut w = world(DUEL, 1);
    let (a, b) = duel(&mut w);
    w.drain_events().for_each(drop);
    w.apply(Command::Leave { player: a });
    assert!(w.player(a).is_none() && w.player(b).is_some());
    // Leaves are the room's events (`RoomEvent::Left`), not the game's.
    assert_eq!(w.drain_events().count(), 0);
}

/// A command log: at each tick, the commands applied before stepping it.
fn replay(seed: u64, log: &[Vec<Command>]) -> (u64, Vec<u64>) {
    let mut w = world(arena_shared::shooter::map::DEFAULT_MAP_TEXT, seed);
    let hashes = log
        .iter()
        .map(|commands| {
            for c in commands {
                w.apply(c.clone());
            }
            w.step();
            w.drain_events().for_each(drop);
            w.state_hash()
        })
        .collect();
    (w.state_hash(), hashes)
}

fn arb_input() -> impl Strategy<Value = PlayerInput> {
    (
        -1.0f32..1.0,
        -1.0f32..1.0,
        -1.0f32..1.0,
        -1.0f32..1.0,
        any::<bool>(),
    )
        .prop_map(|(mx, my, ax, ay, fire)| PlayerInput {
            move_dir: Vec2::new(mx, my),
            aim: Vec2::new(ax, ay),
            fire,
        })
}

/// Logs of 8 players joining, then random inputs (and a leave or two) for 150 ticks.
fn arb_log() -> impl Strategy<Value = Vec<Vec<Command>>> {
    proptest::collection::vec(
        proptest::collection::vec((1u32..=8, arb_input(), 0u8..40), 0..4),
        150,
    )
    .prop_map(|ticks| {
        let mut log: Vec<Vec<Command>> = vec![
            (0..8)
                .map(|i| Command::Join {
                    name: format!("p{i}"),
                })
                .collect(),
        ];
        log.extend(ticks.into_iter().map(|cmds| {
            cmds.into_iter()
                .map(|(id, input, roll)| {
                    let player = EntityId(id);
                    if roll == 0 {
                        Command::Leave { player }
                    } else {
                        Command::Input { player, input }
                    }
                })
                .collect()
        }));
        log
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, rng_seed: RngSeed::Fixed(0xA7E4A), ..ProptestConfig::default() })]

    #[test]
    fn same_seed_and_commands_give_the_same_world_at_every_tick(seed in any::<u64>(), log in arb_log()) {
        let (final_a, ticks_a) = replay(seed, &log);
        let (final_b, ticks_b) = replay(seed, &log);
        prop_assert_eq!(final_a, final_b);
        prop_assert_eq!(ticks_a, ticks_b);
    }

    /// Prediction is exact only if the state the server continues from is the state it sends.
    #[test]
    fn every_entity_stays_at_wire_precision(seed in any::<u64>(), log in arb_log()) {
        use arena_shared::quant::{snap_pos, snap_vel};
        let mut w = World::new(Arc::new(Map::default_map()), Rules::default(), 30, seed);
        let mut entities = Vec::new();
        for commands in &log {
            for c in commands {
                w.apply(c.clone());
            }
            w.step();
            entities.clear();
            w.snapshot_into(&mut entities);
            for e in &entities {
                prop_assert_eq!(e.pos, snap_pos(e.pos), "{:?} at tick {}", e, w.tick());
                prop_assert_eq!(e.vel, snap_vel(e.vel), "{:?} at tick {}", e, w.tick());
            }
        }
    }
}

#[test]
fn a_different_seed_gives_a_different_world() {
    let log: Vec<Vec<Command>> = std::iter::once(
        (0..8)
            .map(|i| Command::Join {
                name: format!("p{i}"),
            })
            .collect(),
    )
    .chain(std::iter::repeat_n(vec![], 10))
    .collect();
    assert_ne!(replay(1, &log).0, replay(2, &log).0);
}
