//! Delta snapshots, interest management and prediction, through the public API server and bots
//! use.

use std::sync::Arc;

use arena_shared::EntityId;
use arena_shared::interest::TickView;
use arena_shared::protocol;
use arena_shared::quant::{pos_from_wire, vel_from_wire};
use arena_shared::shooter::Predictor;
use arena_shared::shooter::{
    Command, Entity, EntityDelta, EntityKind, Map, PlayerInput, Rules, ServerMsg, Snapshot, World,
};
use arena_shared::sync::{self, Replica, SyncError};
use glam::Vec2;
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

fn arb_entity(id: u32) -> impl Strategy<Value = Entity> {
    let coord = -4000i32..40_000;
    let vel = -3000i32..3000;
    (
        (coord.clone(), coord),
        (vel.clone(), vel),
        prop_oneof![
            (any::<u16>(), any::<u8>(), 0u32..5, 0u32..300, any::<bool>()).prop_map(
                |(aim, health, score, deaths, alive)| EntityKind::Player {
                    aim,
                    health,
                    score,
                    deaths,
                    alive,
                }
            ),
            (1u32..50).prop_map(|o| EntityKind::Projectile { owner: EntityId(o) }),
        ],
    )
        .prop_map(move |(p, v, kind)| Entity {
            id: EntityId(id),
            pos: pos_from_wire(p),
            vel: vel_from_wire(v),
            kind,
        })
}

/// A view: up to 60 entities with distinct ids from 1..100, sorted.
fn arb_view() -> impl Strategy<Value = Vec<Entity>> {
    proptest::collection::btree_set(1u32..100, 0..60).prop_flat_map(|ids| {
        ids.into_iter()
            .map(arb_entity)
            .collect::<Vec<_>>()
            .prop_map(|v| v)
    })
}

/// `b`, but with a random subset of its entities copied from `a` where the ids match (so views
/// share unchanged entities, as consecutive ticks do).
fn related(a: &[Entity], mut b: Vec<Entity>, keep: &[bool]) -> Vec<Entity> {
    for (i, e) in b.iter_mut().enumerate() {
        if keep.get(i).copied().unwrap_or(false)
            && let Some(old) = a.iter().find(|o| o.id == e.id)
        {
            e.clone_from(old);
        }
    }
    b
}

fn delta(tick: u64, baseline: u64, base: &[Entity], next: &[Entity]) -> Snapshot {
    let mut s = Snapshot {
        tick,
        baseline,
        ..Snapshot::default()
    };
    sync::diff(base, next, &mut s.created, &mut s.changed, &mut s.removed);
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, rng_seed: RngSeed::Fixed(21), ..ProptestConfig::default() })]

    #[test]
    fn apply_of_diff_rebuilds_the_new_view(
        a in arb_view(),
        b in arb_view(),
        keep in proptest::collection::vec(any::<bool>(), 60),
    ) {
        let b = related(&a, b, &keep);
        let s = delta(2, 1, &a, &b);
        prop_assert_eq!(sync::apply(&a, &s.created, &s.changed, &s.removed).expect("applies"), b.clone());

        // The same through the wire and a replica holding `a`.
        let bytes = protocol::encode(&ServerMsg::Snapshot(s)).expect("encodes");
        let Ok(ServerMsg::Snapshot(decoded)) = protocol::decode_server(&bytes, 1 << 20) else {
            panic!("decodes");
        };
        let mut replica = Replica::new();
        replica.apply(&delta(1, 0, &[], &a)).expect("complete snapshot applies");
        prop_assert_eq!(replica.apply(&decoded).expect("delta applies"), b.as_slice());
        prop_assert_eq!(replica.ack(), 2);
    }
}

#[test]
fn a_delta_against_a_view_the_client_lacks_is_a_gap() {
    let mut replica = Replica::new();
    let err = replica
        .apply(&Snapshot {
            tick: 5,
            baseline: 4,
            ..Snapshot::default()
        })
        .expect_err("no baseline");
    assert_eq!(
        err,
        SyncError::MissingBaseline {
            tick: 5,
            baseline: 4
        }
    );
    assert_eq!(replica.ack(), 0, "a client with a gap acknowledges nothing");
    replica
        .apply(&Snapshot {
            tick: 6,
            ..Snapshot::default()
        })
        .expect("a complete snapshot always applies");
    assert_eq!(replica.ack(), 6);
    let stale = replica.apply(&Snapshot {
        tick: 6,
        ..Snapshot::default()
    });
    assert!(matches!(stale, Err(SyncError::Stale { .. })));
}

#[test]
fn inconsistent_deltas_are_errors_not_panics() {
    let e = |id| Entity {
        id: EntityId(id),
        pos: Vec2::ZERO,
        vel: Vec2::ZERO,
        kind: EntityKind::Projectile { owner: EntityId(1) },
    };
    let base = vec![e(1), e(3)];
    let unknown = EntityDelta {
        id: EntityId(2),
        pos: Some((1, 1)),
        ..Default::default()
    };
    assert!(sync::apply(&base, &[], &[unknown], &[]).is_err());
    assert!(sync::apply(&base, &[], &[], &[EntityId(2)]).is_err());
    assert!(sync::apply(&base, &[e(3)], &[], &[]).is_err(), "duplicate");
    assert!(
        sync::apply(&base, &[e(5), e(4)], &[], &[]).is_err(),
        "unsorted"
    );
    let player_field_on_projectile = EntityDelta {
        id: EntityId(1),
        health: Some(3),
        ..Default::default()
    };
    assert!(sync::apply(&base, &[], &[player_field_on_projectile], &[]).is_err());
}

