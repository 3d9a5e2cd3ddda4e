//! Lag compensation in the shooter: a shot is judged against the moment its shooter saw, and
//! the traps of rewinding (off by one tick, rewinding the shooter, respawns inside the window)
//! each have a test here.

use std::sync::Arc;

use arena_shared::shooter::{Command, GameEvent, Map, PlayerInput, Rules, World};
use arena_shared::{EntityId, Rewind};
use glam::Vec2;

const TICK_RATE: u32 = 30;
const STEPS: u32 = Rewind::STEPS_PER_TICK;

/// A long corridor: the target spawns at the west end and runs east along y = 300; the shooter
/// stands at x = 1000, 30 units north of the target's path, aiming straight south, so its shot
/// crosses the path within its first tick of flight.
const CORRIDOR: &str = "size 2000 600\nspawn 1000 270\nspawn 200 300\n";
const SHOOTER_X: f32 = 1000.0;

fn world(rules: Rules) -> (World, EntityId, EntityId) {
    let map = Map::parse(CORRIDOR).expect("test map parses");
    let mut w = World::new(Arc::new(map), rules, TICK_RATE, 11);
    let a = w.apply(Command::Join { name: "a".into() }).expect("id");
    let b = w.apply(Command::Join { name: "b".into() }).expect("id");
    let pos = |id| w.player(id).expect("joined").pos;
    let (shooter, target) = if pos(a).x > pos(b).x { (a, b) } else { (b, a) };
    assert_eq!(pos(shooter), Vec2::new(1000.0, 270.0));
    (w, shooter, target)
}

fn input(move_dir: Vec2, aim: Vec2, fire: bool) -> PlayerInput {
    PlayerInput {
        move_dir,
        aim,
        fire,
    }
}

/// Hits in the events of one step.
fn step_hits(w: &mut World) -> Vec<GameEvent> {
    w.step();
    w.drain_events()
        .filter(|e| matches!(e, GameEvent::Hit { .. }))
        .collect()
}

/// Whether a shot from the shooter straight south, in its first tick of flight, touches a
/// target at `x` on the path (the world's own rule: the segment within player plus projectile
/// radius of the centre).
fn grazes(rules: &Rules, x: f32) -> bool {
    let reach = rules.player_radius + rules.projectile_radius;
    let end = Vec2::new(SHOOTER_X, 270.0 + rules.projectile_speed / TICK_RATE as f32);
    end.distance(Vec2::new(x, 300.0)) < reach
}

/// The target running east: its position after every tick from now until it is well past the
/// shooter, and the tick `seen` at which it is last in the line of fire.
fn run_past(w: &World, target: EntityId, rules: &Rules) -> (Vec<(u64, Vec2)>, u64) {
    let mut probe = w.clone();
    let mut track = Vec::new();
    while probe.player(target).expect("target").pos.x < SHOOTER_X + 200.0 {
        probe.step();
        track.push((probe.tick(), probe.player(target).expect("target").pos));
    }
    let seen = track
        .windows(2)
        .find(|pair| grazes(rules, pair[0].1.x) && !grazes(rules, pair[1].1.x))
        .map(|pair| pair[0].0)
        .expect("the target crosses the line of fire");
    (track, seen)
}

/// Steps `w` until the input applied next lands in tick `applied`.
fn step_until_applied_in(w: &mut World, applied: u64) {
    while w.tick() + 1 < applied {
        w.step();
    }
    w.drain_events().for_each(drop);
}

fn position_at(track: &[(u64, Vec2)], tick: u64) -> Vec2 {
    track
        .iter()
        .find(|(t, _)| *t == tick)
        .map(|(_, p)| *p)
        .expect("tracked")
}

/// Setup shared by the timing tests: the target running east, the shooter aiming south with
/// its trigger released.
fn running() -> (World, EntityId, EntityId, Rules) {
    let rules = Rules::default();
    let (mut w, shooter, target) = world(rules.clone());
    w.input(target, input(Vec2::X, Vec2::X, false), Rewind::NONE);
    w.input(shooter, input(Vec2::ZERO, Vec2::Y, false), Rewind::NONE);
    (w, shooter, target, rules)
}

