//! Each operation on realistic inputs: the same logic called natively (alone, then with the
//! host's guard checking its answer), then through wasmtime with a warm instance, then with a
//! fresh pooled instance per call.
//!
//! `cargo bench -p route-policy --bench ops`. The inputs are `bench::inputs()`:
//! seed 004's legacy URL for an image, a six-model chain, seed 000's 1 KiB 401 body, and a
//! `next-step` in the middle of a call (two 503s on a three-model chain).

use criterion::{Criterion, criterion_group, criterion_main};

use bench::guarded;
/// The requests and the guard-only baseline of `route-policy bench`, shared with the CLI.
use route_policy::bench;
use route_policy_guest::Native;
use route_policy_host::{Engine, Policy, Router};
use std::hint::black_box;

fn ops(c: &mut Criterion) {
    let engine = Engine::builder().build().expect("engine");
    let policy = Policy::builtin(&engine).expect("policy");
    let session = policy.session();
    for (name, call) in bench::inputs() {
        let mut group = c.benchmark_group(name);
        group.bench_function("native", |b| b.iter(|| black_box(Native.call(black_box(&call)))));
        group.bench_function("native+guard", |b| b.iter(|| black_box(guarded(engine.guard(), black_box(&call)))));
        group.bench_function("warm", |b| b.iter(|| black_box(session.call(black_box(&call)))));
        group.bench_function("fresh", |b| b.iter(|| black_box(policy.call(black_box(&call)))));
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(60).measurement_time(std::time::Duration::from_secs(4));
    targets = ops
}
criterion_main!(benches);