fn busy_world(players: usize, size: f32) -> (World, Vec<EntityId>) {
    let text = format!(
        "size {size} {size}\nspawn 50 50\nspawn {0} {0}\n",
        size - 50.0
    );
    let map = Map::parse(&text).expect("map");
    let mut world = World::new(Arc::new(map), Rules::default(), 30, 3);
    let ids = (0..players)
        .map(|i| {
            world
                .apply(Command::Join {
                    name: format!("p{i}"),
                })
                .expect("id")
        })
        .collect();
    (world, ids)
}

fn steer(world: &mut World, ids: &[EntityId], tick: u64) {
    for (i, &player) in ids.iter().enumerate() {
        let angle = (i as f32 * 0.7) + tick as f32 * 0.05;
        world.apply(Command::Input {
            player,
            input: PlayerInput {
                move_dir: Vec2::from_angle(angle),
                aim: Vec2::from_angle(-angle),
                fire: (tick + i as u64) % 9 == 0,
            },
        });
    }
}

#[test]
fn a_replica_follows_a_real_world_through_deltas_and_its_view_box() {
    let (mut world, ids) = busy_world(40, 3000.0);
    let me = ids[0];
    let half = Vec2::new(600.0, 400.0);
    let (mut sent, mut replica) = (sync::History::default(), Replica::new());
    let mut scratch = Vec::new();
    for tick in 0..300 {
        steer(&mut world, &ids, tick);
        world.step();
        let view = TickView::of(&world);
        let centre = view.entity(me).expect("me").pos;
        let mut visible = Vec::new();
        view.in_view(centre, half, me, &mut scratch, &mut visible);
        assert!(
            visible
                .iter()
                .all(|e| e.id == me || (e.pos - centre).abs().cmple(half).all())
        );
        assert!(visible.len() < view.entities().len() || tick < 5);
        // Deltas against what the client acknowledged (its newest view).
        let ack = replica.ack();
        let s = match sent.get(ack) {
            Some(base) => delta(world.tick(), ack, base, &visible),
            None => delta(world.tick(), 0, &[], &visible),
        };
        sent.push(world.tick(), visible.clone());
        sent.forget_before(ack);
        assert_eq!(replica.apply(&s).expect("applies"), visible.as_slice());
    }
}

/// One player in a world on the default map, and a predictor for it built as a client would.
fn alone() -> (World, EntityId, Predictor) {
    let (map, rules) = (Map::default_map(), Rules::default());
    let mut world = World::new(Arc::new(map.clone()), rules.clone(), 30, 9);
    let me = world
        .apply(Command::Join { name: "me".into() })
        .expect("id");
    (world, me, Predictor::new(&map, &rules, 30))
}

#[test]
fn prediction_replays_unacknowledged_inputs_exactly() {
    let (mut world, me, mut predictor) = alone();
    let own = |w: &World| TickView::of(w).entity(me).cloned().expect("me");
    assert_eq!(predictor.reconcile(0, &own(&world)), None);
    // The client runs two inputs ahead of the server (a round trip of two ticks).
    let inputs: Vec<PlayerInput> = (0..120)
        .map(|i| PlayerInput {
            move_dir: Vec2::from_angle(i as f32 * 0.2),
            aim: Vec2::X,
            fire: false,
        })
        .collect();
    let mut errors = Vec::new();
    for (n, input) in inputs.iter().enumerate() {
        let seq = n as u32 + 1;
        predictor.input(seq, *input);
        if seq > 2 {
            let applied = seq - 2;
            world.apply(Command::Input {
                player: me,
                input: inputs[applied as usize - 1],
            });
            world.step();
            errors.extend(predictor.reconcile(applied, &own(&world)));
        }
    }
    assert!(errors.len() > 100);
    assert!(errors.iter().all(|&e| e == 0.0), "{errors:?}");
    // And the prediction is where the server will be after the two inputs in flight.
    let predicted = predictor.position().expect("known");
    for input in &inputs[118..] {
        world.apply(Command::Input {
            player: me,
            input: *input,
        });
        world.step();
    }
    assert_eq!(predicted, own(&world).pos);
}

#[test]
fn a_repeated_input_shows_as_prediction_error() {
    let (mut world, me, mut predictor) = alone();
    let own = |w: &World| TickView::of(w).entity(me).cloned().expect("me");
    predictor.reconcile(0, &own(&world));
    let run = PlayerInput {
        move_dir: Vec2::X,
        ..PlayerInput::default()
    };
    predictor.input(1, run);
    world.apply(Command::Input {
        player: me,
        input: run,
    });
    world.step();
    assert_eq!(predictor.reconcile(1, &own(&world)), Some(0.0));
    // Input 2 is late: the server repeats input 1 for a tick.
    predictor.input(2, run);
    world.step();
    let error = predictor.reconcile(1, &own(&world)).expect("compared");
    assert!(error > 1.0, "{error}");
}
