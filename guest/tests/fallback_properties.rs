//! Invariants of `filter-fallbacks`: nothing is lost (every ref is a candidate or dropped,
//! exactly once), and every candidate carries the route `resolve-endpoint` gives it.

use proptest::prelude::*;
use route_policy_contract::invariants;
use route_policy_contract::types::{
    Capability, Credential, CredentialKind, FailureReason, FallbackRequest, Plan, Rejection,
};
use route_policy_guest::{consistency, filter_fallbacks};

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
        |(provider, kind, plan)| {
            // A ChatGPT sign-in that claims the `api` plan is refused as inconsistent (its own
            // test); the chains here are about everything else.
            let plan = if kind.is_account() && provider.starts_with("openai") && plan == Plan::Api {
                Plan::Unknown
            } else {
                plan
            };
            Credential { profile_id: format!("{provider}:{kind}:{plan}"), provider: provider.into(), kind, plan }
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
                    // An empty override is refused (its own test).
                    explicit_override: explicit_override.filter(|o| !o.trim().is_empty()),
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

    /// A secret given as a ref, an override or a rejected model is never shown.
    #[test]
    fn a_planted_secret_is_never_shown(
        mut request in request(),
        secret in prop::sample::select(invariants::PLANTED.to_vec()),
        site in 0..3u8,
        at in any::<usize>(),
    ) {
        match site {
            0 => request.fallbacks.insert(at % (request.fallbacks.len() + 1), secret.to_owned()),
            1 => request.explicit_override = Some(invariants::plant("openai/gpt-5.5", at, secret)),
            _ => request.primary = invariants::plant(&request.primary, at, secret),
        }
        let answer = filter_fallbacks(&request);
        if let Err(broken) = invariants::no_secret(&answer).and_then(|()| invariants::plan(&request, &answer)).and_then(|()| consistency::plan(&request, &answer)) {
            prop_assert!(false, "{broken}");
        }
    }

    #[test]
    fn every_ref_is_a_candidate_or_dropped_exactly_once(request in request()) {
        let answer = filter_fallbacks(&request);
        prop_assert!(answer.is_ok(), "without provider configs no chain is a configuration error: {:?}", answer);
        if let Err(broken) = invariants::plan(&request, &answer).and_then(|()| consistency::plan(&request, &answer)) {
            prop_assert!(false, "{broken}");
        }
    }
}
