//! Invariants of `classify-error` over generated failures: planted secrets never reach the
//! verdict, a 400 is never retried, every verdict can be acted on, and a huge body is judged by
//! its bounded prefix.

use proptest::prelude::*;
use route_policy_contract::invariants;
use route_policy_contract::types::{Action, CredentialKind, Plan, ProviderFailure};
use route_policy_guest::rules::POLICY;
use route_policy_guest::{classify_error, consistency};

/// Words providers use, so that generated bodies reach many rules.
const WORDS: &[&str] = &[
    "rate",
    "limit",
    "429",
    "too many requests",
    "overloaded",
    "timed out",
    "quota",
    "Missing scopes:",
    "api.responses.write",
    "insufficient permissions for this operation",
    "context",
    "maximum context length",
    "prompt is too long",
    "The 'gpt-5.5-pro' model is not supported when using Codex with a ChatGPT account.",
    "Tool choice 'image_generation' not found",
    "invalid api key",
    "token is expired",
    "content management policy",
    "insufficient credits",
    "error",
    "the",
    "request",
    "model",
    "<html>",
    "{",
    "}",
    "\"",
    ":",
    "\n",
    "retry",
    "please",
];

const CODES: &[&str] = &[
    "rate_limit_exceeded",
    "overloaded_error",
    "insufficient_quota",
    "invalid_api_key",
    "context_length_exceeded",
    "RESOURCE_EXHAUSTED",
    "UNAVAILABLE",
    "DEADLINE_EXCEEDED",
    "server_error",
    "usage_limit_reached",
    "token_expired",
    "model_not_found",
    "invalid_request_error",
    "timeout_error",
];

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop_oneof![4 => prop::sample::select(WORDS).prop_map(str::to_owned), 1 => ".{0,12}"], 0..40)
        .prop_map(|words| words.join(" "))
}

/// A body: plain text, or a JSON error with a code and a message.
fn body(message: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    (message, prop::sample::select(CODES), 0..3u8).prop_map(|(message, code, shape)| match shape {
        0 => message,
        1 => serde_json::json!({"error": {"message": message, "type": "invalid_request_error", "code": code}})
            .to_string(),
        _ => serde_json::json!({"type": "error", "error": {"type": code, "message": message}}).to_string(),
    })
}

/// A secret, and the distinctive part of it that must never be shown.
fn secret() -> impl Strategy<Value = (String, String)> {
    let core = "[A-Za-z0-9]{24,40}";
    prop_oneof![
        core.prop_map(|c| (format!("sk-proj-{c}"), c)),
        core.prop_map(|c| (format!("sk-ant-api03-{c}"), c)),
        core.prop_map(|c| (format!("Bearer {c}"), c)),
        core.prop_map(|c| (format!("AIza{c}"), c)),
        (core, core).prop_map(|(a, b)| (format!("eyJhbGciOiJIUzI1NiJ9.eyJ{a}.{b}"), b)),
        core.prop_map(|c| (format!("Cookie: session={c}"), c)),
        core.prop_map(|c| (format!("\"api_key\": \"{c}\""), c)),
        core.prop_map(|c| (format!("x-api-key: {c}"), c)),
    ]
}

fn status() -> impl Strategy<Value = Option<u16>> {
    prop::option::weighted(
        0.9,
        prop::sample::select(vec![200, 400, 401, 402, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504, 529]),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn a_planted_secret_never_reaches_the_verdict(
        (before, after) in (text(), text()),
        (secret, core) in secret(),
        status in status(),
        json in any::<bool>(),
        in_url in any::<bool>(),
    ) {
        let message = format!("{before} {secret} {after}");
        let body = if json { serde_json::json!({"error": {"message": message}}).to_string() } else { message };
        let failure = ProviderFailure {
            status,
            headers: vec![("authorization".into(), secret.clone()), ("set-cookie".into(), secret.clone())],
            body,
            request_url: in_url.then(|| format!("https://proxy.example.com/v1/responses?key={core}")),
            model: Some("openai/gpt-5.5".into()),
            ..ProviderFailure::default()
        };
        let verdict = classify_error(&failure);
        let shown = serde_json::to_string(&verdict).unwrap();
        prop_assert!(!shown.contains(&core), "{core} in {shown}");
    }

    #[test]
    fn redaction_is_idempotent(words in text(), (secret, _) in secret(), more in text()) {
        let input = format!("{words}\n{secret}\n{more}");
        let once = route_policy_contract::redact::text(&input).into_owned();
        prop_assert_eq!(route_policy_contract::redact::text(&once), once.as_str());
        let excerpt = route_policy_contract::redact::excerpt(&input, 240);
        prop_assert_eq!(route_policy_contract::redact::text(&excerpt), excerpt.as_str());
    }

    #[test]
    fn a_400_is_never_retried(body in body(text()), credential in prop::option::of(prop::sample::select(CredentialKind::ALL.to_vec())), attempt in 0..5u32) {
        let failure = ProviderFailure { status: Some(400), body, credential_kind: credential, attempt, ..ProviderFailure::default() };
        let verdict = classify_error(&failure);
        prop_assert_ne!(verdict.action, Action::Retry, "{:?}", verdict);
        if let Err(broken) = invariants::verdict(&failure, &verdict).and_then(|()| consistency::verdict(&failure, &verdict)) {
            prop_assert!(false, "{broken}");
        }
    }

    #[test]
    fn every_verdict_can_be_acted_on(body in body(text()), status in status(), network in prop::option::of("[A-Z_]{0,20}"), plan in prop::option::of(prop::sample::select(Plan::ALL.to_vec())), attempt in 0..6u32) {
        let failure = ProviderFailure { status, body, network_error: network, plan, attempt, ..ProviderFailure::default() };
        if let Err(broken) = { let verdict = classify_error(&failure); invariants::verdict(&failure, &verdict).and_then(|()| consistency::verdict(&failure, &verdict)) } {
            prop_assert!(false, "{broken}");
        }
    }
}

/// A body of several MiB is judged by its prefix: the same verdict as the prefix alone.
#[test]
fn a_huge_body_is_judged_by_its_bounded_prefix() {
    let scan = POLICY.limits.body_scan_bytes as usize;
    let head = r#"{"error":{"message":"You have insufficient permissions for this operation. Missing scopes: api.responses.write."#;
    for filler in ["x", "é", "<html>"] {
        let mut body = String::from(head);
        while body.len() < 4 << 20 {
            body.push_str(filler);
        }
        let huge = ProviderFailure {
            status: Some(401),
            body: body.clone(),
            credential_kind: Some(CredentialKind::Oauth),
            request_url: Some("https://api.openai.com/v1/responses".into()),
            ..ProviderFailure::default()
        };
        let mut cut = scan;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        let prefix = ProviderFailure { body: body[..cut].to_owned(), ..huge.clone() };
        let verdict = classify_error(&huge);
        assert_eq!(verdict, classify_error(&prefix), "filler {filler}");
        assert_eq!(verdict.action, Action::ReResolveEndpoint);
    }
}
