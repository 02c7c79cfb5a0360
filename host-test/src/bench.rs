//! The benchmarks' realistic inputs, and the quick measurements of `route-policy bench`.
//!
//! The criterion benches in `host-test/benches/` use the same inputs; this module's run is
//! the short one a user can make on their own machine (well under 30 s). Every figure is a
//! median over batches, and each wasm figure has its native counterpart: the same Rust logic
//! called in-process, the honest limit.

use route_policy_host::guard::Guard;
use route_policy_host::types::{
    Capability, Credential, CredentialKind, EndpointRequest, FallbackRequest, Plan, ProviderConfig, ProviderFailure,
};
use route_policy_host::wire::{Answer, Call};
use route_policy_host::{Canary, PolicyHost, ReloadOptions};
use route_policy_host::{Engine, Native, Policy, Router};
use serde::Serialize;
use std::time::{Duration, Instant};

/// `resolve-endpoint` with seed 004's legacy base URL, for an image.
pub fn resolve_input() -> Call {
    Call::ResolveEndpoint(EndpointRequest {
        model: "openai/gpt-image-2".into(),
        capability: Capability::ImageGenerate,
        providers: vec![ProviderConfig {
            id: "openai-codex".into(),
            base_url: Some("https://chatgpt.com/backend-api".into()),
            ..Default::default()
        }],
        credentials: vec![oauth()],
        env_base_url: None,
    })
}

/// `filter-fallbacks` over a six-model chain with a learned rejection.
pub fn filter_input() -> Call {
    Call::FilterFallbacks(FallbackRequest {
        capability: Capability::Chat,
        primary: "openai-codex/gpt-5.5".into(),
        fallbacks: [
            "openai-codex/gpt-5.5-pro",
            "openai/gpt-5.4",
            "openai-codex/gpt-5.5",
            "openrouter/anthropic/claude-sonnet-4.5",
            "openai/o3",
        ]
        .map(String::from)
        .to_vec(),
        explicit_override: None,
        credentials: vec![
            oauth(),
            Credential {
                profile_id: "or".into(),
                provider: "openrouter".into(),
                kind: CredentialKind::ApiKey,
                plan: Plan::Api,
            },
        ],
        rejections: vec![route_policy_host::types::Rejection {
            model: "o3".into(),
            plan: Plan::Plus,
            reason: route_policy_host::types::FailureReason::ModelNotFound,
        }],
        max_candidates: None,
        providers: vec![],
        env_base_url: None,
    })
}

/// `classify-error` on seed 000's 401 scope error: a body of about 1 KiB, with headers.
pub fn classify_input() -> Call {
    let message = "You have insufficient permissions for this operation. Missing scopes: api.responses.write. Check that you have the correct role in your organization (Reader, Writer, Owner) and project (Member, Owner), and if you're using a ChatGPT subscription, verify that the model supports this action.";
    let mut body = serde_json::json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}}).to_string();
    // Pad with the whitespace and fields real bodies carry, to about 1 KiB.
    body.insert_str(
        body.len() - 1,
        &format!(
            ",\"request_id\":\"req_{}\",\"documentation\":\"{}\"",
            "0a1b2c3d".repeat(4),
            "https://platform.openai.com/docs/guides/error-codes ".repeat(9)
        ),
    );
    Call::ClassifyError(ProviderFailure {
        status: Some(401),
        headers: [
            ("content-type", "application/json"),
            ("x-request-id", "req_5c2a3b"),
            ("openai-processing-ms", "41"),
            ("cf-ray", "8f2a1b3c4d5e6f70-AMS"),
        ]
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .to_vec(),
        body,
        network_error: None,
        request_url: Some("https://api.openai.com/v1/responses".into()),
        model: Some("openai/gpt-image-2".into()),
        credential_kind: Some(CredentialKind::Oauth),
        plan: Some(Plan::Plus),
        capability: Some(Capability::ImageGenerate),
        attempt: 1,
        now_ms: Some(1_795_240_800_000),
    })
}

