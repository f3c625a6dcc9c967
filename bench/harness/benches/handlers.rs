//! Criterion: handler CPU per request with the in-memory store (docs/performance.md).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::cell::Cell;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use idlink_bench::cpu::{Case, Cpu, events_dir, runtime};

fn handlers(c: &mut Criterion) {
    let rt = runtime();
    let cpu = rt.block_on(Cpu::new(&events_dir()));
    let mut group = c.benchmark_group("cpu");
    for case in Case::ALL {
        assert_eq!(rt.block_on(cpu.run(case, 1 << 40)), case.status());
        let n = Cell::new(0u64);
        group.bench_function(case.id(), |b| {
            b.iter_batched(
                || {
                    n.set(n.get() + 1);
                    rt.block_on(cpu.prepare(case, n.get()))
                },
                |req| rt.block_on(cpu.handle(case, req)),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(40)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = handlers
}
criterion_main!(benches);
