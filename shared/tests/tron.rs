//! Tron through the public API the engine, clients and bots use: determinism, delta snapshots
//! of its entities, exact prediction, and bots that play.

use std::collections::VecDeque;

use arena_shared::encoding::Encoding;
use arena_shared::game::{Brain as _, Game, Predict};
use arena_shared::protocol::RoomEvent;
use arena_shared::quant::pos_from_wire;
use arena_shared::sync;
use arena_shared::tron::{
    Brain, Entity, EntityKind, Heading, Predictor, ServerMsg, Settings, Snapshot, Tron, TronEvent,
    TronInput,
};
use arena_shared::{EntityId, Replicate};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const TICK_RATE: u16 = 30;
const HEADINGS: [Heading; 5] = [
    Heading::Keep,
    Heading::North,
    Heading::East,
    Heading::South,
    Heading::West,
];

fn view(game: &Tron) -> Vec<Entity> {
    let mut out = Vec::new();
    game.entities(&mut out);
    out.sort_by_key(|e| e.id);
    out
}

fn own(game: &Tron, id: EntityId) -> Entity {
    view(game)
        .into_iter()
        .find(|e| e.id == id)
        .expect("the player's cycle is in the view")
}

fn alive(e: &Entity) -> bool {
    matches!(e.kind, EntityKind::Cycle { alive: true, .. })
}

/// A room with random players: random headings, now and then one leaves and another joins,
/// all drawn from its own seeded RNG so two of them with one seed play the same game.
struct Room {
    game: Tron,
    players: Vec<EntityId>,
    rng: ChaCha8Rng,
    events: Vec<TronEvent>,
}

impl Room {
    fn new(seed: u64, players: usize) -> Self {
        let settings = Settings {
            width: 24,
            height: 16,
            ..Settings::default()
        };
        let mut game = Tron::new(&settings, TICK_RATE, seed);
        let players = (0..players).map(|i| game.join(&format!("p{i}"))).collect();
        Self {
            game,
            players,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5eed),
            events: Vec::new(),
        }
    }

    fn step(&mut self) {
        for &p in &self.players {
            if self.rng.random_bool(0.15) {
                let heading = HEADINGS[self.rng.random_range(0..HEADINGS.len())];
                self.game.input(p, TronInput { heading });
            }
        }
        if self.rng.random_bool(0.01) {
            let k = self.rng.random_range(0..self.players.len());
            self.game.leave(self.players.swap_remove(k));
            let name = format!("late{}", self.game.tick());
            self.players.push(self.game.join(&name));
        }
        self.game.step();
        self.game.drain_events(&mut self.events);
    }
}

#[test]
fn same_seed_and_inputs_give_the_same_game_every_tick() {
    let mut a = Room::new(42, 6);
    let mut b = Room::new(42, 6);
    let mut other = Room::new(43, 6);
    let mut diverged = false;
    assert_eq!(a.game.state_hash(), b.game.state_hash());
    for _ in 0..400 {
        a.step();
        b.step();
        other.step();
        assert_eq!(
            a.game.state_hash(),
            b.game.state_hash(),
            "tick {}",
            a.game.tick()
        );
        diverged |= a.game.state_hash() != other.game.state_hash();
    }
    assert_eq!(view(&a.game), view(&b.game));
    assert_eq!(a.events, b.events);
    assert!(diverged, "another seed plays another game");
    let crashes = a
        .events
        .iter()
        .filter(|e| matches!(e, TronEvent::Crashed { .. }))
        .count();
    let respawns = a.events.len() - crashes;
    assert!(
        crashes >= 10 && respawns >= 5,
        "{crashes} crashes, {respawns} respawns"
    );
}

/// `diff` then `apply` gives the next view back, and so does the snapshot after a trip through
/// both encodings.
fn assert_round_trip(base: &[Entity], next: &[Entity], events: &[TronEvent]) {
    let (mut created, mut changed, mut removed) = (Vec::new(), Vec::new(), Vec::new());
    sync::diff(base, next, &mut created, &mut changed, &mut removed);
    let applied = sync::apply(base, &created, &changed, &removed).expect("the diff applies");
    assert_eq!(applied, next);
    let msg = ServerMsg::Snapshot(Snapshot {
        tick: 2,
        baseline: 1,
        created,
        changed,
        removed,
        events: events
            .iter()
            .map(|e| (2, RoomEvent::Game(e.clone())))
            .collect(),
        ..Snapshot::default()
    });
    for encoding in Encoding::ALL {
        let mut bytes = Vec::new();
        encoding.encode_into(&msg, &mut bytes).expect("encodes");
        let decoded: ServerMsg = encoding.decode_server(&bytes, 1 << 22).expect("decodes");
        assert_eq!(decoded, msg, "{encoding:?}");
    }
}

