//! `World::step` at 10, 100 and 1000 players with projectiles in flight; throughput counts
//! entities (players + projectiles), so the report reads as entities simulated per second.

use arena_benches::busy_world;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn tick(c: &mut Criterion) {
    let mut group = c.benchmark_group("tick");
    for players in [10usize, 100, 1000] {
        let mut world = busy_world(players, 90);
        group.throughput(Throughput::Elements(world.entity_count() as u64));
        group.bench_function(BenchmarkId::from_parameter(players), |b| {
            b.iter(|| {
                world.step();
                world.drain_events().for_each(drop);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, tick);
criterion_main!(benches);
