//! A policy's life around the calls: instantiation, compiling versus loading from the cache, a
//! verified hot swap, and throughput from two threads.
//!
//! `cargo bench -p route-policy --bench lifecycle`.

use criterion::{Criterion, criterion_group, criterion_main};

/// The requests and the guard-only baseline of `route-policy bench`, shared with the CLI.
use route_policy::bench;
use route_policy_host::{Engine, Policy, Router};
use route_policy_host::{PolicyHost, ReloadOptions};
use std::time::{Duration, Instant};

fn lifecycle(c: &mut Criterion) {
    let bytes = route_policy_host::BUILTIN;
    let engine = Engine::builder().build().expect("engine");
    let policy = Policy::builtin(&engine).expect("policy");
    c.bench_function("instantiate", |b| b.iter(|| policy.instantiate_only().expect("instantiates")));

    let mut group = c.benchmark_group("load");
    group.sample_size(10);
    group.bench_function("compile", |b| {
        b.iter(|| Policy::from_bytes(&engine, bytes, "bench".into()).expect("compiles"))
    });
    let dir = std::env::temp_dir().join(format!("route-policy-criterion-{}", std::process::id()));
    let cached = Engine::builder().cache_dir(dir.join("cache")).build().expect("engine");
    Policy::from_bytes(&cached, bytes, "bench".into()).expect("warms the cache");
    group.bench_function("from-cache", |b| {
        b.iter(|| Policy::from_bytes(&cached, bytes, "bench".into()).expect("loads"))
    });
    let path = dir.join("policy.wasm");
    std::fs::write(&path, bytes).expect("writes");
    let host = PolicyHost::open(cached.clone(), &path, ReloadOptions::default()).expect("opens");
    group.bench_function("verified-swap", |b| b.iter(|| host.reload(&path).expect("reloads")));
    group.finish();

    let mut group = c.benchmark_group("throughput");
    group.sample_size(10);
    let calls: Vec<_> = bench::inputs().into_iter().map(|(_, call)| call).collect();
    // Wall time per call with two threads, each with a warm instance, the three ops in turn.
    group.bench_function("2-threads-warm", |b| {
        b.iter_custom(|iterations| {
            let per_thread = iterations.div_ceil(2);
            let started = Instant::now();
            std::thread::scope(|scope| {
                for _ in 0..2 {
                    scope.spawn(|| {
                        let session = policy.session();
                        for i in 0..per_thread {
                            std::hint::black_box(session.call(&calls[i as usize % calls.len()]).expect("answers"));
                        }
                    });
                }
            });
            // Wall time for all the calls: criterion divides by the iterations.
            started.elapsed()
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(4));
    targets = lifecycle
}
criterion_main!(benches);