fn arb_entity(id: u32) -> impl Strategy<Value = Entity> {
    (
        (0i32..40_000, 0i32..40_000),
        prop_oneof![
            (0u8..4, any::<bool>(), 0u32..5, 0u16..30).prop_map(
                |(heading, alive, score, phase)| {
                    EntityKind::Cycle {
                        heading,
                        alive,
                        score,
                        phase,
                    }
                }
            ),
            (1u32..6).prop_map(|o| EntityKind::Trail { owner: EntityId(o) }),
        ],
    )
        .prop_map(move |(p, kind)| Entity {
            id: EntityId(id),
            pos: pos_from_wire(p),
            kind,
        })
}

/// A view of up to 40 entities with distinct ids from 1 to 60, sorted by id.
fn arb_view() -> impl Strategy<Value = Vec<Entity>> {
    proptest::sample::subsequence((1u32..=60).collect::<Vec<_>>(), 0..40)
        .prop_flat_map(|ids| ids.into_iter().map(arb_entity).collect::<Vec<_>>())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, rng_seed: RngSeed::Fixed(17), ..ProptestConfig::default() })]

    /// Views of real games: cycles move, crash, respawn, leave; trails grow and shrink.
    #[test]
    fn deltas_between_views_of_a_real_game_rebuild_the_next_view(
        seed in any::<u64>(), first in 0u32..250, gap in 1u32..40,
    ) {
        let mut room = Room::new(seed, 5);
        for _ in 0..first {
            room.step();
        }
        let base = view(&room.game);
        room.events.clear();
        for _ in 0..gap {
            room.step();
        }
        let next = view(&room.game);
        assert_round_trip(&base, &next, &room.events);
        assert_round_trip(&[], &next, &[]);
        assert_round_trip(&next, &[], &[]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, rng_seed: RngSeed::Fixed(18), ..ProptestConfig::default() })]

    /// Arbitrary views: kinds change under one id, trails change owner, anything moves.
    #[test]
    fn deltas_between_arbitrary_views_rebuild_the_next_view(a in arb_view(), b in arb_view()) {
        assert_round_trip(&a, &b, &[]);
        for (x, y) in a.iter().zip(&b) {
            let kinds_match = std::mem::discriminant(&x.kind) == std::mem::discriminant(&y.kind);
            let same_owner = match (&x.kind, &y.kind) {
                (EntityKind::Trail { owner: o }, EntityKind::Trail { owner: p }) => o == p,
                _ => true,
            };
            // A delta exists exactly when the entity can be patched rather than replaced.
            let mut y = y.clone();
            y.id = x.id;
            prop_assert_eq!(x.diff(&y).is_some(), kinds_match && same_owner);
        }
    }
}

/// The headings of a square whose sides run toward the middle of the grid from `(x, y)`.
fn square_toward_middle(game: &Tron, me: EntityId) -> [Heading; 4] {
    let s = game.settings();
    let pos = own(game, me).pos;
    let (w, h) = (
        f32::from(s.width) * s.cell / 2.0,
        f32::from(s.height) * s.cell / 2.0,
    );
    let across = if pos.x < w {
        Heading::East
    } else {
        Heading::West
    };
    let down = if pos.y < h {
        Heading::South
    } else {
        Heading::North
    };
    let back = |h: Heading| match h {
        Heading::East => Heading::West,
        Heading::West => Heading::East,
        Heading::North => Heading::South,
        _ => Heading::North,
    };
    [across, down, back(across), back(down)]
}

