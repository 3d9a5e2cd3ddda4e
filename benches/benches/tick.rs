//! The shooter's tick at 10, 100, 1,000 and 10,000 players with projectiles in flight, through
//! the `Game` trait as a room calls it (step, then drain the events into a reused buffer).
//! Throughput counts entities (players + projectiles), so a flat entities/s across sizes means a
//! flat cost per entity; the largest world holds over 10,000 entities. `tick_rewound` is the
//! same with every shot lag-compensated by 8 ticks (267 ms: a 150 ms round trip, the browser's
//! interpolation delay and a tick of queueing), the cost of rewinding hit tests.

use arena_benches::busy_world_rewound;
use arena_shared::{Game, Rewind};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn bench_world(c: &mut Criterion, group: &str, sizes: &[(usize, usize)], rewind: Rewind) {
    let mut group = c.benchmark_group(group);
    for &(label, players) in sizes {
        let mut world = busy_world_rewound(players, 90, rewind);
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
        Rewind::NONE,
    );
    bench_world(
        c,
        "tick_rewound",
        &[(10, 10), (100, 100), (1000, 1000)],
        Rewind(8 * Rewind::STEPS_PER_TICK),
    );
}

criterion_group!(benches, tick);
criterion_main!(benches);
