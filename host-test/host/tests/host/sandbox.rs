//! Hostile guests are contained: each misbehaviour becomes a typed error for that call, the host
//! stays up, and the next call gets a fresh instance.

use route_policy_contract::guard::Violation;
use route_policy_contract::types::{Capability, CredentialKind, EndpointRequest, FallbackRequest, ProviderFailure};
use route_policy_host::Engine;
use route_policy_host::thread_cpu_time;
use route_policy_host::{Error, Policy, Router, Step};
use route_policy_testkit::{ENGINE, FIXTURES, POLICY, codex_oauth};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static HOSTILE: LazyLock<Policy> = LazyLock::new(|| {
    Policy::from_bytes(&ENGINE, &FIXTURES.hostile, "hostile.wasm".into()).expect("the hostile fixture loads")
});

fn ask(model: &str) -> Result<route_policy_contract::types::Endpoint, Error> {
    HOSTILE.resolve_endpoint(&EndpointRequest {
        model: model.into(),
        capability: Capability::Chat,
        providers: vec![],
        credentials: vec![codex_oauth()],
        env_base_url: None,
    })
}

/// After any misbehaviour the host still answers, from the same policy and from others.
fn still_serving() {
    assert!(HOSTILE.policy_info().is_ok());
    assert_eq!(POLICY.policy_info().unwrap().contract, "0.2.0");
}

#[test]
fn an_infinite_loop_is_cut_off_at_its_deadline() {
    let deadline = ENGINE.limits().deadline;
    // Load the fixture first: its compile time is not the call's.
    LazyLock::force(&HOSTILE);
    let (started, started_cpu) = (Instant::now(), thread_cpu_time());
    let error = ask("loop").unwrap_err();
    let (took, took_cpu) = (started.elapsed(), thread_cpu_time() - started_cpu);
    assert!(matches!(error, Error::Deadline { .. }), "{error}");
    // Past the deadline, the loop is stopped once it has used a fifth of it in CPU time. On a
    // busy machine (other tests run beside this one) the wall clock says more, and the CPU
    // time between the deadline and the grace's start less: the CPU time is bounded above.
    assert!(took_cpu < deadline + Duration::from_millis(100), "cut off after {took_cpu:?} of CPU time");
    assert!(took >= deadline, "cut off after {took:?}, before the deadline");
    assert_eq!(error.code(), "deadline-exceeded");
    eprintln!("a {deadline:?} deadline cut the loop off after {took_cpu:?} of CPU time ({took:?} elapsed)");
    still_serving();
}

/// Past its deadline, a call is stopped only once it has used CPU time: with many more busy
/// threads than cores, calls that only waited for a core are not cut off.
#[test]
fn a_busy_machine_does_not_cut_calls_off() {
    let deadline = Duration::from_millis(5);
    let engine = Engine::builder().deadline(deadline).build().unwrap();
    let policy = Policy::builtin(&engine).unwrap();
    let spinners = 4 * std::thread::available_parallelism().map_or(2, |n| n.get());
    let stop = AtomicBool::new(false);
    let (calls, cut_off) = std::thread::scope(|scope| {
        for _ in 0..spinners {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            });
        }
        let (mut calls, mut cut_off) = (0, 0);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(1) {
            match policy.classify_error(&ProviderFailure { status: Some(503), ..Default::default() }) {
                Err(Error::Deadline { .. }) => cut_off += 1,
                other => drop(other.expect("answers")),
            }
            calls += 1;
        }
        stop.store(true, Ordering::Relaxed);
        (calls, cut_off)
    });
    assert_eq!(
        cut_off, 0,
        "{cut_off} of {calls} calls were cut off by a {deadline:?} deadline beside {spinners} busy threads"
    );
}

#[test]
fn a_memory_bomb_hits_the_cap() {
    let error = ask("bomb").unwrap_err();
    assert!(matches!(error, Error::Memory { limit, .. } if limit == ENGINE.limits().memory), "{error}");
    still_serving();
}

#[test]
fn a_panic_is_a_trap_with_its_message() {
    let error = ask("panic").unwrap_err();
    assert!(
        matches!(&error, Error::Trap { message, .. } if message.contains("hostile fixture panicked on purpose")),
        "{error}"
    );
    assert!(error.to_string().contains("hostile-1"), "the error names the policy: {error}");
    still_serving();
}