/// A server and a client `lag` snapshots behind it. Input `seq` is sent on tick `seq`; the
/// server applies at most one queued input per tick. `late` delays one input by a tick, which
/// leaves the server one tick behind the client from then on. Returns every prediction error.
fn predict_square(lag: usize, late: Option<u32>) -> Vec<f32> {
    let settings = Settings {
        width: 256,
        height: 256,
        ..Settings::default()
    };
    let mut game = Tron::new(&settings, TICK_RATE, 3);
    let me = game.join("me");
    let square = square_toward_middle(&game, me);
    let mut predictor = <Predictor as Predict<Tron>>::new(&settings, TICK_RATE, me);
    assert_eq!(
        Predict::<Tron>::reconcile(&mut predictor, 0, &own(&game, me)),
        None,
        "nothing to compare yet"
    );

    let mut queue: VecDeque<(u32, u32, TronInput)> = VecDeque::new();
    let mut snapshots: VecDeque<(u32, Entity)> = VecDeque::new();
    let mut applied = 0;
    let mut errors = Vec::new();
    let mut positions = std::collections::BTreeSet::new();
    for seq in 1..=600u32 {
        // A side of the square every 20 cells (60 ticks at 10 cells/s).
        let heading = square[(seq as usize / 60) % 4];
        let input = TronInput { heading };
        Predict::<Tron>::input(&mut predictor, seq, &input);
        let arrives = if late == Some(seq) { seq + 1 } else { seq };
        queue.push_back((arrives, seq, input));
        if queue.front().is_some_and(|&(at, _, _)| at <= seq) {
            if let Some((_, s, input)) = queue.pop_front() {
                game.input(me, input);
                applied = s;
            }
        }
        game.step();
        let entity = own(&game, me);
        assert!(alive(&entity), "the cycle crashed on tick {seq}");
        positions.insert((entity.pos.x.to_bits(), entity.pos.y.to_bits()));
        snapshots.push_back((applied, entity));
        if snapshots.len() > lag {
            if let Some((ack, entity)) = snapshots.pop_front() {
                errors.extend(Predict::<Tron>::reconcile(&mut predictor, ack, &entity));
            }
        }
    }
    assert!(
        positions.len() >= 60,
        "the cycle went round: {}",
        positions.len()
    );
    errors
}

#[test]
fn prediction_is_exact_when_inputs_arrive_one_per_tick() {
    for lag in [0, 1, 4, 9] {
        let errors = predict_square(lag, None);
        assert!(
            errors.len() > 550,
            "lag {lag}: only {} comparisons",
            errors.len()
        );
        assert!(errors.iter().all(|&e| e == 0.0), "lag {lag}: {errors:?}");
    }
}

#[test]
fn prediction_measures_a_late_input_then_is_exact_again() {
    // The server holds the previous input for a tick; that shows when the cycle moves on that
    // very tick (one tick in three at 10 cells/s and 30 ticks/s).
    let mut noticed = 0;
    for late in 97..=102 {
        let errors = predict_square(4, Some(late));
        if errors.iter().any(|&e| e > 0.0) {
            noticed += 1;
            assert!(
                errors.iter().all(|&e| e == 0.0 || e == 16.0),
                "off by a cell at most: {errors:?}"
            );
        }
        assert!(
            errors[errors.len() - 400..].iter().all(|&e| e == 0.0),
            "late {late}"
        );
    }
    assert_eq!(
        noticed, 2,
        "a held tick shows exactly when it is a move tick"
    );
}

/// 8 cycles for 1,000 ticks in the default arena, steered by brains or not at all. Returns the
/// crashes and the ticks cycles spent alive.
fn fleet(brains: bool) -> (usize, u64) {
    let mut game = Tron::new(&Settings::default(), TICK_RATE, 11);
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let ids: Vec<EntityId> = (0..8).map(|i| game.join(&format!("bot{i}"))).collect();
    let mut minds: Vec<Brain> = (0..8)
        .map(|i| Brain::new(&Settings::default(), "mixed", i, &mut rng))
        .collect();
    let (mut crashes, mut alive_ticks) = (0, 0);
    let mut events = Vec::new();
    for tick in 0..1000u32 {
        let view = view(&game);
        if brains {
            let now = f64::from(tick) / f64::from(TICK_RATE);
            for (mind, &id) in minds.iter_mut().zip(&ids) {
                let input = mind.decide(id, &view, now, &mut rng);
                game.input(id, input);
            }
        }
        game.step();
        game.drain_events(&mut events);
        crashes += events
            .drain(..)
            .filter(|e| matches!(e, TronEvent::Crashed { .. }))
            .count();
        alive_ticks += view.iter().filter(|e| alive(e)).count() as u64;
    }
    (crashes, alive_ticks)
}

