//! The shooter's tick at 10, 100, 1,000 and 10,000 players with projectiles in flight, through
//! the `Game` trait as a room calls it (step, then drain the events into a reused buffer).
//! Throughput counts entities (players + projectiles), so a flat entities/s across sizes means a
//! flat cost per entity; the largest world holds over 10,000 entities.

use arena_benches::busy_world;
use arena_shared::Game;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn bench_world(c: &mut Criterion, group: &str, sizes: &[(usize, usize)]) {
    let mut group = c.benchmark_group(group);
    for &(label, players) in sizes {
        let mut world = busy_world(players, 90);
        group.throughput(Throughput::Elements(world.entity_count() as u64));
        let mut events = Vec::new();
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| {
                Game::step(&mut world);
                Game::drain_events(&mut world, &mut events);
                events.clear();
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