#[test]
fn a_stack_overflow_and_an_exit_are_traps() {
    for model in ["stack", "exit"] {
        let error = ask(model).unwrap_err();
        assert!(matches!(error, Error::Trap { .. }), "{model}: {error}");
    }
    still_serving();
}

#[test]
fn imports_beyond_the_sandbox_are_refused_at_load_by_name() {
    let error = Policy::from_bytes(&ENGINE, &FIXTURES.imports, "greedy.wasm".into()).unwrap_err();
    assert_eq!(error.step, Step::Imports, "{error}");
    for import in ["wasi:filesystem/", "wasi:sockets/"] {
        assert!(error.reason.contains(import), "{import} not named in: {error}");
    }
}

#[test]
fn an_older_contract_is_refused() {
    let error = Policy::from_bytes(&ENGINE, &FIXTURES.old_contract, "old.wasm".into()).unwrap_err();
    assert_eq!(error.step, Step::Contract, "{error}");
    assert!(error.reason.contains("0.0.9"), "{error}");
}

#[test]
fn the_guard_refuses_an_oauth_token_sent_to_evil_example() {
    let error = ask("evil").unwrap_err();
    match error {
        Error::Guard { violation: Violation::Egress { host, kind, .. }, .. } => {
            assert_eq!(host, "evil.example");
            assert_eq!(kind, CredentialKind::Oauth);
        }
        other => panic!("{other}"),
    }
}

#[test]
fn the_guard_refuses_the_naive_route_of_seed_000() {
    // The naive host's answer: a sign-in on the platform API.
    let error = ask("gpt-image-2").unwrap_err();
    assert!(
        matches!(error, Error::Guard { violation: Violation::Egress { ref host, .. }, .. } if host == "api.openai.com"),
        "{error}"
    );
}

/// Every way a policy once got a credential past the guard (issue 13, item 3), tried by the
/// hostile fixture: each is refused, with the violation that names it.
#[test]
fn the_guard_refuses_every_known_bypass() {
    use route_policy_contract::types::{Credential, Plan, ProviderConfig};
    let key = |profile: &str, provider: &str| Credential {
        profile_id: profile.into(),
        provider: provider.into(),
        kind: CredentialKind::ApiKey,
        plan: Plan::Api,
    };
    let config =
        |id: &str, base: &str| ProviderConfig { id: id.into(), base_url: Some(base.into()), ..Default::default() };
    let request = EndpointRequest {
        model: String::new(),
        capability: Capability::Chat,
        providers: vec![
            config("openrouter", "https://openrouter.ai/api/v1"),
            config("openai-codex", "https://u:p@evil.example/backend-api/codex"),
        ],
        credentials: vec![
            codex_oauth(),
            key("openai-key", "openai"),
            key("anthropic-key", "anthropic"),
            key("azure-key", "azure-openai"),
            key("openrouter-key", "openrouter"),
        ],
        env_base_url: Some("https://env-proxy.example/v1".into()),
    };
    let signin = codex_oauth().profile_id;
    let attempts = [
        (signin.as_str(), "https://chatgpt.com\\@evil.example/responses", "canonical"),
        (signin.as_str(), "https://chatgpt.com/backend-api/codex/responses\r\nX-Injected: 1", "canonical"),
        (signin.as_str(), "https://chatgpt.com:8443/backend-api/codex/responses", "chatgpt.com:8443"),
        (signin.as_str(), "https://openrouter.ai/api/v1/responses", "openrouter.ai"),
        (signin.as_str(), "https://env-proxy.example/v1/responses", "env-proxy.example"),
        (signin.as_str(), "https://evil.example/backend-api/codex/responses", "evil.example"),
        ("anthropic-key", "https://api.openai.com/v1/responses", "api.openai.com"),
        ("azure-key", "https://api.openai.com/v1/responses", "api.openai.com"),
        ("openrouter-key", "https://api.openai.com/v1/responses", "api.openai.com"),
    ];
    for (profile, url, named) in attempts {
        let mut ask = request.clone();
        ask.model = format!("send {profile} {url}");
        let error = HOSTILE.resolve_endpoint(&ask).expect_err(url);
        let Error::Guard { violation, .. } = &error else { panic!("{url}: {error}") };
        let said = violation.to_string();
        assert!(said.contains(named), "{url}: {said}");
        assert!(!said.contains('\r') && !said.contains('\n'), "{url}: the refusal is one line: {said:?}");
    }
    // The same hostile policy, sending each credential where it belongs, passes.
    for (profile, url) in [
        (signin.as_str(), "https://chatgpt.com/backend-api/codex/responses"),
        ("openai-key", "https://env-proxy.example/v1/responses"),
        ("openrouter-key", "https://openrouter.ai/api/v1/responses"),
    ] {
        let mut ask = request.clone();
        ask.model = format!("send {profile} {url}");
        HOSTILE.resolve_endpoint(&ask).unwrap_or_else(|e| panic!("{url}: {e}"));
    }
}