#[test]
fn a_late_shot_hits_where_its_shooter_saw_the_target_to_the_tick() {
    let (w, shooter, target, rules) = running();
    let (track, seen) = run_past(&w, target, &rules);
    for late in [1, 5, 9] {
        let applied = seen + late;
        let mut w = w.clone();
        step_until_applied_in(&mut w, applied);
        let rewind = Rewind(late as u32 * STEPS);
        w.input(shooter, input(Vec2::ZERO, Vec2::Y, true), rewind);
        let hits = step_hits(&mut w);
        assert_eq!(
            hits,
            [GameEvent::Hit {
                shooter,
                victim: target,
                damage: rules.projectile_damage,
                health: rules.max_health - rules.projectile_damage,
                at: position_at(&track, seen),
            }],
            "applied {late} ticks after the tick seen"
        );
    }
}

#[test]
fn one_tick_too_little_rewind_misses_so_the_tick_seen_is_not_off_by_one() {
    let (w, shooter, target, rules) = running();
    let (_, seen) = run_past(&w, target, &rules);
    let late = 5;
    for (rewind, hit) in [(late, true), (late - 1, false), (0, false)] {
        let mut w = w.clone();
        step_until_applied_in(&mut w, seen + late);
        w.input(
            shooter,
            input(Vec2::ZERO, Vec2::Y, true),
            Rewind(rewind as u32 * STEPS),
        );
        assert_eq!(!step_hits(&mut w).is_empty(), hit, "rewound {rewind} ticks");
    }
}

#[test]
fn between_two_ticks_the_target_is_where_clients_interpolate_it() {
    let (w, shooter, target, rules) = running();
    let (track, seen) = run_past(&w, target, &rules);
    let late = 4;
    let mut w = w.clone();
    step_until_applied_in(&mut w, seen + late);
    // Half a tick before the tick seen: the target halfway between it and the one before.
    let rewind = Rewind(late as u32 * STEPS + STEPS / 2);
    w.input(shooter, input(Vec2::ZERO, Vec2::Y, true), rewind);
    let hits = step_hits(&mut w);
    let expected = position_at(&track, seen - 1).lerp(position_at(&track, seen), 0.5);
    assert!(
        matches!(hits.as_slice(), [GameEvent::Hit { at, .. }] if *at == expected),
        "{hits:?}, expected a hit at {expected}"
    );
}

#[test]
fn the_shot_leaves_from_where_the_shooter_is_now_not_where_it_was() {
    let rules = Rules::default();
    let (mut w, shooter, _) = world(rules);
    w.input(shooter, input(Vec2::X, Vec2::Y, false), Rewind::NONE);
    for _ in 0..20 {
        w.step();
    }
    w.input(shooter, input(Vec2::X, Vec2::Y, true), Rewind(10 * STEPS));
    w.step();
    let now = w.player(shooter).expect("shooter").pos;
    let shot = w.projectiles().last().expect("fired");
    assert_eq!(shot.owner, shooter);
    // It moved one tick of flight south from the shooter's present position.
    assert_eq!(shot.pos.x, now.x, "{shot:?} from {now}");
    assert!(shot.pos.y > now.y);
}

/// Two spawn points 30 units apart: a shooter aiming south at the other has it in the line of
/// fire.
const STANDOFF: &str = "size 600 600\nspawn 300 270\nspawn 300 300\n";

/// The players of [`STANDOFF`]: shooter (north), target (south).
fn standoff(w: &mut World) -> (EntityId, EntityId) {
    let a = w.apply(Command::Join { name: "a".into() }).expect("id");
    let b = w.apply(Command::Join { name: "b".into() }).expect("id");
    if w.player(a).expect("a").pos.y < 285.0 {
        (a, b)
    } else {
        (b, a)
    }
}

