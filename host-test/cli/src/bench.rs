//! The benchmarks' realistic inputs, and the quick measurements of `route-policy bench`.
//!
//! The criterion benches in `host-test/benches/` use the same inputs; this module's run is
//! the short one a user can make on their own machine (well under 30 s). Every figure is a
//! median over batches, and each wasm figure has its native counterpart: the same Rust logic
//! called in-process, the honest limit.

use route_policy_contract::guard::Guard;
use route_policy_contract::types::{
    Capability, Credential, CredentialKind, EndpointRequest, FallbackRequest, Plan, ProviderConfig, ProviderFailure,
};
use route_policy_contract::wire::{Answer, Call};
use route_policy_guest::Native;
use route_policy_host::{Canary, PolicyHost, ReloadOptions};
use route_policy_host::{Engine, Policy, Router};
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
        rejections: vec![route_policy_contract::types::Rejection {
            model: "o3".into(),
            plan: Plan::Plus,
            reason: route_policy_contract::types::FailureReason::ModelNotFound,
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

/// `next-step` in the middle of a call: a three-model chain, two 503s on the primary, and the
/// health of two routes; the answer is a retry after backoff.
pub fn next_step_input() -> Call {
    let chain: FallbackRequest = serde_json::from_value(serde_json::json!({
        "capability": "chat",
        "primary": "openai/gpt-5.5",
        "fallbacks": ["openai/gpt-4.1", "openai/o3"],
        "credentials": [{"profile-id": "key", "provider": "openai", "kind": "api-key", "plan": "api"}],
    }))
    .expect("a valid chain");
    let t0 = 1_795_240_800_000u64;
    let failed = |start: u64| {
        route_policy_contract::types::Attempt {
        model: "openai/gpt-5.5".into(),
        credential: "key".into(),
        request_url: "https://api.openai.com/v1/responses".into(),
        started_ms: t0 + start,
        ended_ms: t0 + start + 120,
        outcome: route_policy_contract::types::Outcome::HttpError(route_policy_contract::types::HttpResponse {
            status: 503,
            headers: vec![("content-type".into(), "application/json".into())],
            body: r#"{"error":{"message":"The engine is currently overloaded, please try again later","type":"server_error"}}"#.into(),
        }),
    }
    };
    let health = |route: &str, failures| route_policy_contract::types::RouteHealth {
        route: route.into(),
        failures,
        open_until_ms: None,
        opened: 0,
    };
    Call::NextStep(route_policy_contract::types::CallState {
        chain,
        streaming: true,
        started_ms: t0,
        now_ms: t0 + 1400,
        attempts: vec![failed(0), failed(1200)],
        health: vec![health("openai/gpt-5.5@key", 1), health("openai/o3@key", 1)],
        jitter_seed: 7,
    })
}

/// The four benchmarked operations, by name.
pub fn inputs() -> [(&'static str, Call); 4] {
    [
        ("resolve-endpoint", resolve_input()),
        ("filter-fallbacks", filter_input()),
        ("classify-error", classify_input()),
        ("next-step", next_step_input()),
    ]
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
    /// Calls per second from 2 threads with warm instances, the operations in turn.
    pub throughput_per_s: f64,
    /// The executor against a direct request to the same loopback upstream.
    pub executor: ExecutorFigures,
    /// The gateway against a direct request to the same loopback upstream.
    pub gateway: Vec<GatewayRow>,
}

/// Requests through the gateway against the same requests sent directly, from `clients`
/// concurrent clients.
#[derive(Debug, Serialize)]
pub struct GatewayRow {
    /// Concurrent clients.
    pub clients: usize,
    /// Whether the answers were streamed.
    pub streamed: bool,
    /// Requests measured, each way.
    pub requests: usize,
    /// Sent directly.
    pub direct: Percentiles,
    /// Sent through the gateway.
    pub gateway: Percentiles,
}

/// Latency percentiles of one kind of call, µs.
#[derive(Debug, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
}

/// A call through the executor against the same request sent directly, to a healthy loopback
/// upstream: what the policy's loop adds to a model call.
#[derive(Debug, Serialize)]
pub struct ExecutorFigures {
    /// Calls of each kind measured.
    pub calls: usize,
    /// A whole (non-streamed) answer, sent directly.
    pub direct: Percentiles,
    /// The same through the executor (two `next-step`s, the guard, the credential).
    pub executor: Percentiles,
    /// A streamed answer (62 events), sent directly and read to its end.
    pub direct_streaming: Percentiles,
    /// The same through the executor, which reads and checks every event.
    pub executor_streaming: Percentiles,
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
        let check = |answer: Result<route_policy_contract::wire::Answer, route_policy_host::Error>| {
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
    let executor = executor_figures(std::sync::Arc::new(policy), if quick { 200 } else { 1000 })?;
    let gateway = gateway_figures(engine, if quick { 200 } else { 1000 })?;
    Ok(Figures {
        ops,
        instantiate_us,
        compile_ms,
        load_cached_ms,
        swap_ms,
        component_bytes: bytes.len(),
        throughput_per_s,
        executor,
        gateway,
    })
}

/// The gateway's added latency: a gateway and a fake upstream in this process (2 worker
/// threads), and 1 or 32 concurrent clients each sending the same request directly and through
/// the gateway in turn, whole and streamed, every answer read to its end.
pub fn gateway_figures(engine: &Engine, requests: usize) -> Result<Vec<GatewayRow>, String> {
    use route_policy_fake_upstream::FakeUpstream;
    use route_policy_gateway::{Config, Gateway};
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let fake = FakeUpstream::start(1.0).await.map_err(|e| e.to_string())?;
        // SAFETY: the bench's own variable, set before the gateway reads it, on this thread.
        unsafe { std::env::set_var("ROUTE_POLICY_BENCH_KEY", "sk-bench") };
        let config = Config::parse(&format!(
            "[[providers]]\nid = \"fake\"\nbase-url = \"{}/v1\"\n[[credentials]]\nprofile-id = \"fake-key\"\nprovider = \"fake\"\nkind = \"api-key\"\nsecret-env = \"ROUTE_POLICY_BENCH_KEY\"\n",
            fake.origin()
        ))?;
        let gateway = std::sync::Arc::new(Gateway::start(config, engine.clone(), Default::default()).map_err(|e| e.to_string())?);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| e.to_string())?;
        let through_url = format!("http://{}/v1/chat/completions", listener.local_addr().map_err(|e| e.to_string())?);
        let server = tokio::spawn(gateway.serve(listener));
        let direct_url = format!("{}/v1/chat/completions", fake.origin());
        let mut rows = Vec::new();
        for clients in [1usize, 32] {
            for streamed in [false, true] {
                let body = |model: &str| {
                    serde_json::json!({"model": model, "messages": [{"role": "user", "content": "Count to sixty."}], "stream": streamed})
                        .to_string()
                };
                let (direct_body, through_body) = (body("ok/gpt-4o"), body("fake/ok/gpt-4o"));
                let each = requests.div_ceil(clients).max(10);
                let mut tasks = Vec::new();
                for _ in 0..clients {
                    let client = reqwest::Client::new();
                    let (direct_url, through_url) = (direct_url.clone(), through_url.clone());
                    let (direct_body, through_body) = (direct_body.clone(), through_body.clone());
                    tasks.push(tokio::spawn(async move {
                        let (mut direct, mut through) = (Vec::new(), Vec::new());
                        // Two warm-up rounds (connections, caches), then `each` measured ones.
                        for i in 0..each + 2 {
                            let started = Instant::now();
                            direct_call(&client, &direct_url, &direct_body).await?;
                            let direct_us = started.elapsed().as_secs_f64() * 1e6;
                            let started = Instant::now();
                            let answer = direct_call(&client, &through_url, &through_body).await?;
                            let through_us = started.elapsed().as_secs_f64() * 1e6;
                            if !answer.windows(5).any(|w| w == b"sixty") {
                                return Err(format!("the gateway did not serve: {}", String::from_utf8_lossy(&answer)));
                            }
                            if i >= 2 {
                                direct.push(direct_us);
                                through.push(through_us);
                            }
                        }
                        Ok::<_, String>((direct, through))
                    }));
                }
                let (mut direct, mut through) = (Vec::new(), Vec::new());
                for task in tasks {
                    let (d, t) = task.await.map_err(|e| e.to_string())??;
                    direct.extend(d);
                    through.extend(t);
                }
                let requests = direct.len();
                rows.push(GatewayRow { clients, streamed, requests, direct: percentiles(direct), gateway: percentiles(through) });
            }
        }
        server.abort();
        Ok(rows)
    })
}

