//! Seed 000's loop for any ref form: the Codex backend rejects a model (naming it bare or with
//! a provider prefix), classify-error remembers it, and filter-fallbacks then drops the model
//! however the chain writes it (route-policy#18, class 1).

use proptest::prelude::*;
use route_policy_contract::types::{
    Capability, Credential, CredentialKind, DropReason, FallbackRequest, Plan, ProviderFailure,
};
use route_policy_guest::{classify_error, filter_fallbacks};

/// Model ids the Codex route serves to some plans and not others.
const MODELS: &[&str] = &["gpt-5.4-mini", "gpt-5.5", "o3", "gpt-5.4", "codex-mini-latest"];
/// How hosts and the backend write a ref of OpenAI's.
const PREFIXES: &[&str] = &["", "openai/", "openai-codex/", "OpenAI-Codex/", "OPENAI/"];

fn written(prefix: &str, model: &str, upper: bool) -> String {
    let model = if upper { model.to_ascii_uppercase() } else { model.to_owned() };
    format!("{prefix}{model}")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn a_rejected_model_is_dropped_in_every_ref_form(
        model in prop::sample::select(MODELS),
        (said, asked, chained) in (0..PREFIXES.len(), 0..=PREFIXES.len(), 0..PREFIXES.len()),
        (said_upper, chained_upper) in (any::<bool>(), any::<bool>()),
        plan in prop::sample::select(vec![Plan::Free, Plan::Go, Plan::Plus, Plan::Team, Plan::Unknown]),
    ) {
        // The backend's sentence names the model in one form; the request may name it in another
        // (or not at all: `asked == PREFIXES.len()`).
        let named = written(PREFIXES[said], model, said_upper);
        let body = serde_json::json!({
            "detail": format!("The '{named}' model is not supported when using Codex with a ChatGPT account.")
        });
        let failure = ProviderFailure {
            status: Some(400),
            body: body.to_string(),
            request_url: Some("https://chatgpt.com/backend-api/codex/responses".to_owned()),
            model: PREFIXES.get(asked).map(|p| written(p, model, false)),
            credential_kind: Some(CredentialKind::Oauth),
            plan: Some(plan),
            attempt: 1,
            ..ProviderFailure::default()
        };
        let verdict = classify_error(&failure);
        let remembered = verdict.remember.clone().expect("a rejection for the account is remembered");
        prop_assert!(!remembered.model.contains('/'), "a rejection names the bare id: {:?}", remembered);

        let chained = written(PREFIXES[chained], model, chained_upper);
        let request = FallbackRequest {
            capability: Capability::Chat,
            primary: "openai/gpt-5.3-codex-spark".to_owned(),
            fallbacks: vec![chained.clone()],
            explicit_override: None,
            credentials: vec![Credential {
                profile_id: "codex".to_owned(),
                provider: "openai-codex".to_owned(),
                kind: CredentialKind::Oauth,
                plan,
            }],
            rejections: vec![remembered],
            max_candidates: None,
            providers: vec![],
            env_base_url: None,
        };
        let plan = filter_fallbacks(&request).expect("a plan");
        let dropped = plan.dropped.iter().find(|d| d.model == chained);
        prop_assert!(
            dropped.is_some_and(|d| d.reason == DropReason::LearnedRejection),
            "{chained} should be dropped as a learned rejection: {plan:?}"
        );
    }
}
