//! Invariants of `filter-fallbacks`: nothing is lost (every ref is a candidate or dropped,
//! exactly once), and every candidate carries the route `resolve-endpoint` gives it.

use proptest::prelude::*;
use route_policy_guest::types::{
    Capability, Credential, CredentialKind, FailureReason, FallbackRequest, Plan, Rejection,
};
use route_policy_guest::wire::Call;
use route_policy_guest::{filter_fallbacks, invariants, vectors};
use std::path::Path;

#[test]
fn every_candidate_of_every_vector_routes_as_resolve_endpoint_does() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors");
    let mut candidates = 0;
    for path in vectors::files(&dir).unwrap() {
        let file = vectors::load(&path).unwrap();
        for case in &file.cases {
            let Ok(Ok(Call::FilterFallbacks(request))) = case.call(&file) else { continue };
            let answer = filter_fallbacks(&request);
            invariants::plan(&request, &answer).unwrap_or_else(|e| panic!("{}: {}: {e}", path.display(), case.name));
            candidates += answer.map_or(0, |plan| plan.candidates.len());
        }
    }
    assert!(candidates >= 30, "only {candidates} candidates in the vectors");
}

fn model_ref() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec![
            "openai/gpt-5.5", "gpt-5.5", "openai-codex/gpt-5.5", " openai/gpt-5.5 ", "openai/gpt-5.5-pro", "openai/gpt-5.2",
            "openai/gpt-image-2", "openai/dall-e-3", "openai/sora-2", "openai/text-embedding-3-small", "openai/whisper-1",
            "openrouter/openai/gpt-5.4-image-2", "minimax/image-01", "anthropic/claude-sonnet-4.5", "azure-openai/gpt-image-1",
            "", "openai/", "/x", "a b", "sk-proj-AAAAbbbbCCCCdddd1234", "acme/mystery",
        ]).prop_map(str::to_owned),
        1 => ".{0,24}",
    ]
}

fn credential() -> impl Strategy<Value = Credential> {
    let provider =
        prop::sample::select(vec!["openai", "openai-codex", "openrouter", "minimax", "azure-openai", "anthropic"]);
    (provider, prop::sample::select(CredentialKind::ALL.to_vec()), prop::sample::select(Plan::ALL.to_vec())).prop_map(
        |(provider, kind, plan)| Credential {
            profile_id: format!("{provider}:{kind}:{plan}"),
            provider: provider.into(),
            kind,
            plan,
        },
    )
}

fn request() -> impl Strategy<Value = FallbackRequest> {
    (
        prop::sample::select(Capability::ALL.to_vec()),
        model_ref(),
        prop::collection::vec(model_ref(), 0..10),
        prop::option::weighted(0.2, model_ref()),
        prop::collection::vec(credential(), 0..4),
        prop::collection::vec((model_ref(), prop::sample::select(Plan::ALL.to_vec())), 0..3),
        prop::option::weighted(0.3, 1u32..6),
    )
        .prop_map(
            |(capability, primary, fallbacks, explicit_override, credentials, rejections, max_candidates)| {
                FallbackRequest {
                    capability,
                    primary,
                    fallbacks,
                    explicit_override,
                    credentials,
                    rejections: rejections
                        .into_iter()
                        .map(|(model, plan)| Rejection {
                            model,
                            plan,
                            reason: FailureReason::ModelUnsupportedForAccount,
                        })
                        .collect(),
                    max_candidates,
                    providers: vec![],
                    env_base_url: None,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn every_ref_is_a_candidate_or_dropped_exactly_once(request in request()) {
        let answer = filter_fallbacks(&request);
        prop_assert!(answer.is_ok(), "without provider configs no chain is a configuration error: {:?}", answer);
        if let Err(broken) = invariants::plan(&request, &answer) {
            prop_assert!(false, "{broken}");
        }
    }
}
