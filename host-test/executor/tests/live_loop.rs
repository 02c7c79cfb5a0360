//! The live loop (`wit/LIVE-LOOP.md`): the executor runs real calls through the built-in policy's
//! `next-step` against a fake upstream that fails on purpose, one test per row of the conduct
//! table. The judge is the fake's own request log: how many attempts each model got, the gaps
//! between them, what was never resent. Waits run at [`SCALE`] of their length.

use route_policy_contract::types::{FailureReason, FallbackRequest, Usage};
use route_policy_executor::{
    CallResult, Clock, Executor, Failed, HostCode, HttpTransport, ModelCall, Secret, StaticCredentials,
};
use route_policy_fake_upstream::{ANSWER, FakeUpstream, Logged};
use route_policy_testkit::POLICY;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Every wait and timeout runs at this fraction of its length: a 2 s Retry-After takes 40 ms,
/// a 30 s first-byte timeout 0.6 s, a circuit's 30 s opening 0.6 s.
const SCALE: f64 = 0.02;

/// The fake's key for the `fake` provider, and the sign-in of a ChatGPT Plus account.
const KEY: &str = "sk-fake-test-key-0000";
const SIGNIN: &str = "eyJhbGciOiJub25lIn0.eyJwbGFuIjoicGx1cyJ9.plus";

/// A fake, and an executor whose `fake` provider is it.
struct Bench {
    fake: FakeUpstream,
    executor: Executor<HttpTransport>,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime")
}

async fn bench() -> Bench {
    let fake = FakeUpstream::start(SCALE).await.expect("the fake starts");
    // The seeds' hosts stand on the fake: the guard sees the real URLs, the bytes go to it.
    let transport = HttpTransport::new()
        .route("https://chatgpt.com", &fake.origin())
        .and_then(|t| t.route("https://api.openai.com", &fake.origin()))
        .expect("loopback routes");
    let secrets = StaticCredentials::new()
        .with("fake-key", Secret::new(KEY))
        .with("openai-key", Secret::new(KEY))
        .with("codex", Secret::new(SIGNIN));
    let executor = Executor::new(POLICY.clone(), transport, Arc::new(secrets)).with_clock(Clock::scaled(SCALE));
    Bench { fake, executor }
}

impl Bench {
    /// A chat chain over the fake's OpenAI-compatible server (`fake/FAULT/MODEL` refs).
    fn chain(&self, primary: &str, fallbacks: &[&str]) -> FallbackRequest {
        serde_json::from_value(json!({
            "capability": "chat",
            "primary": primary,
            "fallbacks": fallbacks,
            "credentials": [{"profile-id": "fake-key", "provider": "fake", "kind": "api-key", "plan": "api"}],
            "providers": [{"id": "fake", "base-url": format!("{}/v1", self.fake.origin())}],
        }))
        .unwrap()
    }

    async fn chat(&self, primary: &str, fallbacks: &[&str], stream: bool) -> CallResult {
        let body = json!({"messages": [{"role": "user", "content": "Count to sixty."}], "stream": stream});
        self.executor.run(&ModelCall { chain: self.chain(primary, fallbacks), body }).await
    }

    fn requests(&self, model: &str) -> Vec<Logged> {
        self.fake.requests_for(model)
    }
}

/// The policy's milliseconds as the fake's log measures them.
fn real_ms(policy_ms: u64) -> Duration {
    Duration::from_secs_f64(policy_ms as f64 * SCALE / 1000.0)
}

fn served_by(result: &CallResult) -> &str {
    match &result.result {
        Ok(served) => &served.candidate.model,
        Err(failed) => panic!("not served: {failed:?}\nreceipt: {:?}", result.receipt),
    }
}

