//! Golden values: the simulation's and the quantisation's results, pinned bit for bit.
//!
//! Client prediction is exact only if every client and the server compute the same floats, so
//! the simulation uses no platform maths library (see `quant::aim_to_wire` and `Mover::new`).
//! These tests pin what it computes, on every platform CI runs on. A failure means results
//! changed: if that was not the intent, find the change; if it was (new rules, a new map, a
//! changed step), update the constants below and say why in the commit message, because old
//! replays and clients built before the change no longer agree with the new server.

use std::hash::Hasher;
use std::sync::Arc;

use arena_shared::EntityId;
use arena_shared::quant::{aim_from_wire, aim_to_wire};
use arena_shared::shooter::{Command, GameEvent, Map, PlayerInput, Rules, World};
use fnv::FnvHasher;
use glam::Vec2;

const TICK_RATE: u32 = 30;
const SEED: u64 = 0x00C0_FFEE_2024;
const TICKS: u64 = 600;

/// `World::state_hash()` after each of these ticks of [`scenario`]. The last is the final state.
const CHECKPOINTS: [(u64, u64); 6] = [
    (100, 0x6aa227c6627b5726),
    (200, 0xa1b1ed3b2ba53f9e),
    (300, 0x6bceba3e0f15466d),
    (400, 0xba90ee5711dc8d4e),
    (500, 0x6757528922868c9f),
    (600, 0xc68a30a6d7f95755),
];

/// FNV-1a of the quantisation sweep in [`quantisation_is_pinned`].
const QUANT_HASH: u64 = 0xf4c47f5cb462da86;

const WHAT_TO_DO: &str = "the simulation's results changed. If unintended, find the change \
    (a platform maths call, a reordered float expression, a new dependency version). If \
    intended, paste the values printed above into tests/golden.rs and say why in the commit \
    message: replays and clients built before the change no longer agree with the server.";

/// Directions of travel, deliberately not all unit length or axis-aligned.
const MOVES: [Vec2; 10] = [
    Vec2::new(1.0, 0.0),
    Vec2::new(0.6, 0.8),
    Vec2::new(0.0, 1.0),
    Vec2::new(-0.3, 0.7),
    Vec2::new(-1.0, 0.25),
    Vec2::new(-0.5, -0.5),
    Vec2::new(0.0, -1.0),
    Vec2::new(0.9, -0.2),
    Vec2::new(0.0, 0.0),
    Vec2::new(3.0, 2.0),
];

/// Fixed aims at awkward angles, for the ticks a player is not aiming at anyone.
const AIMS: [Vec2; 6] = [
    Vec2::new(3.0, -7.0),
    Vec2::new(-0.001, 1.0),
    Vec2::new(-5.0, -0.2),
    Vec2::new(1e-3, 2e-3),
    Vec2::new(0.75, 0.7),
    Vec2::new(-123.0, 45.0),
];

/// Who joins at which tick (before that tick is stepped).
const JOINS: [(u64, &str); 6] = [
    (0, "ann"),
    (0, "bob"),
    (15, "cat"),
    (40, "dan"),
    (90, "eve"),
    (330, "fay"),
];

/// `bob` leaves before this tick.
const BOB_LEAVES: u64 = 360;

/// Event counts over the whole scenario.
#[derive(Debug, Default)]
struct Tally {
    hits: u32,
    kills: u32,
    respawns: u32,
    leaves: u32,
}

/// The scripted input of the player in join slot `slot` at `tick`: a fixed function of the tick,
/// the slot and the (quantised) positions in the world, so it is as deterministic as the world.
fn script(world: &World, slot: usize, me: EntityId, tick: u64) -> PlayerInput {
    let pos = world.player(me).expect("scripted player exists").pos;
    let nearest = world
        .players()
        .filter(|p| p.id != me && p.alive)
        .map(|p| p.pos - pos)
        .min_by(|a, b| a.length_squared().total_cmp(&b.length_squared()));
    let phase = (tick / 20) as usize + slot * 3;
    let move_dir = match (nearest, phase % 4) {
        // Close in on the nearest opponent half the time, so fights happen.
        (Some(d), 0 | 1) => d,
        _ => MOVES[phase % MOVES.len()],
    };
    let aim = match (nearest, (tick / 15) as usize % 5) {
        (Some(d), 0 | 1) => d,
        // Slightly off target on either side: angles no table would hit.
        (Some(d), 2) => d + d.perp() * 0.03,
        (Some(d), 3) => d - d.perp() * 0.07,
        _ => AIMS[(phase + tick as usize) % AIMS.len()],
    };
    let fire = (tick + slot as u64 * 7) % 12 < 9;
    PlayerInput {
        move_dir,
        aim,
        fire,
    }
}