/// A target standing still in the line of fire is killed, and respawns at the same spot (the
/// only spawn point free of the shooter) after three ticks.
#[test]
fn a_player_who_died_or_respawned_since_the_moment_seen_cannot_be_hit_there() {
    let rules = Rules {
        respawn_delay_s: 0.1,
        fire_cooldown_s: 0.0,
        projectile_damage: 100,
        ..Rules::default()
    };
    let map = Map::parse(STANDOFF).expect("map parses");
    let mut w = World::new(Arc::new(map), rules.clone(), TICK_RATE, 3);
    let (shooter, target) = standoff(&mut w);
    w.step();
    let alive_since = w.tick();
    w.input(shooter, input(Vec2::ZERO, Vec2::Y, true), Rewind::NONE);
    let died = loop {
        let kills: Vec<_> = {
            w.step();
            w.drain_events().collect()
        };
        if kills.iter().any(|e| matches!(e, GameEvent::Killed { .. })) {
            break w.tick();
        }
        assert!(w.tick() < alive_since + 10, "the target dies");
    };
    w.input(shooter, input(Vec2::ZERO, Vec2::Y, false), Rewind::NONE);
    while !w.player(target).expect("target").alive {
        w.step();
    }
    let respawned = w.tick();
    assert_eq!(
        w.player(target).expect("target").pos,
        Vec2::new(300.0, 300.0)
    );
    w.drain_events().for_each(drop);

    // Seen alive in its previous life (before it died), dead, then alive again now.
    for seen in [died - 1, died, respawned - 1] {
        let mut w = w.clone();
        let applied = w.tick() + 1;
        let rewind = Rewind(((applied - seen) * u64::from(STEPS)) as u32);
        w.input(shooter, input(Vec2::ZERO, Vec2::Y, true), rewind);
        assert_eq!(step_hits(&mut w), [], "seen at tick {seen} (died {died})");
    }
    // Seen in its present life: hit.
    let mut w = w.clone();
    w.step();
    w.input(shooter, input(Vec2::ZERO, Vec2::Y, true), Rewind(STEPS));
    assert_eq!(step_hits(&mut w).len(), 1, "seen in its present life");
}

#[test]
fn a_rewind_past_the_history_kept_is_cut_to_it() {
    let map = Map::parse(STANDOFF).expect("map parses");
    let mut w = World::new(Arc::new(map), Rules::default(), TICK_RATE, 5);
    let (shooter, target) = standoff(&mut w);
    // The target stands in the line of fire for two seconds, then runs out of it.
    for _ in 0..2 * TICK_RATE {
        w.step();
    }
    w.input(target, input(Vec2::X, Vec2::X, false), Rewind::NONE);
    for _ in 0..TICK_RATE / 2 {
        w.step();
    }
    w.drain_events().for_each(drop);
    // A ten-second claim is judged one second (Rewind::MAX_MS) back, when it still stood there;
    // judged against the present, the same shot misses.
    for (claim, hits) in [(10 * TICK_RATE * STEPS, 1), (0, 0)] {
        let mut w = w.clone();
        w.input(shooter, input(Vec2::ZERO, Vec2::Y, true), Rewind(claim));
        assert_eq!(step_hits(&mut w).len(), hits, "claimed {claim} steps");
    }
}