/// The whole healthy answer's words, in a Chat Completions body or stream.
fn full_text(result: &CallResult) -> String {
    let served = result.result.as_ref().expect("served");
    let body = String::from_utf8_lossy(&served.answer.body).into_owned();
    if let Ok(json) = serde_json::from_str::<Value>(&body) {
        return json.pointer("/choices/0/message/content").and_then(Value::as_str).unwrap_or("").to_owned();
    }
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|e| e.pointer("/choices/0/delta/content").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

#[test]
fn a_429_with_retry_after_waits_that_long_then_retries() {
    runtime().block_on(async {
        let b = bench().await;
        let result = b.chat("fake/retry-after-once/gpt-4o", &["fake/ok/gpt-4.1"], false).await;
        assert_eq!(served_by(&result), "fake/retry-after-once/gpt-4o");
        let seen = b.requests("retry-after-once/gpt-4o");
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(seen[1].at - seen[0].at >= real_ms(2000), "retried after {:?}, before 2 s", seen[1].at - seen[0].at);
        assert!(b.requests("ok/gpt-4.1").is_empty(), "no fallback needed");
    });
}

#[test]
fn a_429_every_time_backs_off_a_bounded_number_of_times_then_fails_over() {
    runtime().block_on(async {
        let b = bench().await;
        let result = b.chat("fake/rate-limited/gpt-4o", &["fake/ok/gpt-4.1"], false).await;
        assert_eq!(served_by(&result), "fake/ok/gpt-4.1");
        let seen = b.requests("rate-limited/gpt-4o");
        assert_eq!(seen.len(), 3, "a bounded number of attempts: {seen:?}");
        for pair in seen.windows(2) {
            assert!(pair[1].at - pair[0].at >= real_ms(1000), "two attempts within a second: {seen:?}");
        }
        let served = result.result.as_ref().unwrap();
        assert!(served.fallback);
        let notice = served.notice.as_deref().unwrap_or("");
        assert!(notice.contains("fake/ok/gpt-4.1 answered instead of fake/rate-limited/gpt-4o"), "{notice}");
    });
}

#[test]
fn a_500_once_is_retried_on_the_same_route() {
    runtime().block_on(async {
        let b = bench().await;
        let result = b.chat("fake/error-once/gpt-4o", &["fake/ok/gpt-4.1"], true).await;
        assert_eq!(served_by(&result), "fake/error-once/gpt-4o");
        assert_eq!(b.requests("error-once/gpt-4o").len(), 2);
        assert!(b.requests("ok/gpt-4.1").is_empty());
        assert_eq!(full_text(&result).trim(), ANSWER);
    });
}

#[test]
fn a_503_everywhere_is_bounded_and_surfaces_the_original_error() {
    runtime().block_on(async {
        let b = bench().await;
        let result = b.chat("fake/unavailable/gpt-4o", &["fake/unavailable/gpt-4.1"], false).await;
        let Err(Failed::Policy(failure)) = &result.result else { panic!("{:?}", result.result) };
        assert_eq!(failure.verdict.reason, FailureReason::Overloaded);
        assert!(failure.message.contains("No candidate could answer"), "{}", failure.message);
        assert_eq!(b.requests("unavailable/gpt-4o").len(), 3);
        assert_eq!(b.requests("unavailable/gpt-4.1").len(), 3);
        assert_eq!(result.receipt.attempts.len(), 6);
        assert_eq!(result.receipt.effective, None);
    });
}

#[test]
fn a_reset_before_any_byte_is_retried() {
    runtime().block_on(async {
        let b = bench().await;
        let result = b.chat("fake/reset-once/gpt-4o", &["fake/ok/gpt-4.1"], false).await;
        assert_eq!(served_by(&result), "fake/reset-once/gpt-4o");
        let seen = b.requests("reset-once/gpt-4o");
        assert_eq!(seen.iter().map(|l| l.answer.as_str()).collect::<Vec<_>>(), ["reset", "200"]);
    });
}

#[test]
fn a_silent_route_is_left_at_its_first_byte_timeout_not_retried() {
    runtime().block_on(async {
        let b = bench().await;
        let result = b.chat("fake/silent/gpt-4o", &["fake/ok/gpt-4.1"], false).await;
        assert_eq!(served_by(&result), "fake/ok/gpt-4.1");
        let silent = b.requests("silent/gpt-4o");
        assert_eq!(silent.len(), 1, "a silent route is not retried");
        let fallback = &b.requests("ok/gpt-4.1")[0];
        let waited = fallback.at - silent[0].at;
        // The first-byte timeout (30 s) fired, and the call ended well inside its budget (300 s).
        assert!(waited >= real_ms(30_000) && waited < real_ms(60_000), "failed over after {waited:?}");
    });
}

#[test]
fn a_slow_first_token_moves_on_within_its_class_budget_and_a_reasoning_model_is_waited_for() {
    runtime().block_on(async {
        let b = bench().await;
        // The first word comes after 20 s. gpt-4o answers at once: its budget is 12 s, and the
        // fallback serves, from its first attempt.
        let result = b.chat("fake/slow-first-token/gpt-4o", &["fake/ok/gpt-4.1"], true).await;
        assert_eq!(served_by(&result), "fake/ok/gpt-4.1");
        assert_eq!(full_text(&result).trim(), ANSWER);
        assert_eq!(b.requests("slow-first-token/gpt-4o").len(), 1, "a silent route is not retried");
        let first = &result.receipt.attempts[0];
        assert!(matches!(first.outcome, route_policy_contract::types::Outcome::Timeout(_)), "{:?}", first.outcome);
        assert!(first.ended_ms - first.started_ms < 20_000, "left before its first token: {first:?}");
        // o3 reasons first: its budget is three minutes, and it answers.
        let result = b.chat("fake/slow-first-token/o3", &["fake/ok/gpt-4.1"], true).await;
        assert_eq!(served_by(&result), "fake/slow-first-token/o3");
        assert_eq!(full_text(&result).trim(), ANSWER);
    });
}

#[test]
fn a_stream_cut_short_is_never_an_answer_the_fallback_delivers_it_whole() {
    runtime().block_on(async {
        let b = bench().await;
        let result = b.chat("fake/cut/gpt-4o", &["fake/ok/gpt-4.1"], true).await;
        assert_eq!(served_by(&result), "fake/ok/gpt-4.1");
        assert_eq!(full_text(&result).trim(), ANSWER, "the whole answer, from the fallback");
        assert_eq!(b.requests("cut/gpt-4o").len(), 1);
        let fallback = &b.requests("ok/gpt-4.1")[0];
        assert!(!fallback.prefill, "the fallback gets the request whole, not the cut answer as a prefill");
        assert!(result.receipt.fallback);
    });
}

#[test]
fn a_stalled_stream_is_cut_by_the_idle_timeout_and_the_host_stays_healthy() {
    runtime().block_on(async {
        let b = bench().await;
        let result = b.chat("fake/stall/gpt-4o", &["fake/ok/gpt-4.1"], true).await;
        assert_eq!(served_by(&result), "fake/ok/gpt-4.1");
        assert_eq!(full_text(&result).trim(), ANSWER);
        let stalled = &b.requests("stall/gpt-4o")[0];
        let fallback = &b.requests("ok/gpt-4.1")[0];
        assert!(fallback.at - stalled.at >= real_ms(30_000), "the idle timeout (30 s) fired first");
        // Alive afterwards: the next call is served at once.
        let again = b.chat("fake/ok/gpt-4o", &[], true).await;
        assert_eq!(served_by(&again), "fake/ok/gpt-4o");
    });
}

/// One event that is not JSON in an otherwise good stream is skipped, as clients skip it: the
/// answer is whole, from the same attempt, and the receipt counts the skipped event.
#[test]
fn a_malformed_event_is_skipped_and_the_rest_passes_unchanged() {
    runtime().block_on(async {
        let b = bench().await;
        let result = b.chat("fake/malformed/gpt-4o", &["fake/ok/gpt-4.1"], true).await;
        assert_eq!(served_by(&result), "fake/malformed/gpt-4o");
        assert_eq!(full_text(&result).trim(), ANSWER, "every good event arrived");
        assert_eq!(b.requests("malformed/gpt-4o").len(), 1);
        assert!(b.requests("ok/gpt-4.1").is_empty(), "no fallback was needed");
        assert_eq!(result.receipt.attempts[0].skipped_events, 1);
        let Ok(served) = &result.result else { unreachable!() };
        assert!(
            !String::from_utf8_lossy(&served.answer.body).contains("\"delta\": \n"),
            "the broken event is not kept"
        );
    });
}

#[test]
fn a_stream_without_done_finishes_promptly_with_its_usage() {
    runtime().block_on(async {
        let b = bench().await;
        let result = b.chat("fake/no-done/gpt-4o", &["fake/ok/gpt-4.1"], true).await;
        assert_eq!(served_by(&result), "fake/no-done/gpt-4o");
        let served = result.result.as_ref().unwrap();
        assert_eq!(served.answer.usage, Some(Usage { input_tokens: 17, output_tokens: 60 }));
        assert!(b.requests("no-done/gpt-4o")[0].include_usage, "usage is asked for in the stream");
        assert_eq!(full_text(&result).trim(), ANSWER);
        assert_eq!(result.receipt.attempts.len(), 1);
    });
}

#[test]
fn a_context_overflow_is_never_resent_and_moves_to_a_larger_window() {
    runtime().block_on(async {
        let b = bench().await;
        let result = b.chat("fake/context/gpt-4o", &["fake/ok/gpt-3.5-turbo", "fake/ok/gpt-4.1"], false).await;
        assert_eq!(served_by(&result), "fake/ok/gpt-4.1");
        assert_eq!(b.requests("context/gpt-4o").len(), 1, "never resent");
        assert!(b.requests("ok/gpt-3.5-turbo").is_empty(), "a smaller window is skipped");
        // With no larger window configured, it is surfaced.
        let alone = b.chat("fake/context/gpt-4o", &["fake/ok/gpt-3.5-turbo"], false).await;
        let Err(Failed::Policy(failure)) = &alone.result else { panic!("{:?}", alone.result) };
        assert_eq!(failure.verdict.reason, FailureReason::ContextOverflow);
        assert_eq!(b.requests("context/gpt-4o").len(), 2);
        // A fallback whose window nobody knows (a local model) may fit it: it is tried, once.
        let unknown = b.chat("fake/context/gpt-4o", &["fake/ok/gpt-3.5-turbo", "fake/ok/house-model"], false).await;
        assert_eq!(served_by(&unknown), "fake/ok/house-model");
        assert!(unknown.receipt.rules.iter().any(|r| r == "loop.context-failover"), "{:?}", unknown.receipt.rules);
        assert_eq!(b.requests("context/gpt-4o").len(), 3);
        assert!(b.requests("ok/gpt-3.5-turbo").is_empty(), "a window known to be smaller is still skipped");
    });
}

#[test]
fn a_safety_refusal_is_surfaced_with_its_reason_never_routed_around() {
    runtime().block_on(async {
        let b = bench().await;
        let result = b.chat("fake/content-policy/gpt-4o", &["fake/ok/gpt-4.1"], false).await;
        let Err(Failed::Policy(failure)) = &result.result else { panic!("{:?}", result.result) };
        assert_eq!(failure.verdict.reason, FailureReason::ContentPolicy);
        assert!(failure.message.contains("safety system"), "{}", failure.message);
        assert_eq!(b.requests("content-policy/gpt-4o").len(), 1, "never resent");
        assert!(b.requests("ok/gpt-4.1").is_empty(), "not routed around");
    });
}

#[test]
fn a_cut_stream_restarts_cleanly_on_a_fallback_that_rejects_prefill() {
    runtime().block_on(async {
        let b = bench().await;
        let result = b.chat("fake/cut/gpt-4o", &["fake/rejects-prefill/gpt-4.1"], true).await;
        assert_eq!(served_by(&result), "fake/rejects-prefill/gpt-4.1");
        let fallback = b.requests("rejects-prefill/gpt-4.1");
        assert_eq!(fallback.len(), 1);
        assert!(!fallback[0].prefill);
        assert_eq!(full_text(&result).trim(), ANSWER);
    });
}

#[test]
fn a_primary_down_for_a_while_is_paused_probed_and_returned_to() {
    runtime().block_on(async {
        let b = bench().await;
        let primary = "fake/down-3/gpt-4o";
        // Call 1: three 503s open the circuit; the fallback serves.
        assert_eq!(served_by(&b.chat(primary, &["fake/ok/gpt-4.1"], false).await), "fake/ok/gpt-4.1");
        assert_eq!(b.requests("down-3/gpt-4o").len(), 3);
        // While it is open: the fallback serves at once, the primary is not hammered.
        for _ in 0..3 {
            let result = b.chat(primary, &["fake/ok/gpt-4.1"], false).await;
            assert_eq!(served_by(&result), "fake/ok/gpt-4.1");
            assert!(result.receipt.notice.as_deref().is_some_and(|n| n.contains("paused")), "{:?}", result.receipt);
        }
        assert_eq!(b.requests("down-3/gpt-4o").len(), 3, "an open circuit is not tried");
        // After its opening (30 s), one call probes it; it has recovered, and it serves again.
        tokio::time::sleep(real_ms(31_000)).await;
        let probe = b.chat(primary, &["fake/ok/gpt-4.1"], false).await;
        assert_eq!(served_by(&probe), primary);
        assert!(probe.receipt.attempts[0].probe);
        assert_eq!(served_by(&b.chat(primary, &["fake/ok/gpt-4.1"], false).await), primary);
        assert_eq!(b.requests("down-3/gpt-4o").len(), 5);
        assert!(b.executor.health().get(&format!("{primary}@fake-key")).is_none(), "the circuit closed");
    });
}

#[test]
fn a_fallback_that_serves_is_named_with_its_reason_and_its_own_usage() {
    runtime().block_on(async {
        let b = bench().await;
        let result = b.chat("fake/unavailable/gpt-4o", &["fake/ok/gpt-4.1"], true).await;
        let served = result.result.as_ref().expect("served");
        assert_eq!(served.candidate.model, "fake/ok/gpt-4.1");
        assert!(served.fallback);
        assert!(served.notice.as_deref().is_some_and(|n| n.contains("overloaded")), "{:?}", served.notice);
        assert_eq!(served.answer.usage, Some(Usage { input_tokens: 17, output_tokens: 60 }));
        // The receipt: requested, effective, every attempt; only the last one succeeded.
        let receipt = &result.receipt;
        assert_eq!(
            (receipt.requested.as_str(), receipt.effective.as_deref()),
            ("fake/unavailable/gpt-4o", Some("fake/ok/gpt-4.1"))
        );
        assert_eq!(receipt.attempts.len(), 4);
        let successes = receipt
            .attempts
            .iter()
            .filter(|a| matches!(a.outcome, route_policy_contract::types::Outcome::Success(_)))
            .count();
        assert_eq!(successes, 1, "the failed attempts are not completions");
        assert_eq!(receipt.usage, Some(Usage { input_tokens: 17, output_tokens: 60 }));
    });
}

// --- The seeds, over real HTTP: the fake stands in for chatgpt.com and api.openai.com. ---

fn signin_chain(primary: &str, fallbacks: &[&str], providers: Value) -> FallbackRequest {
    serde_json::from_value(json!({
        "capability": "chat",
        "primary": primary,
        "fallbacks": fallbacks,
        "credentials": [{"profile-id": "codex", "provider": "openai-codex", "kind": "oauth", "plan": "plus"}],
        "providers": providers,
    }))
    .unwrap()
}

async fn responses(b: &Bench, chain: FallbackRequest) -> CallResult {
    b.executor.run(&ModelCall { chain, body: json!({"input": "Count to sixty.", "stream": true}) }).await
}

#[test]
fn seed_004_a_legacy_backend_api_base_reaches_the_codex_path() {
    runtime().block_on(async {
        let b = bench().await;
        let chain = signin_chain(
            "openai-codex/gpt-5.5",
            &[],
            json!([{"id": "openai-codex", "base-url": "https://chatgpt.com/backend-api"}]),
        );
        let result = responses(&b, chain).await;
        assert_eq!(served_by(&result), "openai/gpt-5.5");
        let seen = b.requests("gpt-5.5");
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].path, "/backend-api/codex/responses", "never the retired /backend-api/responses");
        assert_eq!(seen[0].credential, "sign-in");
    });
}