/// The executor's added latency: `calls` sequential calls of each kind to a healthy model of
/// an in-process fake upstream, through the executor and sent directly with the same client
/// stack (reqwest), whole and streamed.
pub fn executor_figures(policy: std::sync::Arc<Policy>, calls: usize) -> Result<ExecutorFigures, String> {
    use route_policy_executor::{Executor, HttpTransport, ModelCall, Secret, StaticCredentials};
    use route_policy_fake_upstream::FakeUpstream;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let fake = FakeUpstream::start(1.0).await.map_err(|e| e.to_string())?;
        let secrets = StaticCredentials::new().with("fake-key", Secret::new("sk-bench"));
        let executor = Executor::new(policy, HttpTransport::new(), std::sync::Arc::new(secrets));
        let chain: FallbackRequest = serde_json::from_value(serde_json::json!({
            "capability": "chat", "primary": "fake/ok/gpt-4o",
            "credentials": [{"profile-id": "fake-key", "provider": "fake", "kind": "api-key", "plan": "api"}],
            "providers": [{"id": "fake", "base-url": format!("{}/v1", fake.origin())}],
        }))
        .map_err(|e| e.to_string())?;
        let url = format!("{}/v1/chat/completions", fake.origin());
        let client = reqwest::Client::new();
        let mut figures = Vec::new();
        for stream in [false, true] {
            let body =
                serde_json::json!({"messages": [{"role": "user", "content": "Count to sixty."}], "stream": stream});
            let call = ModelCall { chain: chain.clone(), body: body.clone() };
            let mut direct_body = body.clone();
            direct_body["model"] = "ok/gpt-4o".into();
            let direct_body = direct_body.to_string();
            let mut direct = Vec::with_capacity(calls);
            let mut through = Vec::with_capacity(calls);
            for i in 0..calls + 20 {
                let started = Instant::now();
                std::hint::black_box(direct_call(&client, &url, &direct_body).await?);
                let direct_us = started.elapsed().as_secs_f64() * 1e6;
                let started = Instant::now();
                let result = executor.run(&call).await;
                let through_us = started.elapsed().as_secs_f64() * 1e6;
                result.result.map_err(|f| format!("the executor did not serve: {f:?}"))?;
                if i >= 20 {
                    direct.push(direct_us);
                    through.push(through_us);
                }
            }
            figures.push((percentiles(direct), percentiles(through)));
        }
        let [(direct, executor), (direct_streaming, executor_streaming)]: [(Percentiles, Percentiles); 2] =
            figures.try_into().map_err(|_| "two kinds measured".to_owned())?;
        Ok(ExecutorFigures { calls, direct, executor, direct_streaming, executor_streaming })
    })
}

/// The baseline of the executor's figures: the request sent straight to the upstream, its
/// answer read to the end.
pub async fn direct_call(client: &reqwest::Client, url: &str, body: &str) -> Result<bytes::Bytes, String> {
    let response = client
        .post(url)
        .bearer_auth("sk-bench")
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    response.bytes().await.map_err(|e| e.to_string())
}

fn percentiles(mut samples: Vec<f64>) -> Percentiles {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Percentiles { p50_us: at(0.5), p99_us: at(0.99) }
}

/// The native answer to `call`, checked by `guard` the way a policy's answers are.
pub fn guarded(guard: &Guard, call: &Call) -> Result<Answer, String> {
    let answer = Native.call(call).map_err(|e| e.to_string())?;
    let refused = |v: route_policy_contract::guard::Violation| v.to_string();
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
        (Call::NextStep(call), Answer::Next(Ok(mut next))) => {
            guard.check_next(call, &mut next).map_err(refused)?;
            Ok(Answer::Next(Ok(next)))
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