/// Runs the scripted match; returns the state hash after every tick (index 0 is tick 1) and the
/// event tally.
fn scenario() -> (Vec<u64>, Tally) {
    let mut world = World::new(
        Arc::new(Map::default_map()),
        Rules::default(),
        TICK_RATE,
        SEED,
    );
    let mut slots: Vec<Option<EntityId>> = Vec::new();
    let mut tally = Tally::default();
    let mut hashes = Vec::new();
    for tick in 0..TICKS {
        for &(_, name) in JOINS.iter().filter(|(at, _)| *at == tick) {
            let id = world.apply(Command::Join { name: name.into() });
            slots.push(Some(id.expect("join returns an id")));
        }
        if tick == BOB_LEAVES {
            let bob = slots[1].take().expect("bob is still here");
            world.apply(Command::Leave { player: bob });
            tally.leaves += 1;
        }
        for (slot, id) in slots.iter().enumerate() {
            let Some(id) = *id else { continue };
            let input = script(&world, slot, id, tick);
            world.apply(Command::Input { player: id, input });
        }
        world.step();
        for event in world.drain_events() {
            match event {
                GameEvent::Hit { .. } => tally.hits += 1,
                GameEvent::Killed { .. } => tally.kills += 1,
                GameEvent::Respawned { .. } => tally.respawns += 1,
            }
        }
        hashes.push(world.state_hash());
    }
    (hashes, tally)
}

#[test]
fn scripted_match_is_pinned() {
    let (hashes, tally) = scenario();
    assert!(
        tally.kills >= 1 && tally.respawns >= 1 && tally.leaves == 1,
        "the scenario must exercise hits, kills, respawns and a leave: {tally:?}"
    );
    let actual: Vec<(u64, u64)> = CHECKPOINTS
        .iter()
        .map(|&(tick, _)| (tick, hashes[tick as usize - 1]))
        .collect();
    if let Some(((tick, want), (_, got))) = CHECKPOINTS
        .iter()
        .zip(&actual)
        .find(|(want, got)| want.1 != got.1)
    {
        let printed: String = actual
            .iter()
            .map(|(t, h)| format!("    ({t}, {h:#018x}),\n"))
            .collect();
        panic!(
            "state hash diverged by tick {tick}: pinned {want:#018x}, got {got:#018x} \
             ({tally:?}).\nconst CHECKPOINTS: [(u64, u64); {}] = [\n{printed}];\n{WHAT_TO_DO}",
            actual.len()
        );
    }
}

/// A running digest of everything the aim quantisation computes on a fixed sweep.
fn quant_sweep() -> u64 {
    let mut h = FnvHasher::default();
    for angle in 0..=u16::MAX {
        // cos and sin: the unit vector of every wire angle.
        let v = aim_from_wire(angle);
        h.write_u32(v.x.to_bits());
        h.write_u32(v.y.to_bits());
        // atan2 on a quantised aim, which must come back to the same angle.
        h.write_u16(aim_to_wire(v));
        // atan2 on the bisector of two neighbouring angles, which sits on a rounding boundary,
        // so a last-bit difference in atan2 changes the result.
        h.write_u16(aim_to_wire(v + aim_from_wire(angle.wrapping_add(1))));
    }
    // atan2 on 10,000 scattered, unnormalised aims of every magnitude.
    for i in 0..10_000u32 {
        let x = (i.wrapping_mul(7_919) % 2_001) as f32 - 1_000.0;
        let y = (i.wrapping_mul(104_729) % 2_003) as f32 - 1_001.0;
        let scale = [1e-3, 0.37, 1.0, 85.0][i as usize % 4];
        h.write_u16(aim_to_wire(Vec2::new(x, y) * scale));
    }
    h.finish()
}

#[test]
fn quantisation_is_pinned() {
    let got = quant_sweep();
    assert_eq!(
        got, QUANT_HASH,
        "aim quantisation changed: const QUANT_HASH: u64 = {got:#018x};\n{WHAT_TO_DO}"
    );
}
