//! What a tick costs beyond the simulation: encoding and decoding one snapshot, and building
//! every player's snapshot for one room tick the way the server does: one shared
//! [`TickView`] per tick, then each session's [`SnapshotEncoder`] (full snapshots, or view box
//! plus delta against the previous tick, which a client on loopback has acknowledged by then).
//!
//! Before measuring, it prints the bytes each mode puts on the wire per player per snapshot.

use std::time::{Duration, Instant};

use arena_benches::{Game, busy_world, large_map};
use arena_server::encoder::{InputStatus, SnapshotEncoder};
use arena_shared::EntityId;
use arena_shared::encoding::Encoding;
use arena_shared::interest::TickView;
use arena_shared::protocol::{
    SERVER_DECODE_LIMIT, SnapshotParts, decode_server, encode_snapshot_into,
};
use arena_shared::shooter::{Entity, GameEvent, Map, ServerMsg, World};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use glam::Vec2;

/// The server's default view box.
const VIEW: (f32, f32) = (2048.0, 1280.0);
/// Consecutive ticks recorded per scenario.
const TICKS: usize = 60;

fn full(entities: &[Entity]) -> SnapshotParts<'_, Entity, GameEvent> {
    SnapshotParts {
        tick: 1234,
        baseline: 0,
        last_input_seq: 99,
        queued_inputs: 0,
        created: entities,
        changed: &[],
        removed: &[],
        events: &[],
    }
}

fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("snapshot_codec");
    for players in [16usize, 100] {
        let world = busy_world(players, 90);
        let mut entities = Vec::new();
        world.snapshot_into(&mut entities);
        let mut bytes = Vec::new();
        encode_snapshot_into(full(&entities), &mut bytes).expect("encodes");
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(BenchmarkId::new("encode", players), |b| {
            let mut out = Vec::with_capacity(bytes.len());
            b.iter(|| {
                out.clear();
                encode_snapshot_into(full(&entities), &mut out).expect("encodes");
            })
        });
        group.bench_function(BenchmarkId::new("decode", players), |b| {
            b.iter(|| {
                decode_server::<_, Entity, GameEvent>(&bytes, SERVER_DECODE_LIMIT)
                    .map(|m: ServerMsg| m)
                    .expect("decodes")
            })
        });
    }
    group.finish();
}

/// A room of `players` on `map`, warmed up, then `TICKS` consecutive ticks of entities.
struct Scenario {
    label: &'static str,
    players: Vec<EntityId>,
    size: Vec2,
    ticks: Vec<(u64, Vec<Entity>)>,
}

impl Scenario {
    fn new(label: &'static str, map: Map, players: usize) -> Self {
        let size = map.size;
        let mut game = Game::new(map, players);
        for _ in 0..90 {
            game.step();
        }
        let players = game.world.players().map(|p| p.id).collect();
        let ticks = (0..=TICKS)
            .map(|_| {
                game.step();
                let mut entities = Vec::new();
                game.world.snapshot_into(&mut entities);
                (game.world.tick(), entities)
            })
            .collect();
        Self {
            label,
            players,
            size,
            ticks,
        }
    }

    fn encoders(&self, view: Option<(f32, f32)>) -> Vec<SnapshotEncoder<World>> {
        self.players
            .iter()
            .map(|&p| SnapshotEncoder::new(p, view, Encoding::Bincode))
            .collect()
    }

    /// One snapshot tick of the room: the shared view, then every player's snapshot, each
    /// acknowledged at once (the steady state on a LAN). Returns the bytes written.
    fn room_tick(
        &self,
        i: usize,
        encoders: &mut [SnapshotEncoder<World>],
        out: &mut Vec<u8>,
    ) -> usize {
        let (tick, entities) = &self.ticks[i];
        let view = TickView::new(*tick, entities.clone(), self.size);
        let mut bytes = 0;
        for (seq, enc) in encoders.iter_mut().enumerate() {
            out.clear();
            enc.encode(
                &view,
                InputStatus {
                    last_seq: seq as u32,
                    queued: 0,
                },
                &[],
                out,
            )
            .expect("encodes");
            enc.acknowledge(*tick);
            bytes += out.len();
        }
        bytes
    }

    /// Mean bytes per player per snapshot over the recorded ticks, after the first (complete)
    /// one.
    fn bytes_per_snapshot(&self, view: Option<(f32, f32)>) -> f64 {
        let mut encoders = self.encoders(view);
        let mut out = Vec::new();
        self.room_tick(0, &mut encoders, &mut out);
        let total: usize = (1..self.ticks.len())
            .map(|i| self.room_tick(i, &mut encoders, &mut out))
            .sum();
        total as f64 / (TICKS * self.players.len()) as f64
    }
}

fn room_snapshots(c: &mut Criterion) {
    let scenarios = [
        Scenario::new("10", Map::default_map(), 10),
        Scenario::new("100-default-map", Map::default_map(), 100),
        Scenario::new("100", large_map(), 100),
        Scenario::new("500", large_map(), 500),
    ];
    eprintln!("bytes per player per snapshot (x30 for bytes per client-second at 30 Hz):");
    for s in &scenarios {
        let (f, d) = (s.bytes_per_snapshot(None), s.bytes_per_snapshot(Some(VIEW)));
        eprintln!(
            "  {:>16} players: full {f:8.1}  delta+interest {d:7.1}  ({:.1}% fewer)",
            s.label,
            100.0 * (1.0 - d / f)
        );
    }
    let mut group = c.benchmark_group("room_snapshots");
    for s in &scenarios {
        group.throughput(Throughput::Elements(s.players.len() as u64));
        for (mode, view) in [("full", None), ("delta", Some(VIEW))] {
            group.bench_function(BenchmarkId::new(mode, s.label), |b| {
                b.iter_custom(|iters| {
                    let mut took = Duration::ZERO;
                    let mut out = Vec::new();
                    let mut done = 0;
                    while done < iters {
                        // A fresh set of clients every TICKS ticks; their first, complete
                        // snapshot is not timed.
                        let mut encoders = s.encoders(view);
                        s.room_tick(0, &mut encoders, &mut out);
                        for i in 1..s.ticks.len() {
                            if done == iters {
                                break;
                            }
                            let started = Instant::now();
                            std::hint::black_box(s.room_tick(i, &mut encoders, &mut out));
                            took += started.elapsed();
                            done += 1;
                        }
                    }
                    took
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, codec, room_snapshots);
criterion_main!(benches);
