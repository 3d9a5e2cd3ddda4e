//! `World::step` at 10, 100, 1,000 and 10,000 players with projectiles in flight. Throughput
//! counts entities (players + projectiles), so a flat entities/s across sizes means a flat cost
//! per entity; the largest world holds over 10,000 entities.

use arena_benches::busy_world;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn bench_world(c: &mut Criterion, group: &str, sizes: &[(usize, usize)]) {
    let mut group = c.benchmark_group(group);
    for &(label, players) in sizes {
        let mut world = busy_world(players, 90);
        group.throughput(Throughput::Elements(world.entity_count() as u64));
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| {
                world.step();
                world.drain_events().for_each(drop);
            })
        });
    }
    group.finish();
}

fn tick(c: &mut Criterion) {
    bench_world(
        c,
        "tick",
        &[(10, 10), (100, 100), (1000, 1000), (10_000, 10_000)],
    );
}

criterion_group!(benches, tick);
criterion_main!(benches);