#[test]
fn bots_outlive_cycles_that_only_go_straight() {
    let (bot_crashes, bot_alive) = fleet(true);
    let (straight_crashes, straight_alive) = fleet(false);
    // Average life: ticks alive per life lived (the first life plus one per crash).
    let life = |alive: u64, crashes: usize| alive as f64 / (8 + crashes) as f64;
    let (bot_life, straight_life) = (
        life(bot_alive, bot_crashes),
        life(straight_alive, straight_crashes),
    );
    println!("bots: {bot_crashes} crashes, {bot_life:.0} ticks a life");
    println!("straight: {straight_crashes} crashes, {straight_life:.0} ticks a life");
    assert!(
        straight_crashes >= 24,
        "straight cycles crash often: {straight_crashes}"
    );
    assert!(
        bot_life > 2.5 * straight_life,
        "bots live {bot_life:.0} ticks, straight cycles {straight_life:.0}"
    );
    assert!(
        bot_crashes * 3 < straight_crashes,
        "{bot_crashes} vs {straight_crashes}"
    );
}

#[test]
fn json_shapes_are_stable() {
    let input = TronInput {
        heading: Heading::East,
    };
    let cycle = Entity {
        id: EntityId(1),
        pos: glam::Vec2::new(40.0, 56.0),
        kind: EntityKind::Cycle {
            heading: 1,
            alive: true,
            score: 2,
            phase: 10,
        },
    };
    let trail = Entity {
        id: EntityId(7),
        pos: glam::Vec2::new(24.0, 56.0),
        kind: EntityKind::Trail { owner: EntityId(1) },
    };
    let crash = TronEvent::Crashed {
        player: EntityId(3),
        into: Some(EntityId(1)),
    };
    let shapes = [
        serde_json::to_string(&input).expect("input"),
        serde_json::to_string(&TronInput::default()).expect("default input"),
        serde_json::to_string(&cycle).expect("cycle"),
        serde_json::to_string(&trail).expect("trail"),
        serde_json::to_string(&crash).expect("event"),
        serde_json::to_string(&Settings::default()).expect("settings"),
    ];
    for s in &shapes {
        println!("{s}");
    }
    assert_eq!(shapes[0], r#"{"heading":"East"}"#);
    assert_eq!(shapes[1], r#"{"heading":"Keep"}"#);
    assert_eq!(
        shapes[2],
        r#"{"id":1,"pos":[40.0,56.0],"kind":{"Cycle":{"heading":1,"alive":true,"score":2,"phase":10}}}"#
    );
    assert_eq!(
        shapes[3],
        r#"{"id":7,"pos":[24.0,56.0],"kind":{"Trail":{"owner":1}}}"#
    );
    assert_eq!(shapes[4], r#"{"Crashed":{"player":3,"into":1}}"#);
    let back: Entity = serde_json::from_str(&shapes[2]).expect("parses");
    assert_eq!(back, cycle);
}

#[test]
fn the_game_describes_itself_and_its_area() {
    assert_eq!(Tron::NAME, "tron");
    assert!(!Tron::DESCRIPTION.is_empty());
    let game = <Tron as Game>::new(&Settings::default(), TICK_RATE, 1);
    assert_eq!(Game::area(&game), glam::Vec2::new(1024.0, 640.0));
    let respawn = TronEvent::Respawned {
        player: EntityId(5),
    };
    let crash = TronEvent::Crashed {
        player: EntityId(5),
        into: None,
    };
    let blind = |_: EntityId| false;
    assert!(<Tron as Game>::event_relevant(&crash, EntityId(1), &blind));
    assert!(!<Tron as Game>::event_relevant(
        &respawn,
        EntityId(1),
        &blind
    ));
    assert!(<Tron as Game>::event_relevant(
        &respawn,
        EntityId(5),
        &blind
    ));
    assert!(<Tron as Game>::event_relevant(
        &respawn,
        EntityId(1),
        &|id| id == EntityId(5)
    ));
}