#[test]
fn the_engine_bounds_a_claim_by_the_round_trip_it_measured_and_its_cap() {
    // Applied at tick 100 from a client that held snapshot 96 and drew 1.5 ticks behind it.
    assert_eq!(Rewind::claimed(100, 96, 96, 12), Rewind(4 * STEPS + 96));
    // No snapshot yet, or compensation off: the present.
    assert_eq!(Rewind::claimed(100, 0, 96, 12), Rewind::NONE);
    assert_eq!(Rewind::claimed(100, 96, 96, 0), Rewind::NONE);
    // A snapshot from the future is the present tick's.
    assert_eq!(Rewind::claimed(100, 500, 0, 12), Rewind::NONE);
    // Fake lag buys at most the cap.
    assert_eq!(Rewind::claimed(100, 1, u16::MAX, 12), Rewind(12 * STEPS));
    assert_eq!(Rewind::claimed(100, 99, u16::MAX, 12), Rewind(12 * STEPS));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// A rewound shot finds its candidates in the present grid searched wider by how far a
    /// player can move per tick rewound (`2 * max_speed * dt + 1`): no player may outrun it,
    /// walls, corners and rounding included.
    #[test]
    fn no_player_moves_farther_in_a_tick_than_the_rewind_search_allows(
        seed in 0u64..1_000,
        turns in proptest::collection::vec((-1.0f32..1.0, -1.0f32..1.0, 1u32..40), 1..12),
    ) {
        let rules = Rules::default();
        let bound = 2.0 * rules.max_speed / TICK_RATE as f32 + 1.0;
        let mut w = World::new(Arc::new(Map::default_map()), rules, TICK_RATE, seed);
        let p = w.apply(Command::Join { name: "p".into() }).expect("id");
        for (x, y, ticks) in turns {
            w.input(p, input(Vec2::new(x, y) * 4.0, Vec2::X, false), Rewind::NONE);
            for _ in 0..ticks {
                let before = w.player(p).expect("p").pos;
                w.step();
                let moved = w.player(p).expect("p").pos.distance(before);
                proptest::prop_assert!(moved <= bound, "moved {} > {}", moved, bound);
            }
        }
    }
}

#[test]
fn the_history_is_one_second_of_living_players_and_stays_that_size() {
    let mut w = World::new(Arc::new(Map::default_map()), Rules::default(), TICK_RATE, 9);
    let ids: Vec<_> = (0..16)
        .filter_map(|i| {
            w.apply(Command::Join {
                name: format!("p{i}"),
            })
        })
        .collect();
    for (i, &p) in ids.iter().enumerate() {
        let dir = Vec2::from_angle(i as f32);
        w.input(p, input(dir, dir, true), Rewind(3 * STEPS));
    }
    let mut sizes = Vec::new();
    for _ in 0..10 {
        for _ in 0..TICK_RATE {
            w.step();
            w.drain_events().for_each(drop);
        }
        sizes.push(w.history_bytes());
    }
    // 31 frames of at most 16 players of 16 bytes, plus the frames themselves.
    let bound = 31 * (16 * 16 + 40);
    assert!(sizes.iter().all(|&b| b <= bound), "{sizes:?} > {bound}");
    assert!(
        sizes[9] >= 31 * 16 * 8,
        "{sizes:?}: a second of frames is kept"
    );
}

#[test]
fn a_saved_world_restores_and_plays_on_exactly_rewinds_and_all() {
    let rules = Rules::default();
    let map = Arc::new(Map::default_map());
    let mut w = World::new(map.clone(), rules.clone(), TICK_RATE, 4);
    let ids: Vec<_> = (0..12)
        .filter_map(|i| {
            w.apply(Command::Join {
                name: format!("p{i}"),
            })
        })
        .collect();
    let steer = |w: &mut World, t: u32| {
        for (i, &p) in ids.iter().enumerate() {
            let dir = Vec2::from_angle(i as f32 + t as f32 * 0.05);
            w.input(
                p,
                input(dir, dir, i % 2 == 0),
                Rewind((i as u32 % 5) * STEPS),
            );
        }
    };
    for t in 0..150 {
        steer(&mut w, t);
        w.step();
        w.drain_events().for_each(drop);
    }
    let saved = w.save().expect("saves");
    let mut restored = World::restore(map, rules, TICK_RATE, &saved).expect("restores");
    assert_eq!(restored.save(), Some(saved));
    for t in 150..300 {
        steer(&mut w, t);
        steer(&mut restored, t);
        w.step();
        restored.step();
        assert_eq!(restored.state_hash(), w.state_hash(), "tick {}", w.tick());
        let (a, b): (Vec<_>, Vec<_>) = (
            w.drain_events().collect(),
            restored.drain_events().collect(),
        );
        assert_eq!(a, b);
    }
}
