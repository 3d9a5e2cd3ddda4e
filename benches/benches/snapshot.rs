//! What a tick costs beyond the simulation: encoding and decoding one snapshot, and building
//! every player's snapshot for one room tick (one entity list, encoded once per player, as the
//! sessions do).

use arena_benches::busy_world;
use arena_shared::Entity;
use arena_shared::protocol::{SERVER_DECODE_LIMIT, decode_server, encode_snapshot_into};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn entities(players: usize) -> Vec<Entity> {
    let world = busy_world(players, 90);
    let mut out = Vec::new();
    world.snapshot_into(&mut out);
    out
}

fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("snapshot_codec");
    for players in [16usize, 100] {
        let entities = entities(players);
        let mut bytes = Vec::new();
        encode_snapshot_into(1234, 99, &entities, &mut bytes).expect("encodes");
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(BenchmarkId::new("encode", players), |b| {
            let mut out = Vec::with_capacity(bytes.len());
            b.iter(|| {
                out.clear();
                encode_snapshot_into(1234, 99, &entities, &mut out).expect("encodes");
            })
        });
        group.bench_function(BenchmarkId::new("decode", players), |b| {
            b.iter(|| decode_server(&bytes, SERVER_DECODE_LIMIT).expect("decodes"))
        });
    }
    group.finish();
}

fn room_tick_snapshots(c: &mut Criterion) {
    let mut group = c.benchmark_group("room_snapshots");
    for players in [16usize, 100] {
        let world = busy_world(players, 90);
        // One snapshot per player, each a fresh buffer: what the sessions hand to the socket.
        group.throughput(Throughput::Elements(players as u64));
        group.bench_function(BenchmarkId::from_parameter(players), |b| {
            b.iter(|| {
                let mut entities = Vec::with_capacity(world.entity_count());
                world.snapshot_into(&mut entities);
                let mut total = 0;
                for seq in 0..players as u32 {
                    let mut out = Vec::with_capacity(32 + entities.len() * 24);
                    encode_snapshot_into(world.tick(), seq, &entities, &mut out).expect("encodes");
                    total += out.len();
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group!(benches, codec, room_tick_snapshots);
criterion_main!(benches);