#[test]
fn seed_000_a_signin_never_reaches_the_platform_api() {
    runtime().block_on(async {
        let b = bench().await;
        let result = responses(&b, signin_chain("openai/gpt-5.5", &[], json!([]))).await;
        assert_eq!(served_by(&result), "openai/gpt-5.5");
        assert!(b.fake.log().iter().all(|l| !l.path.starts_with("/v1/")), "{:?}", b.fake.log());
    });
}

#[test]
fn seed_000_a_pro_model_on_a_plus_plan_is_never_sent() {
    runtime().block_on(async {
        let b = bench().await;
        let result =
            responses(&b, signin_chain("openai-codex/gpt-5.5-pro", &["openai-codex/gpt-5.5"], json!([]))).await;
        assert_eq!(served_by(&result), "openai/gpt-5.5");
        assert!(b.requests("gpt-5.5-pro").is_empty(), "the pro model stays off the wire");
        let notice = result.receipt.notice.as_deref().unwrap_or("");
        assert!(notice.contains("gpt-5.5-pro") && notice.contains("left out"), "{notice}");
    });
}

#[test]
fn a_backend_rejection_the_rules_did_not_know_is_learned_and_not_tried_again() {
    runtime().block_on(async {
        let b = bench().await;
        b.fake.reject_for_account("gpt-5.4-mini");
        let chain = signin_chain("openai-codex/gpt-5.4-mini", &["openai-codex/gpt-5.5"], json!([]));
        let first = responses(&b, chain.clone()).await;
        assert_eq!(served_by(&first), "openai/gpt-5.5");
        assert_eq!(b.requests("gpt-5.4-mini").len(), 1, "dropped at once, not retried");
        assert_eq!(first.receipt.learned.len(), 1);
        assert_eq!(first.receipt.learned[0].model, "gpt-5.4-mini");
        // The host passes what was learned back: the next call's plan leaves the model out.
        let mut next_chain = chain;
        next_chain.rejections.extend(first.receipt.learned.clone());
        let second = responses(&b, next_chain).await;
        assert_eq!(served_by(&second), "openai/gpt-5.5");
        assert_eq!(b.requests("gpt-5.4-mini").len(), 1, "not tried again");
    });
}

