//! A model call through the executor against the same request sent directly, to a healthy
//! model of an in-process fake upstream on loopback: what the policy's loop adds to a call
//! (two `next-step`s in the sandbox, the guard, the credential, reading the stream's events).
//!
//! `cargo bench -p route-policy --bench executor`.

use criterion::{Criterion, criterion_group, criterion_main};

/// The baseline request of `route-policy bench`, shared with the CLI.
use route_policy::bench;
use route_policy_executor::{Executor, HttpTransport, ModelCall, Secret, StaticCredentials};
use route_policy_fake_upstream::FakeUpstream;
use route_policy_host::{Engine, Policy};
use std::sync::Arc;

fn executor(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let fake = runtime.block_on(FakeUpstream::start(1.0)).expect("the fake starts");
    let engine = Engine::builder().build().expect("engine");
    let policy = Arc::new(Policy::builtin(&engine).expect("policy"));
    let secrets = StaticCredentials::new().with("fake-key", Secret::new("sk-bench"));
    let executor = Executor::new(policy, HttpTransport::new(), Arc::new(secrets));
    let chain: route_policy_contract::types::FallbackRequest = serde_json::from_value(serde_json::json!({
        "capability": "chat", "primary": "fake/ok/gpt-4o",
        "credentials": [{"profile-id": "fake-key", "provider": "fake", "kind": "api-key", "plan": "api"}],
        "providers": [{"id": "fake", "base-url": format!("{}/v1", fake.origin())}],
    }))
    .expect("chain");
    let client = reqwest::Client::new();
    let url = format!("{}/v1/chat/completions", fake.origin());
    for stream in [false, true] {
        let mut group = c.benchmark_group(if stream { "call-streamed" } else { "call-whole" });
        let body = serde_json::json!({"messages": [{"role": "user", "content": "Count to sixty."}], "stream": stream});
        let mut direct_body = body.clone();
        direct_body["model"] = "ok/gpt-4o".into();
        let direct_body = direct_body.to_string();
        group.bench_function("direct", |b| {
            b.iter(|| {
                runtime.block_on(async {
                    std::hint::black_box(bench::direct_call(&client, &url, &direct_body).await.expect("answered"))
                })
            })
        });
        let call = ModelCall { chain: chain.clone(), body };
        group.bench_function("executor", |b| {
            b.iter(|| runtime.block_on(async { std::hint::black_box(executor.run(&call).await.result.is_ok()) }))
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(60).measurement_time(std::time::Duration::from_secs(4));
    targets = executor
}
criterion_main!(benches);