/// A policy that echoes a huge body into its verdict cannot make the host's second redaction
/// slow: the guard cuts long text before redacting it.
#[test]
fn the_guard_bounds_what_a_policy_echoes() {
    let body = "a+".repeat(64 << 10);
    let verdict = HOSTILE.classify_error(&ProviderFailure { status: Some(500), body, ..Default::default() }).unwrap();
    assert!(
        verdict.user_message.len() <= route_policy_contract::guard::MAX_VERDICT_TEXT,
        "{}",
        verdict.user_message.len()
    );
    assert!(verdict.user_message.ends_with(" …"), "a cut is marked");
}

/// The hostile policy answers `retry` after 0 ms to everything. The host's floor holds: a
/// client error is surfaced, not retried; the thousandth attempt moves on; any retry waits.
#[test]
fn the_host_floor_stops_a_retry_storm() {
    use route_policy_contract::guard::{MAX_ATTEMPTS, MIN_RETRY_DELAY_MS};
    use route_policy_contract::types::Action;
    let ask = |status: u16, attempt: u32| {
        HOSTILE.classify_error(&ProviderFailure { status: Some(status), attempt, ..Default::default() }).unwrap()
    };
    let client_error = ask(400, 1);
    assert_eq!((client_error.action, client_error.rule.as_str()), (Action::Surface, "host.floor.no-retry-status"));
    assert_eq!(client_error.retry_after_ms, None);
    assert!(client_error.user_message.contains("never retries a 400"), "{}", client_error.user_message);
    let storm = ask(503, 5000);
    assert_eq!((storm.action, storm.rule.as_str()), (Action::NextCandidate, "host.floor.attempt-cap"));
    let at_cap = ask(503, MAX_ATTEMPTS);
    assert_eq!(at_cap.action, Action::NextCandidate);
    let early = ask(503, 1);
    assert_eq!((early.action, early.retry_after_ms), (Action::Retry, Some(MIN_RETRY_DELAY_MS)));
    for status in [408, 409, 425, 429] {
        assert_eq!(ask(status, 1).action, Action::Retry, "{status} may be retried");
    }
}

#[test]
fn the_guard_refuses_a_plan_that_loses_refs() {
    let error = HOSTILE
        .filter_fallbacks(&FallbackRequest {
            capability: Capability::Chat,
            primary: "openai/gpt-5.5".into(),
            fallbacks: vec!["openai/o3".into()],
            explicit_override: None,
            credentials: vec![codex_oauth()],
            rejections: vec![],
            max_candidates: None,
            providers: vec![],
            env_base_url: None,
        })
        .unwrap_err();
    assert!(matches!(error, Error::Guard { violation: Violation::Lost(ref r), .. } if r == "openai/o3"), "{error}");
}

#[test]
fn a_verdict_echoing_a_secret_is_redacted_by_the_host() {
    let verdict = HOSTILE
        .classify_error(&ProviderFailure {
            status: Some(401),
            body: "Incorrect API key provided: sk-proj-H0stileEch0Secret99".into(),
            ..Default::default()
        })
        .unwrap();
    assert!(!verdict.user_message.contains("H0stileEch0Secret99"), "{}", verdict.user_message);
    assert!(verdict.user_message.contains("[redacted]"));
}

#[test]
fn oversized_input_is_refused_before_the_sandbox_and_huge_bodies_are_cut() {
    let error = ask(&"x".repeat(2 << 20)).unwrap_err();
    assert!(matches!(error, Error::Input(_)), "{error}");
    assert_eq!(error.code(), "invalid-input");
    let mut body = String::from(r#"{"error":{"message":"Rate limit reached","code":"rate_limit_exceeded"}}"#);
    body.push_str(&" ".repeat(16 << 20));
    let verdict = POLICY.classify_error(&ProviderFailure { status: Some(429), body, ..Default::default() }).unwrap();
    assert_eq!(verdict.rule, "struct.rate-limited");
}