fn oauth() -> Credential {
    Credential {
        profile_id: "openai-codex:me@example.com".into(),
        provider: "openai-codex".into(),
        kind: CredentialKind::Oauth,
        plan: Plan::Plus,
    }
}

/// The three benchmarked operations, by name.
pub fn inputs() -> [(&'static str, Call); 3] {
    [("resolve-endpoint", resolve_input()), ("filter-fallbacks", filter_input()), ("classify-error", classify_input())]
}

/// One operation's medians.
#[derive(Debug, Serialize)]
pub struct OpFigures {
    /// The same logic called in-process, ns.
    pub native_ns: f64,
    /// The native answer checked by the host's guard, as every wasm answer is, ns: the
    /// sandbox itself costs `warm_ns - guarded_ns`.
    pub guarded_ns: f64,
    /// Through wasmtime with a warm instance, ns.
    pub warm_ns: f64,
    /// Through wasmtime with a fresh pooled instance per call, ns.
    pub fresh_ns: f64,
    /// warm / native.
    pub ratio_warm: f64,
}

/// The figures of `route-policy bench --json`.
#[derive(Debug, Serialize)]
pub struct Figures {
    /// Per operation.
    pub ops: std::collections::BTreeMap<&'static str, OpFigures>,
    /// Creating a store and a pooled instance, µs.
    pub instantiate_us: f64,
    /// Compiling the component (no cache), ms.
    pub compile_ms: f64,
    /// Loading it from the compiled-code cache, ms.
    pub load_cached_ms: f64,
    /// A verified reload (read, compile from cache, canary, swap), ms.
    pub swap_ms: f64,
    /// The component's size.
    pub component_bytes: usize,
    /// Calls per second from 2 threads with warm instances, the three operations in turn.
    pub throughput_per_s: f64,
}

/// The median per-iteration time of `f`, over `samples` batches sized to take about `batch`.
pub fn median_ns(samples: usize, batch: Duration, mut f: impl FnMut()) -> f64 {
    // Size the batch from a short warm-up.
    let started = Instant::now();
    let mut warmup = 0u64;
    while started.elapsed() < batch / 4 || warmup < 3 {
        f();
        warmup += 1;
    }
    let per = started.elapsed().as_nanos() as f64 / warmup as f64;
    let iterations = ((batch.as_nanos() as f64 / per) as u64).max(1);
    let mut times: Vec<f64> = (0..samples)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..iterations {
                f();
            }
            started.elapsed().as_nanos() as f64 / iterations as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Runs every measurement; `quick` keeps the whole run short.
pub fn run(engine: &Engine, quick: bool) -> Result<Figures, String> {
    let (samples, batch) = if quick { (15, Duration::from_millis(40)) } else { (40, Duration::from_millis(100)) };
    let policy = Policy::builtin(engine).map_err(|e| e.to_string())?;
    let session = policy.session();
    let mut ops = std::collections::BTreeMap::new();
    for (name, call) in inputs() {
        let check = |answer: Result<route_policy_host::wire::Answer, route_policy_host::Error>| {
            answer.map_err(|e| format!("{name}: {e}"))
        };
        check(policy.call(&call))?;
        let native_ns = median_ns(samples, batch, || drop(std::hint::black_box(Native.call(&call))));
        let guarded_ns = median_ns(samples, batch, || drop(std::hint::black_box(guarded(engine.guard(), &call))));
        let warm_ns = median_ns(samples, batch, || drop(std::hint::black_box(session.call(&call))));
        let fresh_ns = median_ns(samples, batch, || drop(std::hint::black_box(policy.call(&call))));
        ops.insert(name, OpFigures { native_ns, guarded_ns, warm_ns, fresh_ns, ratio_warm: warm_ns / native_ns });
    }
    let instantiate_us = median_ns(samples, batch, || policy.instantiate_only().expect("instantiates")) / 1000.0;

    let bytes = route_policy_host::BUILTIN;
    let uncached = Engine::builder().build().map_err(|e| e.to_string())?;
    let compile_ms = median_ms(if quick { 3 } else { 7 }, || {
        Policy::from_bytes(&uncached, bytes, "bench".into()).expect("compiles");
    });
    let dir = std::env::temp_dir().join(format!("route-policy-bench-{}", std::process::id()));
    let cached = Engine::builder().cache_dir(dir.join("cache")).build().map_err(|e| e.to_string())?;
    Policy::from_bytes(&cached, bytes, "bench".into()).map_err(|e| e.to_string())?;
    let load_cached_ms = median_ms(if quick { 7 } else { 21 }, || {
        assert!(Policy::from_bytes(&cached, bytes, "bench".into()).expect("loads").from_cache());
    });
    let path = dir.join("policy.wasm");
    std::fs::write(&path, bytes).map_err(|e| e.to_string())?;
    let host = PolicyHost::open(
        cached.clone(),
        &path,
        ReloadOptions { trust: route_policy_host::Trust::none(), canary: Canary::builtin(), allow_rollback: true },
    )
    .map_err(|e| e.to_string())?;
    let swap_ms = median_ms(if quick { 7 } else { 21 }, || {
        host.reload(&path).expect("reloads");
    });
    let _ = std::fs::remove_dir_all(&dir);

    let throughput_per_s =
        throughput(&policy, if quick { Duration::from_millis(1500) } else { Duration::from_secs(5) });
    Ok(Figures {
        ops,
        instantiate_us,
        compile_ms,
        load_cached_ms,
        swap_ms,
        component_bytes: bytes.len(),
        throughput_per_s,
    })
}

/// The native answer to `call`, checked by `guard` the way a policy's answers are.
pub fn guarded(guard: &Guard, call: &Call) -> Result<Answer, String> {
    let answer = Native.call(call).map_err(|e| e.to_string())?;
    let refused = |v: route_policy_host::guard::Violation| v.to_string();
    match (call, answer) {
        (Call::ResolveEndpoint(request), Answer::Endpoint(Ok(endpoint))) => {
            guard.check_endpoint(request, &endpoint).map_err(refused)?;
            Ok(Answer::Endpoint(Ok(endpoint)))
        }
        (Call::FilterFallbacks(request), Answer::Plan(Ok(plan))) => {
            guard.check_plan(request, &plan).map_err(refused)?;
            Ok(Answer::Plan(Ok(plan)))
        }
        (Call::ClassifyError(failure), Answer::Verdict(mut verdict)) => {
            guard.check_verdict(failure, &mut verdict);
            Ok(Answer::Verdict(verdict))
        }
        (_, other) => Ok(other),
    }
}

fn median_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Calls per second from two threads, each with a warm session, cycling through the inputs.
pub fn throughput(policy: &Policy, run_for: Duration) -> f64 {
    let calls: Vec<Call> = inputs().into_iter().map(|(_, call)| call).collect();
    let started = Instant::now();
    let total: u64 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let session = policy.session();
                    let mut done = 0u64;
                    while started.elapsed() < run_for {
                        for call in &calls {
                            std::hint::black_box(session.call(call)).expect("answers");
                        }
                        done += calls.len() as u64;
                    }
                    done
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("worker")).sum()
    });
    total as f64 / started.elapsed().as_secs_f64()
}

#[cfg(test)]
mod tests {
    // The criterion benches include this file too, where these tests are not built.
    #[allow(unused_imports)]
    use super::*;

    #[test]
    fn the_guard_passes_every_benchmark_answer_unchanged() {
        let guard = Guard::new();
        for (name, call) in inputs() {
            let native = Native.call(&call).unwrap();
            assert!(!matches!(native, Answer::Endpoint(Err(_)) | Answer::Plan(Err(_))), "{name}: {native:?}");
            assert_eq!(guarded(&guard, &call).unwrap(), native, "{name}");
        }
    }
}
