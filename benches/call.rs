//! Criterion view of the per-call cost: reading the current data access through the C ABI
//! (struct and JSON forms) next to the floor, a plain `ureq` GET of the same route plus
//! `serde_json` parsing, all against the in-process emulator on loopback.
//!
//! `bench/run.sh` runs this with short settings; the suite bench (`benches/suite.rs`) gives
//! medians, p99 and ratios measured in interleaved rounds.

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

use common::{connected_sandbox, Floor, Handle};

fn per_call(c: &mut Criterion) {
    let sandbox = connected_sandbox();
    let base = sandbox.base_url();
    let handle = Handle::new(&base);
    let floor = Floor::new(&base);

    let mut group = c.benchmark_group("current_access");
    group.bench_function("floor_ureq_serde_json", |b| {
        b.iter(|| black_box(floor.current()))
    });
    group.bench_function("c_abi_struct", |b| {
        b.iter(|| black_box(handle.current_struct()))
    });
    group.bench_function("c_abi_json", |b| {
        b.iter(|| black_box(handle.current_json()))
    });
    group.finish();

    drop(handle);
    drop(sandbox);
}

fn settings() -> Criterion {
    Criterion::default()
        .sample_size(40)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .without_plots()
}

criterion_group! {
    name = benches;
    config = settings();
    targets = per_call
}
criterion_main!(benches);