#[test]
fn seed_000_an_image_over_the_codex_route_offers_the_image_tool() {
    runtime().block_on(async {
        let b = bench().await;
        let mut chain = signin_chain("openai/gpt-image-2", &[], json!([]));
        chain.capability = route_policy_contract::types::Capability::ImageGenerate;
        let body = json!({"input": "A red square.", "tool_choice": {"type": "image_generation"}});
        let result = b.executor.run(&ModelCall { chain, body }).await;
        assert_eq!(served_by(&result), "openai/gpt-image-2");
        let seen = b.requests("gpt-5.5");
        assert_eq!(seen.len(), 1, "the image is made by gpt-5.5's image tool: {:?}", b.fake.log());
        assert_eq!((seen[0].path.as_str(), seen[0].answer.as_str()), ("/backend-api/codex/responses", "200"));
        // Without the tool offered (a naive host), the backend says so, and the policy moves on.
        let naive = reqwest::Client::new()
            .post(format!("{}/backend-api/codex/responses", b.fake.origin()))
            .bearer_auth(SIGNIN)
            .header("content-type", "application/json")
            .body(
                json!({"model": "gpt-5.5", "input": "A red square.", "tool_choice": {"type": "image_generation"}})
                    .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(naive.status(), 400);
        assert!(naive.text().await.unwrap().contains("Tool choice 'image_generation' not found"));
    });
}

#[test]
fn the_guard_stops_a_hostile_policys_send_before_any_secret_leaves() {
    use route_policy_host::Policy;
    use route_policy_testkit::FIXTURES;
    runtime().block_on(async {
        let b = bench().await;
        let hostile = Arc::new(
            Policy::from_bytes(&route_policy_testkit::ENGINE, &FIXTURES.hostile, "hostile.wasm".into()).unwrap(),
        );
        let secrets = StaticCredentials::new().with("codex", Secret::new(SIGNIN));
        let executor = Executor::new(hostile, HttpTransport::new(), Arc::new(secrets)).with_clock(Clock::scaled(SCALE));
        // The hostile policy sends the sign-in where its model name says.
        let chain = signin_chain(&format!("send codex {}/steal", b.fake.origin()), &[], json!([]));
        let result = executor.run(&ModelCall { chain, body: json!({"input": "hi"}) }).await;
        let Err(Failed::Host { code, .. }) = &result.result else { panic!("{:?}", result.result) };
        assert_eq!(*code, HostCode::GuardRefused);
        assert!(b.fake.log().is_empty(), "nothing reached the host it named: {:?}", b.fake.log());
    });
}

/// A host the operator allowed for a provider (`--allow-host`) is allowed by the executor's
/// own check too, not only by the policy's: both use the engine's guard. And a refusal tells
/// the caller which policy refused, never where the host keeps it.
#[test]
fn the_executor_checks_with_the_engines_guard_and_names_no_server_path() {
    use route_policy_host::{Engine, Policy};
    use route_policy_testkit::FIXTURES;
    runtime().block_on(async {
        let b = bench().await;
        let engine = Engine::builder().allow_host("fake", b.fake.origin()).build().unwrap();
        let source = "/srv/ops-only/policies/hostile.wasm";
        let hostile = Arc::new(Policy::from_bytes(&engine, &FIXTURES.hostile, source.into()).unwrap());
        let secrets = StaticCredentials::new().with("fake-key", Secret::new(KEY));
        let executor = Executor::new(hostile, HttpTransport::new(), Arc::new(secrets)).with_clock(Clock::scaled(SCALE));
        // The hostile policy sends the key to the URL its model names: a host the config does
        // not name, but the operator allowed for this provider.
        let mut chain = b.chain(&format!("send fake-key {}/allowed/chat/completions", b.fake.origin()), &[]);
        chain.providers.clear();
        let body = json!({"messages": [{"role": "user", "content": "hi"}]});
        let result = executor.run(&ModelCall { chain, body }).await;
        assert_eq!(b.fake.log().len(), 1, "the allowed host got the request: {:?}", result.result);
        assert_eq!(b.fake.log()[0].path, "/allowed/chat/completions");
        // Its storm is stopped by the floor, and the sentence names the policy by revision.
        let Err(Failed::Host { message, .. }) = &result.result else { panic!("{:?}", result.result) };
        assert!(message.contains("hostile-1") && !message.contains("/srv/ops-only"), "{message}");
    });
}

/// Rule data decides the loop's conduct, and a verified hot swap changes it between two calls
/// with no host change: the variant's attempt cap is 1, so a 503 moves on at once.
#[test]
fn a_hot_swap_between_two_calls_changes_the_loops_conduct() {
    use route_policy_host::{Canary, Engine, PolicyHost, ReloadOptions, Trust};
    let variant = route_policy_testkit::one_attempt_variant();
    let dir = route_policy_testkit::temp_dir("loop-swap");
    let serving = dir.join("policy.wasm");
    std::fs::write(&serving, route_policy_host::BUILTIN).unwrap();
    let options = ReloadOptions { trust: Trust::none(), canary: Canary::builtin(), allow_rollback: false };
    let host = Arc::new(PolicyHost::open(Engine::builder().build().unwrap(), &serving, options).unwrap());
    runtime().block_on(async {
        let b = bench().await;
        let secrets = StaticCredentials::new().with("fake-key", Secret::new(KEY));
        let executor =
            Executor::new(host.clone(), HttpTransport::new(), Arc::new(secrets)).with_clock(Clock::scaled(SCALE));
        let call = |chain| ModelCall { chain, body: json!({"messages": [{"role": "user", "content": "hi"}]}) };
        let before = executor.run(&call(b.chain("fake/unavailable/gpt-4o", &["fake/ok/gpt-4.1"]))).await;
        assert_eq!(served_by(&before), "fake/ok/gpt-4.1");
        assert_eq!(b.requests("unavailable/gpt-4o").len(), 3, "the built-in policy tries three times");

        std::fs::write(dir.join("next.wasm"), &variant).unwrap();
        let swapped = host.reload(&dir.join("next.wasm")).expect("the variant passes every check");
        assert_eq!(swapped.id().revision, route_policy_testkit::newer_revision());

        let after = executor.run(&call(b.chain("fake/unavailable/gpt-4.1-mini", &["fake/ok/gpt-4.1"]))).await;
        assert_eq!(served_by(&after), "fake/ok/gpt-4.1");
        assert_eq!(b.requests("unavailable/gpt-4.1-mini").len(), 1, "the swapped policy moves on at once");
        assert_eq!(after.receipt.policy, route_policy_testkit::newer_revision());
    });
}

/// Every call leaves a receipt in the decision log: requested and effective model, the route,
/// the credential's profile (never its secret), every attempt, the policy's revision.
#[test]
fn every_call_leaves_a_receipt_without_its_secret() {
    use route_policy_host::DecisionLog;
    let dir = route_policy_testkit::temp_dir("receipts");
    let log_path = dir.join("decisions.jsonl");
    runtime().block_on(async {
        let b = bench().await;
        let secrets = StaticCredentials::new().with("fake-key", Secret::new(KEY));
        let log = Arc::new(DecisionLog::open(&log_path).unwrap());
        let executor = Executor::new(POLICY.clone(), HttpTransport::new(), Arc::new(secrets))
            .with_clock(Clock::scaled(SCALE))
            .with_log(log);
        let body = json!({"messages": [{"role": "user", "content": "hi"}]});
        executor.run(&ModelCall { chain: b.chain("fake/unavailable/gpt-4o", &["fake/ok/gpt-4.1"]), body }).await;
    });
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(!text.contains(KEY), "the secret never reaches the log");
    let line: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(line["op"], "call");
    let receipt = &line["receipt"];
    assert_eq!(receipt["requested"], "fake/unavailable/gpt-4o");
    assert_eq!(receipt["effective"], "fake/ok/gpt-4.1");
    assert_eq!(receipt["fallback"], true);
    assert!(receipt["notice"].as_str().is_some_and(|n| n.contains("instead of")));
    assert_eq!(receipt["attempts"].as_array().unwrap().len(), 4);
    assert_eq!(receipt["attempts"][0]["credential"], "fake-key");
    assert_eq!(receipt["policy"], POLICY.id().revision.as_str());
}

/// The hostile fixture, as an executor over the bench's fake (no canary: it would fail it).
fn hostile_executor(b: &Bench, scale: f64) -> Executor<HttpTransport> {
    use route_policy_host::Policy;
    let hostile = Policy::from_bytes(
        &route_policy_testkit::ENGINE,
        &route_policy_testkit::FIXTURES.hostile,
        "hostile.wasm".into(),
    );
    let secrets = StaticCredentials::new().with("fake-key", Secret::new(KEY));
    let _ = b;
    Executor::new(Arc::new(hostile.unwrap()), HttpTransport::new(), Arc::new(secrets)).with_clock(Clock::scaled(scale))
}

fn guard_refusal(result: &CallResult) -> &str {
    match &result.result {
        Err(Failed::Host { code: HostCode::GuardRefused, message }) => message,
        other => panic!("not refused by the guard: {other:?}"),
    }
}

/// A policy that returns a megabyte of route health at every step cannot make every later
/// call too heavy to send: only the plan's routes are stored, and the store is bounded.
#[test]
fn a_hostile_policy_cannot_fill_the_route_health_every_call_carries() {
    runtime().block_on(async {
        let b = bench().await;
        let executor = hostile_executor(&b, SCALE);
        for _ in 0..8 {
            let result =
                executor.run(&ModelCall { chain: b.chain("fake/flood", &[]), body: json!({"input": "hi"}) }).await;
            assert_eq!(served_by(&result), "fake/flood");
        }
        assert!(executor.health().len() <= 1, "{} routes stored", executor.health().len());
        assert_eq!(b.requests("flood").len(), 8);
    });
}

/// The provider refused the request (400): the same request is not sent again, however long
/// the policy waits.
#[test]
fn a_hostile_policy_cannot_resend_a_refused_request() {
    runtime().block_on(async {
        let b = bench().await;
        let executor = hostile_executor(&b, SCALE);
        let result =
            executor.run(&ModelCall { chain: b.chain("fake/context/resend", &[]), body: json!({"input": "hi"}) }).await;
        assert!(guard_refusal(&result).contains("HTTP 400"), "{:?}", result.result);
        assert_eq!(b.requests("context/resend").len(), 1);
    });
}

/// Two routes alternated with no wait: each route still waits between its own attempts. (In
/// real time: scaled, a loopback attempt of a millisecond would count as a long wait.)
#[test]
fn alternating_routes_do_not_dodge_the_wait_between_attempts() {
    runtime().block_on(async {
        let b = bench().await;
        let executor = hostile_executor(&b, 1.0);
        let chain = b.chain("fake/unavailable/alternate-a", &["fake/unavailable/alternate-b"]);
        let result = executor.run(&ModelCall { chain, body: json!({"input": "hi"}) }).await;
        assert!(guard_refusal(&result).contains("after its last attempt"), "{:?}", result.result);
        let sent: Vec<String> = b.fake.log().into_iter().map(|l| l.model).collect();
        assert_eq!(sent, vec!["unavailable/alternate-a", "unavailable/alternate-b"]);
    });
}

/// Five-minute waits and fifteen-minute timeouts: the call still ends by the host's cap on a
/// whole call (at a five-hundredth of real time here).
#[test]
fn a_slow_hostile_call_ends_by_the_hosts_cap() {
    runtime().block_on(async {
        let b = bench().await;
        let executor = hostile_executor(&b, 0.002);
        let result = executor
            .run(&ModelCall { chain: b.chain("fake/unavailable/slow", &[]), body: json!({"input": "hi"}) })
            .await;
        assert!(guard_refusal(&result).contains("ends a call at 900 s"), "{:?}", result.result);
        assert_eq!(b.requests("unavailable/slow").len(), 2, "two five-minute waits fit in fifteen minutes, not three");
        assert!(result.receipt.rules.iter().any(|r| r == "host.floor.call-time"), "{:?}", result.receipt.rules);
    });
}

/// A provider down for a minute, then healthy, with a call every 4 s (LIVE-LOOP's row): its
/// circuit opens, each window lets one probe through, a failed probe is never retried (the
/// call moves on at once), and the provider serves again within 5 s of its recovery.
#[test]
fn a_provider_that_comes_back_serves_again_within_five_seconds() {
    runtime().block_on(async {
        let b = bench().await;
        let primary = "fake/down-for-60/alpha";
        let mut receipts = Vec::new();
        for _ in 0..25 {
            let result = b.chat(primary, &["fake/ok/beta"], false).await;
            assert!(result.result.is_ok(), "every call is served: {:?}", result.result);
            receipts.push(result.receipt);
            tokio::time::sleep(real_ms(4000)).await;
        }
        let sent = b.requests("down-for-60/alpha");
        let recovered = real_ms(60_000);
        let back = sent.iter().find(|l| l.answer == "200").expect("the primary serves again");
        assert!(back.at >= recovered, "{:?}", back.at);
        assert!(back.at <= recovered + real_ms(5000), "served again {:?} after its recovery", back.at - recovered);
        // Once its circuit opened, no call sent the primary twice: a failed probe moves on.
        let opened = receipts.iter().position(|r| r.rules.iter().any(|id| id == "loop.circuit.opened")).unwrap();
        for receipt in &receipts[opened + 1..] {
            let tries = receipt.attempts.iter().filter(|a| a.model == primary).count();
            assert!(tries <= 1, "a probe was retried: {:?}", receipt.attempts);
        }
        // And the probes were at least a short window apart (3 s, the window less its jitter).
        let failed: Vec<_> = sent.iter().filter(|l| l.answer.starts_with("503")).map(|l| l.at).collect();
        let after_opening = &failed[3..];
        for pair in after_opening.windows(2) {
            assert!(pair[1] - pair[0] >= real_ms(3000), "two probes within one window: {after_opening:?}");
        }
    });
}
